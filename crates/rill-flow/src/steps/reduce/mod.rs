//! `reduce`: folds every event into an accumulator; the flow's termination result
//! (storey `Reduce`).

use crate::step::{Cx, Failure, Step, StepResult};
use rill_core::{Event, Record, Result, Value};
use std::sync::Arc;

super::cloneable_fn!(pub(crate) FoldBody: FnMut(&mut Value, &Event) -> Result<()>);
/// Updates the accumulator in place; leaves it unchanged when it fails.
type FoldFn = Box<dyn FoldBody>;

/// `acc = f(acc, body)` per event; `acc` is returned by `await_termination`. Terminal: it emits
/// nothing.
#[derive(Clone)]
pub struct Reduce {
    acc: Option<Value>,
    f: FoldFn,
}

impl Reduce {
    /// Folds bodies.
    pub fn new(
        initial: Value,
        mut f: impl FnMut(Value, &Value) -> Result<Value> + Clone + Send + 'static,
    ) -> Reduce {
        Reduce::by_ref(initial, move |a: &Value, e: &Event| f(a.clone(), &e.body))
    }
    /// Folds whole events (storey `full_event=True`).
    pub fn with_event(
        initial: Value,
        mut f: impl FnMut(Value, &Event) -> Result<Value> + Clone + Send + 'static,
    ) -> Reduce {
        Reduce::by_ref(initial, move |a: &Value, e: &Event| f(a.clone(), e))
    }
    /// Folds whole events, reading the accumulator by reference (no copy per event); the
    /// accumulator is unchanged when `f` fails.
    pub fn by_ref(
        initial: Value,
        mut f: impl FnMut(&Value, &Event) -> Result<Value> + Clone + Send + 'static,
    ) -> Reduce {
        Reduce::in_place(initial, move |acc: &mut Value, e: &Event| {
            *acc = f(acc, e)?;
            Ok(())
        })
    }
    /// Folds whole events by updating the accumulator in place (e.g. overwriting a record's
    /// fields, with no new record per event). `f` must leave the accumulator unchanged when it
    /// fails.
    pub fn in_place(
        initial: Value,
        f: impl FnMut(&mut Value, &Event) -> Result<()> + Clone + Send + 'static,
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
        (self.f)(acc, &event).map_err(|e| Failure::new(e, event))
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
        let f = crate::expr_fn::ExprFn::compile(&self.expr, &["acc"]).map_err(|e| e.at("expr"))?;
        // A record literal (`{n: acc.n + 1, …}`) has its fields evaluated into a scratch vector,
        // then swapped into the accumulator record once it has the literal's shape (from the
        // second event on), so a fold allocates nothing per event. Any other expression reads
        // `acc` by reference and replaces it.
        let mut scratch = Vec::new();
        Ok(Box::new(Reduce::in_place(
            self.initial.clone(),
            move |acc, e| {
                let Some(schema) = f.eval_record_fields(e, acc, &mut scratch)? else {
                    *acc = f.eval(e, &[acc])?;
                    return Ok(());
                };
                match acc {
                    Value::Record(r) if Arc::ptr_eq(r.schema(), schema) => {
                        r.values_mut().swap_with_slice(&mut scratch);
                        Value::clear_values(&mut scratch);
                    }
                    _ => {
                        let values = std::mem::take(&mut scratch);
                        *acc = Value::Record(Record::new(schema.clone(), values));
                    }
                }
                Ok(())
            },
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(x: Value) -> Event {
        Event::new(Record::from_pairs([("x", x)]))
    }

    fn fold(expr: &str, initial: &str, xs: Vec<Value>) -> (Value, Vec<String>) {
        let cfg: ReduceConfig =
            serde_json::from_str(&format!(r#"{{"initial": {initial}, "expr": "{expr}"}}"#))
                .unwrap();
        let mut step = cfg.build().unwrap();
        let mut cx = Cx::default();
        let mut errors = Vec::new();
        for x in xs {
            if let Err(f) = step.process(event(x), &mut cx) {
                errors.push(f.error.to_string());
            }
        }
        (step.terminate(&mut cx).unwrap().unwrap(), errors)
    }

    #[test]
    fn record_literal_folds_in_place_and_a_failure_leaves_the_accumulator_alone() {
        let xs = vec![
            Value::Int(1),
            Value::Float(2.5),
            Value::from("oops"),
            Value::Int(4),
        ];
        let (acc, errors) = fold(
            "{n: acc.n + 1, total: acc.total + x, last: x}",
            r#"{"n": 0, "total": 0}"#,
            xs,
        );
        assert_eq!(errors.len(), 1, "{errors:?}");
        let r = acc.as_record().unwrap();
        let names: Vec<&str> = r.schema().names().iter().map(|n| n.as_str()).collect();
        assert_eq!(names, ["n", "total", "last"]);
        assert_eq!(r.get("n"), Some(&Value::Int(3)));
        assert_eq!(r.get("total"), Some(&Value::Float(7.5)));
        assert_eq!(r.get("last"), Some(&Value::Int(4)));
    }

    #[test]
    fn other_expressions_fold_by_value() {
        let (acc, errors) = fold("acc + x", "0", (1..=4).map(Value::Int).collect());
        assert!(errors.is_empty());
        assert_eq!(acc, Value::Int(10));
    }
}
