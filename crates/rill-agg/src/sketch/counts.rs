//! Exact multisets: value → occurrences, small in a vector, large in a hash table (the exact
//! hashes of a small approx_count_distinct window).

use super::*;

/// A key of a [`Counts`] multiset and its hash (recomputed only when the table grows).
pub(crate) trait CountKey: Eq + Clone {
    fn rehash(&self) -> u64;
}
/// HyperLogLog hashes are already uniform: they are their own table hash.
impl CountKey for u64 {
    fn rehash(&self) -> u64 {
        *self
    }
}

/// A multiset: key → multiplicity (> 0). The caller passes each key's hash, computed once per
/// event and shared by the bucket's and every window's table. Up to [`SMALL`] keys live in a
/// plain vector (most buckets of most keys hold a handful of values: a hash table's minimum
/// size and load factor would multiply their memory), then in a hash table.
pub(crate) enum Counts<K> {
    Small(Vec<(K, u32)>),
    Table(HashTable<(K, u32)>),
}

/// Keys a [`Counts`] keeps in a vector (searched linearly) before it switches to a table.
pub(super) const SMALL: usize = 8;

impl<K> Default for Counts<K> {
    fn default() -> Self {
        Counts::Small(Vec::new())
    }
}

impl<K: CountKey> Counts<K> {
    /// Adds `n` occurrences of `k`; true when `k` was not present.
    #[inline]
    pub fn add(&mut self, k: &K, h: u64, n: u32) -> bool {
        match self {
            Counts::Small(v) => {
                if let Some(e) = v.iter_mut().find(|e| e.0 == *k) {
                    e.1 += n;
                    return false;
                }
                if v.len() < SMALL {
                    // exact growth: a bucket with one value holds one entry
                    v.reserve_exact(if v.is_empty() { 1 } else { v.len() });
                    v.push((k.clone(), n));
                    return true;
                }
                let mut t = HashTable::with_capacity(2 * SMALL);
                for e in v.drain(..) {
                    t.insert_unique(e.0.rehash(), e, |e: &(K, u32)| e.0.rehash());
                }
                t.insert_unique(h, (k.clone(), n), |e| e.0.rehash());
                *self = Counts::Table(t);
                true
            }
            Counts::Table(t) => {
                if let Some(e) = t.find_mut(h, |e| e.0 == *k) {
                    e.1 += n;
                    return false;
                }
                t.insert_unique(h, (k.clone(), n), |e| e.0.rehash());
                true
            }
        }
    }

    /// Removes `n` occurrences of `k`, which must be present that often.
    #[inline]
    pub fn sub(&mut self, k: &K, h: u64, n: u32) {
        match self {
            Counts::Small(v) => match v.iter().position(|e| e.0 == *k) {
                Some(i) => {
                    debug_assert!(v[i].1 >= n, "multiset count below zero");
                    v[i].1 -= n;
                    if v[i].1 == 0 {
                        v.swap_remove(i);
                    }
                }
                None => debug_assert!(false, "removing a key that is not in the multiset"),
            },
            Counts::Table(t) => match t.find_entry(h, |e| e.0 == *k) {
                Ok(mut e) => {
                    let c = &mut e.get_mut().1;
                    debug_assert!(*c >= n, "multiset count below zero");
                    *c -= n;
                    if *c == 0 {
                        e.remove();
                    }
                }
                Err(_) => debug_assert!(false, "removing a key that is not in the multiset"),
            },
        }
    }

    /// Number of distinct keys.
    #[inline]
    pub fn len(&self) -> usize {
        match self {
            Counts::Small(v) => v.len(),
            Counts::Table(t) => t.len(),
        }
    }

    #[cfg(test)]
    pub fn iter(&self) -> impl Iterator<Item = &(K, u32)> {
        let (a, b) = match self {
            Counts::Small(v) => (Some(v.iter()), None),
            Counts::Table(t) => (None, Some(t.iter())),
        };
        a.into_iter().flatten().chain(b.into_iter().flatten())
    }

    pub fn heap_bytes(&self) -> usize {
        match self {
            Counts::Small(v) => v.capacity() * std::mem::size_of::<(K, u32)>(),
            Counts::Table(t) => t.allocation_size(),
        }
    }
}
