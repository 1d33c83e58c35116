//! The brute-force reference behind `tests/sketch_reference.rs`: generated keyed events, the
//! pipeline of sketch aggregators run over them at two batch sizes, a model that keeps every
//! value and applies the documented bucket, lateness, retention and null rules, and the
//! comparison of rill's output with it (see that file's header for what is asserted).

use rill::Pipeline;
use serde_json::Value as J;
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;

pub const SEC: i64 = 1_000_000_000;
pub const MIN: i64 = 60 * SEC;
pub const HOUR: i64 = 60 * MIN;
/// Documented relative accuracy of quantiles.
pub const ALPHA: f64 = 0.01;
/// Standard error of approx_count_distinct (HyperLogLog, 4 096 registers): 1.04/√4096.
pub const HLL_SIGMA: f64 = 1.04 / 64.0;
/// Distinct values up to which approx_count_distinct is documented exact.
pub const HLL_EXACT: usize = 256;
/// Documented (docs/pipeline.md): a window's running HyperLogLog state that went past the
/// sparse limit stays an estimate when the window shrinks back to 256 distinct values or fewer,
/// until it empties or rebuilds from buckets holding at most 128 hashes in all (knowing the
/// exact count again would need the exact set, which the memory bound rules out). So the
/// reference allows the HyperLogLog bound for reads of such a window's running state (a read
/// in the key's newest bucket, or in its fixed window) that held more than 256 distinct values
/// since it was last empty; reads at other times (merged from the buckets) must be exact.
pub const TOLERATE_HLL_SHRINK_BUG: bool = true;

// ---------------------------------------------------------------------------------------------
// Events

/// A field's value in an input line.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    /// The field is absent from the line.
    Missing,
    Null,
    Int(i64),
    Float(f64),
    Str(String),
    Bool(bool),
}

impl Val {
    /// The JSON text of the value (`NaN`, `Infinity` as bare tokens, which rill's JSON lines
    /// reader accepts); `None` for a missing field.
    pub fn json(&self) -> Option<String> {
        Some(match self {
            Val::Missing => return None,
            Val::Null => "null".into(),
            Val::Int(i) => i.to_string(),
            Val::Float(f) if f.is_nan() => "NaN".into(),
            Val::Float(f) if *f == f64::INFINITY => "Infinity".into(),
            Val::Float(f) if *f == f64::NEG_INFINITY => "-Infinity".into(),
            Val::Float(f) => {
                let s = serde_json::to_string(f).unwrap();
                assert!(s.contains(['.', 'e', 'E']), "{s} would read as an int");
                s
            }
            Val::Str(s) => serde_json::to_string(s).unwrap(),
            Val::Bool(b) => b.to_string(),
        })
    }

    /// The value as an element of a distinct count: numbers by numeric value, strings by
    /// content, bools apart. `None` for values that are skipped (null, NaN, missing).
    pub fn distinct(&self) -> Option<DKey> {
        match self {
            Val::Missing | Val::Null => None,
            Val::Int(i) => Some(DKey::Int(*i as i128)),
            Val::Float(f) if f.is_nan() => None,
            // integral floats equal the integer of the same value (and -0.0 is 0)
            Val::Float(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e30 => {
                Some(DKey::Int(*f as i128))
            }
            Val::Float(f) => Some(DKey::Float(f.to_bits())),
            Val::Str(s) => Some(DKey::Str(s.clone())),
            Val::Bool(b) => Some(DKey::Bool(*b)),
        }
    }

    /// The number for numeric ops; `None` for skipped values (null, NaN, missing).
    pub fn number(&self) -> Option<f64> {
        match self {
            Val::Int(i) => Some(*i as f64),
            Val::Float(f) if !f.is_nan() => Some(*f),
            Val::Missing | Val::Null | Val::Float(_) => None,
            Val::Str(_) | Val::Bool(_) => panic!("only numbers go to numeric aggregators"),
        }
    }

    pub fn is_null_or_missing(&self) -> bool {
        matches!(self, Val::Missing | Val::Null)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DKey {
    Int(i128),
    Float(u64),
    Str(String),
    Bool(bool),
}

/// One input line.
#[derive(Debug, Clone)]
pub struct Ev {
    pub key: String,
    /// Event time, epoch seconds.
    pub t: i64,
    /// The numeric field (aggregators `v`, `vf`, `vs`).
    pub v: Val,
    /// The field of any kind (aggregator `tag`, counts only).
    pub tag: Val,
    /// The time `query_by_key` reads at, epoch seconds.
    pub qt: i64,
}

pub fn jsonl(events: &[Ev]) -> String {
    let mut s = String::new();
    for (i, e) in events.iter().enumerate() {
        write!(s, r#"{{"id":{i},"user":"{}","t":{}"#, e.key, e.t).unwrap();
        if let Some(v) = e.v.json() {
            write!(s, r#","v":{v}"#).unwrap();
        }
        if let Some(v) = e.tag.json() {
            write!(s, r#","tag":{v}"#).unwrap();
        }
        writeln!(s, r#","qt":{}}}"#, e.qt).unwrap();
    }
    s
}

// ---------------------------------------------------------------------------------------------
// The pipeline's aggregators, and their geometry as the docs define it

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    Count,
    CountDistinct,
    Approx,
    /// Quantile `num/den`, as written in its label.
    Q(u64, u64),
}

pub struct OpSpec {
    pub label: &'static str,
    pub op: Op,
}

pub const fn op(label: &'static str, op: Op) -> OpSpec {
    OpSpec { label, op }
}

pub struct Win {
    pub label: &'static str,
    /// Length in buckets.
    pub nb: i64,
    pub fixed: bool,
    /// Length in nanoseconds (for `last_closed`).
    pub len: i64,
}

pub struct Agg {
    pub name: &'static str,
    /// `true`: reads `v` (numbers), `false`: reads `tag` (anything).
    pub numeric: bool,
    /// Its `windows:` in the pipeline.
    pub yaml_windows: &'static str,
    /// Bucket length (ns), as the docs define it for `yaml_windows`.
    pub period: i64,
    pub wins: Vec<Win>,
    pub ops: &'static [OpSpec],
}

impl Agg {
    pub fn fixed(&self) -> bool {
        self.wins[0].fixed
    }
    /// Buckets retained behind the newest: `2·span − 1` sliding, `2·span` fixed.
    pub fn retained(&self) -> i64 {
        let span = self.wins.iter().map(|w| w.nb).max().unwrap();
        if self.fixed() {
            2 * span
        } else {
            2 * span - 1
        }
    }
    /// Its feature names, `<name>_<op>_<window>`.
    pub fn features(&self) -> Vec<String> {
        let mut out = Vec::new();
        for o in self.ops {
            for w in &self.wins {
                out.push(format!("{}_{}_{}", self.name, o.label, w.label));
            }
        }
        out
    }
}

// `v` asks approx_count_distinct without count_distinct: its HyperLogLog (sparse, then
// registers) is what is checked; beside count_distinct (the others) it is the exact count.
pub const V_OPS: &[OpSpec] = &[
    op("count", Op::Count),
    op("approx_count_distinct", Op::Approx),
    op("p0", Op::Q(0, 100)),
    op("p25", Op::Q(25, 100)),
    op("p50", Op::Q(50, 100)),
    op("p99", Op::Q(99, 100)),
    op("p99.9", Op::Q(999, 1000)),
    op("p100", Op::Q(100, 100)),
    op("quantile_0.95", Op::Q(95, 100)),
];
pub const VF_OPS: &[OpSpec] = &[
    op("count", Op::Count),
    op("count_distinct", Op::CountDistinct),
    op("approx_count_distinct", Op::Approx),
    op("p50", Op::Q(50, 100)),
    op("p99", Op::Q(99, 100)),
];
pub const VS_OPS: &[OpSpec] = &[
    op("count_distinct", Op::CountDistinct),
    op("approx_count_distinct", Op::Approx),
    op("p50", Op::Q(50, 100)),
    op("p100", Op::Q(100, 100)),
];
pub const TAG_OPS: &[OpSpec] = &[
    op("count", Op::Count),
    op("count_distinct", Op::CountDistinct),
    op("approx_count_distinct", Op::Approx),
];

pub fn aggregators() -> Vec<Agg> {
    let w = |label, nb, fixed, len| Win {
        label,
        nb,
        fixed,
        len,
    };
    vec![
        // 10-minute buckets: 6 per hour, 144 per day; 287 retained (47 h 50 m)
        Agg {
            name: "v",
            numeric: true,
            yaml_windows: "{sliding: [1h, 24h], period: 10m}",
            period: 10 * MIN,
            wins: vec![w("1h", 6, false, HOUR), w("24h", 144, false, 24 * HOUR)],
            ops: V_OPS,
        },
        // fixed windows tile by the gcd of their lengths (1 h); 48 buckets retained
        Agg {
            name: "vf",
            numeric: true,
            yaml_windows: "{fixed: [1h, 1d]}",
            period: HOUR,
            wins: vec![w("1h", 1, true, HOUR), w("1d", 24, true, 24 * HOUR)],
            ops: VF_OPS,
        },
        // short windows: 5 retained buckets, so many late events are older than that
        Agg {
            name: "vs",
            numeric: true,
            yaml_windows: "{sliding: [5m, 15m], period: 5m}",
            period: 5 * MIN,
            wins: vec![w("5m", 1, false, 5 * MIN), w("15m", 3, false, 15 * MIN)],
            ops: VS_OPS,
        },
        // the default period: half of one unit of the smallest window's unit (2h: 30m)
        Agg {
            name: "tag",
            numeric: false,
            yaml_windows: "{sliding: [2h, 6h]}",
            period: 30 * MIN,
            wins: vec![w("2h", 4, false, 2 * HOUR), w("6h", 12, false, 6 * HOUR)],
            ops: TAG_OPS,
        },
    ]
}

pub fn pipeline_yaml(aggs: &[Agg], input: &str, out: &str, batch: usize) -> String {
    let mut y = format!(
        "source: {{jsonl: {{path: \"{input}\", key: user, time: t, time_format: epoch_s}}}}\nsteps:\n  - aggregate_by_key:\n      table: f\n      aggregates:\n"
    );
    for a in aggs {
        let ops: Vec<&str> = a.ops.iter().map(|o| o.label).collect();
        writeln!(
            y,
            "        - {{name: {}, field: {}, ops: [{}], windows: {}}}",
            a.name,
            if a.numeric { "v" } else { "tag" },
            ops.join(", "),
            a.yaml_windows
        )
        .unwrap();
    }
    // every feature again at another time (`qt`), and the fixed ones in their last closed window
    let all: Vec<String> = aggs.iter().flat_map(|a| a.features()).collect();
    let fixed: Vec<String> = aggs
        .iter()
        .filter(|a| a.fixed())
        .flat_map(|a| a.features())
        .collect();
    let aliases = |names: &[String], prefix: &str| {
        names
            .iter()
            .map(|n| format!("{n}: {prefix}{n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    writeln!(
        y,
        "  - query_by_key: {{table: f, time: qt, time_format: epoch_s, features: [{}], aliases: {{{}}}}}",
        all.join(", "),
        aliases(&all, "q_")
    )
    .unwrap();
    writeln!(
        y,
        "  - query_by_key: {{table: f, fixed_window: last_closed, features: [{}], aliases: {{{}}}}}",
        fixed.join(", "),
        aliases(&fixed, "lc_")
    )
    .unwrap();
    writeln!(
        y,
        "targets: [{{jsonl: {{path: \"{out}\"}}}}]\nbatch_size: {batch}"
    )
    .unwrap();
    y
}

/// What one run gave: the output lines and the summary counters the test checks.
#[derive(Debug, PartialEq)]
pub struct Run {
    pub text: String,
    pub counters: Vec<(String, u64)>,
    pub records_read: u64,
}

pub fn run(aggs: &[Agg], events: &[Ev], batch: usize) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jsonl");
    let out = dir.path().join("out.jsonl");
    std::fs::write(&input, jsonl(events)).unwrap();
    let yaml = pipeline_yaml(
        aggs,
        &input.display().to_string(),
        &out.display().to_string(),
        batch,
    );
    let p = Pipeline::from_yaml(&yaml, "sketch_reference.yaml", &[])
        .unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    let outcome = p.run().unwrap_or_else(|e| panic!("{}\n{yaml}", e.error));
    let s = &outcome.summary;
    let mut counters = vec![
        ("late_events".to_string(), s.counter("late_events")),
        ("too_late".to_string(), s.counter("too_late")),
    ];
    for a in aggs {
        let name = format!("field_missing.{}", a.name);
        counters.push((name.clone(), s.counter(&name)));
    }
    Run {
        text: std::fs::read_to_string(&out).unwrap(),
        counters,
        records_read: s.records_read,
    }
}

// ---------------------------------------------------------------------------------------------
// The brute-force reference

/// One aggregator of one key: everything it was offered.
#[derive(Default)]
pub struct KeyAgg {
    /// Newest bucket of any event of the key (aggregated or not).
    pub newest: Option<i64>,
    /// Oldest bucket of a value offered (aggregated, or refused as too late).
    pub first: Option<i64>,
    /// Aggregated values by bucket: (number, distinct element).
    pub vals: BTreeMap<i64, Vec<(Option<f64>, DKey)>>,
    /// Per window: its running state (at the newest bucket) held more than 256 distinct values
    /// since it was last empty.
    pub held_many: Vec<bool>,
}

pub enum Offer {
    Skipped,
    Aggregated { late: bool },
    TooLate,
}

impl KeyAgg {
    pub fn offer(&mut self, a: &Agg, t: i64, v: &Val) -> Offer {
        let b = t.div_euclid(a.period);
        let newest = self.newest.map_or(b, |n| n.max(b));
        self.newest = Some(newest);
        let Some(d) = v.distinct() else {
            return Offer::Skipped;
        };
        let x = if a.numeric { v.number() } else { None };
        let late = b < newest;
        self.first = Some(self.first.map_or(b, |f| f.min(b)));
        if newest - b >= a.retained() {
            return Offer::TooLate;
        }
        self.vals.entry(b).or_default().push((x, d));
        Offer::Aggregated { late }
    }

    /// Updates `held_many` after an event (see [`TOLERATE_HLL_SHRINK_BUG`]).
    pub fn note_running(&mut self, a: &Agg) {
        self.held_many.resize(a.wins.len(), false);
        let newest = self.newest.expect("after an event") * a.period;
        for wi in 0..a.wins.len() {
            let w = self
                .window(a, wi, newest)
                .expect("the newest window is known");
            let distinct = w.iter().map(|v| &v.1).collect::<HashSet<_>>().len();
            if w.is_empty() {
                self.held_many[wi] = false;
            } else if distinct > HLL_EXACT {
                self.held_many[wi] = true;
            }
        }
    }

    /// Whether a read of window `wi` at time `t` is answered by the window's running state
    /// (docs: reads at another time than the key's newest bucket merge the buckets).
    pub fn running_read(&self, a: &Agg, wi: usize, t: i64) -> bool {
        let (q, n, nb) = (t.div_euclid(a.period), self.newest.unwrap(), a.wins[wi].nb);
        if a.wins[wi].fixed {
            q.div_euclid(nb) == n.div_euclid(nb)
        } else {
            q == n
        }
    }

    /// Window `wi` read at time `t` (ns): `None` when it is unknown (null), else its values.
    pub fn window(&self, a: &Agg, wi: usize, t: i64) -> Option<Vec<&(Option<f64>, DKey)>> {
        let w = &a.wins[wi];
        let q = t.div_euclid(a.period);
        let (lo, hi) = if w.fixed {
            let lo = q.div_euclid(w.nb) * w.nb;
            (lo, lo + w.nb - 1)
        } else {
            (q - w.nb + 1, q)
        };
        let newest = self.newest.expect("read after an event of the key");
        let horizon = newest - a.retained();
        let unknown = lo <= horizon && self.first.is_some_and(|f| f <= horizon && hi >= f);
        if unknown {
            return None;
        }
        Some(self.vals.range(lo..=hi).flat_map(|(_, v)| v).collect())
    }
}

/// The expected value of a feature.
#[derive(Debug, Clone, PartialEq)]
pub enum Want {
    /// `null`: the window cannot be computed exactly.
    Unknown,
    Exact(f64),
    /// approx_count_distinct beyond the exact range: the true count.
    Approx(f64),
    /// approx_count_distinct within the exact range, of a window tolerated by
    /// [`TOLERATE_HLL_SHRINK_BUG`]: the true count.
    ShrunkApprox(f64),
    /// A quantile: the true value of its rank (NaN: empty window), and the number of values.
    Quantile(f64, usize),
}

/// A window's values, prepared once for all ops read from it.
pub struct Window {
    pub count: usize,
    pub distinct: usize,
    /// The numbers, sorted.
    pub sorted: Vec<f64>,
}

impl Window {
    pub fn of(vals: &[&(Option<f64>, DKey)], numeric: bool) -> Window {
        let mut sorted: Vec<f64> = if numeric {
            vals.iter().map(|v| v.0.expect("a number")).collect()
        } else {
            Vec::new()
        };
        sorted.sort_by(f64::total_cmp);
        Window {
            count: vals.len(),
            distinct: vals.iter().map(|v| &v.1).collect::<HashSet<_>>().len(),
            sorted,
        }
    }

    pub fn want(&self, op: Op) -> Want {
        match op {
            Op::Count => Want::Exact(self.count as f64),
            Op::CountDistinct => Want::Exact(self.distinct as f64),
            Op::Approx if self.distinct <= HLL_EXACT => Want::Exact(self.distinct as f64),
            Op::Approx => Want::Approx(self.distinct as f64),
            Op::Q(_, _) if self.sorted.is_empty() => Want::Quantile(f64::NAN, 0),
            Op::Q(num, den) => {
                let n = self.sorted.len();
                // 0-based rank ⌊q·(n − 1)⌋, in integers
                let rank = (num * (n as u64 - 1) / den) as usize;
                Want::Quantile(self.sorted[rank], n)
            }
        }
    }
}

/// Parses an output line. The JSON lines target writes non-finite floats as the bare tokens
/// `NaN`, `Infinity`, `-Infinity` (as Python's `json` does); they are read here as strings.
pub fn parse_row(line: &str) -> J {
    let quoted = line
        .replace(":NaN", ":\"NaN\"")
        .replace(":-Infinity", ":\"-Infinity\"")
        .replace(":Infinity", ":\"Infinity\"");
    serde_json::from_str(&quoted).unwrap_or_else(|e| panic!("{e}: {line}"))
}

/// Checks an output value against the expectation; `Err` with the reason.
pub fn check(got: &J, want: &Want) -> Result<(), String> {
    let got = match got {
        J::Null => None,
        J::Number(n) => Some(n.as_f64().unwrap()),
        J::String(s) if s == "NaN" => Some(f64::NAN),
        J::String(s) if s == "Infinity" => Some(f64::INFINITY),
        J::String(s) if s == "-Infinity" => Some(f64::NEG_INFINITY),
        other => return Err(format!("not a feature value: {other}")),
    };
    let ok = match (want, got) {
        (Want::Unknown, None) => true,
        (Want::Unknown, Some(_)) | (_, None) => false,
        (Want::Exact(w), Some(g)) => *w == g,
        (Want::Approx(n) | Want::ShrunkApprox(n), Some(g)) => (g - n).abs() <= 4.0 * HLL_SIGMA * n,
        (Want::Quantile(w, _), Some(g)) if w.is_nan() => g.is_nan(),
        (Want::Quantile(w, _), Some(g)) if *w == 0.0 || w.is_infinite() => g == *w,
        (Want::Quantile(w, _), Some(g)) => (g - w).abs() <= ALPHA * w.abs() * (1.0 + 1e-9),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("rill gave {got:?}, want {want:?}"))
    }
}

/// Replays `events` through the reference and checks every feature of every output row;
/// returns the counters the run must report and the number of values checked per kind.
pub fn check_output(
    aggs: &[Agg],
    events: &[Ev],
    r: &Run,
    strict_hll: bool,
) -> Result<Stats, String> {
    let rows: Vec<J> = r.text.lines().map(parse_row).collect();
    if rows.len() != events.len() || r.records_read != events.len() as u64 {
        return Err(format!(
            "{} events in, {} read, {} rows out",
            events.len(),
            r.records_read,
            rows.len()
        ));
    }
    let mut keys: BTreeMap<&str, Vec<KeyAgg>> = BTreeMap::new();
    let mut stats = Stats::default();
    let mut counters: BTreeMap<String, u64> = BTreeMap::new();
    let mut errors = Vec::new();
    for (i, (e, row)) in events.iter().zip(&rows).enumerate() {
        if row["id"] != i {
            return Err(format!("row {i} is {row}"));
        }
        let state = keys
            .entry(&e.key)
            .or_insert_with(|| aggs.iter().map(|_| KeyAgg::default()).collect());
        let (t, qt) = (e.t * SEC, e.qt * SEC);
        for (a, st) in aggs.iter().zip(state.iter_mut()) {
            let v = if a.numeric { &e.v } else { &e.tag };
            if v.is_null_or_missing() {
                *counters
                    .entry(format!("field_missing.{}", a.name))
                    .or_default() += 1;
            }
            match st.offer(a, t, v) {
                Offer::Aggregated { late: true } => {
                    *counters.entry("late_events".into()).or_default() += 1
                }
                Offer::TooLate => *counters.entry("too_late".into()).or_default() += 1,
                _ => {}
            }
            st.note_running(a);
            // (output prefix, read time) of each read: the event's own features, the query at
            // `qt`, and (fixed windows) the query of the last closed window
            for wi in 0..a.wins.len() {
                let mut reads = vec![("", t), ("q_", qt)];
                if a.fixed() {
                    let w = a.wins[wi].len;
                    reads.push(("lc_", t.div_euclid(w) * w - 1));
                }
                for (prefix, at) in reads {
                    let win = st.window(a, wi, at).map(|v| Window::of(&v, a.numeric));
                    let shrunk = !strict_hll && st.held_many[wi] && st.running_read(a, wi, at);
                    for o in a.ops {
                        let w = match win.as_ref().map_or(Want::Unknown, |win| win.want(o.op)) {
                            Want::Exact(n) if shrunk && o.op == Op::Approx => Want::ShrunkApprox(n),
                            w => w,
                        };
                        stats.count(&w);
                        let field = format!("{prefix}{}_{}_{}", a.name, o.label, a.wins[wi].label);
                        if let Err(m) = check(&row[&field], &w) {
                            errors.push(format!(
                                "event {i} (key {}, t {}, read at {}s): {field}: {m}",
                                e.key,
                                e.t,
                                at.div_euclid(SEC)
                            ));
                        }
                    }
                }
            }
        }
    }
    let want_counters: Vec<(String, u64)> = r
        .counters
        .iter()
        .map(|(k, _)| (k.clone(), counters.get(k).copied().unwrap_or(0)))
        .collect();
    if want_counters != r.counters {
        errors.push(format!(
            "counters: rill {:?}, reference {want_counters:?}",
            r.counters
        ));
    }
    if errors.is_empty() {
        Ok(stats)
    } else {
        let n = errors.len();
        errors.truncate(20);
        Err(format!(
            "{n} mismatches, first ones:\n{}",
            errors.join("\n")
        ))
    }
}

/// How many reads of each kind were checked (so a test can demand its cases were reached).
#[derive(Debug, Default, Clone, Copy)]
pub struct Stats {
    pub unknown: usize,
    pub exact: usize,
    pub approx: usize,
    pub shrunk_approx: usize,
    pub quantiles: usize,
    pub empty_quantiles: usize,
}

impl Stats {
    pub fn count(&mut self, w: &Want) {
        match w {
            Want::Unknown => self.unknown += 1,
            Want::Exact(_) => self.exact += 1,
            Want::Approx(_) => self.approx += 1,
            Want::ShrunkApprox(_) => self.shrunk_approx += 1,
            Want::Quantile(_, 0) => self.empty_quantiles += 1,
            Want::Quantile(..) => self.quantiles += 1,
        }
    }
}

/// Runs at batch sizes 1 and 256 (outputs must be identical) and checks against the reference.
pub fn run_and_check(events: &[Ev], strict_hll: bool) -> Result<Stats, String> {
    let aggs = aggregators();
    let one = run(&aggs, events, 1);
    let many = run(&aggs, events, 256);
    if one != many {
        return Err("batch sizes 1 and 256 give different outputs".into());
    }
    check_output(&aggs, events, &one, strict_hll)
}
