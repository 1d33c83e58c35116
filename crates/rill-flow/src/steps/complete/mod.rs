//! `complete`: resolves the emitter's awaitable result with the event's body (storey `Complete`).

use crate::step::{Cx, Step, StepResult};
use rill_core::{Event, Value};

/// Sets the awaitable result of each event to its body (or, with `full_event`, to a record
/// `{key, time, id, body}`), then passes the event on.
#[derive(Clone, Debug, Default)]
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

/// YAML `complete: {}` or `complete: {full_event: true}`.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompleteConfig {
    /// Complete with the whole event `{key, time, id, body}` instead of the body.
    #[serde(default)]
    pub full_event: bool,
}

impl CompleteConfig {
    /// Builds the step.
    pub fn build(&self) -> rill_core::Result<Box<dyn Step>> {
        Ok(Box::new(if self.full_event {
            Complete::full_event()
        } else {
            Complete::new()
        }))
    }
}
