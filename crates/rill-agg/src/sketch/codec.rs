//! The sketch part of an aggregator's encoded state (the rest is in `crate::codec`): per
//! retained bucket what it holds (distinct values, HyperLogLog hashes or registers, quantile
//! bins), per window only what its history decided. Everything else is rebuilt from the
//! buckets: each window's value and distinct counts, histogram and quantile cursors, the key's
//! value → newest bucket map and each bucket's count of values held last there. A window's
//! running sketch is exactly the sum of its buckets' (counts add and subtract exactly, a
//! cursor's place is the bin of its rank whichever way it got there), except for the two
//! choices a window's HyperLogLog made on the way, which are written.
//!
//! ```text
//! sketch   = bucket × n (the entries of the words part, same order) · modes
//! bucket   = [distinct] [hll] [quantile]        (each when the aggregator needs it)
//! distinct = k varint, k × (value, occurrences − 1 varint: written as 0, read and checked,
//!            not kept)
//! value    = varint: 0..=5 a value not seen before, of that kind, follows (int zigzag,
//!            float 8 bytes, string length varint + UTF-8, false, true, time zigzag);
//!            6 + i: the i-th value seen before (values repeat across buckets)
//! hll      = varint v: 1..=256 exact hashes, v × (varint 0 + hash u64 LE, or 1 + i: the i-th
//!            hash seen before); 257 registers as (count, (index gap varint, rank u8) × count);
//!            258 the 4096 register ranks as bytes (approx_count_distinct alone only)
//! quantile = [bins varint, when the bucket holds more than one value], first bin code zigzag,
//!            then code gap − 1 varint each; count − 1 varint per bin but the last (the
//!            bucket's count less the others')
//! modes    = approx_count_distinct alone, per window holding values: 0 exact hashes, else
//!            1 + (newest + 1 − flip): registers whose two stacks split at bucket flip
//! ```

use super::*;
use crate::codec::{put_varint, put_zigzag, Reader, Res};

/// The data the buckets of an aggregator hold.
#[derive(Clone, Copy)]
struct Parts {
    distinct: bool,
    /// approx_count_distinct without count_distinct (beside it, it keeps nothing).
    hll: bool,
    quantile: bool,
}

impl Parts {
    fn of(p: &AggPlan) -> Parts {
        Parts {
            distinct: p.needs.distinct,
            hll: p.needs.hll && !p.needs.distinct,
            quantile: p.needs.quantile,
        }
    }
}

/// Kinds of a new value; a varint from `KINDS` on refers to a value seen before.
const KINDS: u64 = 6;
const HLL_PAIRS: u64 = HLL_SPARSE_MAX as u64 + 1;
const HLL_RAW: u64 = HLL_SPARSE_MAX as u64 + 2;
/// Largest HyperLogLog rank: the leading zeros of the bits after the register index, plus one.
const MAX_RHO: u8 = (64 - HLL_P + 1) as u8;
/// Largest magnitude of a quantile bin (finite doubles span about −37 200 to 35 500; a
/// test checks): bounds the dense histograms a decoded state can make a window allocate.
const MAX_BIN: i64 = 40_000;

fn put_key(out: &mut Vec<u8>, k: &DistinctKey) {
    match k {
        DistinctKey::Int(i) => {
            put_varint(out, 0);
            put_zigzag(out, *i);
        }
        DistinctKey::Float(b) => {
            put_varint(out, 1);
            out.extend_from_slice(&b.to_le_bytes());
        }
        DistinctKey::Str(s) => {
            put_varint(out, 2);
            put_varint(out, s.len() as u64);
            out.extend_from_slice(s.as_bytes());
        }
        DistinctKey::Bool(b) => put_varint(out, 3 + *b as u64),
        DistinctKey::Time(t) => {
            put_varint(out, 5);
            put_zigzag(out, *t);
        }
    }
}

/// Whether window `win` holds values at newest bucket `newest`: its buckets are a suffix of
/// the retained ones, so iff it holds the newest of them.
fn holds_values(ids: &VecDeque<i64>, win: &WinPlan, newest: i64) -> bool {
    ids.back().is_some_and(|&b| win.contains_at(b, newest))
}

/// Writes the sketch part of aggregator `p` (whose newest bucket is `newest`).
pub(crate) fn encode(p: &AggPlan, sk: &AggSketch, newest: i64, out: &mut Vec<u8>) {
    let pt = Parts::of(p);
    // Values and hashes written so far → their index.
    let mut keys: HashTable<(&DistinctKey, u64)> = HashTable::new();
    let mut hashes: HashTable<(u64, u64)> = HashTable::new();
    let mut listed: Vec<&DistinctKey> = Vec::new();
    for (i, bk) in sk.buckets.data.iter().enumerate() {
        if pt.distinct {
            listed.clear();
            listed.extend(sk.buckets.keys_in(i, i + 1));
            put_varint(out, listed.len() as u64);
            for &k in &listed {
                let h = k.hash64();
                match keys.find(h, |e| e.0 == k) {
                    Some(&(_, i)) => put_varint(out, KINDS + i),
                    None => {
                        put_key(out, k);
                        let i = keys.len() as u64;
                        keys.insert_unique(h, (k, i), |e| e.0.hash64());
                    }
                }
                // occurrences − 1: no longer kept (no read depends on them), written as one
                put_varint(out, 0);
            }
        }
        if pt.hll {
            match &bk.hll {
                BucketHll::Sparse(s) => {
                    put_varint(out, s.len() as u64);
                    for &h in s {
                        match hashes.find(h, |e| e.0 == h) {
                            Some(&(_, i)) => put_varint(out, 1 + i),
                            None => {
                                put_varint(out, 0);
                                out.extend_from_slice(&h.to_le_bytes());
                                let i = hashes.len() as u64;
                                hashes.insert_unique(h, (h, i), |e| e.0);
                            }
                        }
                    }
                }
                BucketHll::Dense(regs) => {
                    // The non-zero registers as (gap, rank) pairs, or all ranks if not smaller.
                    let mut pairs = Vec::new();
                    put_varint(&mut pairs, regs.iter().filter(|&&x| x > 0).count() as u64);
                    let mut next = 0;
                    for (i, &rho) in regs.iter().enumerate().filter(|e| *e.1 > 0) {
                        put_varint(&mut pairs, (i - next) as u64);
                        pairs.push(rho);
                        next = i + 1;
                    }
                    if pairs.len() < HLL_M {
                        put_varint(out, HLL_PAIRS);
                        out.extend_from_slice(&pairs);
                    } else {
                        put_varint(out, HLL_RAW);
                        out.extend_from_slice(&regs[..]);
                    }
                }
            }
        }
        if pt.quantile {
            let q = &sk.buckets.bins_of(i);
            debug_assert_eq!(q.iter().map(|e| e.1 as u64).sum::<u64>(), bk.vals);
            if bk.vals > 1 {
                put_varint(out, q.len() as u64);
            }
            let mut prev = 0i64;
            for (j, &(code, c)) in q.iter().enumerate() {
                let code = i64::from(code);
                if j == 0 {
                    put_zigzag(out, code);
                } else {
                    put_varint(out, (code - prev - 1) as u64);
                }
                prev = code;
                if j + 1 < q.len() {
                    put_varint(out, u64::from(c).saturating_sub(1));
                }
            }
        }
    }
    if pt.hll {
        for (wi, win) in p.wins.iter().enumerate() {
            let w = &sk.wins[wi];
            debug_assert_eq!(holds_values(&sk.buckets.ids, win, newest), w.vals > 0);
            if !holds_values(&sk.buckets.ids, win, newest) {
                continue;
            }
            match &w.hll {
                WinHll::Dense(d) => put_varint(out, (newest + 2 - d.flip) as u64),
                WinHll::Sparse(_) | WinHll::Exact => put_varint(out, 0),
            }
        }
    }
}

/// Reads a value of kind `kind` (< `KINDS`) that started at byte `at`.
fn read_key(r: &mut Reader<'_>, kind: u64, at: usize) -> Res<DistinctKey> {
    Ok(match kind {
        0 => DistinctKey::Int(r.zigzag("distinct value")?),
        1 => {
            let bits = r.u64_le("distinct value")?;
            // What an event gives: integral floats count as ints, NaN is never counted.
            if DistinctKey::of(&Value::Float(f64::from_bits(bits)))
                != Some(DistinctKey::Float(bits))
            {
                return Err(r.invalid_at(at, "a float value that no event gives (NaN or integral)"));
            }
            DistinctKey::Float(bits)
        }
        2 => {
            let len = r.varint("string length")?;
            let bytes = r.take(usize::try_from(len).unwrap_or(usize::MAX), "string")?;
            let s = std::str::from_utf8(bytes)
                .map_err(|_| r.invalid_at(at, "a string value that is not UTF-8"))?;
            DistinctKey::Str(Str::from(s))
        }
        3 => DistinctKey::Bool(false),
        4 => DistinctKey::Bool(true),
        _ => DistinctKey::Time(r.zigzag("distinct value")?),
    })
}

/// Whether `c` is a bin code some value has (see `code_of`).
fn valid_code(c: i64) -> bool {
    c == 0
        || c == i64::from(i32::MIN)
        || c == i64::from(i32::MAX)
        || (c.abs() - i64::from(CODE_OFF)).abs() <= MAX_BIN
}

/// Reads the sketch part of aggregator `p`, whose retained buckets (from the words part) are
/// `ids` holding `counts` values, and rebuilds its running windows at newest bucket `newest`.
pub(crate) fn decode(
    p: &AggPlan,
    newest: i64,
    ids: &[i64],
    counts: &[u64],
    r: &mut Reader<'_>,
) -> Res<AggSketch> {
    let pt = Parts::of(p);
    if counts.iter().sum::<u64>() > u64::from(u32::MAX) {
        return Err(r.invalid_at(r.pos(), "more values than a sketch counts (2^32 − 1)"));
    }
    // Values seen so far (with their hash), where each was listed last (bucket index; buckets
    // come oldest first, so the newest bucket holding it), and an index on them.
    let mut dict: Vec<(DistinctKey, u64)> = Vec::new();
    let mut last_in: Vec<usize> = Vec::new();
    let mut dict_index: HashTable<usize> = HashTable::new();
    let mut hashes: Vec<u64> = Vec::new();
    let mut hash_index: HashTable<usize> = HashTable::new();
    let mut buckets = Buckets::default();
    let mut keys: Vec<DistinctKey> = Vec::new();
    for (i, &vals) in counts.iter().enumerate() {
        keys.clear();
        let mut hll = BucketHll::default();
        let mut q = Vec::new();
        if pt.distinct {
            let at = r.pos();
            let k = r.varint("distinct value count")?;
            if k == 0 || k > vals {
                return Err(r.invalid_at(
                    at,
                    format!("a bucket of {vals} values lists {k} distinct values"),
                ));
            }
            let mut occurrences = 0;
            for _ in 0..k {
                let at = r.pos();
                let v = r.varint("distinct value")?;
                let j = if v < KINDS {
                    let key = read_key(r, v, at)?;
                    let h = key.hash64();
                    if dict_index.find(h, |&j| dict[j].0 == key).is_some() {
                        return Err(r.invalid_at(at, "a value listed as new twice"));
                    }
                    dict.push((key, h));
                    last_in.push(i);
                    dict_index.insert_unique(h, dict.len() - 1, |&j| dict[j].1);
                    dict.len() - 1
                } else {
                    let j = usize::try_from(v - KINDS).unwrap_or(usize::MAX);
                    if j >= dict.len() {
                        return Err(r.invalid_at(
                            at,
                            format!("value {j} referred to, {} listed before", dict.len()),
                        ));
                    }
                    if last_in[j] == i {
                        return Err(r.invalid_at(at, "a bucket lists a value twice"));
                    }
                    last_in[j] = i;
                    j
                };
                let occ = r.varint_max(vals - 1, "occurrences")? + 1;
                occurrences += occ;
                if occurrences > vals {
                    return Err(r.invalid_at(at, "more occurrences than the bucket holds values"));
                }
                keys.push(dict[j].0.clone());
            }
        }
        if pt.hll {
            let at = r.pos();
            let v = r.varint("hyperloglog data")?;
            let dense = v == HLL_PAIRS || v == HLL_RAW;
            if v == 0 || v > HLL_RAW || v > vals && !dense {
                return Err(r.invalid_at(
                    at,
                    format!("a bucket of {vals} values with hyperloglog data {v}"),
                ));
            }
            if dense && vals <= HLL_SPARSE_MAX as u64 {
                return Err(r.invalid_at(
                    at,
                    format!("registers in a bucket of {vals} values (one keeps its hashes up to {HLL_SPARSE_MAX})"),
                ));
            }
            hll = if !dense {
                let mut s: Vec<u64> = Vec::with_capacity(v as usize);
                for _ in 0..v {
                    let at = r.pos();
                    let t = r.varint("hash")?;
                    let h = if t == 0 {
                        let h = r.u64_le("hash")?;
                        if hash_index.find(h, |&j| hashes[j] == h).is_some() {
                            return Err(r.invalid_at(at, "a hash listed as new twice"));
                        }
                        hashes.push(h);
                        hash_index.insert_unique(h, hashes.len() - 1, |&j| hashes[j]);
                        h
                    } else {
                        let j = usize::try_from(t - 1).unwrap_or(usize::MAX);
                        *hashes.get(j).ok_or_else(|| {
                            r.invalid_at(
                                at,
                                format!("hash {j} referred to, {} listed before", hashes.len()),
                            )
                        })?
                    };
                    if s.last().is_some_and(|&l| l >= h) {
                        return Err(r.invalid_at(at, "hashes not in ascending order"));
                    }
                    s.push(h);
                }
                BucketHll::Sparse(s)
            } else {
                let mut regs = Box::new([0u8; HLL_M]);
                if v == HLL_PAIRS {
                    let nonzero = r.varint_max(HLL_M as u64, "register count")?;
                    let mut next = 0usize;
                    for _ in 0..nonzero {
                        let at = r.pos();
                        let gap = r.varint_max((HLL_M - next) as u64, "register gap")? as usize;
                        let i = next + gap;
                        let rho = r.u8("register")?;
                        if i >= HLL_M || rho == 0 || rho > MAX_RHO {
                            return Err(r.invalid_at(at, format!("register {i} of rank {rho}")));
                        }
                        regs[i] = rho;
                        next = i + 1;
                    }
                } else {
                    let at = r.pos();
                    regs.copy_from_slice(r.take(HLL_M, "registers")?);
                    if let Some(i) = regs.iter().position(|&x| x > MAX_RHO) {
                        return Err(
                            r.invalid_at(at + i, format!("register {i} of rank {}", regs[i]))
                        );
                    }
                }
                BucketHll::Dense(regs)
            };
        }
        if pt.quantile {
            let at = r.pos();
            let bins = if vals > 1 {
                r.varint_max(vals, "quantile bins")?
            } else {
                1
            };
            if bins == 0 {
                return Err(r.invalid_at(at, "no quantile bins for the bucket's values"));
            }
            let (mut prev, mut left) = (0i64, vals);
            for j in 0..bins {
                let at = r.pos();
                let code = if j == 0 {
                    i128::from(r.zigzag("bin code")?)
                } else {
                    i128::from(prev) + 1 + i128::from(r.varint("bin code")?)
                };
                let code = i32::try_from(code)
                    .ok()
                    .filter(|&c| valid_code(i64::from(c)))
                    .ok_or_else(|| r.invalid_at(at, format!("bin code {code} of no value")))?;
                prev = i64::from(code);
                // every bin holds a value: leave one for each bin still to come
                let c = if j + 1 < bins {
                    r.varint_max(left - (bins - j), "bin count")? + 1
                } else {
                    left
                };
                left -= c;
                q.push((code, c as u32));
            }
        }
        buckets.push_decoded(ids[i], vals, keys.drain(..), q, hll);
    }
    // Each value is held last by the newest bucket listing it.
    let mut last = HashTable::with_capacity(dict.len());
    // ... while that bucket is inside some window (see `AggSketch::last`)
    let floor = floor_at(p, newest);
    for ((key, h), &i) in dict.into_iter().zip(&last_in) {
        if ids[i] >= floor {
            buckets.data[i].latest += 1;
            last.insert_unique(h, (key, ids[i]), |e: &(DistinctKey, i64)| e.0.hash64());
        }
    }
    let mut wins = Vec::with_capacity(p.wins.len());
    for win in &p.wins {
        let lo = win.range(newest).0;
        let start = buckets.ids.partition_point(|&b| b < lo);
        let inside = || buckets.data.range(start..);
        let mut w = WinSk {
            first: start,
            ..WinSk::default()
        };
        for bk in inside() {
            w.vals += bk.vals;
            w.distinct += bk.latest;
        }
        for (code, c) in buckets.codes_in(start, buckets.data.len()) {
            w.q.apply(code, c, true);
        }
        if w.vals > 0 {
            if pt.quantile {
                w.settle(p);
            }
            if p.needs.hll && p.needs.distinct {
                w.hll = WinHll::Exact;
            } else if pt.hll {
                let at = r.pos();
                let m = r.varint_max((newest + 2 - lo) as u64, "window hyperloglog mode")?;
                w.hll = if m == 0 {
                    let mut c = Counts::default();
                    for bk in inside() {
                        let BucketHll::Sparse(s) = &bk.hll else {
                            return Err(
                                r.invalid_at(at, "exact hashes in a window holding registers")
                            );
                        };
                        for &h in s {
                            c.add(&h, h, 1);
                        }
                    }
                    if c.len() > HLL_SPARSE_MAX {
                        return Err(r.invalid_at(
                            at,
                            format!(
                                "a window keeps {} hashes exactly, more than {HLL_SPARSE_MAX}",
                                c.len()
                            ),
                        ));
                    }
                    WinHll::Sparse(c)
                } else {
                    WinHll::Dense(dense(&buckets, start, newest + 2 - m as i64))
                };
            }
        }
        wins.push(w);
    }
    Ok(AggSketch {
        last,
        floor,
        floor_first: buckets.ids.partition_point(|&b| b < floor),
        buckets,
        wins: wins.into(),
    })
}

/// A window's registers over the buckets from `start` on, as `rebuild_hll` and the inserts
/// after it left them: the buckets before `flip` as the front (suffix maxima, newest first),
/// the others folded into the back.
fn dense(buckets: &Buckets, start: usize, flip: i64) -> Box<DenseWin> {
    let mut d = DenseWin::new();
    let split = buckets.ids.partition_point(|&b| b < flip).max(start);
    for i in (start..split).rev() {
        d.push_front(buckets.ids[i], &buckets.data[i].hll);
    }
    d.flip = flip;
    for bk in buckets.data.range(split..) {
        bk.hll.for_each_reg(|i, rho| d.insert_back(i, rho));
    }
    d
}

/// Buckets and windows of a sketch state that keep HyperLogLog registers.
#[cfg(test)]
pub(crate) fn dense_parts(sk: &AggSketch) -> (usize, usize) {
    let b = sk
        .buckets
        .data
        .iter()
        .filter(|b| matches!(b.hll, BucketHll::Dense(_)));
    let w = sk.wins.iter().filter(|w| matches!(w.hll, WinHll::Dense(_)));
    (b.count(), w.count())
}

/// What differs between two sketch states that must behave the same (a state and its decoded
/// copy): everything but storage (capacities, sparse or dense bins, table order, spare bucket,
/// the cursors of empty windows).
#[cfg(test)]
pub(crate) fn differences(a: &AggSketch, b: &AggSketch) -> Vec<String> {
    fn counts<K: CountKey + Ord>(c: &Counts<K>) -> Vec<(K, u32)> {
        let mut v: Vec<_> = c.iter().cloned().collect();
        v.sort();
        v
    }
    fn keys(s: &AggSketch, i: usize) -> Vec<String> {
        let mut v: Vec<_> = s
            .buckets
            .keys_in(i, i + 1)
            .map(|k| format!("{k:?}"))
            .collect();
        v.sort();
        v
    }
    fn bins(b: &Bins) -> (u64, Vec<(i32, u32)>) {
        let v = match &b.repr {
            BinsRepr::Sparse(v) => v.clone(),
            BinsRepr::Dense { lo, counts, .. } => (0..counts.len())
                .filter(|&i| counts[i] > 0)
                .map(|i| (*lo + i as i32, counts[i]))
                .collect(),
        };
        (b.total, v)
    }
    fn hist(h: &QHist) -> String {
        format!(
            "{:?}",
            (h.neg_inf, h.zero, h.pos_inf, bins(&h.neg), bins(&h.pos))
        )
    }
    fn bucket_hll(h: &BucketHll) -> String {
        match h {
            BucketHll::Sparse(s) => format!("sparse {s:?}"),
            BucketHll::Dense(r) => format!("dense {:?}", &r[..]),
        }
    }
    fn win_hll(h: &WinHll) -> String {
        match h {
            WinHll::Exact => "exact".into(),
            WinHll::Sparse(c) => format!("sparse {:?}", counts(c)),
            WinHll::Dense(d) => format!(
                "dense {:?}",
                (
                    &d.f[..],
                    &d.b[..],
                    d.sum,
                    d.zeros,
                    d.flip,
                    &d.front,
                    &d.diffs
                )
            ),
        }
    }
    let mut d = Vec::new();
    if a.buckets.ids != b.buckets.ids {
        d.push(format!(
            "bucket ids {:?} vs {:?}",
            a.buckets.ids, b.buckets.ids
        ));
        return d;
    }
    for (i, (x, y)) in a.buckets.data.iter().zip(&b.buckets.data).enumerate() {
        let id = a.buckets.ids[i];
        if (x.vals, x.latest) != (y.vals, y.latest) {
            d.push(format!(
                "bucket {id}: vals/latest {:?} vs {:?}",
                (x.vals, x.latest),
                (y.vals, y.latest)
            ));
        }
        if keys(a, i) != keys(b, i) {
            d.push(format!("bucket {id}: distinct values differ"));
        }
        if bucket_hll(&x.hll) != bucket_hll(&y.hll) {
            d.push(format!("bucket {id}: hyperloglog differs"));
        }
        let (qx, qy) = (a.buckets.bins_of(i), b.buckets.bins_of(i));
        if qx != qy {
            d.push(format!("bucket {id}: quantile bins {qx:?} vs {qy:?}"));
        }
    }
    let last = |s: &AggSketch| {
        let mut v: Vec<_> = s.last.iter().map(|(k, b)| (format!("{k:?}"), *b)).collect();
        v.sort();
        v
    };
    if last(a) != last(b) {
        d.push("value → newest bucket maps differ".into());
    }
    if (a.floor, a.floor_first) != (b.floor, b.floor_first) {
        d.push(format!(
            "floors {:?} vs {:?}",
            (a.floor, a.floor_first),
            (b.floor, b.floor_first)
        ));
    }
    for (wi, (x, y)) in a.wins.iter().zip(b.wins.iter()).enumerate() {
        if x.first != y.first {
            d.push(format!(
                "window {wi}: first bucket {} vs {}",
                x.first, y.first
            ));
        }
        if (x.vals, x.distinct) != (y.vals, y.distinct) {
            d.push(format!(
                "window {wi}: vals/distinct {:?} vs {:?}",
                (x.vals, x.distinct),
                (y.vals, y.distinct)
            ));
        }
        if win_hll(&x.hll) != win_hll(&y.hll) {
            d.push(format!(
                "window {wi}: hyperloglog {} vs {}",
                win_hll(&x.hll),
                win_hll(&y.hll)
            ));
        }
        if hist(&x.q) != hist(&y.q) {
            d.push(format!(
                "window {wi}: histogram {} vs {}",
                hist(&x.q),
                hist(&y.q)
            ));
        }
        if x.vals > 0 && x.cur[..] != y.cur[..] {
            d.push(format!("window {wi}: cursors {:?} vs {:?}", x.cur, y.cur));
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bin_codes_of_every_double_are_valid() {
        for x in [f64::from_bits(1), f64::MIN_POSITIVE, 1.0, f64::MAX] {
            let k = i64::from(bin_of(x));
            assert!(k.abs() <= MAX_BIN, "{x}: bin {k}");
            assert!(valid_code(i64::from(code_of(x))) && valid_code(i64::from(code_of(-x))));
        }
        for x in [0.0, f64::INFINITY, f64::NEG_INFINITY] {
            assert!(valid_code(i64::from(code_of(x))));
        }
        assert!(!valid_code(5) && !valid_code(i64::from(CODE_OFF) + MAX_BIN + 1));
        // The largest rank of a hash.
        assert_eq!(hll_split(0).1, MAX_RHO);
        assert_eq!(hll_split(1).1, MAX_RHO - 1);
    }
}
