//! `extend`: adds or overwrites body fields with a function's record result (storey `Extend`).

use crate::step::{Cx, Failure, Step, StepResult};
use rill_core::{Error, Event, Record, Result, SchemaExtender, Value};

super::cloneable_fn!(pub(crate) ExtBody: FnMut(&Event) -> Result<Value>);
type ExtFn = Box<dyn ExtBody>;

/// Writes the fields of `f(body)` (a record) into the body: existing fields are overwritten in
/// place, new ones appended. Output schemas are cached per (body schema, extension schema).
#[derive(Clone)]
pub struct Extend {
    f: ExtFn,
    cache: Option<(u64, SchemaExtender)>,
}

impl Extend {
    /// A fallible function returning a `Value::Record`.
    pub fn try_new(mut f: impl FnMut(&Value) -> Result<Value> + Clone + Send + 'static) -> Extend {
        Extend {
            f: Box::new(move |e: &Event| f(&e.body)),
            cache: None,
        }
    }
    /// A fallible function of the whole event returning a `Value::Record`.
    pub fn with_event(f: impl FnMut(&Event) -> Result<Value> + Clone + Send + 'static) -> Extend {
        Extend {
            f: Box::new(f),
            cache: None,
        }
    }
    /// An infallible function returning the fields to set.
    pub fn new(mut f: impl FnMut(&Value) -> Record + Clone + Send + 'static) -> Extend {
        Extend {
            f: Box::new(move |e: &Event| Ok(Value::Record(f(&e.body)))),
            cache: None,
        }
    }
}

impl Step for Extend {
    fn process(&mut self, mut event: Event, cx: &mut Cx) -> StepResult {
        let ext = match (self.f)(&event) {
            Ok(Value::Record(r)) => r,
            Ok(other) => {
                return Err(Failure::new(
                    Error::user(format!(
                        "extend must return a record, got {}",
                        other.type_name()
                    )),
                    event,
                ))
            }
            Err(e) => return Err(Failure::new(e, event)),
        };
        let Value::Record(body) = &mut event.body else {
            let t = event.body.type_name();
            return Err(Failure::new(
                Error::user(format!("extend needs a record body, got {t}")),
                event,
            ));
        };
        let id = ext.schema().id();
        if self.cache.as_ref().is_none_or(|(i, _)| *i != id) {
            self.cache = Some((
                id,
                SchemaExtender::new(ext.schema().names().iter().cloned(), true),
            ));
        }
        let (_, extender) = self.cache.as_mut().expect("set above");
        let (_, values) = ext.into_parts();
        extender.apply(body, values);
        cx.emit(event);
        Ok(())
    }
}

mod config;
pub use config::ExtendConfig;
