//! Whole YAML pipelines in-process: CSV → filter → map → Parquet, and W1 (aggregations), over a
//! generated W1-shaped file (50k rows, 5k users).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rill::Pipeline;
use std::fmt::Write;

const N: usize = 50_000;

fn w1_csv(dir: &std::path::Path) -> String {
    // a deterministic W1-shaped file: 100 ms apart, users round-robin with a stride
    let mut s = String::from("time,time_ms,user,click,purchase_amount,activity_status\n");
    let base = 1_595_367_600_000i64;
    for i in 0..N as i64 {
        let ms = base + i * 100;
        let t = rill::core::Timestamp::from_millis(ms).to_iso();
        let status = if i % 10 == 3 { "fail" } else { "ok" };
        writeln!(
            s,
            "{t},{ms},u{},{},{}.{:02},{status}",
            (i * 7919) % 5000,
            i % 2,
            1 + i % 500,
            i % 100
        )
        .unwrap();
    }
    let p = dir.join("w1.csv");
    std::fs::write(&p, s).unwrap();
    p.display().to_string()
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let input = w1_csv(dir.path());
    let out = dir.path().join("out.parquet").display().to_string();
    let csv_pipeline = Pipeline::from_yaml(
        &format!(
            "source: {{csv: {{path: {input}, key: user, time: time}}}}\nsteps:\n  - filter: \"click == 1\"\n  - map: \"body + {{amount_eur: purchase_amount * 0.92}}\"\ntargets: [{{parquet: {{path: {out}}}}}]\n"
        ),
        "csv_pipeline",
        &[],
    )
    .unwrap();
    let w1 = Pipeline::from_yaml(
        &format!(
            "source: {{csv: {{path: {input}, key: user, time: time}}}}\nsteps:\n  - aggregate_by_key:\n      aggregates:\n        - {{name: number_of_clicks, field: click, ops: [count], windows: {{sliding: [1h, 2h, 24h], period: 10m}}}}\n        - {{name: purchases, field: purchase_amount, ops: [avg, min, max], windows: {{sliding: [1h, 2h, 24h], period: 10m}}}}\n        - {{name: failed_activities, field: activity_status, ops: [count], windows: {{sliding: [1h], period: 10m}}, filter: \"activity_status == 'fail'\"}}\n"
        ),
        "w1",
        &[],
    )
    .unwrap();
    let mut g = c.benchmark_group("pipelines");
    g.sample_size(10);
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("csv_filter_map_parquet", |b| {
        b.iter(|| assert_eq!(csv_pipeline.run().unwrap().summary.records_read, N as u64))
    });
    g.bench_function("w1_aggregations_csv", |b| {
        b.iter(|| assert_eq!(w1.run().unwrap().summary.records_read, N as u64))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
