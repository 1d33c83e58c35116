//! Sharded runs (`workers: N`): the leading per-key steps of a flow run in N worker threads,
//! each owning the keys that hash to it; the rest runs on the calling thread over the workers'
//! outputs merged back into input order. The result is the one-thread run's, event for event.
//!
//! Why it is exact. The source is read on the calling thread, which routes each event by a hash
//! of the key the sharded steps share (see [`crate::config::shard_plan`]) and remembers, per
//! batch, which worker got which event. A worker runs its own instance of the sharded steps
//! (built again over sibling tables: see [`rill_table::Table::sibling`]), so a key's state sees
//! exactly that key's events in input order — all a per-key step depends on. The calling thread
//! then walks the batch in input order and, for each event, delivers what its worker emitted
//! for it (in emission order, dead letters in place) to the steps after the sharded ones,
//! depth first as one thread would; those steps use no table the workers use, so they cannot
//! tell. Rejects, timers of the later steps, `max_rejects` and errors are handled at the same
//! record as on one thread: a worker that fails on an event reports the error with the outputs
//! it emitted before failing, and the calling thread stops there.
//!
//! Batches: a worker gets its events of a source batch in one message and answers with all
//! their outputs in one message, so the channels cost per batch, not per event; a few batches
//! are in flight, so the workers work while the calling thread runs the later steps.
//! Table flushes wait for every batch in flight, then write each table's keys from all its
//! siblings in one batch with the run's progress.

use crate::build_context::BuildContext;
use crate::graph::Graph;
use crate::run::{Clock, RunError, RunOptions, RunOutcome};
use crate::source::{Source, SourceBatch};
use crate::step::{Cx, Failure, Step, StepResult};
use crate::steps::keyed::KeySpec;
use crate::steps::KeyConfig;
use crate::summary::StepStats;
use crate::Flow;
use crossbeam_channel::{bounded, Receiver, Sender};
use parking_lot::Mutex;
use rill_core::{Error, Event, Result, Timestamp};
use rill_table::Tables;
use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Source batches in flight between the calling thread and the workers.
const IN_FLIGHT: usize = 4;

/// Name of the step that collects a worker's outputs (never shown: worker graphs have no
/// summary of their own).
const EXIT: &str = "workers.exit";

/// What [`run_workers`] shards.
pub struct WorkerPlan {
    /// Worker threads wanted (≥ 2).
    pub workers: usize,
    /// How many of the flow's first steps may run in workers (from
    /// [`crate::config::shard_plan`]); shortened here if a table they use is also used later.
    pub prefix: usize,
    /// The key the prefix's keyed steps share (`None`: no keyed step; `Some(None)`: the
    /// event's key).
    pub key: Option<Option<KeyConfig>>,
    /// Why the prefix ends where it does, if a step there could not be sharded (the warning
    /// when nothing can be).
    pub reason: Option<String>,
    /// Gather the workers' keys of each memory table into it after the run (for later flows
    /// of the process); false when nothing reads the tables afterwards.
    pub keep_tables: bool,
}

/// Runs `flow` over `source` with its first `plan.prefix` steps in `plan.workers` workers.
/// `graph` is `flow` built on this thread (by the caller, which places its build errors); the
/// prefix is built once more per worker, over the worker's siblings of the flow's tables. Outputs, summary and errors are those of
/// [`crate::run`] on one thread. When nothing can be sharded it runs on one thread and says why
/// in the summary's warnings.
pub fn run_workers(
    flow: &Flow,
    mut graph: Graph,
    plan: WorkerPlan,
    source: &mut dyn Source,
    opts: &RunOptions,
) -> std::result::Result<RunOutcome, RunError> {
    let fail = |error: Error| RunError {
        error,
        summary: Box::default(),
    };
    let alone = |graph: Graph, source: &mut dyn Source, why: String| {
        let warning = format!(
            "workers: {} asked for, the run used one: {why}",
            plan.workers
        );
        let add = |s: &mut crate::RunSummary| s.warnings.push(warning.clone());
        match crate::run(graph, source, opts) {
            Ok(mut o) => {
                add(&mut o.summary);
                Ok(o)
            }
            Err(mut e) => {
                add(&mut e.summary);
                Err(e)
            }
        }
    };
    if opts.clock == Clock::Wall {
        return alone(
            graph,
            source,
            "the wall clock drives the flow's timers".into(),
        );
    }
    let (prefix, why) = cut_at_shared_tables(&graph, plan.prefix);
    if prefix == 0 {
        let why = why
            .or(plan.reason.clone())
            .unwrap_or_else(|| "its first step is not stateless or per key".into());
        return alone(graph, source, why);
    }
    let names = graph.node_names();
    let Some(exit) = graph.node_index(&names[prefix - 1]) else {
        return Err(fail(Error::config("the sharded steps are not in the flow")));
    };
    let route = Router::new(plan.key.as_ref(), plan.workers).map_err(fail)?;
    let mut shards = Vec::with_capacity(plan.workers);
    for _ in 0..plan.workers {
        let tables = Tables::default();
        for t in flow.build_context().tables.all() {
            tables.insert(t.sibling().map_err(fail)?);
        }
        let cx = BuildContext {
            tables,
            private: true,
        };
        // the flow's own first steps: the same names, built afresh over the worker's tables
        let part = flow.prefix(prefix).map_err(fail)?.context(cx);
        shards.push(Shard::build(part, &graph, source.name(), opts).map_err(fail)?);
    }
    // each table's siblings, flushed with it
    for (j, t) in graph.tables().to_vec().iter().enumerate() {
        graph.siblings[j] = shards
            .iter()
            .flat_map(|s| s.graph.tables().iter())
            .filter(|u| u.name() == t.name())
            .cloned()
            .collect();
    }
    let prefix_names = names[..prefix].to_vec();
    graph.set_source_name(source.name());
    graph.event_time = true;
    let mut cancelled = false;
    let r = std::thread::scope(|scope| {
        let mut txs = Vec::new();
        let mut rxs = Vec::new();
        let mut handles = Vec::new();
        for shard in shards {
            let (ctx, crx) = bounded::<Cmd>(IN_FLIGHT);
            let (rtx, rrx) = bounded::<Reply>(IN_FLIGHT);
            handles.push(scope.spawn(move || shard.work(crx, rtx)));
            txs.push(ctx);
            rxs.push(rrx);
        }
        let mut co = Coordinator {
            graph: &mut graph,
            txs,
            rxs,
            route,
            exit,
            seen: 0,
            watermark: Timestamp(i64::MIN),
            timers: false,
            opts,
        };
        co.timers = co.graph.uses_timers();
        let r = co.drive(source, &mut cancelled);
        // closing the channels ends every worker, wherever it is
        drop(co);
        let mut stats: Vec<StepStats> = Vec::new();
        for h in handles {
            let g = match h.join() {
                Ok(g) => g,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            stats.extend(
                g.step_stats()
                    .into_iter()
                    .filter(|s| prefix_names.contains(&s.name)),
            );
        }
        graph.extra_stats = stats;
        r
    });
    let done = r.and_then(|end| {
        let result = graph.terminate(end)?;
        if plan.keep_tables {
            absorb_memory_tables(&graph)?;
        }
        Ok(result)
    });
    match done {
        Ok(result) => Ok(RunOutcome {
            result,
            summary: graph.summary.clone(),
            cancelled,
        }),
        Err(error) => Err(RunError {
            error,
            summary: Box::new(graph.snapshot_summary()),
        }),
    }
}

/// The prefix shortened so that no table a sharded step uses is used by a step after the
/// sharded ones (its state would be split among the workers), nor a sharded step keeps timers.
fn cut_at_shared_tables(graph: &Graph, mut prefix: usize) -> (usize, Option<String>) {
    let n = graph.node_names().len();
    let names = graph.node_names();
    let mut why = None;
    loop {
        let later: Vec<String> = (prefix..n).flat_map(|i| graph.node_tables(i)).collect();
        let cut = (0..prefix).find_map(|i| {
            if graph.node_has_timers(i) {
                return Some((i, format!("step '{}' keeps timers", names[i])));
            }
            graph
                .node_tables(i)
                .into_iter()
                .find(|t| later.contains(t))
                .map(|t| {
                    (
                        i,
                        format!(
                            "step '{}' uses table '{t}', which a step after the sharded ones also uses",
                            names[i]
                        ),
                    )
                })
        });
        match cut {
            Some((i, w)) => {
                prefix = i;
                why = Some(w);
            }
            None => return (prefix, why),
        }
    }
}

/// Copies the workers' state of each memory table into the table of the process (persistent
/// tables hold it in their backend after the final flush), so later flows see every key.
fn absorb_memory_tables(graph: &Graph) -> Result<()> {
    for (t, sib) in graph.tables().iter().zip(&graph.siblings) {
        if !t.is_persistent() && !sib.is_empty() {
            t.absorb(sib)?;
        }
    }
    Ok(())
}

/// Which worker an event goes to.
struct Router {
    key: Option<KeySpec>,
    hasher: ahash::RandomState,
    workers: usize,
}

impl Router {
    fn new(key: Option<&Option<KeyConfig>>, workers: usize) -> Result<Router> {
        Ok(Router {
            key: key.map(|k| KeySpec::new(k.as_ref())).transpose()?,
            // fixed seeds: the same key goes to the same worker in every run
            hasher: ahash::RandomState::with_seeds(0x5241, 0x494c, 0x4c57, 0x4f52),
            workers,
        })
    }

    /// The worker of the `seq`-th event: by its key's hash; an event whose key cannot be taken
    /// fails in the first keyed step whichever worker runs it (the error depends on no state),
    /// so it goes to worker 0; without keyed steps, round robin.
    fn of(&self, ev: &Event, seq: u64) -> usize {
        match &self.key {
            None => (seq % self.workers as u64) as usize,
            Some(k) => match k.key_ref(ev) {
                Ok(key) => (self.hasher.hash_one(&*key) % self.workers as u64) as usize,
                Err(_) => 0,
            },
        }
    }
}

/// Collects what a worker's sharded steps emit (`dead`: its dead letters).
#[derive(Clone)]
struct Collector {
    out: Arc<Mutex<Vec<(bool, Event)>>>,
    dead: bool,
}

impl Step for Collector {
    fn process(&mut self, event: Event, _cx: &mut Cx) -> StepResult {
        self.out.lock().push((self.dead, event));
        Ok(())
    }
}

enum Cmd {
    /// A worker's events of one source batch, each with the flow's clock at it.
    Batch(Vec<Event>, Vec<Timestamp>),
    /// The input ended at this clock reading.
    Terminate(Timestamp),
}

/// What a worker did with its events of one batch.
#[derive(Default)]
struct Done {
    /// Outputs in emission order (`true`: a dead letter).
    outs: VecDeque<(bool, Event)>,
    /// Per event processed: how many outputs it emitted.
    counts: Vec<u32>,
    /// Per event processed: how many failures it dead-lettered.
    dead: Vec<u32>,
    /// The error that stopped the worker at its last processed event.
    error: Option<Error>,
    /// Next event to merge.
    next: usize,
}

enum Reply {
    Batch(Done),
    Terminated(Result<VecDeque<(bool, Event)>>),
}

/// One worker: its graph of the sharded steps ending in collectors.
struct Shard {
    graph: Graph,
    out: Arc<Mutex<Vec<(bool, Event)>>>,
}

impl Shard {
    fn build(mut flow: Flow, main: &Graph, source: &str, opts: &RunOptions) -> Result<Shard> {
        let out = Arc::new(Mutex::new(Vec::new()));
        let collector = |dead| Collector {
            out: out.clone(),
            dead,
        };
        flow = flow.then(EXIT, collector(false));
        flow = flow.error_policy(main.policy);
        if main.policy == crate::ErrorPolicy::DeadLetter {
            flow = flow.dead_letter(collector(true));
        }
        let mut graph = flow.build()?;
        graph.set_source_name(source);
        graph.event_time = opts.clock == Clock::EventTime;
        Ok(Shard { graph, out })
    }

    /// Processes batches until told to terminate or the channels close; returns the graph
    /// (for its counts).
    fn work(mut self, rx: Receiver<Cmd>, tx: Sender<Reply>) -> Graph {
        let mut failed = false;
        for cmd in rx {
            match cmd {
                Cmd::Batch(events, nows) => {
                    let mut done = Done::default();
                    // after a failure the run stops at that event: later ones are not needed
                    if !failed {
                        self.graph.before_source_batch(&events);
                        for (ev, now) in events.into_iter().zip(nows) {
                            let dead = self.graph.summary.dead_lettered;
                            let r = self.graph.process_event(ev, now);
                            let mut out = self.out.lock();
                            done.counts.push(out.len() as u32);
                            done.outs.extend(out.drain(..));
                            drop(out);
                            done.dead
                                .push((self.graph.summary.dead_lettered - dead) as u32);
                            if let Err(e) = r {
                                done.error = Some(e);
                                failed = true;
                                break;
                            }
                        }
                    }
                    if tx.send(Reply::Batch(done)).is_err() {
                        break;
                    }
                }
                Cmd::Terminate(now) => {
                    let r = self
                        .graph
                        .terminate_steps(now)
                        .map(|_| self.out.lock().drain(..).collect());
                    let _ = tx.send(Reply::Terminated(r));
                    break;
                }
            }
        }
        self.graph
    }
}

/// One item of a source batch, in input order.
enum Item {
    Reject(Failure),
    /// An event given to this worker, with the flow's clock at it.
    Event(usize, Timestamp),
}

/// A source batch handed to the workers, waiting to be merged.
struct InFlight {
    items: Vec<Item>,
    /// Records the batch read (events and rejects).
    records: u64,
    /// The source's answer: more to read, or its error after these records.
    read: Result<bool>,
    /// The clock after the batch's last event.
    watermark: Timestamp,
}

/// The calling thread's side of a sharded run.
struct Coordinator<'g, 'o> {
    graph: &'g mut Graph,
    txs: Vec<Sender<Cmd>>,
    rxs: Vec<Receiver<Reply>>,
    route: Router,
    exit: usize,
    /// Records handled so far (for `max_rejects`).
    seen: u64,
    watermark: Timestamp,
    timers: bool,
    opts: &'o RunOptions,
}

impl Coordinator<'_, '_> {
    /// [`crate::run`]'s loop with the sharded steps in the workers: returns the clock at which
    /// to terminate, once every worker has terminated.
    fn drive(&mut self, source: &mut dyn Source, cancelled: &mut bool) -> Result<Timestamp> {
        let mut inflight: VecDeque<InFlight> = VecDeque::new();
        let mut reading = true;
        let mut dispatched = false;
        let mut seq: u64 = 0;
        let mut batch = SourceBatch::default();
        loop {
            while reading && inflight.len() < IN_FLIGHT {
                // as on one thread, a cancel is seen after a batch that said there is more:
                // the first batch is always read
                if dispatched && self.cancel_set() {
                    *cancelled = true;
                    reading = false;
                    break;
                }
                let b = self.dispatch(source, &mut batch, &mut seq)?;
                dispatched = true;
                reading = matches!(b.read, Ok(true));
                inflight.push_back(b);
            }
            let Some(b) = inflight.pop_front() else {
                break;
            };
            self.merge(b)?;
            if self.graph.flush_due() {
                // a flush writes the state as of every record read: wait for all of them
                while let Some(b) = inflight.pop_front() {
                    self.merge(b)?;
                }
                self.graph.flush_tables(false)?;
            }
        }
        let end = self.watermark;
        for tx in &self.txs {
            tx.send(Cmd::Terminate(end)).map_err(|_| stopped())?;
        }
        for w in 0..self.rxs.len() {
            let Reply::Terminated(r) = self.rxs[w].recv().map_err(|_| stopped())? else {
                return Err(stopped());
            };
            // the sharded steps emit nothing at the end (see `shard_plan`); were one to, its
            // events would go on worker by worker
            for (dead, ev) in r? {
                self.deliver(dead, ev, end)?;
            }
        }
        Ok(end)
    }

    fn cancel_set(&self) -> bool {
        self.opts
            .cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::Relaxed))
    }

    /// Reads one source batch and hands each worker its events.
    fn dispatch(
        &mut self,
        source: &mut dyn Source,
        batch: &mut SourceBatch,
        seq: &mut u64,
    ) -> Result<InFlight> {
        batch.clear();
        let read = source.next_batch(batch, self.opts.batch_size.max(1));
        let records = (batch.events.len() + batch.rejects.len()) as u64;
        let n = self.txs.len();
        let mut events: Vec<Vec<Event>> = (0..n).map(|_| Vec::new()).collect();
        let mut nows: Vec<Vec<Timestamp>> = (0..n).map(|_| Vec::new()).collect();
        let mut items = Vec::with_capacity(records as usize);
        let mut rejects = batch.rejects.drain(..).peekable();
        for ev in batch.events.drain(..) {
            while let Some(f) = rejects.next_if(|f| record_of(f) < ev.offset) {
                items.push(Item::Reject(f));
            }
            self.watermark = self.watermark.max(ev.time);
            let w = self.route.of(&ev, *seq);
            *seq += 1;
            items.push(Item::Event(w, self.watermark));
            events[w].push(ev);
            nows[w].push(self.watermark);
        }
        items.extend(rejects.map(Item::Reject));
        for ((tx, evs), ns) in self.txs.iter().zip(events).zip(nows) {
            tx.send(Cmd::Batch(evs, ns)).map_err(|_| stopped())?;
        }
        Ok(InFlight {
            items,
            records,
            read,
            watermark: self.watermark,
        })
    }

    /// Runs the rest of the flow over one batch's worker outputs, in input order: what
    /// [`crate::run`] does with a batch after the sharded steps.
    fn merge(&mut self, b: InFlight) -> Result<()> {
        self.graph.summary.records_read += b.records;
        let mut done = Vec::with_capacity(self.rxs.len());
        for rx in &self.rxs {
            match rx.recv().map_err(|_| stopped())? {
                Reply::Batch(d) => done.push(d),
                Reply::Terminated(_) => return Err(stopped()),
            }
        }
        let opts = self.opts;
        let limit = |graph: &Graph, seen: u64, end: bool| match opts.max_rejects {
            Some(m) => m.check(graph.summary.dead_lettered, seen, end),
            None => Ok(()),
        };
        for item in b.items {
            match item {
                Item::Reject(f) => self.graph.on_reject(f)?,
                Item::Event(w, now) => {
                    // a timer fires before the first event past its deadline
                    if self.timers && self.graph.next_deadline().is_some_and(|d| d <= now) {
                        self.graph.fire_timers(now)?;
                    }
                    let d = &mut done[w];
                    let i = d.next;
                    let Some(&count) = d.counts.get(i) else {
                        return Err(stopped());
                    };
                    d.next += 1;
                    let outs: Vec<(bool, Event)> = d.outs.drain(..count as usize).collect();
                    let dead = d.dead[i];
                    let error = (d.next == d.counts.len()).then(|| d.error.take()).flatten();
                    for (dl, ev) in outs {
                        self.deliver(dl, ev, now)?;
                    }
                    self.graph.summary.dead_lettered += dead as u64;
                    if let Some(e) = error {
                        return Err(e);
                    }
                }
            }
            self.seen += 1;
            limit(self.graph, self.seen, false)?;
        }
        if self.timers && self.graph.next_deadline().is_some_and(|d| d <= b.watermark) {
            self.graph.fire_timers(b.watermark)?;
        }
        let more = b.read?;
        if !more {
            limit(self.graph, self.seen, true)?;
        }
        Ok(())
    }

    fn deliver(&mut self, dead: bool, ev: Event, now: Timestamp) -> Result<()> {
        if dead {
            self.graph.inject_dead_letter(ev, now)
        } else {
            self.graph.inject(self.exit, ev, now)
        }
    }
}

/// A worker is gone (it panicked: the panic is raised when it is joined).
fn stopped() -> Error {
    Error::user("a worker of the sharded run stopped")
}

/// The record number of a rejected record (0 when the source could not tell).
fn record_of(f: &Failure) -> u64 {
    f.event.as_ref().map_or(0, |e| e.offset)
}
