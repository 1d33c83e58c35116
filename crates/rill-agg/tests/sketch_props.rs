//! Sketch ops against a brute-force oracle (every event kept, windows recomputed from them):
//! random streams with several keys, window eviction, gaps, out-of-order and late events
//! (inside the windows, behind them, and older than the retained buckets), sliding and fixed
//! windows. `count_distinct` must be exact; quantiles within the documented relative error
//! (1 %) of the true value of rank `⌊q·(n − 1)⌋`; `approx_count_distinct` exact while a window
//! holds at most 256 distinct values and within 4 standard errors (4 · 1.04/√4096) beyond;
//! every read is either that or null, and null only where the window reaches past the
//! retained buckets.

mod common;
use common::*;
use proptest::prelude::*;
use rill_agg::{Aggregations, AggregatorSpec, LatePolicy, Op, Outcome, WindowSpec};
use rill_core::{Timestamp, Value};

const MIN: i64 = 60_000_000_000;
const SEC: i64 = 1_000_000_000;
/// Relative accuracy of quantiles (documented in `Op::Quantile`).
const ALPHA: f64 = 0.01;
/// Standard error of approx_count_distinct at precision 12.
const HLL_SIGMA: f64 = 1.04 / 64.0;
const OPS: [&str; 8] = [
    "count_distinct",
    "approx_count_distinct",
    "p0",
    "p10",
    "p50",
    "p90",
    "p99",
    "p100",
];

fn spec(
    fixed: bool,
    period_min: i64,
    wins: &[i64],
    late: LatePolicy,
) -> (AggregatorSpec, i64, Vec<(i64, bool)>) {
    let lens: Vec<i64> = wins
        .iter()
        .map(|w| w * if fixed { 10 } else { period_min })
        .collect();
    let texts: Vec<String> = lens.iter().map(|l| format!("{l}m")).collect();
    let windows = if fixed {
        WindowSpec::Fixed { windows: texts }
    } else {
        WindowSpec::Sliding {
            windows: texts,
            period: Some(format!("{period_min}m")),
        }
    };
    let period = if fixed {
        10 * MIN * wins.iter().copied().fold(0, gcd)
    } else {
        period_min * MIN
    };
    let spec = AggregatorSpec {
        name: "s".into(),
        field: None,
        expr: None,
        filter: None,
        ops: OPS.iter().map(|o| o.parse::<Op>().unwrap()).collect(),
        windows,
        max_value: None,
        late,
    };
    (
        spec,
        period,
        lens.iter().map(|l| (l * MIN, fixed)).collect(),
    )
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Checks one feature value against the oracle.
fn check(op: &Op, got: &Value, o: &Oracle, w: usize, t: i64) -> Result<(), String> {
    let got = match got {
        Value::Null if !o.retained(w, t) => return Ok(()),
        Value::Null => return Err("null inside the retained buckets".into()),
        Value::Float(x) => *x,
        other => return Err(format!("not a float: {other:?}")),
    };
    let evs = o.window_events(w, t);
    match op {
        Op::CountDistinct | Op::ApproxCountDistinct => {
            let mut texts: Vec<&str> = evs.iter().map(|e| e.1).collect();
            texts.sort_unstable();
            texts.dedup();
            let n = texts.len() as f64;
            let ok = if matches!(op, Op::CountDistinct) || n <= 256.0 {
                got == n
            } else {
                (got - n).abs() <= 4.0 * HLL_SIGMA * n
            };
            if !ok {
                return Err(format!("{op}: rill {got}, true {n}"));
            }
        }
        Op::Quantile(q) => {
            let mut xs: Vec<f64> = evs.iter().map(|e| e.0).collect();
            if xs.is_empty() {
                return if got.is_nan() {
                    Ok(())
                } else {
                    Err(format!("{op} of an empty window: {got}"))
                };
            }
            xs.sort_by(f64::total_cmp);
            let want = xs[(q.q * (xs.len() - 1) as f64) as usize];
            if (got - want).abs() > ALPHA * want.abs() * (1.0 + 1e-9) {
                return Err(format!("{op}: rill {got}, true {want} (n {})", xs.len()));
            }
        }
        _ => unreachable!("only sketch ops here"),
    }
    Ok(())
}

#[derive(Debug, Clone)]
struct Ev {
    key: usize,
    gap_s: i64,
    late_s: i64,
    val: i32,
}

fn ev() -> impl Strategy<Value = Ev> {
    (
        0..3usize,
        prop_oneof![3 => 0..300i64, 1 => 0..5400i64],
        prop_oneof![6 => Just(0i64), 3 => 0..3600i64, 1 => 0..21_600i64],
        prop_oneof![4 => -40..40i32, 1 => -4000..4000i32, 1 => Just(0)],
    )
        .prop_map(|(key, gap_s, late_s, val)| Ev {
            key,
            gap_s,
            late_s,
            val,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]
    #[test]
    fn sketches_match_brute_force(
        fixed in any::<bool>(),
        period_min in prop::sample::select(vec![1i64, 5, 10]),
        wins in prop::sample::subsequence(vec![1i64, 2, 3, 6, 12], 1..=3),
        late in prop::sample::select(vec![LatePolicy::Accept, LatePolicy::Accept, LatePolicy::Drop]),
        evs in prop::collection::vec(ev(), 1..150),
    ) {
        let (spec, period, geo) = spec(fixed, period_min, &wins, late);
        let aggs = Aggregations::new(vec![spec.clone()]).unwrap();
        prop_assert_eq!(aggs.period(0).nanos(), period);
        let mut states: Vec<_> = (0..3).map(|_| aggs.new_state()).collect();
        let mut oracles: Vec<Oracle> = (0..3).map(|_| Oracle::new(period, geo.clone(), late, None)).collect();
        let mut cursor = 1_595_367_600 * SEC;
        let mut out = Vec::new();
        for (n, e) in evs.iter().enumerate() {
            cursor += e.gap_s * SEC;
            let t = cursor - e.late_s * SEC;
            // quarters and integers: 1 and 1.0 are one distinct value
            let v = if e.val % 4 == 0 { Value::Int(e.val as i64 / 4) } else { Value::Float(e.val as f64 / 4.0) };
            let x = v.as_f64().unwrap();
            let got = aggs.update(&mut states[e.key], 0, Timestamp(t), &v);
            let accepted = oracles[e.key].offer(t, x, format!("{x}"));
            prop_assert_eq!(matches!(got, Outcome::Aggregated { .. }), accepted, "event {}: {:?}", n, got);
            out.clear();
            aggs.features_at(&states[e.key], Timestamp(t), &mut out);
            let mut k = 0;
            for op in &spec.ops {
                for w in 0..geo.len() {
                    if let Err(m) = check(op, &out[k], &oracles[e.key], w, t) {
                        prop_assert!(false, "event {} {}: {}", n, aggs.feature_names()[k], m);
                    }
                    k += 1;
                }
            }
            // Reads at another time (older, or a window later) merge the buckets instead.
            let other = t - (e.gap_s % 7200) * SEC;
            out.clear();
            aggs.features_at(&states[e.key], Timestamp(other), &mut out);
            let mut k = 0;
            for op in &spec.ops {
                for w in 0..geo.len() {
                    if let Err(m) = check(op, &out[k], &oracles[e.key], w, other) {
                        prop_assert!(false, "event {} read at {} {}: {}", n, other, aggs.feature_names()[k], m);
                    }
                    k += 1;
                }
            }
        }
    }
}

/// Many distinct values per window (the HyperLogLog registers, dense histograms, buckets and
/// windows beyond the sparse sizes), window eviction and late values into older buckets of
/// the window, checked against brute force every 1 500 events.
#[test]
fn large_windows_match_brute_force() {
    let specs: Vec<AggregatorSpec> = serde_json::from_str(
        r#"[{"name":"s","ops":["count_distinct","approx_count_distinct","p1","p50","p99"],
             "windows":{"sliding":["1h","6h"],"period":"10m"}}]"#,
    )
    .unwrap();
    let aggs = Aggregations::new(specs.clone()).unwrap();
    let geo = vec![(60 * MIN, false), (360 * MIN, false)];
    let mut st = aggs.new_state();
    let mut o = Oracle::new(10 * MIN, geo.clone(), LatePolicy::Accept, None);
    let mut next = xorshift(0x2545_F491_4F6C_DD1D);
    let mut cursor = 1_595_367_600 * SEC;
    let mut out = Vec::new();
    let mut checked = 0;
    for n in 0..45_000 {
        let r = next();
        cursor += (r % 4) as i64 * SEC;
        // 5 % late by up to 3 h (into front and back buckets of the 6 h window)
        let t = if (r >> 8).is_multiple_of(20) {
            cursor - ((r >> 16) % 10_800) as i64 * SEC
        } else {
            cursor
        };
        // a slowly drifting range of distinct values, mostly large, some repeats
        let x = ((r >> 24) % 20_000) as i64 + n / 10;
        let got = aggs.update(&mut st, 0, Timestamp(t), &Value::Int(x));
        assert!(matches!(got, Outcome::Aggregated { .. }));
        o.offer(t, x as f64, format!("{x}"));
        if n % 1500 == 1499 {
            out.clear();
            aggs.features_at(&st, Timestamp(t), &mut out);
            let mut k = 0;
            for op in &specs[0].ops {
                for w in 0..geo.len() {
                    if let Err(m) = check(op, &out[k], &o, w, t) {
                        panic!("event {n} {}: {m}", aggs.feature_names()[k]);
                    }
                    k += 1;
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 30);
}

/// Small distinct counts are exact, also after values leave the window; strings and numbers
/// count by value (`1 == 1.0`).
#[test]
fn small_distinct_counts_are_exact() {
    let specs: Vec<AggregatorSpec> = serde_json::from_str(
        r#"[{"name":"s","ops":["count_distinct","approx_count_distinct"],"windows":{"sliding":["20m"],"period":"10m"}}]"#,
    )
    .unwrap();
    let a = Aggregations::new(specs).unwrap();
    let mut st = a.new_state();
    let t0 = 1_595_367_600 * SEC;
    for (i, v) in [
        Value::Int(1),
        Value::Float(1.0),
        Value::from("a"),
        Value::from("b"),
        Value::Bool(true),
    ]
    .iter()
    .enumerate()
    {
        a.update(&mut st, 0, Timestamp(t0 + i as i64 * SEC), v);
    }
    for i in 0..200 {
        a.update(
            &mut st,
            0,
            Timestamp(t0 + 10 * MIN + i * SEC),
            &Value::Int(1000 + i),
        );
    }
    let mut out = Vec::new();
    a.features_at(&st, Timestamp(t0 + 10 * MIN + 200 * SEC), &mut out);
    assert_eq!(out, [Value::Float(204.0), Value::Float(204.0)]);
    // 20 minutes on, the first bucket has left: 200 remain, then the window empties.
    a.update(&mut st, 0, Timestamp(t0 + 20 * MIN), &Value::Int(1000));
    out.clear();
    a.features_at(&st, Timestamp(t0 + 20 * MIN), &mut out);
    assert_eq!(out, [Value::Float(200.0), Value::Float(200.0)]);
    out.clear();
    a.advance(&mut st, Timestamp(t0 + 60 * MIN));
    a.features_at(&st, Timestamp(t0 + 60 * MIN), &mut out);
    assert_eq!(out, [Value::Float(0.0), Value::Float(0.0)]);
}
