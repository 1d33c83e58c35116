//! Push sources: a controller whose `emit` feeds a running flow (storey's `SyncEmitSource` /
//! `AsyncEmitSource` and their `FlowController`s).

use crate::graph::Graph;
use crate::run::{RunError, RunOutcome};
use crate::Flow;
use parking_lot::Mutex;
use rill_core::{Completion, Error, Event, FieldSlot, Result, ResultHandle, Timestamp, Value};
use std::sync::Arc;
use std::thread::JoinHandle;

enum Msg {
    Event(Event),
    Terminate,
}

/// Options for [`Flow::start`].
#[derive(Debug, Clone)]
pub struct ControllerOptions {
    /// Capacity of the queue in front of the flow; `emit` blocks while it is full (backpressure).
    pub buffer_size: usize,
    /// Body field to take the key from when `emit` is given no key.
    pub key_field: Option<String>,
    /// Name used in messages and the run summary.
    pub name: String,
    /// Events the worker takes from the queue at once (more throughput, same order).
    pub max_batch: usize,
}

impl Default for ControllerOptions {
    fn default() -> Self {
        ControllerOptions {
            buffer_size: 1024,
            key_field: None,
            name: "emit".into(),
            max_batch: 1024,
        }
    }
}

struct Shared {
    failure: Mutex<Option<Error>>,
    /// Set by `terminate`: later emits are refused instead of being queued behind the
    /// termination and dropped.
    terminated: std::sync::atomic::AtomicBool,
}

/// Drives a running flow: `emit` events, `terminate`, `await_termination`.
///
/// ```
/// use rill_flow::{Flow, steps, ControllerOptions};
/// use rill_core::Value;
/// let flow = Flow::new()
///     .then("inc", steps::Map::new(|v: &Value| Value::Int(v.as_i64().unwrap() + 1)))
///     .then("complete", steps::Complete::new());
/// let c = flow.start(ControllerOptions::default()).unwrap();
/// let r = c.emit(Value::Int(41)).unwrap().expect("the flow has a complete step");
/// assert_eq!(r.wait().unwrap(), Value::Int(42));
/// c.terminate().unwrap();
/// c.await_termination().unwrap();
/// ```
pub struct Controller {
    tx: flume::Sender<Msg>,
    done: flume::Receiver<std::result::Result<RunOutcome, RunError>>,
    worker: Mutex<Option<JoinHandle<()>>>,
    shared: Arc<Shared>,
    has_complete: bool,
    key_field: Option<FieldSlot>,
}

impl Flow {
    /// Starts the flow on a worker thread and returns its controller (wall-clock timers).
    pub fn start(&self, opts: ControllerOptions) -> Result<Controller> {
        let graph = self.build()?;
        Controller::spawn(graph, opts)
    }
}

impl Controller {
    /// Starts a built graph on a worker thread.
    pub fn spawn(mut graph: Graph, opts: ControllerOptions) -> Result<Controller> {
        graph.set_source_name(&opts.name);
        let (tx, rx) = flume::bounded(opts.buffer_size.max(1));
        let (done_tx, done) = flume::bounded(1);
        let shared = Arc::new(Shared {
            failure: Mutex::new(None),
            terminated: Default::default(),
        });
        let has_complete = graph.has_complete;
        let sh = shared.clone();
        let max_batch = opts.max_batch.max(1);
        let worker = std::thread::Builder::new()
            .name(format!("rill-{}", opts.name))
            .spawn(move || {
                let out = worker_loop(&mut graph, &rx, max_batch);
                let out = match out {
                    Ok(result) => Ok(RunOutcome {
                        result,
                        summary: graph.summary.clone(),
                        cancelled: false,
                    }),
                    Err(error) => {
                        *sh.failure.lock() = Some(error.clone());
                        // fail whatever is still queued, so no caller waits forever
                        for m in rx.drain() {
                            if let Msg::Event(ev) = m {
                                if let Some(c) = ev.completion() {
                                    c.fail(error.clone());
                                }
                            }
                        }
                        Err(RunError {
                            error,
                            summary: Box::new(graph.snapshot_summary()),
                        })
                    }
                };
                let _ = done_tx.send(out);
            })
            .map_err(|e| Error::io("starting the flow's worker thread", e))?;
        Ok(Controller {
            tx,
            done,
            worker: Mutex::new(Some(worker)),
            shared,
            has_complete,
            key_field: opts.key_field.map(FieldSlot::new),
        })
    }

    fn closed_error(&self) -> Error {
        match &*self.shared.failure.lock() {
            Some(e) => e.clone(),
            None => Error::FlowClosed("the flow was terminated".into()),
        }
    }

    fn check_open(&self) -> Result<()> {
        if self
            .shared
            .terminated
            .load(std::sync::atomic::Ordering::Acquire)
        {
            return Err(self.closed_error());
        }
        Ok(())
    }

    fn prepare(&self, mut ev: Event) -> (Event, Option<ResultHandle>) {
        if ev.key.is_null() {
            if let Some(slot) = &self.key_field {
                if let Some(k) = slot.get_in(&ev.body) {
                    ev.key = k.clone();
                }
            }
        }
        if !self.has_complete {
            return (ev, None);
        }
        let (c, h) = Completion::new(1);
        ev.meta_mut().completion = Some(c);
        (ev, Some(h))
    }

    /// Emits a body (stamped with the current time). Blocks while the queue is full. Returns a
    /// result handle when the flow has a `complete` step. Fails with the flow's error if the flow
    /// has died, or after `terminate`.
    pub fn emit(&self, body: impl Into<Value>) -> Result<Option<ResultHandle>> {
        self.emit_event(Event::new(body))
    }

    /// Emits a body with a key.
    pub fn emit_keyed(
        &self,
        body: impl Into<Value>,
        key: impl Into<Value>,
    ) -> Result<Option<ResultHandle>> {
        self.emit_event(Event::new(body).with_key(key))
    }

    /// Emits a full event (key, time, id as given).
    pub fn emit_event(&self, event: Event) -> Result<Option<ResultHandle>> {
        self.check_open()?;
        let (ev, handle) = self.prepare(event);
        self.tx
            .send(Msg::Event(ev))
            .map_err(|_| self.closed_error())?;
        Ok(handle)
    }

    /// Emits a full event, expecting `n` results from several `complete` steps (a list).
    pub fn emit_expecting(&self, mut event: Event, n: usize) -> Result<ResultHandle> {
        self.check_open()?;
        let (c, h) = Completion::new(n);
        event.meta_mut().completion = Some(c);
        self.tx
            .send(Msg::Event(event))
            .map_err(|_| self.closed_error())?;
        Ok(h)
    }

    /// Asks the flow to finish: queued events are processed, then every step flushes.
    pub fn terminate(&self) -> Result<()> {
        self.check_open()?;
        self.shared
            .terminated
            .store(true, std::sync::atomic::Ordering::Release);
        self.tx
            .send(Msg::Terminate)
            .map_err(|_| self.closed_error())
    }

    /// Waits for the flow to finish; returns the termination result or the flow's error.
    pub fn await_termination(self) -> Result<Option<Value>> {
        self.finish().map(|o| o.result).map_err(|e| e.error)
    }

    /// Waits for the flow to finish; returns the result and the run summary.
    pub fn finish(self) -> std::result::Result<RunOutcome, RunError> {
        let out = self.done.recv().unwrap_or_else(|_| {
            Err(RunError {
                error: Error::FlowClosed("the flow's worker thread died".into()),
                summary: Default::default(),
            })
        });
        if let Some(w) = self.worker.lock().take() {
            let _ = w.join();
        }
        out
    }

    /// Async variant of [`Controller::emit_event`]: waits for queue space without blocking the
    /// executor thread.
    pub async fn emit_event_async(&self, event: Event) -> Result<Option<ResultHandle>> {
        self.check_open()?;
        let (ev, handle) = self.prepare(event);
        self.tx
            .send_async(Msg::Event(ev))
            .await
            .map_err(|_| self.closed_error())?;
        Ok(handle)
    }

    /// Async variant of [`Controller::emit`].
    pub async fn emit_async(&self, body: impl Into<Value>) -> Result<Option<ResultHandle>> {
        self.emit_event_async(Event::new(body)).await
    }

    /// Async variant of [`Controller::terminate`].
    pub async fn terminate_async(&self) -> Result<()> {
        self.check_open()?;
        self.shared
            .terminated
            .store(true, std::sync::atomic::Ordering::Release);
        self.tx
            .send_async(Msg::Terminate)
            .await
            .map_err(|_| self.closed_error())
    }

    /// Async variant of [`Controller::finish`].
    pub async fn finish_async(self) -> std::result::Result<RunOutcome, RunError> {
        let out = self.done.recv_async().await.unwrap_or_else(|_| {
            Err(RunError {
                error: Error::FlowClosed("the flow's worker thread died".into()),
                summary: Default::default(),
            })
        });
        // the worker has sent its outcome: joining is immediate
        if let Some(w) = self.worker.lock().take() {
            let _ = w.join();
        }
        out
    }

    /// Async variant of [`Controller::await_termination`].
    pub async fn await_termination_async(self) -> Result<Option<Value>> {
        self.finish_async()
            .await
            .map(|o| o.result)
            .map_err(|e| e.error)
    }
}

fn worker_loop(
    graph: &mut Graph,
    rx: &flume::Receiver<Msg>,
    max_batch: usize,
) -> Result<Option<Value>> {
    loop {
        let first = match graph.next_deadline() {
            Some(d) => {
                let wait = (d.nanos() - Timestamp::now().nanos()).max(0) as u64;
                match rx.recv_timeout(std::time::Duration::from_nanos(wait)) {
                    Ok(m) => Some(m),
                    Err(flume::RecvTimeoutError::Timeout) => None,
                    Err(flume::RecvTimeoutError::Disconnected) => Some(Msg::Terminate),
                }
            }
            None => Some(rx.recv().unwrap_or(Msg::Terminate)),
        };
        let mut terminate = false;
        let mut n = 0;
        let mut msg = first;
        // each event goes through the whole graph as soon as it arrives (lowest latency);
        // a burst is drained without blocking, up to `max_batch`, before timers are checked
        while let Some(m) = msg {
            match m {
                Msg::Event(ev) => {
                    graph.summary.records_read += 1;
                    graph.process_event(ev, Timestamp::now())?;
                }
                Msg::Terminate => {
                    terminate = true;
                    break;
                }
            }
            n += 1;
            msg = if n < max_batch {
                rx.try_recv().ok()
            } else {
                None
            };
        }
        let now = Timestamp::now();
        if graph.next_deadline().is_some_and(|d| d <= now) {
            graph.fire_timers(now)?;
        }
        if terminate {
            return graph.terminate(Timestamp::now());
        }
    }
}
