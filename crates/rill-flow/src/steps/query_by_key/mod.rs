//! `query_by_key`: enriches events with features read from a table — aggregations evaluated at
//! the event's time and static attributes — without changing the table (storey `QueryByKey`).

use super::keyed::{KeyConfig, KeySpec, TimeSpec};
use crate::step::{Cx, Failure, Step, StepResult};
use rill_core::{Error, Event, Result, SchemaExtender, TimeFormat, Timestamp, Value};
use rill_table::{AggStore, Table};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Which fixed window a query reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FixedWindowType {
    /// The window that contains the event's time (default).
    #[default]
    CurrentOpen,
    /// The last window that ended before the event's time.
    LastClosed,
}

/// YAML `query_by_key`.
///
/// ```yaml
/// - query_by_key:
///     table: features
///     features: [clicks_count_1h, purchases_avg_24h, segment]   # aggregations and static attributes
///     key: user
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueryByKeyConfig {
    /// The table to read (written by `aggregate_by_key` / `write_to_table` / `map_with_state`).
    pub table: String,
    /// Feature names: `<name>_<op>_<window>` names of aggregations in the table, or static
    /// attribute names.
    pub features: Vec<String>,
    /// The key: a body field, a list of fields, or `{expr: ...}`; default the event key.
    #[serde(default)]
    pub key: Option<KeyConfig>,
    /// Body field with the time to evaluate aggregations at; default the event's time.
    #[serde(default)]
    pub time: Option<String>,
    /// Format of the time field when it is text or a number.
    #[serde(default)]
    pub time_format: TimeFormat,
    /// Output names: `{feature: output_name}`.
    #[serde(default)]
    pub aliases: BTreeMap<String, String>,
    /// For fixed windows: `current_open` (default) or `last_closed`.
    #[serde(default)]
    pub fixed_window: FixedWindowType,
    /// The step's name.
    #[serde(default)]
    pub name: Option<String>,
}

enum Source {
    /// Aggregation feature: (store index, feature index, fixed window length for last_closed).
    Agg(usize, usize, Option<i64>),
    Static(String),
}

/// The step.
pub struct QueryByKey {
    table: Arc<Table>,
    features: Vec<String>,
    /// Where each feature comes from, as of the table's `agg_generation` in `generation`.
    resolved: Vec<Source>,
    generation: Option<usize>,
    stores: Vec<Arc<AggStore>>,
    fixed: FixedWindowType,
    key: KeySpec,
    time: TimeSpec,
    extender: SchemaExtender,
    /// Features computed during one read, per (store, time): a query of many features of one
    /// aggregation step at one time computes them once, not once per feature (`memo[..n]` are
    /// this read's; the vectors are kept for reuse).
    memo: Vec<((usize, i64), Vec<Value>)>,
    out: Vec<Value>,
}

impl QueryByKeyConfig {
    /// Builds the step.
    pub fn build(&self, cx: &crate::build_context::BuildContext) -> Result<Box<dyn Step>> {
        if self.features.is_empty() {
            return Err(Error::config("query_by_key needs at least one feature"));
        }
        let names: Vec<String> = self
            .features
            .iter()
            .map(|f| self.aliases.get(f).cloned().unwrap_or_else(|| f.clone()))
            .collect();
        let mut step = QueryByKey {
            table: cx.tables.get_or_create(&self.table),
            features: self.features.clone(),
            resolved: Vec::new(),
            generation: None,
            stores: Vec::new(),
            fixed: self.fixed_window,
            key: KeySpec::new(self.key.as_ref())?,
            time: TimeSpec::new(self.time.as_deref(), &self.time_format),
            extender: SchemaExtender::new(names, true),
            memo: Vec::new(),
            out: Vec::new(),
        };
        step.resolve();
        Ok(Box::new(step))
    }
}

impl QueryByKey {
    /// Maps each requested feature to an aggregation store of the table or, when no store
    /// has it, to a static attribute. Mapped again whenever the table gains a store (another
    /// flow may create one after this step was built): one atomic load per event otherwise.
    fn resolve(&mut self) {
        let generation = self.table.agg_generation();
        if self.generation == Some(generation) {
            return;
        }
        let stores = self.table.agg_stores();
        self.resolved.clear();
        for f in &self.features {
            let found = stores.iter().enumerate().find_map(|(si, s)| {
                s.aggs
                    .feature_names()
                    .iter()
                    .position(|n| n == f)
                    .map(|fi| (si, fi))
            });
            self.resolved.push(match found {
                Some((si, fi)) => {
                    let window = stores[si]
                        .is_fixed_feature(fi)
                        .then(|| stores[si].window_of(fi));
                    Source::Agg(si, fi, window)
                }
                None => Source::Static(f.clone()),
            });
        }
        // `stores` may have grown since `generation` was read: then the next event maps again
        self.generation = Some(generation);
        self.stores = stores;
    }

    fn read(&mut self, key: &Value, t: Timestamp) -> Result<bool> {
        self.resolve();
        let sources = &self.resolved;
        let attrs = self.table.attrs(key)?;
        let mut known = attrs.is_some();
        self.out.clear();
        let mut computed = 0;
        for src in sources {
            match src {
                Source::Static(name) => self.out.push(
                    attrs
                        .as_ref()
                        .and_then(|a| a.get(name))
                        .cloned()
                        .unwrap_or(Value::Null),
                ),
                Source::Agg(si, fi, window) => {
                    let store = &self.stores[*si];
                    let mut data = store.data.lock();
                    let Some(slot) = data.lookup(key)? else {
                        self.out.push(Value::Null);
                        continue;
                    };
                    known = true;
                    let at = match (self.fixed, window) {
                        (FixedWindowType::LastClosed, Some(w)) => {
                            Timestamp(t.nanos().div_euclid(*w) * w - 1)
                        }
                        _ => t,
                    };
                    let memo = &mut self.memo;
                    let i = match memo[..computed].iter().position(|(k, _)| *k == (*si, at.0)) {
                        Some(i) => i,
                        None => {
                            if memo.len() == computed {
                                memo.push(((0, 0), Vec::new()));
                            }
                            let (k, values) = &mut memo[computed];
                            *k = (*si, at.0);
                            values.clear();
                            store
                                .aggs
                                .features_at(&data.states[slot as usize], at, values);
                            computed += 1;
                            computed - 1
                        }
                    };
                    self.out.push(memo[i].1[*fi].clone());
                }
            }
        }
        Ok(known)
    }
}

impl Step for QueryByKey {
    fn tables(&self) -> Vec<Arc<Table>> {
        vec![self.table.clone()]
    }

    fn process(&mut self, mut event: Event, cx: &mut Cx) -> StepResult {
        let key = match self.key.key_of(&event) {
            Ok(k) => k,
            Err(e) => return Err(Failure::new(e, event)),
        };
        let t = match self.time.time_of(&event) {
            Ok(t) => t,
            Err(e) => return Err(Failure::new(e, event)),
        };
        match self.read(&key, t) {
            Ok(true) => match &mut event.body {
                Value::Record(r) => self.extender.apply(r, self.out.drain(..)),
                other => {
                    let e = Error::user(format!(
                        "query_by_key needs a record body, got {}",
                        other.type_name()
                    ));
                    return Err(Failure::new(e, event));
                }
            },
            Ok(false) => cx.count("unknown_keys", 1),
            Err(e) => return Err(Failure::new(e, event)),
        }
        event.key = key;
        cx.emit(event);
        Ok(())
    }
}
