//! Per-bucket sketches for count_distinct (exact set), approx_count_distinct (HyperLogLog++)
//! and quantiles (DDSketch). Allocated lazily: only buckets that received a value have one.
//! Windows are answered by merging the buckets' sketches at read time.

use hyperloglogplus::{HyperLogLog, HyperLogLogPlus};
use rill_core::{Str, Value};
use sketches_ddsketch::{Config, DDSketch};
use std::collections::HashSet;
use std::hash::BuildHasherDefault;

/// HLL precision: 2^12 registers, ~1.6 % standard error; HLL++ stays sparse for small buckets.
const HLL_PRECISION: u8 = 12;

/// Deterministic hasher (same estimate on every run and machine, unlike a random seed).
type Hasher = BuildHasherDefault<std::collections::hash_map::DefaultHasher>;
type Hll = HyperLogLogPlus<DistinctKey, Hasher>;

/// A value as an element of a distinct-count: numbers by numeric value (`1 == 1.0`, `-0.0 == 0`),
/// strings by content, bools and instants as their own kinds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum DistinctKey {
    Int(i64),
    Float(u64),
    Str(Str),
    Bool(bool),
    Time(i64),
}

impl DistinctKey {
    /// `None` for null/NaN (skipped) and lists/records (not hashable by value here).
    pub fn of(v: &Value) -> Option<DistinctKey> {
        Some(match v {
            Value::Int(i) => DistinctKey::Int(*i),
            Value::Float(f) if f.is_nan() => return None,
            Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => DistinctKey::Int(*f as i64),
            Value::Float(f) => DistinctKey::Float(f.to_bits()),
            Value::Str(s) => DistinctKey::Str(s.clone()),
            Value::Bool(b) => DistinctKey::Bool(*b),
            Value::Time(t) => DistinctKey::Time(t.0),
            Value::Null | Value::List(_) | Value::Record(_) => return None,
        })
    }
}

/// The sketches of one bucket; each part exists only if an op of the aggregator needs it.
#[derive(Default)]
pub(crate) struct SketchBucket {
    distinct: Option<HashSet<DistinctKey, ahash::RandomState>>,
    hll: Option<Hll>,
    quantile: Option<DDSketch>,
}

impl SketchBucket {
    /// Adds one value. `x` is the numeric view (quantiles), `key` the distinct view.
    pub fn add(&mut self, needs: crate::op::Needs, key: Option<&DistinctKey>, x: Option<f64>) {
        if let Some(k) = key {
            if needs.distinct {
                self.distinct
                    .get_or_insert_with(Default::default)
                    .insert(k.clone());
            }
            if needs.hll {
                let h = self.hll.get_or_insert_with(|| {
                    Hll::new(HLL_PRECISION, Hasher::default())
                        .expect("precision 12 is within 4..=18")
                });
                h.insert(k);
            }
        }
        if let (true, Some(x)) = (needs.quantile, x) {
            self.quantile
                .get_or_insert_with(|| DDSketch::new(Config::defaults()))
                .add(x);
        }
    }
}

/// Merges bucket sketches of one window and answers the sketch ops.
#[derive(Default)]
pub(crate) struct SketchMerge<'a> {
    distinct: Option<HashSet<&'a DistinctKey, ahash::RandomState>>,
    hll: Option<Hll>,
    quantile: Option<DDSketch>,
}

impl<'a> SketchMerge<'a> {
    pub fn add(&mut self, b: &'a SketchBucket) {
        if let Some(s) = &b.distinct {
            self.distinct
                .get_or_insert_with(Default::default)
                .extend(s.iter());
        }
        if let Some(h) = &b.hll {
            match &mut self.hll {
                // Same precision by construction, so merging cannot fail.
                Some(acc) => acc.merge(h).expect("same HLL precision"),
                None => self.hll = Some(h.clone()),
            }
        }
        if let Some(q) = &b.quantile {
            match &mut self.quantile {
                Some(acc) => acc.merge(q).expect("same DDSketch config"),
                None => self.quantile = Some(q.clone()),
            }
        }
    }
    pub fn count_distinct(&self) -> f64 {
        self.distinct.as_ref().map_or(0.0, |s| s.len() as f64)
    }
    pub fn approx_count_distinct(&mut self) -> f64 {
        self.hll.as_mut().map_or(0.0, |h| h.count().round())
    }
    /// NaN for an empty window.
    pub fn quantile(&self, q: f64) -> f64 {
        self.quantile
            .as_ref()
            .and_then(|s| s.quantile(q).ok().flatten())
            .unwrap_or(f64::NAN)
    }
}
