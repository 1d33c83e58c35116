//! `flat_map`: one event per element of a function's list result (storey `FlatMap`).

use crate::step::{Cx, Failure, Step, StepResult};
use rill_core::{Error, Event, Result, Value};

super::cloneable_fn!(pub(crate) FlatBody: FnMut(&Event) -> Result<Value>);
type FlatFn = Box<dyn FlatBody>;

/// Emits one event per element of `f(body)` (which must be a list); each keeps the source
/// event's key, time and id. A non-list result fails the event.
#[derive(Clone)]
pub struct FlatMap {
    f: FlatFn,
}

impl FlatMap {
    /// A body function returning the elements.
    pub fn new(mut f: impl FnMut(&Value) -> Vec<Value> + Clone + Send + 'static) -> FlatMap {
        FlatMap {
            f: Box::new(move |e: &Event| Ok(Value::List(f(&e.body)))),
        }
    }
    /// A fallible function returning a `Value::List`.
    pub fn try_new(mut f: impl FnMut(&Value) -> Result<Value> + Clone + Send + 'static) -> FlatMap {
        FlatMap {
            f: Box::new(move |e: &Event| f(&e.body)),
        }
    }
    /// A fallible function of the whole event returning a `Value::List`.
    pub fn with_event(f: impl FnMut(&Event) -> Result<Value> + Clone + Send + 'static) -> FlatMap {
        FlatMap { f: Box::new(f) }
    }
    /// Identity flatten: a list body becomes one event per element (storey `Flatten`).
    pub fn flatten() -> FlatMap {
        FlatMap {
            f: Box::new(|e: &Event| Ok(e.body.clone())),
        }
    }
}

impl Step for FlatMap {
    fn process(&mut self, mut event: Event, cx: &mut Cx) -> StepResult {
        match (self.f)(&event) {
            Ok(Value::List(items)) => {
                let n = items.len();
                for (i, item) in items.into_iter().enumerate() {
                    if i + 1 == n {
                        event.body = item;
                        cx.emit(event);
                        break;
                    }
                    let mut copy = Event {
                        body: item,
                        ..Default::default()
                    };
                    copy.key = event.key.clone();
                    copy.time = event.time;
                    copy.id = event.id.clone();
                    copy.offset = event.offset;
                    copy.meta = event.meta.clone();
                    cx.emit(copy);
                }
                Ok(())
            }
            Ok(other) => Err(Failure::new(
                Error::user(format!(
                    "flat_map must return a list, got {}",
                    other.type_name()
                )),
                event,
            )),
            Err(e) => Err(Failure::new(e, event)),
        }
    }
}

mod config;
pub use config::FlatMapConfig;
