//! `concurrent`: runs slow per-event work (HTTP calls, lookups) on a pool of threads with bounded
//! in-flight work, retries with exponential backoff, and results in input order
//! (storey `ConcurrentExecution`).

use crate::step::{Cx, Failure, Step, StepResult};
use rill_core::{Error, Event, Result, Timestamp, Value};
use std::collections::VecDeque;
use std::sync::Arc;

type WorkFn = Arc<dyn Fn(&Event) -> Result<Value> + Send + Sync>;

struct InFlight {
    event: Event,
    result: flume::Receiver<Result<Value>>,
}

/// Options for [`Concurrent`].
#[derive(Debug, Clone)]
pub struct ConcurrentOptions {
    /// Events processed at once (and worker threads).
    pub max_in_flight: usize,
    /// Extra attempts after a failure.
    pub retries: u32,
    /// Backoff before retry n is `backoff_factor * 2^(n-1)` seconds, capped at 120 s.
    pub backoff_factor: f64,
}

impl Default for ConcurrentOptions {
    fn default() -> Self {
        ConcurrentOptions {
            max_in_flight: 8,
            retries: 0,
            backoff_factor: 1.0,
        }
    }
}

/// Replaces each body with `f(event)` computed on worker threads; up to `max_in_flight` events
/// are in progress and results leave in input order. An event whose last attempt fails fails
/// with that error (error policy / recovery). The threads start with the first event; a clone
/// (another build of the flow) shares `f` and starts threads of its own.
pub struct Concurrent {
    f: WorkFn,
    opts: ConcurrentOptions,
    jobs: Option<flume::Sender<(Event, flume::Sender<Result<Value>>)>>,
    workers: Vec<std::thread::JoinHandle<()>>,
    queue: VecDeque<InFlight>,
    max_in_flight: usize,
}

impl Clone for Concurrent {
    fn clone(&self) -> Self {
        Concurrent::with(self.f.clone(), self.opts.clone())
    }
}

impl Concurrent {
    /// The step; its worker threads start with the first event.
    pub fn new(
        opts: ConcurrentOptions,
        f: impl Fn(&Event) -> Result<Value> + Send + Sync + 'static,
    ) -> Concurrent {
        Concurrent::with(Arc::new(f), opts)
    }

    fn with(f: WorkFn, opts: ConcurrentOptions) -> Concurrent {
        Concurrent {
            max_in_flight: opts.max_in_flight.max(1),
            f,
            opts,
            jobs: None,
            workers: Vec::new(),
            queue: VecDeque::new(),
        }
    }

    /// Starts the worker threads (once).
    fn start(&mut self) {
        if !self.workers.is_empty() {
            return;
        }
        let (tx, rx) = flume::unbounded::<(Event, flume::Sender<Result<Value>>)>();
        self.workers = (0..self.max_in_flight)
            .map(|i| {
                let rx = rx.clone();
                let f = self.f.clone();
                let opts = self.opts.clone();
                std::thread::Builder::new()
                    .name(format!("rill-concurrent-{i}"))
                    .spawn(move || {
                        for (ev, reply) in rx.iter() {
                            let _ = reply.send(attempt(&*f, &ev, &opts));
                        }
                    })
                    .expect("spawning a worker thread")
            })
            .collect();
        self.jobs = Some(tx);
    }

    /// Emits finished results from the head of the queue; with `block`, waits for the head.
    fn drain(&mut self, cx: &mut Cx, block: bool) -> StepResult {
        while let Some(head) = self.queue.front() {
            let r = if block {
                head.result.recv().ok()
            } else {
                head.result.try_recv().ok()
            };
            let Some(r) = r else {
                if block {
                    // worker gone: report instead of waiting forever
                    let head = self.queue.pop_front().expect("front exists");
                    return Err(Failure::new(
                        Error::user("concurrent worker stopped"),
                        head.event,
                    ));
                }
                return Ok(());
            };
            let mut head = self.queue.pop_front().expect("front exists");
            match r {
                Ok(v) => {
                    head.event.body = v;
                    cx.emit(head.event);
                }
                Err(e) => return Err(Failure::new(e, head.event)),
            }
            if !block {
                continue;
            }
            if self.queue.len() < self.max_in_flight {
                return Ok(());
            }
        }
        Ok(())
    }
}

fn attempt(
    f: &(dyn Fn(&Event) -> Result<Value> + Send + Sync),
    ev: &Event,
    opts: &ConcurrentOptions,
) -> Result<Value> {
    let mut n = 0;
    loop {
        match f(ev) {
            Ok(v) => return Ok(v),
            Err(e) if n >= opts.retries => {
                return Err(if n > 0 {
                    e.context(format!("after {} attempts", n + 1))
                } else {
                    e
                });
            }
            Err(_) => {
                let secs = (opts.backoff_factor * 2f64.powi(n as i32)).min(120.0);
                std::thread::sleep(std::time::Duration::from_secs_f64(secs.max(0.0)));
                n += 1;
            }
        }
    }
}

impl Step for Concurrent {
    fn process(&mut self, event: Event, cx: &mut Cx) -> StepResult {
        self.start();
        let (tx, rx) = flume::bounded(1);
        if let Some(jobs) = &self.jobs {
            if jobs.send((event.clone(), tx)).is_err() {
                return Err(Failure::new(
                    Error::user("concurrent workers stopped"),
                    event,
                ));
            }
        }
        self.queue.push_back(InFlight { event, result: rx });
        self.drain(cx, false)?;
        while self.queue.len() >= self.max_in_flight {
            self.drain(cx, true)?;
        }
        Ok(())
    }
    fn uses_timers(&self) -> bool {
        true
    }
    fn next_deadline(&self) -> Option<Timestamp> {
        // poll again in 1 ms (wall clock) while work is in flight, so results are not held back
        // until the next event; under an event-time clock they leave with later events or at
        // termination
        (!self.queue.is_empty()).then(|| Timestamp::now().add(rill_core::Duration::from_millis(1)))
    }
    fn on_timer(&mut self, cx: &mut Cx) -> Result<()> {
        self.drain(cx, false).map_err(|f| f.error)
    }
    fn terminate(&mut self, cx: &mut Cx) -> Result<Option<Value>> {
        while !self.queue.is_empty() {
            self.drain(cx, true).map_err(|f| f.error)?;
        }
        self.jobs = None;
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
        Ok(None)
    }
}
