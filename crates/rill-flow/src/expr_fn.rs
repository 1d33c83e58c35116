//! Expressions over events: the variables every step expression sees.

use rill_core::{Event, Result, Schema, Value};
use rill_expr::Expr;
use std::sync::Arc;

/// Variables bound in every step expression, besides the body's fields as bare names:
/// `body` (the whole body), `key` (the event key), `time` (the event time).
pub const EVENT_VARS: [&str; 3] = ["body", "key", "time"];

/// A compiled expression evaluated against an event (plus step-specific variables such as
/// `state` or `acc`, bound after the event variables).
#[derive(Clone)]
pub struct ExprFn {
    expr: Expr,
}

impl ExprFn {
    /// Compiles `src`; `extra` names variables passed to [`ExprFn::eval`] after the event's.
    pub fn compile(src: &str, extra: &[&str]) -> Result<ExprFn> {
        let vars: Vec<&str> = EVENT_VARS
            .iter()
            .copied()
            .chain(extra.iter().copied())
            .collect();
        Ok(ExprFn {
            expr: Expr::compile(src, &vars)?,
        })
    }
    /// The expression text.
    pub fn source(&self) -> &str {
        self.expr.source()
    }
    /// Evaluates against an event.
    #[inline]
    pub fn eval(&self, e: &Event, extra: &[&Value]) -> Result<Value> {
        with_vars(e, extra, |vars| self.expr.eval(&e.body, vars))
    }
    /// Evaluates a condition against an event.
    #[inline]
    pub fn eval_bool(&self, e: &Event, extra: &[&Value]) -> Result<bool> {
        with_vars(e, extra, |vars| self.expr.eval_bool(&e.body, vars))
    }
    /// [`Expr::eval_record_fields`] against an event, with one extra variable (e.g. `acc`).
    #[inline]
    pub fn eval_record_fields(
        &self,
        e: &Event,
        extra: &Value,
        out: &mut Vec<Value>,
    ) -> Result<Option<&Arc<Schema>>> {
        with_vars(e, &[extra], |vars| {
            self.expr.eval_record_fields(&e.body, vars, out)
        })
    }
    /// Evaluates to a number (null or missing → `None`), for aggregation inputs.
    #[inline]
    pub fn eval_f64(&self, e: &Event) -> Result<Option<f64>> {
        with_vars(e, &[], |vars| self.expr.eval_f64(&e.body, vars))
    }
}

/// Calls `f` with the variable values of an [`ExprFn`]: the event's ([`EVENT_VARS`]), then
/// `extra`. Up to one extra variable they are bound on the stack (no allocation per event).
#[inline]
fn with_vars<R>(e: &Event, extra: &[&Value], f: impl FnOnce(&[&Value]) -> R) -> R {
    let time = Value::Time(e.time);
    match extra {
        [] => f(&[&e.body, &e.key, &time]),
        [a] => f(&[&e.body, &e.key, &time, a]),
        _ => {
            let vars: Vec<&Value> = [&e.body, &e.key, &time]
                .into_iter()
                .chain(extra.iter().copied())
                .collect();
            f(&vars)
        }
    }
}
