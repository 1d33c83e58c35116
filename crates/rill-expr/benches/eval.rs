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
    // W1's final reduce: `acc` (6 fields) + 5 features of a ~28-field body, once per event
    let w1_body = w1_body();
    let acc = w1_acc();
    let w1 = Expr::compile(W1_REDUCE, &["acc"]).unwrap();
    g.bench_function("w1_reduce", |bn| {
        bn.iter(|| w1.eval(black_box(&w1_body), &[black_box(&acc)]).unwrap())
    });
    // the same, as `reduce` runs it: the fields written into a reused buffer (no record built)
    let mut out = Vec::new();
    g.bench_function("w1_reduce_fields", |bn| {
        bn.iter(|| {
            w1.eval_record_fields(black_box(&w1_body), &[black_box(&acc)], &mut out)
                .unwrap()
                .is_some()
        })
    });
    g.finish();
}

const W1_REDUCE: &str = "{events: acc.events + 1,
 sum_number_of_clicks_count_1h: acc.sum_number_of_clicks_count_1h + number_of_clicks_count_1h,
 sum_purchases_avg_24h: acc.sum_purchases_avg_24h + purchases_avg_24h,
 sum_purchases_min_1h: acc.sum_purchases_min_1h + purchases_min_1h,
 sum_purchases_max_2h: acc.sum_purchases_max_2h + purchases_max_2h,
 sum_failed_activities_count_1h: acc.sum_failed_activities_count_1h + failed_activities_count_1h}";

/// The accumulator of W1's reduce after some events.
fn w1_acc() -> Value {
    Value::Record(Record::from_pairs([
        ("events", Value::Int(41)),
        ("sum_number_of_clicks_count_1h", Value::Float(812.0)),
        ("sum_purchases_avg_24h", Value::Float(1234.5)),
        ("sum_purchases_min_1h", Value::Float(97.25)),
        ("sum_purchases_max_2h", Value::Float(4410.0)),
        ("sum_failed_activities_count_1h", Value::Float(17.0)),
    ]))
}

/// A W1 event after the aggregation step: the 5 features the reduce reads plus ~23 others.
fn w1_body() -> Value {
    let mut pairs: Vec<(String, Value)> = vec![
        ("user".into(), Value::from("u-123")),
        ("activity_status".into(), Value::from("fail")),
        ("number_of_clicks_count_1h".into(), Value::Float(12.0)),
        ("purchases_avg_24h".into(), Value::Float(33.7)),
        ("purchases_min_1h".into(), Value::Float(1.5)),
        ("purchases_max_2h".into(), Value::Float(99.0)),
        ("failed_activities_count_1h".into(), Value::Float(2.0)),
    ];
    for i in 0..21 {
        let v = if i % 3 == 0 {
            Value::Int(i)
        } else {
            Value::Float(i as f64 * 1.5)
        };
        pairs.push((format!("feature_{i}"), v));
    }
    Value::Record(Record::from_pairs(pairs))
}

criterion_group!(benches, bench);
criterion_main!(benches);
