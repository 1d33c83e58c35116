//! [`Table`]: a named table of per-key state — static attributes and the aggregation state of
//! each set of aggregators — cached in memory in front of an optional persistent backend.

use crate::agg_store::{key_bytes, AggStore};
use crate::attr_store::AttrData;
use crate::backend::{self, Backend, Write};
use parking_lot::Mutex;
use rill_agg::AggregatorSpec;
use rill_core::{Error, Record, Result, Value};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The backend space of the table's metadata: its aggregator sets and its flush progress.
pub const META: &str = "meta";
/// The backend space of the keys' static attributes.
pub const ATTRS: &str = "attrs";
/// The meta key of the progress of the last flush.
const PROGRESS: &[u8] = b"progress";
/// Prefix of the meta keys describing a set of aggregators (`aggregates.agg.<fingerprint>`).
const AGGREGATES: &str = "aggregates.";

/// How a table caches and flushes.
#[derive(Debug, Clone, PartialEq)]
pub struct TableOptions {
    /// Changed keys are written to the backend when this much time has passed since the last
    /// flush (checked between source batches), and always when the run ends.
    pub flush_interval: Duration,
    /// At most this many keys stay cached per store (attributes, each aggregator set) of a
    /// persistent table: beyond it a flush comes early and clean keys are evicted (the least
    /// recently changed first), to be loaded again when next seen. `None`: no bound.
    pub cache_max_keys: Option<usize>,
}

impl Default for TableOptions {
    fn default() -> Self {
        TableOptions {
            flush_interval: Duration::from_secs(5),
            cache_max_keys: None,
        }
    }
}

/// How far the input had been processed when a table last flushed: a run that stops (a crash,
/// `kill -9`) leaves the table as of this point, so a replay starts after `records`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// The source (file path, topic).
    pub source: String,
    /// Records of the source processed through the whole flow.
    pub records: u64,
}

/// The stored description of a set of aggregators.
#[derive(Serialize, Deserialize)]
struct StoredAggregates {
    aggregates: Vec<AggregatorSpec>,
}

/// A named table of per-key state, shared as `Arc<Table>` between the steps and flows of a
/// process. Without a backend (`memory://`) the cache is the data.
///
/// ```
/// use rill_table::Table;
/// use rill_core::{Record, Value};
/// let t = Table::memory("users");
/// t.merge_attrs(&Value::from("u1"), &Record::from_pairs([("color", Value::from("red"))])).unwrap();
/// assert_eq!(t.attrs(&Value::from("u1")).unwrap().unwrap().get("color"), Some(&Value::from("red")));
/// ```
pub struct Table {
    name: String,
    url: String,
    backend: Option<Arc<dyn Backend>>,
    options: TableOptions,
    attrs: Mutex<AttrData>,
    aggs: Mutex<Vec<Arc<AggStore>>>,
    /// `aggs.len()`, readable without the lock (stores are only ever added).
    agg_count: std::sync::atomic::AtomicUsize,
    last_flush: Mutex<Instant>,
    /// The progress stored by the last flush of an earlier run, read at open.
    resumed: Option<Progress>,
    /// The progress of this process's last completed flush.
    flushed: Mutex<Option<Progress>>,
    /// Keys evicted from the cache so far (`cache_max_keys`).
    evicted: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("name", &self.name)
            .field("url", &self.url)
            .finish()
    }
}

fn table_error(table: &str, e: backend::BackendError) -> Error {
    Error::Table {
        table: table.to_string(),
        message: e.chain(),
    }
}

impl Table {
    /// A memory table: nothing persists beyond the process.
    pub fn memory(name: impl Into<String>) -> Arc<Table> {
        Arc::new(Table::bare(
            name.into(),
            "memory://".into(),
            None,
            TableOptions::default(),
        ))
    }

    fn bare(
        name: String,
        url: String,
        backend: Option<Arc<dyn Backend>>,
        options: TableOptions,
    ) -> Table {
        Table {
            name,
            url,
            backend,
            options,
            attrs: Mutex::new(AttrData::default()),
            aggs: Mutex::new(Vec::new()),
            agg_count: Default::default(),
            last_flush: Mutex::new(Instant::now()),
            resumed: None,
            flushed: Mutex::new(None),
            evicted: Default::default(),
        }
    }

    /// Opens the table `name` at `url` (see [`backend::open`]; a relative directory is taken
    /// relative to `base`): connects, and reads what the store already holds for this table —
    /// its aggregator sets (so `query_by_key` and `rill query` find their features) and the
    /// progress of its last flush. Errors name the table and the URL (password hidden).
    pub fn open(
        name: &str,
        url: &str,
        base: &std::path::Path,
        options: TableOptions,
    ) -> Result<Arc<Table>> {
        let backend = backend::open(url, base).map_err(|e| table_error(name, e))?;
        let shown = backend
            .as_ref()
            .map_or_else(|| "memory://".to_string(), |b| b.url().to_string());
        let mut t = Table::bare(name.to_string(), shown, backend.clone(), options);
        t.resumed = t.read_meta()?;
        Ok(Arc::new(t))
    }

    /// Reads the stored metadata: registers the aggregator sets not known yet (so their
    /// features can be read) and returns the stored progress.
    fn read_meta(&self) -> Result<Option<Progress>> {
        let Some(b) = &self.backend else {
            return Ok(None);
        };
        let name = &self.name;
        let meta = b.scan(name, META).map_err(|e| table_error(name, e))?;
        let mut progress = None;
        for (k, v) in meta {
            let bad = |why: String| Error::Table {
                table: name.to_string(),
                message: format!(
                    "{}: the stored metadata '{}' is damaged: {why}",
                    self.url,
                    String::from_utf8_lossy(&k)
                ),
            };
            if k == PROGRESS {
                progress = Some(serde_json::from_slice(&v).map_err(|e| bad(e.to_string()))?);
            } else if let Some(space) = k.strip_prefix(AGGREGATES.as_bytes()) {
                if self
                    .aggs
                    .lock()
                    .iter()
                    .any(|s| s.space().as_bytes() == space)
                {
                    continue;
                }
                let stored: StoredAggregates =
                    serde_json::from_slice(&v).map_err(|e| bad(e.to_string()))?;
                let store = AggStore::new(stored.aggregates).map_err(|e| bad(e.to_string()))?;
                if store.space().as_bytes() != space {
                    return Err(bad(format!(
                        "it describes aggregators whose state is kept under '{}', not '{}' \
                         (written by another version of rill?)",
                        store.space(),
                        String::from_utf8_lossy(space)
                    )));
                }
                store.attach(name, b.clone());
                self.add_store(&mut self.aggs.lock(), Arc::new(store));
            }
        }
        Ok(progress)
    }

    /// Registers aggregator sets that another process has recorded since this table opened.
    pub fn refresh_aggregates(&self) -> Result<()> {
        self.read_meta().map(|_| ())
    }

    pub(crate) fn backend(&self) -> Option<&Arc<dyn Backend>> {
        self.backend.as_ref()
    }

    pub(crate) fn backend_error(&self, e: backend::BackendError) -> Error {
        table_error(&self.name, e)
    }

    /// The table's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The table's URL (`memory://`, the store's directory, or the server URL with any
    /// password hidden).
    pub fn url(&self) -> &str {
        &self.url
    }
    /// True when the table persists to a backend.
    pub fn is_persistent(&self) -> bool {
        self.backend.is_some()
    }
    /// The progress recorded by the last flush of an earlier run (read when the table opened).
    pub fn resumed_from(&self) -> Option<&Progress> {
        self.resumed.as_ref()
    }

    /// Keys evicted from the cache so far (`cache_max_keys`), over all stores of the table.
    pub fn evicted(&self) -> u64 {
        self.evicted.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The progress of this process's last completed flush.
    pub fn last_flushed(&self) -> Option<Progress> {
        self.flushed.lock().clone()
    }

    /// Number of keys with cached attributes.
    pub fn len(&self) -> usize {
        self.attrs.lock().keys.len()
    }
    /// True when no key has cached attributes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The slot of `key`'s attributes, loading them from the backend on first sight; `create`
    /// makes an empty entry for a key that has none.
    fn attr_slot(&self, d: &mut AttrData, key: &Value, create: bool) -> Result<Option<u32>> {
        if let Some(s) = d.find(key) {
            return Ok(Some(s));
        }
        if let Some(b) = &self.backend {
            if !d.absent.contains(key) {
                let got = b
                    .get_many(&self.name, ATTRS, &[&key_bytes(key)])
                    .map_err(|e| table_error(&self.name, e))?;
                if let Some(bytes) = got.into_iter().next().flatten() {
                    let attrs = self.decode_attrs(key, &bytes)?;
                    return Ok(Some(d.insert(key.clone(), attrs)));
                }
                d.absent.insert(key.clone());
            }
        }
        Ok(create.then(|| d.insert(key.clone(), Record::default())))
    }

    /// Decodes the attributes stored for `key`, or says they are damaged.
    pub(crate) fn decode_attrs(&self, key: &Value, bytes: &[u8]) -> Result<Record> {
        let why = match crate::value_codec::decode(bytes) {
            Ok(Value::Record(r)) => return Ok(r),
            Ok(other) => format!("a {}", other.type_name()),
            Err(why) => why,
        };
        Err(Error::Table {
            table: self.name.clone(),
            message: format!(
                "{}: the stored attributes of key {} are damaged: {why}",
                self.url,
                rill_core::json::to_json(key)
            ),
        })
    }

    /// The key's attributes, if the key has any (loaded from the backend on first sight).
    pub fn attrs(&self, key: &Value) -> Result<Option<Record>> {
        let mut d = self.attrs.lock();
        Ok(self
            .attr_slot(&mut d, key, false)?
            .map(|s| d.attrs[s as usize].clone()))
    }

    /// Runs `f` on the key's attributes (empty for a new key) and marks them changed.
    pub fn update_attrs<R>(&self, key: &Value, f: impl FnOnce(&mut Record) -> R) -> Result<R> {
        let mut d = self.attrs.lock();
        let s = self.attr_slot(&mut d, key, true)?.expect("created");
        let r = f(&mut d.attrs[s as usize]);
        if self.backend.is_some() {
            d.touch(s);
        }
        Ok(r)
    }

    /// Merges `attrs` into the key's attributes (new values win).
    pub fn merge_attrs(&self, key: &Value, attrs: &Record) -> Result<()> {
        self.update_attrs(key, |e| {
            for (k, v) in attrs.iter() {
                e.set(k, v.clone());
            }
        })
    }

    /// Every key with cached attributes, in first-seen order.
    pub fn keys(&self) -> Vec<Value> {
        self.attrs.lock().keys.clone()
    }

    /// The aggregation store of `specs` in this table, created on first use (and, for a
    /// persistent table, recorded in the store's metadata). Two steps with the same aggregators
    /// share one store. An aggregator name that the table already holds with other settings —
    /// in this process or in the persistent store — is an error: state of another definition
    /// is never mixed in.
    pub fn agg_store(&self, specs: Vec<AggregatorSpec>) -> Result<Arc<AggStore>> {
        let new = AggStore::new(specs)?;
        let mut stores = self.aggs.lock();
        if let Some(s) = stores.iter().find(|s| s.space() == new.space()) {
            return Ok(s.clone());
        }
        for s in stores.iter() {
            for old in s.specs() {
                if let Some(mine) = new.specs().iter().find(|a| a.name == old.name && *a != old) {
                    return Err(Error::config(format!(
                        "table '{}' ({}) holds aggregator '{}' as {}; this step defines it as {}: \
                         state of another definition cannot be mixed in (use another table, or \
                         another url, or remove the stored state)",
                        self.name,
                        self.url,
                        old.name,
                        describe(old),
                        describe(mine)
                    )));
                }
            }
        }
        if let Some(b) = &self.backend {
            let meta = serde_json::to_vec(&StoredAggregates {
                aggregates: new.specs().to_vec(),
            })
            .expect("specs serialize");
            let key = format!("{AGGREGATES}{}", new.space());
            b.write(
                &self.name,
                &[Write::Put {
                    space: META,
                    key: key.as_bytes(),
                    value: &meta,
                }],
            )
            .map_err(|e| table_error(&self.name, e))?;
            new.attach(&self.name, b.clone());
        }
        let new = Arc::new(new);
        self.add_store(&mut stores, new.clone());
        Ok(new)
    }

    fn add_store(&self, stores: &mut Vec<Arc<AggStore>>, store: Arc<AggStore>) {
        stores.push(store);
        self.agg_count
            .store(stores.len(), std::sync::atomic::Ordering::Release);
    }

    /// How many aggregation stores the table holds. Stores are only ever added, so a reader
    /// that mapped feature names to stores (`query_by_key`) maps again only when this changes.
    pub fn agg_generation(&self) -> usize {
        self.agg_count.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Every aggregation store of the table (in this process, or recorded in its backend).
    pub fn agg_stores(&self) -> Vec<Arc<AggStore>> {
        self.aggs.lock().clone()
    }

    /// Writes every key changed since the last flush, and `progress`, to the backend in one
    /// atomic batch, then makes it durable. A no-op for a memory table. On failure the keys stay
    /// changed (the next flush retries them).
    pub fn flush(&self, progress: Option<&Progress>) -> Result<()> {
        self.flush_with(&[], progress)
    }

    /// [`flush`](Table::flush) of this table together with its [`siblings`](Table::sibling):
    /// the changed keys of all of them and `progress` go to the backend in one atomic batch, so
    /// the stored progress never runs ahead of any sibling's keys. The siblings must not be in
    /// use by another thread meanwhile (their state is read as it stands).
    pub fn flush_with(&self, siblings: &[Arc<Table>], progress: Option<&Progress>) -> Result<()> {
        let Some(b) = &self.backend else {
            return Ok(());
        };
        let all: Vec<&Table> = std::iter::once(self)
            .chain(siblings.iter().map(|t| &**t))
            .collect();
        let stores: Vec<Vec<Arc<AggStore>>> = all.iter().map(|t| t.agg_stores()).collect();
        let attrs: Vec<_> = all.iter().map(|t| t.attrs.lock().take_dirty()).collect();
        let taken: Vec<Vec<_>> = stores
            .iter()
            .map(|ss| ss.iter().map(|s| s.take_dirty()).collect())
            .collect();
        let progress_json = progress.map(|p| serde_json::to_vec(p).expect("progress serializes"));
        let mut writes = Vec::new();
        for (_, entries) in &attrs {
            writes.extend(entries.iter().map(|(k, v)| Write::Put {
                space: ATTRS,
                key: k,
                value: v,
            }));
        }
        for (ss, tk) in stores.iter().zip(&taken) {
            for (s, (_, entries)) in ss.iter().zip(tk) {
                writes.extend(entries.iter().map(|(k, v)| Write::Put {
                    space: s.space(),
                    key: k,
                    value: v,
                }));
            }
        }
        if let Some(p) = &progress_json {
            writes.push(Write::Put {
                space: META,
                key: PROGRESS,
                value: p,
            });
        }
        let done = b.write(&self.name, &writes).and_then(|()| b.sync());
        if let Err(e) = done {
            for (t, (slots, _)) in all.iter().zip(&attrs) {
                let mut d = t.attrs.lock();
                for &s in slots {
                    d.touch(s);
                }
            }
            for (ss, tk) in stores.iter().zip(&taken) {
                for (s, (slots, _)) in ss.iter().zip(tk) {
                    s.redirty(slots);
                }
            }
            return Err(table_error(&self.name, e));
        }
        *self.last_flush.lock() = Instant::now();
        if let Some(p) = progress {
            *self.flushed.lock() = Some(p.clone());
        }
        if let Some(max) = self.options.cache_max_keys {
            // each cache (this table's and every worker's) keeps its own bound
            let mut n = 0;
            for ((t, (attr_slots, _)), (ss, tk)) in
                all.iter().zip(&attrs).zip(stores.iter().zip(&taken))
            {
                n += t.attrs.lock().evict(max, attr_slots);
                for (s, (slots, _)) in ss.iter().zip(tk) {
                    n += s.evict(max, slots);
                }
            }
            self.evicted
                .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(())
    }

    /// True when [`flush_if_due`](Table::flush_if_due) would flush now: `flush_interval` has
    /// passed since the last flush, or a store caches more keys than `cache_max_keys` (so that
    /// they can be evicted).
    pub fn flush_due(&self) -> bool {
        if self.backend.is_none() {
            return false;
        }
        self.over_cache_bound() || self.last_flush.lock().elapsed() >= self.options.flush_interval
    }

    /// True when a persistent table caches more keys than `cache_max_keys` in one of its stores
    /// (a flush then evicts): the runtime asks every worker's cache of a sharded run.
    pub fn over_cache_bound(&self) -> bool {
        self.backend.is_some()
            && self.options.cache_max_keys.is_some_and(|max| {
                self.attrs.lock().keys.len() > max
                    || self.agg_stores().iter().any(|s| s.data.lock().len() > max)
            })
    }

    /// A second, empty cache in front of the same backend, with the same name, URL, options
    /// and aggregation stores (fresh, empty ones of the same aggregators): a worker of a
    /// sharded run keeps its own keys in it, with no lock shared with other workers. A
    /// persistent sibling loads its keys from the backend on first sight, like the table; it
    /// is flushed through [`flush_with`](Table::flush_with) of the table it was made from.
    pub fn sibling(&self) -> Result<Arc<Table>> {
        let mut t = Table::bare(
            self.name.clone(),
            self.url.clone(),
            self.backend.clone(),
            self.options.clone(),
        );
        t.resumed = self.resumed.clone();
        for s in self.agg_stores() {
            let new = AggStore::new(s.specs().to_vec())?;
            if let Some(b) = &self.backend {
                new.attach(&self.name, b.clone());
            }
            t.aggs.get_mut().push(Arc::new(new));
        }
        *t.agg_count.get_mut() = t.aggs.get_mut().len();
        Ok(Arc::new(t))
    }

    /// Copies the state of memory `siblings` into this memory table (after a sharded run, so
    /// other flows of the process see every key): attributes merged key by key, each
    /// aggregation store's keys restored from the siblings' stores of the same aggregators.
    pub fn absorb(&self, siblings: &[Arc<Table>]) -> Result<()> {
        for sib in siblings {
            let d = sib.attrs.lock();
            for (k, a) in d.keys.iter().zip(&d.attrs) {
                self.merge_attrs(k, a)?;
            }
        }
        for store in self.agg_stores() {
            let mut entries = store.snapshot();
            for sib in siblings {
                for s in sib.agg_stores() {
                    if s.space() == store.space() {
                        entries.extend(s.snapshot());
                    }
                }
            }
            store.restore(&entries)?;
        }
        Ok(())
    }

    /// [`flush`](Table::flush) when [`flush_due`](Table::flush_due).
    pub fn flush_if_due(&self, progress: Option<&Progress>) -> Result<()> {
        if self.flush_due() {
            self.flush(progress)
        } else {
            Ok(())
        }
    }
}

/// A consistent copy of everything a table caches (see [`Table::snapshot`]).
#[derive(Debug, Clone, PartialEq)]
pub struct TableSnapshot {
    /// Each cached key's attributes, in first-seen order.
    pub attrs: Vec<(Value, Record)>,
    /// Per aggregator set (by its backend space): each cached key's encoded state.
    pub aggs: Vec<(String, KeyStates)>,
}

/// Keys with their encoded aggregation state.
pub type KeyStates = Vec<(Value, Vec<u8>)>;

impl Table {
    /// A copy of the cached state — attributes and every aggregator set — taken between
    /// batches, where it is the state as of one record (a checkpoint stores it with the source
    /// offsets). For a persistent table with a bounded cache, evicted keys are in the store.
    pub fn snapshot(&self) -> TableSnapshot {
        let attrs = {
            let d = self.attrs.lock();
            d.keys
                .iter()
                .cloned()
                .zip(d.attrs.iter().cloned())
                .collect()
        };
        let aggs = self
            .agg_stores()
            .iter()
            .map(|s| (s.space().to_string(), s.snapshot()))
            .collect();
        TableSnapshot { attrs, aggs }
    }

    /// Replaces the cached state by `snap` (from [`Table::snapshot`] of a table with the same
    /// aggregator sets); every restored key is marked changed, so the next flush writes it.
    pub fn restore(&self, snap: &TableSnapshot) -> Result<()> {
        let stores = self.agg_stores();
        for (space, _) in &snap.aggs {
            if !stores.iter().any(|s| s.space() == space) {
                return Err(Error::Table {
                    table: self.name.clone(),
                    message: format!(
                        "the snapshot holds aggregator set '{space}', which this table does not have"
                    ),
                });
            }
        }
        for (space, entries) in &snap.aggs {
            let s = stores.iter().find(|s| s.space() == space).expect("checked");
            s.restore(entries)?;
        }
        let mut d = self.attrs.lock();
        *d = AttrData::default();
        for (k, a) in &snap.attrs {
            let slot = d.insert(k.clone(), a.clone());
            if self.backend.is_some() {
                d.touch(slot);
            }
        }
        Ok(())
    }
}

/// An aggregator's settings in words, for mismatch messages.
fn describe(a: &AggregatorSpec) -> String {
    serde_json::to_string(a).unwrap_or_else(|_| format!("{a:?}"))
}

/// The tables of a process, by name (storey's `Context` tables): flows built in the same process
/// share a table by naming it.
#[derive(Default, Clone)]
pub struct Tables {
    map: Arc<Mutex<ahash::AHashMap<String, Arc<Table>>>>,
}

impl Tables {
    /// The table named `name`, if registered.
    pub fn get(&self, name: &str) -> Option<Arc<Table>> {
        self.map.lock().get(name).cloned()
    }
    /// Registers a table under its name (replacing one of the same name).
    pub fn insert(&self, table: Arc<Table>) {
        self.map.lock().insert(table.name().to_string(), table);
    }
    /// The table named `name`, creating a memory table if there is none.
    pub fn get_or_create(&self, name: &str) -> Arc<Table> {
        self.map
            .lock()
            .entry(name.to_string())
            .or_insert_with(|| Table::memory(name))
            .clone()
    }
    /// The table named `name`, opened at `url` if it is not registered yet. A table already
    /// registered under another URL is an error.
    pub fn open(
        &self,
        name: &str,
        url: &str,
        base: &std::path::Path,
        options: TableOptions,
    ) -> Result<Arc<Table>> {
        if let Some(t) = self.get(name) {
            let wanted = backend::Location::parse(url, base).ok();
            let memory = matches!(wanted, Some(backend::Location::Memory));
            let same = wanted.is_some() && memory != t.is_persistent();
            if !same {
                return Err(Error::config(format!(
                    "table '{name}' is already open at {} in this process",
                    t.url()
                )));
            }
            return Ok(t);
        }
        let t = Table::open(name, url, base, options)?;
        self.insert(t.clone());
        Ok(t)
    }
    /// Every registered table.
    pub fn all(&self) -> Vec<Arc<Table>> {
        self.map.lock().values().cloned().collect()
    }
}
