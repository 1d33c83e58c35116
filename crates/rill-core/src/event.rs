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
        Event { body: body.into(), time: Timestamp::now(), ..Default::default() }
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
        let mut s = if self.offset > 0 { format!("record {}", self.offset) } else { "event".to_string() };
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
    waker: Option<Waker>,
}

/// The awaitable result of one emitted event, set by the flow's `complete` step(s).
/// Wait for it blocking ([`Completion::wait`]) or `.await` it ([`Completion::future`]).
#[derive(Debug, Clone)]
pub struct Completion(Arc<(Mutex<CompletionState>, Condvar)>);

impl Completion {
    /// A handle that completes after `expected` results (storey's `expected_number_of_results`).
    pub fn new(expected: usize) -> Completion {
        let st = CompletionState { expected: expected.max(1), ..Default::default() };
        Completion(Arc::new((Mutex::new(st), Condvar::new())))
    }
    fn update(&self, f: impl FnOnce(&mut CompletionState)) {
        let (lock, cv) = &*self.0;
        let mut st = lock.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut st);
        if let Some(w) = st.waker.take() {
            w.wake();
        }
        cv.notify_all();
    }
    /// Records one result.
    pub fn complete(&self, value: Value) {
        self.update(|st| st.results.push(value));
    }
    /// Fails the handle (the event's processing failed).
    pub fn fail(&self, err: Error) {
        self.update(|st| {
            st.error.get_or_insert(err);
        });
    }
    fn ready(st: &mut CompletionState) -> Option<Result<Value, Error>> {
        if let Some(e) = &st.error {
            return Some(Err(e.clone()));
        }
        if st.results.len() >= st.expected {
            let mut r = std::mem::take(&mut st.results);
            return Some(Ok(if st.expected == 1 { r.swap_remove(0) } else { Value::List(r) }));
        }
        None
    }
    /// Blocks until the result is set; a list when more than one result was expected.
    pub fn wait(&self) -> Result<Value, Error> {
        let (lock, cv) = &*self.0;
        let mut st = lock.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(r) = Self::ready(&mut st) {
                return r;
            }
            st = cv.wait(st).unwrap_or_else(|p| p.into_inner());
        }
    }
    /// Blocks at most `timeout`; `None` when it has not completed by then.
    pub fn wait_timeout(&self, timeout: std::time::Duration) -> Option<Result<Value, Error>> {
        let (lock, cv) = &*self.0;
        let deadline = std::time::Instant::now() + timeout;
        let mut st = lock.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(r) = Self::ready(&mut st) {
                return Some(r);
            }
            let now = std::time::Instant::now();
            if now >= deadline {
                return None;
            }
            st = cv.wait_timeout(st, deadline - now).unwrap_or_else(|p| p.into_inner()).0;
        }
    }
    /// A future resolving to the result.
    pub fn future(&self) -> CompletionFuture {
        CompletionFuture(self.clone())
    }
}

/// Future returned by [`Completion::future`].
#[derive(Debug)]
pub struct CompletionFuture(Completion);

impl Future for CompletionFuture {
    type Output = Result<Value, Error>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let (lock, _) = &*(self.0).0;
        let mut st = lock.lock().unwrap_or_else(|p| p.into_inner());
        match Completion::ready(&mut st) {
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
        let c = Completion::new(2);
        let c2 = c.clone();
        let t = std::thread::spawn(move || {
            c2.complete(Value::Int(1));
            c2.complete(Value::Int(2));
        });
        assert_eq!(c.wait().unwrap(), Value::List(vec![Value::Int(1), Value::Int(2)]));
        t.join().unwrap();
        let f = Completion::new(1);
        f.fail(Error::user("boom"));
        assert_eq!(f.wait().unwrap_err().to_string(), "boom");
    }
}
