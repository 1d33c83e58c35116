//! Per-event cost of compiled expressions: filters (must not allocate), aggregation inputs,
//! record-building maps, record merge, and flat_map through `range().map()`.

use criterion::{criterion_group, criterion_main, Criterion};
use rill_core::{Record, Value};
use rill_expr::Expr;
use std::hint::black_box;

fn body() -> Value {
    Value::Record(Record::from_pairs([
        ("user", Value::from("u-123")),
        ("activity_status", Value::from("fail")),
        ("x", Value::Int(7)),
        ("y", Value::Float(3.5)),
        ("price", Value::Float(19.99)),
        ("qty", Value::Int(3)),
        ("n", Value::Int(3)),
        ("j", Value::Int(2)),
    ]))
}

fn bench(c: &mut Criterion) {
    let b = body();
    let mut g = c.benchmark_group("eval");
    let filter = Expr::compile("activity_status == 'fail'", &[]).unwrap();
    g.bench_function("filter_string_eq", |bn| {
        bn.iter(|| filter.eval_bool(black_box(&b), &[]).unwrap())
    });
    let arith = Expr::compile("x * 2 + 1 > y && has(price)", &[]).unwrap();
    g.bench_function("filter_arith", |bn| {
        bn.iter(|| arith.eval_bool(black_box(&b), &[]).unwrap())
    });
    let agg = Expr::compile("price * qty", &[]).unwrap();
    g.bench_function("agg_input_f64", |bn| {
        bn.iter(|| agg.eval_f64(black_box(&b), &[]).unwrap())
    });
    let key = Expr::compile("user", &[]).unwrap();
    g.bench_function("key_borrowed", |bn| {
        bn.iter(|| {
            key.eval_cow(black_box(&b), &[])
                .map(|v| v.is_null())
                .unwrap()
        })
    });
    let map = Expr::compile(
        "{user: user, total: price * qty, big: price * qty > 50.0}",
        &[],
    )
    .unwrap();
    g.bench_function("map_record", |bn| {
        bn.iter(|| map.eval(black_box(&b), &[]).unwrap())
    });
    let merge = Expr::compile("body + {j10: body.j * 10}", &[]).unwrap();
    g.bench_function("map_merge", |bn| {
        bn.iter(|| merge.eval(black_box(&b), &[]).unwrap())
    });
    let flat = Expr::compile("range(body.n).map(j, {n: body.n, j: j})", &[]).unwrap();
    g.bench_function("flat_map_range3", |bn| {
        bn.iter(|| flat.eval(black_box(&b), &[]).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
