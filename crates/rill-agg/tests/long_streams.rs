//! Long streams against the brute-force oracle: hot keys fill, compact and grow their bucket
//! regions many times, entries outside the retained span are dropped lazily, late events are
//! inserted between stored buckets, and long gaps empty every window. The property test uses
//! short streams; this one exercises the state's storage management.

mod common;
use common::*;
use rill_agg::{Aggregations, AggregatorSpec, LatePolicy, Op, Outcome, WindowSpec};
use rill_core::{Timestamp, Value};

const MIN: i64 = 60_000_000_000;

fn spec(name: &str, ops: &[&str], windows: WindowSpec, cap: Option<f64>) -> AggregatorSpec {
    AggregatorSpec {
        name: name.into(),
        field: None,
        expr: None,
        filter: None,
        ops: ops.iter().map(|o| o.parse::<Op>().unwrap()).collect(),
        windows,
        max_value: cap,
        late: LatePolicy::Accept,
    }
}

fn sliding(w: &[&str], p: &str) -> WindowSpec {
    WindowSpec::Sliding {
        windows: w.iter().map(|s| s.to_string()).collect(),
        period: Some(p.into()),
    }
}

#[test]
fn long_streams_match_brute_force() {
    let specs = vec![
        spec("c", &["count"], sliding(&["10m", "30m", "60m"], "5m"), None),
        spec(
            "p",
            &["avg", "min", "max"],
            sliding(&["10m", "60m"], "5m"),
            None,
        ),
        spec(
            "f",
            &["first", "last", "sum", "stddev"],
            sliding(&["15m", "45m"], "5m"),
            None,
        ),
        spec(
            "x",
            &["count", "max", "last"],
            WindowSpec::Fixed {
                windows: vec!["30m".into(), "60m".into()],
            },
            None,
        ),
        spec(
            "m",
            &["sum", "min", "count_distinct"],
            sliding(&["20m"], "5m"),
            Some(40.0),
        ),
    ];
    // (period, windows) of each spec for the oracle.
    let geo: Vec<(i64, Vec<(i64, bool)>)> = vec![
        (
            5 * MIN,
            vec![(10 * MIN, false), (30 * MIN, false), (60 * MIN, false)],
        ),
        (5 * MIN, vec![(10 * MIN, false), (60 * MIN, false)]),
        (5 * MIN, vec![(15 * MIN, false), (45 * MIN, false)]),
        (30 * MIN, vec![(30 * MIN, true), (60 * MIN, true)]),
        (5 * MIN, vec![(20 * MIN, false)]),
    ];
    let aggs = Aggregations::new(specs.clone()).unwrap();
    let keys = 3;
    let mut states: Vec<_> = (0..keys).map(|_| aggs.new_state()).collect();
    let mut oracles: Vec<Vec<Oracle>> = (0..keys)
        .map(|_| {
            specs
                .iter()
                .zip(&geo)
                .map(|(s, g)| Oracle::new(g.0, g.1.clone(), s.late, s.max_value))
                .collect()
        })
        .collect();
    let mut next = xorshift(0x2545_F491_4F6C_DD1D);
    let mut cursor = 1_595_367_600_000_000_000i64;
    let mut out = Vec::new();
    let mut nulls = 0;
    for n in 0..8000 {
        let r = next();
        // Mostly dense (hot keys), sometimes a long gap that empties every window.
        let gap_s = match r % 100 {
            0 => 3 * 3600,
            1..=10 => 600,
            _ => (r >> 8) as i64 % 120,
        };
        cursor += gap_s * 1_000_000_000;
        let late_s = if (r >> 20).is_multiple_of(5) {
            (r >> 24) as i64 % 5400
        } else {
            0
        };
        let t = cursor - late_s * 1_000_000_000;
        let key = (r >> 40) as usize % keys;
        let q = ((r >> 44) % 400) as i32 - 200;
        let v = if q % 7 == 0 {
            Value::Int(q as i64)
        } else {
            Value::Float(q as f64 / 4.0)
        };
        let x = v.as_f64().unwrap();
        let st = &mut states[key];
        for (a, o) in oracles[key].iter_mut().enumerate() {
            if (r >> (50 + a)) & 7 == 0 {
                aggs.advance_one(st, a, Timestamp(t));
                o.observe(t);
                continue;
            }
            let got = aggs.update(st, a, Timestamp(t), &v);
            let accepted = o.offer(t, x, format!("{x}"));
            assert_eq!(
                matches!(got, Outcome::Aggregated { .. }),
                accepted,
                "event {n} agg {a}: {got:?}"
            );
        }
        out.clear();
        aggs.features_at(&states[key], Timestamp(t), &mut out);
        let names = aggs.feature_names();
        for (a, s) in specs.iter().enumerate() {
            let o = &oracles[key][a];
            let mut k = aggs.feature_range(a).start;
            for op in &s.ops {
                for w in 0..geo[a].1.len() {
                    let want = o.value(op, w, t);
                    if out[k] == Value::Null {
                        assert!(
                            !o.retained(w, t),
                            "event {n} {}: null inside the retained buckets",
                            names[k]
                        );
                        nulls += 1;
                    } else {
                        let got = f(&out[k]);
                        assert!(
                            close(got, want, 1e-9),
                            "event {n} {}: rill {got} brute force {want}",
                            names[k]
                        );
                    }
                    k += 1;
                }
            }
        }
    }
    assert!(
        nulls > 0,
        "some late events reach past the retained buckets"
    );
    // Hot keys keep at most the retained span: the state stays bounded.
    for st in &states {
        assert!(st.heap_bytes() < 64 * 1024, "{} bytes", st.heap_bytes());
    }
}
