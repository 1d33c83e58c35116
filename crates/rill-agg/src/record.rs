//! Records: a bucket's or a window's aggregate stored as the few `u64` words its aggregator's
//! ops need (`count`, then `sum, sqr, min, max, first, first time, last, last time` when kept).
//!
//! Every record operation is generic over `const B: u8`, the set of kept columns (bit 0 sum,
//! 1 sqr, 2 min, 3 max, 4 first, 5 last). For the common sets (`with_layout!`) the offsets are
//! compile-time constants, so adding a value or reading a feature is a few straight-line
//! loads and stores; any other set runs the same code with `B = RT`, which reads the offsets
//! from the plan at run time (correct for every set, just slower).

use crate::geometry::*;
use crate::state::{Acc, Region};
use crate::Op;

/// Layout parameter meaning "offsets from `AggPlan::vcol` at run time".
pub(crate) const RT: u8 = 0x80;

/// Column sets compiled with constant offsets (must match the arms of `with_layout!`; a set
/// missing there still works through `RT`). Chosen for the usual op lists: count only; sum/avg;
/// min; max; min+max; avg+min+max; stdvar (sum+sqr); all four; first; last; first+last.
pub(crate) const SPECIALIZED: [u8; 11] = [0, 1, 3, 4, 8, 12, 13, 15, 16, 32, 48];

/// Calls `$f::<B, extra generics>(args)` with `B` = the plan's layout: a constant for the specialised sets,
/// `RT` otherwise.
macro_rules! with_layout {
    ($bits:expr, $f:ident $(::<$($g:ty),*>)? ( $($a:expr),* $(,)? )) => {
        match $bits {
            0 => $f::<0 $($(, $g)*)?>($($a),*),
            1 => $f::<1 $($(, $g)*)?>($($a),*),
            3 => $f::<3 $($(, $g)*)?>($($a),*),
            4 => $f::<4 $($(, $g)*)?>($($a),*),
            8 => $f::<8 $($(, $g)*)?>($($a),*),
            12 => $f::<12 $($(, $g)*)?>($($a),*),
            13 => $f::<13 $($(, $g)*)?>($($a),*),
            15 => $f::<15 $($(, $g)*)?>($($a),*),
            16 => $f::<16 $($(, $g)*)?>($($a),*),
            32 => $f::<32 $($(, $g)*)?>($($a),*),
            48 => $f::<48 $($(, $g)*)?>($($a),*),
            _ => $f::<{ $crate::record::RT } $($(, $g)*)?>($($a),*),
        }
    };
}
pub(crate) use with_layout;

/// Bit of column `c` (`C_*` or `T_*`) in a layout set; count is always kept.
const fn bit(c: usize) -> u8 {
    match c {
        C_SUM => 1,
        C_SQR => 2,
        C_MIN => 4,
        C_MAX => 8,
        C_FIRST | T_FIRST => 16,
        C_LAST | T_LAST => 32,
        _ => 0,
    }
}

/// 1 if layout `b` has bit `m`.
const fn n(b: u8, m: u8) -> usize {
    (b & m != 0) as usize
}

/// Offset of column `c` in a record of layout `b` (meaningful only if the column is kept).
pub(crate) const fn const_off(b: u8, c: usize) -> usize {
    let first = 1 + n(b, 1) + n(b, 2) + n(b, 4) + n(b, 8);
    match c {
        C_COUNT => 0,
        C_SUM => 1,
        C_SQR => 1 + n(b, 1),
        C_MIN => 1 + n(b, 1) + n(b, 2),
        C_MAX => 1 + n(b, 1) + n(b, 2) + n(b, 4),
        C_FIRST => first,
        T_FIRST => first + 1,
        C_LAST => first + 2 * n(b, 16),
        T_LAST => first + 2 * n(b, 16) + 1,
        _ => usize::MAX,
    }
}

/// Words of a record of layout `b`.
pub(crate) const fn const_len(b: u8) -> usize {
    1 + n(b, 1) + n(b, 2) + n(b, 4) + n(b, 8) + 2 * n(b, 16) + 2 * n(b, 32)
}

/// Layout bits of a plan's needs.
pub(crate) fn layout_bits(n: &crate::op::Needs) -> u8 {
    n.sum as u8
        | (n.sqr as u8) << 1
        | (n.min as u8) << 2
        | (n.max as u8) << 3
        | (n.first as u8) << 4
        | (n.last as u8) << 5
}

/// Whether column `c` is kept.
#[inline(always)]
pub(crate) fn has<const B: u8>(p: &AggPlan, c: usize) -> bool {
    if B == RT {
        p.vcol[c] != NO
    } else {
        c == C_COUNT || B & bit(c) != 0
    }
}

/// Offset of a kept column `c`.
#[inline(always)]
pub(crate) fn off<const B: u8>(p: &AggPlan, c: usize) -> usize {
    if B == RT {
        p.vcol[c] as usize
    } else {
        const_off(B, c)
    }
}

#[inline(always)]
fn getf<const B: u8>(p: &AggPlan, rec: &[u64], c: usize) -> f64 {
    f64::from_bits(rec[off::<B>(p, c)])
}

#[inline(always)]
fn setf<const B: u8>(p: &AggPlan, rec: &mut [u64], c: usize, x: f64) {
    rec[off::<B>(p, c)] = x.to_bits();
}

/// Reads a record (unkept columns get their empty values).
#[inline(always)]
pub(crate) fn load<const B: u8>(p: &AggPlan, rec: &[u64]) -> Acc {
    let mut a = Acc::EMPTY;
    for c in C_COUNT..=C_LAST {
        if has::<B>(p, c) {
            a.v[c] = getf::<B>(p, rec, c);
        }
    }
    if has::<B>(p, T_FIRST) {
        a.t[0] = rec[off::<B>(p, T_FIRST)] as i64;
    }
    if has::<B>(p, T_LAST) {
        a.t[1] = rec[off::<B>(p, T_LAST)] as i64;
    }
    a
}

/// Writes the kept columns of `a` to a record.
#[inline(always)]
pub(crate) fn store<const B: u8>(p: &AggPlan, rec: &mut [u64], a: &Acc) {
    for c in C_COUNT..=C_LAST {
        if has::<B>(p, c) {
            setf::<B>(p, rec, c, a.v[c]);
        }
    }
    if has::<B>(p, T_FIRST) {
        rec[off::<B>(p, T_FIRST)] = a.t[0] as u64;
    }
    if has::<B>(p, T_LAST) {
        rec[off::<B>(p, T_LAST)] = a.t[1] as u64;
    }
}

/// Adds one numeric value (count-only aggregators pass 0.0) at event time `t` to a record.
/// Returns true when the sum lost most of its significant bits (`|sum| < cancel·|x|`), so a
/// running value can be rebuilt exactly.
#[inline(always)]
pub(crate) fn add_value<const B: u8>(
    p: &AggPlan,
    rec: &mut [u64],
    x: f64,
    t: i64,
    cancel: f64,
) -> bool {
    rec[0] = (f64::from_bits(rec[0]) + 1.0).to_bits();
    let mut cancelled = false;
    if has::<B>(p, C_SUM) {
        let s = getf::<B>(p, rec, C_SUM) + x;
        setf::<B>(p, rec, C_SUM, s);
        cancelled = s.abs() < cancel * x.abs();
    }
    if has::<B>(p, C_SQR) {
        let s = getf::<B>(p, rec, C_SQR) + x * x;
        setf::<B>(p, rec, C_SQR, s);
    }
    if has::<B>(p, C_MIN) {
        let m = getf::<B>(p, rec, C_MIN).min(x);
        setf::<B>(p, rec, C_MIN, m);
    }
    if has::<B>(p, C_MAX) {
        let m = getf::<B>(p, rec, C_MAX).max(x);
        setf::<B>(p, rec, C_MAX, m);
    }
    if has::<B>(p, C_FIRST) && t < rec[off::<B>(p, T_FIRST)] as i64 {
        rec[off::<B>(p, T_FIRST)] = t as u64;
        setf::<B>(p, rec, C_FIRST, x);
    }
    // `>` keeps the earlier arrival on a tie; the empty time is i64::MIN, so the very first
    // value always lands (an event at exactly i64::MIN ns is 1677 and cannot be parsed).
    if has::<B>(p, C_LAST) && t > rec[off::<B>(p, T_LAST)] as i64 {
        rec[off::<B>(p, T_LAST)] = t as u64;
        setf::<B>(p, rec, C_LAST, x);
    }
    cancelled
}

/// Folds live entries `i..` of region `r` while their bucket is `<= hi`, capping each bucket
/// and the result at `cap` (`max_value` for reads; `None` when rebuilding running values).
pub(crate) fn fold_from<const B: u8>(
    p: &AggPlan,
    w: &[u64],
    r: &Region,
    mut i: usize,
    hi: i64,
    cap: Option<f64>,
) -> Acc {
    let mut acc = Acc::EMPTY;
    while i < r.len {
        let e = p.entry(r, i);
        if w[e] as i64 > hi {
            break;
        }
        let mut b = load::<B>(p, &w[e + 1..]);
        if let Some(m) = cap {
            b.cap(m);
        }
        acc.merge(&b);
        i += 1;
    }
    if let Some(m) = cap {
        acc.cap(m);
    }
    acc
}

/// Folds the retained buckets in `[lo, hi]` (entries older than the retained span may still
/// be stored until their region needs room: they are skipped).
pub(crate) fn fold<const B: u8>(
    p: &AggPlan,
    w: &[u64],
    (lo, hi): (i64, i64),
    cap: Option<f64>,
) -> Acc {
    let lo = lo.max(p.newest(w) - p.ring + 1);
    let r = p.region(w);
    let i = p.lower_bound(w, &r, lo);
    fold_from::<B>(p, w, &r, i, hi, cap)
}

/// The feature value of a raw or derived op straight from a record (no `Acc`): the read path
/// at the key's newest bucket. Same results as [`value_of`].
#[inline(always)]
pub(crate) fn value_of_rec<const B: u8>(p: &AggPlan, op: &Op, rec: &[u64]) -> f64 {
    let n = f64::from_bits(rec[0]);
    if n == 0.0 {
        return match op {
            Op::Count | Op::Sum | Op::Sqr => 0.0,
            _ => f64::NAN,
        };
    }
    match op {
        Op::Count => n,
        Op::Sum => getf::<B>(p, rec, C_SUM),
        Op::Sqr => getf::<B>(p, rec, C_SQR),
        Op::Min => getf::<B>(p, rec, C_MIN),
        Op::Max => getf::<B>(p, rec, C_MAX),
        Op::First => getf::<B>(p, rec, C_FIRST),
        Op::Last => getf::<B>(p, rec, C_LAST),
        Op::Avg => getf::<B>(p, rec, C_SUM) / n,
        Op::StdVar => stdvar(n, getf::<B>(p, rec, C_SUM), getf::<B>(p, rec, C_SQR)),
        Op::StdDev => stdvar(n, getf::<B>(p, rec, C_SUM), getf::<B>(p, rec, C_SQR)).sqrt(),
        Op::CountDistinct | Op::ApproxCountDistinct | Op::Quantile(_) => f64::NAN,
    }
}

/// The feature value of a raw or derived op from a window aggregate; empty windows give 0 for
/// count/sum/sqr and NaN otherwise, whatever path produced the aggregate.
#[inline]
pub(crate) fn value_of(op: &Op, a: &Acc) -> f64 {
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
pub(crate) fn stdvar(n: f64, sum: f64, sqr: f64) -> f64 {
    if n <= 1.0 {
        return f64::NAN;
    }
    ((n * sqr - sum * sum) / (n * (n - 1.0))).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_offsets_match_runtime_layout() {
        // Every set of needs: constant offsets equal the plan's run-time offsets.
        for b in 0u8..64 {
            let mut vcol = [NO; 9];
            let order = [
                C_COUNT, C_SUM, C_SQR, C_MIN, C_MAX, C_FIRST, T_FIRST, C_LAST, T_LAST,
            ];
            let mut i = 0u8;
            for c in order {
                if c == C_COUNT || b & bit(c) != 0 {
                    vcol[c] = i;
                    i += 1;
                }
            }
            for (c, o) in vcol.iter().enumerate() {
                if *o != NO {
                    assert_eq!(const_off(b, c), *o as usize, "layout {b} column {c}");
                }
            }
            assert_eq!(const_len(b), i as usize, "layout {b}");
        }
    }
}
