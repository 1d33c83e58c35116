//! Grouping keys shared by `batch` and `sample_window`.

use rill_core::{Event, FieldSlot, Value};

super::cloneable_fn!(
    /// A group-key function: any `FnMut(&Event) -> Value` closure that is `Clone + Send`.
    pub GroupKeyFn: FnMut(&Event) -> Value
);

/// How events are grouped.
#[derive(Clone)]
pub enum GroupBy {
    /// One group for all events.
    None,
    /// By the event key (storey `'$key'`).
    EventKey,
    /// By a body field (a missing field groups under `null`).
    Field(FieldSlot),
    /// By a function of the event.
    Fn(Box<dyn GroupKeyFn>),
}

impl GroupBy {
    /// Parses storey's notation: `None` → one group, `$key` → event key, else a body field.
    pub fn parse(spec: Option<&str>) -> GroupBy {
        match spec {
            None => GroupBy::None,
            Some("$key") => GroupBy::EventKey,
            Some(f) => GroupBy::Field(FieldSlot::new(f)),
        }
    }
    pub(crate) fn key_of(&mut self, e: &Event) -> Value {
        match self {
            GroupBy::None => Value::Null,
            GroupBy::EventKey => e.key.clone(),
            GroupBy::Field(slot) => slot.get_in(&e.body).cloned().unwrap_or(Value::Null),
            GroupBy::Fn(f) => f(e),
        }
    }
}
