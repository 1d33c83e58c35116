//! `batch`: collects events into lists (storey `Batch`).

use super::group::GroupBy;
use crate::step::{Cx, Step, StepResult};
use rill_core::{Duration, Event, Result, Timestamp, Value};

#[derive(Clone)]
struct Pending {
    key: Value,
    events: Vec<Event>,
    /// When the batch must be flushed (first event's clock time + flush_after).
    due: Option<Timestamp>,
}

/// Emits a new event whose body is the list of collected bodies (or of whole events with
/// `full_event`) when a group reaches `max_events`, when `flush_after` has passed since the
/// group's first event (a real timer on the flow's clock), and for every remaining group at
/// termination (in first-insertion order). The batch event's key is the group key (`null`
/// without grouping), its time the time of its last event.
#[derive(Clone)]
pub struct Batch {
    max_events: Option<usize>,
    flush_after: Option<Duration>,
    group: GroupBy,
    full_event: bool,
    pending: Vec<Pending>,
}

impl Batch {
    /// A batch of at most `max_events` and/or at most `flush_after` old.
    pub fn new(max_events: Option<usize>, flush_after: Option<Duration>, group: GroupBy) -> Batch {
        Batch {
            max_events,
            flush_after,
            group,
            full_event: false,
            pending: Vec::new(),
        }
    }
    /// Batch whole events as records `{key, time, id, body}` instead of bodies.
    pub fn full_event(mut self, yes: bool) -> Batch {
        self.full_event = yes;
        self
    }

    fn emit(&self, p: Pending, cx: &mut Cx) {
        let time = p.events.last().map_or(cx.now(), |e| e.time);
        let items: Vec<Value> = p
            .events
            .into_iter()
            .map(|e| {
                if self.full_event {
                    Value::Record(rill_core::Record::from_pairs([
                        ("key", e.key),
                        ("time", Value::Time(e.time)),
                        ("id", e.id.map_or(Value::Null, Value::Str)),
                        ("body", e.body),
                    ]))
                } else {
                    e.body
                }
            })
            .collect();
        cx.emit(Event {
            body: Value::List(items),
            key: p.key,
            time,
            ..Default::default()
        });
    }
}

impl Step for Batch {
    fn process(&mut self, event: Event, cx: &mut Cx) -> StepResult {
        let key = self.group.key_of(&event);
        let idx = match self.pending.iter().position(|p| p.key == key) {
            Some(i) => i,
            None => {
                let due = self.flush_after.map(|d| cx.now().add(d));
                self.pending.push(Pending {
                    key,
                    events: Vec::new(),
                    due,
                });
                self.pending.len() - 1
            }
        };
        self.pending[idx].events.push(event);
        if self
            .max_events
            .is_some_and(|m| self.pending[idx].events.len() >= m)
        {
            let p = self.pending.remove(idx);
            self.emit(p, cx);
        }
        Ok(())
    }
    fn uses_timers(&self) -> bool {
        self.flush_after.is_some()
    }
    fn next_deadline(&self) -> Option<Timestamp> {
        self.pending.iter().filter_map(|p| p.due).min()
    }
    fn on_timer(&mut self, cx: &mut Cx) -> Result<()> {
        let now = cx.now();
        let (due, keep): (Vec<Pending>, Vec<Pending>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|p| p.due.is_some_and(|d| d <= now));
        self.pending = keep;
        for p in due {
            self.emit(p, cx);
        }
        Ok(())
    }
    fn terminate(&mut self, cx: &mut Cx) -> Result<Option<Value>> {
        for p in std::mem::take(&mut self.pending) {
            self.emit(p, cx);
        }
        Ok(None)
    }
}

/// YAML `batch: {max_events: 100, flush_after: 5s, key: $key}`.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchConfig {
    /// Emit a batch when it holds this many events.
    #[serde(default)]
    pub max_events: Option<usize>,
    /// Emit a batch this long after its first event (on the flow's clock).
    #[serde(default)]
    pub flush_after: Option<Duration>,
    /// Group by: absent = one batch, `$key` = event key, else a body field.
    #[serde(default)]
    pub key: Option<String>,
    /// Batch whole events `{key, time, id, body}` instead of bodies.
    #[serde(default)]
    pub full_event: bool,
    /// The step's name.
    #[serde(default)]
    pub name: Option<String>,
}

impl BatchConfig {
    /// Builds the step.
    pub fn build(&self) -> Result<Box<dyn Step>> {
        if self.max_events.is_none() && self.flush_after.is_none() {
            return Err(rill_core::Error::config(
                "batch needs max_events, flush_after or both",
            ));
        }
        if self.max_events == Some(0) {
            return Err(rill_core::Error::config(
                "batch: max_events must be at least 1",
            ));
        }
        Ok(Box::new(
            Batch::new(
                self.max_events,
                self.flush_after,
                GroupBy::parse(self.key.as_deref()),
            )
            .full_event(self.full_event),
        ))
    }
}
