//! Property test: for random streams (several keys, random gaps, late events inside and beyond
//! the span, skipped events, random ops/windows/late policies/max_value), every feature equals a
//! brute-force recomputation over the key's accepted events, and every update outcome matches
//! the oracle's acceptance decision.

mod common;
use common::*;
use proptest::prelude::*;
use rill_agg::{Aggregations, AggregatorSpec, LatePolicy, Op, Outcome, WindowSpec};
use rill_core::{Timestamp, Value};

const MIN: i64 = 60_000_000_000;
const OPS: [&str; 11] = [
    "count",
    "sum",
    "sqr",
    "min",
    "max",
    "first",
    "last",
    "avg",
    "stdvar",
    "stddev",
    "count_distinct",
];

#[derive(Debug, Clone)]
struct AggCfg {
    fixed: bool,
    period_min: i64,
    /// Window lengths in periods (sliding) or in minutes (fixed).
    wins: Vec<i64>,
    ops: Vec<usize>,
    late: LatePolicy,
    cap: Option<f64>,
}

fn agg_cfg() -> impl Strategy<Value = AggCfg> {
    (
        any::<bool>(),
        prop::sample::select(vec![1i64, 5, 10]),
        prop::sample::subsequence(vec![1i64, 2, 3, 6, 12], 1..=3),
        prop::sample::subsequence((0..OPS.len()).collect::<Vec<_>>(), 1..=5),
        prop::sample::select(vec![
            LatePolicy::Accept,
            LatePolicy::Accept,
            LatePolicy::Drop,
            LatePolicy::SideOutput,
        ]),
        prop::option::weighted(0.2, (1..40i32).prop_map(|c| c as f64 / 2.0)),
    )
        .prop_map(|(fixed, period_min, wins, ops, late, cap)| AggCfg {
            fixed,
            period_min,
            wins,
            ops,
            late,
            cap,
        })
}

impl AggCfg {
    fn spec(&self, name: &str) -> (AggregatorSpec, i64, Vec<(i64, bool)>) {
        let lens: Vec<i64> = if self.fixed {
            // Fixed lengths in minutes, e.g. 10m, 20m, 30m, 60m, 120m.
            self.wins.iter().map(|w| w * 10).collect()
        } else {
            self.wins.iter().map(|w| w * self.period_min).collect()
        };
        let texts: Vec<String> = lens.iter().map(|l| format!("{l}m")).collect();
        let windows = if self.fixed {
            WindowSpec::Fixed { windows: texts }
        } else {
            WindowSpec::Sliding {
                windows: texts,
                period: Some(format!("{}m", self.period_min)),
            }
        };
        let spec = AggregatorSpec {
            name: name.into(),
            field: None,
            expr: None,
            filter: None,
            ops: self
                .ops
                .iter()
                .map(|i| OPS[*i].parse::<Op>().unwrap())
                .collect(),
            windows,
            max_value: self.cap,
            late: self.late,
        };
        let period = if self.fixed {
            10 * MIN * self.wins.iter().copied().fold(0, gcd)
        } else {
            self.period_min * MIN
        };
        (
            spec,
            period,
            lens.iter().map(|l| (l * MIN, self.fixed)).collect(),
        )
    }
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

#[derive(Debug, Clone)]
struct Ev {
    key: usize,
    gap_s: i64,
    late_s: i64,
    /// Value in quarters (exact in binary, so sums are exact); None = null.
    vals: [Option<i32>; 2],
    skip: [bool; 2],
}

fn ev() -> impl Strategy<Value = Ev> {
    (
        0..3usize,
        prop_oneof![3 => 0..600i64, 1 => 0..7200i64],
        prop_oneof![6 => Just(0i64), 3 => 0..3600i64, 1 => 0..14_400i64],
        [
            prop::option::weighted(0.9, -200..200i32),
            prop::option::weighted(0.9, -200..200i32),
        ],
        [prop::bool::weighted(0.15), prop::bool::weighted(0.15)],
    )
        .prop_map(|(key, gap_s, late_s, vals, skip)| Ev {
            key,
            gap_s,
            late_s,
            vals,
            skip,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]
    #[test]
    fn features_equal_brute_force(cfgs in prop::collection::vec(agg_cfg(), 1..=2), evs in prop::collection::vec(ev(), 1..120)) {
        let built: Vec<_> = cfgs.iter().enumerate().map(|(i, c)| c.spec(&format!("a{i}"))).collect();
        let aggs = Aggregations::new(built.iter().map(|b| b.0.clone()).collect()).unwrap();
        for (i, b) in built.iter().enumerate() {
            prop_assert_eq!(aggs.period(i).nanos(), b.1);
        }
        let mut states: Vec<_> = (0..3).map(|_| aggs.new_state()).collect();
        let mut oracles: Vec<Vec<Oracle>> =
            (0..3).map(|_| built.iter().map(|b| Oracle::new(b.1, b.2.clone(), b.0.late, b.0.max_value)).collect()).collect();
        let mut cursor = 1_595_367_600_000_000_000i64;
        let mut out = Vec::new();
        for (n, e) in evs.iter().enumerate() {
            cursor += e.gap_s * 1_000_000_000;
            let t = cursor - e.late_s * 1_000_000_000;
            let st = &mut states[e.key];
            for (a, o) in oracles[e.key].iter_mut().enumerate() {
                if e.skip[a] {
                    aggs.advance_one(st, a, Timestamp(t));
                    o.observe(t);
                    continue;
                }
                let v = e.vals[a].map_or(Value::Null, |q| if q % 3 == 0 { Value::Int(q as i64) } else { Value::Float(q as f64 / 4.0) });
                let got = aggs.update(st, a, Timestamp(t), &v);
                match v.as_f64() {
                    None => { o.observe(t); prop_assert_eq!(got, Outcome::Skipped); }
                    Some(x) => {
                        let accepted = o.offer(t, x, DistinctText::of(&v));
                        prop_assert_eq!(matches!(got, Outcome::Aggregated { .. }), accepted, "event {}: {:?}", n, got);
                    }
                }
            }
            out.clear();
            aggs.features_at(&states[e.key], Timestamp(t), &mut out);
            let names = aggs.feature_names();
            for (a, b) in built.iter().enumerate() {
                let o = &oracles[e.key][a];
                let r = aggs.feature_range(a);
                let mut k = r.start;
                for op in &b.0.ops {
                    for w in 0..b.2.len() {
                        let want = o.value(op, w, t);
                        match &out[k] {
                            // Unknown only where the window reaches past the retained buckets.
                            Value::Null => prop_assert!(!o.retained(w, t), "event {} {}: null inside the retained buckets", n, names[k]),
                            v => {
                                let got = f(v);
                                prop_assert!(close(got, want, 1e-9), "event {} {}: rill {} brute force {}", n, names[k], got, want);
                            }
                        }
                        k += 1;
                    }
                }
            }
        }
    }
}

/// Text under which the oracle counts distinct values: numbers by numeric value (1 == 1.0).
struct DistinctText;
impl DistinctText {
    fn of(v: &Value) -> String {
        format!("{}", v.as_f64().unwrap())
    }
}
