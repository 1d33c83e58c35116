//! Persisting a key's state: [`Aggregations::encode_state`] and [`Aggregations::decode_state`].
//!
//! What is stored is what the future depends on; what follows from it is rebuilt on decode:
//! the retained bucket entries (buckets older than the retained span are dropped: no read or
//! update looks at them again), the running record of each window as its exact bits (they are
//! the result of a history of additions and subtractions that a fresh fold would round
//! differently), and for sketch ops the buckets' contents (see `sketch/codec.rs`). Window
//! cursors, running counts, the sketches' running windows and their value → newest bucket map
//! are derived. Continuing from a decoded state therefore gives bit for bit the features that
//! continuing from the original gives.
//!
//! Decoding checks every value it reads against the aggregators (buckets inside the retained
//! span and in order, times inside their buckets, counts that add up, sketch data that fits
//! its bucket) and derives the rest, so whatever it accepts is a consistent state that the
//! engine can continue; the fingerprint refuses another aggregator set's states and the
//! checksum (checked after the structure, so a cut-short state says where it ends) catches
//! well-formed corruption such as a torn write.
//!
//! # Format, version 1
//!
//! Varints are unsigned LEB128, signed values zigzag varints; `f64` are their 8 bits, little
//! endian (NaN payloads and the sign of zero kept).
//!
//! ```text
//! state      = version u8 (= 1) · schema fingerprint u64 LE · aggregator × len · checksum u32 LE
//! aggregator = flags varint: 0 = no event yet (nothing follows; the state is a new one's),
//!                            bit 0 = has events, bit 1 = a value was offered
//!              newest bucket          zigzag
//!              newest − oldest offered varint          (bit 1 only)
//!              n                      varint           retained bucket entries, ≤ ring
//!              entry × n              oldest first
//!              running × windows      only windows holding an entry at the newest bucket
//!              sketch                 aggregators with sketch ops (see sketch/codec.rs)
//! entry      = varint gap << 1 | single   gap = bucket − previous − 1 (the first from
//!                                         newest − ring)
//!              single: [x f64]  [time − bucket start varint]   (when value / time columns kept)
//!                      the record of one value x at that time (checked bit for bit on encode)
//!              else:   count − 1 varint, kept value columns f64 (sum sqr min max first last),
//!                      kept times − bucket start varint (first, last)
//! running    = kept value columns f64, kept times − newest bucket start zigzag; its count is
//!              the sum of its entries' counts
//! checksum   = low 32 bits of XxHash64 (seed "rill_st1") of every byte before it
//! ```

use crate::engine::Aggregations;
use crate::geometry::*;
use crate::record;
use crate::sketch::{self, AggSketch};
use crate::state::{Acc, KeyState, Region, H_FIRST, NONE};
use twox_hash::XxHash64;

mod wire;
pub(crate) use wire::*;

/// The format version [`Aggregations::encode_state`] writes (its first byte).
pub(crate) const VERSION: u8 = 1;
const CHECKSUM_SEED: u64 = 0x7269_6c6c_5f73_7431; // "rill_st1"
/// Most values a bucket or an aggregator may hold: counts are `f64`, exact up to 2^53.
const MAX_COUNT: u64 = 1 << 53;

/// Value columns of a record in encoding order (each written only when the aggregator keeps it).
const VALUE_COLS: [usize; 6] = [C_SUM, C_SQR, C_MIN, C_MAX, C_FIRST, C_LAST];
const TIME_COLS: [usize; 2] = [T_FIRST, T_LAST];

/// Why [`Aggregations::decode_state`] refused some bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The first byte names a format this build does not read.
    #[error("unknown key state format version {found} (this build reads version {supported})")]
    UnknownVersion {
        /// The version byte found.
        found: u8,
        /// The version this build reads.
        supported: u8,
    },
    /// The bytes end before the state does (e.g. a write cut short).
    #[error("key state truncated at byte {at} of {len}: {what} missing")]
    Truncated {
        /// Offset where more bytes were needed.
        at: usize,
        /// Length of the input.
        len: usize,
        /// What was being read.
        what: &'static str,
    },
    /// The state was written for another aggregator set (see
    /// [`Aggregations::schema_fingerprint`]).
    #[error("key state of another aggregator set: schema fingerprint {found:#018x}, this set's is {expected:#018x}")]
    SchemaMismatch {
        /// Fingerprint stored in the state.
        found: u64,
        /// This aggregator set's fingerprint.
        expected: u64,
    },
    /// A value that does not fit the aggregator (a length beyond its retained buckets, a
    /// bucket after its newest, a sketch that does not match its bucket, …).
    #[error("key state does not fit aggregator '{aggregator}' at byte {at}: {what}")]
    Invalid {
        /// Offset of the offending value.
        at: usize,
        /// Name of the aggregator being read.
        aggregator: String,
        /// What is wrong.
        what: String,
    },
    /// Bytes follow the end of the state.
    #[error("{extra} unexpected bytes after the key state's end at byte {at}")]
    TrailingBytes {
        /// Where the state (before its checksum) ended.
        at: usize,
        /// Bytes beyond the state and its checksum.
        extra: usize,
    },
    /// Well formed, but not the bytes that were written (e.g. a torn write mixing two states).
    #[error("key state checksum mismatch (stored {stored:#010x}, computed {computed:#010x}): the bytes are corrupt")]
    ChecksumMismatch {
        /// Checksum stored in the state.
        stored: u32,
        /// Checksum of the bytes read.
        computed: u32,
    },
}

fn checksum(bytes: &[u8]) -> u32 {
    XxHash64::oneshot(CHECKSUM_SEED, bytes) as u32
}

/// Offset of column `c` in a record, if the aggregator keeps it.
#[inline]
fn kept(p: &AggPlan, c: usize) -> Option<usize> {
    (p.vcol[c] != NO).then_some(p.vcol[c] as usize)
}

fn has_value_col(p: &AggPlan) -> bool {
    VALUE_COLS.iter().any(|&c| kept(p, c).is_some())
}

fn has_time_col(p: &AggPlan) -> bool {
    TIME_COLS.iter().any(|&c| kept(p, c).is_some())
}

impl Aggregations {
    /// Appends the state of one key to `out`, compactly (about one varint and the kept `f64`
    /// columns per non-empty bucket; see the format in this module's source), for storing in a
    /// table and reading back with [`decode_state`](Self::decode_state), by this or another
    /// process with the same aggregators ([`schema_fingerprint`](Self::schema_fingerprint)).
    ///
    /// ```
    /// use rill_agg::{AggregatorSpec, Aggregations};
    /// use rill_core::{Timestamp, Value};
    /// let spec: AggregatorSpec = serde_json::from_str(
    ///     r#"{"name":"clicks","ops":["count","sum"],"windows":{"sliding":["1h"],"period":"10m"}}"#).unwrap();
    /// let aggs = Aggregations::new(vec![spec]).unwrap();
    /// let mut st = aggs.new_state();
    /// let t = Timestamp::from_secs(1_595_367_600);
    /// aggs.update(&mut st, 0, t, &Value::Int(3));
    /// let mut bytes = Vec::new();
    /// aggs.encode_state(&st, &mut bytes);
    /// let back = aggs.decode_state(&bytes).unwrap();
    /// let (mut a, mut b) = (Vec::new(), Vec::new());
    /// aggs.features_at(&st, t, &mut a);
    /// aggs.features_at(&back, t, &mut b);
    /// assert_eq!(a, b);
    /// ```
    pub fn encode_state(&self, st: &KeyState, out: &mut Vec<u8>) {
        let start = out.len();
        out.push(VERSION);
        out.extend_from_slice(&self.fingerprint.to_le_bytes());
        for (agg, p) in self.plans.iter().enumerate() {
            let newest = encode_words(p, &st.words, out);
            if p.needs.sketches() && newest != NONE {
                sketch::codec::encode(p, &st.sketches[agg], newest, out);
            }
        }
        let sum = checksum(&out[start..]);
        out.extend_from_slice(&sum.to_le_bytes());
    }

    /// Reads a state written by [`encode_state`](Self::encode_state) for these aggregators.
    /// Any input is safe: bytes of another format version, of another aggregator set, cut
    /// short, with trailing bytes, inconsistent with the aggregators or corrupt are an `Err`
    /// saying what is wrong, never a panic or a state that would give wrong features.
    ///
    /// ```
    /// use rill_agg::{AggregatorSpec, Aggregations, DecodeError};
    /// let spec: AggregatorSpec = serde_json::from_str(
    ///     r#"{"name":"clicks","ops":["count"],"windows":{"fixed":["1h"]}}"#).unwrap();
    /// let aggs = Aggregations::new(vec![spec]).unwrap();
    /// let mut bytes = Vec::new();
    /// aggs.encode_state(&aggs.new_state(), &mut bytes);
    /// assert!(aggs.decode_state(&bytes).is_ok());
    /// assert!(matches!(aggs.decode_state(&bytes[..3]), Err(DecodeError::Truncated { .. })));
    /// bytes[0] = 99;
    /// assert!(matches!(aggs.decode_state(&bytes), Err(DecodeError::UnknownVersion { found: 99, .. })));
    /// ```
    pub fn decode_state(&self, bytes: &[u8]) -> Result<KeyState, DecodeError> {
        let (st, end) = self.decode_body(bytes)?;
        let rest = &bytes[end..];
        if rest.len() < 4 {
            return Err(DecodeError::Truncated {
                at: bytes.len(),
                len: bytes.len(),
                what: "checksum",
            });
        }
        if rest.len() > 4 {
            return Err(DecodeError::TrailingBytes {
                at: end,
                extra: rest.len() - 4,
            });
        }
        let stored = u32::from_le_bytes(rest.try_into().expect("4 bytes"));
        let computed = checksum(&bytes[..end]);
        if stored != computed {
            return Err(DecodeError::ChecksumMismatch { stored, computed });
        }
        Ok(st)
    }

    /// Decodes everything but the checksum (checked after the structure, so that a cut-short
    /// state is reported as truncated where it ends); returns the state and where it ended.
    pub(crate) fn decode_body(&self, bytes: &[u8]) -> Result<(KeyState, usize), DecodeError> {
        let mut r = Reader::new(bytes);
        let v = r.u8("format version")?;
        if v != VERSION {
            return Err(DecodeError::UnknownVersion {
                found: v,
                supported: VERSION,
            });
        }
        let found = r.u64_le("schema fingerprint")?;
        if found != self.fingerprint {
            return Err(DecodeError::SchemaMismatch {
                found,
                expected: self.fingerprint,
            });
        }
        let mut aggs = Vec::with_capacity(self.plans.len());
        let mut sketches = Vec::with_capacity(if self.any_sketch { self.plans.len() } else { 0 });
        for p in &self.plans {
            r.agg = &p.name;
            let a = decode_words(p, &mut r)?;
            if self.any_sketch {
                sketches.push(if !p.needs.sketches() {
                    AggSketch::default()
                } else if a.newest == NONE {
                    AggSketch::new(p.wins.len())
                } else {
                    sketch::codec::decode(p, a.newest, &a.ids, &a.counts, &mut r)?
                });
            }
            aggs.push(a);
        }
        Ok((self.assemble(&aggs, sketches), r.pos()))
    }

    /// Lays decoded aggregators out as a state: fixed part, then each region with a quarter of
    /// its entries as free room (so the next buckets do not re-lay the state out at once).
    fn assemble(&self, aggs: &[AggWords], sketches: Vec<AggSketch>) -> KeyState {
        let caps: Vec<usize> = aggs
            .iter()
            .map(|a| a.ids.len() + a.ids.len().div_ceil(4))
            .collect();
        let total = self.fixed_len
            + self
                .plans
                .iter()
                .zip(&caps)
                .map(|(p, cap)| cap * p.es())
                .sum::<usize>();
        let mut w = vec![0u64; total];
        let mut off = self.fixed_len;
        for ((p, a), &cap) in self.plans.iter().zip(aggs).zip(&caps) {
            p.set_newest(&mut w, a.newest);
            w[p.hdr + H_FIRST] = a.first as u64;
            p.set_region(
                &mut w,
                Region {
                    off,
                    cap,
                    start: 0,
                    len: a.ids.len(),
                },
            );
            w[off..off + a.entries.len()].copy_from_slice(&a.entries);
            for (wi, win) in p.wins.iter().enumerate() {
                // A window's cursor is its first entry at the newest bucket (see `state.rs`).
                let c = if a.newest == NONE {
                    0
                } else {
                    let lo = win.range(a.newest).0;
                    a.ids.partition_point(|&b| b < lo)
                };
                p.set_cursor(&mut w, wi, c);
                let at = p.run_at(wi);
                w[at..at + p.vlen].copy_from_slice(&a.runs[wi * p.vlen..][..p.vlen]);
            }
            off += cap * p.es();
        }
        KeyState {
            words: w.into(),
            sketches: sketches.into(),
        }
    }
}

/// The words of one aggregator, decoded.
struct AggWords {
    newest: i64,
    first: i64,
    /// Bucket of each entry, oldest first, and its count.
    ids: Vec<i64>,
    counts: Vec<u64>,
    /// The entries as stored in a region: bucket index, then the record.
    entries: Vec<u64>,
    /// The running record of each window.
    runs: Vec<u64>,
}

/// Writes aggregator `p`'s words (header, retained entries, running records); returns its
/// newest bucket (`NONE`: nothing else is written for it).
fn encode_words(p: &AggPlan, w: &[u64], out: &mut Vec<u8>) -> i64 {
    let n = p.newest(w);
    if n == NONE {
        out.push(0);
        return NONE;
    }
    let first = p.first(w);
    let offered = first != i64::MAX;
    wire::put_varint(out, 1 | (offered as u64) << 1);
    put_zigzag(out, n);
    if offered {
        put_varint(out, n.wrapping_sub(first) as u64);
    }
    let r = p.region(w);
    let cut = n.saturating_sub(p.ring);
    let s = p.lower_bound(w, &r, cut + 1);
    put_varint(out, (r.len - s) as u64);
    let mut prev = cut;
    for i in s..r.len {
        let e = p.entry(&r, i);
        let b = w[e] as i64;
        let rec = &w[e + 1..e + 1 + p.vlen];
        let start = b.wrapping_mul(p.period);
        let single = single_value(p, rec, start);
        put_varint(out, ((b - prev - 1) as u64) << 1 | single.is_some() as u64);
        prev = b;
        match single {
            Some((x, t)) => {
                if has_value_col(p) {
                    put_f64(out, x);
                }
                if has_time_col(p) {
                    put_varint(out, t.wrapping_sub(start) as u64);
                }
            }
            None => {
                let count = f64::from_bits(rec[0]);
                debug_assert!(count >= 1.0 && count.fract() == 0.0, "bucket count {count}");
                put_varint(out, (count as u64).saturating_sub(1));
                for o in VALUE_COLS.iter().filter_map(|&c| kept(p, c)) {
                    out.extend_from_slice(&rec[o].to_le_bytes());
                }
                for o in TIME_COLS.iter().filter_map(|&c| kept(p, c)) {
                    put_varint(out, (rec[o] as i64).wrapping_sub(start) as u64);
                }
            }
        }
    }
    let nstart = n.wrapping_mul(p.period);
    let newest_entry = (r.len > s).then(|| p.bucket_of(w, &r, r.len - 1));
    for (wi, win) in p.wins.iter().enumerate() {
        let rec = &w[p.run_at(wi)..][..p.vlen];
        // Windows are suffixes of the buckets up to the newest: one holds an entry iff it holds
        // the newest entry. Without one its running record is empty, and nothing is written.
        if newest_entry.is_none_or(|b| !win.contains_at(b, n)) {
            debug_assert_eq!(rec[0], 0.0f64.to_bits(), "an empty window's running count");
            continue;
        }
        debug_assert_eq!(
            f64::from_bits(rec[0]),
            (s..r.len)
                .filter(|&i| win.contains_at(p.bucket_of(w, &r, i), n))
                .map(|i| f64::from_bits(w[p.entry(&r, i) + 1]))
                .sum::<f64>(),
            "a running count is the sum of its entries' counts"
        );
        for o in VALUE_COLS.iter().filter_map(|&c| kept(p, c)) {
            out.extend_from_slice(&rec[o].to_le_bytes());
        }
        for o in TIME_COLS.iter().filter_map(|&c| kept(p, c)) {
            put_zigzag(out, (rec[o] as i64).wrapping_sub(nstart));
        }
    }
    n
}

/// `(x, t)` when `rec` is exactly the record of the single value `x` at time `t` (inside the
/// bucket starting at `start`), so that the entry can be written as just `x` and `t`.
fn single_value(p: &AggPlan, rec: &[u64], start: i64) -> Option<(f64, i64)> {
    if f64::from_bits(rec[0]) != 1.0 {
        return None;
    }
    // Every kept value column of one value is that value (sum: 0 + x, so -0.0 reads +0.0 there;
    // min comes first for that reason), except sqr: x² from |x| is the same x².
    let x = [C_MIN, C_MAX, C_FIRST, C_LAST, C_SUM]
        .iter()
        .find_map(|&c| kept(p, c))
        .map(|o| f64::from_bits(rec[o]))
        .or_else(|| kept(p, C_SQR).map(|o| f64::from_bits(rec[o]).sqrt()))
        .unwrap_or(0.0);
    let t = kept(p, T_FIRST)
        .or(kept(p, T_LAST))
        .map_or(start, |o| rec[o] as i64);
    if t.wrapping_sub(start) as u64 >= p.period as u64 {
        return None;
    }
    let mut buf = [0u64; 9];
    let one = &mut buf[..p.vlen];
    record::store::<{ record::RT }>(p, one, &Acc::EMPTY);
    record::add_value::<{ record::RT }>(p, one, x, t, 0.0);
    (*one == *rec).then_some((x, t))
}

/// A time inside the bucket starting at `start`, written as its offset.
fn time_in_bucket(r: &mut Reader<'_>, p: &AggPlan, start: i64) -> Res<i64> {
    let at = r.pos();
    let off = r.varint_max(p.period as u64 - 1, "time within its bucket")?;
    start
        .checked_add(off as i64)
        .ok_or_else(|| r.invalid_at(at, "a time beyond the representable range"))
}

fn decode_words(p: &AggPlan, r: &mut Reader<'_>) -> Res<AggWords> {
    let at = r.pos();
    let flags = r.varint("aggregator flags")?;
    match flags {
        0 => {
            let mut runs = vec![0u64; p.wins.len() * p.vlen];
            for rec in runs.chunks_mut(p.vlen) {
                record::store::<{ record::RT }>(p, rec, &Acc::EMPTY);
            }
            return Ok(AggWords {
                newest: NONE,
                first: i64::MAX,
                ids: Vec::new(),
                counts: Vec::new(),
                entries: Vec::new(),
                runs,
            });
        }
        1 | 3 => {}
        _ => return Err(r.invalid_at(at, format!("unknown aggregator flags {flags}"))),
    }
    let at = r.pos();
    let n = r.zigzag("newest bucket")?;
    // Every bucket arithmetic of the engine (bucket starts, `n − ring`) must stay in range.
    if n.checked_mul(p.period).is_none() || n.checked_sub(2 * p.ring).is_none() {
        return Err(r.invalid_at(at, format!("newest bucket {n} is outside the time range")));
    }
    let first = if flags & 2 != 0 {
        let at = r.pos();
        let d = r.varint("oldest bucket offered")?;
        i64::try_from(n as i128 - d as i128)
            .map_err(|_| r.invalid_at(at, "oldest bucket offered is outside the time range"))?
    } else {
        i64::MAX
    };
    let cut = n - p.ring;
    let at = r.pos();
    let len = r.varint("bucket entry count")?;
    if len > p.ring as u64 {
        return Err(r.invalid_at(
            at,
            format!(
                "{len} bucket entries, more than the {} buckets it retains",
                p.ring
            ),
        ));
    }
    if len > r.remaining() as u64 {
        // each entry takes a byte at least: do not allocate for entries that cannot be there
        return Err(DecodeError::Truncated {
            at: at + 1,
            len: at + 1 + r.remaining(),
            what: "bucket entries",
        });
    }
    let len = len as usize;
    let mut a = AggWords {
        newest: n,
        first,
        ids: Vec::with_capacity(len),
        counts: Vec::with_capacity(len),
        entries: Vec::with_capacity(len * p.es()),
        runs: vec![0u64; p.wins.len() * p.vlen],
    };
    let mut prev = cut;
    let mut total = 0u64;
    for _ in 0..len {
        let at = r.pos();
        let tag = r.varint("bucket entry")?;
        let gap = tag >> 1;
        if gap >= (n - prev) as u64 {
            return Err(r.invalid_at(at, "a bucket entry after the newest bucket"));
        }
        let b = prev + 1 + gap as i64;
        prev = b;
        let start = b
            .checked_mul(p.period)
            .ok_or_else(|| r.invalid_at(at, "a bucket outside the time range"))?;
        a.entries.push(b as u64);
        let rec_at = a.entries.len();
        a.entries.resize(rec_at + p.vlen, 0);
        let count = if tag & 1 == 1 {
            let x = if has_value_col(p) {
                r.f64("value")?
            } else {
                0.0
            };
            let t = if has_time_col(p) {
                time_in_bucket(r, p, start)?
            } else {
                start
            };
            let rec = &mut a.entries[rec_at..];
            record::store::<{ record::RT }>(p, rec, &Acc::EMPTY);
            record::add_value::<{ record::RT }>(p, rec, x, t, 0.0);
            1
        } else {
            let c = r.varint_max(MAX_COUNT - 1, "bucket count")? + 1;
            a.entries[rec_at] = (c as f64).to_bits();
            for o in VALUE_COLS.iter().filter_map(|&c| kept(p, c)) {
                a.entries[rec_at + o] = r.u64_le("value column")?;
            }
            for o in TIME_COLS.iter().filter_map(|&c| kept(p, c)) {
                a.entries[rec_at + o] = time_in_bucket(r, p, start)? as u64;
            }
            c
        };
        total += count;
        if total > MAX_COUNT {
            return Err(r.invalid_at(at, "more values than counts hold exactly (2^53)"));
        }
        a.ids.push(b);
        a.counts.push(count);
    }
    if a.ids.first().is_some_and(|&b| b < first) {
        return Err(r.invalid_at(
            at,
            "a bucket older than the oldest value offered (or none offered)",
        ));
    }
    let nstart = n * p.period;
    for (wi, win) in p.wins.iter().enumerate() {
        let count: u64 = a
            .ids
            .iter()
            .zip(&a.counts)
            .filter(|&(&b, _)| win.contains_at(b, n))
            .map(|(_, c)| c)
            .sum();
        let rec = &mut a.runs[wi * p.vlen..][..p.vlen];
        if count == 0 {
            record::store::<{ record::RT }>(p, rec, &Acc::EMPTY);
            continue;
        }
        rec[0] = (count as f64).to_bits();
        for o in VALUE_COLS.iter().filter_map(|&c| kept(p, c)) {
            rec[o] = r.u64_le("running value")?;
        }
        for o in TIME_COLS.iter().filter_map(|&c| kept(p, c)) {
            rec[o] = nstart.wrapping_add(r.zigzag("running time")?) as u64;
        }
    }
    Ok(a)
}

#[cfg(test)]
mod tests;
