//! `map_with_state`: a map that threads state through events, globally or per key
//! (storey `MapWithState`).

use crate::step::{Cx, Failure, Step, StepResult};
use rill_core::{Error, Event, Result, Value};
use rill_table::Table;
use std::sync::Arc;

type StateFn = Box<dyn FnMut(&Event, Value) -> Result<(Value, Value)> + Send>;

enum Scope {
    Global(Value),
    /// Per-key state lives in the table as the key's attributes (`{}` for a new key); the new
    /// state is merged into them.
    PerKey(Arc<Table>),
}

/// `f(body, state) -> (output body, new state)`.
pub struct MapWithState {
    f: StateFn,
    scope: Scope,
}

impl MapWithState {
    /// One state for the whole flow, starting at `initial`.
    pub fn global(
        initial: Value,
        mut f: impl FnMut(&Value, Value) -> Result<(Value, Value)> + Send + 'static,
    ) -> Self {
        MapWithState {
            f: Box::new(move |e: &Event, s| f(&e.body, s)),
            scope: Scope::Global(initial),
        }
    }
    /// One state per event key, kept in `table` (storey `group_by_key=True`): the function gets
    /// the key's attributes as a record (empty for a new key) and returns a record merged back.
    pub fn per_key(
        table: Arc<Table>,
        mut f: impl FnMut(&Value, Value) -> Result<(Value, Value)> + Send + 'static,
    ) -> Self {
        MapWithState {
            f: Box::new(move |e: &Event, s| f(&e.body, s)),
            scope: Scope::PerKey(table),
        }
    }
}

impl Step for MapWithState {
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
            Scope::PerKey(table) => {
                if event.key.is_null() {
                    return Err(Failure::new(
                        Error::field("key", "map_with_state per key needs an event key"),
                        event,
                    ));
                }
                let state = match table.with_entry(&event.key, |e| e.attrs.clone()) {
                    Ok(s) => s,
                    Err(e) => return Err(Failure::new(e, event)),
                };
                let (out, new_state) = match (self.f)(&event, Value::Record(state)) {
                    Ok(r) => r,
                    Err(e) => return Err(Failure::new(e, event)),
                };
                let Value::Record(new_state) = new_state else {
                    let t = new_state.type_name();
                    return Err(Failure::new(
                        Error::user(format!("per-key state must be a record, got {t}")),
                        event,
                    ));
                };
                if let Err(e) = table.merge_attrs(&event.key, &new_state) {
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
    /// Initial state of a global map_with_state (not used with `table`).
    #[serde(default)]
    pub initial: Value,
    /// Keep one state per event key in this table (the key's attributes, `{}` when new);
    /// without it the state is global.
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
    pub fn build(&self, cx: &crate::config::BuildContext) -> Result<Box<dyn Step>> {
        let state = crate::config::ExprFn::compile(&self.state, &["state"])?;
        let output = crate::config::ExprFn::compile(
            self.output.as_deref().unwrap_or("body"),
            &["state", "new_state"],
        )?;
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
                scope: Scope::PerKey(cx.tables.get_or_create(t)),
                ..step
            },
            None => MapWithState {
                scope: Scope::Global(self.initial.clone()),
                ..step
            },
        }))
    }
}
