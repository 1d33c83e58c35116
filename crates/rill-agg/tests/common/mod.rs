//! Test helpers: a brute-force oracle (recomputes every window from the raw list of accepted
//! events, written independently of the engine's rings and running values) and a runner for
//! storey's conformance cases.
#![allow(dead_code)]

use rill_agg::{
    Aggregations, AggregatorSpec, Emission, EmitPolicy, Emitter, LatePolicy, Op, Outcome,
    WindowSpec,
};
use rill_core::{parse_duration, Timestamp, Value};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Brute-force model of one aggregator of one key.
#[derive(Debug, Clone)]
pub struct Oracle {
    /// Bucket period (ns).
    pub period: i64,
    /// Windows: (length ns, fixed).
    pub wins: Vec<(i64, bool)>,
    pub late: LatePolicy,
    pub cap: Option<f64>,
    /// Newest bucket seen by the key (aggregated or not).
    pub newest: Option<i64>,
    /// Events the windows truly contain: every accepted one, and those `accept` refused as
    /// older than the retained buckets (rill must never report a number that misses them):
    /// (time, numeric value, distinct text).
    pub events: Vec<(i64, f64, String)>,
}

impl Oracle {
    pub fn new(period: i64, wins: Vec<(i64, bool)>, late: LatePolicy, cap: Option<f64>) -> Self {
        Oracle {
            period,
            wins,
            late,
            cap,
            newest: None,
            events: Vec::new(),
        }
    }
    fn span_buckets(&self) -> i64 {
        self.wins
            .iter()
            .map(|(l, _)| l / self.period)
            .max()
            .unwrap()
    }
    /// Buckets a key retains back from its newest: `2·span − 1` (sliding), `2·span` (fixed).
    pub fn ring_buckets(&self) -> i64 {
        if self.wins[0].1 {
            2 * self.span_buckets()
        } else {
            2 * self.span_buckets() - 1
        }
    }
    /// An event the aggregator does not aggregate still moves the key's clock.
    pub fn observe(&mut self, t: i64) {
        let b = t.div_euclid(self.period);
        self.newest = Some(self.newest.map_or(b, |n| n.max(b)));
    }
    /// Offers a value; returns whether it was aggregated.
    pub fn offer(&mut self, t: i64, x: f64, key: String) -> bool {
        let b = t.div_euclid(self.period);
        let late = self.newest.is_some_and(|n| b < n);
        self.observe(t);
        let n = self.newest.unwrap();
        if late && self.late != LatePolicy::Accept {
            return false;
        }
        self.events.push((t, x, key));
        !(late && n - b >= self.ring_buckets())
    }
    /// Bucket range `[lo, hi]` of window `w` at time `t`.
    pub fn range(&self, w: usize, t: i64) -> (i64, i64) {
        let (len, fixed) = self.wins[w];
        let q = t.div_euclid(self.period);
        if fixed {
            let lo = t.div_euclid(len) * len / self.period;
            (lo, lo + len / self.period - 1)
        } else {
            (q - len / self.period + 1, q)
        }
    }
    /// True when every bucket of window `w` at `t` is retained (rill must then give a number).
    pub fn retained(&self, w: usize, t: i64) -> bool {
        self.newest
            .is_none_or(|n| self.range(w, t).0 > n - self.ring_buckets())
    }
    /// Events of window `w` at time `t`, grouped by bucket (in bucket order, arrival order inside).
    fn window_buckets(&self, w: usize, t: i64) -> BTreeMap<i64, Vec<(usize, i64, f64)>> {
        let (len, fixed) = self.wins[w];
        let mut m: BTreeMap<i64, Vec<(usize, i64, f64)>> = BTreeMap::new();
        for (i, (et, x, _)) in self.events.iter().enumerate() {
            let inside = if fixed {
                et.div_euclid(len) == t.div_euclid(len)
            } else {
                let (eb, q) = (et.div_euclid(self.period), t.div_euclid(self.period));
                eb <= q && q - eb < len / self.period
            };
            if inside {
                m.entry(et.div_euclid(self.period))
                    .or_default()
                    .push((i, *et, *x));
            }
        }
        m
    }
    /// The events of window `w` at time `t` (numeric value, distinct text).
    pub fn window_events(&self, w: usize, t: i64) -> Vec<(f64, &str)> {
        self.window_buckets(w, t)
            .values()
            .flatten()
            .map(|&(i, _, x)| (x, self.events[i].2.as_str()))
            .collect()
    }
    /// The value of `op` over window `w` at time `t`.
    pub fn value(&self, op: &Op, w: usize, t: i64) -> f64 {
        let buckets = self.window_buckets(w, t);
        let cap = |x: f64| self.cap.map_or(x, |m| x.min(m));
        if matches!(op, Op::CountDistinct) {
            let (len, fixed) = self.wins[w];
            let set: HashSet<&str> = self
                .events
                .iter()
                .filter(|(et, _, _)| {
                    if fixed {
                        et.div_euclid(len) == t.div_euclid(len)
                    } else {
                        let (eb, q) = (et.div_euclid(self.period), t.div_euclid(self.period));
                        eb <= q && q - eb < len / self.period
                    }
                })
                .map(|(_, _, k)| k.as_str())
                .collect();
            return cap(set.len() as f64);
        }
        // Per bucket: raw aggregates, capped (storey's max_value rule), then combined, capped.
        let (mut n, mut sum, mut sqr) = (0.0, 0.0, 0.0);
        let (mut mn, mut mx) = (f64::INFINITY, f64::NEG_INFINITY);
        type Pick = Option<(i64, usize, f64)>; // (time, arrival, value)
        let (mut first, mut last): (Pick, Pick) = (None, None);
        for evs in buckets.values() {
            n += cap(evs.len() as f64);
            sum += cap(evs.iter().map(|e| e.2).sum::<f64>());
            sqr += cap(evs.iter().map(|e| e.2 * e.2).sum::<f64>());
            mn = mn.min(cap(evs.iter().map(|e| e.2).fold(f64::INFINITY, f64::min)));
            mx = mx.max(cap(evs
                .iter()
                .map(|e| e.2)
                .fold(f64::NEG_INFINITY, f64::max)));
            for &(i, et, x) in evs {
                // first: smallest time, then earliest arrival; last: greatest time, then earliest arrival.
                if first.is_none_or(|(ft, fi, _)| (et, i) < (ft, fi)) {
                    first = Some((et, i, x));
                }
                if last.is_none_or(|(lt, li, _)| et > lt || (et == lt && i < li)) {
                    last = Some((et, i, x));
                }
            }
        }
        let (n, sum, sqr, mn, mx) = (cap(n), cap(sum), cap(sqr), cap(mn), cap(mx));
        let nan_if_empty = |x: f64| if n == 0.0 { f64::NAN } else { x };
        let var = if n <= 1.0 {
            f64::NAN
        } else {
            ((n * sqr - sum * sum) / (n * (n - 1.0))).max(0.0)
        };
        match op {
            Op::Count => n,
            Op::Sum => sum,
            Op::Sqr => sqr,
            Op::Min => nan_if_empty(mn),
            Op::Max => nan_if_empty(mx),
            Op::First => first.map_or(f64::NAN, |f| cap(f.2)),
            Op::Last => last.map_or(f64::NAN, |l| cap(l.2)),
            Op::Avg => nan_if_empty(sum / n),
            Op::StdVar => var,
            Op::StdDev => var.sqrt(),
            _ => unreachable!("sketch ops are checked separately"),
        }
    }
}

/// Float equality for features: NaN == NaN; relative tolerance `rel` with an absolute floor.
pub fn close(a: f64, b: f64, rel: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= rel * a.abs().max(b.abs()).max(1.0)
}

pub fn f(v: &Value) -> f64 {
    match v {
        Value::Float(x) => *x,
        other => panic!("feature is not a float: {other:?}"),
    }
}

// ---------- storey conformance cases ----------

pub fn case(name: &str) -> serde_json::Value {
    let path = format!(
        "{}/../../tests/data/storey/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    serde_json::from_str(&text).expect("case JSON")
}

/// The AggregateByKey step of a case.
pub fn step(c: &serde_json::Value) -> &serde_json::Value {
    c["pipeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step"] == "AggregateByKey")
        .expect("AggregateByKey step")
}

/// A storey aggregate as an AggregatorSpec, with its filter (`field == 'x'` / `field == true`).
pub fn spec_of(a: &serde_json::Value) -> (AggregatorSpec, Option<(String, serde_json::Value)>) {
    let w = &a["windows"];
    let windows: Vec<String> = w["windows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect();
    let windows = if w["type"] == "sliding" {
        WindowSpec::Sliding {
            windows,
            period: w["period"].as_str().map(Into::into),
        }
    } else {
        WindowSpec::Fixed { windows }
    };
    let filter = a["aggr_filter"].as_str().map(|f| {
        let (field, lit) = f
            .split_once(" == ")
            .expect("filter of the form `field == literal`");
        let lit = lit.trim();
        let lit = if lit == "true" {
            serde_json::Value::Bool(true)
        } else {
            serde_json::Value::String(lit.trim_matches('\'').into())
        };
        (field.trim().to_string(), lit)
    });
    let spec = AggregatorSpec {
        name: a["name"].as_str().unwrap().into(),
        field: a["field"].as_str().map(Into::into),
        expr: None,
        filter: None,
        ops: a["aggr"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o.as_str().unwrap().parse().unwrap())
            .collect(),
        windows,
        max_value: a["max_value"].as_f64(),
        late: LatePolicy::Accept,
    };
    (spec, filter)
}

pub fn json_value(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => n
            .as_i64()
            .map(Value::Int)
            .unwrap_or_else(|| Value::Float(n.as_f64().unwrap())),
        serde_json::Value::String(s) => Value::from(s.as_str()),
        other => panic!("unexpected body value {other}"),
    }
}

pub fn expected_float(v: &serde_json::Value) -> f64 {
    match v {
        serde_json::Value::String(s) if s == "NaN" => f64::NAN,
        serde_json::Value::String(s) if s == "Infinity" => f64::INFINITY,
        serde_json::Value::String(s) if s == "-Infinity" => f64::NEG_INFINITY,
        other => other
            .as_f64()
            .unwrap_or_else(|| panic!("not a number: {other}")),
    }
}

/// One emitted output of a case run.
#[derive(Debug, Clone)]
pub struct Out {
    pub key: String,
    pub time: i64,
    pub features: BTreeMap<String, f64>,
    /// Oracle values of the same features.
    pub oracle: BTreeMap<String, f64>,
    /// Update outcomes per aggregator (None: not offered, e.g. filtered out or field missing).
    pub outcomes: Vec<Option<Outcome>>,
}

/// Runs a case through Aggregations + Emitter and, in parallel, through the oracle.
pub fn run_case(c: &serde_json::Value) -> (Vec<Out>, Vec<Out>) {
    let st = step(c);
    let parsed: Vec<_> = st["aggregates"]
        .as_array()
        .unwrap()
        .iter()
        .map(spec_of)
        .collect();
    let specs: Vec<AggregatorSpec> = parsed.iter().map(|p| p.0.clone()).collect();
    let aggs = Aggregations::new(specs.clone()).unwrap();
    let policy = match st["emit_policy"]["type"].as_str().unwrap() {
        "EmitEveryEvent" => EmitPolicy::EveryEvent,
        "EmitAfterMaxEvent" => EmitPolicy::AfterMaxEvents {
            max_events: st["emit_policy"]["max_events"].as_u64().unwrap() as u32,
            timeout: None,
        },
        other => panic!("policy {other}"),
    };
    let mut emitter = Emitter::new(policy, &aggs).unwrap();
    let oracle_proto: Vec<Oracle> = specs
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let period = aggs.period(i).nanos();
            let fixed = matches!(s.windows, WindowSpec::Fixed { .. });
            let wins = s
                .windows
                .windows()
                .iter()
                .map(|w| (parse_duration(w).unwrap().nanos(), fixed))
                .collect();
            Oracle::new(period, wins, s.late, s.max_value)
        })
        .collect();
    let mut slots: HashMap<String, u32> = HashMap::new();
    let mut states = Vec::new();
    let mut oracles: Vec<Vec<Oracle>> = Vec::new();
    let mut last_outcomes: HashMap<u32, Vec<Option<Outcome>>> = HashMap::new();
    let mut outs = Vec::new();
    let read = |aggs: &Aggregations,
                state: &rill_agg::KeyState,
                orc: &[Oracle],
                key: &str,
                t: i64,
                outcomes: Vec<Option<Outcome>>| {
        let mut vals = Vec::new();
        aggs.features_at(state, Timestamp(t), &mut vals);
        let names = aggs.feature_names();
        let features = names
            .iter()
            .zip(&vals)
            .map(|(n, v)| (n.to_string(), f(v)))
            .collect();
        let mut oracle = BTreeMap::new();
        for (i, s) in specs.iter().enumerate() {
            for op in &s.ops {
                for (w, wt) in s.windows.windows().iter().enumerate() {
                    oracle.insert(
                        format!("{}_{}_{}", s.name, op.name(), wt),
                        orc[i].value(op, w, t),
                    );
                }
            }
        }
        Out {
            key: key.to_string(),
            time: t,
            features,
            oracle,
            outcomes,
        }
    };
    for e in c["input"].as_array().unwrap() {
        let key = e["key"].as_str().unwrap().to_string();
        let t = Timestamp::parse_iso(e["time"].as_str().unwrap())
            .unwrap()
            .nanos();
        let next = slots.len() as u32;
        let slot = *slots.entry(key.clone()).or_insert(next);
        if slot as usize == states.len() {
            states.push(aggs.new_state());
            oracles.push(oracle_proto.clone());
        }
        let body = &e["body"];
        let mut outcomes = Vec::new();
        for (i, (spec, filter)) in parsed.iter().enumerate() {
            let pass = filter.as_ref().is_none_or(|(fld, lit)| &body[fld] == lit);
            let field = spec.field.as_deref().unwrap();
            let raw = body.get(field);
            match (pass, raw) {
                (true, Some(raw)) => {
                    let v = json_value(raw);
                    let o = aggs.update(&mut states[slot as usize], i, Timestamp(t), &v);
                    match v.as_f64() {
                        Some(x) => {
                            oracles[slot as usize][i].offer(t, x, v.to_string());
                        }
                        None if v.is_null() => oracles[slot as usize][i].observe(t),
                        None => {
                            oracles[slot as usize][i].offer(t, 0.0, v.to_string());
                        }
                    }
                    outcomes.push(Some(o));
                }
                _ => {
                    aggs.advance_one(&mut states[slot as usize], i, Timestamp(t));
                    oracles[slot as usize][i].observe(t);
                    outcomes.push(None);
                }
            }
        }
        if emitter.on_event(slot, Timestamp(t)) {
            outs.push(read(
                &aggs,
                &states[slot as usize],
                &oracles[slot as usize],
                &key,
                t,
                outcomes.clone(),
            ));
        }
        last_outcomes.insert(slot, outcomes);
    }
    let mut drained = Vec::new();
    let mut ems: Vec<Emission> = Vec::new();
    emitter.drain_at_termination(&mut ems);
    for em in ems {
        let key = slots
            .iter()
            .find(|(_, s)| **s == em.slot)
            .unwrap()
            .0
            .clone();
        let s = em.slot as usize;
        drained.push(read(
            &aggs,
            &states[s],
            &oracles[s],
            &key,
            em.at.nanos(),
            last_outcomes[&em.slot].clone(),
        ));
    }
    (outs, drained)
}

/// Checks one case: every rill feature equals the oracle; and equals storey's expected value
/// except at the `(output index, feature)` places listed in `storey_wrong`, where rill must
/// differ from storey (the documented storey bug).
pub fn check_case(name: &str, storey_wrong: &[(usize, &str)]) -> Vec<Out> {
    let c = case(name);
    let (outs, _) = run_case(&c);
    let expected = c["expected"].as_array().unwrap();
    assert_eq!(outs.len(), expected.len(), "{name}: number of outputs");
    let mut seen_wrong = HashSet::new();
    for (i, (o, e)) in outs.iter().zip(expected).enumerate() {
        assert_eq!(o.key, e["key"].as_str().unwrap(), "{name}#{i}: key");
        for (feat, v) in &o.features {
            let want = o.oracle[feat];
            assert!(
                close(*v, want, 1e-9),
                "{name}#{i} {feat}: rill {v}, brute force {want}"
            );
            let listed = storey_wrong.contains(&(i, feat.as_str()));
            match e["body"].get(feat) {
                Some(sv) => {
                    let sv = expected_float(sv);
                    if listed {
                        assert!(
                            !close(*v, sv, 1e-9),
                            "{name}#{i} {feat}: listed as a storey bug but storey's {sv} matches"
                        );
                        seen_wrong.insert((i, feat.clone()));
                    } else {
                        assert!(
                            close(*v, sv, 1e-9),
                            "{name}#{i} {feat}: rill {v}, storey {sv}"
                        );
                    }
                }
                None => {
                    assert!(listed, "{name}#{i} {feat}: storey emitted no such feature");
                    seen_wrong.insert((i, feat.clone()));
                }
            }
        }
    }
    assert_eq!(
        seen_wrong.len(),
        storey_wrong.len(),
        "{name}: every listed storey bug must be exercised"
    );
    outs
}

/// A deterministic xorshift64 generator (the same stream on every run and machine).
pub fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    }
}
