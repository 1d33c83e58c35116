//! `reduce`: folds every event into an accumulator; the flow's termination result
//! (storey `Reduce`).

use crate::step::{Cx, Failure, Step, StepResult};
use rill_core::{Event, Result, Value};

type ReduceFn = Box<dyn FnMut(&Value, &Event) -> Result<Value> + Send>;

/// `acc = f(acc, body)` per event; `acc` is returned by `await_termination`. Terminal: it emits
/// nothing.
pub struct Reduce {
    acc: Option<Value>,
    f: ReduceFn,
}

impl Reduce {
    /// Folds bodies.
    pub fn new(
        initial: Value,
        mut f: impl FnMut(Value, &Value) -> Result<Value> + Send + 'static,
    ) -> Reduce {
        Reduce::by_ref(initial, move |a: &Value, e: &Event| f(a.clone(), &e.body))
    }
    /// Folds whole events (storey `full_event=True`).
    pub fn with_event(
        initial: Value,
        mut f: impl FnMut(Value, &Event) -> Result<Value> + Send + 'static,
    ) -> Reduce {
        Reduce::by_ref(initial, move |a: &Value, e: &Event| f(a.clone(), e))
    }
    /// Folds whole events, reading the accumulator by reference (no copy per event); the
    /// accumulator is unchanged when `f` fails.
    pub fn by_ref(
        initial: Value,
        f: impl FnMut(&Value, &Event) -> Result<Value> + Send + 'static,
    ) -> Reduce {
        Reduce {
            acc: Some(initial),
            f: Box::new(f),
        }
    }
}

impl Step for Reduce {
    fn process(&mut self, event: Event, _cx: &mut Cx) -> StepResult {
        let acc = self.acc.get_or_insert(Value::Null);
        match (self.f)(acc, &event) {
            Ok(a) => {
                *acc = a;
                Ok(())
            }
            Err(e) => Err(Failure::new(e, event)),
        }
    }
    fn terminate(&mut self, _cx: &mut Cx) -> Result<Option<Value>> {
        Ok(self.acc.take())
    }
}

/// YAML `reduce: {initial: 0, expr: "acc + x"}`: `acc` is the accumulator.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReduceConfig {
    /// The accumulator's initial value.
    pub initial: Value,
    /// The new accumulator, from `acc` and the event (body fields, `body`, `key`, `time`).
    pub expr: String,
    /// The step's name.
    #[serde(default)]
    pub name: Option<String>,
}

impl ReduceConfig {
    /// Builds the step.
    pub fn build(&self) -> Result<Box<dyn Step>> {
        let f = crate::config::ExprFn::compile(&self.expr, &["acc"])?;
        // by reference: the expression reads `acc`, it need not own a copy of it
        Ok(Box::new(Reduce::by_ref(
            self.initial.clone(),
            move |acc, e| f.eval(e, &[acc]),
        )))
    }
}
