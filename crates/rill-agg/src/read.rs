//! Reads of a [`KeyState`]: [`Aggregations::features_at`] and its variants.

use crate::engine::Aggregations;
use crate::geometry::*;
use crate::record::{self, with_layout};
use crate::sketch::AggSketch;
use crate::state::{Acc, KeyState, NONE};
use crate::Op;
use rill_core::{Timestamp, Value};

impl Aggregations {
    /// Appends one value per [`feature_names`](Self::feature_names) entry: every window
    /// evaluated at `time` (sliding: the bucket of `time` and the ones before it; fixed: the
    /// whole fixed window containing `time`), over all values aggregated so far, as
    /// `Value::Float`; or `Value::Null` when the window cannot be computed exactly: it reaches
    /// back before the buckets the key retains, and values that old were offered (e.g. the
    /// features of an event older than the retained span). Reads at the key's newest bucket use
    /// the running values, sketches included (O(1) per window, quantiles O(bins walked)); other
    /// times fold the window's non-empty buckets (sketch ops then allocate while merging).
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
        out.extend(xs.iter().map(|&x| wrap(x)));
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
        self.agg_features(st, agg, &self.plans[agg], time, &mut |x| out.push(wrap(x)))
    }

    /// [`features_at`](Self::features_at) writing plain `f64`s: `out[i]` is the value of
    /// `feature_names()[i]`. For callers that build float columns (Arrow, Parquet) or records,
    /// this skips the `Value` wrapping. Unknown values (`Value::Null` in `features_at`) are
    /// written as NaN. Panics if `out` is shorter than the feature list.
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
        } else if at_newest && p.cap.is_none() {
            // Sketch ops read their running state here too (the general path builds a fold
            // accumulator per window first: ~4× the instructions of these reads).
            let sk = &st.sketches[agg];
            with_layout!(p.bits, emit_running_sketches::<_>(p, w, sk, emit));
        } else {
            with_layout!(p.bits, emit_general::<_>(p, st, agg, time, emit));
        }
    }
}

/// Bits of the NaN that stands for an unknown value between the float path and `Value::Null`
/// (a quiet NaN with a payload no arithmetic produces here: it is only ever written, never
/// computed with).
const UNKNOWN_BITS: u64 = 0x7ff8_0000_dead_beef;
const UNKNOWN: f64 = f64::from_bits(UNKNOWN_BITS);

#[inline]
fn wrap(x: f64) -> Value {
    if x.to_bits() == UNKNOWN_BITS {
        Value::Null
    } else {
        Value::Float(x)
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

/// [`emit_running`] for an aggregator with sketch ops: those from their running windows.
#[inline]
fn emit_running_sketches<const B: u8, F: FnMut(f64)>(
    p: &AggPlan,
    w: &[u64],
    sk: &AggSketch,
    emit: &mut F,
) {
    for op in &p.ops {
        for wi in 0..p.wins.len() {
            emit(match op {
                Op::CountDistinct => sk.running(wi).distinct as f64,
                Op::ApproxCountDistinct => sk.running(wi).approx_count_distinct(),
                Op::Quantile(q) => sk.running(wi).quantile(q.rank),
                _ => record::value_of_rec::<B>(p, op, &w[p.run_at(wi)..]),
            });
        }
    }
}

/// Emits every feature of an aggregator at any time: running records where they answer,
/// folds of the window's buckets otherwise; sketches from their running state at the newest
/// bucket, merged from the buckets otherwise. Windows that are not fully known are `UNKNOWN`.
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
    let mut stack = [(Acc::EMPTY, true); STACK];
    let mut heap = Vec::new();
    let accs: &mut [(Acc, bool)] = if p.wins.len() <= STACK {
        &mut stack[..p.wins.len()]
    } else {
        heap.resize(p.wins.len(), (Acc::EMPTY, true));
        &mut heap
    };
    for (wi, win) in p.wins.iter().enumerate() {
        accs[wi] = if newest == NONE {
            (Acc::EMPTY, true)
        } else if p.cap.is_none() && win.running_valid(q, newest) {
            (record::load::<B>(p, &w[p.run_at(wi)..]), true)
        } else {
            let (lo, hi) = win.range(q);
            (
                record::fold::<B>(p, w, (lo, hi.min(newest)), p.cap),
                p.known(w, (lo, hi)),
            )
        };
    }
    let sk = &st.sketches;
    // Only reads away from the newest bucket merge (and allocate): the hot path builds nothing.
    let mut merges = Vec::new();
    if p.needs.sketches() && newest != NONE && p.wins.iter().any(|w| !w.running_valid(q, newest)) {
        let retained = newest - p.ring + 1;
        merges = p
            .wins
            .iter()
            .map(|win| {
                (!win.running_valid(q, newest)).then(|| {
                    let (lo, hi) = win.range(q);
                    sk[agg].merged(p, lo.max(retained), hi.min(newest))
                })
            })
            .collect();
    }
    for op in &p.ops {
        for (wi, (acc, known)) in accs.iter().enumerate() {
            if !known {
                emit(UNKNOWN);
                continue;
            }
            // Raw values come capped from the fold (max_value); derived ones are computed
            // from capped parts; sketch results are capped here.
            let sketch = |x: f64| match p.cap {
                Some(m) if x > m => m,
                _ => x,
            };
            let merged = merges.get(wi).and_then(Option::as_ref);
            emit(match op {
                Op::CountDistinct | Op::ApproxCountDistinct | Op::Quantile(_) if newest == NONE => {
                    match op {
                        Op::Quantile(_) => f64::NAN,
                        _ => 0.0,
                    }
                }
                Op::CountDistinct => sketch(match merged {
                    Some(m) => m.count_distinct(),
                    None => sk[agg].running(wi).distinct as f64,
                }),
                Op::ApproxCountDistinct => sketch(match merged {
                    Some(m) => m.approx_count_distinct(),
                    None => sk[agg].running(wi).approx_count_distinct(),
                }),
                Op::Quantile(qu) => sketch(match merged {
                    Some(m) => m.quantile(qu.rank),
                    None => sk[agg].running(wi).quantile(qu.rank),
                }),
                _ => record::value_of(op, acc),
            });
        }
    }
}
