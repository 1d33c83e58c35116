//! Executes a built flow graph: per-step inboxes processed in topological order.
//!
//! A batch of source events is pushed into the inboxes of the steps that read the source; then
//! each step, in topological order, drains its inbox and its outputs are appended to its
//! outlets' inboxes. Every edge keeps event order; a fan-in step sees its inputs batch by batch.
//! Termination walks the same order, so a step terminates only after all its inputs did.

use crate::graph::{ErrorPolicy, Flow};
use crate::step::{Cx, Failure, Step, ALL_OUTLETS};
use crate::summary::{RunSummary, StepStats};
use rill_core::{Error, Event, Record, Result, Str, Timestamp, Value};

pub(crate) struct Node {
    name: String,
    step: Box<dyn Step>,
    outlets: Vec<usize>,
    inbox: Vec<Event>,
    recovery: Vec<(Option<String>, usize)>,
    stats: StepStats,
}

/// A validated flow graph, ready to run (see [`crate::run`] and [`crate::Controller`]).
pub struct Graph {
    nodes: Vec<Node>,
    order: Vec<usize>,
    roots: Vec<usize>,
    policy: ErrorPolicy,
    dead_letter: Option<usize>,
    cx: Cx,
    scratch: Vec<Event>,
    pub(crate) summary: RunSummary,
    pub(crate) has_complete: bool,
    pub(crate) event_time: bool,
}

impl Graph {
    pub(crate) fn new(flow: Flow) -> Result<Graph> {
        let n = flow.nodes.len();
        let mut outlets: Vec<Vec<usize>> = vec![Vec::new(); n];
        let mut roots = Vec::new();
        let mut indegree = vec![0usize; n];
        for (i, spec) in flow.nodes.iter().enumerate() {
            for inp in &spec.inputs {
                match inp {
                    None => roots.push(i),
                    Some(p) => {
                        outlets[*p].push(i);
                        indegree[i] += 1;
                    }
                }
            }
            for (_, r) in &spec.recovery {
                indegree[*r] += 1;
            }
        }
        // Kahn's algorithm in insertion order (deterministic); the dead-letter target goes last
        // because any step may feed it.
        let mut order = Vec::with_capacity(n);
        let mut ready: std::collections::VecDeque<usize> = (0..n)
            .filter(|&i| indegree[i] == 0 && Some(i) != flow.dead_letter)
            .collect();
        while let Some(i) = ready.pop_front() {
            order.push(i);
            let succ = outlets[i]
                .iter()
                .copied()
                .chain(flow.nodes[i].recovery.iter().map(|(_, r)| *r));
            for j in succ.collect::<Vec<_>>() {
                indegree[j] -= 1;
                if indegree[j] == 0 {
                    ready.push_back(j);
                }
            }
        }
        if let Some(d) = flow.dead_letter {
            order.push(d);
        }
        if order.len() != n {
            let stuck: Vec<&str> = (0..n)
                .filter(|i| !order.contains(i))
                .map(|i| flow.nodes[i].name.as_str())
                .collect();
            return Err(Error::config(format!(
                "the flow has a cycle through steps {stuck:?}"
            )));
        }
        let mut nodes: Vec<Node> = flow
            .nodes
            .into_iter()
            .zip(outlets)
            .map(|(spec, outlets)| Node {
                stats: StepStats {
                    name: spec.name.clone(),
                    ..Default::default()
                },
                name: spec.name,
                step: spec.step,
                outlets,
                inbox: Vec::new(),
                recovery: spec.recovery,
            })
            .collect();
        for i in 0..n {
            let names: Vec<String> = nodes[i]
                .outlets
                .iter()
                .map(|&j| nodes[j].name.clone())
                .collect();
            let name = nodes[i].name.clone();
            nodes[i]
                .step
                .bind_outlets(&names)
                .map_err(|e| e.context(format!("step '{name}'")))?;
        }
        let has_complete = nodes.iter().any(|n| n.step.completes_events());
        Ok(Graph {
            nodes,
            order,
            roots,
            policy: flow.policy,
            dead_letter: flow.dead_letter,
            cx: Cx::default(),
            scratch: Vec::new(),
            summary: RunSummary::default(),
            has_complete,
            event_time: false,
        })
    }

    /// Names of the steps in execution order.
    pub fn step_names(&self) -> Vec<&str> {
        self.order
            .iter()
            .map(|&i| self.nodes[i].name.as_str())
            .collect()
    }

    pub(crate) fn set_source_name(&mut self, name: &str) {
        self.summary.source = name.to_string();
    }

    /// Queues one source event.
    #[inline]
    pub(crate) fn push(&mut self, event: Event) {
        match self.roots.len() {
            0 => {}
            1 => self.nodes[self.roots[0]].inbox.push(event),
            k => {
                for r in 0..k - 1 {
                    let i = self.roots[r];
                    self.nodes[i].inbox.push(event.clone());
                }
                let last = self.roots[k - 1];
                self.nodes[last].inbox.push(event);
            }
        }
    }

    /// Routes the outputs collected in `self.cx` from node `i` to its outlets.
    fn route(&mut self, i: usize) {
        let mut out = std::mem::take(&mut self.cx.out);
        let node_outlets = std::mem::take(&mut self.nodes[i].outlets);
        self.nodes[i].stats.events_out += out.len() as u64;
        for (sel, ev) in out.drain(..) {
            if sel == ALL_OUTLETS {
                if let Some((&last, rest)) = node_outlets.split_last() {
                    for &j in rest {
                        self.nodes[j].inbox.push(ev.clone());
                    }
                    self.nodes[last].inbox.push(ev);
                }
            } else if let Some(&j) = node_outlets.get(sel as usize) {
                self.nodes[j].inbox.push(ev);
            }
        }
        self.nodes[i].outlets = node_outlets;
        self.cx.out = out;
        for (k, v) in self.cx.counters.drain(..) {
            let c = &mut self.nodes[i].stats.counters;
            match c.iter_mut().find(|(n, _)| n == k) {
                Some((_, x)) => *x += v,
                None => c.push((k.to_string(), v)),
            }
        }
    }

    /// Drains every inbox in topological order. When a step fails under the `fail` policy, the
    /// steps after it still process what they had already received (events that came before the
    /// failing one), then the error is returned.
    pub(crate) fn run(&mut self, now: Timestamp) -> Result<()> {
        let mut first_error = None;
        for oi in 0..self.order.len() {
            let i = self.order[oi];
            if let Err(e) = self.drain_step(i, now) {
                first_error.get_or_insert(e);
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Passes step `i`'s inbox to it event by event and routes its outputs. Stops at the first
    /// failure the error policy does not absorb (the events after it stay unprocessed).
    fn drain_step(&mut self, i: usize, now: Timestamp) -> Result<()> {
        if self.nodes[i].inbox.is_empty() {
            return Ok(());
        }
        self.cx.now = now;
        let mut batch =
            std::mem::replace(&mut self.nodes[i].inbox, std::mem::take(&mut self.scratch));
        self.nodes[i].stats.events_in += batch.len() as u64;
        self.nodes[i].step.before_batch(&batch);
        let mut result = Ok(());
        for ev in batch.drain(..) {
            if self.event_time && ev.time > self.cx.now {
                // event-time clock: "now" is the newest event time this step has seen
                self.cx.now = ev.time;
            }
            if let Err(f) = self.nodes[i].step.process(ev, &mut self.cx) {
                if let Err(e) = self.on_failure(i, f) {
                    result = Err(e);
                    break;
                }
            }
        }
        batch.clear();
        self.scratch = batch;
        self.route(i);
        result
    }

    /// True when a step keeps timers (then an event-time replay runs event by event, so timers
    /// fire at exactly the right point in the data).
    pub(crate) fn uses_timers(&self) -> bool {
        self.nodes.iter().any(|n| n.step.uses_timers())
    }

    /// Handles a step failure: recovery chain, else the error policy. `Err` stops the flow.
    pub(crate) fn on_failure(&mut self, i: usize, f: Failure) -> Result<()> {
        let Failure { error, event } = f;
        self.nodes[i].stats.errors += 1;
        let what = event
            .as_ref()
            .map_or_else(|| "an event".to_string(), Event::describe);
        let error = error.context(format!(
            "step '{}' failed on {} of {}",
            self.nodes[i].name, what, self.summary.source
        ));
        self.fail_event(Some(i), error, event)
    }

    /// A source record could not be decoded.
    pub(crate) fn on_reject(&mut self, f: Failure) -> Result<()> {
        self.summary.records_rejected += 1;
        self.fail_event(None, f.error, f.event)
    }

    fn fail_event(
        &mut self,
        step: Option<usize>,
        error: Error,
        event: Option<Event>,
    ) -> Result<()> {
        let kind = error.kind();
        let recovery = step.and_then(|i| {
            let r = self.nodes[i]
                .recovery
                .iter()
                .find(|(k, _)| k.as_deref().is_none_or(|k| k == kind));
            r.map(|(_, r)| (i, *r))
        });
        let event = match (recovery, event) {
            (Some((i, r)), Some(mut ev)) => {
                self.summary.recovered += 1;
                let meta = ev.meta_mut();
                meta.error = Some(error);
                meta.failed_step = Some(Str::from(self.nodes[i].name.as_str()));
                self.nodes[r].inbox.push(ev);
                return Ok(());
            }
            (_, event) => event,
        };
        if let Some(c) = event.as_ref().and_then(Event::completion) {
            c.fail(error.clone());
        }
        match self.policy {
            ErrorPolicy::Fail => Err(error),
            ErrorPolicy::DeadLetter => {
                self.summary.dead_lettered += 1;
                let step_name = step.map_or("source", |i| self.nodes[i].name.as_str());
                match self.dead_letter {
                    Some(d) => {
                        let dl = dead_letter_event(step_name, &error, event);
                        self.nodes[d].inbox.push(dl);
                    }
                    None => eprintln!("rill: dead letter: {error}"),
                }
                Ok(())
            }
        }
    }

    /// The earliest timer of any step.
    pub(crate) fn next_deadline(&self) -> Option<Timestamp> {
        self.nodes
            .iter()
            .filter_map(|n| n.step.next_deadline())
            .min()
    }

    /// Fires every step timer due at `now`, then processes what they emitted.
    pub(crate) fn fire_timers(&mut self, now: Timestamp) -> Result<()> {
        self.cx.now = now;
        for oi in 0..self.order.len() {
            let i = self.order[oi];
            if self.nodes[i].step.next_deadline().is_some_and(|d| d <= now) {
                let name = self.nodes[i].name.clone();
                self.nodes[i]
                    .step
                    .on_timer(&mut self.cx)
                    .map_err(|e| e.context(format!("step '{name}' (timer)")))?;
                self.route(i);
            }
        }
        self.run(now)
    }

    /// Terminates every step in topological order; returns the termination result.
    pub(crate) fn terminate(&mut self, now: Timestamp) -> Result<Option<Value>> {
        self.cx.now = now;
        let mut results = Vec::new();
        for oi in 0..self.order.len() {
            let i = self.order[oi];
            // process what is still queued for this step, then flush it
            self.drain_step(i, now)?;
            self.cx.now = now;
            let name = self.nodes[i].name.clone();
            let r = self.nodes[i]
                .step
                .terminate(&mut self.cx)
                .map_err(|e| e.context(format!("step '{name}' (termination)")))?;
            self.route(i);
            if let Some(v) = r {
                results.push(v);
            }
        }
        self.summary.steps = self
            .order
            .iter()
            .map(|&i| self.nodes[i].stats.clone())
            .collect();
        // storey: the first non-None terminal result
        Ok(results.into_iter().next())
    }

    /// Snapshot of the counts so far (for failed runs).
    pub(crate) fn snapshot_summary(&mut self) -> RunSummary {
        self.summary.steps = self
            .order
            .iter()
            .map(|&i| self.nodes[i].stats.clone())
            .collect();
        self.summary.clone()
    }
}

fn dead_letter_event(step: &str, error: &Error, event: Option<Event>) -> Event {
    let (key, time, offset, body) = match event {
        Some(e) => (e.key, e.time, e.offset, e.body),
        None => (Value::Null, Timestamp::now(), 0, Value::Null),
    };
    let body = Record::from_pairs([
        ("error", Value::from(error.to_string())),
        ("error_kind", Value::from(error.kind())),
        ("step", Value::from(step)),
        ("record", Value::Int(offset as i64)),
        ("key", key.clone()),
        ("body", body),
    ]);
    Event {
        body: Value::Record(body),
        key,
        time,
        offset,
        ..Default::default()
    }
}
