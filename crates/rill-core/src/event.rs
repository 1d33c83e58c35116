//! Events and completion handles.

use crate::{Error, Str, Timestamp, Value};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll, Waker};

/// One event flowing through a flow.
///
/// `time` is the event's time: the source's time field when it has one, else the moment it
/// entered the flow (storey's `processing_time`). `offset` is the 1-based record number in the
/// source (or the stream offset), used in error messages and checkpoints.
#[derive(Debug, Clone, Default)]
pub struct Event {
    /// The payload: usually a [`Value::Record`], but any value (list, scalar) is allowed.
    pub body: Value,
    /// The key (string, or a list for multi-part keys); `Null` when the event has none.
    pub key: Value,
    /// Event time.
    pub time: Timestamp,
    /// Optional id (from the source's id field).
    pub id: Option<Str>,
    /// 1-based position in its source (line/record number or stream offset); 0 when unknown.
    pub offset: u64,
    /// Rarely used metadata, kept behind one pointer so events stay small.
    pub meta: Option<Box<EventMeta>>,
}

/// Metadata most events do not carry.
#[derive(Debug, Clone, Default)]
pub struct EventMeta {
    /// Set by the controller when the flow holds a `complete` step.
    pub completion: Option<Completion>,
    /// The error, on events handed to a recovery step or dead-letter target.
    pub error: Option<Error>,
    /// The step that failed, on events handed to a recovery step or dead-letter target.
    pub failed_step: Option<Str>,
    /// Source partition / shard, for stream sources.
    pub partition: Option<u32>,
}

impl Event {
    /// An event with this body, no key, stamped with the current time.
    pub fn new(body: impl Into<Value>) -> Event {
        Event {
            body: body.into(),
            time: Timestamp::now(),
            ..Default::default()
        }
    }
    /// Sets the key.
    pub fn with_key(mut self, key: impl Into<Value>) -> Event {
        self.key = key.into();
        self
    }
    /// Sets the event time.
    pub fn with_time(mut self, time: Timestamp) -> Event {
        self.time = time;
        self
    }
    /// Sets the id.
    pub fn with_id(mut self, id: impl Into<Str>) -> Event {
        self.id = Some(id.into());
        self
    }
    /// Mutable metadata, created on first use.
    pub fn meta_mut(&mut self) -> &mut EventMeta {
        self.meta.get_or_insert_with(Default::default)
    }
    /// The completion handle, if the event carries one.
    pub fn completion(&self) -> Option<&Completion> {
        self.meta.as_ref().and_then(|m| m.completion.as_ref())
    }
    /// The error attached to a failed event.
    pub fn error(&self) -> Option<&Error> {
        self.meta.as_ref().and_then(|m| m.error.as_ref())
    }
    /// Describes where the event came from, for error messages: `record 17 (key "a")`.
    pub fn describe(&self) -> String {
        let mut s = if self.offset > 0 {
            format!("record {}", self.offset)
        } else {
            "event".to_string()
        };
        if !self.key.is_null() {
            s.push_str(&format!(" (key {})", crate::json::to_json(&self.key)));
        }
        s
    }
}

#[derive(Debug, Default)]
struct CompletionState {
    results: Vec<Value>,
    error: Option<Error>,
    expected: usize,
    /// Every copy of the event is gone: no more results can come.
    finished: bool,
    waker: Option<Waker>,
}

#[derive(Debug, Default)]
struct Slot {
    state: Mutex<CompletionState>,
    cv: Condvar,
}

impl Slot {
    fn update(&self, f: impl FnOnce(&mut CompletionState)) {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut st);
        if let Some(w) = st.waker.take() {
            w.wake();
        }
        self.cv.notify_all();
    }
    fn ready(st: &mut CompletionState) -> Option<Result<Value, Error>> {
        if let Some(e) = &st.error {
            return Some(Err(e.clone()));
        }
        if st.results.len() >= st.expected || st.finished {
            let mut r = std::mem::take(&mut st.results);
            return Some(Ok(match (st.expected, r.len()) {
                (1, 0) => Value::Null,
                (1, _) => r.swap_remove(0),
                _ => Value::List(r),
            }));
        }
        None
    }
}

/// Dropped with the last copy of its event: resolves the handle with what was collected.
#[derive(Debug)]
struct Guard(Arc<Slot>);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.update(|st| st.finished = true);
    }
}

/// The event side of an awaitable result: carried by the event (and its copies) through the
/// flow; the `complete` step records results on it. When every copy of the event is gone (for
/// example a filter dropped it), the caller's [`ResultHandle`] resolves to what was collected
/// (`Null` for none), so a waiting caller never hangs.
#[derive(Debug, Clone)]
pub struct Completion(Arc<Guard>);

/// The caller side of an awaitable result: wait blocking ([`ResultHandle::wait`]) or `.await`
/// it ([`ResultHandle::future`]).
#[derive(Debug, Clone)]
pub struct ResultHandle(Arc<Slot>);

impl Completion {
    /// A pair that completes after `expected` results (storey's `expected_number_of_results`).
    pub fn new(expected: usize) -> (Completion, ResultHandle) {
        let slot = Arc::new(Slot::default());
        slot.update(|st| st.expected = expected.max(1));
        (
            Completion(Arc::new(Guard(slot.clone()))),
            ResultHandle(slot),
        )
    }
    /// Records one result.
    pub fn complete(&self, value: Value) {
        (self.0).0.update(|st| st.results.push(value));
    }
    /// Fails the handle (the event's processing failed).
    pub fn fail(&self, err: Error) {
        (self.0).0.update(|st| {
            st.error.get_or_insert(err);
        });
    }
}

impl ResultHandle {
    /// Blocks until the result is set; a list when more than one result was expected.
    pub fn wait(&self) -> Result<Value, Error> {
        let mut st = self.0.state.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(r) = Slot::ready(&mut st) {
                return r;
            }
            st = self.0.cv.wait(st).unwrap_or_else(|p| p.into_inner());
        }
    }
    /// Blocks at most `timeout`; `None` when it has not completed by then.
    pub fn wait_timeout(&self, timeout: std::time::Duration) -> Option<Result<Value, Error>> {
        let deadline = std::time::Instant::now() + timeout;
        let mut st = self.0.state.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(r) = Slot::ready(&mut st) {
                return Some(r);
            }
            let now = std::time::Instant::now();
            if now >= deadline {
                return None;
            }
            st = self
                .0
                .cv
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
    /// Fails the handle from outside the flow (e.g. the flow died before the event ran).
    pub fn fail(&self, err: Error) {
        self.0.update(|st| {
            st.error.get_or_insert(err);
        });
    }
    /// A future resolving to the result.
    pub fn future(&self) -> CompletionFuture {
        CompletionFuture(self.0.clone())
    }
}

/// Future returned by [`ResultHandle::future`].
#[derive(Debug)]
pub struct CompletionFuture(Arc<Slot>);

impl Future for CompletionFuture {
    type Output = Result<Value, Error>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut st = self.0.state.lock().unwrap_or_else(|p| p.into_inner());
        match Slot::ready(&mut st) {
            Some(r) => Poll::Ready(r),
            None => {
                st.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completion_waits_for_expected_results() {
        let (c, h) = Completion::new(2);
        let t = std::thread::spawn(move || {
            c.complete(Value::Int(1));
            c.complete(Value::Int(2));
        });
        assert_eq!(
            h.wait().unwrap(),
            Value::List(vec![Value::Int(1), Value::Int(2)])
        );
        t.join().unwrap();
        let (f, h) = Completion::new(1);
        f.fail(Error::user("boom"));
        assert_eq!(h.wait().unwrap_err().to_string(), "boom");
    }

    #[test]
    fn dropped_event_resolves_to_null() {
        let (c, h) = Completion::new(1);
        let ev = Event::new(Value::Int(1));
        let mut ev2 = ev.clone();
        ev2.meta_mut().completion = Some(c);
        let copy = ev2.clone();
        drop(ev2);
        assert!(
            h.wait_timeout(std::time::Duration::from_millis(1))
                .is_none(),
            "a copy is still alive"
        );
        drop(copy);
        assert_eq!(h.wait().unwrap(), Value::Null);
    }
}
