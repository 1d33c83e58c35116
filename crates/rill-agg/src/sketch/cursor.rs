//! Quantile reads in amortised O(1): a cursor per quantile op and window that remembers where
//! the quantile's rank was last found, so a read after one more value (or one leaving bucket)
//! moves a bin or two instead of walking the histogram from an end. A walk from an end reads
//! several cache lines of a window's bins per read; a cursor reads the one it sits in.

use super::quantile::{bin_value, QHist, CODE_OFF};
use crate::Rank;

/// The position of quantile `q` in a window's [`QHist`]: the bin code (see `code_of`) holding
/// the value of rank `⌊q·(n − 1)⌋`, and how many values have a smaller code. The histogram
/// keeps `below` true on every change ([`Cursor::note`]); [`QHist::seek`] then moves the cursor
/// to the rank of the current count.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Cursor {
    /// The quantile.
    pub q: Rank,
    code: i32,
    below: u64,
    /// The value of bin code `code` (an `exp` to compute: kept while the cursor stays put,
    /// which it mostly does from one read to the next).
    val: f64,
}

/// The value a bin code stands for (see `code_of`).
#[inline]
fn code_value(code: i32) -> f64 {
    match code {
        i32::MIN => f64::NEG_INFINITY,
        0 => 0.0,
        i32::MAX => f64::INFINITY,
        k if k > 0 => bin_value(k - CODE_OFF),
        k => -bin_value(-k - CODE_OFF),
    }
}

impl Cursor {
    /// A cursor at the start of an empty histogram.
    pub fn new(q: Rank) -> Cursor {
        Cursor {
            q,
            code: i32::MIN,
            below: 0,
            val: f64::NEG_INFINITY,
        }
    }

    /// Back to the start (the histogram was emptied).
    pub fn reset(&mut self) {
        *self = Cursor::new(self.q);
    }

    /// Records that `c` values of bin code `code` were added (`add`) or removed.
    #[inline]
    pub fn note(&mut self, code: i32, c: u32, add: bool) {
        if code < self.code {
            if add {
                self.below += c as u64;
            } else {
                self.below -= c as u64;
            }
        }
    }
}

impl QHist {
    /// Values of bin code `code`.
    #[inline]
    fn count_at(&self, code: i32) -> u64 {
        match code {
            i32::MIN => self.neg_inf,
            0 => self.zero,
            i32::MAX => self.pos_inf,
            c if c > 0 => self.pos.get(c - CODE_OFF) as u64,
            c => self.neg.get(-c - CODE_OFF) as u64,
        }
    }

    /// The smallest code above `code` that holds values. Ascending codes are: −∞, negative
    /// bins by descending magnitude, zero, positive bins by ascending magnitude, +∞.
    fn next_code(&self, code: i32) -> Option<i32> {
        if code < 0 {
            let from = (code != i32::MIN).then(|| -code - CODE_OFF);
            if let Some(k) = self.neg.below(from) {
                return Some(-(CODE_OFF + k));
            }
            if self.zero > 0 {
                return Some(0);
            }
        }
        if code != i32::MAX {
            let from = (code > 0).then(|| code - CODE_OFF);
            if let Some(k) = self.pos.above(from) {
                return Some(CODE_OFF + k);
            }
            if self.pos_inf > 0 {
                return Some(i32::MAX);
            }
        }
        None
    }

    /// The largest code below `code` that holds values.
    fn prev_code(&self, code: i32) -> Option<i32> {
        if code > 0 {
            let from = (code != i32::MAX).then(|| code - CODE_OFF);
            if let Some(k) = self.pos.below(from) {
                return Some(CODE_OFF + k);
            }
            if self.zero > 0 {
                return Some(0);
            }
        }
        if code != i32::MIN {
            let from = (code < 0).then(|| -code - CODE_OFF);
            if let Some(k) = self.neg.above(from) {
                return Some(-(CODE_OFF + k));
            }
            if self.neg_inf > 0 {
                return Some(i32::MIN);
            }
        }
        None
    }

    /// Moves `c` to the bin of rank `⌊q·(n − 1)⌋` of the current `n` values. The rank moves by
    /// about as many values as were added or removed since the last seek, so the cursor
    /// passes that many non-empty bins at most.
    pub fn seek(&self, c: &mut Cursor) {
        let n = self.count();
        if n == 0 {
            c.reset();
            return;
        }
        let r = c.q.of(n);
        let from = c.code;
        loop {
            if c.below > r {
                c.code = self.prev_code(c.code).expect("values below the cursor");
                c.below -= self.count_at(c.code);
                continue;
            }
            let here = self.count_at(c.code);
            if c.below + here > r {
                break;
            }
            c.below += here;
            c.code = self.next_code(c.code).expect("values above the cursor");
        }
        if c.code != from {
            c.val = code_value(c.code);
        }
    }

    /// Hints the CPU to load the bins around cursor `c`.
    #[inline]
    pub fn prefetch_at(&self, c: &Cursor) {
        match c.code {
            i32::MIN | 0 | i32::MAX => {}
            k if k > 0 => self.pos.prefetch_bin(k - CODE_OFF),
            k => self.neg.prefetch_bin(-k - CODE_OFF),
        }
    }

    /// The quantile at a cursor that was [`seek`](Self::seek)ed after the last change: the
    /// same value as [`quantile`](Self::quantile) of its `q`. NaN when empty.
    pub fn at(&self, c: &Cursor) -> f64 {
        if self.count() == 0 {
            return f64::NAN;
        }
        debug_assert_eq!(c.val.to_bits(), code_value(c.code).to_bits());
        c.val
    }
}

#[cfg(test)]
mod tests {
    use super::super::quantile::code_of;
    use super::*;

    /// xorshift64: the same stream on every run and machine.
    struct XorShift(u64);
    impl XorShift {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
    }

    /// Random adds and removals (single values and whole groups, as buckets leave), with values
    /// of every kind (±∞, zeros, negatives, spread and clustered magnitudes): after each change
    /// every cursor reads exactly what a walk from an end reads.
    #[test]
    fn cursor_reads_what_a_walk_reads() {
        let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
        let qs = [
            (0, 1),
            (1, 100),
            (25, 100),
            (1, 2),
            (7, 10),
            (9, 10),
            (99, 100),
            (999, 1000),
            (1, 1),
        ]
        .map(|(n, d)| Rank::new(n, d).unwrap());
        for round in 0..40 {
            let mut h = QHist::default();
            let mut cur: Vec<Cursor> = qs.iter().map(|&q| Cursor::new(q)).collect();
            let mut held: Vec<f64> = Vec::new();
            for _ in 0..600 {
                let remove = !held.is_empty() && rng.below(3) == 0;
                let batch = if rng.below(10) == 0 {
                    1 + rng.below(20)
                } else {
                    1
                };
                for _ in 0..batch {
                    let (x, add) = if remove && !held.is_empty() {
                        let i = rng.below(held.len() as u64) as usize;
                        (held.swap_remove(i), false)
                    } else {
                        let x = match rng.below(12) {
                            0 => f64::INFINITY,
                            1 => f64::NEG_INFINITY,
                            2 => 0.0,
                            3 => -(rng.below(1000) as f64) * 0.37,
                            4 if round % 2 == 0 => 1e-200 * rng.below(100) as f64,
                            _ => (rng.below(50_000) as f64 + 100.0) / 100.0,
                        };
                        held.push(x);
                        (x, true)
                    };
                    let code = code_of(x);
                    h.apply(code, 1, add);
                    cur.iter_mut().for_each(|c| c.note(code, 1, add));
                }
                for c in &mut cur {
                    h.seek(c);
                    let (got, want) = (h.at(c), h.quantile(c.q));
                    assert!(
                        got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
                        "q {:?}: cursor {got} vs walk {want}",
                        c.q
                    );
                }
            }
        }
    }
}
