//! When a target's buffer goes to disk.

use rill_core::{Duration, Error, Timestamp};

/// Counts buffered events and tracks the `flush_after` deadline.
#[derive(Debug, Clone)]
pub(crate) struct FlushPolicy {
    max_events: usize,
    after: Option<Duration>,
    pending: usize,
    deadline: Option<Timestamp>,
}

impl FlushPolicy {
    /// Flush every `max_events` (≥ 1) events, and `after` the first unflushed event.
    pub fn new(max_events: usize, after: Option<Duration>) -> Result<Self, Error> {
        if max_events == 0 {
            return Err(Error::config("`max_events` must be at least 1").at("max_events"));
        }
        Ok(FlushPolicy {
            max_events,
            after,
            pending: 0,
            deadline: None,
        })
    }
    /// Records one buffered event; true when the buffer must be flushed now.
    pub fn added(&mut self, now: Timestamp) -> bool {
        self.pending += 1;
        if self.pending == 1 {
            self.deadline = self.after.map(|d| now.add(d));
        }
        self.pending >= self.max_events || self.due(now)
    }
    /// True when the `flush_after` deadline has passed.
    pub fn due(&self, now: Timestamp) -> bool {
        self.deadline.is_some_and(|d| now >= d)
    }
    /// The buffer was written.
    pub fn flushed(&mut self) {
        self.pending = 0;
        self.deadline = None;
    }
    /// The flush deadline, for [`rill_flow::Step::next_deadline`].
    pub fn deadline(&self) -> Option<Timestamp> {
        self.deadline
    }
    /// True when a `flush_after` timer is configured.
    pub fn has_timer(&self) -> bool {
        self.after.is_some()
    }
}
