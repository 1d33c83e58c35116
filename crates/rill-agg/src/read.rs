//! Reads of a [`KeyState`]: [`Aggregations::features_at`] and its variants.

use crate::engine::Aggregations;
use crate::geometry::*;
use crate::sketch::SketchMerge;
use crate::state::{Acc, KeyState, NONE};
use crate::Op;
use rill_core::{Timestamp, Value};

impl Aggregations {
    /// Appends one `Value::Float` per [`feature_names`](Self::feature_names) entry: every window
    /// evaluated at `time` (sliding: the bucket of `time` and the ones before it; fixed: the
    /// whole fixed window containing `time`), over all values aggregated so far. Reads at the
    /// key's newest bucket use the running values (O(1) per window); other times fold the
    /// window's non-empty buckets. Sketch ops allocate while merging their buckets' sketches.
    pub fn features_at(&self, st: &KeyState, time: Timestamp, out: &mut Vec<Value>) {
        out.reserve(self.names.len());
        for (agg, p) in self.plans.iter().enumerate() {
            self.agg_features(st, agg, p, time, |x| out.push(Value::Float(x)));
        }
    }

    /// [`features_at`](Self::features_at) for one aggregator (its [`feature_range`](Self::feature_range)).
    pub fn aggregator_features_at(
        &self,
        st: &KeyState,
        agg: usize,
        time: Timestamp,
        out: &mut Vec<Value>,
    ) {
        self.agg_features(st, agg, &self.plans[agg], time, |x| {
            out.push(Value::Float(x))
        })
    }

    /// [`features_at`](Self::features_at) writing plain `f64`s: `out[i]` is the value of
    /// `feature_names()[i]`. For callers that build columns (Arrow, Parquet) or records of
    /// floats, this skips the `Value` wrapping. Panics if `out` is shorter than the feature list.
    pub fn features_at_f64(&self, st: &KeyState, time: Timestamp, out: &mut [f64]) {
        let out = &mut out[..self.names.len()];
        let mut i = 0;
        for (agg, p) in self.plans.iter().enumerate() {
            self.agg_features(st, agg, p, time, |x| {
                out[i] = x;
                i += 1;
            });
        }
    }

    fn agg_features(
        &self,
        st: &KeyState,
        agg: usize,
        p: &AggPlan,
        time: Timestamp,
        mut emit: impl FnMut(f64),
    ) {
        let w = &st.words[..];
        let newest = p.newest(w);
        let q = time.0.div_euclid(p.period);
        const STACK: usize = 8;
        let mut stack = [Acc::EMPTY; STACK];
        let mut heap = Vec::new();
        let accs: &mut [Acc] = if p.wins.len() <= STACK {
            &mut stack[..p.wins.len()]
        } else {
            heap.resize(p.wins.len(), Acc::EMPTY);
            &mut heap
        };
        for (wi, win) in p.wins.iter().enumerate() {
            accs[wi] = if newest == NONE {
                Acc::EMPTY
            } else if p.cap.is_none() && win.running_valid(q, newest) {
                p.load(w, p.run_at(wi))
            } else {
                let (lo, hi) = win.range(q);
                p.fold(w, (lo, hi.min(newest)), p.cap)
            };
        }
        let mut merges: Vec<SketchMerge> = Vec::new();
        if p.needs.sketches() {
            merges = p
                .wins
                .iter()
                .map(|win| merge_sketches(st, agg, win.range(q)))
                .collect();
        }
        for op in &p.ops {
            for (wi, acc) in accs.iter().enumerate() {
                // Raw values come capped from the fold (max_value); derived ones are computed
                // from capped parts; sketch results are capped here.
                let sketch = |x: f64| match p.cap {
                    Some(m) if x > m => m,
                    _ => x,
                };
                emit(match op {
                    Op::CountDistinct => sketch(merges[wi].count_distinct()),
                    Op::ApproxCountDistinct => sketch(merges[wi].approx_count_distinct()),
                    Op::Quantile(qu) => sketch(merges[wi].quantile(qu.q)),
                    _ => value_of(op, acc),
                });
            }
        }
    }
}

/// Merges the sketches of the retained buckets in `[lo, hi]`.
fn merge_sketches(st: &KeyState, agg: usize, (lo, hi): (i64, i64)) -> SketchMerge<'_> {
    let mut m = SketchMerge::default();
    let list = &st.sketches[agg];
    let start = list.partition_point(|(b, _)| *b < lo);
    for (b, s) in list.range(start..) {
        if *b > hi {
            break;
        }
        m.add(s);
    }
    m
}

/// The feature value of a raw or derived op from a window aggregate; empty windows give 0 for
/// count/sum/sqr and NaN otherwise, whatever path produced the aggregate.
#[inline]
fn value_of(op: &Op, a: &Acc) -> f64 {
    let n = a.v[C_COUNT];
    let or_nan = |x: f64| if n == 0.0 { f64::NAN } else { x };
    match op {
        Op::Count => n,
        Op::Sum => {
            if n == 0.0 {
                0.0
            } else {
                a.v[C_SUM]
            }
        }
        Op::Sqr => {
            if n == 0.0 {
                0.0
            } else {
                a.v[C_SQR]
            }
        }
        Op::Min => or_nan(a.v[C_MIN]),
        Op::Max => or_nan(a.v[C_MAX]),
        Op::First => or_nan(a.v[C_FIRST]),
        Op::Last => or_nan(a.v[C_LAST]),
        Op::Avg => or_nan(a.v[C_SUM] / n),
        Op::StdVar => stdvar(n, a.v[C_SUM], a.v[C_SQR]),
        Op::StdDev => stdvar(n, a.v[C_SUM], a.v[C_SQR]).sqrt(),
        Op::CountDistinct | Op::ApproxCountDistinct | Op::Quantile(_) => f64::NAN,
    }
}

/// Sample variance, storey's formula; rounding can make it slightly negative: clamp to 0.
#[inline]
fn stdvar(n: f64, sum: f64, sqr: f64) -> f64 {
    if n <= 1.0 {
        return f64::NAN;
    }
    ((n * sqr - sum * sum) / (n * (n - 1.0))).max(0.0)
}
