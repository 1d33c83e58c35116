use ahash::AHashMap;
use parking_lot::Mutex;
use rill_core::{Record, Result, Value};
use std::any::Any;
use std::sync::Arc;

/// Where a table persists its keys. The memory driver persists nothing (storey's NoopDriver):
/// the table's cache is the data. Persistent drivers (embedded store, Redis, PostgreSQL)
/// implement the same trait.
pub trait Driver: Send + Sync {
    /// A name for messages (`memory`, `redis://…`).
    fn name(&self) -> &str;
    /// Loads a key's attributes when it is first seen by this process.
    fn load_attrs(&self, key: &Value) -> Result<Option<Record>>;
    /// Persists a key's attributes.
    fn save_attrs(&self, key: &Value, attrs: &Record) -> Result<()>;
}

/// The memory driver: nothing is persisted beyond the process.
#[derive(Debug, Default)]
pub struct MemoryDriver;

impl Driver for MemoryDriver {
    fn name(&self) -> &str {
        "memory"
    }
    fn load_attrs(&self, _key: &Value) -> Result<Option<Record>> {
        Ok(None)
    }
    fn save_attrs(&self, _key: &Value, _attrs: &Record) -> Result<()> {
        Ok(())
    }
}

/// Everything a table holds for one key.
#[derive(Default)]
pub struct KeyEntry {
    /// Static attributes (storey: the key's dict in the table).
    pub attrs: Record,
    /// Opaque per-key state of other components (e.g. aggregation buckets), by component id.
    pub state: Vec<(u64, Box<dyn Any + Send>)>,
}

impl std::fmt::Debug for KeyEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyEntry")
            .field("attrs", &self.attrs)
            .field("state_components", &self.state.len())
            .finish()
    }
}

struct Data {
    slots: AHashMap<Value, u32>,
    keys: Vec<Value>,
    entries: Vec<KeyEntry>,
}

/// A named table of per-key entries. Shared as `Arc<Table>` between steps and flows.
pub struct Table {
    name: String,
    driver: Box<dyn Driver>,
    data: Mutex<Data>,
    /// State stores other components keep in this table (e.g. aggregation state), by id.
    components: Mutex<Vec<(String, Arc<dyn Any + Send + Sync>)>>,
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("name", &self.name)
            .field("driver", &self.driver.name())
            .finish()
    }
}

impl Table {
    /// A table over a driver.
    pub fn new(name: impl Into<String>, driver: Box<dyn Driver>) -> Arc<Table> {
        Arc::new(Table {
            name: name.into(),
            driver,
            data: Mutex::new(Data {
                slots: AHashMap::new(),
                keys: Vec::new(),
                entries: Vec::new(),
            }),
            components: Mutex::new(Vec::new()),
        })
    }
    /// A memory table.
    pub fn memory(name: impl Into<String>) -> Arc<Table> {
        Table::new(name, Box::new(MemoryDriver))
    }
    /// The table's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Number of keys in the cache.
    pub fn len(&self) -> usize {
        self.data.lock().keys.len()
    }
    /// True when no key is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Runs `f` on the key's entry, creating it (loading attributes from the driver) if needed.
    pub fn with_entry<R>(&self, key: &Value, f: impl FnOnce(&mut KeyEntry) -> R) -> Result<R> {
        let mut d = self.data.lock();
        let slot = match d.slots.get(key) {
            Some(&s) => s,
            None => {
                let attrs = self
                    .driver
                    .load_attrs(key)
                    .map_err(|e| {
                        e.context(format!(
                            "table '{}' loading key {}",
                            self.name,
                            rill_core::json::to_json(key)
                        ))
                    })?
                    .unwrap_or_default();
                let s = d.keys.len() as u32;
                d.slots.insert(key.clone(), s);
                d.keys.push(key.clone());
                d.entries.push(KeyEntry {
                    attrs,
                    state: Vec::new(),
                });
                s
            }
        };
        Ok(f(&mut d.entries[slot as usize]))
    }

    /// Runs `f` on the key's entry if the key is known (never creates it).
    pub fn with_existing<R>(&self, key: &Value, f: impl FnOnce(&KeyEntry) -> R) -> Option<R> {
        let d = self.data.lock();
        d.slots.get(key).map(|&s| f(&d.entries[s as usize]))
    }

    /// The key's attributes, if the key is known.
    pub fn attrs(&self, key: &Value) -> Option<Record> {
        self.with_existing(key, |e| e.attrs.clone())
    }

    /// Merges `attrs` into the key's attributes (new values win) and persists them.
    pub fn merge_attrs(&self, key: &Value, attrs: &Record) -> Result<()> {
        let merged = self.with_entry(key, |e| {
            for (k, v) in attrs.iter() {
                e.attrs.set(k, v.clone());
            }
            e.attrs.clone()
        })?;
        self.driver.save_attrs(key, &merged)
    }

    /// The component store registered under `id`, created by `init` on first use. Lets a
    /// component (e.g. aggregations) keep dense per-key state in the table, where other steps
    /// and flows of the process find it by table name. Fails if `id` holds another type.
    pub fn component<T: Any + Send + Sync>(
        &self,
        id: &str,
        init: impl FnOnce() -> T,
    ) -> Result<Arc<T>> {
        let mut c = self.components.lock();
        if let Some((_, any)) = c.iter().find(|(k, _)| k == id) {
            return any
                .clone()
                .downcast::<T>()
                .map_err(|_| rill_core::Error::Table {
                    table: self.name.clone(),
                    message: format!("component '{id}' has another type"),
                });
        }
        let v = Arc::new(init());
        c.push((id.to_string(), v.clone()));
        Ok(v)
    }

    /// Every component store of type `T` in this table.
    pub fn components<T: Any + Send + Sync>(&self) -> Vec<Arc<T>> {
        self.components
            .lock()
            .iter()
            .filter_map(|(_, a)| a.clone().downcast::<T>().ok())
            .collect()
    }

    /// Every cached key, in first-seen order.
    pub fn keys(&self) -> Vec<Value> {
        self.data.lock().keys.clone()
    }
}

/// The tables of a process, by name (storey's `Context` tables): flows built in the same process
/// share a table by naming it.
#[derive(Default, Clone)]
pub struct Tables {
    map: Arc<Mutex<AHashMap<String, Arc<Table>>>>,
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
}
