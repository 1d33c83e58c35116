//! Per-key state: for each aggregator a ring of period-long buckets (flat f64 columns, one slot
//! per bucket) plus running values of every window at the key's newest bucket.
//!
//! Layout (offsets precomputed in [`AggPlan`]): `data` starts with the running values of every
//! window of every aggregator (`RUN_STRIDE` f64 each, adjacent, so a read touches few cache
//! lines), then per aggregator its ring of buckets, each bucket the kept columns of
//! `count, sum, sqr, min, max, first, last` side by side (one cache line per bucket update);
//! `times` holds the running first/last times, then the first/last time rings.
//! The bucket `b` lives at ring position `head − (newest − b)` (mod ring), so no division is
//! needed on the hot path.

use crate::geometry::*;
use crate::sketch::SketchBucket;

/// No event yet for this key × aggregator.
pub(crate) const NONE: i64 = i64::MIN;

/// Where the ring of one aggregator stands.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hdr {
    /// Newest bucket seen by this aggregator for this key (`NONE` before the first event).
    pub newest: i64,
    /// Ring position of `newest`.
    pub head: u32,
}

/// The state of one key: create with `Aggregations::new_state`, one per key (e.g. per dense slot).
pub struct KeyState {
    pub(crate) hdr: Box<[Hdr]>,
    /// Per aggregator: one bit per ring position, set when the bucket is non-empty, so slides,
    /// evictions and folds touch only buckets that hold data (a key's state is usually cold).
    pub(crate) occ: Box<[u64]>,
    pub(crate) data: Box<[f64]>,
    pub(crate) times: Box<[i64]>,
    /// Per aggregator: one lazily allocated sketch per ring position (empty if no sketch op).
    pub(crate) sketches: Box<[SketchRing]>,
}

impl std::fmt::Debug for KeyState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyState")
            .field("aggregators", &self.hdr.len())
            .field("f64_slots", &self.data.len())
            .finish()
    }
}

/// One lazily allocated sketch per ring position (empty if the aggregator has no sketch op).
pub(crate) type SketchRing = Box<[Option<Box<SketchBucket>>]>;

/// Empty-bucket value of each column: min/max use ±inf so folding needs no emptiness test.
pub(crate) const EMPTY: [f64; 7] = [
    0.0,
    0.0,
    0.0,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::NAN,
    f64::NAN,
];
/// Empty first/last times: any real time compares below/above them.
pub(crate) const EMPTY_T: [i64; 2] = [i64::MAX, i64::MIN];

/// A window's aggregate (from running values or folded from buckets).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Acc {
    pub v: [f64; 7],
    pub t: [i64; 2],
}

impl Acc {
    pub const EMPTY: Acc = Acc {
        v: EMPTY,
        t: EMPTY_T,
    };

    /// Folds one bucket (buckets are folded oldest → newest, so for first/last a strict
    /// comparison keeps the earlier arrival on a tie, which can only happen inside one bucket).
    #[inline]
    pub fn merge(&mut self, b: &Acc) {
        if b.v[C_COUNT] == 0.0 {
            return;
        }
        self.v[C_COUNT] += b.v[C_COUNT];
        self.v[C_SUM] += b.v[C_SUM];
        self.v[C_SQR] += b.v[C_SQR];
        self.v[C_MIN] = self.v[C_MIN].min(b.v[C_MIN]);
        self.v[C_MAX] = self.v[C_MAX].max(b.v[C_MAX]);
        if b.t[0] < self.t[0] {
            self.t[0] = b.t[0];
            self.v[C_FIRST] = b.v[C_FIRST];
        }
        if b.t[1] > self.t[1] {
            self.t[1] = b.t[1];
            self.v[C_LAST] = b.v[C_LAST];
        }
    }

    /// Caps every raw value at `m` (`max_value`).
    pub fn cap(&mut self, m: f64) {
        for x in &mut self.v {
            if *x > m {
                *x = m;
            }
        }
    }
}

impl AggPlan {
    /// Whether ring position `pos` holds data.
    #[inline]
    pub fn occupied(&self, occ: &[u64], pos: usize) -> bool {
        occ[self.occ + pos / 64] & (1u64 << (pos % 64)) != 0
    }

    /// Ring position of bucket `b` (`newest − ring < b <= newest`).
    #[inline]
    pub fn pos(&self, h: Hdr, b: i64) -> usize {
        let d = (h.newest - b) as usize;
        let head = h.head as usize;
        if d <= head {
            head - d
        } else {
            head + self.ring - d
        }
    }

    /// Reads one bucket.
    #[inline]
    pub fn bucket(&self, data: &[f64], times: &[i64], pos: usize) -> Acc {
        let mut a = Acc::EMPTY;
        for (c, o) in self.col.iter().enumerate() {
            if *o != usize::MAX {
                a.v[c] = data[o + pos * self.stride];
            }
        }
        for (c, o) in self.tcol.iter().enumerate() {
            if *o != usize::MAX {
                a.t[c] = times[o + pos * self.tstride];
            }
        }
        a
    }

    /// Resets one bucket to empty (its sketches too) if it holds data.
    #[inline]
    pub fn clear_bucket(
        &self,
        occ: &mut [u64],
        data: &mut [f64],
        times: &mut [i64],
        sk: &mut [Option<Box<SketchBucket>>],
        pos: usize,
    ) {
        let (w, bit) = (self.occ + pos / 64, 1u64 << (pos % 64));
        if occ[w] & bit == 0 {
            return;
        }
        occ[w] &= !bit;
        for (c, o) in self.col.iter().enumerate() {
            if *o != usize::MAX {
                data[o + pos * self.stride] = EMPTY[c];
            }
        }
        for (c, o) in self.tcol.iter().enumerate() {
            if *o != usize::MAX {
                times[o + pos * self.tstride] = EMPTY_T[c];
            }
        }
        if let Some(s) = sk.get_mut(pos) {
            *s = None;
        }
    }

    /// Adds one numeric value (count-only aggregators pass 0.0) at event time `t` to bucket `pos`.
    #[inline]
    pub fn add_to_bucket(
        &self,
        occ: &mut [u64],
        data: &mut [f64],
        times: &mut [i64],
        pos: usize,
        x: f64,
        t: i64,
    ) {
        let n = &self.needs;
        occ[self.occ + pos / 64] |= 1u64 << (pos % 64);
        data[self.col[C_COUNT] + pos * self.stride] += 1.0;
        if n.sum {
            data[self.col[C_SUM] + pos * self.stride] += x;
        }
        if n.sqr {
            data[self.col[C_SQR] + pos * self.stride] += x * x;
        }
        if n.min {
            let m = &mut data[self.col[C_MIN] + pos * self.stride];
            *m = m.min(x);
        }
        if n.max {
            let m = &mut data[self.col[C_MAX] + pos * self.stride];
            *m = m.max(x);
        }
        if n.first && t < times[self.tcol[0] + pos * self.tstride] {
            times[self.tcol[0] + pos * self.tstride] = t;
            data[self.col[C_FIRST] + pos * self.stride] = x;
        }
        // `>` keeps the earlier arrival on a tie; the empty time is i64::MIN, so the very first
        // value always lands (an event at exactly i64::MIN ns is 1677 and cannot be parsed).
        if n.last && t > times[self.tcol[1] + pos * self.tstride] {
            times[self.tcol[1] + pos * self.tstride] = t;
            data[self.col[C_LAST] + pos * self.stride] = x;
        }
    }

    /// Folds buckets `[lo, hi]` ∩ the retained ring, capping each bucket and the result at
    /// `cap` (`max_value` for reads; `None` when rebuilding running values).
    pub fn fold(
        &self,
        h: Hdr,
        occ: &[u64],
        data: &[f64],
        times: &[i64],
        (lo, hi): (i64, i64),
        cap: Option<f64>,
    ) -> Acc {
        let mut acc = Acc::EMPTY;
        if h.newest == NONE {
            return acc;
        }
        let lo = lo.max(h.newest - self.ring as i64 + 1);
        let hi = hi.min(h.newest);
        if lo > hi {
            return acc;
        }
        let mut pos = self.pos(h, lo);
        for _ in lo..=hi {
            if self.occupied(occ, pos) {
                let mut b = self.bucket(data, times, pos);
                if let Some(m) = cap {
                    b.cap(m);
                }
                acc.merge(&b);
            }
            pos += 1;
            if pos == self.ring {
                pos = 0;
            }
        }
        if let Some(m) = cap {
            acc.cap(m);
        }
        acc
    }

    /// Running block of window `w`.
    #[inline]
    pub fn run_at(&self, w: usize) -> usize {
        self.run + w * RUN_STRIDE
    }

    /// Reads the running values of window `w`.
    #[inline]
    pub fn running(&self, data: &[f64], times: &[i64], w: usize) -> Acc {
        let r = self.run_at(w);
        let mut a = Acc {
            v: [0.0; 7],
            t: [times[self.trun + 2 * w], times[self.trun + 2 * w + 1]],
        };
        a.v.copy_from_slice(&data[r..r + 7]);
        a
    }

    /// Overwrites the running values of window `w`.
    #[inline]
    pub fn set_running(&self, data: &mut [f64], times: &mut [i64], w: usize, a: &Acc) {
        let r = self.run_at(w);
        data[r..r + 7].copy_from_slice(&a.v);
        times[self.trun + 2 * w] = a.t[0];
        times[self.trun + 2 * w + 1] = a.t[1];
    }
}
