//! Evaluator. Every node evaluates to a `Cow<Value>`: field reads and constants are *borrowed*
//! from the event or the compiled expression, so `status == 'fail'` or `x * 2 + 1 > y` allocate
//! nothing; only values that are built (lists, records, long strings) are owned.

use crate::functions;
use crate::node::{MacroKind, Node};
use crate::num;
use crate::ops;
use crate::ops::Num;
use crate::parser::BinOp;
use crate::value_fmt::describe;
use rill_core::{FieldSlot, Record, Schema, Str, Value};
use std::borrow::Cow;
use std::cell::Cell;
use std::sync::Arc;

/// Why an evaluation failed. `Missing` is separate so aggregation inputs can treat an absent
/// field as "no value" while filters and maps report it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum EvalError {
    /// A field that is not there; the path names it (`x`, `state.count`).
    Missing(Str),
    /// Anything else, as a message for the user.
    Failed(String),
}

pub(crate) type EResult<T> = Result<T, EvalError>;

/// Shorthand for a failed evaluation.
pub(crate) fn fail<T>(msg: impl Into<String>) -> EResult<T> {
    Err(EvalError::Failed(msg.into()))
}

/// Upper bound on the work of one evaluation (elements made by `range()` plus macro iterations),
/// so that `range(1000000).map(i, range(1000000))` fails cleanly instead of exhausting memory.
pub(crate) const MAX_WORK: u64 = 10_000_000;

static NULL: Value = Value::Null;

/// What an evaluation can see. `'a` is the lifetime of values (event, variables, constants);
/// `'c` that of the context's own bookkeeping.
#[derive(Clone, Copy)]
pub(crate) struct Ctx<'a, 'c> {
    pub body: &'a Value,
    pub vars: &'c [&'a Value],
    pub locals: Option<&'c Locals<'a, 'c>>,
    /// Remaining work budget (see [`MAX_WORK`]).
    pub budget: &'c Cell<u64>,
}

/// The loop variables of the macros being evaluated, innermost first, as a linked list on the
/// stack (no allocation per iteration).
pub(crate) struct Locals<'a, 'c> {
    value: &'a Value,
    parent: Option<&'c Locals<'a, 'c>>,
}

/// Takes `n` units from the work budget.
pub(crate) fn charge(budget: &Cell<u64>, n: u64) -> EResult<()> {
    match budget.get().checked_sub(n) {
        Some(left) => {
            budget.set(left);
            Ok(())
        }
        None => fail(format!(
            "evaluation is too large (more than {MAX_WORK} elements or iterations)"
        )),
    }
}

/// Evaluates a node with no event (used to fold constants at compile time).
pub(crate) fn eval_const(node: &Node) -> EResult<Value> {
    let budget = Cell::new(MAX_WORK);
    let cx = Ctx {
        body: &NULL,
        vars: &[],
        locals: None,
        budget: &budget,
    };
    eval(node, &cx).map(Cow::into_owned)
}

fn want_bool(v: &Value, what: &str) -> EResult<bool> {
    match v {
        Value::Bool(b) => Ok(*b),
        other => fail(format!("{what} needs a bool, got {}", describe(other))),
    }
}

/// Where a macro's predicate sits, for the "needs a bool" message.
fn macro_what(kind: MacroKind) -> &'static str {
    match kind {
        MacroKind::Map => "the condition of map()",
        MacroKind::Filter => "the expression of filter()",
        MacroKind::All => "the expression of all()",
        MacroKind::Exists => "the expression of exists()",
        MacroKind::ExistsOne => "the expression of exists_one()",
    }
}

/// True for nodes that [`eval_pred`] evaluates without building a `Value`.
pub(crate) fn is_pred(node: &Node) -> bool {
    match node {
        Node::Binary { op, .. } => op.is_comparison(),
        Node::And(..) | Node::Or(..) | Node::Not(_) | Node::Has(_) => true,
        _ => false,
    }
}

/// Evaluates `node`.
///
/// The hot shapes (constants, fields, operators, logic) are handled here, with leaves read
/// inline by [`operand`]; everything that builds values lives in [`eval_other`], kept out of line
/// so this function's stack frame stays small (each level of recursion pays for it).
pub(crate) fn eval<'a>(node: &'a Node, cx: &Ctx<'a, '_>) -> EResult<Cow<'a, Value>> {
    match node {
        Node::Const(v) => Ok(Cow::Borrowed(v)),
        Node::Field { slot, path } => field(slot, path, cx).map(Cow::Borrowed),
        Node::Member { obj, slot, path } => {
            // a field of a variable or of a path: borrowed with no Cow per level
            if let Some(Value::Record(r)) = path_ref(obj, cx) {
                return match slot.get(r) {
                    Some(v) => Ok(Cow::Borrowed(v)),
                    None => Err(EvalError::Missing(path.clone())),
                };
            }
            eval_other(node, cx)
        }
        Node::Binary { op, l, r, fast } => {
            if *fast && !op.is_comparison() {
                if let Some(v) = num::num(node, cx).value() {
                    return Ok(Cow::Owned(v));
                }
            }
            with_operand(l, cx, |a| with_operand(r, cx, |b| ops::binary(*op, a, b))).map(Cow::Owned)
        }
        Node::Neg(e) => {
            if let Some(v) = num::num(node, cx).value() {
                return Ok(Cow::Owned(v));
            }
            with_operand(e, cx, ops::neg).map(Cow::Owned)
        }
        Node::Add { l, r, merge, fast } => {
            if *fast {
                if let Some(v) = num::num(node, cx).value() {
                    return Ok(Cow::Owned(v));
                }
            }
            let l = operand(l, cx)?;
            if let (Node::Record { schema, fields }, Value::Record(_)) = (&**r, &*l) {
                // `body + {x: …}`: the literal's values go straight into the merged record
                return ops::merge_literal(l, schema, merge, |i| match fields.get(i) {
                    Some(f) => eval_owned(f, cx),
                    None => fail("internal: record literal changed shape"),
                })
                .map(Cow::Owned);
            }
            let r = operand(r, cx)?;
            ops::add(l, r, merge).map(Cow::Owned)
        }
        Node::And(..) | Node::Or(..) | Node::Not(_) | Node::Has(_) => {
            eval_pred(node, cx, "").map(|b| Cow::Owned(Value::Bool(b)))
        }
        Node::Cond(c, a, b) => {
            if eval_pred(c, cx, "the condition of '? :'")? {
                eval(a, cx)
            } else {
                eval(b, cx)
            }
        }
        _ => eval_other(node, cx),
    }
}

/// The value a path (`body`, a variable, a loop variable, a body field, `a.b.c` on them) refers
/// to, by reference; `None` when `node` is not such a path or does not resolve (the caller then
/// takes the general path, which reports why). Never fails and never allocates.
pub(crate) fn path_ref<'a>(node: &'a Node, cx: &Ctx<'a, '_>) -> Option<&'a Value> {
    match node {
        Node::Var(i) => cx.vars.get(*i).copied(),
        Node::Field { slot, .. } => body_get(slot, cx.body),
        Node::Member { obj, slot, .. } => match path_ref(obj, cx)? {
            Value::Record(r) => slot_get(slot, r),
            _ => None,
        },
        Node::Body => Some(cx.body),
        Node::Local(depth) => {
            let mut l = cx.locals;
            for _ in 0..*depth {
                l = l?.parent;
            }
            l.map(|l| l.value)
        }
        _ => None,
    }
}

/// `slot`'s value in `r`, inlined here (one compare of the cached schema id).
#[inline(always)]
pub(crate) fn slot_get<'a>(slot: &FieldSlot, r: &'a Record) -> Option<&'a Value> {
    slot.index(r.schema()).and_then(|i| r.values().get(i))
}

/// A body field's value, if the body is a record that has it.
#[inline(always)]
pub(crate) fn body_get<'a>(slot: &FieldSlot, body: &'a Value) -> Option<&'a Value> {
    match body {
        Value::Record(r) => slot_get(slot, r),
        _ => None,
    }
}

/// Evaluates `node` to an owned value (an element of a record, list or map result). Numeric
/// arithmetic goes straight to its `Value`, without a `Cow` around it.
#[inline]
pub(crate) fn eval_owned<'a>(node: &'a Node, cx: &Ctx<'a, '_>) -> EResult<Value> {
    match node {
        Node::Add { fast: true, .. } => {
            if let Some(v) = num::num(node, cx).value() {
                return Ok(v);
            }
        }
        Node::Binary { op, fast: true, .. } if !op.is_comparison() => {
            if let Some(v) = num::num(node, cx).value() {
                return Ok(v);
            }
        }
        Node::Binary { op, .. } if op.is_comparison() => {
            return eval_pred(node, cx, "").map(Value::Bool)
        }
        Node::Const(v) => return Ok(v.clone()),
        Node::Field { slot, path } => return field(slot, path, cx).cloned(),
        Node::Record { schema, fields } => return record(schema, fields, cx).map(Value::Record),
        _ => {}
    }
    eval(node, cx).map(Cow::into_owned)
}

/// A body field (the common leaf).
#[inline(always)]
fn field<'a>(slot: &rill_core::FieldSlot, path: &Str, cx: &Ctx<'a, '_>) -> EResult<&'a Value> {
    match slot.get_in(cx.body) {
        Some(v) => Ok(v),
        None => Err(field_error(path, cx.body)),
    }
}

#[cold]
fn field_error(path: &Str, body: &Value) -> EvalError {
    match body {
        Value::Record(_) => EvalError::Missing(path.clone()),
        other => EvalError::Failed(format!(
            "cannot read field '{path}': the body is {}, not a record",
            describe(other)
        )),
    }
}

/// Calls `f` with an operand's value: leaves are passed by reference with no `Cow` to build or
/// drop, anything else goes through [`eval`].
#[inline(always)]
fn with_operand<'a, R>(
    node: &'a Node,
    cx: &Ctx<'a, '_>,
    f: impl FnOnce(&Value) -> EResult<R>,
) -> EResult<R> {
    match node {
        Node::Const(v) => f(v),
        Node::Field { slot, path } => f(field(slot, path, cx)?),
        _ => f(&*eval(node, cx)?),
    }
}

/// An operator's operand: leaves inline, anything else through [`eval`].
#[inline(always)]
fn operand<'a>(node: &'a Node, cx: &Ctx<'a, '_>) -> EResult<Cow<'a, Value>> {
    match node {
        Node::Const(v) => Ok(Cow::Borrowed(v)),
        Node::Field { slot, path } => field(slot, path, cx).map(Cow::Borrowed),
        _ => eval(node, cx),
    }
}

/// Evaluates a node that must give a bool (`what` names the place for the error message; ""
/// means the node itself is a predicate and so cannot give anything else). Logic and
/// comparisons are evaluated here without materialising intermediate `Value`s.
pub(crate) fn eval_pred<'a>(node: &'a Node, cx: &Ctx<'a, '_>, what: &'static str) -> EResult<bool> {
    match node {
        Node::Binary { op, l, r, fast } if op.is_comparison() => {
            if *fast {
                if let Some(b) = num::num_compare(*op, num::operand(l, cx), num::operand(r, cx)) {
                    return Ok(b);
                }
            }
            with_operand(l, cx, |a| {
                with_operand(r, cx, |b| ops::compare_op(*op, a, b))
            })
        }
        Node::And(l, r) => Ok(eval_pred(l, cx, "'&&'")? && eval_pred(r, cx, "'&&'")?),
        Node::Or(l, r) => Ok(eval_pred(l, cx, "'||'")? || eval_pred(r, cx, "'||'")?),
        Node::Not(e) => Ok(!eval_pred(e, cx, "'!'")?),
        // has() never fails: anything that cannot be resolved is simply "not there"
        Node::Has(e) => Ok(matches!(eval_opt(e, cx), Ok(Some(v)) if !v.is_null())),
        _ => want_bool(&*operand(node, cx)?, what),
    }
}

/// The less frequent nodes: variables, paths, constructors, calls, macros.
#[inline(never)]
fn eval_other<'a>(node: &'a Node, cx: &Ctx<'a, '_>) -> EResult<Cow<'a, Value>> {
    use Cow::{Borrowed, Owned};
    Ok(match node {
        Node::Const(v) => Borrowed(v),
        Node::Body => Borrowed(cx.body),
        Node::Var(i) => match cx.vars.get(*i) {
            Some(v) => Borrowed(*v),
            None => return fail(format!("variable #{} was not given a value", i + 1)),
        },
        Node::Local(depth) => {
            let mut l = cx.locals;
            for _ in 0..*depth {
                l = l.and_then(|l| l.parent);
            }
            match l {
                Some(l) => Borrowed(l.value),
                None => return fail("internal: loop variable out of scope"),
            }
        }
        Node::Field { slot, path } => Borrowed(field(slot, path, cx)?),
        Node::Member { obj, slot, path } => match eval(obj, cx)? {
            Borrowed(Value::Record(r)) => match slot.get(r) {
                Some(v) => Borrowed(v),
                None => return Err(EvalError::Missing(path.clone())),
            },
            Owned(Value::Record(mut r)) => match slot.index(r.schema()) {
                // the record is ours: move the field out instead of cloning it
                Some(i) => Owned(std::mem::take(&mut r.values_mut()[i])),
                None => return Err(EvalError::Missing(path.clone())),
            },
            other => {
                return fail(format!(
                    "cannot read field '{}' of {}",
                    slot.name(),
                    describe(&other)
                ))
            }
        },
        Node::Index { obj, idx, path } => {
            let o = eval(obj, cx)?;
            let i = eval(idx, cx)?;
            match index(o, &i, path)? {
                Some(v) => v,
                None => return Err(EvalError::Missing(key_path(path, &i))),
            }
        }
        Node::Binary { .. }
        | Node::Neg(_)
        | Node::Add { .. }
        | Node::And(..)
        | Node::Or(..)
        | Node::Not(_)
        | Node::Has(_)
        | Node::Cond(..) => eval(node, cx)?,
        Node::List(items) => {
            let mut out = Vec::with_capacity(items.len());
            for it in items {
                out.push(eval_owned(it, cx)?);
            }
            Owned(Value::List(out))
        }
        Node::Record { schema, fields } => Owned(Value::Record(record(schema, fields, cx)?)),
        Node::IsNull(e) => Owned(Value::Bool(eval_opt(e, cx)?.is_none_or(|v| v.is_null()))),
        Node::Coalesce(items) => {
            for it in items {
                if let Some(v) = eval_opt(it, cx)? {
                    if !v.is_null() {
                        return Ok(v);
                    }
                }
            }
            Borrowed(&NULL)
        }
        Node::Call { func, args } => Owned(call(*func, args, cx)?),
        Node::Macro {
            kind,
            list,
            pred,
            body,
        } => eval_macro(*kind, list, pred.as_deref(), body, cx)?,
    })
}

/// A record literal: the values are evaluated straight into a vector of the exact size, numeric
/// fields (`acc.n + x`) through the fast path with no `Result<Value>` in between, over the schema
/// built at compile time.
#[inline(never)]
fn record<'a>(
    schema: &Arc<Schema>,
    fields: &'a [Node],
    cx: &Ctx<'a, '_>,
) -> EResult<rill_core::Record> {
    let mut vals = Vec::with_capacity(fields.len());
    record_into(fields, cx, &mut vals)?;
    Ok(rill_core::Record::new(schema.clone(), vals))
}

/// Appends a record literal's field values to `out`. After an error the remaining fields are not
/// evaluated, and the first error is returned.
#[inline]
pub(crate) fn record_into<'a>(
    fields: &'a [Node],
    cx: &Ctx<'a, '_>,
    out: &mut Vec<Value>,
) -> EResult<()> {
    // extended from an exact-size iterator, so each value is written straight into its slot
    // (pushing went through a stack temporary: a store-forwarding stall per field)
    let mut error = None;
    out.extend(fields.iter().map(|f| {
        if error.is_some() {
            return Value::Null;
        }
        let n = match f {
            Node::Add {
                l, r, fast: true, ..
            } => ops::num_arith(BinOp::Add, num::operand(l, cx), num::operand(r, cx)),
            Node::Binary {
                op,
                l,
                r,
                fast: true,
            } if !op.is_comparison() => {
                ops::num_arith(*op, num::operand(l, cx), num::operand(r, cx))
            }
            _ => Num::No,
        };
        match n {
            Num::Int(i) => Value::Int(i),
            Num::Float(x) => Value::Float(x),
            Num::No => eval_owned(f, cx).unwrap_or_else(|e| {
                error = Some(e);
                Value::Null
            }),
        }
    }));
    match error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// The path of `obj[key]` for a "missing" message.
fn key_path(obj_path: &str, key: &Value) -> Str {
    let k = key.as_str().map_or_else(|| key.to_string(), str::to_string);
    match obj_path {
        "" | "body" => Str::from(k),
        p => Str::from(format!("{p}.{k}")),
    }
}

/// `obj[idx]`: `Ok(None)` for a missing record field, an error for anything else that fails.
fn index<'a>(obj: Cow<'a, Value>, idx: &Value, path: &str) -> EResult<Option<Cow<'a, Value>>> {
    match (&*obj, idx) {
        (Value::List(l), Value::Int(i)) => {
            let len = l.len();
            // negative positions count from the end, as in Python
            let pos = if *i < 0 {
                i.checked_add(len as i64)
            } else {
                Some(*i)
            };
            let Some(pos) = pos
                .filter(|p| (0..len as i64).contains(p))
                .map(|p| p as usize)
            else {
                return fail(format!("index {i} is out of range for a list of {len}"));
            };
            Ok(Some(match obj {
                Cow::Borrowed(Value::List(l)) => Cow::Borrowed(&l[pos]),
                Cow::Owned(Value::List(mut l)) => Cow::Owned(l.swap_remove(pos)),
                _ => return fail("internal: list changed shape"),
            }))
        }
        (Value::Record(r), Value::Str(k)) => {
            let Some(pos) = r.schema().index_of(k) else {
                return Ok(None);
            };
            Ok(Some(match obj {
                Cow::Borrowed(Value::Record(r)) => Cow::Borrowed(r.get_at(pos)),
                Cow::Owned(Value::Record(mut r)) => {
                    Cow::Owned(std::mem::take(&mut r.values_mut()[pos]))
                }
                _ => return fail("internal: record changed shape"),
            }))
        }
        (o, i) => {
            let what = if path.is_empty() {
                String::new()
            } else {
                format!(" ({path})")
            };
            fail(format!(
                "cannot index {}{what} with {}",
                describe(o),
                describe(i)
            ))
        }
    }
}

/// Like [`eval`], but a path (field, member, index) that does not resolve is `None` instead of an
/// error. Used by `has()`, `is_null()` and `coalesce()`.
fn eval_opt<'a>(node: &'a Node, cx: &Ctx<'a, '_>) -> EResult<Option<Cow<'a, Value>>> {
    match node {
        Node::Field { slot, .. } => Ok(slot.get_in(cx.body).map(Cow::Borrowed)),
        Node::Member { obj, slot, .. } => Ok(match eval_opt(obj, cx)? {
            Some(Cow::Borrowed(Value::Record(r))) => slot.get(r).map(Cow::Borrowed),
            Some(Cow::Owned(Value::Record(mut r))) => slot
                .index(r.schema())
                .map(|i| Cow::Owned(std::mem::take(&mut r.values_mut()[i]))),
            _ => None,
        }),
        Node::Index { obj, idx, path } => match eval_opt(obj, cx)? {
            None => Ok(None),
            Some(o) => {
                let i = eval(idx, cx)?;
                match (&*o, &*i) {
                    // an index past the end is "not there", not an error, inside has()/coalesce()
                    (Value::List(l), Value::Int(n))
                        if *n >= l.len() as i64 || *n < -(l.len() as i64) =>
                    {
                        Ok(None)
                    }
                    (Value::List(_) | Value::Record(_), _) => index(o, &i, path),
                    _ => Ok(None),
                }
            }
        },
        _ => eval(node, cx).map(Some),
    }
}

#[inline(never)]
fn call(func: functions::Func, args: &[Node], cx: &Ctx<'_, '_>) -> EResult<Value> {
    // up to four arguments live on the stack: no allocation per call
    if args.len() <= 4 {
        let mut buf: [Cow<'_, Value>; 4] = [
            Cow::Borrowed(&NULL),
            Cow::Borrowed(&NULL),
            Cow::Borrowed(&NULL),
            Cow::Borrowed(&NULL),
        ];
        for (slot, a) in buf.iter_mut().zip(args) {
            *slot = eval(a, cx)?;
        }
        functions::call(func, &buf[..args.len()], cx.budget)
    } else {
        let vals = args
            .iter()
            .map(|a| eval(a, cx))
            .collect::<EResult<Vec<_>>>()?;
        functions::call(func, &vals, cx.budget)
    }
}

#[inline(never)]
fn eval_macro<'a>(
    kind: MacroKind,
    list: &'a Node,
    pred: Option<&'a Node>,
    body: &'a Node,
    cx: &Ctx<'a, '_>,
) -> EResult<Cow<'a, Value>> {
    let list = eval(list, cx)?;
    let Value::List(items) = &*list else {
        return fail(format!(
            "{}() needs a list, got {}",
            kind.name(),
            describe(&list)
        ));
    };
    let mut out = Vec::new();
    let mut count = 0usize;
    for item in items {
        charge(cx.budget, 1)?;
        let frame = Locals {
            value: item,
            parent: cx.locals,
        };
        let inner = Ctx {
            body: cx.body,
            vars: cx.vars,
            locals: Some(&frame),
            budget: cx.budget,
        };
        match kind {
            MacroKind::Map => {
                if let Some(p) = pred {
                    if !eval_pred(p, &inner, macro_what(kind))? {
                        continue;
                    }
                }
                out.push(eval_owned(body, &inner)?);
            }
            MacroKind::Filter => {
                if eval_pred(body, &inner, macro_what(kind))? {
                    out.push(item.clone());
                }
            }
            MacroKind::All => {
                if !eval_pred(body, &inner, macro_what(kind))? {
                    return Ok(Cow::Owned(Value::Bool(false)));
                }
            }
            MacroKind::Exists => {
                if eval_pred(body, &inner, macro_what(kind))? {
                    return Ok(Cow::Owned(Value::Bool(true)));
                }
            }
            MacroKind::ExistsOne => {
                count += usize::from(eval_pred(body, &inner, macro_what(kind))?)
            }
        }
    }
    Ok(Cow::Owned(match kind {
        MacroKind::Map | MacroKind::Filter => Value::List(out),
        MacroKind::All => Value::Bool(true),
        MacroKind::Exists => Value::Bool(false),
        MacroKind::ExistsOne => Value::Bool(count == 1),
    }))
}
