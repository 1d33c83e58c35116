//! `filter`: keeps events for which a predicate holds (storey `Filter`).

use crate::step::{Cx, Failure, Step, StepResult};
use rill_core::{Event, Result, Value};

super::cloneable_fn!(pub(crate) PredBody: FnMut(&Event) -> Result<bool>);
type Pred = Box<dyn PredBody>;

/// Passes an event on iff the predicate is true; the others are counted as `filtered`.
#[derive(Clone)]
pub struct Filter {
    pred: Pred,
}

impl Filter {
    /// An infallible predicate on the body.
    pub fn new(mut f: impl FnMut(&Value) -> bool + Clone + Send + 'static) -> Filter {
        Filter {
            pred: Box::new(move |e: &Event| Ok(f(&e.body))),
        }
    }
    /// A fallible predicate on the body.
    pub fn try_new(mut f: impl FnMut(&Value) -> Result<bool> + Clone + Send + 'static) -> Filter {
        Filter {
            pred: Box::new(move |e: &Event| f(&e.body)),
        }
    }
    /// A predicate on the whole event.
    pub fn with_event(f: impl FnMut(&Event) -> Result<bool> + Clone + Send + 'static) -> Filter {
        Filter { pred: Box::new(f) }
    }
}

impl Step for Filter {
    fn process(&mut self, event: Event, cx: &mut Cx) -> StepResult {
        match (self.pred)(&event) {
            Ok(true) => {
                cx.emit(event);
                Ok(())
            }
            Ok(false) => {
                cx.count("filtered", 1);
                Ok(())
            }
            Err(e) => Err(Failure::new(e, event)),
        }
    }
}

mod config;
pub use config::FilterConfig;
