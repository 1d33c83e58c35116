//! State of the sketch ops (`count_distinct`, `approx_count_distinct`, quantiles): per non-empty
//! bucket the data a window needs to *remove* that bucket again, and per window a running state
//! at the key's newest bucket, updated in O(1) per value and retracted bucket by bucket as the
//! window slides. No read merges buckets, except reads at another time than the newest bucket
//! (late events, `query_by_key` at an older time), which are rare.
//!
//! * `count_distinct` (exact): per key one map value → newest bucket holding it, per bucket its
//!   distinct values and how many of them it holds last, per window a count. A value entering a
//!   window adds one; a leaving bucket subtracts its "held last" count.
//! * quantiles: [`QHist`], a log-bucketed histogram (DDSketch's mapping, relative accuracy
//!   [`ALPHA`] = 1 %) per bucket and per window; eviction subtracts counts exactly; a
//!   [`Cursor`] per quantile op and window makes reads amortised O(1).
//! * `approx_count_distinct`: HyperLogLog, precision 12 ([`HLL_M`] registers), 64-bit xxHash
//!   with a fixed seed (the same estimate on every run and machine). While a window holds at
//!   most [`HLL_SPARSE_MAX`] distinct hashes it keeps them exactly (the count is exact unless
//!   two values share a 64-bit hash); beyond, registers = max over its buckets, kept by a
//!   two-stack sliding maximum ([`DenseWin`]) so that both inserts and evictions are amortised
//!   O(1) per register change, with a running Σ2^-M and zero count for O(1) estimates. Beside
//!   `count_distinct` on the same aggregator it is that exact count (zero error) and keeps no
//!   state of its own.

use crate::geometry::{AggPlan, WinPlan};
use crate::prefetch::{prefetch_one, prefetch_slice};
use crate::state::NONE;
use crate::{Op, Rank};
use hashbrown::HashTable;
use rill_core::{Str, Value};
use smallvec::SmallVec;
use std::collections::VecDeque;
use twox_hash::XxHash64;

mod buckets;
pub(crate) mod codec;
mod counts;
mod cursor;
mod hll;
mod quantile;

pub(crate) use buckets::*;
pub(crate) use counts::*;
pub(crate) use cursor::*;
pub(crate) use hll::*;
pub(crate) use quantile::*;

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

    /// Deterministic 64-bit hash: xxHash64 of the value's bytes, seeded per kind (so `Int(1)`
    /// and `Time(1)` differ). Fixed seeds: HyperLogLog estimates are reproducible everywhere.
    pub fn hash64(&self) -> u64 {
        const SEED: u64 = 0x7269_6c6c_5f68_6c6c; // "rill_hll"
        match self {
            DistinctKey::Int(i) => XxHash64::oneshot(SEED ^ 1, &i.to_le_bytes()),
            DistinctKey::Float(b) => XxHash64::oneshot(SEED ^ 2, &b.to_le_bytes()),
            DistinctKey::Str(s) => XxHash64::oneshot(SEED ^ 3, s.as_bytes()),
            DistinctKey::Bool(b) => XxHash64::oneshot(SEED ^ 4, &[*b as u8]),
            DistinctKey::Time(t) => XxHash64::oneshot(SEED ^ 5, &t.to_le_bytes()),
        }
    }
}

/// Running sketch state of one window at the aggregator's newest bucket.
#[derive(Default)]
pub(crate) struct WinSk {
    /// Values inside the window.
    vals: u64,
    /// Distinct values inside the window (count_distinct): those whose newest bucket is in it.
    pub distinct: u64,
    pub hll: WinHll,
    pub q: QHist,
    /// Where each quantile op's rank was found last (the aggregator's quantile ops, in order;
    /// made at the first value).
    cur: SmallVec<[Cursor; 2]>,
    /// Index of the first retained bucket inside the window at the newest bucket: a slide
    /// walks from here over the buckets that leave (one or two) instead of two binary searches
    /// over the bucket indices, each a few cache misses.
    pub(super) first: usize,
}

impl WinSk {
    fn heap_bytes(&self) -> usize {
        self.hll.heap_bytes()
            + self.q.heap_bytes()
            + if self.cur.spilled() {
                self.cur.capacity() * std::mem::size_of::<Cursor>()
            } else {
                0
            }
    }

    /// Empties the window (keeping its cursors' storage and its first bucket).
    fn reset(&mut self) {
        let mut cur = std::mem::take(&mut self.cur);
        cur.iter_mut().for_each(Cursor::reset);
        *self = WinSk {
            cur,
            first: self.first,
            ..WinSk::default()
        };
    }

    /// Adds or removes `c` values of quantile bin code `code`.
    #[inline]
    fn apply_q(&mut self, code: i32, c: u32, add: bool) {
        self.q.apply(code, c, add);
        for k in &mut self.cur {
            k.note(code, c, add);
        }
    }

    /// Moves the quantile cursors to the ranks of the current values (after changes).
    #[inline]
    fn settle(&mut self, p: &AggPlan) {
        if self.cur.is_empty() {
            self.cur = p
                .ops
                .iter()
                .filter_map(|op| match op {
                    Op::Quantile(q) => Some(Cursor::new(q.rank)),
                    _ => None,
                })
                .collect();
        }
        for c in &mut self.cur {
            self.q.seek(c);
        }
    }

    /// The window's approx_count_distinct.
    pub fn approx_count_distinct(&self) -> f64 {
        match &self.hll {
            WinHll::Exact => self.distinct as f64,
            hll => hll.estimate(),
        }
    }

    /// Quantile `q` of the window's values (NaN when empty): read at its cursor.
    pub fn quantile(&self, q: Rank) -> f64 {
        match self.cur.iter().find(|c| c.q == q) {
            Some(c) => self.q.at(c),
            None => self.q.quantile(q),
        }
    }
}

/// The sketch state of one aggregator of one key: its non-empty buckets (bucket order) and the
/// running state of each window at the newest bucket. Empty (no allocation) for aggregators
/// without sketch ops.
#[derive(Default)]
pub(crate) struct AggSketch {
    buckets: Buckets,
    /// count_distinct: every distinct value whose newest bucket is inside some window at the
    /// newest bucket (`>= floor`) → that bucket. One map serves every window: a window at the
    /// newest bucket holds a value iff it holds the value's newest bucket, so a window's count
    /// moves by one when a value enters it and by a bucket's [`BucketSk::latest`] when a
    /// bucket leaves it, whatever the values. A value whose newest bucket has left every
    /// window leaves the map then (not when the bucket is dropped, a whole span later): the
    /// map holds the largest window's values, not the retained buckets' (half as many for
    /// sliding windows), and no window can hold it again unless it occurs again.
    last: HashTable<(DistinctKey, i64)>,
    /// The oldest bucket inside some window at the newest bucket (see [`floor_at`]); the
    /// buckets before it have `latest == 0`.
    floor: i64,
    /// Index of the first retained bucket `>= floor` (see [`WinSk::first`]).
    floor_first: usize,
    wins: Box<[WinSk]>,
}

/// The oldest bucket inside some window of `p` at newest bucket `newest`: every window ends at
/// the newest bucket, so the windows together hold exactly the buckets `floor..=newest`.
pub(super) fn floor_at(p: &AggPlan, newest: i64) -> i64 {
    p.wins
        .iter()
        .map(|w| w.range(newest).0)
        .min()
        .unwrap_or(newest)
}

/// The values one event adds to the sketches.
pub(crate) struct SketchIn<'a> {
    pub key: Option<&'a DistinctKey>,
    pub x: Option<f64>,
}

impl AggSketch {
    pub fn new(windows: usize) -> AggSketch {
        AggSketch {
            buckets: Buckets::default(),
            last: HashTable::new(),
            floor: i64::MIN,
            floor_first: 0,
            wins: (0..windows).map(|_| WinSk::default()).collect(),
        }
    }

    /// The running state of window `wi` (valid at the aggregator's newest bucket).
    pub fn running(&self, wi: usize) -> &WinSk {
        &self.wins[wi]
    }

    /// Heap bytes held by this aggregator's sketches.
    pub fn heap_bytes(&self) -> usize {
        self.buckets.heap_bytes()
            + self.last.allocation_size()
            + self.wins.len() * std::mem::size_of::<WinSk>()
            + self.wins.iter().map(WinSk::heap_bytes).sum::<usize>()
    }

    /// Prefetch stage 0: the windows' structs and the newest bucket's entry.
    #[inline]
    pub fn prefetch_structs(&self) {
        prefetch_slice(&self.wins[..]);
        if let Some(b) = self.buckets.ids.back() {
            prefetch_one(b);
        }
        if let Some(b) = self.buckets.data.back() {
            prefetch_one(b);
        }
    }

    /// Prefetch stage 1 (after stage 0's lines arrived): the histogram lines at each
    /// quantile's cursor, and where the newest bucket's data goes in the rings.
    #[inline]
    pub fn prefetch_data(&self) {
        for w in self.wins.iter() {
            for c in &w.cur {
                w.q.prefetch_at(c);
            }
        }
        self.buckets.prefetch_back();
    }

    /// Slides the running windows from newest bucket `n` (`NONE`: no data yet) to `m > n`:
    /// subtracts the buckets leaving each sliding window, resets windows that start afresh,
    /// then drops the buckets older than the retained span.
    pub fn slide(&mut self, p: &AggPlan, n: i64, m: i64) {
        let ids = &self.buckets.ids;
        // Index of the first bucket `>= lo`, walking from `i` (the one for an older `lo`).
        let walk = |mut i: usize, lo: i64| {
            while ids.get(i).is_some_and(|&b| b < lo) {
                i += 1;
            }
            i
        };
        if n != NONE {
            for (wi, win) in p.wins.iter().enumerate() {
                let w = &mut self.wins[wi];
                // Buckets i0..i1 leave the window.
                let i0 = w.first;
                let i1 = walk(i0, win.range(m).0);
                w.first = i1;
                if w.vals == 0 {
                    continue;
                }
                if win.fixed {
                    if m.div_euclid(win.nb) != n.div_euclid(win.nb) {
                        w.reset();
                    }
                    continue;
                }
                if m - n >= win.nb {
                    w.reset();
                    continue;
                }
                // Buckets in (n − nb, m − nb] leave.
                let cutoff = m - win.nb;
                debug_assert_eq!(i0, ids.partition_point(|&b| b <= n - win.nb));
                debug_assert_eq!(i1, ids.partition_point(|&b| b <= cutoff));
                for bk in self.buckets.data.range(i0..i1) {
                    w.vals -= bk.vals;
                    w.distinct -= bk.latest;
                    if let (WinHll::Sparse(c), BucketHll::Sparse(s)) = (&mut w.hll, &bk.hll) {
                        for &h in s.iter() {
                            c.sub(&h, h, 1);
                        }
                    }
                }
                if p.needs.quantile {
                    for (code, c) in self.buckets.codes_in(i0, i1) {
                        w.apply_q(code, c, false);
                    }
                }
                if w.vals == 0 {
                    w.reset();
                    continue;
                }
                if p.needs.quantile {
                    w.settle(p);
                }
                if let WinHll::Dense(d) = &mut w.hll {
                    d.pop_front(cutoff);
                    if d.flip <= cutoff {
                        // a back bucket left: the remaining buckets become the front
                        rebuild_hll(&self.buckets, win, m, w);
                    }
                }
            }
        }
        let floor = floor_at(p, m);
        let (i0, i1) = (self.floor_first, walk(self.floor_first, floor));
        if p.needs.distinct {
            self.evict(i0, i1);
        }
        self.floor = floor;
        self.floor_first = i1;
        let gone = self.buckets.drop_until(m - p.ring);
        if gone > 0 {
            self.floor_first -= gone;
            for w in self.wins.iter_mut() {
                w.first -= gone;
            }
        }
    }

    /// count_distinct: the values whose newest bucket left the last window (buckets `i0..i1`)
    /// leave the map; those buckets hold no window's values any more.
    fn evict(&mut self, i0: usize, i1: usize) {
        let bs = &mut self.buckets;
        for i in i0..i1 {
            if bs.data[i].latest == 0 {
                continue;
            }
            bs.data[i].latest = 0;
            let id = bs.ids[i];
            for key in bs.keys_in(i, i + 1) {
                if let Ok(e) = self
                    .last
                    .find_entry(key.hash64(), |e| e.1 == id && e.0 == *key)
                {
                    e.remove();
                }
            }
        }
    }

    /// Adds one value at bucket `b` (the aggregator's newest bucket being `newest >= b`) to its
    /// bucket and to every window that holds that bucket at the newest bucket.
    pub fn add(&mut self, p: &AggPlan, b: i64, newest: i64, v: &SketchIn<'_>) {
        let i = self.bucket_index(p, b, newest);
        let h = v.key.map_or(0, DistinctKey::hash64);
        // count_distinct: the newest bucket the value occurred in before (NONE: never), when
        // this value moves it to `b` (then it enters the windows that hold `b` but not that).
        let mut entered = None;
        if let (true, Some(k)) = (p.needs.distinct, v.key) {
            entered = self.note_distinct(i, b, k, h);
        }
        let bk = &mut self.buckets.data[i];
        bk.vals += 1;
        // Beside count_distinct the estimate is the exact count: no hashes, no registers.
        let hll_changed = p.needs.hll && !p.needs.distinct && v.key.is_some() && bk.hll.insert(h);
        let bucket_dense = matches!(bk.hll, BucketHll::Dense(_));
        let code = match (p.needs.quantile, v.x) {
            (true, Some(x)) => Some(code_of(x)),
            _ => None,
        };
        if let Some(code) = code {
            self.buckets.add_code(i, b, code);
        }
        for (wi, win) in p.wins.iter().enumerate() {
            if b < newest && !win.contains_at(b, newest) {
                continue;
            }
            let w = &mut self.wins[wi];
            w.vals += 1;
            if let Some(before) = entered {
                if before == NONE || !win.contains_at(before, newest) {
                    w.distinct += 1;
                }
            }
            if let Some(code) = code {
                w.apply_q(code, 1, true);
                w.settle(p);
            }
            if p.needs.hll && p.needs.distinct {
                // The exact count is at hand: the estimate is that count (zero error, inside
                // any bound), and no registers are kept.
                if !matches!(w.hll, WinHll::Exact) {
                    w.hll = WinHll::Exact;
                }
                continue;
            }
            if !hll_changed {
                continue;
            }
            match &mut w.hll {
                WinHll::Exact => {}
                WinHll::Sparse(c) => {
                    // A bucket turns dense only past HLL_SPARSE_MAX hashes, so this window
                    // (which holds them all) turns dense at this very value.
                    c.add(&h, h, 1);
                    debug_assert!(!bucket_dense || c.len() > HLL_SPARSE_MAX);
                    if c.len() > HLL_SPARSE_MAX {
                        rebuild_hll(&self.buckets, win, newest, w);
                    }
                }
                WinHll::Dense(d) if b >= d.flip => {
                    let (r, rho) = hll_split(h);
                    d.insert_back(r, rho);
                }
                // a late value in a front bucket: the suffix maxima change, build them again
                WinHll::Dense(_) => rebuild_hll(&self.buckets, win, newest, w),
            }
        }
    }

    /// Records value `k` (hash `h`) at bucket `b` (entry `i`) for count_distinct: in the bucket's
    /// values, and as the value's newest bucket in the key's map. Returns the value's previous
    /// newest bucket (`NONE`: a new value) when `b` is newer, i.e. when the value enters the
    /// windows holding `b` but not that bucket; `None` when `b` is not newer (nothing enters).
    #[inline]
    fn note_distinct(&mut self, i: usize, b: i64, k: &DistinctKey, h: u64) -> Option<i64> {
        if b < self.floor {
            // a late value outside every window: only its bucket's list (for reads at its
            // time) learns it; the map holds the windows' values
            if !self.buckets.has_key(i, k) {
                self.buckets.add_key(i, b, k);
            }
            return None;
        }
        match self.last.find_mut(h, |e| e.0 == *k) {
            None => {
                self.last.insert_unique(h, (k.clone(), b), |e| e.0.hash64());
                self.buckets.add_key(i, b, k);
                self.buckets.data[i].latest += 1;
                Some(NONE)
            }
            Some(e) if e.1 == b => None,
            Some(e) if e.1 < b => {
                let before = std::mem::replace(&mut e.1, b);
                // `before >= floor` is retained (its values leave the map before it is dropped)
                let j = self.buckets.ids.partition_point(|&x| x < before);
                debug_assert_eq!(self.buckets.ids.get(j), Some(&before));
                self.buckets.data[j].latest -= 1;
                self.buckets.add_key(i, b, k);
                self.buckets.data[i].latest += 1;
                Some(before)
            }
            // a late value seen again later: it may already be among this bucket's values
            Some(_) => {
                if !self.buckets.has_key(i, k) {
                    self.buckets.add_key(i, b, k);
                }
                None
            }
        }
    }

    /// Index of bucket `b`'s entry, inserting an empty one (late buckets: searched from the
    /// newest back, where late events usually land).
    #[inline]
    fn bucket_index(&mut self, p: &AggPlan, b: i64, newest: i64) -> usize {
        let ids = &mut self.buckets.ids;
        let len = ids.len();
        if len > 0 && ids[len - 1] == b {
            return len - 1;
        }
        let at = ids.partition_point(|&x| x < b);
        if at < len && ids[at] == b {
            return at;
        }
        self.buckets.insert(at, b);
        // a late bucket before a window (or the floor) shifts the index of its first bucket
        for (w, win) in self.wins.iter_mut().zip(&p.wins) {
            if b < win.range(newest).0 {
                w.first += 1;
            }
        }
        if b < self.floor {
            self.floor_first += 1;
        }
        at
    }

    /// Merges the retained buckets in `[lo, hi]` (reads at a time other than the newest bucket).
    pub fn merged(&self, p: &AggPlan, lo: i64, hi: i64) -> Merged<'_> {
        let mut m = Merged::default();
        let start = self.buckets.ids.partition_point(|&b| b < lo);
        let end = self.buckets.ids.partition_point(|&b| b <= hi);
        let mut regs: Option<Box<[u8; HLL_M]>> = None;
        let mut hashes: HashTable<u64> = HashTable::new();
        if p.needs.distinct {
            for k in self.buckets.keys_in(start, end) {
                let h = k.hash64();
                if m.distinct.find(h, |x| *x == k).is_none() {
                    m.distinct.insert_unique(h, k, |x| x.hash64());
                }
            }
        }
        if p.needs.quantile {
            for (code, c) in self.buckets.codes_in(start, end) {
                m.q.apply(code, c, true);
            }
        }
        for bk in self.buckets.data.range(start..end) {
            if p.needs.hll && !p.needs.distinct {
                match (&bk.hll, &mut regs) {
                    (BucketHll::Sparse(s), None) => {
                        for &h in s {
                            if hashes.find(h, |&x| x == h).is_none() {
                                hashes.insert_unique(h, h, |&x| x);
                            }
                        }
                    }
                    (hb, r) => {
                        let r = r.get_or_insert_with(|| {
                            let mut r = Box::new([0u8; HLL_M]);
                            for &h in hashes.iter() {
                                let (i, rho) = hll_split(h);
                                r[i] = r[i].max(rho);
                            }
                            r
                        });
                        hb.for_each_reg(|i, rho| r[i] = r[i].max(rho));
                    }
                }
            }
        }
        if p.needs.hll && p.needs.distinct {
            // beside count_distinct the estimate is the exact count, as at the newest bucket
            let hll = m.distinct.len() as f64;
            return Merged { hll, ..m };
        }
        m.hll = hll_of(hashes, regs);
        m
    }
}

/// The estimate of a merged set: its exact size while it is small and has no registers, else
/// HyperLogLog over its hashes and registers.
fn hll_of(hashes: HashTable<u64>, regs: Option<Box<[u8; HLL_M]>>) -> f64 {
    match regs {
        None if hashes.len() <= HLL_SPARSE_MAX => hashes.len() as f64,
        regs => {
            let r = regs.unwrap_or_else(|| {
                let mut r = Box::new([0u8; HLL_M]);
                for &h in hashes.iter() {
                    let (i, rho) = hll_split(h);
                    r[i] = r[i].max(rho);
                }
                r
            });
            let (mut sum, mut zeros) = (0u128, 0u32);
            for &rho in r.iter() {
                sum += hll_term(rho);
                zeros += (rho == 0) as u32;
            }
            hll_estimate(sum, zeros).round()
        }
    }
}

/// Rebuilds window `w`'s HyperLogLog state from its buckets at newest bucket `newest`: exact
/// hashes if they are few (at most half the sparse limit, so a window near the limit does not
/// switch back and forth), else registers with all its buckets as the front.
fn rebuild_hll(buckets: &Buckets, win: &WinPlan, newest: i64, w: &mut WinSk) {
    let (lo, hi) = win.range(newest);
    let start = buckets.ids.partition_point(|&b| b < lo);
    let end = buckets.ids.partition_point(|&b| b <= hi);
    let inside = || {
        buckets
            .ids
            .range(start..end)
            .copied()
            .zip(buckets.data.range(start..end))
    };
    let sparse_total: Option<usize> = inside().try_fold(0, |acc, (_, bk)| match &bk.hll {
        BucketHll::Sparse(s) => Some(acc + s.len()),
        BucketHll::Dense(_) => None,
    });
    if sparse_total.is_some_and(|t| t <= HLL_SPARSE_MAX / 2) {
        let mut c = Counts::default();
        for (_, bk) in inside() {
            if let BucketHll::Sparse(s) = &bk.hll {
                for &h in s.iter() {
                    c.add(&h, h, 1);
                }
            }
        }
        w.hll = WinHll::Sparse(c);
        return;
    }
    let mut d = match std::mem::take(&mut w.hll) {
        WinHll::Dense(mut d) => {
            d.f = [0; HLL_M];
            d.b = [0; HLL_M];
            d.sum = HLL_M as u128 * hll_term(0);
            d.zeros = HLL_M as u32;
            d.front.clear();
            d.diffs.clear();
            d
        }
        WinHll::Sparse(_) | WinHll::Exact => DenseWin::new(),
    };
    // Suffix maxima, newest bucket first; each bucket records the registers it raised.
    let mut flip = lo;
    for (bk_id, bk) in inside().rev() {
        flip = flip.max(bk_id + 1);
        d.push_front(bk_id, &bk.hll);
    }
    d.flip = flip;
    w.hll = WinHll::Dense(d);
}

/// Sketch answers of a window merged from its buckets (reads at another time than the newest).
#[derive(Default)]
pub(crate) struct Merged<'a> {
    distinct: HashTable<&'a DistinctKey>,
    hll: f64,
    q: QHist,
}

impl Merged<'_> {
    pub fn count_distinct(&self) -> f64 {
        self.distinct.len() as f64
    }
    pub fn approx_count_distinct(&self) -> f64 {
        self.hll
    }
    pub fn quantile(&self, q: Rank) -> f64 {
        self.q.quantile(q)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A quantile given in hundredths as a rank (the tests' quantiles are whole percentages).
    fn pct(q: f64) -> Rank {
        Rank::new((q * 100.0).round() as u64, 100).unwrap()
    }

    #[test]
    fn log_mapping_constants() {
        assert_eq!(LN_GAMMA, GAMMA.ln());
        // Every magnitude lands in a bin whose estimate is within ALPHA of it.
        let mut x = 1e-300f64;
        while x < 1e300 {
            for y in [x, x * 1.000_000_1, x * 1.013, x * 1.019_9] {
                let e = bin_value(bin_of(y));
                assert!((e - y).abs() <= ALPHA * y * (1.0 + 1e-9), "{y} → {e}");
            }
            x *= 1.7;
        }
    }

    #[test]
    fn histogram_add_remove_and_rank() {
        let mut h = QHist::default();
        let xs: Vec<f64> = (0..2000).map(|i| (i as f64 - 500.0) * 0.37).collect();
        for &x in &xs {
            h.add(x);
        }
        let mut sorted = xs.clone();
        sorted.sort_by(f64::total_cmp);
        for q in [0.0, 0.01, 0.25, 0.5, 0.9, 0.99, 1.0] {
            let want = sorted[(q * (sorted.len() - 1) as f64) as usize];
            let got = h.quantile(pct(q));
            assert!(
                (got - want).abs() <= ALPHA * want.abs() + 1e-12,
                "q{q}: {got} vs {want}"
            );
        }
        // Removing the values again (as a leaving bucket does) leaves exactly the rest.
        for &x in &xs[..1500] {
            h.apply(code_of(x), 1, false);
        }
        assert_eq!(h.count(), 500);
        let mut tail: Vec<f64> = xs[1500..].to_vec();
        tail.sort_by(f64::total_cmp);
        let got = h.quantile(pct(0.5));
        let want = tail[(0.5 * 499.0) as usize];
        assert!((got - want).abs() <= ALPHA * want.abs(), "{got} vs {want}");
        xs[1500..]
            .iter()
            .for_each(|&x| h.apply(code_of(x), 1, false));
        assert_eq!(h.count(), 0);
        assert!(h.quantile(pct(0.5)).is_nan());
        assert_eq!(h.heap_bytes(), 0, "an emptied histogram frees its storage");
    }

    #[test]
    fn histogram_special_values() {
        let mut h = QHist::default();
        for x in [f64::NEG_INFINITY, -2.0, 0.0, -0.0, 3.0, f64::INFINITY] {
            h.add(x);
        }
        assert_eq!(h.quantile(pct(0.0)), f64::NEG_INFINITY);
        assert_eq!(h.quantile(pct(1.0)), f64::INFINITY);
        assert_eq!(h.quantile(pct(0.4)), 0.0, "rank 2 of 6");
        assert!((h.quantile(pct(0.2)) + 2.0).abs() <= 0.02);
    }

    #[test]
    fn hll_is_deterministic_and_within_bound() {
        // Fixed seed: this exact value on every machine (changing the hash changes it).
        assert_eq!(DistinctKey::Int(1).hash64(), DistinctKey::Int(1).hash64());
        assert_ne!(DistinctKey::Int(1).hash64(), DistinctKey::Time(1).hash64());
        for n in [300usize, 1000, 5000, 20_000, 100_000] {
            let mut d = DenseWin::new();
            for i in 0..n {
                let (r, rho) = hll_split(DistinctKey::Int(i as i64).hash64());
                d.insert_back(r, rho);
            }
            let e = d.estimate();
            let sigma = 1.04 / (HLL_M as f64).sqrt();
            assert!(
                (e - n as f64).abs() <= 4.0 * sigma * n as f64,
                "n {n}: estimate {e}"
            );
        }
    }
}
