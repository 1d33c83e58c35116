//! W1-shaped workload: 3 aggregators (count over 1h/2h/24h; avg/min/max over 1h/2h/24h;
//! filtered count over 1h), period 10m, 10 000 keys, 200 000 events over a day, per event
//! update (or advance, for the filtered aggregator) + features_at. Keys are warm: every
//! iteration continues the same stream one day later, as a long-running flow would.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use rill_agg::{Aggregations, AggregatorSpec, KeyState};
use rill_core::{Timestamp, Value};
use std::hint::black_box;

/// Distinct keys; `W1_KEYS` overrides (e.g. 500 to see the cost when states stay in cache).
fn keys() -> usize {
    std::env::var("W1_KEYS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}
const EVENTS: usize = 200_000;
const DAY: i64 = 86_400_000_000_000;

fn aggs() -> Aggregations {
    let specs: Vec<AggregatorSpec> = serde_json::from_str(
        r#"[
        {"name":"number_of_clicks","field":"click","ops":["count"],"windows":{"sliding":["1h","2h","24h"],"period":"10m"}},
        {"name":"purchases","field":"purchase_amount","ops":["avg","min","max"],"windows":{"sliding":["1h","2h","24h"],"period":"10m"}},
        {"name":"failed_activities","field":"activity","ops":["count"],"windows":{"sliding":["1h"],"period":"10m"},
         "filter":"activity_status == 'fail'"}]"#,
    )
    .expect("valid W1 specs");
    Aggregations::new(specs).expect("valid W1 aggregations")
}

struct Ev {
    key: u32,
    time: i64,
    click: Value,
    amount: Value,
    activity: Value,
    failed: bool,
}

/// Deterministic pseudo-random events (xorshift), in time order with a little jitter.
fn events() -> Vec<Ev> {
    let mut s: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let t0 = 1_595_367_600_000_000_000i64;
    let keys = keys();
    (0..EVENTS)
        .map(|i| {
            let r = next();
            let jitter = (r >> 40) as i64 % 60_000_000_000; // up to 1 minute out of order
            Ev {
                key: (r % keys as u64) as u32,
                time: t0 + (i as i64) * (DAY / EVENTS as i64) - jitter,
                click: Value::Int(1),
                amount: Value::Float(((r >> 20) % 10_000) as f64 / 100.0),
                activity: Value::from("login"),
                failed: (r >> 8) % 10 == 0,
            }
        })
        .collect()
}

/// Look-ahead of the batch loop: prefetch the state of the event this many positions ahead.
const AHEAD: usize = 6;

fn run(
    a: &Aggregations,
    states: &mut [KeyState],
    evs: &[Ev],
    shift: i64,
    out: &mut Vec<Value>,
    prefetch: bool,
) -> f64 {
    let mut check = 0.0;
    for (i, e) in evs.iter().enumerate() {
        if prefetch {
            if let Some(next) = evs.get(i + AHEAD) {
                a.prefetch(&states[next.key as usize]);
            }
        }
        let st = &mut states[e.key as usize];
        let t = Timestamp(e.time + shift);
        a.update(st, 0, t, &e.click);
        a.update(st, 1, t, &e.amount);
        if e.failed {
            a.update(st, 2, t, &e.activity);
        } else {
            a.advance_one(st, 2, t);
        }
        out.clear();
        a.features_at(st, t, out);
        if let Value::Float(x) = out[3] {
            check += x;
        }
    }
    check
}

fn bench(c: &mut Criterion) {
    let a = aggs();
    let evs = events();
    let mut states: Vec<KeyState> = (0..keys()).map(|_| a.new_state()).collect();
    let mut out = Vec::with_capacity(a.feature_names().len());
    let mut day = 1i64;
    run(&a, &mut states, &evs, 0, &mut out, false); // warm every key
    run(&a, &mut states, &evs, DAY, &mut out, false); // steady state: two days retained
    let bytes: usize = states.iter().map(KeyState::heap_bytes).sum();
    eprintln!(
        "state: {} keys, {:.0} heap bytes per key ({:.1} MB)",
        states.len(),
        bytes as f64 / states.len() as f64,
        bytes as f64 / 1e6
    );
    let mut g = c.benchmark_group("w1");
    g.throughput(Throughput::Elements(EVENTS as u64));
    g.sample_size(20);
    // Prefetching a few events ahead did not pay off on the reference machine (2 shared cores);
    // set W1_PREFETCH=1 to measure it elsewhere.
    let prefetch = std::env::var("W1_PREFETCH").is_ok_and(|v| v == "1");
    let label = if prefetch {
        "batch_prefetch"
    } else {
        "one_by_one"
    };
    {
        g.bench_function(
            format!("update+features_at/200k_events_{}_keys/{label}", keys()),
            |b| {
                b.iter_batched(
                    || {
                        day += 1;
                        day
                    },
                    |d| black_box(run(&a, &mut states, &evs, d * DAY, &mut out, prefetch)),
                    BatchSize::PerIteration,
                )
            },
        );
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
