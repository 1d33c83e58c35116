//! approx_count_distinct: HyperLogLog with a sliding maximum of registers per window.

use super::*;

/// HyperLogLog precision: `m = 2^12` registers, standard error ≈ `1.04/√m` ≈ 1.6 %.
pub(crate) const HLL_P: u32 = 12;
/// Number of registers.
pub(crate) const HLL_M: usize = 1 << HLL_P;
/// Distinct hashes a bucket or a window keeps exactly before it switches to registers.
pub(crate) const HLL_SPARSE_MAX: usize = 256;

/// Register index (top `p` bits) and rank (leading zeros of the other bits, plus one).
#[inline]
pub(super) fn hll_split(h: u64) -> (usize, u8) {
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
pub(super) fn hll_term(rho: u8) -> u128 {
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
    pub(super) fn insert(&mut self, h: u64) -> bool {
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
    pub(super) fn for_each_reg(&self, mut f: impl FnMut(usize, u8)) {
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

    /// Hints the CPU to load the start of a sparse bucket's hashes.
    #[inline]
    pub(super) fn prefetch(&self) {
        if let BucketHll::Sparse(s) = self {
            crate::prefetch::prefetch_slice(&s[..s.len().min(8)]);
        }
    }

    pub(super) fn heap_bytes(&self) -> usize {
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
    pub(super) f: [u8; HLL_M],
    pub(super) b: [u8; HLL_M],
    pub(super) sum: u128,
    pub(super) zeros: u32,
    /// Buckets `>= flip` are in the back part.
    pub(super) flip: i64,
    /// Front buckets, newest first: (bucket, start of its changes in `diffs`).
    pub(super) front: Vec<(i64, u32)>,
    /// Per front bucket the registers it raised while the suffix maxima were built:
    /// `register << 8 | value before`, replayed in reverse when the bucket leaves.
    pub(super) diffs: Vec<u32>,
}

impl DenseWin {
    pub(super) fn new() -> Box<DenseWin> {
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
    pub(super) fn change(&mut self, old: u8, new: u8) {
        if old != new {
            self.sum = self.sum - hll_term(old) + hll_term(new);
            self.zeros = self.zeros + (new == 0) as u32 - (old == 0) as u32;
        }
    }

    /// Folds a value of a back bucket.
    #[inline]
    pub(super) fn insert_back(&mut self, i: usize, rho: u8) {
        if rho > self.b[i] {
            let old = self.f[i].max(self.b[i]);
            self.b[i] = rho;
            self.change(old, old.max(rho));
        }
    }

    /// Adds bucket `bk` (older than the front buckets so far) to the front: raises the suffix
    /// maxima `f` to its registers, recording the registers it raised.
    pub(super) fn push_front(&mut self, bk: i64, hll: &BucketHll) {
        let start = self.diffs.len() as u32;
        let DenseWin {
            f,
            diffs,
            sum,
            zeros,
            ..
        } = self;
        let raise = |i: usize, rho: u8| {
            let old = f[i];
            if rho > old {
                diffs.push((i as u32) << 8 | old as u32);
                f[i] = rho;
                *sum = *sum - hll_term(old) + hll_term(rho);
                *zeros -= (old == 0) as u32;
            }
        };
        hll.for_each_reg(raise);
        self.front.push((bk, start));
    }

    /// Drops the front buckets `<= cutoff`, replaying their recorded changes.
    pub(super) fn pop_front(&mut self, cutoff: i64) {
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
    pub(super) fn estimate(&self) -> f64 {
        hll_estimate(self.sum, self.zeros)
    }
}

/// HyperLogLog estimate from Σ2^-M (units of 2^-53) and the number of zero registers.
pub(super) fn hll_estimate(sum: u128, zeros: u32) -> f64 {
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
    /// Beside count_distinct: the window's exact count is the estimate (no state of its own).
    Exact,
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
            WinHll::Exact => unreachable!("an exact window's estimate is its count_distinct"),
            WinHll::Dense(d) => d.estimate().round(),
        }
    }
    pub(super) fn heap_bytes(&self) -> usize {
        match self {
            WinHll::Sparse(c) => c.heap_bytes(),
            WinHll::Exact => 0,
            WinHll::Dense(d) => {
                std::mem::size_of::<DenseWin>()
                    + d.front.capacity() * std::mem::size_of::<(i64, u32)>()
                    + d.diffs.capacity() * 4
            }
        }
    }
}
