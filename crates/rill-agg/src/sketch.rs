//! State of the sketch ops (`count_distinct`, `approx_count_distinct`, quantiles): per non-empty
//! bucket the data a window needs to *remove* that bucket again, and per window a running state
//! at the key's newest bucket, updated in O(1) per value and retracted bucket by bucket as the
//! window slides. No read merges buckets, except reads at another time than the newest bucket
//! (late events, `query_by_key` at an older time), which are rare.
//!
//! * `count_distinct` (exact): per bucket a value → occurrences map, per window a value →
//!   occurrences multiset; the answer is the multiset's size. Eviction subtracts.
//! * quantiles: [`QHist`], a log-bucketed histogram (DDSketch's mapping, relative accuracy
//!   [`ALPHA`] = 1 %) per bucket and per window; eviction subtracts counts exactly.
//! * `approx_count_distinct`: HyperLogLog, precision 12 ([`HLL_M`] registers), 64-bit xxHash
//!   with a fixed seed (the same estimate on every run and machine). While a window holds at
//!   most [`HLL_SPARSE_MAX`] distinct hashes it keeps them exactly (the count is exact unless
//!   two values share a 64-bit hash); beyond, registers = max over its buckets, kept by a
//!   two-stack sliding maximum ([`DenseWin`]) so that both inserts and evictions are amortised
//!   O(1) per register change, with a running Σ2^-M and zero count for O(1) estimates.

use crate::geometry::{AggPlan, WinPlan};
use crate::state::NONE;
use hashbrown::HashTable;
use rill_core::{Str, Value};
use std::collections::VecDeque;
use twox_hash::XxHash64;

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

// ---------------------------------------------------------------------------------------------
// Exact multisets
// ---------------------------------------------------------------------------------------------

/// A key of a [`Counts`] multiset and its hash (recomputed only when the table grows).
pub(crate) trait CountKey: Eq + Clone {
    fn rehash(&self) -> u64;
}
impl CountKey for DistinctKey {
    fn rehash(&self) -> u64 {
        self.hash64()
    }
}
/// HyperLogLog hashes are already uniform: they are their own table hash.
impl CountKey for u64 {
    fn rehash(&self) -> u64 {
        *self
    }
}

/// A multiset: key → multiplicity (> 0). The caller passes each key's hash, computed once per
/// event and shared by the bucket's and every window's table. Up to [`SMALL`] keys live in a
/// plain vector (most buckets of most keys hold a handful of values: a hash table's minimum
/// size and load factor would multiply their memory), then in a hash table.
pub(crate) enum Counts<K> {
    Small(Vec<(K, u32)>),
    Table(HashTable<(K, u32)>),
}

/// Keys a [`Counts`] keeps in a vector (searched linearly) before it switches to a table.
const SMALL: usize = 8;

impl<K> Default for Counts<K> {
    fn default() -> Self {
        Counts::Small(Vec::new())
    }
}

impl<K: CountKey> Counts<K> {
    /// Adds `n` occurrences of `k`; true when `k` was not present.
    #[inline]
    pub fn add(&mut self, k: &K, h: u64, n: u32) -> bool {
        match self {
            Counts::Small(v) => {
                if let Some(e) = v.iter_mut().find(|e| e.0 == *k) {
                    e.1 += n;
                    return false;
                }
                if v.len() < SMALL {
                    // exact growth: a bucket with one value holds one entry
                    v.reserve_exact(if v.is_empty() { 1 } else { v.len() });
                    v.push((k.clone(), n));
                    return true;
                }
                let mut t = HashTable::with_capacity(2 * SMALL);
                for e in v.drain(..) {
                    t.insert_unique(e.0.rehash(), e, |e: &(K, u32)| e.0.rehash());
                }
                t.insert_unique(h, (k.clone(), n), |e| e.0.rehash());
                *self = Counts::Table(t);
                true
            }
            Counts::Table(t) => {
                if let Some(e) = t.find_mut(h, |e| e.0 == *k) {
                    e.1 += n;
                    return false;
                }
                t.insert_unique(h, (k.clone(), n), |e| e.0.rehash());
                true
            }
        }
    }

    /// Removes `n` occurrences of `k`, which must be present that often.
    #[inline]
    pub fn sub(&mut self, k: &K, h: u64, n: u32) {
        match self {
            Counts::Small(v) => match v.iter().position(|e| e.0 == *k) {
                Some(i) => {
                    debug_assert!(v[i].1 >= n, "multiset count below zero");
                    v[i].1 -= n;
                    if v[i].1 == 0 {
                        v.swap_remove(i);
                    }
                }
                None => debug_assert!(false, "removing a key that is not in the multiset"),
            },
            Counts::Table(t) => match t.find_entry(h, |e| e.0 == *k) {
                Ok(mut e) => {
                    let c = &mut e.get_mut().1;
                    debug_assert!(*c >= n, "multiset count below zero");
                    *c -= n;
                    if *c == 0 {
                        e.remove();
                    }
                }
                Err(_) => debug_assert!(false, "removing a key that is not in the multiset"),
            },
        }
    }

    /// Number of distinct keys.
    #[inline]
    pub fn len(&self) -> usize {
        match self {
            Counts::Small(v) => v.len(),
            Counts::Table(t) => t.len(),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &(K, u32)> {
        let (a, b) = match self {
            Counts::Small(v) => (Some(v.iter()), None),
            Counts::Table(t) => (None, Some(t.iter())),
        };
        a.into_iter().flatten().chain(b.into_iter().flatten())
    }

    /// Empties the multiset, keeping a small vector's allocation (for reuse).
    fn clear(&mut self) {
        match self {
            Counts::Small(v) => v.clear(),
            Counts::Table(_) => *self = Counts::default(),
        }
    }

    pub fn heap_bytes(&self) -> usize {
        match self {
            Counts::Small(v) => v.capacity() * std::mem::size_of::<(K, u32)>(),
            Counts::Table(t) => t.allocation_size(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Quantiles: log-bucketed histogram
// ---------------------------------------------------------------------------------------------

/// Relative accuracy of quantiles: every estimate `e` of a value `x` has `|e − x| ≤ ALPHA·|x|`.
pub(crate) const ALPHA: f64 = 0.01;
/// `γ = (1 + α) / (1 − α)`: bin `k` holds the magnitudes in `(γ^(k−1), γ^k]`.
const GAMMA: f64 = (1.0 + ALPHA) / (1.0 - ALPHA);
/// `ln γ` (checked against `GAMMA.ln()` in a test; `ln` is not const).
const LN_GAMMA: f64 = 0.020_000_666_706_669_435;

/// Bin of a magnitude `m > 0` (finite; subnormals included).
#[inline]
fn bin_of(m: f64) -> i32 {
    (m.ln() / LN_GAMMA).ceil() as i32
}

/// The estimate of every magnitude in bin `k`: `2γ^k / (γ + 1)`, within `α` of each of them.
#[inline]
fn bin_value(k: i32) -> f64 {
    ((k as f64 * LN_GAMMA).exp() * (2.0 / (GAMMA + 1.0))).min(f64::MAX)
}

/// Offset of the codes of positive bins (bins span about ±40 000 over all finite doubles).
const CODE_OFF: i32 = 1 << 20;

/// One `i32` ordering all values the way a bucket stores them: `0` for zeros, `±(CODE_OFF + bin)`
/// for positive/negative values, `i32::MAX`/`i32::MIN` for ±∞.
#[inline]
fn code_of(x: f64) -> i32 {
    if x > 0.0 {
        if x == f64::INFINITY {
            i32::MAX
        } else {
            CODE_OFF + bin_of(x)
        }
    } else if x < 0.0 {
        if x == f64::NEG_INFINITY {
            i32::MIN
        } else {
            -(CODE_OFF + bin_of(-x))
        }
    } else {
        0
    }
}

/// A bucket's quantile data: `(bin code, count)` sorted by code, one entry per bin it holds
/// (a bucket needs no rank queries, only to be added to or removed from a window).
#[derive(Default)]
pub(crate) struct BucketQ(Vec<(i32, u32)>);

impl BucketQ {
    #[inline]
    fn add(&mut self, x: f64) {
        let code = code_of(x);
        match self.0.binary_search_by_key(&code, |e| e.0) {
            Ok(i) => self.0[i].1 += 1,
            Err(i) => self.0.insert(i, (code, 1)),
        }
    }
    fn heap_bytes(&self) -> usize {
        self.0.capacity() * std::mem::size_of::<(i32, u32)>()
    }
}

/// Bins per block of a dense store: a quantile walk skips whole blocks by their sums.
const BLOCK: usize = 64;

/// Counts per bin of one sign: a sorted sparse list while small or spread out, else a dense
/// array over the bins spanned (aligned to [`BLOCK`]) with per-block sums.
#[derive(Default)]
struct Bins {
    total: u64,
    repr: BinsRepr,
}

enum BinsRepr {
    Sparse(Vec<(i32, u32)>),
    Dense {
        /// Bin of `counts[0]` (a multiple of `BLOCK`).
        lo: i32,
        counts: Vec<u32>,
        blocks: Vec<u32>,
    },
}

impl Default for BinsRepr {
    fn default() -> Self {
        BinsRepr::Sparse(Vec::new())
    }
}

/// A sparse list this long turns dense when the bins it spans are at most 4× as many (the
/// dense array is then no larger), or in any case at this length × 16 (insertion into a long
/// sorted list moves too much).
const SPARSE_BINS: usize = 32;

impl Bins {
    #[inline]
    fn add(&mut self, k: i32, c: u32) {
        self.total += c as u64;
        match &mut self.repr {
            BinsRepr::Sparse(v) => match v.binary_search_by_key(&k, |e| e.0) {
                Ok(i) => v[i].1 += c,
                Err(i) => {
                    v.insert(i, (k, c));
                    if v.len() >= SPARSE_BINS {
                        let span = (v[v.len() - 1].0 - v[0].0) as usize + 1;
                        if span <= 4 * v.len() || v.len() >= 16 * SPARSE_BINS {
                            self.densify();
                        }
                    }
                }
            },
            BinsRepr::Dense { .. } => self.dense_add(k, c),
        }
    }

    #[inline]
    fn dense_add(&mut self, k: i32, c: u32) {
        let BinsRepr::Dense { lo, counts, blocks } = &mut self.repr else {
            unreachable!("dense_add on a sparse store")
        };
        if k < *lo || (k - *lo) as usize >= counts.len() {
            grow(lo, counts, blocks, k);
        }
        let i = (k - *lo) as usize;
        counts[i] += c;
        blocks[i / BLOCK] += c;
    }

    fn densify(&mut self) {
        let BinsRepr::Sparse(v) = std::mem::take(&mut self.repr) else {
            return;
        };
        let lo = v[0].0.div_euclid(BLOCK as i32) * BLOCK as i32;
        let hi = v[v.len() - 1].0;
        let len = ((hi - lo) as usize / BLOCK + 1) * BLOCK;
        let mut counts = vec![0u32; len];
        let mut blocks = vec![0u32; len / BLOCK];
        for &(k, c) in &v {
            let i = (k - lo) as usize;
            counts[i] += c;
            blocks[i / BLOCK] += c;
        }
        self.repr = BinsRepr::Dense { lo, counts, blocks };
    }

    /// Removes `c` values of bin `k` (which holds at least that many).
    #[inline]
    fn sub(&mut self, k: i32, c: u32) {
        self.total -= c as u64;
        if self.total == 0 {
            // empty again: drop the storage (a window that empties starts small)
            self.repr = BinsRepr::default();
            return;
        }
        match &mut self.repr {
            BinsRepr::Sparse(v) => {
                if let Ok(i) = v.binary_search_by_key(&k, |e| e.0) {
                    v[i].1 -= c;
                    if v[i].1 == 0 {
                        v.remove(i);
                    }
                } else {
                    debug_assert!(false, "removing from an empty bin");
                }
            }
            BinsRepr::Dense { lo, counts, blocks } => {
                let i = (k - *lo) as usize;
                counts[i] -= c;
                blocks[i / BLOCK] -= c;
            }
        }
    }

    /// Bin of the value of 0-based rank `r < total` in ascending bin order, walking from the
    /// nearer end (a high quantile touches the top bins only).
    fn kth(&self, r: u64) -> i32 {
        debug_assert!(r < self.total);
        let from_top = r >= self.total / 2;
        let mut r = if from_top { self.total - 1 - r } else { r };
        match &self.repr {
            BinsRepr::Sparse(v) => {
                let mut pick = |e: &(i32, u32)| {
                    if r < e.1 as u64 {
                        true
                    } else {
                        r -= e.1 as u64;
                        false
                    }
                };
                let found = if from_top {
                    v.iter().rev().find(|e| pick(e))
                } else {
                    v.iter().find(|e| pick(e))
                };
                found.expect("rank below total").0
            }
            BinsRepr::Dense { lo, counts, blocks } => {
                let nb = blocks.len();
                for j in 0..nb {
                    let bj = if from_top { nb - 1 - j } else { j };
                    let s = blocks[bj] as u64;
                    if r >= s {
                        r -= s;
                        continue;
                    }
                    for i in 0..BLOCK {
                        let ii = bj * BLOCK + if from_top { BLOCK - 1 - i } else { i };
                        let c = counts[ii] as u64;
                        if r < c {
                            return *lo + ii as i32;
                        }
                        r -= c;
                    }
                }
                unreachable!("rank below total")
            }
        }
    }

    fn heap_bytes(&self) -> usize {
        match &self.repr {
            BinsRepr::Sparse(v) => v.capacity() * std::mem::size_of::<(i32, u32)>(),
            BinsRepr::Dense { counts, blocks, .. } => (counts.capacity() + blocks.capacity()) * 4,
        }
    }
}

/// Grows a dense store to cover bin `k`, by whole blocks plus a quarter of its size as slack
/// on the side that grows (so a drifting range re-allocates O(log) times).
#[cold]
fn grow(lo: &mut i32, counts: &mut Vec<u32>, blocks: &mut Vec<u32>, k: i32) {
    let b = BLOCK as i32;
    let slack = (counts.len() / 4 / BLOCK * BLOCK) as i32;
    let (old_lo, old_hi) = (*lo, *lo + counts.len() as i32); // [lo, hi)
    let new_lo = if k < old_lo {
        k.div_euclid(b) * b - slack
    } else {
        old_lo
    };
    let new_hi = if k >= old_hi {
        (k.div_euclid(b) + 1) * b + slack
    } else {
        old_hi
    };
    let len = (new_hi - new_lo) as usize;
    let shift = (old_lo - new_lo) as usize;
    let mut c = vec![0u32; len];
    c[shift..shift + counts.len()].copy_from_slice(counts);
    let mut bl = vec![0u32; len / BLOCK];
    bl[shift / BLOCK..shift / BLOCK + blocks.len()].copy_from_slice(blocks);
    *lo = new_lo;
    *counts = c;
    *blocks = bl;
}

/// A quantile sketch: counts per log bin for negative and positive values, plus exact counts of
/// zeros and infinities. Insertion and removal are exact on the counts, so a window that
/// subtracts a leaving bucket holds exactly the sketch of the values still inside it.
///
/// Quantile `q` of `n` values is the value of 0-based rank `⌊q·(n − 1)⌋` in sorted order (the
/// rule of the DDSketch crate used before), estimated within relative error [`ALPHA`].
#[derive(Default)]
pub(crate) struct QHist {
    neg: Bins,
    pos: Bins,
    zero: u64,
    neg_inf: u64,
    pos_inf: u64,
}

impl QHist {
    /// Adds one value (not NaN).
    #[inline]
    pub fn add(&mut self, x: f64) {
        if x > 0.0 {
            if x == f64::INFINITY {
                self.pos_inf += 1
            } else {
                self.pos.add(bin_of(x), 1)
            }
        } else if x < 0.0 {
            if x == f64::NEG_INFINITY {
                self.neg_inf += 1
            } else {
                self.neg.add(bin_of(-x), 1)
            }
        } else {
            self.zero += 1
        }
    }

    /// Adds (`add`) or removes `c` values of bin code `code` (see [`code_of`]).
    #[inline]
    fn apply(&mut self, code: i32, c: u32, add: bool) {
        let (counter, bins, k) = match code {
            0 => (Some(&mut self.zero), None, 0),
            i32::MAX => (Some(&mut self.pos_inf), None, 0),
            i32::MIN => (Some(&mut self.neg_inf), None, 0),
            c if c > 0 => (None, Some(&mut self.pos), c - CODE_OFF),
            c => (None, Some(&mut self.neg), -c - CODE_OFF),
        };
        match (counter, bins, add) {
            (Some(n), _, true) => *n += c as u64,
            (Some(n), _, false) => *n -= c as u64,
            (None, Some(b), true) => b.add(k, c),
            (None, Some(b), false) => b.sub(k, c),
            (None, None, _) => unreachable!("a code is a counter or a bin"),
        }
    }

    /// Adds (`add`) or removes every value of a bucket.
    pub fn apply_bucket(&mut self, b: &BucketQ, add: bool) {
        for &(code, c) in &b.0 {
            self.apply(code, c, add);
        }
    }

    pub fn count(&self) -> u64 {
        self.neg_inf + self.neg.total + self.zero + self.pos.total + self.pos_inf
    }

    /// The estimated quantile `q ∈ [0, 1]`; NaN when empty.
    pub fn quantile(&self, q: f64) -> f64 {
        let n = self.count();
        if n == 0 {
            return f64::NAN;
        }
        let mut r = ((q * (n - 1) as f64) as u64).min(n - 1);
        if r < self.neg_inf {
            return f64::NEG_INFINITY;
        }
        r -= self.neg_inf;
        if r < self.neg.total {
            // ascending values are descending magnitudes
            return -bin_value(self.neg.kth(self.neg.total - 1 - r));
        }
        r -= self.neg.total;
        if r < self.zero {
            return 0.0;
        }
        r -= self.zero;
        if r < self.pos.total {
            return bin_value(self.pos.kth(r));
        }
        f64::INFINITY
    }

    pub fn heap_bytes(&self) -> usize {
        self.neg.heap_bytes() + self.pos.heap_bytes()
    }
}

// ---------------------------------------------------------------------------------------------
// approx_count_distinct: HyperLogLog
// ---------------------------------------------------------------------------------------------

/// HyperLogLog precision: `m = 2^12` registers, standard error ≈ `1.04/√m` ≈ 1.6 %.
pub(crate) const HLL_P: u32 = 12;
/// Number of registers.
pub(crate) const HLL_M: usize = 1 << HLL_P;
/// Distinct hashes a bucket or a window keeps exactly before it switches to registers.
pub(crate) const HLL_SPARSE_MAX: usize = 256;

/// Register index (top `p` bits) and rank (leading zeros of the other bits, plus one).
#[inline]
fn hll_split(h: u64) -> (usize, u8) {
    let idx = (h >> (64 - HLL_P)) as usize;
    let rest = h << HLL_P;
    let rho = if rest == 0 {
        (64 - HLL_P + 1) as u8
    } else {
        rest.leading_zeros() as u8 + 1
    };
    (idx, rho)
}

/// `2^-rho` in units of `2^-53` (rho ≤ 53), so the running sum over registers is exact.
#[inline]
fn hll_term(rho: u8) -> u128 {
    1u128 << (53 - rho as u32)
}

/// A bucket's HyperLogLog data: its distinct hashes while few, else its registers.
pub(crate) enum BucketHll {
    /// Sorted, unique.
    Sparse(Vec<u64>),
    Dense(Box<[u8; HLL_M]>),
}

impl Default for BucketHll {
    fn default() -> Self {
        BucketHll::Sparse(Vec::new())
    }
}

impl BucketHll {
    /// Adds a hash; true when it changed the bucket (a new hash, or a raised register).
    #[inline]
    fn insert(&mut self, h: u64) -> bool {
        match self {
            BucketHll::Sparse(s) => {
                match s.binary_search(&h) {
                    Ok(_) => return false,
                    Err(i) => s.insert(i, h),
                }
                if s.len() > HLL_SPARSE_MAX {
                    let mut r = Box::new([0u8; HLL_M]);
                    for &x in s.iter() {
                        let (i, rho) = hll_split(x);
                        r[i] = r[i].max(rho);
                    }
                    *self = BucketHll::Dense(r);
                }
                true
            }
            BucketHll::Dense(r) => {
                let (i, rho) = hll_split(h);
                if rho > r[i] {
                    r[i] = rho;
                    true
                } else {
                    false
                }
            }
        }
    }

    /// Calls `f(register, rank)` for every (possibly repeated) register the bucket raises.
    fn for_each_reg(&self, mut f: impl FnMut(usize, u8)) {
        match self {
            BucketHll::Sparse(s) => s.iter().for_each(|&h| {
                let (i, rho) = hll_split(h);
                f(i, rho)
            }),
            BucketHll::Dense(r) => r.iter().enumerate().for_each(|(i, &rho)| {
                if rho > 0 {
                    f(i, rho)
                }
            }),
        }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            BucketHll::Sparse(s) => s.capacity() * 8,
            BucketHll::Dense(_) => HLL_M,
        }
    }
}

/// A window's registers once it holds more than [`HLL_SPARSE_MAX`] distinct hashes: the max
/// over its buckets, kept as a two-stack sliding maximum.
///
/// The window's buckets split at `flip`: the *back* ones (`>= flip`, the newer) are folded into
/// `b` as values arrive; for the *front* ones (older) `f` is the register-wise max of the front
/// buckets still in the window, i.e. a suffix maximum. A register's value is `max(f, b)`. When
/// the oldest front bucket leaves, `f` falls back to the next suffix maximum, replayed from the
/// register changes recorded per front bucket when the front was built (`front`, `diffs`).
/// When a back bucket leaves (the front is empty), the remaining buckets become the new front
/// (one pass over them). So each bucket is folded and replayed O(1) times per window: inserts
/// and evictions are amortised O(1) per register change, and the running `sum` (Σ2^-M, exact
/// fixed point) and `zeros` give an estimate in O(1).
pub(crate) struct DenseWin {
    f: [u8; HLL_M],
    b: [u8; HLL_M],
    sum: u128,
    zeros: u32,
    /// Buckets `>= flip` are in the back part.
    flip: i64,
    /// Front buckets, newest first: (bucket, start of its changes in `diffs`).
    front: Vec<(i64, u32)>,
    /// Per front bucket the registers it raised while the suffix maxima were built:
    /// `register << 8 | value before`, replayed in reverse when the bucket leaves.
    diffs: Vec<u32>,
}

impl DenseWin {
    fn new() -> Box<DenseWin> {
        Box::new(DenseWin {
            f: [0; HLL_M],
            b: [0; HLL_M],
            sum: HLL_M as u128 * hll_term(0),
            zeros: HLL_M as u32,
            flip: i64::MIN,
            front: Vec::new(),
            diffs: Vec::new(),
        })
    }

    #[inline]
    fn change(&mut self, old: u8, new: u8) {
        if old != new {
            self.sum = self.sum - hll_term(old) + hll_term(new);
            self.zeros = self.zeros + (new == 0) as u32 - (old == 0) as u32;
        }
    }

    /// Folds a value of a back bucket.
    #[inline]
    fn insert_back(&mut self, i: usize, rho: u8) {
        if rho > self.b[i] {
            let old = self.f[i].max(self.b[i]);
            self.b[i] = rho;
            self.change(old, old.max(rho));
        }
    }

    /// Drops the front buckets `<= cutoff`, replaying their recorded changes.
    fn pop_front(&mut self, cutoff: i64) {
        while let Some(&(bk, start)) = self.front.last() {
            if bk > cutoff {
                break;
            }
            for k in (start as usize..self.diffs.len()).rev() {
                let d = self.diffs[k];
                let (i, prev) = ((d >> 8) as usize, d as u8);
                let old = self.f[i].max(self.b[i]);
                self.f[i] = prev;
                self.change(old, prev.max(self.b[i]));
            }
            self.diffs.truncate(start as usize);
            self.front.pop();
        }
    }

    /// Estimated distinct count: linear counting while the raw estimate is at most `2.5·m` and
    /// a register is still zero (small range), else the raw HyperLogLog estimate.
    fn estimate(&self) -> f64 {
        hll_estimate(self.sum, self.zeros)
    }
}

/// HyperLogLog estimate from Σ2^-M (units of 2^-53) and the number of zero registers.
fn hll_estimate(sum: u128, zeros: u32) -> f64 {
    let m = HLL_M as f64;
    let alpha = 0.7213 / (1.0 + 1.079 / m);
    let raw = alpha * m * m / (sum as f64 / hll_term(0) as f64);
    if raw <= 2.5 * m && zeros > 0 {
        m * (m / zeros as f64).ln()
    } else {
        raw
    }
}

/// A window's HyperLogLog state.
pub(crate) enum WinHll {
    /// hash → number of the window's buckets holding it: exact while small.
    Sparse(Counts<u64>),
    Dense(Box<DenseWin>),
}

impl Default for WinHll {
    fn default() -> Self {
        WinHll::Sparse(Counts::default())
    }
}

impl WinHll {
    pub fn estimate(&self) -> f64 {
        match self {
            WinHll::Sparse(c) => c.len() as f64,
            WinHll::Dense(d) => d.estimate().round(),
        }
    }
    fn heap_bytes(&self) -> usize {
        match self {
            WinHll::Sparse(c) => c.heap_bytes(),
            WinHll::Dense(d) => {
                std::mem::size_of::<DenseWin>()
                    + d.front.capacity() * std::mem::size_of::<(i64, u32)>()
                    + d.diffs.capacity() * 4
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Per-aggregator state
// ---------------------------------------------------------------------------------------------

/// What a bucket needs to be removed from a window again (and to answer reads at other times).
#[derive(Default)]
pub(crate) struct BucketSk {
    /// Values aggregated into this bucket.
    vals: u64,
    distinct: Counts<DistinctKey>,
    hll: BucketHll,
    q: BucketQ,
}

impl BucketSk {
    fn heap_bytes(&self) -> usize {
        self.distinct.heap_bytes() + self.hll.heap_bytes() + self.q.heap_bytes()
    }
}

/// Running sketch state of one window at the aggregator's newest bucket.
#[derive(Default)]
pub(crate) struct WinSk {
    /// Values inside the window.
    vals: u64,
    pub distinct: Counts<DistinctKey>,
    pub hll: WinHll,
    pub q: QHist,
}

impl WinSk {
    fn heap_bytes(&self) -> usize {
        self.distinct.heap_bytes() + self.hll.heap_bytes() + self.q.heap_bytes()
    }
}

/// An aggregator's non-empty buckets in bucket order: their indices apart from their data, so
/// the binary searches of a slide read a few cache lines of indices only.
#[derive(Default)]
struct Buckets {
    ids: VecDeque<i64>,
    data: VecDeque<BucketSk>,
}

/// The sketch state of one aggregator of one key: its non-empty buckets (bucket order) and the
/// running state of each window at the newest bucket. Empty (no allocation) for aggregators
/// without sketch ops.
#[derive(Default)]
pub(crate) struct AggSketch {
    buckets: Buckets,
    wins: Box<[WinSk]>,
    /// The storage of a dropped bucket, reused for the next new bucket (in the steady state a
    /// key opens buckets as fast as it drops them, so this avoids allocating per bucket).
    spare: Option<BucketSk>,
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
            wins: (0..windows).map(|_| WinSk::default()).collect(),
            spare: None,
        }
    }

    /// The running state of window `wi` (valid at the aggregator's newest bucket).
    pub fn running(&self, wi: usize) -> &WinSk {
        &self.wins[wi]
    }

    /// Heap bytes held by this aggregator's sketches.
    pub fn heap_bytes(&self) -> usize {
        self.buckets.ids.capacity() * 8
            + self.buckets.data.capacity() * std::mem::size_of::<BucketSk>()
            + self
                .buckets
                .data
                .iter()
                .map(BucketSk::heap_bytes)
                .sum::<usize>()
            + self.wins.len() * std::mem::size_of::<WinSk>()
            + self.wins.iter().map(WinSk::heap_bytes).sum::<usize>()
            + self.spare.as_ref().map_or(0, BucketSk::heap_bytes)
    }

    /// Slides the running windows from newest bucket `n` (`NONE`: no data yet) to `m > n`:
    /// subtracts the buckets leaving each sliding window, resets windows that start afresh,
    /// then drops the buckets older than the retained span.
    pub fn slide(&mut self, p: &AggPlan, n: i64, m: i64) {
        if n != NONE {
            for (wi, win) in p.wins.iter().enumerate() {
                let w = &mut self.wins[wi];
                if w.vals == 0 {
                    continue;
                }
                if win.fixed {
                    if m.div_euclid(win.nb) != n.div_euclid(win.nb) {
                        *w = WinSk::default();
                    }
                    continue;
                }
                if m - n >= win.nb {
                    *w = WinSk::default();
                    continue;
                }
                // Buckets in (n − nb, m − nb] leave.
                let cutoff = m - win.nb;
                let i0 = self.buckets.ids.partition_point(|&b| b <= n - win.nb);
                let i1 = self.buckets.ids.partition_point(|&b| b <= cutoff);
                for bk in self.buckets.data.range(i0..i1) {
                    w.vals -= bk.vals;
                    for (k, c) in bk.distinct.iter() {
                        w.distinct.sub(k, k.hash64(), *c);
                    }
                    w.q.apply_bucket(&bk.q, false);
                    if let (WinHll::Sparse(c), BucketHll::Sparse(s)) = (&mut w.hll, &bk.hll) {
                        for &h in s.iter() {
                            c.sub(&h, h, 1);
                        }
                    }
                }
                if w.vals == 0 {
                    *w = WinSk::default();
                    continue;
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
        let cut = m - p.ring;
        while self.buckets.ids.front().is_some_and(|&b| b <= cut) {
            self.buckets.ids.pop_front();
            let b = self.buckets.data.pop_front().expect("ids and data match");
            if self.spare.is_none() {
                self.spare = Some(recycle(b));
            }
        }
    }

    /// Adds one value at bucket `b` (the aggregator's newest bucket being `newest >= b`) to its
    /// bucket and to every window that holds that bucket at the newest bucket.
    pub fn add(&mut self, p: &AggPlan, b: i64, newest: i64, v: &SketchIn<'_>) {
        let i = self.bucket_index(b);
        let h = v.key.map_or(0, DistinctKey::hash64);
        let bk = &mut self.buckets.data[i];
        bk.vals += 1;
        if let (true, Some(k)) = (p.needs.distinct, v.key) {
            bk.distinct.add(k, h, 1);
        }
        let hll_changed = p.needs.hll && v.key.is_some() && bk.hll.insert(h);
        let bucket_dense = matches!(bk.hll, BucketHll::Dense(_));
        if let (true, Some(x)) = (p.needs.quantile, v.x) {
            bk.q.add(x);
        }
        for (wi, win) in p.wins.iter().enumerate() {
            if b < newest && !win.contains_at(b, newest) {
                continue;
            }
            let w = &mut self.wins[wi];
            w.vals += 1;
            if let (true, Some(k)) = (p.needs.distinct, v.key) {
                w.distinct.add(k, h, 1);
            }
            if let (true, Some(x)) = (p.needs.quantile, v.x) {
                w.q.add(x);
            }
            if !hll_changed {
                continue;
            }
            match &mut w.hll {
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

    /// Index of bucket `b`'s entry, inserting an empty one (late buckets: searched from the
    /// newest back, where late events usually land).
    #[inline]
    fn bucket_index(&mut self, b: i64) -> usize {
        let ids = &mut self.buckets.ids;
        let len = ids.len();
        if len > 0 && ids[len - 1] == b {
            return len - 1;
        }
        let at = ids.partition_point(|&x| x < b);
        if at < len && ids[at] == b {
            return at;
        }
        let fresh = self.spare.take().unwrap_or_default();
        ids.insert(at, b);
        self.buckets.data.insert(at, fresh);
        at
    }

    /// Merges the retained buckets in `[lo, hi]` (reads at a time other than the newest bucket).
    pub fn merged(&self, p: &AggPlan, lo: i64, hi: i64) -> Merged<'_> {
        let mut m = Merged::default();
        let start = self.buckets.ids.partition_point(|&b| b < lo);
        let end = self.buckets.ids.partition_point(|&b| b <= hi);
        let mut regs: Option<Box<[u8; HLL_M]>> = None;
        let mut hashes: HashTable<u64> = HashTable::new();
        for bk in self.buckets.data.range(start..end) {
            if p.needs.distinct {
                for (k, _) in bk.distinct.iter() {
                    let h = k.hash64();
                    if m.distinct.find(h, |x| *x == k).is_none() {
                        m.distinct.insert_unique(h, k, |x| x.hash64());
                    }
                }
            }
            if p.needs.quantile {
                m.q.apply_bucket(&bk.q, true);
            }
            if p.needs.hll {
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
        m.hll = match regs {
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
        };
        m
    }
}

/// Clears a dropped bucket for reuse, keeping its (small) allocations; a dense HyperLogLog is
/// dropped rather than kept for a bucket that may stay small.
fn recycle(mut b: BucketSk) -> BucketSk {
    b.vals = 0;
    b.distinct.clear();
    b.q.0.clear();
    b.hll = match b.hll {
        BucketHll::Sparse(mut s) => {
            s.clear();
            BucketHll::Sparse(s)
        }
        BucketHll::Dense(_) => BucketHll::default(),
    };
    b
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
        WinHll::Sparse(_) => DenseWin::new(),
    };
    // Suffix maxima, newest bucket first; each bucket records the registers it raised.
    let mut flip = lo;
    for (bk_id, bk) in inside().rev() {
        flip = flip.max(bk_id + 1);
        let start = d.diffs.len() as u32;
        let DenseWin {
            f,
            diffs,
            sum,
            zeros,
            ..
        } = &mut *d;
        bk.hll.for_each_reg(|i, rho| {
            let old = f[i];
            if rho > old {
                diffs.push((i as u32) << 8 | old as u32);
                f[i] = rho;
                *sum = *sum - hll_term(old) + hll_term(rho);
                *zeros -= (old == 0) as u32;
            }
        });
        d.front.push((bk_id, start));
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
    pub fn quantile(&self, q: f64) -> f64 {
        self.q.quantile(q)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            let got = h.quantile(q);
            assert!(
                (got - want).abs() <= ALPHA * want.abs() + 1e-12,
                "q{q}: {got} vs {want}"
            );
        }
        // Removing the values again (as a leaving bucket does) leaves exactly the rest.
        let mut part = BucketQ::default();
        for &x in &xs[..1500] {
            part.add(x);
        }
        h.apply_bucket(&part, false);
        assert_eq!(h.count(), 500);
        let mut tail: Vec<f64> = xs[1500..].to_vec();
        tail.sort_by(f64::total_cmp);
        let got = h.quantile(0.5);
        let want = tail[(0.5 * 499.0) as usize];
        assert!((got - want).abs() <= ALPHA * want.abs(), "{got} vs {want}");
        let mut rest = BucketQ::default();
        xs[1500..].iter().for_each(|&x| rest.add(x));
        h.apply_bucket(&rest, false);
        assert_eq!(h.count(), 0);
        assert!(h.quantile(0.5).is_nan());
        assert_eq!(h.heap_bytes(), 0, "an emptied histogram frees its storage");
    }

    #[test]
    fn histogram_special_values() {
        let mut h = QHist::default();
        for x in [f64::NEG_INFINITY, -2.0, 0.0, -0.0, 3.0, f64::INFINITY] {
            h.add(x);
        }
        assert_eq!(h.quantile(0.0), f64::NEG_INFINITY);
        assert_eq!(h.quantile(1.0), f64::INFINITY);
        assert_eq!(h.quantile(0.4), 0.0, "rank 2 of 6");
        assert!((h.quantile(0.2) + 2.0).abs() <= 0.02);
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
