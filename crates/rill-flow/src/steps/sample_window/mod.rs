//! `sample_window`: emits the first or last of every N events, per key (storey `SampleWindow`).

use super::group::GroupBy;
use crate::step::{Cx, Step, StepResult};
use ahash::AHashMap;
use rill_core::{Error, Event, Result, Value};

/// Which event of each window is emitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmitPeriod {
    /// The first event of each window.
    First,
    /// The last event of each window.
    Last,
}

#[derive(Clone, Default)]
struct Group {
    count: usize,
    last: Option<Event>,
}

/// Emits one event per `window_size` events of a group; with `emit_before_termination`, the
/// last event seen of each group that did not just emit is emitted at termination.
#[derive(Clone)]
pub struct SampleWindow {
    size: usize,
    period: EmitPeriod,
    before_termination: bool,
    group: GroupBy,
    groups: AHashMap<Value, Group>,
    order: Vec<Value>,
}

impl SampleWindow {
    /// `window_size` must be > 1.
    pub fn new(
        window_size: usize,
        period: EmitPeriod,
        emit_before_termination: bool,
        group: GroupBy,
    ) -> Result<SampleWindow> {
        if window_size < 2 {
            return Err(Error::config(format!(
                "sample_window: window_size must be greater than 1, got {window_size}"
            )));
        }
        Ok(SampleWindow {
            size: window_size,
            period,
            before_termination: emit_before_termination,
            group,
            groups: AHashMap::new(),
            order: Vec::new(),
        })
    }
}

impl Step for SampleWindow {
    fn process(&mut self, event: Event, cx: &mut Cx) -> StepResult {
        let key = self.group.key_of(&event);
        if !self.groups.contains_key(&key) {
            self.order.push(key.clone());
        }
        let g = self.groups.entry(key).or_default();
        g.count += 1;
        let pos = g.count;
        match self.period {
            EmitPeriod::First if pos == 1 => {
                cx.emit(event);
                g.last = None;
            }
            EmitPeriod::Last if pos == self.size => {
                cx.emit(event);
                g.last = None;
            }
            _ => g.last = Some(event),
        }
        if g.count == self.size {
            g.count = 0;
        }
        Ok(())
    }
    fn terminate(&mut self, cx: &mut Cx) -> Result<Option<Value>> {
        if self.before_termination {
            for k in std::mem::take(&mut self.order) {
                if let Some(e) = self.groups.get_mut(&k).and_then(|g| g.last.take()) {
                    cx.emit(e);
                }
            }
        }
        Ok(None)
    }
}

/// YAML `sample_window: {window_size: 10, emit: last, key: $key}`.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleWindowConfig {
    /// Events per window (> 1).
    pub window_size: usize,
    /// `first` (default) or `last` event of each window.
    #[serde(default = "first")]
    pub emit: EmitPeriod,
    /// Emit each group's last unsent event at termination.
    #[serde(default)]
    pub emit_before_termination: bool,
    /// Group by: absent = all events, `$key` = event key, else a body field.
    #[serde(default)]
    pub key: Option<String>,
    /// The step's name.
    #[serde(default)]
    pub name: Option<String>,
}

fn first() -> EmitPeriod {
    EmitPeriod::First
}

impl SampleWindowConfig {
    /// Builds the step.
    pub fn build(&self) -> Result<Box<dyn Step>> {
        Ok(Box::new(SampleWindow::new(
            self.window_size,
            self.emit,
            self.emit_before_termination,
            GroupBy::parse(self.key.as_deref()),
        )?))
    }
}
