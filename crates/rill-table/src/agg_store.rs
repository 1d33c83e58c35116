//! [`AggStore`]: the windowed aggregation state of one set of aggregators in a table, per key.
//!
//! Keys are interned to dense slots (a [`KeyIndex`] built for pipelined lookups) and states sit
//! in a flat vector, so the hot path is an index. For a persistent table the store also keeps:
//! the keys touched since the last flush (the dirty set, drained into one batch per flush), and
//! the keys known to be absent from the backend (so a new key costs one lookup, not one per
//! event). A key missing from the cache is loaded from the backend on first sight.

use crate::backend::Backend;
use crate::key_index::KeyIndex;
use ahash::AHashSet;
use parking_lot::Mutex;
use rill_agg::{Aggregations, AggregatorSpec, KeyState};
use rill_core::{Error, Result, Value};
use std::sync::Arc;

/// Per-key aggregation state of one set of aggregators, shared by the steps that write it
/// (`aggregate_by_key`) and read it (`query_by_key`, `rill query`, `rill serve`).
pub struct AggStore {
    /// The compiled aggregators (geometry, feature names).
    pub aggs: Arc<Aggregations>,
    specs: Vec<AggregatorSpec>,
    /// Per aggregator: true for fixed windows (query_by_key's `last_closed`).
    fixed: Vec<bool>,
    /// Per feature: the window length in nanoseconds (for `last_closed` reads).
    windows: Vec<i64>,
    /// The backend space of this store: `agg.<fingerprint>`.
    space: String,
    /// Keys, slots and states.
    pub data: Mutex<AggData>,
}

/// The slots a flush takes and their `(key, value)` entries.
pub(crate) type Dirty = (Vec<u32>, crate::backend::Entries);

/// Where a persistent store loads keys from.
pub(crate) struct Origin {
    pub table: String,
    pub space: String,
    pub backend: Arc<dyn Backend>,
    pub aggs: Arc<Aggregations>,
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
    /// Slots changed since the last flush, each once (`is_dirty` says which are in).
    dirty: Vec<u32>,
    is_dirty: Vec<bool>,
    /// Keys looked up in the backend and not there (cleared when the key is created).
    absent: AHashSet<Value>,
    origin: Option<Origin>,
    /// Set by a step that keeps slots across batches (an emit policy holding pending events
    /// per slot): the store's keys are then never evicted.
    pinned: bool,
}

/// Which of `n` slots an eviction keeps: at most `max` of the slots changed in the last flush
/// interval, the most recently changed first (the end of `recent` is the latest first touch).
pub(crate) fn keep_recent(n: usize, max: usize, recent: &[u32]) -> Vec<bool> {
    let mut keep = vec![false; n];
    let mut kept = 0;
    for &s in recent.iter().rev() {
        if kept == max {
            break;
        }
        if !keep[s as usize] {
            keep[s as usize] = true;
            kept += 1;
        }
    }
    keep
}

/// The JSON text of a key: how keys are stored in every backend.
pub fn key_bytes(key: &Value) -> Vec<u8> {
    rill_core::json::to_json(key).to_string().into_bytes()
}

/// Decodes the state stored for `key` in `table` (at `url`), or says it is damaged.
pub(crate) fn decode_stored(
    aggs: &Aggregations,
    table: &str,
    url: &str,
    key: &Value,
    bytes: &[u8],
) -> Result<KeyState> {
    aggs.decode_state(bytes).map_err(|e| Error::Table {
        table: table.to_string(),
        message: format!(
            "{url}: the stored aggregation state of key {} does not decode: {e}",
            rill_core::json::to_json(key)
        ),
    })
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
    /// True when the store persists (changes are tracked and keys load from a backend).
    #[inline]
    pub fn is_persistent(&self) -> bool {
        self.origin.is_some()
    }
    /// The key's slot, loading its state from the backend or creating it on first sight.
    #[inline]
    pub fn slot(&mut self, key: &Value, aggs: &Aggregations) -> Result<u32> {
        let hash = self.hash(key);
        if let Some(s) = self.find_hashed(hash, key) {
            return Ok(s);
        }
        if let Some(s) = self
            .load(std::slice::from_ref(key))?
            .first()
            .copied()
            .flatten()
        {
            return Ok(s);
        }
        self.absent.remove(key);
        Ok(self.insert(hash, key.clone(), aggs.new_state()))
    }
    /// Marks the slot changed (a no-op for a memory store).
    #[inline]
    pub fn touch(&mut self, slot: u32) {
        if self.origin.is_some() && !self.is_dirty[slot as usize] {
            self.is_dirty[slot as usize] = true;
            self.dirty.push(slot);
        }
    }
    /// The key's slot if it is cached (never loads).
    #[inline]
    pub fn find(&self, key: &Value) -> Option<u32> {
        self.find_hashed(self.hash(key), key)
    }
    /// [`AggData::find`] for a key whose [`hash`](AggData::hash) is known.
    #[inline]
    pub fn find_hashed(&self, hash: u64, key: &Value) -> Option<u32> {
        self.index.find(hash, |s| self.keys[s as usize] == *key)
    }
    /// The key's slot if the key has state, in the cache or in the backend (loaded then).
    pub fn lookup(&mut self, key: &Value) -> Result<Option<u32>> {
        match self.find(key) {
            Some(s) => Ok(Some(s)),
            None => Ok(self.load(std::slice::from_ref(key))?[0]),
        }
    }
    /// Loads the keys that are neither cached nor known absent, in one backend read: a batch's
    /// new keys cost one round trip. Returns each key's slot (`None`: not in the backend).
    pub fn load(&mut self, keys: &[Value]) -> Result<Vec<Option<u32>>> {
        let mut out: Vec<Option<u32>> = keys.iter().map(|k| self.find(k)).collect();
        let Some(origin) = &self.origin else {
            return Ok(out);
        };
        let wanted: Vec<usize> = (0..keys.len())
            .filter(|&i| out[i].is_none() && !self.absent.contains(&keys[i]))
            .collect();
        if wanted.is_empty() {
            return Ok(out);
        }
        let names: Vec<Vec<u8>> = wanted.iter().map(|&i| key_bytes(&keys[i])).collect();
        let refs: Vec<&[u8]> = names.iter().map(Vec::as_slice).collect();
        let got = origin
            .backend
            .get_many(&origin.table, &origin.space, &refs)
            .map_err(|e| Error::Table {
                table: origin.table.clone(),
                message: format!("loading aggregation state: {}", e.chain()),
            })?;
        let aggs = origin.aggs.clone();
        let table = origin.table.clone();
        let origin_backend = origin.backend.clone();
        for (&i, bytes) in wanted.iter().zip(got) {
            let key = &keys[i];
            // a key twice in `keys`: the first occurrence loaded it
            if let Some(s) = self.find(key) {
                out[i] = Some(s);
                continue;
            }
            match bytes {
                None => {
                    self.absent.insert(key.clone());
                }
                Some(b) => {
                    let state = decode_stored(&aggs, &table, origin_backend.url(), key, &b)?;
                    let h = self.hash(key);
                    out[i] = Some(self.insert(h, key.clone(), state));
                }
            }
        }
        Ok(out)
    }
    fn insert(&mut self, hash: u64, key: Value, state: KeyState) -> u32 {
        let s = self.keys.len() as u32;
        self.index.insert(hash, s);
        self.keys.push(key);
        self.states.push(state);
        self.is_dirty.push(false);
        s
    }
    /// Number of cached keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }
    /// Keeps every slot valid for the life of the store (no eviction): for a step that holds
    /// slots across batches.
    pub fn pin(&mut self) {
        self.pinned = true;
    }
    /// Evicts clean keys until at most `max` are cached: first those not changed in the last
    /// flush interval (`recent` holds the slots that were), then the oldest. Slots are
    /// renumbered, so this runs only between batches, after a flush (nothing is dirty).
    /// Evicted keys load again from the backend when next seen.
    pub(crate) fn evict(&mut self, max: usize, recent: &[u32]) -> usize {
        if self.pinned || self.origin.is_none() || self.keys.len() <= max || !self.dirty.is_empty()
        {
            return 0;
        }
        let n = self.keys.len();
        let keep = keep_recent(n, max, recent);
        let keys = std::mem::take(&mut self.keys);
        let states = std::mem::take(&mut self.states);
        self.index = KeyIndex::default();
        self.is_dirty.clear();
        self.absent.clear();
        for (i, (k, st)) in keys.into_iter().zip(states).enumerate() {
            if keep[i] {
                let h = self.hash(&k);
                self.insert(h, k, st);
            }
        }
        n - self.keys.len()
    }
    /// True when no key is cached.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

impl std::fmt::Debug for AggStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AggStore")
            .field("space", &self.space)
            .field("features", &self.aggs.feature_names())
            .finish()
    }
}

impl AggStore {
    /// A store for `specs` (validated and compiled here). `space` is its backend space.
    pub(crate) fn new(specs: Vec<AggregatorSpec>) -> Result<AggStore> {
        let aggs = Arc::new(Aggregations::new(specs.clone())?);
        let fixed: Vec<bool> = specs
            .iter()
            .map(|a| matches!(a.windows, rill_agg::WindowSpec::Fixed { .. }))
            .collect();
        let mut windows = Vec::with_capacity(aggs.feature_names().len());
        for a in &specs {
            let lens = a
                .windows
                .windows()
                .iter()
                .map(|w| rill_core::parse_duration(w).map(|d| d.nanos()))
                .collect::<Result<Vec<_>>>()?;
            for _ in &a.ops {
                windows.extend_from_slice(&lens);
            }
        }
        Ok(AggStore {
            space: format!("agg.{:016x}", aggs.schema_fingerprint()),
            aggs,
            specs,
            fixed,
            windows,
            data: Mutex::new(AggData::default()),
        })
    }

    /// Makes the store persistent: keys load from `backend` and changes are tracked for flushes.
    pub(crate) fn attach(&self, table: &str, backend: Arc<dyn Backend>) {
        self.data.lock().origin = Some(Origin {
            table: table.to_string(),
            space: self.space.clone(),
            backend,
            aggs: self.aggs.clone(),
        });
    }

    /// The aggregators as configured.
    pub fn specs(&self) -> &[AggregatorSpec] {
        &self.specs
    }

    /// The backend space holding this store's keys (`agg.<fingerprint>`).
    pub fn space(&self) -> &str {
        &self.space
    }

    /// True when feature `f` belongs to an aggregator with fixed windows.
    pub fn is_fixed_feature(&self, f: usize) -> bool {
        (0..self.aggs.len()).any(|a| self.fixed[a] && self.aggs.feature_range(a).contains(&f))
    }

    /// The window length (nanoseconds) of feature `f`.
    pub fn window_of(&self, f: usize) -> i64 {
        self.windows[f]
    }

    /// Encodes the state of every key changed since the last flush and clears the dirty set.
    /// On a failed write the caller puts them back with [`AggStore::redirty`].
    pub(crate) fn take_dirty(&self) -> Dirty {
        let mut d = self.data.lock();
        let slots = std::mem::take(&mut d.dirty);
        let mut out = Vec::with_capacity(slots.len());
        for &s in &slots {
            d.is_dirty[s as usize] = false;
            let mut v = Vec::new();
            self.aggs.encode_state(&d.states[s as usize], &mut v);
            out.push((key_bytes(&d.keys[s as usize]), v));
        }
        (slots, out)
    }

    /// Evicts clean keys beyond `max` (see [`AggData::evict`]); returns how many.
    pub(crate) fn evict(&self, max: usize, recent: &[u32]) -> usize {
        self.data.lock().evict(max, recent)
    }

    /// Marks `slots` dirty again (their flush failed).
    pub(crate) fn redirty(&self, slots: &[u32]) {
        let mut d = self.data.lock();
        for &s in slots {
            d.touch(s);
        }
    }

    /// Every cached key with its encoded state, in slot order (a consistent copy: the store
    /// is locked while it is taken).
    pub fn snapshot(&self) -> Vec<(Value, Vec<u8>)> {
        let d = self.data.lock();
        d.keys
            .iter()
            .zip(&d.states)
            .map(|(k, st)| {
                let mut v = Vec::new();
                self.aggs.encode_state(st, &mut v);
                (k.clone(), v)
            })
            .collect()
    }

    /// Replaces the cached state by `entries` (from [`AggStore::snapshot`]); every restored key
    /// is dirty, so the next flush writes it.
    pub fn restore(&self, entries: &[(Value, Vec<u8>)]) -> Result<()> {
        let mut states = Vec::with_capacity(entries.len());
        for (k, b) in entries {
            states.push(self.aggs.decode_state(b).map_err(|e| {
                Error::config(format!(
                    "restoring key {}: {e}",
                    rill_core::json::to_json(k)
                ))
            })?);
        }
        let mut d = self.data.lock();
        let origin = d.origin.take();
        *d = AggData {
            origin,
            ..AggData::default()
        };
        for ((k, _), st) in entries.iter().zip(states) {
            let h = d.hash(k);
            let s = d.insert(h, k.clone(), st);
            d.touch(s);
        }
        Ok(())
    }
}
