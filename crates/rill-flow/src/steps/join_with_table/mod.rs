//! `join_with_table`: adds the static attributes a table holds for the event's key to the body
//! (storey `JoinWithTable`), from the cache or, for a persistent table, its store.
//!
//! An inner join drops events whose key has no attributes (counted as `no_match`); an outer
//! join (the default) passes them on unchanged. With `attributes`, only those are joined (a
//! missing one is null, so every output row has the same columns); attribute values win over
//! body fields of the same name, as storey's `body.update(attrs)`.

use super::keyed::{KeyConfig, KeySpec};
use crate::step::{Cx, Failure, Step, StepResult};
use rill_core::{Error, Event, Result, Value};
use rill_table::Table;
use serde::Deserialize;
use std::sync::Arc;

/// YAML `join_with_table: {table: users, key: user_id, attributes: [color, city], inner: true}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinWithTableConfig {
    /// The table.
    pub table: String,
    /// The key to look up: a body field, a list of fields, or `{expr: ...}`; default the
    /// event key.
    #[serde(default)]
    pub key: Option<KeyConfig>,
    /// The attributes to join; default every attribute the key has.
    #[serde(default)]
    pub attributes: Option<Vec<String>>,
    /// `true`: drop events whose key has no attributes; `false` (default): pass them on as
    /// they are.
    #[serde(default)]
    pub inner: bool,
    /// The step's name.
    #[serde(default)]
    pub name: Option<String>,
}

impl JoinWithTableConfig {
    /// Builds the step.
    pub fn build(&self, cx: &crate::build_context::BuildContext) -> Result<Box<dyn Step>> {
        Ok(Box::new(JoinWithTable {
            table: cx.tables.get_or_create(&self.table),
            key: KeySpec::new(self.key.as_ref())?,
            attributes: self.attributes.clone(),
            inner: self.inner,
        }))
    }
}

/// The step. Given by value to [`crate::Flow::then`], every build of the flow joins with this
/// very table.
#[derive(Clone)]
pub struct JoinWithTable {
    table: Arc<Table>,
    key: KeySpec,
    attributes: Option<Vec<String>>,
    inner: bool,
}

impl JoinWithTable {
    /// Joins every attribute of the event key's entry in `table`; `inner` drops misses.
    pub fn new(table: Arc<Table>, inner: bool) -> JoinWithTable {
        JoinWithTable {
            table,
            key: KeySpec::Event,
            attributes: None,
            inner,
        }
    }
}

impl Step for JoinWithTable {
    fn tables(&self) -> Vec<Arc<Table>> {
        vec![self.table.clone()]
    }

    fn process(&mut self, mut event: Event, cx: &mut Cx) -> StepResult {
        let key = match self.key.key_of(&event) {
            Ok(k) => k,
            Err(e) => return Err(Failure::new(e, event)),
        };
        let attrs = match self.table.attrs(&key) {
            Ok(a) => a,
            Err(e) => return Err(Failure::new(e, event)),
        };
        let Some(attrs) = attrs else {
            cx.count("no_match", 1);
            if !self.inner {
                cx.emit(event);
            }
            return Ok(());
        };
        let Value::Record(body) = &mut event.body else {
            let e = Error::user(format!(
                "join_with_table needs a record body, got {}",
                event.body.type_name()
            ));
            return Err(Failure::new(e, event));
        };
        match &self.attributes {
            None => {
                for (k, v) in attrs.iter() {
                    body.set(k, v.clone());
                }
            }
            Some(names) => {
                for n in names {
                    body.set(n, attrs.get(n).cloned().unwrap_or(Value::Null));
                }
            }
        }
        cx.emit(event);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Flow;
    use rill_core::Record;

    fn users() -> Arc<Table> {
        let t = Table::memory("users");
        let u1 = Record::from_pairs([("color", Value::from("red")), ("n", Value::Int(1))]);
        t.merge_attrs(&Value::from("u1"), &u1).unwrap();
        t
    }

    fn events() -> Vec<Event> {
        ["u1", "u2"]
            .map(|k| {
                Event::new(Value::Record(Record::from_pairs([("n", Value::Int(9))])))
                    .with_key(Value::from(k))
            })
            .to_vec()
    }

    fn run(step: JoinWithTable) -> (Vec<String>, u64) {
        let (sink, got) = crate::steps::Collect::new();
        let out = Flow::new()
            .then("join", step)
            .then("sink", sink)
            .run_events(events())
            .unwrap();
        let bodies = got
            .take()
            .iter()
            .map(|e| rill_core::json::to_json(&e.body).to_string())
            .collect();
        (bodies, out.summary.counter("no_match"))
    }

    #[test]
    fn outer_joins_pass_misses_and_attributes_win() {
        let (bodies, misses) = run(JoinWithTable::new(users(), false));
        assert_eq!(bodies, [r#"{"n":1,"color":"red"}"#, r#"{"n":9}"#]);
        assert_eq!(misses, 1);
    }

    #[test]
    fn inner_joins_drop_misses_and_selected_attributes_are_always_there() {
        let step = JoinWithTable {
            table: users(),
            key: KeySpec::Event,
            attributes: Some(vec!["color".into(), "city".into()]),
            inner: true,
        };
        let (bodies, misses) = run(step);
        assert_eq!(bodies, [r#"{"n":9,"color":"red","city":null}"#]);
        assert_eq!(misses, 1);
    }
}
