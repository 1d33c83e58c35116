//! W3 "map/reduce" through the engine: integers → map(x + 1) → reduce(sum), with Rust closures
//! and with YAML-style expressions. Reports time per 100k events.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use rill_core::{Event, Timestamp, Value};
use rill_flow::config::{build_chain, StepConfig};
use rill_flow::{steps, Flow};

const N: i64 = 100_000;

fn events() -> Vec<Event> {
    (0..N)
        .map(|i| Event {
            body: Value::Int(i),
            time: Timestamp(i),
            ..Default::default()
        })
        .collect()
}

fn closures() -> Flow {
    Flow::new()
        .then(
            "map",
            steps::Map::new(|v: &Value| Value::Int(v.as_i64().unwrap_or(0) + 1)),
        )
        .then(
            "reduce",
            steps::Reduce::new(Value::Int(0), |acc, v| {
                Ok(Value::Int(
                    acc.as_i64().unwrap_or(0) + v.as_i64().unwrap_or(0),
                ))
            }),
        )
}

fn expressions() -> Flow {
    let cfg: Vec<StepConfig<()>> = serde_json::from_value(serde_json::json!([
        {"map": "body + 1"},
        {"reduce": {"initial": 0, "expr": "acc + body"}}
    ]))
    .unwrap();
    let no_targets =
        |_: &()| -> rill_core::Result<(String, std::sync::Arc<dyn rill_flow::StepFactory>)> {
            unreachable!("no targets")
        };
    build_chain(Flow::new(), &cfg, &[], &no_targets).unwrap()
}

fn bench(c: &mut Criterion) {
    let want = Value::Int(N * (N + 1) / 2);
    let mut g = c.benchmark_group("w3");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("closures", |b| {
        b.iter_batched(
            events,
            |evs| {
                assert_eq!(
                    closures().run_events(evs).unwrap().result.as_ref(),
                    Some(&want)
                )
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("expressions", |b| {
        b.iter_batched(
            events,
            |evs| {
                assert_eq!(
                    expressions().run_events(evs).unwrap().result.as_ref(),
                    Some(&want)
                )
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
