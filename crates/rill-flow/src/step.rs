//! The step interface every processing step, target and built-in implements.

use rill_core::{Error, Event, Timestamp, Value};

/// Where a step's outputs go. Filled by [`Step::process`], drained by the runtime after each call.
///
/// Outputs are routed to every outlet ([`Cx::emit`]) or to one named outlet ([`Cx::emit_to`],
/// with indices resolved by [`Step::bind_outlets`] when the flow is built).
#[derive(Debug, Default)]
pub struct Cx {
    pub(crate) out: Vec<(u32, Event)>,
    pub(crate) now: Timestamp,
    pub(crate) counters: Vec<(&'static str, u64)>,
}

/// Outlet selector meaning "every outlet".
pub(crate) const ALL_OUTLETS: u32 = u32::MAX;

impl Cx {
    /// A context with the given clock reading (for tests and drivers of single steps).
    pub fn new(now: Timestamp) -> Cx {
        Cx {
            now,
            ..Default::default()
        }
    }
    /// Sends an event to every outlet (outlet 0 gets it, the others get copies).
    #[inline]
    pub fn emit(&mut self, event: Event) {
        self.out.push((ALL_OUTLETS, event));
    }
    /// Sends an event to one outlet, by the index its name was bound to.
    #[inline]
    pub fn emit_to(&mut self, outlet: usize, event: Event) {
        self.out.push((outlet as u32, event));
    }
    /// The flow's clock: wall time for live flows, the newest event time for file replays.
    #[inline]
    pub fn now(&self) -> Timestamp {
        self.now
    }
    /// Adds to a named counter shown in the run summary (e.g. `late_events`).
    pub fn count(&mut self, name: &'static str, n: u64) {
        match self.counters.iter_mut().find(|(k, _)| *k == name) {
            Some((_, v)) => *v += n,
            None => self.counters.push((name, n)),
        }
    }
    /// Takes the outputs (for tests that drive a step by hand).
    pub fn take_outputs(&mut self) -> Vec<Event> {
        self.out.drain(..).map(|(_, e)| e).collect()
    }
}

/// A step failed on an event. The event is handed back (when the step still has it) so the
/// error policy can route it to a recovery step or a dead-letter target.
#[derive(Debug)]
pub struct Failure {
    /// What went wrong.
    pub error: Error,
    /// The event that failed, unchanged.
    pub event: Option<Event>,
}

impl Failure {
    /// A failure carrying the event.
    pub fn new(error: Error, event: Event) -> Failure {
        Failure {
            error,
            event: Some(event),
        }
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure { error, event: None }
    }
}

/// Result of [`Step::process`].
pub type StepResult = Result<(), Failure>;

/// A processing step. Steps run on one worker thread, one event at a time, and keep their state
/// in `self`; the runtime never shares a step between threads (each shard builds its own).
pub trait Step: Send {
    /// Processes one event, emitting zero or more events through `cx`.
    fn process(&mut self, event: Event, cx: &mut Cx) -> StepResult;

    /// Called, for a step that reads the flow's source, with the batch of events the source just
    /// read; [`Step::process`] then receives exactly these events, in this order (each after the
    /// previous one went through the whole graph). Lets a step prepare, e.g. prefetch per-key
    /// state a few events ahead. Must not change what `process` does with each event.
    fn before_batch(&mut self, _batch: &[Event]) {}

    /// Resolves outlet names to indices once the graph is wired (e.g. `choice`). The default
    /// accepts any outlets.
    fn bind_outlets(&mut self, _outlets: &[String]) -> Result<(), Error> {
        Ok(())
    }

    /// True when the step keeps timers ([`Step::next_deadline`]); lets the runtime skip timer
    /// bookkeeping for flows without any.
    fn uses_timers(&self) -> bool {
        false
    }

    /// The next instant (in the flow's clock) at which [`Step::on_timer`] must run.
    fn next_deadline(&self) -> Option<Timestamp> {
        None
    }

    /// Called when the clock passes [`Step::next_deadline`] (batch flush, emit timeouts…).
    fn on_timer(&mut self, _cx: &mut Cx) -> Result<(), Error> {
        Ok(())
    }

    /// Called once when the input ends: flush buffered state through `cx`, close files, and
    /// return the termination result if this step has one (e.g. `reduce`'s accumulator).
    fn terminate(&mut self, _cx: &mut Cx) -> Result<Option<Value>, Error> {
        Ok(None)
    }

    /// Counters the step keeps itself, for the run summary (read when the summary is made, not
    /// per event): e.g. `aggregate_by_key`'s `field_missing.<aggregator>`.
    fn counters(&self) -> Vec<(String, u64)> {
        Vec::new()
    }

    /// The tables the step reads or writes: the runtime flushes them between source batches
    /// (every `flush_interval`) and when the flow ends.
    fn tables(&self) -> Vec<std::sync::Arc<rill_table::Table>> {
        Vec::new()
    }

    /// True for steps whose outputs feed awaitable results (`complete`): the controller then
    /// hands out a result handle per emitted event.
    fn completes_events(&self) -> bool {
        false
    }
}
