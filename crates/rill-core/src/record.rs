//! Records: a shared schema (names → indices) plus a vector of values.

use crate::{Str, Value};
use ahash::AHashMap;
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

static NEXT_SCHEMA_ID: AtomicU64 = AtomicU64::new(1);

/// The schemas [`Schema::interned`] handed out, by their names.
#[derive(Default)]
struct Interned {
    map: AHashMap<Vec<Str>, std::sync::Weak<Schema>>,
    /// Entries left after the last sweep of dead ones.
    swept: usize,
}

/// Field names of a record and their positions. Shared by every record of the same shape, so a
/// field lookup resolved once (see [`FieldSlot`]) is valid for all of them.
#[derive(Debug)]
pub struct Schema {
    id: u64,
    names: Vec<Str>,
    index: AHashMap<Str, usize>,
    /// True when some name occurs more than once (see [`Schema::has_duplicate_names`]).
    duplicates: bool,
    /// Most fields steps downstream have added to a record of this schema (see
    /// [`Schema::spare_hint`]).
    spare: AtomicUsize,
}

impl Schema {
    /// A new schema; duplicate names keep the last position (lookups by name see only that
    /// one; writers refuse such a schema, see [`Schema::has_duplicate_names`]).
    pub fn new<I, S>(names: I) -> Arc<Schema>
    where
        I: IntoIterator<Item = S>,
        S: Into<Str>,
    {
        let names: Vec<Str> = names.into_iter().map(Into::into).collect();
        let index = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i))
            .collect::<AHashMap<Str, usize>>();
        Arc::new(Schema {
            id: NEXT_SCHEMA_ID.fetch_add(1, Ordering::Relaxed),
            duplicates: index.len() != names.len(),
            names,
            index,
            spare: AtomicUsize::new(0),
        })
    }
    /// The schema of `names`, shared: every call with the same names gets the same schema (and
    /// so the same id), as long as one is alive. Steps that derive an output schema use it, so
    /// that instances of one step (one per worker of a sharded run) give their outputs one
    /// schema, and per-schema caches downstream (a [`FieldSlot`]) keep hitting when outputs of
    /// several workers are interleaved.
    ///
    /// ```
    /// use rill_core::Schema;
    /// let a = Schema::interned(vec!["x".into(), "y".into()]);
    /// let b = Schema::interned(vec!["x".into(), "y".into()]);
    /// assert_eq!(a.id(), b.id());
    /// assert_ne!(a.id(), Schema::interned(vec!["y".into(), "x".into()]).id());
    /// ```
    pub fn interned(names: Vec<Str>) -> Arc<Schema> {
        static SHARED: std::sync::Mutex<Option<Interned>> = std::sync::Mutex::new(None);
        let mut guard = SHARED.lock().unwrap_or_else(|p| p.into_inner());
        let shared = guard.get_or_insert_with(Interned::default);
        if let Some(s) = shared.map.get(&names).and_then(std::sync::Weak::upgrade) {
            return s;
        }
        let schema = Schema::new(names.clone());
        shared.map.insert(names, Arc::downgrade(&schema));
        // forget schemas no longer alive once the map has doubled since the last sweep
        if shared.map.len() > 2 * shared.swept.max(64) {
            shared.map.retain(|_, w| w.strong_count() > 0);
            shared.swept = shared.map.len();
        }
        schema
    }
    /// How much room to leave in a new record of this schema for fields that steps add later
    /// (e.g. aggregation features): learned from the records seen so far, so a source creating
    /// records sizes them once for their whole trip through the flow (no reallocation when a
    /// step enriches them, and no fixed slack wasted on flows that add nothing).
    ///
    /// ```
    /// use rill_core::{Record, Schema, SchemaExtender, Value};
    /// let schema = Schema::new(["x"]);
    /// let mut ext = SchemaExtender::new(["y", "z"], false);
    /// let mut rec = Record::new(schema.clone(), vec![Value::Int(1)]);
    /// ext.apply(&mut rec, [Value::Int(2), Value::Int(3)]);
    /// assert_eq!(schema.spare_hint(), 2);
    /// ```
    #[inline]
    pub fn spare_hint(&self) -> usize {
        self.spare.load(Ordering::Relaxed)
    }
    /// Records that a record of this schema grew into `out` (whose own records may grow more).
    #[inline]
    fn note_growth(&self, out: &Schema) {
        let want = out.len().saturating_sub(self.len()) + out.spare_hint();
        if want > self.spare_hint() {
            self.spare.fetch_max(want, Ordering::Relaxed);
        }
    }
    /// A process-unique id, used to validate cached lookups.
    pub fn id(&self) -> u64 {
        self.id
    }
    /// Field names in order.
    pub fn names(&self) -> &[Str] {
        &self.names
    }
    /// Number of fields.
    pub fn len(&self) -> usize {
        self.names.len()
    }
    /// True when there are no fields.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
    /// True when a name occurs more than once. Known from construction, so a target can
    /// refuse such records (which would become same-named columns or JSON keys) at the cost of
    /// a field read per record.
    ///
    /// ```
    /// use rill_core::Schema;
    /// assert!(Schema::new(["a", "b", "a"]).has_duplicate_names());
    /// assert!(!Schema::new(["a", "b"]).has_duplicate_names());
    /// ```
    #[inline]
    pub fn has_duplicate_names(&self) -> bool {
        self.duplicates
    }
    /// Position of a field.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }
    /// True when `names` equals this schema's names in order (lets sources reuse a schema).
    pub fn matches<S: AsRef<str>>(&self, names: &[S]) -> bool {
        self.names.len() == names.len()
            && self
                .names
                .iter()
                .zip(names)
                .all(|(a, b)| a.as_str() == b.as_ref())
    }
}

/// A map-shaped body: named values in schema order.
#[derive(Debug, Clone)]
pub struct Record {
    schema: Arc<Schema>,
    values: Vec<Value>,
}

impl Drop for Record {
    /// Records are dropped once per event: see [`Value::clear_values`].
    fn drop(&mut self) {
        Value::clear_values(&mut self.values);
    }
}

impl Record {
    /// A record over `schema`; `values` must have one value per field.
    pub fn new(schema: Arc<Schema>, values: Vec<Value>) -> Record {
        assert_eq!(
            schema.len(),
            values.len(),
            "record values must match the schema"
        );
        Record { schema, values }
    }
    /// An empty record.
    pub fn empty() -> Record {
        Record {
            schema: Schema::new(Vec::<Str>::new()),
            values: Vec::new(),
        }
    }
    /// Builds a record from pairs (slow path: allocates a schema; for tests and configuration).
    pub fn from_pairs<I, K>(pairs: I) -> Record
    where
        I: IntoIterator<Item = (K, Value)>,
        K: Into<Str>,
    {
        let (names, values): (Vec<Str>, Vec<Value>) =
            pairs.into_iter().map(|(k, v)| (k.into(), v)).unzip();
        let schema = Schema::new(names);
        if schema.index.len() != values.len() {
            // duplicate names: keep the last value for each, in first-seen order
            let mut rec = Record::empty();
            for (n, v) in schema.names.iter().zip(values) {
                rec.set(n, v);
            }
            return rec;
        }
        Record { schema, values }
    }
    /// The schema.
    pub fn schema(&self) -> &Arc<Schema> {
        &self.schema
    }
    /// The values in schema order.
    pub fn values(&self) -> &[Value] {
        &self.values
    }
    /// Mutable values (the schema cannot change through this).
    pub fn values_mut(&mut self) -> &mut [Value] {
        &mut self.values
    }
    /// Splits into schema and values.
    pub fn into_parts(mut self) -> (Arc<Schema>, Vec<Value>) {
        // (`Record` has a `Drop`, so the fields are taken, leaving an empty record to drop)
        let values = std::mem::take(&mut self.values);
        (self.schema.clone(), values)
    }
    /// Number of fields.
    pub fn len(&self) -> usize {
        self.values.len()
    }
    /// True with no fields.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
    /// Field by name (hashes the name: not for hot paths).
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.schema.index_of(name).map(|i| &self.values[i])
    }
    /// Field by position.
    pub fn get_at(&self, i: usize) -> &Value {
        &self.values[i]
    }
    /// (name, value) pairs in order.
    pub fn iter(&self) -> impl Iterator<Item = (&Str, &Value)> {
        self.schema.names.iter().zip(&self.values)
    }
    /// Sets a field, adding it at the end if absent (slow path when adding: new schema).
    pub fn set(&mut self, name: &str, value: Value) {
        if let Some(i) = self.schema.index_of(name) {
            self.values[i] = value;
        } else {
            let names = self
                .schema
                .names
                .iter()
                .cloned()
                .chain(std::iter::once(Str::from(name)));
            self.schema = Schema::new(names);
            self.values.push(value);
        }
    }
    /// Removes a field, returning its value (slow path: new schema).
    pub fn remove(&mut self, name: &str) -> Option<Value> {
        let i = self.schema.index_of(name)?;
        let names = self
            .schema
            .names
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, n)| n.clone());
        self.schema = Schema::new(names);
        Some(self.values.remove(i))
    }
    /// Replaces schema and values together (used by steps that cache derived schemas).
    pub fn reshape(&mut self, schema: Arc<Schema>, values: Vec<Value>) {
        assert_eq!(
            schema.len(),
            values.len(),
            "record values must match the schema"
        );
        self.schema = schema;
        self.values = values;
    }
    /// Takes the values out, leaving an empty vector (to reuse the allocation).
    pub fn take_values(&mut self) -> Vec<Value> {
        std::mem::take(&mut self.values)
    }
}

impl Default for Record {
    fn default() -> Self {
        Record::empty()
    }
}

impl PartialEq for Record {
    /// Records are equal as maps: same names with equal values, in any order.
    fn eq(&self, other: &Self) -> bool {
        if Arc::ptr_eq(&self.schema, &other.schema) {
            return self.values == other.values;
        }
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

/// A field reference resolved once per schema: the first lookup on a schema hashes the name,
/// later lookups on records of the same schema are an integer compare and an index.
///
/// ```
/// use rill_core::{FieldSlot, Record, Value};
/// let slot = FieldSlot::new("x");
/// let rec = Record::from_pairs([("x", Value::Int(1))]);
/// assert_eq!(slot.get(&rec), Some(&Value::Int(1)));
/// ```
#[derive(Debug, Clone)]
pub struct FieldSlot {
    name: Str,
    cache: Cell<(u64, u32)>,
}

const ABSENT: u32 = u32::MAX;

impl FieldSlot {
    /// A slot for the field `name`.
    pub fn new(name: impl Into<Str>) -> Self {
        FieldSlot {
            name: name.into(),
            cache: Cell::new((0, ABSENT)),
        }
    }
    /// The field's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Position of the field in `schema`, if present.
    #[inline]
    pub fn index(&self, schema: &Schema) -> Option<usize> {
        let (id, idx) = self.cache.get();
        let idx = if id == schema.id {
            idx
        } else {
            let idx = schema.index_of(&self.name).map_or(ABSENT, |i| i as u32);
            self.cache.set((schema.id, idx));
            idx
        };
        (idx != ABSENT).then_some(idx as usize)
    }
    /// The field's value in `rec`.
    #[inline]
    pub fn get<'a>(&self, rec: &'a Record) -> Option<&'a Value> {
        self.index(&rec.schema).map(|i| &rec.values[i])
    }
    /// The field's value in a body (None when the body is not a record or lacks the field).
    #[inline]
    pub fn get_in<'a>(&self, body: &'a Value) -> Option<&'a Value> {
        match body {
            Value::Record(r) => self.get(r),
            _ => None,
        }
    }
}

/// Adds (or overwrites) a fixed list of fields on records, computing the output schema once per
/// input schema instead of once per record.
#[derive(Debug, Clone)]
pub struct SchemaExtender {
    names: Vec<Str>,
    overwrite: bool,
    cached_in: u64,
    out: Option<Arc<Schema>>,
    /// For each new field: its position in the output, or ABSENT when the body keeps its own value.
    positions: Vec<u32>,
}

impl SchemaExtender {
    /// Extends records with `names`. With `overwrite`, a field already present gets the new value
    /// (storey `Extend`); without, the record's own value wins (storey `AggregateByKey`).
    pub fn new<I, S>(names: I, overwrite: bool) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<Str>,
    {
        SchemaExtender {
            names: names.into_iter().map(Into::into).collect(),
            overwrite,
            cached_in: 0,
            out: None,
            positions: Vec::new(),
        }
    }
    /// The names this extender adds.
    pub fn names(&self) -> &[Str] {
        &self.names
    }
    fn prepare(&mut self, schema: &Arc<Schema>) {
        if self.cached_in == schema.id && self.out.is_some() {
            return;
        }
        let mut names: Vec<Str> = schema.names.clone();
        self.positions.clear();
        for n in &self.names {
            match names.iter().position(|m| m == n) {
                Some(i) if self.overwrite => self.positions.push(i as u32),
                Some(_) => self.positions.push(ABSENT),
                None => {
                    self.positions.push(names.len() as u32);
                    names.push(n.clone());
                }
            }
        }
        // nothing added: keep the input schema, so downstream caches stay valid
        self.out = Some(if names.len() == schema.len() {
            schema.clone()
        } else {
            Schema::interned(names)
        });
        self.cached_in = schema.id;
    }
    /// Like [`SchemaExtender::apply`], but `fill` appends the values straight into the record
    /// when every name is a new field (the common case): no intermediate vector, no copy.
    pub fn extend_with(&mut self, rec: &mut Record, fill: impl FnOnce(&mut Vec<Value>)) {
        self.prepare(&rec.schema);
        let out = self.out.as_ref().expect("prepared");
        let base = rec.values.len();
        let appended = self
            .positions
            .iter()
            .enumerate()
            .all(|(i, p)| *p as usize == base + i);
        if appended && out.len() == base + self.positions.len() {
            rec.schema.note_growth(out);
            fill(&mut rec.values);
            debug_assert_eq!(rec.values.len(), out.len());
            if !Arc::ptr_eq(&rec.schema, out) {
                rec.schema = out.clone();
            }
        } else {
            let mut tmp = Vec::with_capacity(self.positions.len());
            fill(&mut tmp);
            self.apply(rec, tmp);
        }
    }

    /// Writes `values` (one per name, in order) into `rec`.
    pub fn apply<I: IntoIterator<Item = Value>>(&mut self, rec: &mut Record, values: I) {
        self.prepare(&rec.schema);
        let out = self.out.as_ref().expect("prepared");
        let base = rec.values.len();
        rec.schema.note_growth(out);
        // appended fields come in order after the record's own: push them instead of
        // pre-filling with nulls (uses the spare capacity sources leave)
        rec.values.reserve(out.len() - base);
        for (pos, v) in self.positions.iter().zip(values) {
            let p = *pos as usize;
            if *pos == ABSENT {
                continue;
            }
            if p < rec.values.len() {
                rec.values[p] = v;
            } else {
                debug_assert_eq!(p, rec.values.len());
                rec.values.push(v);
            }
        }
        rec.values.resize(out.len(), Value::Null);
        if !Arc::ptr_eq(&rec.schema, out) {
            rec.schema = out.clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spare_hint_learns_growth_through_a_chain_of_extenders() {
        // source schema -> +2 fields -> +3 fields: after a record has made the trip once, the
        // source's schema asks for room for all five, so later records are never reallocated.
        let src = Schema::new(["a"]);
        let mut first = SchemaExtender::new(["b", "c"], false);
        let mut second = SchemaExtender::new(["d", "e", "f"], true);
        let trip = |first: &mut SchemaExtender, second: &mut SchemaExtender| {
            let mut values = Vec::with_capacity(1 + src.spare_hint());
            values.push(Value::Int(1));
            let cap = values.capacity();
            let mut rec = Record::new(src.clone(), values);
            first.extend_with(&mut rec, |out| out.extend([Value::Int(2), Value::Int(3)]));
            second.apply(&mut rec, (4..7).map(Value::Int));
            assert_eq!(rec.len(), 6);
            cap
        };
        trip(&mut first, &mut second);
        // the second hop taught the middle schema; the next first hop passes it on
        trip(&mut first, &mut second);
        assert_eq!(src.spare_hint(), 5);
        assert!(trip(&mut first, &mut second) >= 6);
        // an extender that adds nothing teaches nothing
        let same = Schema::new(["x"]);
        let mut noop = SchemaExtender::new(["x"], false);
        let mut rec = Record::new(same.clone(), vec![Value::Int(1)]);
        noop.apply(&mut rec, [Value::Int(9)]);
        assert_eq!(same.spare_hint(), 0);
    }

    #[test]
    fn slot_cache_follows_schema_changes() {
        let slot = FieldSlot::new("b");
        let r1 = Record::from_pairs([("a", Value::Int(1)), ("b", Value::Int(2))]);
        let r2 = Record::from_pairs([("b", Value::Int(3))]);
        let r3 = Record::from_pairs([("a", Value::Int(3))]);
        assert_eq!(slot.get(&r1), Some(&Value::Int(2)));
        assert_eq!(slot.get(&r2), Some(&Value::Int(3)));
        assert_eq!(slot.get(&r3), None);
        assert_eq!(slot.get(&r1), Some(&Value::Int(2)));
    }

    #[test]
    fn extender_overwrite_and_keep() {
        let mut keep = SchemaExtender::new(["x", "f"], false);
        let mut rec = Record::from_pairs([("x", Value::Int(1))]);
        keep.apply(&mut rec, [Value::Int(9), Value::Float(2.0)]);
        assert_eq!(
            rec,
            Record::from_pairs([("x", Value::Int(1)), ("f", Value::Float(2.0))])
        );
        let mut over = SchemaExtender::new(["x"], true);
        over.apply(&mut rec, [Value::Int(9)]);
        assert_eq!(rec.get("x"), Some(&Value::Int(9)));
        // second record of the same schema reuses the cached output schema
        let mut rec2 = Record::new(rec.schema().clone(), vec![Value::Int(0), Value::Null]);
        over.apply(&mut rec2, [Value::Int(5)]);
        assert!(Arc::ptr_eq(rec.schema(), rec2.schema()));
    }

    #[test]
    fn set_remove_and_map_equality() {
        let mut r = Record::from_pairs([("a", Value::Int(1))]);
        r.set("b", Value::from("x"));
        r.set("a", Value::Int(2));
        assert_eq!(
            r,
            Record::from_pairs([("b", Value::from("x")), ("a", Value::Int(2))])
        );
        assert_eq!(r.remove("a"), Some(Value::Int(2)));
        assert_eq!(r.len(), 1);
    }
}
