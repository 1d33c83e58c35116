//! Per-key state: for each aggregator the **non-empty** buckets in time order plus running
//! values of every window at the key's newest bucket, all in **one flat allocation per key**.
//!
//! Why: with many keys a key's state is almost never in cache, so the cost of an event is the
//! number of cache lines (and pages) it touches. A dense ring of `2·span − 1` buckets per key
//! (≈12 KB for W1) made 10 000 keys a 120 MB working set; storing only buckets that hold data,
//! with just the columns the aggregator's ops need, makes it ≈1–3 KB per key, contiguous.
//!
//! Layout of `KeyState::words` (`u64` words; floats as bits, times and indices as integers):
//!
//! * a fixed part, the same for every key (offsets precomputed in [`AggPlan`]), per aggregator:
//!   `H_NEWEST` (newest bucket, `NONE` before the first event), `H_REGION` (word offset and
//!   capacity in entries of its bucket region), `H_LIVE` (index of the oldest entry inside the
//!   region and number of entries), `H_FIRST` (oldest bucket of any value offered to the
//!   aggregator, aggregated or refused as too late: reads use it to tell whether a window
//!   reaching before the retained buckets can have lost data), one *cursor* per window (index, counted from the oldest
//!   entry, of the first entry inside that window at the newest bucket: the entries a slide
//!   evicts from the window start there), then one running record per window;
//! * per aggregator its bucket region: entries of `1 + vlen` words (bucket index, then the kept
//!   value columns), sorted by bucket, unique, never empty. Appends go to the end; when the end
//!   of the region is reached the live entries are moved to its front, or the region grows
//!   (the whole blob is re-laid out: rare, amortised O(1)).
//!
//! A record (a bucket's values or a window's running values) keeps only the columns of
//! `count, sum, sqr, min, max, first, first time, last, last time` that the ops need.

use crate::geometry::*;
use crate::sketch::AggSketch;

/// No event yet for this key × aggregator.
pub(crate) const NONE: i64 = i64::MIN;

/// Header words of an aggregator (relative to `AggPlan::hdr`); the cursors follow.
pub(crate) const H_NEWEST: usize = 0;
pub(crate) const H_REGION: usize = 1;
pub(crate) const H_LIVE: usize = 2;
pub(crate) const H_FIRST: usize = 3;
pub(crate) const H_CURSORS: usize = 4;

/// The state of one key: create with `Aggregations::new_state`, one per key (e.g. per dense slot).
pub struct KeyState {
    pub(crate) words: Box<[u64]>,
    /// Per aggregator the state of its sketch ops (empty for aggregators without any; an empty
    /// slice when no aggregator of the step has a sketch op).
    pub(crate) sketches: Box<[AggSketch]>,
}

impl std::fmt::Debug for KeyState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyState")
            .field("words", &self.words.len())
            .field("sketch_lists", &self.sketches.len())
            .finish()
    }
}

impl KeyState {
    /// Heap bytes held by this state, sketches included (for memory accounting and metrics).
    /// Hash tables count their whole allocation; allocator overhead is not included.
    pub fn heap_bytes(&self) -> usize {
        std::mem::size_of_val(&*self.words)
            + std::mem::size_of_val(&*self.sketches)
            + self
                .sketches
                .iter()
                .map(AggSketch::heap_bytes)
                .sum::<usize>()
    }
}

/// Empty value of each column: min/max use ±inf so folding needs no emptiness test.
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

/// A window's or a bucket's aggregate, all columns (unkept ones hold their empty values).
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

/// Where an aggregator's bucket region is and which of its entries are live.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Region {
    /// Word offset of the region in `KeyState::words`.
    pub off: usize,
    /// Capacity in entries.
    pub cap: usize,
    /// Index of the oldest live entry inside the region.
    pub start: usize,
    /// Number of live entries.
    pub len: usize,
}

#[inline]
fn lo32(w: u64) -> usize {
    (w & 0xFFFF_FFFF) as usize
}
#[inline]
fn hi32(w: u64) -> usize {
    (w >> 32) as usize
}
#[inline]
fn pack(lo: usize, hi: usize) -> u64 {
    debug_assert!(lo <= u32::MAX as usize && hi <= u32::MAX as usize);
    lo as u64 | (hi as u64) << 32
}

impl AggPlan {
    /// Words per bucket entry (its index, then the record).
    #[inline]
    pub fn es(&self) -> usize {
        self.vlen + 1
    }

    /// Words of this aggregator's header (header words, cursors, running records).
    pub fn fixed_words(&self) -> usize {
        H_CURSORS + self.wins.len() * (1 + self.vlen)
    }

    #[inline]
    pub fn newest(&self, w: &[u64]) -> i64 {
        w[self.hdr + H_NEWEST] as i64
    }
    #[inline]
    pub fn set_newest(&self, w: &mut [u64], n: i64) {
        w[self.hdr + H_NEWEST] = n as u64;
    }

    /// Oldest bucket of any value offered (`i64::MAX` before the first).
    #[inline]
    pub fn first(&self, w: &[u64]) -> i64 {
        w[self.hdr + H_FIRST] as i64
    }
    #[inline]
    pub fn note_first(&self, w: &mut [u64], b: i64) {
        if b < self.first(w) {
            w[self.hdr + H_FIRST] = b as u64;
        }
    }

    /// Whether the window `[lo, hi]` is fully known: none of the buckets it covers can have
    /// held data that was discarded. Buckets up to `newest − ring` are no longer retained;
    /// a window reaching there is still exact when no value was ever offered that early, or
    /// when it ends before the first value offered.
    #[inline]
    pub fn known(&self, w: &[u64], (lo, hi): (i64, i64)) -> bool {
        let horizon = self.newest(w).saturating_sub(self.ring);
        let first = self.first(w);
        lo > horizon || first > horizon || hi < first
    }

    #[inline]
    pub fn region(&self, w: &[u64]) -> Region {
        let (r, l) = (w[self.hdr + H_REGION], w[self.hdr + H_LIVE]);
        Region {
            off: lo32(r),
            cap: hi32(r),
            start: lo32(l),
            len: hi32(l),
        }
    }
    #[inline]
    pub fn set_region(&self, w: &mut [u64], r: Region) {
        w[self.hdr + H_REGION] = pack(r.off, r.cap);
        w[self.hdr + H_LIVE] = pack(r.start, r.len);
    }
    #[inline]
    pub fn set_live(&self, w: &mut [u64], start: usize, len: usize) {
        w[self.hdr + H_LIVE] = pack(start, len);
    }

    /// Cursor of window `win`: index (from the oldest live entry) of its first entry.
    #[inline]
    pub fn cursor(&self, w: &[u64], win: usize) -> usize {
        w[self.hdr + H_CURSORS + win] as usize
    }
    #[inline]
    pub fn set_cursor(&self, w: &mut [u64], win: usize, c: usize) {
        w[self.hdr + H_CURSORS + win] = c as u64;
    }

    /// Word offset of window `win`'s running record.
    #[inline]
    pub fn run_at(&self, win: usize) -> usize {
        self.run + win * self.vlen
    }

    /// Word offset of live entry `i` (its bucket index; the record follows).
    #[inline]
    pub fn entry(&self, r: &Region, i: usize) -> usize {
        r.off + (r.start + i) * self.es()
    }

    /// Bucket index of live entry `i`.
    #[inline]
    pub fn bucket_of(&self, w: &[u64], r: &Region, i: usize) -> i64 {
        w[self.entry(r, i)] as i64
    }

    /// Index of the first live entry whose bucket is `>= b` (binary search).
    #[inline]
    pub fn lower_bound(&self, w: &[u64], r: &Region, b: i64) -> usize {
        let (mut lo, mut hi) = (0, r.len);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.bucket_of(w, r, mid) < b {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }
}
