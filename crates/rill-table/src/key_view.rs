//! [`KeyView`]: what a table knows of one key at one time — its aggregation features and its
//! static attributes — read for serving (`rill query`, `rill serve`) straight from the backend,
//! so a long-running server sees what another process has flushed since.

use crate::agg_store::key_bytes;
use crate::table::{Table, ATTRS};
use rill_core::{Record, Result, Str, Timestamp, Value};

/// One key's features (every aggregation feature of the table, `<name>_<op>_<window>`, at the
/// time asked) and static attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyView {
    /// The key.
    pub key: Value,
    /// The time the features are computed at.
    pub at: Timestamp,
    /// Aggregation features by name, per aggregator set in the order the table records them.
    pub features: Vec<(Str, Value)>,
    /// The static attributes (none when the key has no attributes).
    pub attrs: Option<Record>,
}

impl KeyView {
    /// As JSON: `{"key": …, "at": "…", "features": {…}, "attributes": {…} | null}`.
    pub fn to_json(&self) -> serde_json::Value {
        let features: serde_json::Map<String, serde_json::Value> = self
            .features
            .iter()
            .map(|(k, v)| (k.to_string(), rill_core::json::to_json(v)))
            .collect();
        serde_json::json!({
            "key": rill_core::json::to_json(&self.key),
            "at": self.at.to_iso(),
            "features": features,
            "attributes": self.attrs.as_ref().map(|a| rill_core::json::to_json(&Value::Record(a.clone()))),
        })
    }
}

impl Table {
    /// The key's features at `at` and its attributes; `None` when the table has nothing for the
    /// key. A persistent table reads the backend (what has been flushed, by this or another
    /// process) and re-reads which aggregator sets it holds; a memory table reads its cache.
    pub fn read_key(&self, key: &Value, at: Timestamp) -> Result<Option<KeyView>> {
        let mut features = Vec::new();
        let mut found = false;
        let attrs = match self.backend() {
            None => {
                let attrs = self.attrs(key)?;
                for s in self.agg_stores() {
                    let d = s.data.lock();
                    if let Some(slot) = d.find(key) {
                        found = true;
                        push_features(&s.aggs, &d.states[slot as usize], at, &mut features);
                    } else {
                        push_nulls(&s.aggs, &mut features);
                    }
                }
                attrs
            }
            Some(b) => {
                self.refresh_aggregates()?;
                let kb = key_bytes(key);
                for s in self.agg_stores() {
                    let got = b
                        .get_many(self.name(), s.space(), &[&kb])
                        .map_err(|e| self.backend_error(e))?;
                    match got.into_iter().next().flatten() {
                        Some(bytes) => {
                            let st = crate::agg_store::decode_stored(
                                &s.aggs,
                                self.name(),
                                self.url(),
                                key,
                                &bytes,
                            )?;
                            found = true;
                            push_features(&s.aggs, &st, at, &mut features);
                        }
                        None => push_nulls(&s.aggs, &mut features),
                    }
                }
                let got = b
                    .get_many(self.name(), ATTRS, &[&kb])
                    .map_err(|e| self.backend_error(e))?;
                match got.into_iter().next().flatten() {
                    None => None,
                    Some(bytes) => Some(self.decode_attrs(key, &bytes)?),
                }
            }
        };
        if !found && attrs.is_none() {
            return Ok(None);
        }
        Ok(Some(KeyView {
            key: key.clone(),
            at,
            features,
            attrs,
        }))
    }
}

fn push_features(
    aggs: &rill_agg::Aggregations,
    st: &rill_agg::KeyState,
    at: Timestamp,
    out: &mut Vec<(Str, Value)>,
) {
    let mut values = Vec::new();
    aggs.features_at(st, at, &mut values);
    out.extend(aggs.feature_names().iter().cloned().zip(values));
}

fn push_nulls(aggs: &rill_agg::Aggregations, out: &mut Vec<(Str, Value)>) {
    out.extend(
        aggs.feature_names()
            .iter()
            .map(|n| (n.clone(), Value::Null)),
    );
}
