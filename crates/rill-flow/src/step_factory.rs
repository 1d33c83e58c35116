//! Step factories: what a [`crate::Flow`] holds for each of its steps.
//!
//! A flow is a description. Building it ([`crate::Flow::build`]) asks each factory for a new
//! instance with fresh state, so the same flow runs once, again, or N ways at once (`workers:
//! N` builds its per-key steps once per worker, each over its own copies of the tables).

use crate::build_context::BuildContext;
use crate::step::Step;
use parking_lot::Mutex;
use rill_core::Result;
use std::sync::Arc;

/// Makes runnable instances of one step.
///
/// A step that uses a table takes it by name from `cx` at each build (never an `Arc<Table>`
/// captured once): a worker of a sharded run gives its own copy of the table there.
///
/// ```
/// use rill_flow::{Flow, steps, Step, config::BuildContext};
/// use rill_core::{Event, Value};
/// // a factory closure: each build gets its own accumulator
/// let flow = Flow::new().then_with("sum", |_cx: &BuildContext| {
///     Ok(Box::new(steps::Reduce::new(Value::Int(0), |a: Value, v: &Value| {
///         Ok(Value::Int(a.as_i64().unwrap_or(0) + v.as_i64().unwrap_or(0)))
///     })) as Box<dyn Step>)
/// });
/// for _ in 0..2 {
///     let out = flow.run_events((1..=3).map(|i| Event::new(Value::Int(i)))).unwrap();
///     assert_eq!(out.result, Some(Value::Int(6)));
/// }
/// ```
pub trait StepFactory: Send + Sync {
    /// A new instance of the step, its tables taken from `cx`.
    fn build(&self, cx: &BuildContext) -> Result<Box<dyn Step>>;
}

/// A step given as a value ([`crate::Flow::then`]): each build clones it, so each instance
/// starts from the state the value had when it was added.
pub(crate) struct Prototype<S>(pub Mutex<S>);

impl<S: Step + Clone + 'static> StepFactory for Prototype<S> {
    fn build(&self, _cx: &BuildContext) -> Result<Box<dyn Step>> {
        Ok(Box::new(self.0.lock().clone()))
    }
}

/// A factory of `build` (what [`crate::Flow::then_with`] makes of its function).
pub fn from_fn<F>(build: F) -> Arc<dyn StepFactory>
where
    F: Fn(&BuildContext) -> Result<Box<dyn Step>> + Send + Sync + 'static,
{
    Arc::new(FnFactory(build))
}

/// A factory function.
pub(crate) struct FnFactory<F>(pub F);

impl<F> StepFactory for FnFactory<F>
where
    F: Fn(&BuildContext) -> Result<Box<dyn Step>> + Send + Sync,
{
    fn build(&self, cx: &BuildContext) -> Result<Box<dyn Step>> {
        (self.0)(cx)
    }
}
