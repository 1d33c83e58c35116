//! Quantiles: a log-bucketed histogram (DDSketch's mapping) whose counts subtract exactly.

use crate::prefetch::{prefetch_one, prefetch_slice};
use crate::Rank;

/// Relative accuracy of quantiles: every estimate `e` of a value `x` has `|e − x| ≤ ALPHA·|x|`.
pub(crate) const ALPHA: f64 = 0.01;
/// `γ = (1 + α) / (1 − α)`: bin `k` holds the magnitudes in `(γ^(k−1), γ^k]`.
pub(super) const GAMMA: f64 = (1.0 + ALPHA) / (1.0 - ALPHA);
/// `ln γ` (checked against `GAMMA.ln()` in a test; `ln` is not const).
pub(super) const LN_GAMMA: f64 = 0.020_000_666_706_669_435;

/// Bin of a magnitude `m > 0` (finite; subnormals included).
#[inline]
pub(super) fn bin_of(m: f64) -> i32 {
    (m.ln() / LN_GAMMA).ceil() as i32
}

/// The estimate of every magnitude in bin `k`: `2γ^k / (γ + 1)`, within `α` of each of them.
#[inline]
pub(super) fn bin_value(k: i32) -> f64 {
    ((k as f64 * LN_GAMMA).exp() * (2.0 / (GAMMA + 1.0))).min(f64::MAX)
}

/// Offset of the codes of positive bins (bins span about ±40 000 over all finite doubles).
pub(super) const CODE_OFF: i32 = 1 << 20;

/// One `i32` ordering all values the way a bucket stores them: `0` for zeros, `±(CODE_OFF + bin)`
/// for positive/negative values, `i32::MAX`/`i32::MIN` for ±∞.
#[inline]
pub(super) fn code_of(x: f64) -> i32 {
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

/// Bins per block of a dense store: a quantile walk skips whole blocks by their sums.
pub(super) const BLOCK: usize = 64;

/// Counts per bin of one sign: a sorted sparse list while small or spread out, else a dense
/// array over the bins spanned (aligned to [`BLOCK`]) with per-block sums.
#[derive(Default)]
pub(super) struct Bins {
    pub(super) total: u64,
    pub(super) repr: BinsRepr,
}

pub(super) enum BinsRepr {
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

/// A sparse list this long turns dense when the bins it spans are at most 16× as many (the
/// dense array is then at most 8× its bytes), or in any case at this length × 16 (insertion
/// into a long sorted list moves too much). Only windows keep histograms (a key has a few), and
/// every window update reads the bins at the new value and at each quantile's cursor: in a
/// dense array one load each, in a sparse list a binary search each (with 4× as the limit, a
/// 1-hour window of W1's amounts, ~36 values over ~300 bins, stayed sparse).
pub(super) const SPARSE_BINS: usize = 32;
/// See [`SPARSE_BINS`].
const DENSE_SPAN: usize = 16;

impl Bins {
    #[inline]
    pub(super) fn add(&mut self, k: i32, c: u32) {
        self.total += c as u64;
        match &mut self.repr {
            BinsRepr::Sparse(v) => match v.binary_search_by_key(&k, |e| e.0) {
                Ok(i) => v[i].1 += c,
                Err(i) => {
                    v.insert(i, (k, c));
                    if v.len() >= SPARSE_BINS {
                        let span = (v[v.len() - 1].0 - v[0].0) as usize + 1;
                        if span <= DENSE_SPAN * v.len() || v.len() >= 16 * SPARSE_BINS {
                            self.densify();
                        }
                    }
                }
            },
            BinsRepr::Dense { .. } => self.dense_add(k, c),
        }
    }

    #[inline]
    pub(super) fn dense_add(&mut self, k: i32, c: u32) {
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

    pub(super) fn densify(&mut self) {
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
    pub(super) fn sub(&mut self, k: i32, c: u32) {
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
    pub(super) fn kth(&self, r: u64) -> i32 {
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

    /// Values in bin `k`.
    #[inline]
    pub(super) fn get(&self, k: i32) -> u32 {
        match &self.repr {
            BinsRepr::Sparse(v) => v.binary_search_by_key(&k, |e| e.0).map_or(0, |i| v[i].1),
            BinsRepr::Dense { lo, counts, .. } => {
                let i = k.wrapping_sub(*lo) as u32 as usize;
                counts.get(i).copied().unwrap_or(0)
            }
        }
    }

    /// Hints the CPU to load bin `k`'s count (and its block's sum).
    #[inline]
    pub(super) fn prefetch_bin(&self, k: i32) {
        match &self.repr {
            BinsRepr::Sparse(v) => prefetch_slice(&v[..v.len().min(8)]),
            BinsRepr::Dense { lo, counts, blocks } => {
                let i = k.wrapping_sub(*lo) as u32 as usize;
                if let Some(c) = counts.get(i) {
                    prefetch_one(c);
                    prefetch_one(&blocks[i / BLOCK]);
                }
            }
        }
    }

    /// The smallest non-empty bin above `k` (any bin for `None`).
    pub(super) fn above(&self, k: Option<i32>) -> Option<i32> {
        if self.total == 0 {
            return None;
        }
        match &self.repr {
            BinsRepr::Sparse(v) => {
                let i = k.map_or(0, |k| v.partition_point(|e| e.0 <= k));
                v.get(i).map(|e| e.0)
            }
            BinsRepr::Dense { lo, counts, blocks } => {
                let start = k.map_or(0, |k| (k - *lo + 1).max(0) as usize);
                // the rest of the start's block bin by bin, then whole blocks by their sums
                let end = (start / BLOCK + 1) * BLOCK;
                let in_block = (start..end.min(counts.len())).find(|&i| counts[i] > 0);
                let i = in_block.or_else(|| {
                    let b = (end / BLOCK..blocks.len()).find(|&b| blocks[b] > 0)?;
                    (b * BLOCK..).find(|&i| counts[i] > 0)
                })?;
                Some(*lo + i as i32)
            }
        }
    }

    /// The largest non-empty bin below `k` (any bin for `None`).
    pub(super) fn below(&self, k: Option<i32>) -> Option<i32> {
        if self.total == 0 {
            return None;
        }
        match &self.repr {
            BinsRepr::Sparse(v) => {
                let i = k.map_or(v.len(), |k| v.partition_point(|e| e.0 < k));
                i.checked_sub(1).map(|i| v[i].0)
            }
            BinsRepr::Dense { lo, counts, blocks } => {
                // bins [0, end) are candidates
                let end = k.map_or(counts.len(), |k| {
                    (k - *lo).clamp(0, counts.len() as i32) as usize
                });
                let block_start = end.saturating_sub(1) / BLOCK * BLOCK;
                let in_block = (block_start..end).rev().find(|&i| counts[i] > 0);
                let i = in_block.or_else(|| {
                    let b = (0..block_start / BLOCK).rev().find(|&b| blocks[b] > 0)?;
                    (b * BLOCK..(b + 1) * BLOCK).rev().find(|&i| counts[i] > 0)
                })?;
                Some(*lo + i as i32)
            }
        }
    }

    pub(super) fn heap_bytes(&self) -> usize {
        match &self.repr {
            BinsRepr::Sparse(v) => v.capacity() * std::mem::size_of::<(i32, u32)>(),
            BinsRepr::Dense { counts, blocks, .. } => (counts.capacity() + blocks.capacity()) * 4,
        }
    }
}

/// Grows a dense store to cover bin `k`, by whole blocks plus a quarter of its size as slack
/// on the side that grows (so a drifting range re-allocates O(log) times).
#[cold]
pub(super) fn grow(lo: &mut i32, counts: &mut Vec<u32>, blocks: &mut Vec<u32>, k: i32) {
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
    pub(super) neg: Bins,
    pub(super) pos: Bins,
    pub(super) zero: u64,
    pub(super) neg_inf: u64,
    pub(super) pos_inf: u64,
}

impl QHist {
    /// Adds one value (not NaN). (The engine adds by bin code, computed once per event.)
    #[cfg(test)]
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
    pub(super) fn apply(&mut self, code: i32, c: u32, add: bool) {
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

    pub fn count(&self) -> u64 {
        self.neg_inf + self.neg.total + self.zero + self.pos.total + self.pos_inf
    }

    /// The estimated quantile `q ∈ [0, 1]`; NaN when empty.
    pub fn quantile(&self, q: Rank) -> f64 {
        let n = self.count();
        if n == 0 {
            return f64::NAN;
        }
        let mut r = q.of(n);
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
