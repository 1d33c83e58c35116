//! Writes to a [`KeyState`]: [`Aggregations::update`], [`Aggregations::advance`], the window
//! slide, and the management of the per-aggregator bucket regions.

use crate::engine::{Aggregations, DropReason, Input, Outcome};
use crate::geometry::*;
use crate::record::{self, with_layout};
use crate::sketch::SketchIn;
use crate::state::{Acc, KeyState, Region, NONE};
use crate::LatePolicy;
use rill_core::{Timestamp, Value};

/// When a subtraction or addition leaves a running sum smaller than this fraction of the value
/// removed/added, most significant bits cancelled: rebuild the running value from the buckets
/// so that float rounding cannot accumulate (e.g. a 1e20 entering and leaving the window).
pub(crate) const CANCEL: f64 = 1e-6;

impl Aggregations {
    /// Aggregates `value` at event time `time` into aggregator `agg` of one key.
    ///
    /// A newer bucket first slides the windows. A late event (bucket older than the key's newest)
    /// follows the aggregator's [`LatePolicy`]; an accepted one goes into its own bucket and into
    /// every running window value that covers that bucket, so nothing drifts. Under `accept` a
    /// late event is aggregated while its bucket is retained (see [`DropReason::TooLate`]). Null/NaN values
    /// are [`Outcome::Skipped`], values of the wrong type [`Outcome::Invalid`]; both still slide
    /// the windows like [`advance`](Self::advance). Panics only if `agg` is out of range.
    pub fn update(&self, st: &mut KeyState, agg: usize, time: Timestamp, value: &Value) -> Outcome {
        let p = &self.plans[agg];
        let input = Self::classify(p, value);
        let n = p.newest(&st.words);
        let b = bucket(p, time.0, n);
        if n == NONE || b > n {
            self.slide(p, st, agg, b);
        }
        let (x, key) = match input {
            Input::Ok(x, k) => (x, k),
            Input::Skip => return Outcome::Skipped,
            Input::Bad(r) => return Outcome::Invalid(r),
        };
        let newest = p.newest(&st.words);
        let late = b < newest;
        if late {
            match p.late {
                LatePolicy::Drop => return Outcome::Dropped(DropReason::Policy),
                LatePolicy::SideOutput => return Outcome::SideOutput,
                LatePolicy::Accept => {}
            }
        }
        // Aggregated or refused as too late: reads must know data this old existed.
        p.note_first(&mut st.words, b);
        if late && newest - b >= p.ring {
            return Outcome::Dropped(DropReason::TooLate);
        }
        let e = self.entry_for(p, st, agg, b, newest);
        let ev = Added {
            x,
            t: time.0,
            b,
            newest,
        };
        with_layout!(p.bits, add_event(p, &mut st.words, e, &ev));
        if p.needs.sketches() {
            let input = SketchIn {
                key: key.as_ref(),
                x: Some(x).filter(|_| p.numeric),
            };
            st.sketches[agg].add(p, b, newest, &input);
        }
        Outcome::Aggregated { late }
    }

    /// Word offset of bucket `b`'s entry in aggregator `agg`'s region, inserting an empty entry
    /// (and keeping the window cursors right) if the bucket holds no data yet.
    #[inline]
    fn entry_for(&self, p: &AggPlan, st: &mut KeyState, agg: usize, b: i64, newest: i64) -> usize {
        let r = p.region(&st.words);
        let at = if r.len == 0 {
            0
        } else {
            let last = p.bucket_of(&st.words, &r, r.len - 1);
            if last == b {
                return p.entry(&r, r.len - 1);
            }
            if last < b {
                r.len
            } else {
                // Late: search back from the newest entry.
                let mut i = r.len - 1;
                while i > 0 && p.bucket_of(&st.words, &r, i - 1) >= b {
                    i -= 1;
                }
                if p.bucket_of(&st.words, &r, i) == b {
                    return p.entry(&r, i);
                }
                i
            }
        };
        let (r, gone) = self.make_room(st, agg);
        let at = at - gone;
        let w = &mut st.words[..];
        let es = p.es();
        let e = p.entry(&r, at);
        if at < r.len {
            w.copy_within(e..p.entry(&r, r.len), e + es);
        }
        w[e] = b as u64;
        record::store::<{ record::RT }>(p, &mut w[e + 1..], &Acc::EMPTY);
        p.set_live(w, r.start, r.len + 1);
        // A new entry before a window's first entry shifts that window's cursor (only possible
        // for late buckets outside the window at the newest bucket).
        for (wi, win) in p.wins.iter().enumerate() {
            if !win.contains_at(b, newest) {
                let c = p.cursor(w, wi);
                p.set_cursor(w, wi, c + 1);
            }
        }
        e
    }

    /// Makes sure aggregator `agg`'s region has a free entry after its live ones. First drops
    /// the entries older than the retained span (kept until now so that slides need not touch
    /// them); then moves the live entries to the front when that frees at least a quarter of
    /// the region (so each entry is moved O(1) times on average), else grows the region
    /// (re-laying out the whole state). Returns the region and the number of entries dropped
    /// from its front (indices of live entries shift down by that much).
    fn make_room(&self, st: &mut KeyState, agg: usize) -> (Region, usize) {
        let p = &self.plans[agg];
        let w = &mut st.words[..];
        let r = p.region(w);
        if r.start + r.len < r.cap {
            return (r, 0);
        }
        let cut = p.newest(w) - p.ring;
        let mut gone = 0;
        while gone < r.len && p.bucket_of(w, &r, gone) <= cut {
            gone += 1;
        }
        for wi in 0..p.wins.len() {
            let c = p.cursor(w, wi);
            p.set_cursor(w, wi, c - gone);
        }
        let (start, len) = (r.start + gone, r.len - gone);
        if len * 4 < r.cap * 3 {
            let (from, to) = (p.entry(&r, gone), p.entry(&r, r.len));
            w.copy_within(from..to, r.off);
            p.set_live(w, 0, len);
            return (p.region(w), gone);
        }
        p.set_live(w, start, len);
        self.relayout(st, agg);
        (p.region(&st.words), gone)
    }

    /// Rebuilds the state with aggregator `agg`'s region grown (live entries of every region
    /// moved to the front of their region). Every other region at least three quarters full
    /// grows in the same re-layout: aggregators fed by the same events fill up together, so
    /// this takes one allocation and copy where growing one region at a time would take one
    /// per aggregator.
    fn relayout(&self, st: &mut KeyState, agg: usize) {
        let grow = |cap: usize| {
            if cap < 16 {
                (cap * 2).max(4)
            } else {
                cap + cap / 2
            }
        };
        let old = &st.words;
        let regions: Vec<Region> = self.plans.iter().map(|p| p.region(old)).collect();
        let caps: Vec<usize> = regions
            .iter()
            .enumerate()
            .map(|(a, r)| {
                if a == agg || r.len * 4 >= r.cap * 3 {
                    grow(r.cap)
                } else {
                    r.cap
                }
            })
            .collect();
        let total = self.fixed_len
            + self
                .plans
                .iter()
                .zip(&caps)
                .map(|(p, cap)| cap * p.es())
                .sum::<usize>();
        let mut w = vec![0u64; total];
        w[..self.fixed_len].copy_from_slice(&old[..self.fixed_len]);
        let mut off = self.fixed_len;
        for ((p, r), &cap) in self.plans.iter().zip(&regions).zip(&caps) {
            let (from, to) = (p.entry(r, 0), p.entry(r, r.len));
            w[off..off + (to - from)].copy_from_slice(&old[from..to]);
            p.set_region(
                &mut w,
                Region {
                    off,
                    cap,
                    start: 0,
                    len: r.len,
                },
            );
            off += cap * p.es();
        }
        st.words = w.into();
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
        let n = p.newest(&st.words);
        let b = bucket(p, time.0, n);
        if n == NONE || b > n {
            self.slide(p, st, agg, b);
        }
    }

    /// Moves the aggregator's newest bucket forward to `m`: evicts the leaving entries from the
    /// running values (count/sum/sqr by subtraction; min/max/first/last by rebuilding from the
    /// entries only when a leaving bucket held the current extreme), then drops the entries
    /// older than the retained span. Only non-empty buckets are visited.
    fn slide(&self, p: &AggPlan, st: &mut KeyState, agg: usize, m: i64) {
        let n = p.newest(&st.words);
        with_layout!(p.bits, slide_windows(p, &mut st.words, m));
        if p.needs.sketches() {
            st.sketches[agg].slide(p, n, m);
        }
    }
}

/// Bucket of time `t`; skips the division when `t` is in the newest bucket `n`.
#[inline]
fn bucket(p: &AggPlan, t: i64, n: i64) -> i64 {
    if n != NONE {
        let s = n.wrapping_mul(p.period);
        if t >= s && (t.wrapping_sub(s) as u64) < p.period as u64 {
            return n;
        }
    }
    t.div_euclid(p.period)
}

/// An accepted value: `x` at time `t` in bucket `b`, the aggregator's newest bucket being `newest`.
struct Added {
    x: f64,
    t: i64,
    b: i64,
    newest: i64,
}

/// Adds a value to its bucket's entry (at word `e`) and to the running value of every window
/// that covers the bucket at the newest bucket.
#[inline]
fn add_event<const B: u8>(p: &AggPlan, w: &mut [u64], e: usize, ev: &Added) {
    record::add_value::<B>(p, &mut w[e + 1..], ev.x, ev.t, 0.0);
    let late = ev.b < ev.newest;
    for (wi, win) in p.wins.iter().enumerate() {
        if late && !win.contains_at(ev.b, ev.newest) {
            continue;
        }
        let at = p.run_at(wi);
        if record::add_value::<B>(p, &mut w[at..], ev.x, ev.t, CANCEL) {
            rebuild::<B>(p, w, wi);
        }
    }
}

/// Moves the aggregator's newest bucket forward to `m`: evicts the leaving entries from the
/// running values (count/sum/sqr by subtraction; min/max/first/last by rebuilding from the
/// entries only when a leaving bucket held the current extreme), then drops the entries
/// older than the retained span. Only non-empty buckets are visited.
fn slide_windows<const B: u8>(p: &AggPlan, w: &mut [u64], m: i64) {
    let n = p.newest(w);
    p.set_newest(w, m);
    if n == NONE {
        return;
    }
    let k = m - n;
    let r = p.region(w);
    let mut dirty: u64 = 0;
    for (wi, win) in p.wins.iter().enumerate() {
        let at = p.run_at(wi);
        if win.fixed {
            if m.div_euclid(win.nb) != n.div_euclid(win.nb) {
                // A new fixed window: every retained bucket is before it.
                record::store::<B>(p, &mut w[at..], &Acc::EMPTY);
                p.set_cursor(w, wi, r.len);
            }
            continue;
        }
        if w[at] == 0.0f64.to_bits() {
            // Nothing is there to leave (an empty running record is exactly `Acc::EMPTY`).
            p.set_cursor(w, wi, r.len);
            continue;
        }
        if k >= win.nb {
            // Everything leaves.
            record::store::<B>(p, &mut w[at..], &Acc::EMPTY);
            p.set_cursor(w, wi, r.len);
            continue;
        }
        let lim = m - win.nb;
        let mut c = p.cursor(w, wi);
        if c >= r.len || p.bucket_of(w, &r, c) > lim {
            continue; // no entry leaves this window
        }
        let mut run = record::load::<B>(p, &w[at..]);
        let mut rebuild = false;
        while c < r.len {
            let e = p.entry(&r, c);
            if w[e] as i64 > lim {
                break;
            }
            let bk = record::load::<B>(p, &w[e + 1..]);
            run.v[C_COUNT] -= bk.v[C_COUNT];
            run.v[C_SUM] -= bk.v[C_SUM];
            run.v[C_SQR] -= bk.v[C_SQR];
            // Unused columns hold their empty values in both, so each test is gated.
            let h = |c: usize| record::has::<B>(p, c);
            rebuild |= (h(C_SUM) & (run.v[C_SUM].abs() < CANCEL * bk.v[C_SUM].abs()))
                | (h(C_SQR) & (run.v[C_SQR].abs() < CANCEL * bk.v[C_SQR]))
                | (h(C_MIN) & (bk.v[C_MIN] <= run.v[C_MIN]))
                | (h(C_MAX) & (bk.v[C_MAX] >= run.v[C_MAX]))
                | (h(C_FIRST) & (bk.t[0] == run.t[0]))
                | (h(C_LAST) & (bk.t[1] == run.t[1]));
            c += 1;
        }
        p.set_cursor(w, wi, c);
        if run.v[C_COUNT] == 0.0 {
            run = Acc::EMPTY; // exact reset: no rounding residue in an empty window
        } else if rebuild {
            dirty |= 1 << wi;
        }
        record::store::<B>(p, &mut w[at..], &run);
    }
    // Entries that left the retained span stay until their region needs room (`make_room`):
    // reading them here would cost a cache line per event; every reader skips them.
    while dirty != 0 {
        let wi = dirty.trailing_zeros() as usize;
        dirty &= dirty - 1;
        rebuild::<B>(p, w, wi);
    }
}

/// Recomputes window `wi`'s running value at the newest bucket from its entries.
#[cold]
fn rebuild<const B: u8>(p: &AggPlan, w: &mut [u64], wi: usize) {
    let r = p.region(w);
    let acc = record::fold_from::<B>(p, w, &r, p.cursor(w, wi), i64::MAX, None);
    let at = p.run_at(wi);
    record::store::<B>(p, &mut w[at..], &acc);
}
