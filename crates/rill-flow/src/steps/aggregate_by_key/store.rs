//! Aggregation state kept in a table, shared by the steps that write it and read it.

use super::key_index::KeyIndex;
use parking_lot::Mutex;
use rill_agg::{Aggregations, KeyState};
use rill_core::Value;
use std::sync::Arc;

/// Per-key aggregation state of one set of aggregators, registered in a table so that
/// `query_by_key` (in this flow or another flow of the process) reads what `aggregate_by_key`
/// wrote. Keys are interned to dense slots; states are a flat vector.
pub struct AggStore {
    /// The compiled aggregators (geometry, feature names).
    pub aggs: Arc<Aggregations>,
    /// Per aggregator: true for fixed windows (query_by_key's `last_closed`).
    pub fixed: Vec<bool>,
    /// Keys, slots and states.
    pub data: Mutex<AggData>,
}

/// The mutable part of an [`AggStore`].
#[derive(Default)]
pub struct AggData {
    index: KeyIndex,
    hasher: ahash::RandomState,
    /// Keys by slot.
    pub keys: Vec<Value>,
    /// States by slot.
    pub states: Vec<KeyState>,
}

impl AggData {
    /// The key's hash, for [`AggData::prefetch`] and [`AggData::find_hashed`].
    #[inline]
    pub fn hash(&self, key: &Value) -> u64 {
        self.hasher.hash_one(key)
    }
    /// Hints the CPU to load what a lookup of `hash` reads first (see `KeyIndex`).
    #[inline]
    pub fn prefetch(&self, hash: u64) {
        self.index.prefetch(hash)
    }
    /// The key's slot, creating its state on first sight.
    #[inline]
    pub fn slot(&mut self, key: &Value, aggs: &Aggregations) -> u32 {
        let hash = self.hash(key);
        if let Some(s) = self.find_hashed(hash, key) {
            return s;
        }
        let s = self.keys.len() as u32;
        self.index.insert(hash, s);
        self.keys.push(key.clone());
        self.states.push(aggs.new_state());
        s
    }
    /// The key's slot if known.
    #[inline]
    pub fn find(&self, key: &Value) -> Option<u32> {
        self.find_hashed(self.hash(key), key)
    }
    /// [`AggData::find`] for a key whose [`hash`](AggData::hash) is known.
    #[inline]
    pub fn find_hashed(&self, hash: u64, key: &Value) -> Option<u32> {
        self.index.find(hash, |s| self.keys[s as usize] == *key)
    }
}

impl AggStore {
    /// An empty store for `aggs`; `fixed[i]` tells whether aggregator `i` has fixed windows.
    pub fn new(aggs: Arc<Aggregations>, fixed: Vec<bool>) -> AggStore {
        AggStore {
            aggs,
            fixed,
            data: Mutex::new(AggData::default()),
        }
    }
    /// True when feature `f` belongs to an aggregator with fixed windows.
    pub fn is_fixed_feature(&self, f: usize) -> bool {
        (0..self.aggs.len()).any(|a| self.fixed[a] && self.aggs.feature_range(a).contains(&f))
    }
    /// The component id of a store in a table: its feature names, so two steps with the same
    /// aggregators share one state and different ones do not collide.
    pub fn component_id(aggs: &Aggregations) -> String {
        let names: Vec<&str> = aggs.feature_names().iter().map(|s| s.as_str()).collect();
        format!("aggregations:{}", names.join(","))
    }
}
