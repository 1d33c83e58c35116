//! [`GroupedNamedDataEvent`]: every output feature's latest event, by name, after one input
//! event — the request shape of an online model.

use rill_core::{Event, Record, Schema, Timestamp, Value};
use std::sync::Arc;

/// The state of a graph's outputs after one input event: for each output feature (in the
/// order the features were given) its latest event (`None` until it has emitted), and whether
/// this input event updated it. Delivered once per input event that updated at least one
/// output, live ([`crate::FeatureStreamGraph`]) and offline
/// ([`crate::OfflineFeatureStreamGenerator`]) alike.
#[derive(Debug, Clone)]
pub struct GroupedNamedDataEvent {
    pub(crate) time: Timestamp,
    pub(crate) source: usize,
    pub(crate) names: Arc<[String]>,
    pub(crate) source_names: Arc<[String]>,
    pub(crate) latest: Vec<Option<Event>>,
    pub(crate) updated: Vec<bool>,
    /// The number of fields of each output (for [`Self::to_record`]).
    pub(crate) widths: Arc<[usize]>,
}

impl GroupedNamedDataEvent {
    pub(crate) fn new(
        names: Arc<[String]>,
        source_names: Arc<[String]>,
        widths: Arc<[usize]>,
    ) -> Self {
        let n = names.len();
        GroupedNamedDataEvent {
            time: Timestamp::default(),
            source: 0,
            names,
            source_names,
            latest: vec![None; n],
            updated: vec![false; n],
            widths,
        }
    }
    /// The time of the input event.
    pub fn time(&self) -> Timestamp {
        self.time
    }
    /// The data source the input event came from.
    pub fn source(&self) -> &str {
        &self.source_names[self.source]
    }
    /// The output features' names.
    pub fn names(&self) -> &[String] {
        &self.names
    }
    fn pos(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }
    /// The latest event of the output `name` (its `time` is the feature's event time).
    pub fn get(&self, name: &str) -> Option<&Event> {
        self.latest.get(self.pos(name)?)?.as_ref()
    }
    /// The latest record of the output `name`.
    pub fn record(&self, name: &str) -> Option<&Record> {
        self.get(name)?.body.as_record()
    }
    /// One field of the latest record of `name`.
    pub fn value(&self, name: &str, field: &str) -> Option<&Value> {
        self.record(name)?.get(field)
    }
    /// True when this input event updated `name`.
    pub fn updated(&self, name: &str) -> bool {
        self.pos(name).is_some_and(|i| self.updated[i])
    }
    /// True when every output has a value.
    pub fn is_complete(&self) -> bool {
        self.latest.iter().all(Option::is_some)
    }
    /// `(name, latest event, updated by this input)` per output.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Option<&Event>, bool)> {
        self.names
            .iter()
            .zip(&self.latest)
            .zip(&self.updated)
            .map(|((n, e), u)| (n.as_str(), e.as_ref(), *u))
    }
    /// As one flat record over `schema` ([`crate::CompiledGraph::grouped_schema`]): `time`,
    /// `source`, then every output's fields as `<output>.<field>` (null before its first
    /// value) — a row for a JSON lines, CSV or Parquet target.
    pub fn to_record(&self, schema: &Arc<Schema>) -> Record {
        let mut values = Vec::with_capacity(schema.len());
        values.push(Value::Time(self.time));
        values.push(Value::from(self.source()));
        for (e, &w) in self.latest.iter().zip(self.widths.iter()) {
            match e.as_ref().and_then(|e| e.body.as_record()) {
                Some(r) => values.extend(r.values().iter().cloned()),
                None => values.extend(std::iter::repeat_n(Value::Null, w)),
            }
        }
        Record::new(schema.clone(), values)
    }
    /// As one JSON object: `time` (epoch ns), `source`, then per output its record or null.
    pub fn to_json(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        m.insert("time".into(), self.time.nanos().into());
        m.insert("source".into(), self.source().into());
        for (n, e, _) in self.iter() {
            let v = e.map_or(serde_json::Value::Null, |e| {
                rill_core::json::to_json(&e.body)
            });
            m.insert(n.to_string(), v);
        }
        serde_json::Value::Object(m)
    }
}

impl PartialEq for GroupedNamedDataEvent {
    /// Same input (time, source), same outputs: names, update flags, and each latest event's
    /// time and body.
    fn eq(&self, o: &Self) -> bool {
        self.time == o.time
            && self.source == o.source
            && self.names == o.names
            && self.updated == o.updated
            && self.latest.len() == o.latest.len()
            && self
                .latest
                .iter()
                .zip(&o.latest)
                .all(|(a, b)| match (a, b) {
                    (None, None) => true,
                    (Some(a), Some(b)) => a.time == b.time && a.body == b.body,
                    _ => false,
                })
    }
}
