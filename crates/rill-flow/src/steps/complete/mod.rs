//! `complete`: resolves the emitter's awaitable result with the event's body (storey `Complete`).

use crate::step::{Cx, Step, StepResult};
use rill_core::{Event, Value};

/// Sets the awaitable result of each event to its body (or, with `full_event`, to a record
/// `{key, time, id, body}`), then passes the event on.
#[derive(Debug, Default)]
pub struct Complete {
    full_event: bool,
}

impl Complete {
    /// Completes with the body.
    pub fn new() -> Complete {
        Complete { full_event: false }
    }
    /// Completes with the whole event as a record.
    pub fn full_event() -> Complete {
        Complete { full_event: true }
    }
}

impl Step for Complete {
    fn process(&mut self, event: Event, cx: &mut Cx) -> StepResult {
        if let Some(c) = event.completion() {
            let v = if self.full_event {
                Value::Record(rill_core::Record::from_pairs([
                    ("key", event.key.clone()),
                    ("time", Value::Time(event.time)),
                    ("id", event.id.clone().map_or(Value::Null, Value::Str)),
                    ("body", event.body.clone()),
                ]))
            } else {
                event.body.clone()
            };
            c.complete(v);
        }
        cx.emit(event);
        Ok(())
    }
    fn completes_events(&self) -> bool {
        true
    }
}
