//! `map_with_state`: a map that threads state through events, globally or per key
//! (storey `MapWithState`).

use crate::step::{Cx, Failure, Step, StepResult};
use rill_core::{Error, Event, Record, Result, Str, Value};
use rill_table::Table;
use std::sync::Arc;

super::cloneable_fn!(pub(crate) StateBody: FnMut(&Event, Value) -> Result<(Value, Value)>);
type StateFn = Box<dyn StateBody>;

#[derive(Clone)]
enum Scope {
    Global(Value),
    /// Per-key state lives in the table (see [`PerKey`]).
    PerKey(PerKey),
}

/// Where a per-key state lives in its table.
///
/// A record state is the key's attributes: the function gets them (over `initial`'s fields,
/// which act as defaults for fields the key does not have yet) and the new state is merged back,
/// so other steps (`query_by_key`, `enrich_with`) read its fields by name (storey's layout). Any
/// other state (`initial: 0`) is kept as the single attribute `attr`.
#[derive(Clone)]
struct PerKey {
    table: Arc<Table>,
    initial: Value,
    attr: Str,
}

impl PerKey {
    /// The key's current state.
    fn load(&self, key: &Value) -> Result<Value> {
        let attrs = self.table.attrs(key)?.unwrap_or_default();
        Ok(match &self.initial {
            Value::Record(init) => {
                let mut state = init.clone();
                for (k, v) in attrs.iter() {
                    state.set(k, v.clone());
                }
                Value::Record(state)
            }
            Value::Null => Value::Record(attrs),
            init => attrs
                .get(&self.attr)
                .cloned()
                .unwrap_or_else(|| init.clone()),
        })
    }

    /// Stores the key's new state.
    fn store(&self, key: &Value, state: Value) -> Result<()> {
        match (&self.initial, state) {
            (Value::Record(_) | Value::Null, Value::Record(r)) => self.table.merge_attrs(key, &r),
            (Value::Record(_) | Value::Null, other) => Err(Error::user(format!(
                "per-key state must be a record (the key's attributes), got {}; \
                 a non-record `initial` keeps it as one attribute",
                other.type_name()
            ))),
            (_, other) => self
                .table
                .merge_attrs(key, &Record::from_pairs([(self.attr.as_str(), other)])),
        }
    }
}

/// `f(body, state) -> (output body, new state)`.
#[derive(Clone)]
pub struct MapWithState {
    f: StateFn,
    scope: Scope,
}

impl MapWithState {
    /// One state for the whole flow, starting at `initial`.
    pub fn global(
        initial: Value,
        mut f: impl FnMut(&Value, Value) -> Result<(Value, Value)> + Clone + Send + 'static,
    ) -> Self {
        MapWithState {
            f: Box::new(move |e: &Event, s| f(&e.body, s)),
            scope: Scope::Global(initial),
        }
    }
    /// One state per event key, kept in `table` (storey `group_by_key=True`): the function gets
    /// the key's attributes as a record (empty for a new key) and returns a record merged back.
    /// Every build of the flow uses this very table; a step that should use each build's own
    /// (a worker's copy) is made in [`crate::Flow::then_with`] from `cx.tables`.
    pub fn per_key(
        table: Arc<Table>,
        f: impl FnMut(&Value, Value) -> Result<(Value, Value)> + Clone + Send + 'static,
    ) -> Self {
        Self::per_key_from(table, Value::Null, "map_with_state", f)
    }

    /// One state per event key, starting at `initial` for a key that has none. A record
    /// `initial` gives defaults for the key's attributes (the state is the attributes, merged
    /// back); any other `initial` (a number, a list) is kept as the key's attribute `attr`.
    ///
    /// ```
    /// use rill_flow::{steps::MapWithState, Flow};
    /// use rill_core::{Event, Value};
    /// let table = rill_table::Table::memory("counts");
    /// let step = MapWithState::per_key_from(table.clone(), Value::Int(0), "n", |_b, s| {
    ///     let n = Value::Int(s.as_i64().unwrap() + 1);
    ///     Ok((n.clone(), n))
    /// });
    /// let events = ["a", "b", "a"].map(|k| Event::new(Value::Null).with_key(Value::from(k)));
    /// Flow::new().then("count", step).run_events(events).unwrap();
    /// assert_eq!(table.attrs(&Value::from("a")).unwrap().unwrap().get("n"), Some(&Value::Int(2)));
    /// ```
    pub fn per_key_from(
        table: Arc<Table>,
        initial: Value,
        attr: &str,
        mut f: impl FnMut(&Value, Value) -> Result<(Value, Value)> + Clone + Send + 'static,
    ) -> Self {
        MapWithState {
            f: Box::new(move |e: &Event, s| f(&e.body, s)),
            scope: Scope::PerKey(PerKey {
                table,
                initial,
                attr: Str::from(attr),
            }),
        }
    }
}

impl Step for MapWithState {
    fn tables(&self) -> Vec<Arc<Table>> {
        match &self.scope {
            Scope::PerKey(p) => vec![p.table.clone()],
            Scope::Global(_) => Vec::new(),
        }
    }

    fn process(&mut self, mut event: Event, cx: &mut Cx) -> StepResult {
        match &mut self.scope {
            Scope::Global(state) => {
                let s = std::mem::take(state);
                match (self.f)(&event, s.clone()) {
                    Ok((out, new_state)) => {
                        *state = new_state;
                        event.body = out;
                    }
                    Err(e) => {
                        *state = s;
                        return Err(Failure::new(e, event));
                    }
                }
            }
            Scope::PerKey(pk) => {
                if event.key.is_null() {
                    return Err(Failure::new(
                        Error::field("key", "map_with_state per key needs an event key"),
                        event,
                    ));
                }
                let state = match pk.load(&event.key) {
                    Ok(s) => s,
                    Err(e) => return Err(Failure::new(e, event)),
                };
                let (out, new_state) = match (self.f)(&event, state) {
                    Ok(r) => r,
                    Err(e) => return Err(Failure::new(e, event)),
                };
                if let Err(e) = pk.store(&event.key, new_state) {
                    return Err(Failure::new(e, event));
                }
                event.body = out;
            }
        }
        cx.emit(event);
        Ok(())
    }
}

/// YAML `map_with_state`: `state` computes the new state from `state` and the event; `output`
/// computes the output body from the event, `state` (before) and `new_state` (after).
///
/// ```yaml
/// # global: emits the previous state, keeps the current body (storey's classic example)
/// - map_with_state: {initial: 1000, state: "body", output: "state"}
/// # per key, in table `users`: running count and total per key
/// - map_with_state:
///     table: users
///     state: "{count: coalesce(state.count, 0) + 1, total: coalesce(state.total, 0) + x}"
///     output: "body + {running_count: new_state.count, running_total: new_state.total}"
/// ```
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MapWithStateConfig {
    /// Initial state: of the whole flow, or with `table` of each new key. With `table`, a record
    /// (or no `initial`: `{}`) is the key's attributes, its fields defaults for those the key
    /// does not have; any other value is kept as the key's attribute named after the step
    /// (`name`, default `map_with_state`).
    #[serde(default)]
    pub initial: Value,
    /// Keep one state per event key in this table; without it the state is global.
    #[serde(default)]
    pub table: Option<String>,
    /// Expression for the new state (variables: `state`, and the event's).
    pub state: String,
    /// Expression for the output body (variables: `state`, `new_state`); default `body`.
    #[serde(default)]
    pub output: Option<String>,
    /// The step's name.
    #[serde(default)]
    pub name: Option<String>,
}

impl MapWithStateConfig {
    /// Builds the step.
    pub fn build(&self, cx: &crate::build_context::BuildContext) -> Result<Box<dyn Step>> {
        let state =
            crate::expr_fn::ExprFn::compile(&self.state, &["state"]).map_err(|e| e.at("state"))?;
        let output = crate::expr_fn::ExprFn::compile(
            self.output.as_deref().unwrap_or("body"),
            &["state", "new_state"],
        )
        .map_err(|e| e.at("output"))?;
        let f = move |e: &Event, s: Value| {
            let new_state = state.eval(e, &[&s])?;
            let out = output.eval(e, &[&s, &new_state])?;
            Ok((out, new_state))
        };
        let step = MapWithState {
            f: Box::new(f),
            scope: Scope::Global(Value::Null),
        };
        Ok(Box::new(match &self.table {
            Some(t) => MapWithState {
                scope: Scope::PerKey(PerKey {
                    table: cx.tables.get_or_create(t),
                    initial: self.initial.clone(),
                    attr: Str::from(self.name.as_deref().unwrap_or("map_with_state")),
                }),
                ..step
            },
            None => MapWithState {
                scope: Scope::Global(self.initial.clone()),
                ..step
            },
        }))
    }
}
