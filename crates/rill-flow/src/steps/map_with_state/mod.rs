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
    pub fn global(initial: Value, mut f: impl FnMut(&Value, Value) -> Result<(Value, Value)> + Send + 'static) -> Self {
        MapWithState { f: Box::new(move |e: &Event, s| f(&e.body, s)), scope: Scope::Global(initial) }
    }
    /// One state per event key, kept in `table` (storey `group_by_key=True`): the function gets
    /// the key's attributes as a record (empty for a new key) and returns a record merged back.
    pub fn per_key(table: Arc<Table>, mut f: impl FnMut(&Value, Value) -> Result<(Value, Value)> + Send + 'static) -> Self {
        MapWithState { f: Box::new(move |e: &Event, s| f(&e.body, s)), scope: Scope::PerKey(table) }
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
                    return Err(Failure::new(Error::field("key", "map_with_state per key needs an event key"), event));
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
                    return Err(Failure::new(Error::user(format!("per-key state must be a record, got {t}")), event));
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
