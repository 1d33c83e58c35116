//! W1's aggregations plus the sketch ops (`p50, p99, count_distinct, approx_count_distinct` on
//! `purchase_amount`, sliding 1h/24h, period 10m), at 200 k and 2 M events, against plain W1 on
//! the same events. The stream is shaped like the W1 generator `gen_data.py` (exponential gaps of
//! mean 100 ms, uniform keys, amounts in cents 1.00..500.00), so 2 M events cover ten times the
//! time of 200 k at the same rate per key: the 24 h window fills up in the long run. The
//! per-event cost must not grow with the event count, so both sizes should show about the same
//! events/s. Each iteration starts from empty states (the windows fill as in a fresh run).
//!
//! `SKETCH_KEYS` sets the number of keys (default 1 000); `SKETCH_ONCE=1` skips criterion and
//! times one pass per configuration (quick before/after comparisons, heap bytes per key;
//! `SKETCH_N=200000,1000000` sets the sizes).

use criterion::{BatchSize, Criterion, Throughput};
use rill_agg::{Aggregations, AggregatorSpec, KeyState};
use rill_core::{Timestamp, Value};
use std::hint::black_box;
use std::time::Instant;

fn keys() -> usize {
    std::env::var("SKETCH_KEYS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000)
}

const W1: &str = r#"[
    {"name":"number_of_clicks","field":"click","ops":["count"],"windows":{"sliding":["1h","2h","24h"],"period":"10m"}},
    {"name":"purchases","field":"purchase_amount","ops":["avg","min","max"],"windows":{"sliding":["1h","2h","24h"],"period":"10m"}},
    {"name":"failed_activities","field":"activity","ops":["count"],"windows":{"sliding":["1h"],"period":"10m"},
     "filter":"activity_status == 'fail'"}"#;

const SKETCHES: &str = r#",
    {"name":"amount","field":"purchase_amount","ops":["p50","p99","count_distinct","approx_count_distinct"],
     "windows":{"sliding":["1h","24h"],"period":"10m"}}"#;

fn aggs(with_sketches: bool) -> Aggregations {
    let json = format!("{W1}{}]", if with_sketches { SKETCHES } else { "" });
    let specs: Vec<AggregatorSpec> = serde_json::from_str(&json).expect("valid specs");
    Aggregations::new(specs).expect("valid aggregations")
}

struct Ev {
    key: u32,
    time: i64,
    click: Value,
    amount: Value,
    failed: bool,
}

/// gen_data.py's W1 shape from a xorshift stream (not numpy's numbers, the same distributions).
fn events(n: usize) -> Vec<Ev> {
    let mut s: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let keys = keys() as u64;
    let mut t = 1_595_367_600_000i64; // ms
    (0..n)
        .map(|i| {
            let u = (next() >> 11) as f64 / (1u64 << 53) as f64;
            if i > 0 {
                t += (-(1.0 - u).ln() * 100.0).round() as i64;
            }
            let r = next();
            Ev {
                key: (r % keys) as u32,
                time: t * 1_000_000,
                click: Value::Int(((r >> 20) & 1) as i64),
                amount: Value::Float((100 + (r >> 24) % 49_901) as f64 / 100.0),
                failed: (r >> 50) % 10 == 0,
            }
        })
        .collect()
}

fn run(a: &Aggregations, states: &mut [KeyState], evs: &[Ev], out: &mut Vec<Value>) -> f64 {
    let login = Value::from("login");
    let mut check = 0.0;
    for e in evs {
        let st = &mut states[e.key as usize];
        let t = Timestamp(e.time);
        a.update(st, 0, t, &e.click);
        a.update(st, 1, t, &e.amount);
        if e.failed {
            a.update(st, 2, t, &login);
        } else {
            a.advance_one(st, 2, t);
        }
        if a.len() > 3 {
            a.update(st, 3, t, &e.amount);
        }
        out.clear();
        a.features_at(st, t, out);
        if let Some(Value::Float(x)) = out.last() {
            check += x;
        }
    }
    check
}

fn fresh(a: &Aggregations) -> Vec<KeyState> {
    (0..keys()).map(|_| a.new_state()).collect()
}

const SIZES: [(usize, &str); 2] = [(200_000, "200k"), (2_000_000, "2M")];

fn once() {
    // `SKETCH_N=200000,1000000` picks other sizes (the pre-change code needs minutes at 2 M).
    let sizes: Vec<usize> = std::env::var("SKETCH_N")
        .ok()
        .map(|v| v.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| SIZES.iter().map(|s| s.0).collect());
    for n in sizes {
        let label = n.to_string();
        let evs = events(n);
        for sketches in [false, true] {
            let a = aggs(sketches);
            let mut states = fresh(&a);
            let mut out = Vec::new();
            let t0 = Instant::now();
            black_box(run(&a, &mut states, &evs, &mut out));
            let s = t0.elapsed().as_secs_f64();
            let bytes: usize = states.iter().map(KeyState::heap_bytes).sum();
            eprintln!(
                "{label} events, {} keys, {}: {:.3} s, {:.0} events/s, {:.0} heap bytes per key",
                keys(),
                if sketches { "W1+sketches" } else { "W1" },
                s,
                n as f64 / s,
                bytes as f64 / states.len() as f64
            );
        }
    }
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("sketch");
    g.sample_size(10);
    for (n, label) in SIZES {
        let evs = events(n);
        g.throughput(Throughput::Elements(n as u64));
        for sketches in [false, true] {
            let a = aggs(sketches);
            let mut out = Vec::with_capacity(a.feature_names().len());
            let name = if sketches { "w1+sketches" } else { "w1" };
            g.bench_function(format!("{name}/{label}_events_{}_keys", keys()), |b| {
                b.iter_batched(
                    || fresh(&a),
                    |mut states| black_box(run(&a, &mut states, &evs, &mut out)),
                    BatchSize::PerIteration,
                )
            });
        }
    }
    g.finish();
}

fn main() {
    if std::env::var("SKETCH_ONCE").is_ok_and(|v| v == "1") {
        once();
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
}
