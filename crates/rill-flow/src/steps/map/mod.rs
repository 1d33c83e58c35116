//! `map`: replaces each event's body with a function of it (storey `Map`).

use crate::step::{Cx, Failure, Step, StepResult};
use rill_core::{Event, Result, Value};

super::cloneable_fn!(pub(crate) MapBody: FnMut(&Event) -> Result<Value>);
type MapFn = Box<dyn MapBody>;

/// Replaces the body with `f(body)`; key, time and id are kept.
#[derive(Clone)]
pub struct Map {
    f: MapFn,
}

impl Map {
    /// An infallible body function.
    pub fn new(mut f: impl FnMut(&Value) -> Value + Clone + Send + 'static) -> Map {
        Map {
            f: Box::new(move |e: &Event| Ok(f(&e.body))),
        }
    }
    /// A fallible body function; an error fails the event (error policy / recovery).
    pub fn try_new(mut f: impl FnMut(&Value) -> Result<Value> + Clone + Send + 'static) -> Map {
        Map {
            f: Box::new(move |e: &Event| f(&e.body)),
        }
    }
    /// A function of the whole event (storey `full_event=True`): sees key, time and id.
    pub fn with_event(f: impl FnMut(&Event) -> Result<Value> + Clone + Send + 'static) -> Map {
        Map { f: Box::new(f) }
    }
}

impl Step for Map {
    fn process(&mut self, mut event: Event, cx: &mut Cx) -> StepResult {
        match (self.f)(&event) {
            Ok(body) => {
                event.body = body;
                cx.emit(event);
                Ok(())
            }
            Err(e) => Err(Failure::new(e, event)),
        }
    }
}

mod config;
pub use config::MapConfig;
