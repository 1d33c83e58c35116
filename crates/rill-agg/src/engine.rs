//! [`Aggregations`]: the compiled set of aggregators of one step, and the update / advance /
//! read operations on a [`KeyState`].

use crate::geometry::{self, *};
use crate::sketch::{DistinctKey, SketchBucket, SketchMerge};
use crate::state::{Acc, Hdr, KeyState, EMPTY, EMPTY_T, NONE};
use crate::{AggregatorSpec, LatePolicy, Op};
use rill_core::{Duration, Error, Str, Timestamp, Value};

/// When a subtraction or addition leaves a running sum smaller than this fraction of the value
/// removed/added, most significant bits cancelled: rebuild the running value from the buckets
/// so that float rounding cannot accumulate (e.g. a 1e20 entering and leaving the window).
const CANCEL: f64 = 1e-6;

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
    /// Its bucket is outside the key's span (the largest window at the key's newest time).
    TooLate,
}

/// The aggregators of one step, compiled: validated geometry, state layout, feature names.
#[derive(Debug, Clone)]
pub struct Aggregations {
    plans: Vec<AggPlan>,
    names: Vec<Str>,
    data_len: usize,
    times_len: usize,
    occ_len: usize,
    /// Length of the running-value region at the start of `KeyState::data`.
    run_len: usize,
}

/// A value classified for one aggregator.
enum Input {
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
        let (mut data_len, mut times_len) = (0usize, 0usize);
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
        // Running blocks of all aggregators first (adjacent: one read touches few cache lines),
        // then the bucket rings; times likewise.
        for p in &mut plans {
            p.run = data_len;
            data_len += RUN_STRIDE * p.wins.len();
            p.trun = times_len;
            times_len += 2 * p.wins.len();
        }
        let run_len = data_len;
        let mut occ_len = 0;
        for p in &mut plans {
            let n = p.needs;
            let kept = [true, n.sum, n.sqr, n.min, n.max, n.first, n.last];
            p.stride = kept.iter().filter(|k| **k).count();
            let mut i = 0;
            for (c, k) in kept.iter().enumerate() {
                if *k {
                    p.col[c] = data_len + i;
                    i += 1;
                }
            }
            data_len += p.ring * p.stride;
            p.tstride = n.first as usize + n.last as usize;
            let mut i = 0;
            for (c, k) in [n.first, n.last].iter().enumerate() {
                if *k {
                    p.tcol[c] = times_len + i;
                    i += 1;
                }
            }
            times_len += p.ring * p.tstride;
            p.occ = occ_len;
            occ_len += p.ring.div_ceil(64);
        }
        for (i, n) in names.iter().enumerate() {
            if names[..i].contains(n) {
                return Err(Error::config(format!(
                    "feature name '{n}' would be produced twice"
                )));
            }
        }
        Ok(Aggregations {
            plans,
            names,
            data_len,
            times_len,
            occ_len,
            run_len,
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

    /// Late-event span of aggregator `agg`: its largest window.
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

    /// Hints the CPU to start loading the parts of a key's state that the next
    /// [`update`](Self::update) / [`features_at`](Self::features_at) read first (ring headers,
    /// occupancy bits, running values). With many keys a state is rarely in cache, so the hot
    /// path waits on memory; a caller processing a batch calls this a few events ahead
    /// (e.g. for event `i + 4` while handling event `i`) to overlap those waits.
    #[inline]
    pub fn prefetch(&self, st: &KeyState) {
        prefetch_slice(&st.hdr);
        prefetch_slice(&st.occ);
        prefetch_slice(&st.data[..self.run_len.min(st.data.len())]);
    }

    /// Fresh, empty state for one key. Its size is fixed (rings of `2·span/period − 1` buckets
    /// per aggregator), so updates never allocate except for sketch ops' per-bucket sketches.
    pub fn new_state(&self) -> KeyState {
        let mut data = vec![0.0; self.data_len];
        let mut times = vec![0i64; self.times_len];
        let mut sketches = Vec::with_capacity(self.plans.len());
        for p in &self.plans {
            for pos in 0..p.ring {
                for (c, o) in p.col.iter().enumerate() {
                    if *o != usize::MAX {
                        data[o + pos * p.stride] = EMPTY[c];
                    }
                }
                for (c, o) in p.tcol.iter().enumerate() {
                    if *o != usize::MAX {
                        times[o + pos * p.tstride] = EMPTY_T[c];
                    }
                }
            }
            for w in 0..p.wins.len() {
                p.set_running(&mut data, &mut times, w, &Acc::EMPTY);
            }
            let ring: Box<[Option<Box<SketchBucket>>]> = if p.needs.sketches() {
                (0..p.ring).map(|_| None).collect()
            } else {
                Box::new([])
            };
            sketches.push(ring);
        }
        KeyState {
            hdr: vec![
                Hdr {
                    newest: NONE,
                    head: 0
                };
                self.plans.len()
            ]
            .into(),
            occ: vec![0u64; self.occ_len].into(),
            data: data.into(),
            times: times.into(),
            sketches: sketches.into(),
        }
    }

    fn classify(p: &AggPlan, v: &Value) -> Input {
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

    /// Aggregates `value` at event time `time` into aggregator `agg` of one key.
    ///
    /// A newer bucket first slides the windows. A late event (bucket older than the key's newest)
    /// follows the aggregator's [`LatePolicy`]; an accepted one goes into its own bucket and into
    /// every running window value that covers that bucket, so nothing drifts. Null/NaN values
    /// are [`Outcome::Skipped`], values of the wrong type [`Outcome::Invalid`]; both still slide
    /// the windows like [`advance`](Self::advance). Panics only if `agg` is out of range.
    pub fn update(&self, st: &mut KeyState, agg: usize, time: Timestamp, value: &Value) -> Outcome {
        let p = &self.plans[agg];
        let b = time.0.div_euclid(p.period);
        let input = Self::classify(p, value);
        let n = st.hdr[agg].newest;
        if n == NONE || b > n {
            self.slide(p, st, agg, b);
        }
        let (x, key) = match input {
            Input::Ok(x, k) => (x, k),
            Input::Skip => return Outcome::Skipped,
            Input::Bad(r) => return Outcome::Invalid(r),
        };
        let h = st.hdr[agg];
        let late = b < h.newest;
        if late {
            match p.late {
                LatePolicy::Drop => return Outcome::Dropped(DropReason::Policy),
                LatePolicy::SideOutput => return Outcome::SideOutput,
                LatePolicy::Accept if h.newest - b >= p.span => {
                    return Outcome::Dropped(DropReason::TooLate)
                }
                LatePolicy::Accept => {}
            }
        }
        let pos = p.pos(h, b);
        let (data, times) = (&mut st.data[..], &mut st.times[..]);
        p.add_to_bucket(&mut st.occ, data, times, pos, x, time.0);
        if p.needs.sketches() {
            st.sketches[agg][pos].get_or_insert_with(Box::default).add(
                p.needs,
                key.as_ref(),
                Some(x).filter(|_| p.numeric),
            );
        }
        let nd = &p.needs;
        for (w, win) in p.wins.iter().enumerate() {
            if late && !win.contains_at(b, h.newest) {
                continue;
            }
            let r = p.run_at(w);
            let run = &mut data[r..r + RUN_STRIDE];
            run[C_COUNT] += 1.0;
            let mut cancelled = false;
            if nd.sum {
                run[C_SUM] += x;
                cancelled |= run[C_SUM].abs() < CANCEL * x.abs();
            }
            if nd.sqr {
                run[C_SQR] += x * x;
            }
            if nd.min {
                run[C_MIN] = run[C_MIN].min(x);
            }
            if nd.max {
                run[C_MAX] = run[C_MAX].max(x);
            }
            let tr = p.trun + 2 * w;
            if nd.first && time.0 < times[tr] {
                times[tr] = time.0;
                run[C_FIRST] = x;
            }
            if nd.last && time.0 > times[tr + 1] {
                times[tr + 1] = time.0;
                run[C_LAST] = x;
            }
            if cancelled {
                self.rebuild(p, &st.occ, st_parts(data, times), h, w);
            }
        }
        Outcome::Aggregated { late }
    }

    /// Slides every aggregator of the key to `time` without aggregating anything: for an event
    /// that no aggregator (or only some) aggregates, so features read at `time` are fresh
    /// (storey's bug 5). A time not newer than an aggregator's newest bucket changes nothing.
    pub fn advance(&self, st: &mut KeyState, time: Timestamp) {
        for agg in 0..self.plans.len() {
            self.advance_one(st, agg, time);
        }
    }

    /// [`advance`](Self::advance) for one aggregator.
    pub fn advance_one(&self, st: &mut KeyState, agg: usize, time: Timestamp) {
        let p = &self.plans[agg];
        let b = time.0.div_euclid(p.period);
        let n = st.hdr[agg].newest;
        if n == NONE || b > n {
            self.slide(p, st, agg, b);
        }
    }

    /// Moves aggregator `agg`'s newest bucket forward to `m`: evicts leaving buckets from the
    /// running values (count/sum/sqr by subtraction; min/max/first/last by rebuilding from the
    /// buckets only when the evicted bucket held the current extreme), then clears the ring
    /// slots the new buckets reuse.
    fn slide(&self, p: &AggPlan, st: &mut KeyState, agg: usize, m: i64) {
        let h = st.hdr[agg];
        if h.newest == NONE {
            st.hdr[agg] = Hdr { newest: m, head: 0 };
            return;
        }
        let n = h.newest;
        let k = m - n;
        let (occ, data, times) = (&mut st.occ[..], &mut st.data[..], &mut st.times[..]);
        let mut dirty: u64 = 0;
        for (w, win) in p.wins.iter().enumerate() {
            if win.fixed {
                if m.div_euclid(win.nb) != n.div_euclid(win.nb) {
                    // A new fixed window: the buckets after `n` are all empty.
                    p.set_running(data, times, w, &Acc::EMPTY);
                }
                continue;
            }
            if k >= win.nb || data[p.run_at(w) + C_COUNT] == 0.0 {
                // Everything leaves, or nothing is there to leave.
                p.set_running(data, times, w, &Acc::EMPTY);
                continue;
            }
            let mut run = p.running(data, times, w);
            let mut rebuild = false;
            for b in (n - win.nb + 1)..=(m - win.nb) {
                let pos = p.pos(h, b);
                if !p.occupied(occ, pos) {
                    continue;
                }
                let bk = p.bucket(data, times, pos);
                run.v[C_COUNT] -= bk.v[C_COUNT];
                run.v[C_SUM] -= bk.v[C_SUM];
                run.v[C_SQR] -= bk.v[C_SQR];
                // Unused columns hold their empty values in both, so each test is gated.
                let nd = &p.needs;
                rebuild |= (nd.sum & (run.v[C_SUM].abs() < CANCEL * bk.v[C_SUM].abs()))
                    | (nd.sqr & (run.v[C_SQR].abs() < CANCEL * bk.v[C_SQR]))
                    | (nd.min & (bk.v[C_MIN] <= run.v[C_MIN]))
                    | (nd.max & (bk.v[C_MAX] >= run.v[C_MAX]))
                    | (nd.first & (bk.t[0] == run.t[0]))
                    | (nd.last & (bk.t[1] == run.t[1]));
            }
            if run.v[C_COUNT] == 0.0 {
                run = Acc::EMPTY; // exact reset: no rounding residue in an empty window
            } else if rebuild {
                dirty |= 1 << w;
            }
            p.set_running(data, times, w, &run);
        }
        let sk = &mut st.sketches[agg];
        if k as u64 >= p.ring as u64 {
            for pos in 0..p.ring {
                p.clear_bucket(occ, data, times, sk, pos);
            }
        } else {
            let mut pos = h.head as usize;
            for _ in 0..k {
                pos += 1;
                if pos == p.ring {
                    pos = 0;
                }
                p.clear_bucket(occ, data, times, sk, pos);
            }
        }
        let head = ((h.head as u64 + (k as u64 % p.ring as u64)) % p.ring as u64) as u32;
        let nh = Hdr { newest: m, head };
        st.hdr[agg] = nh;
        while dirty != 0 {
            let w = dirty.trailing_zeros() as usize;
            dirty &= dirty - 1;
            self.rebuild(p, occ, st_parts(data, times), nh, w);
        }
    }

    /// Recomputes window `w`'s running value at the newest bucket from the buckets.
    fn rebuild(
        &self,
        p: &AggPlan,
        occ: &[u64],
        (data, times): (&mut [f64], &mut [i64]),
        h: Hdr,
        w: usize,
    ) {
        let (lo, _) = p.wins[w].range(h.newest);
        let acc = p.fold(h, occ, data, times, (lo, h.newest), None);
        p.set_running(data, times, w, &acc);
    }

    /// Appends one `Value::Float` per [`feature_names`](Self::feature_names) entry: every window
    /// evaluated at `time` (sliding: the bucket of `time` and the ones before it; fixed: the
    /// whole fixed window containing `time`), over all values aggregated so far. Reads at the
    /// key's newest bucket use the running values (O(1) per window); other times fold buckets.
    pub fn features_at(&self, st: &KeyState, time: Timestamp, out: &mut Vec<Value>) {
        out.reserve(self.names.len());
        for (agg, p) in self.plans.iter().enumerate() {
            self.agg_features_at(st, agg, p, time, out);
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
        self.agg_features_at(st, agg, &self.plans[agg], time, out)
    }

    fn agg_features_at(
        &self,
        st: &KeyState,
        agg: usize,
        p: &AggPlan,
        time: Timestamp,
        out: &mut Vec<Value>,
    ) {
        let h = st.hdr[agg];
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
        for (w, win) in p.wins.iter().enumerate() {
            accs[w] = if h.newest == NONE {
                Acc::EMPTY
            } else if p.cap.is_none() && win.running_valid(q, h.newest) {
                p.running(&st.data, &st.times, w)
            } else {
                let (lo, hi) = win.range(q);
                p.fold(h, &st.occ, &st.data, &st.times, (lo, hi), p.cap)
            };
        }
        let mut merges: Vec<SketchMerge> = Vec::new();
        if p.needs.sketches() {
            merges = p
                .wins
                .iter()
                .map(|win| merge_sketches(p, st, agg, h, win.range(q)))
                .collect();
        }
        for op in &p.ops {
            for (w, acc) in accs.iter().enumerate() {
                // Raw values come capped from the fold (max_value); derived ones are computed
                // from capped parts; sketch results are capped here.
                let sketch = |x: f64| match p.cap {
                    Some(m) if x > m => m,
                    _ => x,
                };
                let x = match op {
                    Op::CountDistinct => sketch(merges[w].count_distinct()),
                    Op::ApproxCountDistinct => sketch(merges[w].approx_count_distinct()),
                    Op::Quantile(qu) => sketch(merges[w].quantile(qu.q)),
                    _ => value_of(op, acc),
                };
                out.push(Value::Float(x));
            }
        }
    }
}

/// Prefetches every cache line of a slice (a no-op on targets without a prefetch hint).
#[inline]
fn prefetch_slice<T>(s: &[T]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let bytes = std::mem::size_of_val(s);
        let base = s.as_ptr() as *const i8;
        let mut off = 0;
        while off < bytes {
            // SAFETY: `_mm_prefetch` needs SSE, which every x86_64 CPU has; a prefetch is a hint
            // that never faults or reads memory in the language's sense, and the pointer stays
            // inside the slice anyway.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(base.wrapping_add(off)) };
            off += 64;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = s;
}

/// Splits a state into its two slices (lets `rebuild` run while `data`/`times` are borrowed).
#[inline]
fn st_parts<'a>(data: &'a mut [f64], times: &'a mut [i64]) -> (&'a mut [f64], &'a mut [i64]) {
    (data, times)
}

fn merge_sketches<'a>(
    p: &AggPlan,
    st: &'a KeyState,
    agg: usize,
    h: Hdr,
    (lo, hi): (i64, i64),
) -> SketchMerge<'a> {
    let mut m = SketchMerge::default();
    if h.newest == NONE {
        return m;
    }
    let lo = lo.max(h.newest - p.ring as i64 + 1);
    for b in lo..=hi.min(h.newest) {
        if let Some(s) = &st.sketches[agg][p.pos(h, b)] {
            m.add(s);
        }
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

#[cfg(test)]
mod tests {
    use super::*;

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
        let a = mk("accept");
        let mut st = a.new_state();
        a.update(&mut st, 0, Timestamp(T0 + 60 * MIN), &Value::Int(1));
        assert_eq!(
            a.update(&mut st, 0, Timestamp(T0 + 10 * MIN), &Value::Int(1)),
            Outcome::Aggregated { late: true }
        );
        assert_eq!(
            a.update(&mut st, 0, Timestamp(T0), &Value::Int(1)),
            Outcome::Dropped(DropReason::TooLate)
        );
    }
}
