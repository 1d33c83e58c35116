//! `for_each`: calls a function for its side effect and passes the event on (storey `ForEach`).

use crate::step::{Cx, Failure, Step, StepResult};
use rill_core::{Event, Result};

super::cloneable_fn!(pub(crate) EachBody: FnMut(&Event) -> Result<()>);
type EachFn = Box<dyn EachBody>;

/// Calls `f(&event)`, then forwards the event unchanged.
#[derive(Clone)]
pub struct ForEach {
    f: EachFn,
}

impl ForEach {
    /// A side-effect on each event.
    pub fn new(f: impl FnMut(&Event) -> Result<()> + Clone + Send + 'static) -> ForEach {
        ForEach { f: Box::new(f) }
    }
}

impl Step for ForEach {
    fn process(&mut self, event: Event, cx: &mut Cx) -> StepResult {
        match (self.f)(&event) {
            Ok(()) => {
                cx.emit(event);
                Ok(())
            }
            Err(e) => Err(Failure::new(e, event)),
        }
    }
}
