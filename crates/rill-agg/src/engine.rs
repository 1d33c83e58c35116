//! [`Aggregations`]: the compiled set of aggregators of one step (validation, feature names,
//! per-key state layout). Updates live in `update.rs`, reads in `read.rs`.

use crate::geometry::{self, *};
use crate::prefetch::prefetch_slice;
use crate::record;
use crate::sketch::{AggSketch, DistinctKey};
use crate::state::{Acc, KeyState, Region, NONE};
use crate::{AggregatorSpec, LatePolicy};
use rill_core::{Duration, Error, Str, Value};

/// What [`Aggregations::update`] did with a value. Everything that is not `Aggregated` tells the
/// caller why, so it can count it (nothing is lost silently).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Aggregated; `late` when its bucket was older than the key's newest bucket.
    Aggregated {
        /// The event was late (and accepted by [`LatePolicy::Accept`]).
        late: bool,
    },
    /// Late and not aggregated.
    Dropped(DropReason),
    /// Late under [`LatePolicy::SideOutput`]: not aggregated, route the event to the side output.
    SideOutput,
    /// Null (or NaN) value: not aggregated, like a missing field; the windows were still slid.
    Skipped,
    /// A value this aggregator cannot aggregate (e.g. a string for `sum`): not aggregated, the
    /// windows were still slid; the caller applies its error policy (fail or dead-letter).
    Invalid(&'static str),
}

/// Why a late event was not aggregated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// [`LatePolicy::Drop`].
    Policy,
    /// [`LatePolicy::Accept`], but its bucket is older than the buckets the key retains
    /// (`2·span − 1` buckets back from the newest for sliding windows, `2·span` for fixed ones,
    /// `span` being the largest window). Every window at the event's own time reaches back
    /// there, so reads at that time give unknown (null) features rather than values computed
    /// without it.
    TooLate,
}

/// The aggregators of one step, compiled: validated geometry, state layout, feature names.
#[derive(Debug, Clone)]
pub struct Aggregations {
    pub(crate) plans: Vec<AggPlan>,
    pub(crate) names: Vec<Str>,
    /// Words of the fixed part of a `KeyState` (headers, cursors, running records).
    pub(crate) fixed_len: usize,
    /// Some aggregator has a sketch op.
    pub(crate) any_sketch: bool,
    /// What an encoded state depends on, and its hash (see `schema.rs`).
    pub(crate) schema: String,
    pub(crate) fingerprint: u64,
}

/// A value classified for one aggregator.
pub(crate) enum Input {
    Ok(f64, Option<DistinctKey>),
    Skip,
    Bad(&'static str),
}

impl Aggregations {
    /// Validates the specs (unique names, durations, period divides every window, …) and
    /// precomputes geometry and the per-key state layout. Errors name the aggregator.
    pub fn new(specs: Vec<AggregatorSpec>) -> Result<Self, Error> {
        if specs.is_empty() {
            return Err(Error::config(
                "aggregate_by_key needs at least one aggregator",
            ));
        }
        let mut plans = Vec::with_capacity(specs.len());
        let mut names = Vec::new();
        for spec in &specs {
            if plans.iter().any(|p: &AggPlan| p.name == spec.name) {
                return Err(Error::config(format!(
                    "aggregator name '{}' is used twice",
                    spec.name
                )));
            }
            let mut p = geometry::plan(spec)?;
            p.feature_off = names.len();
            for op in &p.ops {
                for w in spec.windows.windows() {
                    names.push(Str::from(format!("{}_{}_{}", p.name, op.name(), w)));
                }
            }
            plans.push(p);
        }
        // Fixed part: per aggregator its header, cursors and running records, adjacent, so an
        // event touches few cache lines; the bucket regions follow (their size varies by key).
        let mut fixed_len = 0;
        for p in &mut plans {
            let raw = crate::record::layout_bits(&p.needs);
            for (c, o) in p.vcol.iter_mut().enumerate() {
                let kept = c == C_COUNT
                    || c == C_SUM && p.needs.sum
                    || c == C_SQR && p.needs.sqr
                    || c == C_MIN && p.needs.min
                    || c == C_MAX && p.needs.max
                    || (c == C_FIRST || c == T_FIRST) && p.needs.first
                    || (c == C_LAST || c == T_LAST) && p.needs.last;
                if kept {
                    *o = crate::record::const_off(raw, c) as u8;
                }
            }
            p.vlen = crate::record::const_len(raw);
            p.bits = if crate::record::SPECIALIZED.contains(&raw) {
                raw
            } else {
                crate::record::RT
            };
            p.hdr = fixed_len;
            p.run = p.hdr + crate::state::H_CURSORS + p.wins.len();
            fixed_len += p.fixed_words();
        }
        for (i, n) in names.iter().enumerate() {
            if names[..i].contains(n) {
                return Err(Error::config(format!(
                    "feature name '{n}' would be produced twice"
                )));
            }
        }
        let any_sketch = plans.iter().any(|p| p.needs.sketches());
        let schema = crate::schema::describe(&specs, &plans);
        let fingerprint = crate::schema::fingerprint(&schema);
        Ok(Aggregations {
            plans,
            names,
            fixed_len,
            any_sketch,
            schema,
            fingerprint,
        })
    }

    /// Feature names, `<name>_<op>_<window as written>` (e.g. `number_of_clicks_count_1h`),
    /// ordered per aggregator (as given), then per op (as given), then per window (as given).
    /// [`features_at`](Self::features_at) appends values in exactly this order.
    pub fn feature_names(&self) -> &[Str] {
        &self.names
    }

    /// Number of aggregators (valid `agg` indices are `0..len()`).
    pub fn len(&self) -> usize {
        self.plans.len()
    }

    /// Always false: [`Aggregations::new`] rejects an empty list.
    pub fn is_empty(&self) -> bool {
        self.plans.is_empty()
    }

    /// Name of aggregator `agg`.
    pub fn name(&self, agg: usize) -> &str {
        &self.plans[agg].name
    }

    /// Index range of aggregator `agg`'s features in [`feature_names`](Self::feature_names).
    pub fn feature_range(&self, agg: usize) -> std::ops::Range<usize> {
        let p = &self.plans[agg];
        p.feature_off..p.feature_off + p.ops.len() * p.wins.len()
    }

    /// Bucket length of aggregator `agg` (for fixed windows: the gcd of the window lengths).
    pub fn period(&self, agg: usize) -> Duration {
        Duration(self.plans[agg].period)
    }

    /// Span of aggregator `agg`: its largest window. Late events are accepted while their bucket
    /// is among the retained ones (about twice the span back; see [`DropReason::TooLate`]).
    pub fn span(&self, agg: usize) -> Duration {
        let p = &self.plans[agg];
        Duration(p.span * p.period)
    }

    /// Late policy of aggregator `agg`.
    pub fn late_policy(&self, agg: usize) -> LatePolicy {
        self.plans[agg].late
    }

    /// Smallest bucket period over all aggregators (the boundary of `after_period` emission).
    pub fn min_period(&self) -> Duration {
        Duration(self.plans.iter().map(|p| p.period).min().unwrap_or(1))
    }

    /// Smallest window over all aggregators (the boundary of `after_window` emission).
    pub fn min_window(&self) -> Duration {
        Duration(
            self.plans
                .iter()
                .flat_map(|p| p.wins.iter().map(move |w| w.nb * p.period))
                .min()
                .unwrap_or(1),
        )
    }

    /// Hints the CPU to start loading a key's state: the part every [`update`](Self::update) /
    /// [`features_at`](Self::features_at) reads (headers, cursors, running values) and the
    /// bucket entries a window slide reads, i.e. the whole state up to [`PREFETCH_MAX_WORDS`]
    /// (prefetching only the fixed part left each slide waiting on its entries, whose place is
    /// only known once the header has arrived). With many keys a state is rarely in cache; a
    /// caller processing a batch may call this a few events ahead to overlap those waits.
    /// The structs of the key's sketch state are loaded too (see
    /// [`prefetch_sketches`](Self::prefetch_sketches) for what they point to).
    #[inline]
    pub fn prefetch(&self, st: &KeyState) {
        prefetch_slice(&st.words[..PREFETCH_MAX_WORDS.min(st.words.len())]);
        for (sk, p) in st.sketches.iter().zip(&self.plans) {
            if p.needs.sketches() {
                prefetch_slice(std::slice::from_ref(sk));
            }
        }
    }

    /// Whether [`prefetch_sketches`](Self::prefetch_sketches) has anything to load.
    pub fn has_sketches(&self) -> bool {
        self.any_sketch
    }

    /// Sketch state is a tree (per aggregator its windows and buckets, which point to their
    /// histograms and value lists), so it is loaded in stages, each reading only what the stage
    /// before loaded: stage 0 the windows' and newest bucket's structs (after
    /// [`prefetch`](Self::prefetch) loaded the per-aggregator structs), stage 1 the histogram
    /// lines at each quantile's cursor and the newest bucket's lists. A caller calls the stages
    /// a few events apart, in order, to overlap the waits of the next events' keys.
    #[inline]
    pub fn prefetch_sketches(&self, st: &KeyState, stage: u8) {
        // only the aggregators with sketch ops: the others' (empty) structs would be read for
        // nothing, a few cache lines per event
        for (sk, p) in st.sketches.iter().zip(&self.plans) {
            if !p.needs.sketches() {
                continue;
            }
            match stage {
                0 => sk.prefetch_structs(),
                _ => sk.prefetch_data(),
            }
        }
    }

    /// Hints the CPU to start loading the handle of a key's state (the `KeyState` itself, which
    /// says where the state's words are), without reading it. A caller prefetching states ahead
    /// calls this further ahead than [`prefetch`](Self::prefetch), which must read the handle:
    /// with many keys, the vector of handles is not in cache either.
    #[inline]
    pub fn prefetch_handle(st: &KeyState) {
        prefetch_slice(std::slice::from_ref(st));
    }

    /// Fresh, empty state for one key: a few words per window plus, as buckets receive data,
    /// `1 + columns` words per non-empty bucket. Once a key's bucket regions have grown to its
    /// rate (a handful of re-layouts), updates never allocate, except sketch ops when a bucket
    /// or window meets a new distinct value or log bin, or a key opens buckets faster than it
    /// drops them (dropped buckets' sketch storage is reused).
    pub fn new_state(&self) -> KeyState {
        let mut words = vec![0u64; self.fixed_len];
        for p in &self.plans {
            p.set_newest(&mut words, NONE);
            words[p.hdr + crate::state::H_FIRST] = i64::MAX as u64;
            p.set_region(
                &mut words,
                Region {
                    off: self.fixed_len,
                    cap: 0,
                    start: 0,
                    len: 0,
                },
            );
            for w in 0..p.wins.len() {
                let at = p.run_at(w);
                record::store::<{ record::RT }>(p, &mut words[at..], &Acc::EMPTY);
            }
        }
        let sketches: Box<[AggSketch]> = if self.any_sketch {
            self.plans
                .iter()
                .map(|p| {
                    if p.needs.sketches() {
                        AggSketch::new(p.wins.len())
                    } else {
                        AggSketch::default()
                    }
                })
                .collect()
        } else {
            Box::new([])
        };
        KeyState {
            words: words.into(),
            sketches,
        }
    }

    pub(crate) fn classify(p: &AggPlan, v: &Value) -> Input {
        if v.is_null() {
            return Input::Skip;
        }
        let key = if p.needs.distinct || p.needs.hll {
            match DistinctKey::of(v) {
                Some(k) => Some(k),
                None if matches!(v, Value::Float(f) if f.is_nan()) => return Input::Skip,
                None => return Input::Bad("value cannot be counted distinctly (list or record)"),
            }
        } else {
            None
        };
        if p.numeric {
            match v.as_f64() {
                Some(x) if x.is_nan() => Input::Skip,
                Some(x) => Input::Ok(x, key),
                None => Input::Bad("value is not a number"),
            }
        } else {
            // count / count_distinct count any non-null value (storey counts string fields too).
            Input::Ok(0.0, key)
        }
    }
}

/// Most words of a key's state [`Aggregations::prefetch`] asks for (64 cache lines): bounds
/// the hint for keys with very many non-empty buckets.
pub const PREFETCH_MAX_WORDS: usize = 512;

#[cfg(test)]
mod tests {
    use super::*;
    use rill_core::Timestamp;

    fn aggs(json: &str) -> Aggregations {
        Aggregations::new(serde_json::from_str(json).unwrap()).unwrap()
    }
    const T0: i64 = 1_595_367_600_000_000_000;
    const MIN: i64 = 60_000_000_000;

    #[test]
    fn feature_order_and_config_errors() {
        let a = aggs(
            r#"[{"name":"x","ops":["sum","count"],"windows":{"sliding":["1h","2h"],"period":"10m"}},
                         {"name":"y","ops":["p99"],"windows":{"fixed":["1d"]}}]"#,
        );
        assert_eq!(
            a.feature_names(),
            [
                "x_sum_1h",
                "x_sum_2h",
                "x_count_1h",
                "x_count_2h",
                "y_p99_1d"
            ]
        );
        assert_eq!(a.feature_range(1), 4..5);
        let dup = r#"[{"name":"x","ops":["sum"],"windows":{"fixed":["1h"]}},{"name":"x","ops":["count"],"windows":{"fixed":["1h"]}}]"#;
        assert!(Aggregations::new(serde_json::from_str(dup).unwrap())
            .unwrap_err()
            .to_string()
            .contains("'x'"));
    }

    #[test]
    fn sketches_and_invalid_values() {
        let a = aggs(
            r#"[{"name":"s","ops":["count_distinct","approx_count_distinct","p50","p99"],"windows":{"sliding":["1h"],"period":"10m"}}]"#,
        );
        let mut st = a.new_state();
        for i in 0..1000i64 {
            let o = a.update(
                &mut st,
                0,
                Timestamp(T0 + i * 1_000_000_000),
                &Value::Int(i % 500 + 1),
            );
            assert_eq!(o, Outcome::Aggregated { late: false });
        }
        assert_eq!(
            a.update(&mut st, 0, Timestamp(T0), &Value::from("x")),
            Outcome::Invalid("value is not a number")
        );
        let mut out = Vec::new();
        a.features_at(&st, Timestamp(T0 + 1000 * 1_000_000_000), &mut out);
        let v: Vec<f64> = out.iter().map(|v| v.as_f64().unwrap()).collect();
        assert_eq!(v[0], 500.0);
        assert!(
            (v[1] - 500.0).abs() < 500.0 * 0.05,
            "approx distinct {}",
            v[1]
        );
        assert!((v[2] - 250.0).abs() < 250.0 * 0.03, "p50 {}", v[2]);
        assert!((v[3] - 495.0).abs() < 495.0 * 0.03, "p99 {}", v[3]);
        // Two hours later the window is empty: 0 distinct, NaN quantile.
        out.clear();
        a.features_at(&st, Timestamp(T0 + 120 * MIN), &mut out);
        assert_eq!(out[0], Value::Float(0.0));
        assert!(out[2].as_f64().unwrap().is_nan());
        // count_distinct over strings: counts any hashable value.
        let c =
            aggs(r#"[{"name":"c","ops":["count","count_distinct"],"windows":{"fixed":["1h"]}}]"#);
        let mut st = c.new_state();
        for s in ["a", "b", "a"] {
            c.update(&mut st, 0, Timestamp(T0), &Value::from(s));
        }
        assert_eq!(
            c.update(&mut st, 0, Timestamp(T0), &Value::List(vec![])),
            Outcome::Invalid("value cannot be counted distinctly (list or record)")
        );
        out.clear();
        c.features_at(&st, Timestamp(T0), &mut out);
        assert_eq!(out, [Value::Float(3.0), Value::Float(2.0)]);
    }

    #[test]
    fn running_sums_survive_cancellation() {
        // A huge value entering and leaving the window must not wipe out the small ones.
        let a = aggs(
            r#"[{"name":"s","ops":["sum","stddev"],"windows":{"sliding":["20m"],"period":"10m"}}]"#,
        );
        let mut st = a.new_state();
        a.update(&mut st, 0, Timestamp(T0), &Value::Float(1e20));
        a.update(&mut st, 0, Timestamp(T0 + 10 * MIN), &Value::Float(0.1));
        a.update(&mut st, 0, Timestamp(T0 + 10 * MIN), &Value::Float(0.2));
        a.update(&mut st, 0, Timestamp(T0 + 20 * MIN), &Value::Float(0.3));
        let mut out = Vec::new();
        a.features_at(&st, Timestamp(T0 + 20 * MIN), &mut out);
        assert!(
            (out[0].as_f64().unwrap() - 0.6).abs() < 1e-12,
            "{:?}",
            out[0]
        );
        assert!(
            (out[1].as_f64().unwrap() - 0.1).abs() < 1e-9,
            "{:?}",
            out[1]
        );
    }

    #[test]
    fn max_value_caps_floats() {
        let a = aggs(
            r#"[{"name":"m","ops":["count","sum","max"],"windows":{"sliding":["1h"],"period":"10m"},"max_value":5}]"#,
        );
        let mut st = a.new_state();
        for x in [3, 4, 9] {
            a.update(&mut st, 0, Timestamp(T0), &Value::Int(x));
        }
        let mut out = Vec::new();
        a.features_at(&st, Timestamp(T0), &mut out);
        assert_eq!(
            out,
            [Value::Float(3.0), Value::Float(5.0), Value::Float(5.0)]
        );
    }

    #[test]
    fn late_policies() {
        let mk = |late: &str| {
            aggs(&format!(
                r#"[{{"name":"l","ops":["count"],"windows":{{"sliding":["1h"],"period":"10m"}},"late":"{late}"}}]"#
            ))
        };
        for (late, want) in [
            ("drop", Outcome::Dropped(DropReason::Policy)),
            ("side_output", Outcome::SideOutput),
        ] {
            let a = mk(late);
            let mut st = a.new_state();
            a.update(&mut st, 0, Timestamp(T0 + 30 * MIN), &Value::Int(1));
            assert_eq!(a.update(&mut st, 0, Timestamp(T0), &Value::Int(1)), want);
            assert_eq!(
                a.update(&mut st, 0, Timestamp(T0 + 31 * MIN), &Value::Int(1)),
                Outcome::Aggregated { late: false }
            );
        }
        // Accepted while its bucket is retained: 2·6 − 1 = 11 buckets of 10m back from the newest.
        let a = mk("accept");
        let mut st = a.new_state();
        a.update(&mut st, 0, Timestamp(T0 + 60 * MIN), &Value::Int(1));
        assert_eq!(
            a.update(&mut st, 0, Timestamp(T0 + 10 * MIN), &Value::Int(1)),
            Outcome::Aggregated { late: true }
        );
        assert_eq!(
            a.update(&mut st, 0, Timestamp(T0 - 40 * MIN), &Value::Int(1)),
            Outcome::Aggregated { late: true },
            "10 buckets back: outside every window at the newest bucket, still retained"
        );
        assert_eq!(
            a.update(&mut st, 0, Timestamp(T0 - 50 * MIN), &Value::Int(1)),
            Outcome::Dropped(DropReason::TooLate)
        );
        let mut out = Vec::new();
        // The refused event's own window reaches before the retained buckets: unknown.
        a.features_at(&st, Timestamp(T0 - 50 * MIN), &mut out);
        assert_eq!(out, [Value::Null]);
        // The accepted one 10 buckets back: the refused event is in its window, so unknown too.
        out.clear();
        a.features_at(&st, Timestamp(T0 - 40 * MIN), &mut out);
        assert_eq!(out, [Value::Null]);
        out.clear();
        a.features_at(&st, Timestamp(T0 + 10 * MIN), &mut out);
        assert_eq!(
            out,
            [Value::Float(2.0)],
            "buckets −4..1: T0 − 40m and T0 + 10m"
        );
        out.clear();
        a.features_at(&st, Timestamp(T0 + 60 * MIN), &mut out);
        assert_eq!(out, [Value::Float(2.0)]);
    }
}
