//! Persisted key states (`Aggregations::encode_state` / `decode_state` / `schema_fingerprint`):
//! a state round-tripped at any point continues bit for bit like the original; garbage, cut
//! short, other versions' and other aggregator sets' bytes are refused without panicking; the
//! fingerprint follows exactly what the state depends on; encodings are small.

use proptest::prelude::*;
use rill_agg::{Aggregations, AggregatorSpec, DecodeError, KeyState, LatePolicy, Op, WindowSpec};
use rill_core::{Timestamp, Value};

const SEC: i64 = 1_000_000_000;
const MIN: i64 = 60 * SEC;
const T0: i64 = 1_595_367_600 * SEC;

/// Every op the crate has (quantiles as p50 and p99).
const OPS: [&str; 14] = [
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
    "approx_count_distinct",
    "p50",
    "p99",
];

#[derive(Debug, Clone)]
struct AggCfg {
    fixed: bool,
    period_min: i64,
    /// Window lengths in periods (sliding) or in tens of minutes (fixed).
    wins: Vec<i64>,
    ops: Vec<usize>,
    late: LatePolicy,
    cap: Option<f64>,
}

fn agg_cfg() -> impl Strategy<Value = AggCfg> {
    (
        prop::bool::weighted(0.3),
        prop::sample::select(vec![1i64, 5, 10]),
        prop::sample::subsequence(vec![1i64, 2, 3, 6, 12], 1..=3),
        prop::sample::subsequence((0..OPS.len()).collect::<Vec<_>>(), 1..=6),
        prop::sample::select(vec![
            LatePolicy::Accept,
            LatePolicy::Accept,
            LatePolicy::Drop,
            LatePolicy::SideOutput,
        ]),
        prop::option::weighted(0.15, (1..40i32).prop_map(|c| c as f64 / 2.0)),
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
    fn spec(&self, name: &str) -> AggregatorSpec {
        let texts: Vec<String> = self
            .wins
            .iter()
            .map(|w| format!("{}m", w * if self.fixed { 10 } else { self.period_min }))
            .collect();
        AggregatorSpec {
            name: name.into(),
            field: None,
            expr: None,
            filter: None,
            ops: self.ops.iter().map(|&i| OPS[i].parse().unwrap()).collect(),
            windows: if self.fixed {
                WindowSpec::Fixed { windows: texts }
            } else {
                WindowSpec::Sliding {
                    windows: texts,
                    period: Some(format!("{}m", self.period_min)),
                }
            },
            max_value: self.cap,
            late: self.late,
        }
    }
}

#[derive(Debug, Clone)]
enum Val {
    Null,
    Nan,
    Small(i64),
    /// A large domain: many distinct values (HyperLogLog windows beyond their exact hashes).
    Wide(i64),
    Quarters(i32),
    Text(u8),
    Inf(bool),
    NegZero,
}

impl Val {
    fn value(&self) -> Value {
        match self {
            Val::Null => Value::Null,
            Val::Nan => Value::Float(f64::NAN),
            Val::Small(i) | Val::Wide(i) => Value::Int(*i),
            Val::Quarters(q) => Value::Float(*q as f64 / 4.0),
            Val::Text(c) => Value::from(format!("v{c}").as_str()),
            Val::Inf(neg) => Value::Float(if *neg {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            }),
            Val::NegZero => Value::Float(-0.0),
        }
    }
}

fn val() -> impl Strategy<Value = Val> {
    prop_oneof![
        2 => Just(Val::Null),
        1 => Just(Val::Nan),
        8 => (-20..20i64).prop_map(Val::Small),
        6 => (0..1i64 << 40).prop_map(Val::Wide),
        6 => (-400..400i32).prop_map(Val::Quarters),
        2 => (0..30u8).prop_map(Val::Text),
        1 => any::<bool>().prop_map(Val::Inf),
        1 => Just(Val::NegZero),
    ]
}

#[derive(Debug, Clone)]
struct Ev {
    key: usize,
    gap_s: i64,
    /// How far before the stream's clock the event is: 0 (in order), inside the windows, or
    /// beyond the span (too late).
    late_s: i64,
    vals: [Val; 3],
    /// The aggregator does not see the event (filtered out): its windows are only slid.
    skip: [bool; 3],
}

fn ev() -> impl Strategy<Value = Ev> {
    (
        0..3usize,
        // Mostly inside a bucket or a few buckets on; now and then past every window.
        prop_oneof![8 => 0..30i64, 6 => 0..600i64, 2 => 0..7200i64, 1 => 20_000..90_000i64],
        prop_oneof![12 => Just(0i64), 4 => 0..3600i64, 1 => 3600..30_000i64],
        [val(), val(), val()],
        [
            prop::bool::weighted(0.1),
            prop::bool::weighted(0.1),
            prop::bool::weighted(0.1),
        ],
    )
        .prop_map(|(key, gap_s, late_s, vals, skip)| Ev {
            key,
            gap_s,
            late_s,
            vals,
            skip,
        })
}

fn features(aggs: &Aggregations, st: &KeyState, t: i64) -> Vec<u64> {
    let mut out = vec![0.0; aggs.feature_names().len()];
    aggs.features_at_f64(st, Timestamp(t), &mut out);
    // Bits: identical states give identical NaNs too (NaN equals NaN here).
    out.iter().map(|x| x.to_bits()).collect()
}

fn encode(aggs: &Aggregations, st: &KeyState) -> Vec<u8> {
    let mut b = Vec::new();
    aggs.encode_state(st, &mut b);
    b
}

/// Feeds one event to a key's state; returns the outcomes.
fn feed(aggs: &Aggregations, st: &mut KeyState, e: &Ev, t: i64) -> Vec<String> {
    (0..aggs.len())
        .map(|a| {
            if e.skip[a] {
                aggs.advance_one(st, a, Timestamp(t));
                "advanced".to_string()
            } else {
                format!("{:?}", aggs.update(st, a, Timestamp(t), &e.vals[a].value()))
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// At a random point every key's state is encoded and decoded; original and decoded states
    /// then take the same events, with the same outcomes and bit-identical features at each
    /// event's time and at later (and earlier) times, and end as equal encodings.
    #[test]
    fn round_trip_continues_bit_for_bit(
        cfgs in prop::collection::vec(agg_cfg(), 1..=3),
        evs in prop::collection::vec(ev(), 1..400),
        at in 0.0..1.0f64,
    ) {
        let specs: Vec<AggregatorSpec> =
            cfgs.iter().enumerate().map(|(i, c)| c.spec(&format!("a{i}"))).collect();
        let aggs = Aggregations::new(specs).unwrap();
        let span = (0..aggs.len()).map(|a| aggs.span(a).nanos()).max().unwrap();
        let period = aggs.min_period().nanos();
        let cut = (at * evs.len() as f64) as usize;
        let mut states: Vec<KeyState> = (0..3).map(|_| aggs.new_state()).collect();
        let mut twins: Vec<KeyState> = Vec::new();
        let mut clock = T0;
        for (n, e) in evs.iter().enumerate() {
            if n == cut {
                for st in &states {
                    let bytes = encode(&aggs, st);
                    let back = aggs.decode_state(&bytes).unwrap();
                    prop_assert_eq!(encode(&aggs, &back), bytes, "re-encoding a decoded state");
                    twins.push(back);
                }
            }
            clock += e.gap_s * SEC;
            let t = clock - e.late_s * SEC;
            let got = feed(&aggs, &mut states[e.key], e, t);
            if twins.is_empty() {
                continue;
            }
            prop_assert_eq!(feed(&aggs, &mut twins[e.key], e, t), got, "event {} outcomes", n);
            for q in [t, clock, clock + period, clock + span, clock + 3 * span, t - span / 2] {
                prop_assert_eq!(
                    features(&aggs, &states[e.key], q),
                    features(&aggs, &twins[e.key], q),
                    "event {} key {}: features at {}", n, e.key, q
                );
            }
        }
        for (st, tw) in states.iter().zip(&twins) {
            prop_assert_eq!(encode(&aggs, st), encode(&aggs, tw), "end states");
        }
    }

    /// Random bytes, with or without a valid header, are refused.
    #[test]
    fn garbage_is_refused(bytes in prop::collection::vec(any::<u8>(), 0..400), header in any::<bool>()) {
        let aggs = Aggregations::new(vec![AggCfg {
            fixed: false, period_min: 10, wins: vec![6, 12], ops: (0..OPS.len()).collect(),
            late: LatePolicy::Accept, cap: None,
        }.spec("g")]).unwrap();
        let mut b = Vec::new();
        if header {
            b.push(1);
            b.extend_from_slice(&aggs.schema_fingerprint().to_le_bytes());
        }
        b.extend_from_slice(&bytes);
        prop_assert!(aggs.decode_state(&b).is_err());
    }
}

/// Valid encodings of a few aggregator sets after random streams (one key each).
fn samples() -> Vec<(Aggregations, Vec<u8>)> {
    let sets = [
        r#"[{"name":"w1","ops":["count","sum","avg","min","max"],"windows":{"sliding":["1h","24h"],"period":"10m"}}]"#,
        r#"[{"name":"s","ops":["count_distinct","approx_count_distinct","p50","p99","first","last","stddev"],"windows":{"sliding":["30m","2h"],"period":"10m"}},
            {"name":"f","ops":["approx_count_distinct","count"],"windows":{"fixed":["1h"]},"late":"drop"}]"#,
    ];
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut rnd = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let mut out = Vec::new();
    for set in sets {
        let aggs = Aggregations::new(serde_json::from_str(set).unwrap()).unwrap();
        let mut st = aggs.new_state();
        let mut t = T0;
        for _ in 0..400 {
            t += rnd(400) as i64 * SEC;
            let late = if rnd(8) == 0 {
                rnd(7200) as i64 * SEC
            } else {
                0
            };
            for a in 0..aggs.len() {
                let v = Value::Float(rnd(300) as f64 / 4.0);
                aggs.update(&mut st, a, Timestamp(t - late), &v);
            }
        }
        let bytes = encode(&aggs, &st);
        out.push((aggs, bytes));
    }
    out
}

#[test]
fn truncations_versions_and_other_sets_are_refused() {
    let samples = samples();
    for (aggs, bytes) in &samples {
        assert!(aggs.decode_state(bytes).is_ok());
        for len in 0..bytes.len() {
            let e = aggs.decode_state(&bytes[..len]).unwrap_err();
            // Cut short: reported as such, except where the cut happens to end a shorter
            // well-formed body (then its checksum cannot match).
            assert!(
                matches!(
                    e,
                    DecodeError::Truncated { .. }
                        | DecodeError::ChecksumMismatch { .. }
                        | DecodeError::TrailingBytes { .. }
                        | DecodeError::Invalid { .. }
                ),
                "cut at {len}: {e}"
            );
        }
        let e = aggs.decode_state(&bytes[..bytes.len() - 1]).unwrap_err();
        assert!(
            matches!(
                e,
                DecodeError::Truncated {
                    what: "checksum",
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("truncated at byte"), "{e}");
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(
            aggs.decode_state(&longer),
            Err(DecodeError::TrailingBytes { extra: 1, .. })
        ));
        for v in [0u8, 2, 0x81, 255] {
            let mut b = bytes.clone();
            b[0] = v;
            assert_eq!(
                aggs.decode_state(&b).unwrap_err(),
                DecodeError::UnknownVersion {
                    found: v,
                    supported: 1
                }
            );
        }
        // Every single bit flip is refused (most by the checksum).
        for i in 0..bytes.len() {
            for bit in [0, 3, 7] {
                let mut b = bytes.clone();
                b[i] ^= 1 << bit;
                assert!(aggs.decode_state(&b).is_err(), "bit {bit} of byte {i}");
            }
        }
    }
    // The state of another aggregator set.
    let (a, b) = (&samples[0], &samples[1]);
    let e = a.0.decode_state(&b.1).unwrap_err();
    assert_eq!(
        e,
        DecodeError::SchemaMismatch {
            found: b.0.schema_fingerprint(),
            expected: a.0.schema_fingerprint()
        }
    );
    assert!(e.to_string().contains("another aggregator set"), "{e}");
    assert!(b.0.decode_state(&a.1).is_err());
}

fn spec(json: &str) -> AggregatorSpec {
    serde_json::from_str(json).unwrap()
}

fn fingerprint(specs: &[&str]) -> u64 {
    Aggregations::new(specs.iter().map(|s| spec(s)).collect())
        .unwrap()
        .schema_fingerprint()
}

#[test]
fn fingerprints_follow_what_the_state_depends_on() {
    let base = r#"{"name":"a","field":"x","ops":["count","sum","p99"],"windows":{"sliding":["1h","2h"],"period":"10m"}}"#;
    let other = r#"{"name":"b","ops":["count_distinct"],"windows":{"fixed":["1d"]}}"#;
    let f = fingerprint(&[base, other]);
    // The same aggregators, built again, parsed again or written differently: the same.
    assert_eq!(f, fingerprint(&[base, other]));
    let built = Aggregations::new(vec![
        AggregatorSpec {
            name: "a".into(),
            field: Some("x".into()),
            expr: None,
            filter: None,
            ops: vec![Op::Count, Op::Sum, "p99".parse().unwrap()],
            windows: WindowSpec::Sliding {
                windows: vec!["60m".into(), "120m".into()],
                period: Some("600s".into()),
            },
            max_value: None,
            late: LatePolicy::Accept,
        },
        spec(other),
    ])
    .unwrap();
    assert_eq!(
        built.schema_fingerprint(),
        f,
        "same lengths written otherwise"
    );
    // max_value caps at reads only: the state is the same.
    let capped = base.replace(r#""ops""#, r#""max_value":5,"ops""#);
    assert_eq!(fingerprint(&[&capped, other]), f);
    // Any single change of what the state holds or means: different.
    let changes = [
        (r#""name":"a""#, r#""name":"c""#),
        (r#""field":"x""#, r#""field":"y""#),
        (r#""field":"x""#, r#""expr":"x * 2""#),
        (r#""field":"x""#, r#""field":"x","filter":"x > 0""#),
        (r#"["count","sum","p99"]"#, r#"["count","sum"]"#),
        (r#"["count","sum","p99"]"#, r#"["count","sum","p99","max"]"#),
        (r#"["count","sum","p99"]"#, r#"["count","avg","p99"]"#),
        (r#"["count","sum","p99"]"#, r#"["sum","count","p99"]"#),
        (r#"["count","sum","p99"]"#, r#"["count","sum","p98"]"#),
        (
            r#"["count","sum","p99"]"#,
            r#"["count","sum","quantile_0.99"]"#,
        ),
        (r#"["1h","2h"]"#, r#"["1h","3h"]"#),
        (r#"["1h","2h"]"#, r#"["2h","1h"]"#),
        (r#"["1h","2h"]"#, r#"["1h","2h","4h"]"#),
        (r#""period":"10m""#, r#""period":"5m""#),
        (
            r#"{"sliding":["1h","2h"],"period":"10m"}"#,
            r#"{"fixed":["1h","2h"]}"#,
        ),
        (r#""ops""#, r#""late":"drop","ops""#),
        (r#""ops""#, r#""late":"side_output","ops""#),
    ];
    let mut seen = vec![f];
    for (from, to) in changes {
        assert!(base.contains(from), "{from}");
        let changed = base.replace(from, to);
        let g = fingerprint(&[&changed, other]);
        assert!(!seen.contains(&g), "{to}: same fingerprint as before");
        seen.push(g);
    }
    // Adding, removing or reordering aggregators.
    for set in [
        vec![base],
        vec![other, base],
        vec![
            base,
            other,
            r#"{"name":"z","ops":["count"],"windows":{"fixed":["1h"]}}"#,
        ],
    ] {
        let g = fingerprint(&set);
        assert!(!seen.contains(&g));
        seen.push(g);
    }
    // Stable across builds and machines: the description and its hash are pinned.
    let a = Aggregations::new(vec![spec(base)]).unwrap();
    assert_eq!(
        a.schema_description(),
        "rill-agg key state\naggregator \"a\": field \"x\"; expr none; filter none; ops count, sum, \
         p99 (rank 99/100, log bins of relative accuracy 0.01); sliding windows 3600000000000ns, \
         7200000000000ns; period 600000000000ns; late accept\n"
    );
    assert_eq!(
        a.schema_fingerprint(),
        PINNED,
        "{:#x}",
        a.schema_fingerprint()
    );
}

/// `schema_fingerprint` of the first set of `fingerprints_follow_what_the_state_depends_on`.
const PINNED: u64 = 0xe9fa_7e64_2c0b_37f8;

/// Bytes of the varint of `v`.
fn varint_len(v: u64) -> usize {
    (64 - v.leading_zeros() as usize).div_ceil(7).max(1)
}

/// A state of one key fed `events` values spread evenly at random over one day.
fn day_state(aggs: &Aggregations, events: usize, distinct: u64) -> KeyState {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut rnd = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let mut times: Vec<i64> = (0..events)
        .map(|_| T0 + rnd(86_400_000) as i64 * 1_000_000)
        .collect();
    times.sort();
    let mut st = aggs.new_state();
    for t in times {
        // amounts in cents (as in the W1 data): arbitrary doubles once summed
        let v = Value::Float(rnd(distinct) as f64 / 100.0);
        assert!(matches!(
            aggs.update(&mut st, 0, Timestamp(t), &v),
            rill_agg::Outcome::Aggregated { .. }
        ));
    }
    st
}

#[test]
fn encodings_are_small() {
    let w1 = Aggregations::new(vec![spec(
        r#"{"name":"w1","ops":["count","sum","avg","min","max"],"windows":{"sliding":["1h","24h"],"period":"10m"}}"#,
    )])
    .unwrap();
    let events = 300;
    let st = day_state(&w1, events, 49_901);
    let bytes = encode(&w1, &st);
    // The bound, from the format: version, fingerprint and checksum 13 bytes; flags 1; newest
    // bucket (≈ 2.66 M, zigzag) and newest − oldest (< 144) varints; the entry count (≤ 144:
    // the day's buckets of 10 minutes); per entry a tag (gap < ring = 287, so (gap << 1 | 1)
    // < 2^10: 2 bytes) and either one value (8) or count − 1 (≤ 300: 2 bytes) and the kept sum,
    // min and max (24); per window its running sum, min and max (24).
    let newest = (T0 + 86_400 * SEC) / (10 * MIN);
    let entries = 144.min(events);
    let bound = 13
        + 1
        + varint_len((newest as u64) << 1)
        + varint_len(143)
        + varint_len(entries as u64)
        + entries * (2 + (2 + 24))
        + 2 * 24;
    println!(
        "W1 state (count/sum/avg/min/max over sliding 1h, 24h, period 10m), {events} events over a day: {} bytes encoded (bound {bound}), {} bytes in memory",
        bytes.len(),
        st.heap_bytes()
    );
    assert!(bytes.len() <= bound, "{} > {bound}", bytes.len());
    assert_eq!(bound, 4102);
    // A key with one event per bucket: each entry is one value.
    let mut sparse = w1.new_state();
    for i in 0..40 {
        let t = T0 + i * 30 * MIN + (i * 7919 % 600) * SEC;
        w1.update(
            &mut sparse,
            0,
            Timestamp(t),
            &Value::Float(i as f64 / 100.0 + 0.005),
        );
    }
    let b = encode(&w1, &sparse);
    let bound = 13 + 1 + 4 + 2 + 1 + 40 * (2 + 8) + 2 * 24;
    println!(
        "W1 state, 40 events in 40 buckets: {} bytes encoded (bound {bound})",
        b.len()
    );
    assert!(b.len() <= bound, "{} > {bound}", b.len());

    let sk = Aggregations::new(vec![spec(
        r#"{"name":"s","ops":["p50","p99","count_distinct"],"windows":{"sliding":["1h","24h"],"period":"10m"}}"#,
    )])
    .unwrap();
    for (events, distinct) in [(300, 49_901), (300, 50), (5000, 49_901)] {
        let st = day_state(&sk, events, distinct);
        let bytes = encode(&sk, &st);
        println!(
            "p50+p99+count_distinct over sliding 1h, 24h, period 10m, {events} events over a day, {distinct} possible values: {} bytes encoded, {} bytes in memory",
            bytes.len(),
            st.heap_bytes()
        );
        // Per value at most: its bin (a code varint ≤ 5 bytes and a count varint ≤ 3) and its
        // distinct value (new, a float: 1 + 8 bytes; occurrences ≤ 3); per bucket its tag,
        // count, number of distinct values and of bins (≤ 2 + 3 + 3 + 3); the header, newest,
        // oldest and entry count as above; no running record (count only, derived).
        let bound = 13 + 1 + 4 + 2 + 2 + events * (5 + 3 + 9 + 3) + 144 * (2 + 3 + 3 + 3);
        assert!(bytes.len() <= bound, "{} > {bound}", bytes.len());
        assert!(sk.decode_state(&bytes).is_ok());
    }
}
