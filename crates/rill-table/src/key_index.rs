//! [`KeyIndex`]: key hash → dense slot, built so that a batch of lookups can be pipelined.
//!
//! With tens of thousands of keys, each lookup in a general hash map is a cache miss that the
//! next lookup waits behind. Here the caller hashes a whole batch first and
//! [`prefetch`](KeyIndex::prefetch)es each key's bucket, whose address follows from the hash
//! alone; the lookups that follow then find their buckets arriving or in cache. Buckets hold only
//! the full hash and the slot (16 bytes); the caller owns the keys and checks the candidate.

/// Open addressing with linear probing over `(hash, slot)` buckets, at most half full.
#[derive(Debug, Clone)]
pub(crate) struct KeyIndex {
    buckets: Vec<Bucket>,
    len: usize,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    hash: u64,
    /// `EMPTY` for a free bucket.
    slot: u32,
}

const EMPTY: u32 = u32::MAX;
const MIN_BUCKETS: usize = 16;

impl Default for KeyIndex {
    fn default() -> Self {
        KeyIndex {
            buckets: vec![
                Bucket {
                    hash: 0,
                    slot: EMPTY
                };
                MIN_BUCKETS
            ],
            len: 0,
        }
    }
}

impl KeyIndex {
    #[inline]
    fn mask(&self) -> usize {
        self.buckets.len() - 1
    }

    /// Hints the CPU to load the bucket where a lookup of `hash` starts.
    #[inline]
    pub fn prefetch(&self, hash: u64) {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            let b = &self.buckets[hash as usize & self.mask()];
            // SAFETY: a prefetch is a hint that never faults nor reads memory in the language's
            // sense; the pointer is a live element of the vector anyway.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(b as *const Bucket as *const i8) };
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = hash;
    }

    /// The slot of the key with this hash for which `is_key(slot)` holds.
    #[inline]
    pub fn find(&self, hash: u64, is_key: impl Fn(u32) -> bool) -> Option<u32> {
        let mask = self.mask();
        let mut i = hash as usize & mask;
        loop {
            let b = self.buckets[i];
            if b.slot == EMPTY {
                return None;
            }
            if b.hash == hash && is_key(b.slot) {
                return Some(b.slot);
            }
            i = (i + 1) & mask;
        }
    }

    /// Adds a key known to be absent. Growing rehashes from the stored hashes: keys are not
    /// touched.
    pub fn insert(&mut self, hash: u64, slot: u32) {
        debug_assert_ne!(slot, EMPTY);
        if (self.len + 1) * 2 > self.buckets.len() {
            let grown = vec![
                Bucket {
                    hash: 0,
                    slot: EMPTY
                };
                self.buckets.len() * 2
            ];
            let old = std::mem::replace(&mut self.buckets, grown);
            for b in old.into_iter().filter(|b| b.slot != EMPTY) {
                self.place(b);
            }
        }
        self.place(Bucket { hash, slot });
        self.len += 1;
    }

    fn place(&mut self, b: Bucket) {
        let mask = self.mask();
        let mut i = b.hash as usize & mask;
        while self.buckets[i].slot != EMPTY {
            i = (i + 1) & mask;
        }
        self.buckets[i] = b;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    proptest! {
        /// Agrees with a HashMap for any keys, including hashes that collide in full (the
        /// candidate check tells them apart) and in their bucket bits.
        #[test]
        fn agrees_with_a_map(keys in proptest::collection::vec(0u64..5_000, 0..3_000), shift in 0u32..40) {
            // few distinct hash values: many full collisions, long probe runs
            let hash = |k: u64| (k % 700) << shift;
            let mut index = KeyIndex::default();
            let mut slots: Vec<u64> = Vec::new();
            let mut map = HashMap::new();
            for &k in &keys {
                let h = hash(k);
                index.prefetch(h);
                let found = index.find(h, |s| slots[s as usize] == k);
                prop_assert_eq!(found, map.get(&k).copied());
                if found.is_none() {
                    let s = slots.len() as u32;
                    slots.push(k);
                    index.insert(h, s);
                    map.insert(k, s);
                }
            }
            for k in 0..5_000u64 {
                prop_assert_eq!(index.find(hash(k), |s| slots[s as usize] == k), map.get(&k).copied());
            }
        }
    }
}
