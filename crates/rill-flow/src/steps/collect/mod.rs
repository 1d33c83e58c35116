//! `collect`: keeps every event it sees in a shared list (tests, notebooks, the Rust API).

use crate::step::{Cx, Step, StepResult};
use parking_lot::Mutex;
use rill_core::Event;
use std::sync::Arc;

/// Appends each event to a shared list and passes it on. Read the list through the
/// [`Collected`] handle returned by [`Collect::new`]. Clones (each build of a flow holding it)
/// append to the same list.
#[derive(Clone)]
pub struct Collect {
    into: Arc<Mutex<Vec<Event>>>,
}

/// The shared list a [`Collect`] step fills.
#[derive(Clone, Default)]
pub struct Collected(Arc<Mutex<Vec<Event>>>);

impl Collected {
    /// A copy of the events collected so far.
    pub fn events(&self) -> Vec<Event> {
        self.0.lock().clone()
    }
    /// Takes the events collected so far.
    pub fn take(&self) -> Vec<Event> {
        std::mem::take(&mut *self.0.lock())
    }
}

impl Collect {
    /// A collecting step and the handle to read it.
    pub fn new() -> (Collect, Collected) {
        let list = Arc::new(Mutex::new(Vec::new()));
        (Collect { into: list.clone() }, Collected(list))
    }
}

impl Step for Collect {
    fn process(&mut self, event: Event, cx: &mut Cx) -> StepResult {
        self.into.lock().push(event.clone());
        cx.emit(event);
        Ok(())
    }
}
