//! Executes a built flow graph, one event at a time, depth first.
//!
//! The meaning of a flow is storey's: each source event goes through the whole graph — every
//! outlet of a step, in outlet order, each fully before the next — before the next source event
//! is seen. The runtime does exactly that with an explicit stack of `(step, event)` pairs, so no
//! step ever sees state (a table, a key's aggregation) written for a later event, and a fan-in
//! step sees its inputs in that depth-first order. Sources still read and decode in batches, and
//! the steps that read the source get the whole batch beforehand as a hint
//! ([`Step::before_batch`]: prefetching key state), which changes no result.
//!
//! Timers fire and termination runs in topological order, so a step terminates only after all
//! its inputs did and what they flushed has reached it.

use crate::flow::{ErrorPolicy, Flow};
use crate::step::{Cx, Failure, Step, ALL_OUTLETS};
use crate::summary::{RunSummary, StepStats};
use rill_core::{Error, Event, Record, Result, Str, Timestamp, Value};
use rill_table::{Progress, Table};
use std::sync::Arc;

pub(crate) struct Node {
    name: String,
    step: Box<dyn Step>,
    outlets: Vec<usize>,
    recovery: Vec<(Option<String>, usize)>,
    stats: StepStats,
}

/// A validated flow graph, ready to run (see [`crate::run`] and [`crate::Controller`]).
pub struct Graph {
    nodes: Vec<Node>,
    order: Vec<usize>,
    roots: Vec<usize>,
    pub(crate) policy: ErrorPolicy,
    dead_letter: Option<usize>,
    cx: Cx,
    /// Events still to deliver, the next on top (depth-first order).
    stack: Vec<(usize, Event)>,
    /// The flow's clock for the event being processed.
    now: Timestamp,
    pub(crate) summary: RunSummary,
    pub(crate) has_complete: bool,
    pub(crate) event_time: bool,
    /// Every table a step uses, once each: flushed between source batches and at the end.
    tables: Vec<Arc<Table>>,
    /// Per table of `tables`: the siblings the workers of a sharded run keep their keys in,
    /// flushed with it in one batch (empty when the graph runs alone).
    pub(crate) siblings: Vec<Vec<Arc<Table>>>,
    /// Counts of steps run by the workers of a sharded run, added to this graph's own.
    pub(crate) extra_stats: Vec<StepStats>,
}

impl Graph {
    /// The graph of `flow` run by `steps` (one built instance per node, in node order).
    pub(crate) fn new(flow: &Flow, steps: Vec<Box<dyn Step>>) -> Result<Graph> {
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
            .iter()
            .zip(steps)
            .zip(outlets)
            .map(|((spec, step), outlets)| Node {
                stats: StepStats {
                    name: spec.name.clone(),
                    ..Default::default()
                },
                name: spec.name.clone(),
                step,
                outlets,
                recovery: spec.recovery.clone(),
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
        let mut tables: Vec<Arc<Table>> = Vec::new();
        for t in nodes.iter().flat_map(|n| n.step.tables()) {
            if !tables.iter().any(|u| Arc::ptr_eq(u, &t)) {
                tables.push(t);
            }
        }
        Ok(Graph {
            siblings: vec![Vec::new(); tables.len()],
            extra_stats: Vec::new(),
            tables,
            nodes,
            order,
            roots,
            policy: flow.policy,
            dead_letter: flow.dead_letter,
            cx: Cx::default(),
            stack: Vec::new(),
            now: Timestamp(i64::MIN),
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

    /// Flushes the tables whose `flush_interval` has passed (`force`: every table). Called only
    /// between source batches and after termination, where every event read so far has gone
    /// through the whole graph: what a flush writes is the state as of that record.
    pub(crate) fn flush_tables(&self, force: bool) -> Result<()> {
        let progress = Progress {
            source: self.summary.source.clone(),
            records: self.summary.records_read,
        };
        for (t, sib) in self.tables.iter().zip(&self.siblings) {
            if force || t.flush_due() || sib.iter().any(|s| s.over_cache_bound()) {
                t.flush_with(sib, Some(&progress))?;
            }
        }
        Ok(())
    }

    /// True when a persistent table's `flush_interval` has passed or one of its caches (this
    /// graph's or a worker's) holds more keys than its `cache_max_keys`.
    pub(crate) fn flush_due(&self) -> bool {
        self.tables
            .iter()
            .zip(&self.siblings)
            .any(|(t, sib)| t.flush_due() || sib.iter().any(|s| s.over_cache_bound()))
    }

    /// The index of the step named `name`.
    pub(crate) fn node_index(&self, name: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.name == name)
    }

    /// The names of the nodes in insertion order (the order the flow added them).
    pub(crate) fn node_names(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.name.clone()).collect()
    }

    /// The names of the tables node `i` uses.
    pub(crate) fn node_tables(&self, i: usize) -> Vec<String> {
        self.nodes[i]
            .step
            .tables()
            .iter()
            .map(|t| t.name().to_string())
            .collect()
    }

    /// True when node `i` feeds awaitable results or keeps timers (a sharded run checks that
    /// the steps it shards do neither).
    pub(crate) fn node_has_timers(&self, i: usize) -> bool {
        self.nodes[i].step.uses_timers() || self.nodes[i].step.completes_events()
    }

    /// Delivers `event`, emitted by step `after` (run elsewhere: a worker of a sharded run),
    /// to that step's outlets, depth first as if `after` had just emitted it.
    pub(crate) fn inject(&mut self, after: usize, event: Event, now: Timestamp) -> Result<()> {
        self.now = now;
        push_to_all(&mut self.stack, &self.nodes[after].outlets, event);
        self.drain_stack(0)
    }

    /// Delivers a dead letter made by a worker of a sharded run (its step failed there) to
    /// the dead-letter target, or reports it as the worker would have without one.
    pub(crate) fn inject_dead_letter(&mut self, dead: Event, now: Timestamp) -> Result<()> {
        self.now = now;
        match self.dead_letter {
            Some(d) => {
                self.stack.push((d, dead));
                self.drain_stack(0)
            }
            None => {
                let error = match &dead.body {
                    Value::Record(r) => r.get("error").cloned().unwrap_or(Value::Null),
                    _ => Value::Null,
                };
                match error {
                    Value::Str(e) => eprintln!("rill: dead letter: {e}"),
                    other => eprintln!("rill: dead letter: {}", rill_core::json::to_json(&other)),
                }
                Ok(())
            }
        }
    }

    /// The tables the flow's steps use.
    pub fn tables(&self) -> &[Arc<Table>] {
        &self.tables
    }

    /// Hands the events a source just read to the steps that read the source, before they are
    /// processed one by one (see [`Step::before_batch`]): each of those steps then receives
    /// exactly these events, in this order, so it may prepare for them (prefetch key state).
    pub(crate) fn before_source_batch(&mut self, events: &[Event]) {
        for r in 0..self.roots.len() {
            let i = self.roots[r];
            self.nodes[i].step.before_batch(events);
        }
    }

    /// Processes one source event through the whole graph, depth first in outlet order
    /// (storey's meaning), before anything else happens: every step that reads state another
    /// step writes sees exactly the writes of the events before it, whatever the batch size.
    pub(crate) fn process_event(&mut self, event: Event, now: Timestamp) -> Result<()> {
        self.now = now;
        push_to_all(&mut self.stack, &self.roots, event);
        self.drain_stack(0)
    }

    /// Processes one event pushed by the caller into the entry step `entry` (see
    /// [`crate::Flow::entry_factory`]; any step of the flow may serve), through the rest of
    /// the graph depth first, on the caller's thread, before returning: no source, no channel,
    /// no worker thread. The clock is event time (the newest event time pushed so far).
    pub fn push_at(&mut self, entry: crate::NodeRef, event: Event) -> Result<()> {
        let i = entry.0;
        if i >= self.nodes.len() {
            return Err(Error::config(format!(
                "push_at: the graph has no step #{i} (it has {})",
                self.nodes.len()
            )));
        }
        if event.time > self.now {
            self.now = event.time;
        }
        self.summary.records_read += 1;
        self.stack.push((i, event));
        self.drain_stack(0)
    }

    /// Ends a caller-driven graph ([`Graph::push_at`]): every step terminates in topological
    /// order (what one flushes reaches the next before it terminates); returns the termination
    /// result, if a step has one.
    pub fn finish(&mut self) -> Result<Option<Value>> {
        let now = self.now;
        self.terminate(now)
    }

    /// Delivers the events on the stack above `floor`, depth first.
    fn drain_stack(&mut self, floor: usize) -> Result<()> {
        while self.stack.len() > floor {
            let (i, ev) = self.stack.pop().expect("the stack is above its floor");
            self.deliver(i, ev)?;
        }
        Ok(())
    }

    /// Passes one event to step `i` and pushes what it emitted (and a failed event's recovery
    /// or dead-letter copy, below those outputs) onto the stack. Under the `fail` policy the
    /// outputs emitted before the failure are still delivered, then the error is returned.
    fn deliver(&mut self, i: usize, ev: Event) -> Result<()> {
        // event-time clock: "now" is the newest event time seen, including this event's own
        // (a step may have moved it)
        self.cx.now = if self.event_time && ev.time > self.now {
            ev.time
        } else {
            self.now
        };
        let node = &mut self.nodes[i];
        node.stats.events_in += 1;
        let fatal = match node.step.process(ev, &mut self.cx) {
            Ok(()) => None,
            Err(f) => self.on_failure(i, f).err(),
        };
        let base = self.stack.len();
        self.route(i);
        match fatal {
            None => Ok(()),
            Some(e) => {
                self.drain_stack(base)?;
                Err(e)
            }
        }
    }

    /// Pushes the outputs collected in `self.cx` from node `i` onto the stack so that they are
    /// delivered in emission order, each to every selected outlet in outlet order.
    fn route(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        node.stats.events_out += self.cx.out.len() as u64;
        let outlets = &node.outlets;
        for (sel, ev) in self.cx.out.drain(..).rev() {
            if sel == ALL_OUTLETS {
                push_to_all(&mut self.stack, outlets, ev);
            } else if let Some(&j) = outlets.get(sel as usize) {
                self.stack.push((j, ev));
            }
        }
        if !self.cx.counters.is_empty() {
            let c = &mut node.stats.counters;
            for (k, v) in self.cx.counters.drain(..) {
                match c.iter_mut().find(|(n, _)| n == k) {
                    Some((_, x)) => *x += v,
                    None => c.push((k.to_string(), v)),
                }
            }
        }
    }

    /// True when a step keeps timers (then an event-time replay checks them before every
    /// event, so timers fire at exactly the right point in the data).
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
        self.fail_event(None, f.error, f.event)?;
        self.drain_stack(0)
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
                self.stack.push((r, ev));
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
                        self.stack.push((d, dl));
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

    /// Fires every step timer due at `now`, each step's outputs delivered through the rest of
    /// the graph before the next step's timers run.
    pub(crate) fn fire_timers(&mut self, now: Timestamp) -> Result<()> {
        self.now = now;
        for oi in 0..self.order.len() {
            let i = self.order[oi];
            if self.nodes[i].step.next_deadline().is_some_and(|d| d <= now) {
                self.cx.now = now;
                let node = &mut self.nodes[i];
                node.step
                    .on_timer(&mut self.cx)
                    .map_err(|e| e.context(format!("step '{}' (timer)", node.name)))?;
                self.route(i);
                self.drain_stack(0)?;
            }
        }
        Ok(())
    }

    /// Terminates every step in topological order (what a step flushes is delivered before the
    /// next one terminates); returns the termination result.
    pub(crate) fn terminate(&mut self, now: Timestamp) -> Result<Option<Value>> {
        let r = self.terminate_steps(now)?;
        self.summary.steps = self.step_stats();
        self.flush_tables(true)?;
        self.summary.tables = self.table_reports();
        Ok(r)
    }

    /// [`Graph::terminate`] without the flush and the summary (a worker of a sharded run: the
    /// graph that merges its outputs flushes its tables).
    pub(crate) fn terminate_steps(&mut self, now: Timestamp) -> Result<Option<Value>> {
        self.now = now;
        let mut results = Vec::new();
        for oi in 0..self.order.len() {
            let i = self.order[oi];
            self.cx.now = now;
            let node = &mut self.nodes[i];
            let r = node
                .step
                .terminate(&mut self.cx)
                .map_err(|e| e.context(format!("step '{}' (termination)", node.name)))?;
            self.route(i);
            self.drain_stack(0)?;
            if let Some(v) = r {
                results.push(v);
            }
        }
        // storey: the first non-None terminal result
        Ok(results.into_iter().next())
    }

    /// Each step's counts, in execution order, with the counters steps keep themselves (and
    /// those of the workers of a sharded run). Counters are sorted by name: an order that
    /// does not depend on which event first bumped which counter, so the summary is the same
    /// for every worker count.
    pub(crate) fn step_stats(&self) -> Vec<StepStats> {
        self.order
            .iter()
            .map(|&i| {
                let mut st = self.nodes[i].stats.clone();
                for (k, v) in self.nodes[i].step.counters() {
                    add_counter(&mut st.counters, k, v);
                }
                for x in self.extra_stats.iter().filter(|x| x.name == st.name) {
                    st.events_in += x.events_in;
                    st.events_out += x.events_out;
                    st.errors += x.errors;
                    for (k, v) in &x.counters {
                        add_counter(&mut st.counters, k.clone(), *v);
                    }
                }
                st.counters.sort_by(|a, b| a.0.cmp(&b.0));
                st
            })
            .collect()
    }

    /// What happened to the persistent tables, for the summary.
    pub(crate) fn table_reports(&self) -> Vec<crate::TableReport> {
        self.tables
            .iter()
            .filter(|t| t.is_persistent())
            .map(|t| crate::TableReport {
                name: t.name().to_string(),
                url: t.url().to_string(),
                resumed_from: t.resumed_from().cloned(),
                flushed: t.last_flushed(),
                evicted: t.evicted(),
            })
            .collect()
    }

    /// Snapshot of the counts so far (for failed runs).
    pub(crate) fn snapshot_summary(&mut self) -> RunSummary {
        self.summary.steps = self.step_stats();
        self.summary.tables = self.table_reports();
        self.summary.clone()
    }
}

fn add_counter(counters: &mut Vec<(String, u64)>, k: String, v: u64) {
    match counters.iter_mut().find(|(n, _)| *n == k) {
        Some((_, x)) => *x += v,
        None => counters.push((k, v)),
    }
}

/// Pushes `ev` for each of `steps` so that the first step pops it first (copies for all but
/// the first).
fn push_to_all(stack: &mut Vec<(usize, Event)>, steps: &[usize], ev: Event) {
    if let Some((&first, rest)) = steps.split_first() {
        for &j in rest.iter().rev() {
            stack.push((j, ev.clone()));
        }
        stack.push((first, ev));
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
