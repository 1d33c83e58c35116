//! rill-expr: the small, sandboxed, CEL-flavoured expression language of rill's YAML pipelines
//! (filters, maps, keys, aggregation inputs, state updates). The language reference for users is
//! `docs/expressions.md`.
//!
//! An [`Expr`] is compiled once, against rill's own [`Value`]/[`rill_core::Record`]: names are
//! resolved at compile time, body fields go through [`rill_core::FieldSlot`] inline caches (one
//! integer compare per event), constant sub-expressions are folded, and evaluation borrows fields
//! and literals instead of copying them, so a filter such as `status == 'fail'` or
//! `x * 2 + 1 > y` allocates nothing per event.
//!
//! ```
//! use rill_core::{Record, Value};
//! use rill_expr::Expr;
//!
//! let filter = Expr::compile("activity_status == 'fail' && amount > 10", &[]).unwrap();
//! let body = Value::Record(Record::from_pairs([
//!     ("activity_status", Value::from("fail")),
//!     ("amount", Value::Int(12)),
//! ]));
//! assert!(filter.eval_bool(&body, &[]).unwrap());
//!
//! // variables are bound by position; `state` here is the second one
//! let update = Expr::compile("{count: state.count + 1, last: key}", &["key", "state"]).unwrap();
//! let state = Value::Record(Record::from_pairs([("count", Value::Int(4))]));
//! let out = update.eval(&body, &[&Value::from("u1"), &state]).unwrap();
//! assert_eq!(out.get("count"), Some(&Value::Int(5)));
//! ```
//!
//! Modules: [`lexer`](crate) → `parser` (syntax tree) → `compile` (name resolution, folding) →
//! `eval` (with `ops` for operators and `functions` for built-ins).

mod compile;
mod eval;
mod functions;
mod lexer;
mod node;
mod num;
mod ops;
mod parser;
mod value_fmt;

use eval::{Ctx, EvalError, MAX_WORK};
use node::Node;
use rill_core::{Error, Result, Value};
use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;
use std::sync::Arc;

/// A compiled expression.
///
/// `Clone + Send`: give each worker thread its own clone. (Not `Sync`: the field caches inside are
/// per instance, which is what makes a field read an integer compare.)
#[derive(Clone)]
pub struct Expr {
    src: Arc<str>,
    root: Node,
    vars: Arc<[String]>,
    body_fields: Arc<[String]>,
}

impl fmt::Debug for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Expr").field(&&*self.src).finish()
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.src)
    }
}

impl Expr {
    /// Compiles `src`. `vars` are the names the caller will bind at evaluation time, by position
    /// (e.g. `["key", "time", "state"]`); they take precedence over body fields. `body` always
    /// means the `body` argument of `eval`: listing it is allowed (so callers can bind the same
    /// variables everywhere) and its position is then simply not read. Any other bare name is a
    /// body field.
    ///
    /// Errors ([`Error::Expr`]) give the column and what was expected, e.g.
    /// ``expression `x +`: column 4: expected a value, name or '(', found end of input``.
    pub fn compile(src: &str, vars: &[&str]) -> Result<Expr> {
        let error = |reason: String| Error::Expr {
            expr: src.to_string(),
            reason,
        };
        for (i, v) in vars.iter().enumerate() {
            if vars[..i].contains(v) {
                return Err(error(format!("variable '{v}' is listed twice")));
            }
        }
        let compiled = parser::parse(src).and_then(|ast| {
            let mut c = compile::Compiler::new(vars);
            let root = c.compile_root(&ast)?;
            Ok((root, c.body_fields))
        });
        let (root, body_fields) =
            compiled.map_err(|e| error(format!("column {}: {}", e.col, e.msg)))?;
        Ok(Expr {
            src: Arc::from(src),
            root,
            vars: vars.iter().map(|v| v.to_string()).collect(),
            body_fields: body_fields.into(),
        })
    }

    /// Evaluates to an owned value. Prefer [`Expr::eval_cow`] when the result is only inspected
    /// (a key, a field to aggregate), which avoids copying a field that is returned as is.
    pub fn eval(&self, body: &Value, vars: &[&Value]) -> Result<Value> {
        // built results (records, numbers) come back as values, with no Cow around them
        self.with_cx(body, vars, |cx| {
            eval::eval_owned(&self.root, cx).map_err(|e| self.eval_error(e))
        })
    }

    /// Evaluates, borrowing the result when it is a field of `body`, a variable or a constant.
    ///
    /// `vars` must have one value per name given to [`Expr::compile`].
    pub fn eval_cow<'a>(&'a self, body: &'a Value, vars: &[&'a Value]) -> Result<Cow<'a, Value>> {
        self.with_cx(body, vars, |cx| {
            eval::eval(&self.root, cx).map_err(|e| self.eval_error(e))
        })
    }

    /// For a record literal (`{n: acc.n + 1, total: acc.total + x}`): evaluates its fields into
    /// `out` (cleared first), in the literal's order, and returns the literal's schema, the same
    /// `Arc` at every call. A caller that keeps the previous result (a fold's accumulator) can
    /// then overwrite that record's values in place instead of building a new record per event.
    /// Returns `Ok(None)`, touching nothing, when the expression is not a record literal.
    ///
    /// ```
    /// use rill_core::{Record, Value};
    /// use rill_expr::Expr;
    ///
    /// let e = Expr::compile("{n: acc.n + 1, last: x}", &["acc"]).unwrap();
    /// let acc = Value::Record(Record::from_pairs([("n", Value::Int(1)), ("last", Value::Null)]));
    /// let body = Value::Record(Record::from_pairs([("x", Value::Int(7))]));
    /// let mut out = Vec::new();
    /// let schema = e.eval_record_fields(&body, &[&acc], &mut out).unwrap().unwrap();
    /// assert_eq!(schema.names(), ["n", "last"]);
    /// assert_eq!(out, [Value::Int(2), Value::Int(7)]);
    /// ```
    pub fn eval_record_fields(
        &self,
        body: &Value,
        vars: &[&Value],
        out: &mut Vec<Value>,
    ) -> Result<Option<&Arc<rill_core::Schema>>> {
        let Node::Record { schema, fields } = &self.root else {
            return Ok(None);
        };
        self.with_cx(body, vars, |cx| {
            // scalars (a fold's usual fields) are forgotten, not dropped one call at a time
            Value::clear_values(out);
            eval::record_into(fields, cx, out).map_err(|e| self.eval_error(e))
        })?;
        Ok(Some(schema))
    }

    /// Evaluates a predicate (filters). `true`/`false` as is; **null counts as false** (as a SQL
    /// `WHERE` treats NULL), so `flag` drops events whose `flag` is null. Any other type is an
    /// error naming it. A missing field is an error, as everywhere: guard it with `has(x)`.
    pub fn eval_bool(&self, body: &Value, vars: &[&Value]) -> Result<bool> {
        if eval::is_pred(&self.root) {
            // comparisons and logic: evaluated straight to a bool
            return self.with_cx(body, vars, |cx| {
                eval::eval_pred(&self.root, cx, "").map_err(|e| self.eval_error(e))
            });
        }
        match &*self.eval_cow(body, vars)? {
            Value::Bool(b) => Ok(*b),
            Value::Null => Ok(false),
            other => Err(self.error(format!(
                "expected a bool, got {}",
                value_fmt::describe(other)
            ))),
        }
    }

    /// Evaluates a number (aggregation inputs). Ints, floats and bools (`true` = 1, as storey
    /// aggregates them) give `Some`; **a null result or a missing field gives `None`** (the
    /// event has no value to aggregate). Other types are errors.
    pub fn eval_f64(&self, body: &Value, vars: &[&Value]) -> Result<Option<f64>> {
        self.with_cx(body, vars, |cx| {
            // the fast numeric path covers fields, constants and arithmetic on them
            match num::num(&self.root, cx) {
                ops::Num::Int(i) => return Ok(Some(i as f64)),
                ops::Num::Float(f) => return Ok(Some(f)),
                ops::Num::No => {}
            }
            match eval::eval(&self.root, cx) {
                Ok(v) => match &*v {
                    Value::Null => Ok(None),
                    Value::Int(_) | Value::Float(_) | Value::Bool(_) => Ok(v.as_f64()),
                    other => Err(self.error(format!(
                        "expected a number, got {}",
                        value_fmt::describe(other)
                    ))),
                },
                Err(EvalError::Missing(_)) => Ok(None),
                Err(e) => Err(self.eval_error(e)),
            }
        })
    }

    /// Runs `f` with an evaluation context over `body` and `vars` (a fresh work budget), after
    /// checking that `vars` has one value per variable given to [`Expr::compile`].
    #[inline]
    fn with_cx<'a, R>(
        &self,
        body: &'a Value,
        vars: &[&'a Value],
        f: impl FnOnce(&Ctx<'a, '_>) -> Result<R>,
    ) -> Result<R> {
        if vars.len() != self.vars.len() {
            return Err(self.error(format!(
                "expected {} variable value(s) ({}), got {}",
                self.vars.len(),
                self.vars.join(", "),
                vars.len()
            )));
        }
        let budget = Cell::new(MAX_WORK);
        let cx = Ctx {
            body,
            vars,
            locals: None,
            budget: &budget,
        };
        f(&cx)
    }

    /// The expression text.
    pub fn source(&self) -> &str {
        &self.src
    }

    /// The variable names given to [`Expr::compile`].
    pub fn vars(&self) -> &[String] {
        &self.vars
    }

    /// Body fields the expression reads (bare names, `body.x`, `body['x']`), in order of first
    /// use. A slice rather than a `Vec`: it is computed once, at compile time.
    pub fn body_fields(&self) -> &[String] {
        &self.body_fields
    }

    /// The value, when the whole expression is a constant (e.g. `true`, `1 + 2`).
    pub fn as_constant(&self) -> Option<&Value> {
        match &self.root {
            Node::Const(v) => Some(v),
            _ => None,
        }
    }

    fn error(&self, reason: String) -> Error {
        Error::Expr {
            expr: self.src.to_string(),
            reason,
        }
    }

    fn eval_error(&self, e: EvalError) -> Error {
        self.error(match e {
            EvalError::Missing(path) => format!("field '{path}' is missing"),
            EvalError::Failed(m) => m,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expr_is_clone_and_send() {
        fn check<T: Clone + Send + 'static>() {}
        check::<Expr>();
    }

    #[test]
    fn variable_names_are_checked() {
        // `body` may be listed; it still means the body argument (and gets field slots)
        let b = Expr::compile("body.x + x", &["body", "key"]).unwrap();
        let body = Value::Record(rill_core::Record::from_pairs([("x", Value::Int(2))]));
        assert_eq!(
            b.eval(&body, &[&Value::Null, &Value::Null]).unwrap(),
            Value::Int(4)
        );
        assert_eq!(b.body_fields(), ["x"]);
        let e = Expr::compile("1", &["k", "k"]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "expression `1`: variable 'k' is listed twice"
        );
        let x = Expr::compile("k", &["k", "s"]).unwrap();
        let e = x.eval(&Value::Null, &[&Value::Int(1)]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "expression `k`: expected 2 variable value(s) (k, s), got 1"
        );
        assert_eq!(x.vars(), ["k", "s"]);
        assert_eq!(format!("{x:?} {x}"), "Expr(\"k\") k");
    }
}
