//! Emit policies: *when* AggregateByKey emits a key's features. Pure logic on a clock the
//! caller drives; the caller owns events and reads features with `Aggregations::features_at`.
//!
//! All times given to an [`Emitter`] are on **one clock**: pass event times to
//! [`Emitter::on_event`] and the flow's event-time progress (e.g. the largest event time seen,
//! or a watermark) to [`Emitter::due`] for deterministic, replayable output; or processing time
//! for both in a live flow that wants wall-clock timeouts.

use crate::Aggregations;
use rill_core::{Duration, Error, Timestamp};
use serde::Deserialize;
use std::collections::BTreeSet;

/// When to emit. YAML: `emit: every_event` | `{after_max_events: {max_events: 3, timeout: 10s}}` |
/// `{after_period: {delay: 0s}}` | `{after_window: {delay: 1m}}` | `{after_delay: {delay: 5m}}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum EmitPolicy {
    /// Emit every event, with features at its own time (storey's default).
    #[default]
    EveryEvent,
    /// Per key, emit the event that makes `max_events` pending events (features at its time) and
    /// reset the count. With `timeout`, a key with pending events also emits its latest event
    /// `timeout` after its first pending one. Pending events are flushed at termination (storey
    /// drops them, its bug 10).
    AfterMaxEvents {
        /// Events per key per emission (≥ 1).
        max_events: u32,
        /// Emit pending events this long after the first pending one.
        #[serde(default)]
        timeout: Option<Duration>,
    },
    /// At each boundary of the smallest aggregation period, plus `delay`, every key that received
    /// events in the period that just ended emits once, with features evaluated at the last
    /// instant of that period (`boundary − 1ns`): the full elapsed period, nothing after it.
    AfterPeriod {
        /// Wait this long after the boundary (lets late events of the period arrive).
        #[serde(default)]
        delay: Duration,
    },
    /// Like `after_period`, with epoch-aligned boundaries of the smallest window of the step.
    AfterWindow {
        /// Wait this long after the boundary.
        #[serde(default)]
        delay: Duration,
    },
    /// Per key, emit the latest event (features at its time) `delay` after the key's first
    /// pending event, then start over (a debounce: `after_max_events` with no count limit).
    AfterDelay {
        /// How long after a key's first pending event it is emitted.
        delay: Duration,
    },
}

/// One emission produced by [`Emitter::due`] / [`Emitter::drain_at_termination`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Emission {
    /// The key's dense slot.
    pub slot: u32,
    /// Time to evaluate the features at and to stamp the output with: the key's latest event time
    /// (`after_max_events`, `after_delay`) or the last instant of the elapsed period/window.
    pub at: Timestamp,
}

const NONE: i64 = i64::MIN;

#[derive(Debug, Clone, Copy)]
struct Slot {
    pending: u32,
    /// Event time of the latest pending event (arrival order).
    last: i64,
    /// Queued deadline (`NONE` if none); for period/window policies: the last queued boundary.
    queued: i64,
}

/// The emit-policy state machine of one AggregateByKey step.
#[derive(Debug, Clone)]
pub struct Emitter {
    policy: EmitPolicy,
    /// Period or window length for boundary policies.
    every: i64,
    delay: i64,
    slots: Vec<Slot>,
    /// (deadline, slot, features time); ordered, so emissions come in deadline then slot order.
    queue: BTreeSet<(i64, u32, i64)>,
}

impl Emitter {
    /// Builds the state machine; boundary policies take their boundary from `aggs`
    /// ([`Aggregations::min_period`] / [`Aggregations::min_window`]).
    pub fn new(policy: EmitPolicy, aggs: &Aggregations) -> Result<Self, Error> {
        let (every, delay) = match &policy {
            EmitPolicy::EveryEvent => (0, 0),
            EmitPolicy::AfterMaxEvents {
                max_events,
                timeout,
            } => {
                if *max_events == 0 {
                    return Err(Error::config(
                        "emit after_max_events: max_events must be at least 1",
                    ));
                }
                (0, timeout.map_or(0, |d| d.0))
            }
            EmitPolicy::AfterPeriod { delay } => (aggs.min_period().0, delay.0),
            EmitPolicy::AfterWindow { delay } => (aggs.min_window().0, delay.0),
            EmitPolicy::AfterDelay { delay } => (0, delay.0),
        };
        if delay < 0 {
            return Err(Error::config(
                "emit policy: delay/timeout must not be negative",
            ));
        }
        Ok(Emitter {
            policy,
            every,
            delay,
            slots: Vec::new(),
            queue: BTreeSet::new(),
        })
    }

    /// The policy.
    pub fn policy(&self) -> &EmitPolicy {
        &self.policy
    }

    fn slot(&mut self, slot: u32) -> &mut Slot {
        let i = slot as usize;
        if i >= self.slots.len() {
            self.slots.resize(
                i + 1,
                Slot {
                    pending: 0,
                    last: NONE,
                    queued: NONE,
                },
            );
        }
        &mut self.slots[i]
    }

    /// Records an event of key `slot` at `time` (after it was aggregated). Returns true when this
    /// event is to be emitted now, with features at `time` (`every_event`; the `max_events`-th
    /// pending event). Other policies emit later through [`due`](Self::due).
    ///
    /// One clock for everything: the event's time also starts its `timeout`/`delay`. For a flow
    /// whose clock is not event time, see [`on_event_at`](Self::on_event_at).
    pub fn on_event(&mut self, slot: u32, time: Timestamp) -> bool {
        self.on_event_at(slot, time, time)
    }

    /// [`on_event`](Self::on_event) for an event that arrived at `now` on the clock given to
    /// [`due`](Self::due): `after_max_events`' timeout and `after_delay`'s delay run from `now`
    /// (in a live flow, wall-clock time after the event arrived, whatever time the event
    /// carries), while features and `after_period`/`after_window` periods stay at the event's
    /// `time`.
    pub fn on_event_at(&mut self, slot: u32, time: Timestamp, now: Timestamp) -> bool {
        let t = time.0;
        match self.policy {
            EmitPolicy::EveryEvent => true,
            EmitPolicy::AfterMaxEvents {
                max_events,
                timeout,
            } => {
                let delay = self.delay;
                let s = self.slot(slot);
                s.pending += 1;
                s.last = t;
                if s.pending >= max_events {
                    let q = s.queued;
                    *s = Slot {
                        pending: 0,
                        last: NONE,
                        queued: NONE,
                    };
                    if q != NONE {
                        self.queue.remove(&(q, slot, 0));
                    }
                    return true;
                }
                if s.pending == 1 && timeout.is_some() {
                    s.queued = now.0.saturating_add(delay);
                    let q = s.queued;
                    self.queue.insert((q, slot, 0));
                }
                false
            }
            EmitPolicy::AfterDelay { .. } => {
                let delay = self.delay;
                let s = self.slot(slot);
                s.pending += 1;
                s.last = t;
                if s.pending == 1 {
                    s.queued = now.0.saturating_add(delay);
                    let q = s.queued;
                    self.queue.insert((q, slot, 0));
                }
                false
            }
            EmitPolicy::AfterPeriod { .. } | EmitPolicy::AfterWindow { .. } => {
                let end = (t.div_euclid(self.every) + 1).saturating_mul(self.every);
                let deadline = end.saturating_add(self.delay);
                let s = self.slot(slot);
                // Fast path: most events fall in the period already queued for their key. A late
                // event of an already emitted period queues a correcting emission for it.
                if s.queued != end {
                    s.queued = end;
                    self.queue.insert((deadline, slot, end - 1));
                }
                false
            }
        }
    }

    /// The earliest pending deadline, if any (when the caller should call [`due`](Self::due)).
    pub fn next_deadline(&self) -> Option<Timestamp> {
        self.queue.first().map(|e| Timestamp(e.0))
    }

    /// Appends the emissions whose deadline is `<= now`, in deadline order, then slot order.
    pub fn due(&mut self, now: Timestamp, out: &mut Vec<Emission>) {
        while let Some(&e) = self.queue.first() {
            if e.0 > now.0 {
                break;
            }
            self.queue.pop_first();
            self.fire(e, out);
        }
    }

    fn fire(&mut self, (deadline, slot, at): (i64, u32, i64), out: &mut Vec<Emission>) {
        match self.policy {
            EmitPolicy::AfterPeriod { .. } | EmitPolicy::AfterWindow { .. } => {
                let s = self.slot(slot);
                if s.queued == at + 1 {
                    s.queued = NONE;
                }
                out.push(Emission {
                    slot,
                    at: Timestamp(at),
                })
            }
            _ => {
                let s = self.slot(slot);
                if s.queued == deadline && s.pending > 0 {
                    let last = s.last;
                    *s = Slot {
                        pending: 0,
                        last: NONE,
                        queued: NONE,
                    };
                    out.push(Emission {
                        slot,
                        at: Timestamp(last),
                    });
                }
            }
        }
    }

    /// At termination: appends every pending emission (queued ones in deadline order, as if the
    /// clock jumped past them; then `after_max_events` leftovers without timeout, in slot order).
    pub fn drain_at_termination(&mut self, out: &mut Vec<Emission>) {
        while let Some(e) = self.queue.pop_first() {
            self.fire(e, out);
        }
        if matches!(self.policy, EmitPolicy::AfterMaxEvents { .. }) {
            for (i, s) in self.slots.iter_mut().enumerate() {
                if s.pending > 0 {
                    out.push(Emission {
                        slot: i as u32,
                        at: Timestamp(s.last),
                    });
                    *s = Slot {
                        pending: 0,
                        last: NONE,
                        queued: NONE,
                    };
                }
            }
        }
    }
}
