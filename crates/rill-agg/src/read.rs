//! Reads of a [`KeyState`]: [`Aggregations::features_at`] and its variants.

use crate::engine::Aggregations;
use crate::geometry::*;
use crate::record::{self, with_layout};
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
        // Computed as plain floats, then wrapped while extending `out` from an exact-size
        // iterator, which writes each `Value` straight into its slot. (Pushing each `Value` as
        // it was computed built it in a stack temporary; reloading that fresh store stalled on
        // store forwarding, once per feature.)
        const STACK: usize = 64;
        let n = self.names.len();
        let mut stack = [0.0f64; STACK];
        let mut heap = Vec::new();
        let xs: &mut [f64] = if n <= STACK {
            &mut stack[..n]
        } else {
            heap.resize(n, 0.0);
            &mut heap
        };
        self.features_at_f64(st, time, xs);
        out.extend(xs.iter().map(|&x| Value::Float(x)));
    }

    /// [`features_at`](Self::features_at) for one aggregator (its [`feature_range`](Self::feature_range)).
    pub fn aggregator_features_at(
        &self,
        st: &KeyState,
        agg: usize,
        time: Timestamp,
        out: &mut Vec<Value>,
    ) {
        out.reserve(self.feature_range(agg).len());
        self.agg_features(st, agg, &self.plans[agg], time, &mut |x| {
            out.push(Value::Float(x))
        })
    }

    /// [`features_at`](Self::features_at) writing plain `f64`s: `out[i]` is the value of
    /// `feature_names()[i]`. For callers that build float columns (Arrow, Parquet) or records,
    /// this skips the `Value` wrapping. Panics if `out` is shorter than the feature list.
    pub fn features_at_f64(&self, st: &KeyState, time: Timestamp, out: &mut [f64]) {
        let out = &mut out[..self.names.len()];
        for (agg, p) in self.plans.iter().enumerate() {
            let mut i = p.feature_off;
            self.agg_features(st, agg, p, time, &mut |x| {
                out[i] = x;
                i += 1;
            });
        }
    }

    #[inline]
    fn agg_features<F: FnMut(f64)>(
        &self,
        st: &KeyState,
        agg: usize,
        p: &AggPlan,
        time: Timestamp,
        emit: &mut F,
    ) {
        let w = &st.words[..];
        let n = p.newest(w);
        // Fast path: `time` is in the newest bucket (checked without a division), so every
        // window's running value is its value at `time`.
        let s = n.wrapping_mul(p.period);
        let at_newest =
            n != NONE && time.0 >= s && (time.0.wrapping_sub(s) as u64) < p.period as u64;
        if at_newest && p.cap.is_none() && !p.needs.sketches() {
            with_layout!(p.bits, emit_running::<_>(p, w, emit));
        } else {
            with_layout!(p.bits, emit_general::<_>(p, st, agg, time, emit));
        }
    }
}

/// Emits every feature of an aggregator from its running records.
#[inline]
fn emit_running<const B: u8, F: FnMut(f64)>(p: &AggPlan, w: &[u64], emit: &mut F) {
    for op in &p.ops {
        for wi in 0..p.wins.len() {
            emit(record::value_of_rec::<B>(p, op, &w[p.run_at(wi)..]));
        }
    }
}

/// Emits every feature of an aggregator at any time: running records where they answer,
/// folds of the window's buckets otherwise; sketches merged per window.
fn emit_general<const B: u8, F: FnMut(f64)>(
    p: &AggPlan,
    st: &KeyState,
    agg: usize,
    time: Timestamp,
    emit: &mut F,
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
            record::load::<B>(p, &w[p.run_at(wi)..])
        } else {
            let (lo, hi) = win.range(q);
            record::fold::<B>(p, w, (lo, hi.min(newest)), p.cap)
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
                _ => record::value_of(op, acc),
            });
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
