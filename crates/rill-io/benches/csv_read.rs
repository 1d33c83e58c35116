//! Decoding throughput of the file sources on a W1-shaped file
//! (`time,time_ms,user,click,purchase_amount,activity_status`, 100k rows).
//!
//! `cargo bench -p rill-io --bench csv_read` — rows/s are criterion's "elements" throughput.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rill_core::Timestamp;
use rill_flow::{Cx, Source, SourceBatch, Step};
use rill_io::{
    CsvSource, CsvSourceConfig, FieldType, ParquetSource, ParquetSourceConfig, ParquetTarget,
    ParquetTargetConfig,
};
use std::fmt::Write as _;
use std::path::Path;

const ROWS: usize = 100_000;

fn generate_csv(path: &Path) {
    let mut s = String::with_capacity(ROWS * 80);
    s.push_str("time,time_ms,user,click,purchase_amount,activity_status\n");
    let base = Timestamp::parse_iso("2020-07-21T00:00:00Z")
        .expect("valid")
        .millis();
    for i in 0..ROWS {
        let ms = base + i as i64 * 1_000;
        let t = Timestamp::from_millis(ms).to_iso();
        let status = if i % 7 == 0 { "fail" } else { "ok" };
        let _ = writeln!(
            s,
            "{t},{ms},user{},{},{:.2},{status}",
            i % 1000,
            i % 3,
            (i % 500) as f64 * 1.25
        );
    }
    std::fs::write(path, s).expect("write csv");
}

fn csv_config(path: &Path) -> CsvSourceConfig {
    let mut cfg = CsvSourceConfig::new(path.display().to_string());
    cfg.key = Some("user".into());
    cfg.time = Some("time".into());
    cfg
}

/// Reads a source to its end in batches of 1024, returning the number of events.
fn read_all(src: &mut dyn Source) -> usize {
    let mut batch = SourceBatch::default();
    let mut n = 0;
    loop {
        batch.clear();
        let more = src.next_batch(&mut batch, 1024).expect("read");
        n += batch.events.len();
        if !more {
            return n;
        }
    }
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("w1.csv");
    let pq = dir.path().join("w1.parquet");
    generate_csv(&csv);
    // the Parquet file holds the same decoded rows, written by the Parquet target
    let mut src = CsvSource::new(csv_config(&csv)).expect("csv source");
    let mut tgt = ParquetTarget::new(ParquetTargetConfig::new(pq.display().to_string()))
        .expect("parquet target");
    let mut cx = Cx::new(Timestamp(0));
    let mut batch = SourceBatch::default();
    loop {
        batch.clear();
        let more = src.next_batch(&mut batch, 1024).expect("read");
        for e in batch.events.drain(..) {
            tgt.process(e, &mut cx).expect("write");
            cx.take_outputs();
        }
        if !more {
            break;
        }
    }
    tgt.terminate(&mut cx).expect("close");

    let mut g = c.benchmark_group("w1_100k");
    g.throughput(Throughput::Elements(ROWS as u64));
    g.sample_size(10);
    g.bench_function("csv_inferred", |b| {
        b.iter(|| {
            assert_eq!(
                read_all(&mut CsvSource::new(csv_config(&csv)).expect("src")),
                ROWS
            )
        })
    });
    g.bench_function("csv_typed", |b| {
        b.iter(|| {
            let mut cfg = csv_config(&csv);
            cfg.types = [
                ("time_ms".to_string(), FieldType::Int),
                ("user".to_string(), FieldType::String),
                ("click".to_string(), FieldType::Int),
                ("purchase_amount".to_string(), FieldType::Float),
                ("activity_status".to_string(), FieldType::String),
            ]
            .into();
            assert_eq!(read_all(&mut CsvSource::new(cfg).expect("src")), ROWS)
        })
    });
    g.bench_function("parquet", |b| {
        b.iter(|| {
            let mut cfg = ParquetSourceConfig::new(pq.display().to_string());
            cfg.key = Some("user".into());
            cfg.time = Some("time".into());
            assert_eq!(read_all(&mut ParquetSource::new(cfg).expect("src")), ROWS)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
