//! The retained buckets of an aggregator's sketch state, stored for few cache lines per event:
//! per bucket a small header, and the buckets' distinct values and quantile bins in two rings
//! (one allocation each per aggregator, not two or three small vectors per bucket), each
//! bucket's data contiguous, in bucket order.
//!
//! Values arrive in the newest bucket, whose data is at the end of the rings: an event appends
//! to (or, for a bin it already holds, counts in) the last cache line of a ring, a bucket
//! leaving a window is one contiguous run, and a dropped bucket is popped off the rings' fronts.
//! A value added to an older bucket (a late event) goes to a side list sorted by bucket, empty
//! in order streams. Before, each bucket had its own vectors: up to six allocations and
//! reallocations per bucket while they grew, and a pointer to follow per list per event.

use super::*;
use std::collections::vec_deque;

/// A deque addressed by absolute positions: `base` is the position of its front, so positions
/// stay valid while the front is popped.
pub(crate) struct Ring<T> {
    items: VecDeque<T>,
    base: u64,
}

impl<T> Default for Ring<T> {
    fn default() -> Self {
        Ring {
            items: VecDeque::new(),
            base: 0,
        }
    }
}

impl<T> Ring<T> {
    /// The position after the last item.
    #[inline]
    pub(super) fn end(&self) -> u64 {
        self.base + self.items.len() as u64
    }

    #[inline]
    fn index(&self, at: u64) -> usize {
        (at - self.base) as usize
    }

    /// The items at positions `[a, b)`.
    #[inline]
    pub(super) fn range(&self, a: u64, b: u64) -> vec_deque::Iter<'_, T> {
        self.items.range(self.index(a)..self.index(b))
    }

    /// Drops the items before position `at`.
    fn pop_to(&mut self, at: u64) {
        let k = self.index(at);
        self.items.drain(..k);
        self.base = at;
    }

    pub(super) fn push(&mut self, x: T) {
        self.items.push_back(x);
    }

    pub(super) fn capacity(&self) -> usize {
        self.items.capacity()
    }

    /// Hints the CPU to load the last item (where the next one goes).
    #[inline]
    fn prefetch_back(&self) {
        if let Some(x) = self.items.back() {
            prefetch_one(x);
        }
    }
}

/// What a bucket needs to be removed from a window again (and to answer reads at other times),
/// apart from its data in the rings.
#[derive(Default)]
pub(crate) struct BucketSk {
    /// Values aggregated into this bucket.
    pub(super) vals: u64,
    /// How many of its distinct values occur in no newer bucket (the key's
    /// [`AggSketch::last`] names this bucket): the values a window loses when this bucket
    /// leaves it.
    pub(super) latest: u64,
    /// Positions of this bucket's first distinct value and first bin in the rings (its data
    /// runs to the next bucket's, or to the ring's end for the last bucket).
    pub(super) key_at: u64,
    pub(super) code_at: u64,
    pub(super) hll: BucketHll,
}

/// An aggregator's non-empty buckets in bucket order: their indices apart from their headers,
/// so the binary searches of a slide read a few cache lines of indices only, and their data.
#[derive(Default)]
pub(crate) struct Buckets {
    pub(super) ids: VecDeque<i64>,
    pub(super) data: VecDeque<BucketSk>,
    /// count_distinct: each bucket's distinct values.
    pub(super) keys: Ring<DistinctKey>,
    /// Quantiles: each bucket's `(bin code, count)` pairs, sorted by code within a bucket.
    pub(super) codes: Ring<(i32, u32)>,
    /// Distinct values and bin codes (one value each) added to a bucket that was not the last
    /// when they arrived, sorted by bucket (stable: in arrival order within a bucket).
    pub(super) late_keys: Vec<(i64, DistinctKey)>,
    pub(super) late_codes: Vec<(i64, i32)>,
}

impl Buckets {
    /// Ring positions where the data of entry `i` (`<= len`) starts.
    #[inline]
    fn starts(&self, i: usize) -> (u64, u64) {
        match self.data.get(i) {
            Some(b) => (b.key_at, b.code_at),
            None => (self.keys.end(), self.codes.end()),
        }
    }

    /// The late entries of `v` (sorted by bucket) whose bucket is in `ids[i0..i1]`.
    #[inline]
    fn late_in<'a, T>(&self, v: &'a [(i64, T)], i0: usize, i1: usize) -> &'a [(i64, T)] {
        if v.is_empty() || i0 >= i1 {
            return &[];
        }
        let (lo, hi) = (self.ids[i0], self.ids[i1 - 1]);
        let a = v.partition_point(|e| e.0 < lo);
        let b = v.partition_point(|e| e.0 <= hi);
        &v[a..b]
    }

    /// The distinct values of entries `i0..i1` (each bucket's once; a value held by several
    /// of these buckets once per bucket).
    pub(super) fn keys_in(&self, i0: usize, i1: usize) -> impl Iterator<Item = &DistinctKey> {
        let (a, b) = (self.starts(i0).0, self.starts(i1).0);
        let late = self.late_in(&self.late_keys, i0, i1);
        self.keys.range(a, b).chain(late.iter().map(|e| &e.1))
    }

    /// The `(bin code, count)` pairs of entries `i0..i1` (a code may repeat).
    pub(super) fn codes_in(&self, i0: usize, i1: usize) -> impl Iterator<Item = (i32, u32)> + '_ {
        let (a, b) = (self.starts(i0).1, self.starts(i1).1);
        let late = self.late_in(&self.late_codes, i0, i1);
        self.codes
            .range(a, b)
            .copied()
            .chain(late.iter().map(|e| (e.1, 1)))
    }

    /// Entry `i`'s bins merged and sorted by code (for the codec and for comparisons).
    pub(super) fn bins_of(&self, i: usize) -> Vec<(i32, u32)> {
        let mut v: Vec<(i32, u32)> = self.codes_in(i, i + 1).collect();
        if self.late_in(&self.late_codes, i, i + 1).is_empty() {
            return v; // a bucket's run is kept sorted and merged
        }
        v.sort_unstable_by_key(|e| e.0);
        v.dedup_by(|later, first| {
            let same = later.0 == first.0;
            if same {
                first.1 += later.1;
            }
            same
        });
        v
    }

    /// Adds distinct value `k` to entry `i` (bucket `b`), which does not hold it yet.
    #[inline]
    pub(super) fn add_key(&mut self, i: usize, b: i64, k: &DistinctKey) {
        if i + 1 == self.data.len() {
            self.keys.push(k.clone());
        } else {
            let at = self.late_keys.partition_point(|e| e.0 <= b);
            self.late_keys.insert(at, (b, k.clone()));
        }
    }

    /// Whether entry `i` holds distinct value `k` (a linear search: late events only).
    pub(super) fn has_key(&self, i: usize, k: &DistinctKey) -> bool {
        self.keys_in(i, i + 1).any(|x| x == k)
    }

    /// Adds one value of bin code `code` to entry `i` (bucket `b`).
    #[inline]
    pub(super) fn add_code(&mut self, i: usize, b: i64, code: i32) {
        if i + 1 == self.data.len() {
            let start = self.codes.index(self.data[i].code_at);
            let run = self.codes.items.range(start..);
            // the newest bucket's run is short (its bins), searched from its end
            let mut j = self.codes.items.len();
            for e in run.rev() {
                if e.0 <= code {
                    break;
                }
                j -= 1;
            }
            match self.codes.items.get_mut(j.wrapping_sub(1)) {
                Some(e) if j > start && e.0 == code => e.1 += 1,
                _ => self.codes.items.insert(j, (code, 1)),
            }
        } else {
            let at = self.late_codes.partition_point(|e| e.0 <= b);
            self.late_codes.insert(at, (b, code));
        }
    }

    /// Inserts an empty entry for bucket `b` at index `at` (its data starts where the entry
    /// it displaces starts, so every other entry keeps its data).
    pub(super) fn insert(&mut self, at: usize, b: i64) {
        let (key_at, code_at) = self.starts(at);
        self.ids.insert(at, b);
        self.data.insert(
            at,
            BucketSk {
                key_at,
                code_at,
                ..BucketSk::default()
            },
        );
    }

    /// Appends entry `b` with the given data (decoding: buckets oldest first, each whole).
    pub(super) fn push_decoded(
        &mut self,
        b: i64,
        vals: u64,
        keys: impl IntoIterator<Item = DistinctKey>,
        codes: impl IntoIterator<Item = (i32, u32)>,
        hll: BucketHll,
    ) {
        let (key_at, code_at) = (self.keys.end(), self.codes.end());
        self.keys.items.extend(keys);
        self.codes.items.extend(codes);
        self.ids.push_back(b);
        self.data.push_back(BucketSk {
            vals,
            latest: 0,
            key_at,
            code_at,
            hll,
        });
    }

    /// Drops the buckets `<= cut` (older than every window: they hold no map values); returns
    /// how many (usually none or one: walked from the front).
    pub(super) fn drop_until(&mut self, cut: i64) -> usize {
        let mut k = 0;
        while self.ids.get(k).is_some_and(|&b| b <= cut) {
            k += 1;
        }
        debug_assert!(self.data.range(..k).all(|b| b.latest == 0));
        self.drop_front(k);
        k
    }

    /// Drops the first `k` entries and their data.
    pub(super) fn drop_front(&mut self, k: usize) {
        if k == 0 {
            return;
        }
        let cut = self.ids[k - 1];
        let (key_at, code_at) = self.starts(k);
        self.keys.pop_to(key_at);
        self.codes.pop_to(code_at);
        let n = self.late_keys.partition_point(|e| e.0 <= cut);
        self.late_keys.drain(..n);
        let n = self.late_codes.partition_point(|e| e.0 <= cut);
        self.late_codes.drain(..n);
        self.ids.drain(..k);
        self.data.drain(..k);
    }

    /// Hints the CPU to load where the newest bucket's data goes.
    #[inline]
    pub(super) fn prefetch_back(&self) {
        self.keys.prefetch_back();
        if let Some(b) = self.data.back() {
            // the newest bucket's bins: searched from the end, a few lines at most
            let start = self.codes.index(b.code_at);
            let len = self.codes.items.len();
            if start < len {
                prefetch_one(&self.codes.items[start]);
            }
            self.codes.prefetch_back();
            b.hll.prefetch();
        }
    }

    /// Heap bytes of the headers, rings and side lists (not the strings' own storage).
    pub(super) fn heap_bytes(&self) -> usize {
        self.ids.capacity() * 8
            + self.data.capacity() * std::mem::size_of::<BucketSk>()
            + self.data.iter().map(|b| b.hll.heap_bytes()).sum::<usize>()
            + self.keys.capacity() * std::mem::size_of::<DistinctKey>()
            + self.codes.capacity() * 8
            + self.late_keys.capacity() * std::mem::size_of::<(i64, DistinctKey)>()
            + self.late_codes.capacity() * 16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Entries inserted in the middle (late buckets) and late values keep every bucket's data
    /// apart; dropping the front keeps the positions of the rest.
    #[test]
    fn late_buckets_and_values_keep_each_buckets_data() {
        let mut bs = Buckets::default();
        let k = |i: i64| DistinctKey::Int(i);
        bs.insert(0, 10);
        bs.add_key(0, 10, &k(1));
        bs.add_code(0, 10, 7);
        bs.add_code(0, 10, 3);
        bs.add_code(0, 10, 7);
        bs.insert(1, 12);
        bs.add_key(1, 12, &k(2));
        bs.add_code(1, 12, 5);
        // a late bucket between them, and a late value into the first
        bs.insert(1, 11);
        bs.add_key(1, 11, &k(3));
        bs.add_code(1, 11, 9);
        bs.add_key(0, 10, &k(4));
        bs.add_code(0, 10, 3);
        let keys = |bs: &Buckets, i| bs.keys_in(i, i + 1).cloned().collect::<Vec<_>>();
        assert_eq!(keys(&bs, 0), [k(1), k(4)]);
        assert_eq!(keys(&bs, 1), [k(3)]);
        assert_eq!(keys(&bs, 2), [k(2)]);
        assert_eq!(bs.bins_of(0), [(3, 2), (7, 2)]);
        assert_eq!(bs.bins_of(1), [(9, 1)]);
        assert_eq!(bs.bins_of(2), [(5, 1)]);
        assert_eq!(bs.codes_in(0, 3).map(|e| e.1).sum::<u32>(), 6);
        assert!(bs.has_key(0, &k(4)) && !bs.has_key(2, &k(4)));
        bs.drop_front(2);
        assert_eq!(bs.ids, [12]);
        assert_eq!(keys(&bs, 0), [k(2)]);
        assert_eq!(bs.bins_of(0), [(5, 1)]);
        assert!(bs.late_keys.is_empty() && bs.late_codes.is_empty());
        bs.add_code(0, 12, 5);
        bs.add_code(0, 12, 1);
        assert_eq!(bs.bins_of(0), [(1, 1), (5, 2)]);
    }
}
