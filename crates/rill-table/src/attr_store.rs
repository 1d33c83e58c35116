//! The static attributes of a table's keys (storey's per-key dict): written by
//! `write_to_table` and per-key `map_with_state`, read by `query_by_key` and `enrich_with`.

use crate::agg_store::key_bytes;
use ahash::{AHashMap, AHashSet};
use rill_core::{Record, Value};

/// Keys interned to slots, their attributes, the keys changed since the last flush and the
/// keys known to be absent from the backend.
#[derive(Default)]
pub(crate) struct AttrData {
    slots: AHashMap<Value, u32>,
    pub keys: Vec<Value>,
    pub attrs: Vec<Record>,
    dirty: Vec<u32>,
    is_dirty: Vec<bool>,
    pub absent: AHashSet<Value>,
}

impl AttrData {
    pub fn find(&self, key: &Value) -> Option<u32> {
        self.slots.get(key).copied()
    }
    pub fn insert(&mut self, key: Value, attrs: Record) -> u32 {
        let s = self.keys.len() as u32;
        self.absent.remove(&key);
        self.slots.insert(key.clone(), s);
        self.keys.push(key);
        self.attrs.push(attrs);
        self.is_dirty.push(false);
        s
    }
    pub fn touch(&mut self, slot: u32) {
        if !self.is_dirty[slot as usize] {
            self.is_dirty[slot as usize] = true;
            self.dirty.push(slot);
        }
    }
    /// Evicts clean keys until at most `max` are cached, keeping those in `recent` (changed in
    /// the last flush interval) first. Runs after a flush (nothing is dirty).
    pub fn evict(&mut self, max: usize, recent: &[u32]) -> usize {
        if self.keys.len() <= max || !self.dirty.is_empty() {
            return 0;
        }
        let n = self.keys.len();
        let keep = crate::agg_store::keep_recent(n, max, recent);
        let keys = std::mem::take(&mut self.keys);
        let attrs = std::mem::take(&mut self.attrs);
        self.slots.clear();
        self.is_dirty.clear();
        self.absent.clear();
        for (i, (k, a)) in keys.into_iter().zip(attrs).enumerate() {
            if keep[i] {
                self.insert(k, a);
            }
        }
        n - self.keys.len()
    }

    /// The changed keys' `(key bytes, encoded attributes)`, clearing the dirty set.
    pub fn take_dirty(&mut self) -> crate::agg_store::Dirty {
        let slots = std::mem::take(&mut self.dirty);
        let out = slots
            .iter()
            .map(|&s| {
                self.is_dirty[s as usize] = false;
                let mut v = Vec::new();
                crate::value_codec::encode(&Value::Record(self.attrs[s as usize].clone()), &mut v);
                (key_bytes(&self.keys[s as usize]), v)
            })
            .collect();
        (slots, out)
    }
}
