//! Unit tests of the state codec: rebuilt parts equal the original's, garbage is refused.

use super::*;
use rill_core::{Timestamp, Value};

const MIN: i64 = 60_000_000_000;
const T0: i64 = 1_595_367_600_000_000_000;

fn aggs(json: &str) -> Aggregations {
    Aggregations::new(serde_json::from_str(json).unwrap()).unwrap()
}

/// Aggregator sets covering every op, record layout (specialised and not), window kind,
/// late policy and sketch combination.
const SETS: [&str; 9] = [
    r#"[{"name":"w1","ops":["count","sum","avg","min","max"],"windows":{"sliding":["1h","24h"],"period":"10m"}}]"#,
    r#"[{"name":"all","ops":["count","sum","sqr","min","max","first","last","avg","stdvar","stddev"],"windows":{"sliding":["10m","30m","1h"],"period":"5m"}},
        {"name":"fx","ops":["first","last","min","count"],"windows":{"fixed":["20m","1h"]},"late":"drop"}]"#,
    r#"[{"name":"sk","ops":["count_distinct","approx_count_distinct","p50","p99"],"windows":{"sliding":["30m","2h"],"period":"10m"}}]"#,
    r#"[{"name":"h","ops":["approx_count_distinct"],"windows":{"sliding":["20m","1h"],"period":"10m"}},
        {"name":"hf","ops":["approx_count_distinct","count"],"windows":{"fixed":["30m","1h"]}}]"#,
    r#"[{"name":"cd","ops":["count_distinct","count"],"windows":{"fixed":["1h"]},"late":"side_output"},
        {"name":"q","ops":["p0","p50","p100"],"windows":{"fixed":["20m","1h"]}}]"#,
    r#"[{"name":"s","ops":["sqr"],"windows":{"sliding":["30m"],"period":"10m"}},
        {"name":"f","ops":["first"],"windows":{"sliding":["30m"],"period":"10m"}},
        {"name":"l","ops":["last","p90"],"windows":{"sliding":["30m"],"period":"10m"},"max_value":50}]"#,
    r#"[{"name":"c","ops":["count"],"windows":{"sliding":["1h"],"period":"1m"},"late":"drop"},
        {"name":"m","ops":["min","max","sum","count_distinct"],"windows":{"sliding":["2m","1h"],"period":"1m"}}]"#,
    r#"[{"name":"hq","ops":["approx_count_distinct","p50","sum"],"windows":{"sliding":["10m","30m"],"period":"10m"}}]"#,
    r#"[{"name":"x","ops":["count"],"windows":{"sliding":["1h"]}},
        {"name":"y","ops":["count_distinct","stddev"],"windows":{"fixed":["1d"]}}]"#,
];

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
}

/// A random value: mostly numbers of a small or large domain, sometimes nulls, NaN, ±∞,
/// ±0, strings.
fn value(rng: &mut Rng, domain: u64) -> Value {
    match rng.below(100) {
        0..=3 => Value::Null,
        4 => Value::Float(f64::NAN),
        5 => Value::Float(f64::INFINITY),
        6 => Value::Float(f64::NEG_INFINITY),
        7 => Value::Float(-0.0),
        8 => Value::Float(0.0),
        9..=11 => Value::from(format!("s{}", rng.below(domain)).as_str()),
        12..=40 => Value::Float((rng.below(domain) as f64 - domain as f64 / 2.0) / 8.0),
        _ => Value::Int(rng.below(domain) as i64),
    }
}

/// What must be equal between a state and its decoded copy: the retained entries, cursors
/// (counted from the first retained entry) and running records, bit for bit, and the
/// sketches (see `sketch::codec::differences`).
fn differences(aggs: &Aggregations, a: &KeyState, b: &KeyState) -> Vec<String> {
    let mut d = Vec::new();
    for (agg, p) in aggs.plans.iter().enumerate() {
        let (wa, wb) = (&a.words[..], &b.words[..]);
        let n = p.newest(wa);
        if (n, p.first(wa)) != (p.newest(wb), p.first(wb)) {
            d.push(format!("{}: newest/first differ", p.name));
            continue;
        }
        let (ra, rb) = (p.region(wa), p.region(wb));
        let stale = if n == NONE {
            0
        } else {
            p.lower_bound(wa, &ra, n - p.ring + 1)
        };
        let entries = |w: &[u64], r: &Region, from: usize| -> Vec<u64> {
            w[p.entry(r, from)..p.entry(r, r.len)].to_vec()
        };
        if entries(wa, &ra, stale) != entries(wb, &rb, 0) {
            d.push(format!("{}: entries differ", p.name));
        }
        for wi in 0..p.wins.len() {
            if p.cursor(wa, wi) - stale != p.cursor(wb, wi) {
                d.push(format!(
                    "{} window {wi}: cursor {} − {stale} vs {}",
                    p.name,
                    p.cursor(wa, wi),
                    p.cursor(wb, wi)
                ));
            }
            let at = p.run_at(wi);
            if wa[at..at + p.vlen] != wb[at..at + p.vlen] {
                d.push(format!("{} window {wi}: running records differ", p.name));
            }
        }
        if p.needs.sketches() {
            for e in crate::sketch::codec::differences(&a.sketches[agg], &b.sketches[agg]) {
                d.push(format!("{}: {e}", p.name));
            }
        }
    }
    d
}

fn features(aggs: &Aggregations, st: &KeyState, t: i64) -> Vec<u64> {
    let mut out = vec![0.0; aggs.feature_names().len()];
    aggs.features_at_f64(st, Timestamp(t), &mut out);
    out.iter().map(|x| x.to_bits()).collect()
}

/// Runs a random stream through a state; at random points encodes it, checks the decoded
/// copy has the same content and encodes to the same bytes, then feeds both and compares
/// every outcome and features at several times bit for bit. Returns the encodings made.
fn run(aggs: &Aggregations, rng: &mut Rng, events: usize) -> Vec<Vec<u8>> {
    let span = (0..aggs.len()).map(|a| aggs.span(a).0).max().unwrap();
    let domain = [4, 40, 2000, 100_000][rng.below(4) as usize];
    let mut st = aggs.new_state();
    let mut twin: Option<KeyState> = None;
    let mut now = T0 + rng.below(1000) as i64 * 1_000_000_007;
    let mut encodings = Vec::new();
    for i in 0..events {
        now += match rng.below(100) {
            0..=49 => 0,
            50..=94 => rng.below(300) as i64 * 1_000_000_000,
            95..=97 => span + rng.below(span as u64) as i64,
            _ => 3 * span,
        };
        let t = match rng.below(10) {
            0..=6 => now,
            7 | 8 => now - rng.below(span as u64) as i64,
            _ => now - rng.below(3 * span as u64) as i64,
        };
        for agg in 0..aggs.len() {
            if rng.chance(10) {
                aggs.advance_one(&mut st, agg, Timestamp(t));
                if let Some(tw) = &mut twin {
                    aggs.advance_one(tw, agg, Timestamp(t));
                }
                continue;
            }
            let v = value(rng, domain);
            let o = aggs.update(&mut st, agg, Timestamp(t), &v);
            if let Some(tw) = &mut twin {
                assert_eq!(aggs.update(tw, agg, Timestamp(t), &v), o, "event {i}");
            }
        }
        if let Some(tw) = &twin {
            for at in [t, now, now + MIN, now + span / 2, now + span, t - span] {
                assert_eq!(
                    features(aggs, &st, at),
                    features(aggs, tw, at),
                    "event {i}, features at {at}"
                );
            }
        }
        if rng.chance(4) || i + 1 == events {
            let mut bytes = Vec::new();
            aggs.encode_state(&st, &mut bytes);
            let back = aggs.decode_state(&bytes).unwrap();
            let d = differences(aggs, &st, &back);
            assert!(d.is_empty(), "event {i}: {d:#?}");
            let mut again = Vec::new();
            aggs.encode_state(&back, &mut again);
            assert!(again == bytes, "event {i}: re-encoding differs");
            twin = Some(back);
            encodings.push(bytes);
        }
    }
    encodings
}

#[test]
fn decoded_states_have_the_same_content_and_continue_alike() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for set in SETS {
        let a = aggs(set);
        for _ in 0..12 {
            let events = [20, 200, 1500][rng.below(3) as usize];
            run(&a, &mut rng, events);
        }
    }
}

#[test]
fn dense_hyperloglogs_round_trip() {
    let a = aggs(SETS[3]);
    let mut st = a.new_state();
    let mut twin: Option<KeyState> = None;
    let mut rng = Rng(7);
    let mut t = T0;
    let mut seen = (0, 0);
    for i in 0..6000i64 {
        // 300 values a bucket, then thinner and thinner: buckets and windows turn dense,
        // and windows turn back to exact hashes as dense buckets leave.
        t += if i < 1200 {
            2_000_000_000
        } else {
            (i - 1100) * 40_000_000
        };
        let late = if rng.chance(5) { 25 * MIN } else { 0 };
        let v = Value::Int(rng.below(if i % 7 == 0 { 50 } else { 1 << 40 }) as i64);
        for agg in 0..2 {
            let o = a.update(&mut st, agg, Timestamp(t - late), &v);
            if let Some(tw) = &mut twin {
                assert_eq!(a.update(tw, agg, Timestamp(t - late), &v), o);
            }
        }
        if let Some(tw) = &twin {
            assert_eq!(features(&a, &st, t), features(&a, tw, t), "event {i}");
            assert_eq!(
                features(&a, &st, t - 20 * MIN),
                features(&a, tw, t - 20 * MIN)
            );
        }
        if i % 97 == 0 {
            let mut bytes = Vec::new();
            a.encode_state(&st, &mut bytes);
            let back = a.decode_state(&bytes).unwrap();
            let d = differences(&a, &st, &back);
            assert!(d.is_empty(), "event {i}: {d:#?}");
            for sk in st.sketches.iter().take(1) {
                let (b, w) = crate::sketch::codec::dense_parts(sk);
                seen = (seen.0 + b, seen.1 + w);
            }
            twin = Some(back);
        }
    }
    assert!(
        seen.0 > 0 && seen.1 > 0,
        "dense buckets and windows at the round trips: {seen:?}"
    );
}

/// Structurally valid garbage (mutations of real encodings, decoded without the checksum
/// that would refuse them) never makes a state that panics later: what is not validated is
/// derived, so it is consistent. With the checksum, every mutation is refused.
#[test]
fn mutated_encodings_are_refused_or_harmless() {
    let mut rng = Rng(0xdead_beef_cafe_f00d);
    let mut decoded = 0;
    for set in SETS {
        let a = aggs(set);
        let span = (0..a.len()).map(|g| a.span(g).0).max().unwrap();
        let encodings = run(&a, &mut rng, 300);
        for bytes in encodings.iter().rev().take(6) {
            for _ in 0..150 {
                let mut m = bytes.clone();
                match rng.below(4) {
                    0 => {
                        let i = rng.below(m.len() as u64) as usize;
                        m[i] ^= 1 << rng.below(8);
                    }
                    1 => {
                        for _ in 0..1 + rng.below(4) {
                            let i = 9 + rng.below(m.len() as u64 - 9) as usize;
                            m[i] = rng.next() as u8;
                        }
                    }
                    2 => {
                        let i = rng.below(m.len() as u64) as usize;
                        m.remove(i);
                    }
                    _ => {
                        let i = rng.below(m.len() as u64) as usize;
                        m.insert(i, rng.next() as u8);
                    }
                }
                if m == *bytes {
                    continue;
                }
                assert!(a.decode_state(&m).is_err());
                if let Ok((mut st, _)) = a.decode_body(&m) {
                    decoded += 1;
                    let mut t = T0 + 3 * span;
                    for _ in 0..40 {
                        t += rng.below(span as u64 / 4 + 1) as i64 - span / 16;
                        for agg in 0..a.len() {
                            a.update(&mut st, agg, Timestamp(t), &value(&mut rng, 100));
                        }
                        features(&a, &st, t);
                        features(&a, &st, t - span);
                    }
                    let mut out = Vec::new();
                    a.encode_state(&st, &mut out);
                    a.decode_state(&out).expect("a used state encodes validly");
                }
            }
        }
    }
    assert!(decoded > 100, "only {decoded} mutations decoded");
}
