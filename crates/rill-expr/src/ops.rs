//! Operator semantics: arithmetic, comparison, membership, and `+` on strings, lists and records.
//!
//! Decisions (documented in docs/expressions.md):
//! * int op int stays int, checked: overflow is an error, never a wrap.
//! * `/` is true division and always gives a float (Python 3); `//` is floor division (int for
//!   ints) and `%` takes the sign of the divisor (Python). Division or modulo by zero is an error.
//! * Mixed int and float gives float. Bools are not numbers here (`true + 1` is an error).
//! * `==`/`!=` never fail: values of different types are unequal, except `1 == 1.0`.
//! * `<`, `<=`, `>`, `>=` compare numbers, strings, timestamps and bools; anything else (null
//!   included) is an error naming both sides. A NaN compares false.

use crate::eval::{fail, EResult};
use crate::node::{MergeCache, MergePlan};
use crate::parser::BinOp;
use crate::value_fmt::describe;
use rill_core::{Record, Schema, Str, Value};
use std::borrow::Cow;
use std::cmp::Ordering;
use std::sync::Arc;

/// Unary minus.
pub(crate) fn neg(v: &Value) -> EResult<Value> {
    match v {
        Value::Int(i) => match i.checked_neg() {
            Some(n) => Ok(Value::Int(n)),
            None => fail(format!("integer overflow in -({i})")),
        },
        Value::Float(f) => Ok(Value::Float(-f)),
        other => fail(format!("cannot negate {}", describe(other))),
    }
}

/// Every binary operator except `+` (see [`add`]).
pub(crate) fn binary(op: BinOp, l: &Value, r: &Value) -> EResult<Value> {
    if op.is_comparison() {
        compare_op(op, l, r).map(Value::Bool)
    } else {
        arith(op, l, r)
    }
}

/// The operators that give a bool: `== != < <= > >= in`.
#[inline]
pub(crate) fn compare_op(op: BinOp, l: &Value, r: &Value) -> EResult<bool> {
    // strings are the common non-numeric case (`status == 'fail'`): compare them directly
    if let (Value::Str(a), Value::Str(b), BinOp::Eq | BinOp::Ne) = (l, r, op) {
        return Ok((a.as_str() == b.as_str()) == (op == BinOp::Eq));
    }
    Ok(match op {
        BinOp::Eq => l.loose_eq(r),
        BinOp::Ne => !l.loose_eq(r),
        BinOp::Lt => compare(l, r)?.is_some_and(Ordering::is_lt),
        BinOp::Le => compare(l, r)?.is_some_and(Ordering::is_le),
        BinOp::Gt => compare(l, r)?.is_some_and(Ordering::is_gt),
        BinOp::Ge => compare(l, r)?.is_some_and(Ordering::is_ge),
        BinOp::In => contains(r, l)?,
        _ => return fail(format!("internal: '{}' is not a comparison", op.symbol())),
    })
}

/// Ordering of two values; `None` for a NaN (which makes every comparison false).
pub(crate) fn compare(l: &Value, r: &Value) -> EResult<Option<Ordering>> {
    match l.partial_cmp_loose(r) {
        Some(o) => Ok(Some(o)),
        None if is_number(l) && is_number(r) => Ok(None),
        None => fail(format!(
            "cannot compare {} with {}",
            describe(l),
            describe(r)
        )),
    }
}

fn is_number(v: &Value) -> bool {
    matches!(v, Value::Int(_) | Value::Float(_))
}

/// `needle in haystack`: list membership, record field presence, or substring.
pub(crate) fn contains(haystack: &Value, needle: &Value) -> EResult<bool> {
    match (haystack, needle) {
        (Value::List(l), n) => Ok(l.iter().any(|x| x.loose_eq(n))),
        (Value::Record(r), Value::Str(k)) => Ok(r.schema().index_of(k).is_some()),
        (Value::Str(s), Value::Str(sub)) => Ok(s.contains(sub.as_str())),
        (h, n) => fail(format!(
            "cannot look for {} in {}",
            describe(n),
            describe(h)
        )),
    }
}

fn verb(op: BinOp) -> (&'static str, &'static str) {
    match op {
        BinOp::Add => ("add", "and"),
        BinOp::Sub => ("subtract", "from"),
        BinOp::Mul => ("multiply", "by"),
        BinOp::Div | BinOp::FloorDiv => ("divide", "by"),
        _ => ("take the modulo of", "by"),
    }
}

/// A number, or `No` when a value is not a number or an operation has no number result
/// (overflow, division by zero). 16 bytes, so it travels in registers: the fast numeric path of
/// the evaluator ([`crate::num`]) computes with it, and the general path below shares its rules.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Num {
    Int(i64),
    Float(f64),
    No,
}

impl Num {
    #[inline]
    pub fn of(v: &Value) -> Num {
        match v {
            Value::Int(i) => Num::Int(*i),
            Value::Float(f) => Num::Float(*f),
            _ => Num::No,
        }
    }
    #[inline]
    fn f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
            Num::No => f64::NAN,
        }
    }
    /// The value, or `None` for `No`.
    #[inline]
    pub fn value(self) -> Option<Value> {
        match self {
            Num::Int(i) => Some(Value::Int(i)),
            Num::Float(f) => Some(Value::Float(f)),
            Num::No => None,
        }
    }
}

/// Arithmetic on numbers: the single definition of `+ - * / // %` on ints and floats.
#[inline]
pub(crate) fn num_arith(op: BinOp, a: Num, b: Num) -> Num {
    match (a, b) {
        (Num::Int(a), Num::Int(b)) => int_arith(op, a, b),
        (Num::No, _) | (_, Num::No) => Num::No,
        (a, b) => float_arith(op, a.f64(), b.f64()),
    }
}

#[inline]
fn int_arith(op: BinOp, a: i64, b: i64) -> Num {
    let r = match op {
        BinOp::Add => a.checked_add(b),
        BinOp::Sub => a.checked_sub(b),
        BinOp::Mul => a.checked_mul(b),
        BinOp::Div if b == 0 => None,
        BinOp::Div => return Num::Float(a as f64 / b as f64),
        // floor division: round toward negative infinity, like Python
        BinOp::FloorDiv => a.checked_div(b).map(|q| {
            if a % b != 0 && ((a < 0) != (b < 0)) {
                q - 1
            } else {
                q
            }
        }),
        BinOp::Mod if b == 0 => None,
        // the result takes the divisor's sign, like Python; i64::MIN % -1 is 0 (Rust overflows)
        _ => Some(match a.checked_rem(b) {
            Some(m) if m != 0 && ((m < 0) != (b < 0)) => m + b,
            Some(m) => m,
            None => 0,
        }),
    };
    r.map_or(Num::No, Num::Int)
}

#[inline]
fn float_arith(op: BinOp, a: f64, b: f64) -> Num {
    Num::Float(match op {
        BinOp::Add => a + b,
        BinOp::Sub => a - b,
        BinOp::Mul => a * b,
        _ if b == 0.0 => return Num::No,
        BinOp::Div => a / b,
        BinOp::FloorDiv => (a / b).floor(),
        _ => {
            let m = a % b;
            if m != 0.0 && ((m < 0.0) != (b < 0.0)) {
                m + b
            } else {
                m
            }
        }
    })
}

/// Numeric operators on values, with the error message when there is no result.
fn arith(op: BinOp, l: &Value, r: &Value) -> EResult<Value> {
    let (a, b) = (Num::of(l), Num::of(r));
    if let Some(v) = num_arith(op, a, b).value() {
        return Ok(v);
    }
    match (a, b) {
        (Num::No, _) | (_, Num::No) => {
            let (v, prep) = verb(op);
            // "subtract A from B" reads right only with the operands swapped
            let (x, y) = if op == BinOp::Sub { (r, l) } else { (l, r) };
            fail(format!("cannot {v} {} {prep} {}", describe(x), describe(y)))
        }
        (_, b) if b.f64() == 0.0 && op == BinOp::Mod => fail("modulo by zero"),
        (_, b) if b.f64() == 0.0 && matches!(op, BinOp::Div | BinOp::FloorDiv) => {
            fail("division by zero")
        }
        (Num::Int(a), Num::Int(b)) => fail(format!("integer overflow in {a} {} {b}", op.symbol())),
        (a, b) => fail(format!("no result for {a:?} {} {b:?}", op.symbol())),
    }
}

/// `l + r`: numbers, string concatenation, list concatenation, record merge (right side wins,
/// new fields appended). Takes ownership so an owned left side is extended in place.
pub(crate) fn add(
    l: Cow<'_, Value>,
    r: Cow<'_, Value>,
    merge_cache: &MergeCache,
) -> EResult<Value> {
    match (l, &*r) {
        (Cow::Owned(Value::Str(mut a)), Value::Str(b)) => {
            a.push_str(b);
            Ok(Value::Str(a))
        }
        (Cow::Borrowed(Value::Str(a)), Value::Str(b)) => {
            let mut s = Str::with_capacity(a.len() + b.len());
            s.push_str(a);
            s.push_str(b);
            Ok(Value::Str(s))
        }
        (Cow::Owned(Value::List(mut a)), Value::List(_)) => {
            a.extend(take_list(r));
            Ok(Value::List(a))
        }
        (Cow::Borrowed(Value::List(a)), Value::List(b)) => {
            let mut out = Vec::with_capacity(a.len() + b.len());
            out.extend(a.iter().cloned());
            out.extend(take_list(r));
            Ok(Value::List(out))
        }
        (l @ Cow::Borrowed(Value::Record(_)), Value::Record(_))
        | (l @ Cow::Owned(Value::Record(_)), Value::Record(_)) => merge(l, r, merge_cache),
        (l, r) => arith(BinOp::Add, &l, r),
    }
}

fn take_list(v: Cow<'_, Value>) -> Vec<Value> {
    match v {
        Cow::Owned(Value::List(l)) => l,
        Cow::Borrowed(Value::List(l)) => l.clone(),
        _ => Vec::new(),
    }
}

/// The values of a record, in a vector with room for `cap` of them.
fn into_values(v: Cow<'_, Value>, cap: usize) -> Vec<Value> {
    match v {
        Cow::Owned(Value::Record(r)) => {
            let mut vals = r.into_parts().1;
            vals.reserve(cap.saturating_sub(vals.len()));
            vals
        }
        Cow::Borrowed(Value::Record(r)) => {
            let mut vals = Vec::with_capacity(cap.max(r.len()));
            vals.extend_from_slice(r.values());
            vals
        }
        _ => Vec::new(),
    }
}

/// Record merge. The output schema is computed once per pair of input schemas and cached.
fn merge(l: Cow<'_, Value>, r: Cow<'_, Value>, cache: &MergeCache) -> EResult<Value> {
    let (Value::Record(lr), Value::Record(rr)) = (&*l, &*r) else {
        return fail("internal: merge of non-records");
    };
    let (lid, rid) = (lr.schema().id(), rr.schema().id());
    let plan = match cache.0.take() {
        Some(p) if p.left == lid && p.right == rid => p,
        _ => Box::new(plan(lr.schema(), rr.schema())),
    };
    let out = plan.out.clone();
    let mut vals = into_values(l, out.len());
    vals.resize(out.len(), Value::Null);
    for (pos, v) in plan.pos.iter().zip(into_values(r, 0)) {
        if let Some(slot) = vals.get_mut(*pos) {
            *slot = v;
        }
    }
    cache.0.set(Some(plan));
    Ok(Value::Record(Record::new(out, vals)))
}

/// `l + {a: …, b: …}` with a record literal on the right: its values are evaluated (`value(i)`
/// for the literal's i-th field, in order) straight into their places in the output, with no
/// record built for the right side. `l` must be a record. Same result as [`merge`].
pub(crate) fn merge_literal(
    l: Cow<'_, Value>,
    right: &Arc<Schema>,
    cache: &MergeCache,
    mut value: impl FnMut(usize) -> EResult<Value>,
) -> EResult<Value> {
    let Value::Record(lr) = &*l else {
        return fail("internal: merge of non-records");
    };
    let plan = match cache.0.take() {
        Some(p) if p.left == lr.schema().id() && p.right == right.id() => p,
        _ => Box::new(plan(lr.schema(), right)),
    };
    let out = plan.out.clone();
    let mut vals = into_values(l, out.len());
    vals.resize_with(out.len(), || Value::Null);
    let mut res = Ok(());
    for (i, pos) in plan.pos.iter().enumerate() {
        match value(i) {
            Ok(v) => {
                if let Some(slot) = vals.get_mut(*pos) {
                    *slot = v;
                }
            }
            Err(e) => {
                res = Err(e);
                break;
            }
        }
    }
    cache.0.set(Some(plan));
    res.map(|()| Value::Record(Record::new(out, vals)))
}

fn plan(l: &Arc<Schema>, r: &Schema) -> MergePlan {
    let mut names: Vec<Str> = l.names().to_vec();
    let mut pos = Vec::with_capacity(r.len());
    for n in r.names() {
        match names.iter().position(|m| m == n) {
            Some(i) => pos.push(i),
            None => {
                pos.push(names.len());
                names.push(n.clone());
            }
        }
    }
    // no new field: keep the left schema so later FieldSlot caches stay warm
    let out = if names.len() == l.len() {
        l.clone()
    } else {
        Schema::new(names)
    };
    MergePlan {
        left: l.id(),
        right: r.id(),
        out,
        pos,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ar(op: BinOp, a: Value, b: Value) -> EResult<Value> {
        binary(op, &a, &b)
    }

    #[test]
    fn python_division_and_modulo() {
        use Value::{Float as F, Int as I};
        assert_eq!(ar(BinOp::Div, I(7), I(2)), Ok(F(3.5)));
        assert_eq!(ar(BinOp::FloorDiv, I(7), I(2)), Ok(I(3)));
        assert_eq!(ar(BinOp::FloorDiv, I(-7), I(2)), Ok(I(-4)));
        assert_eq!(ar(BinOp::FloorDiv, I(7), I(-2)), Ok(I(-4)));
        assert_eq!(ar(BinOp::FloorDiv, F(7.0), I(2)), Ok(F(3.0)));
        assert_eq!(ar(BinOp::Mod, I(-7), I(3)), Ok(I(2)));
        assert_eq!(ar(BinOp::Mod, I(7), I(-3)), Ok(I(-2)));
        assert_eq!(ar(BinOp::Mod, I(7), I(3)), Ok(I(1)));
        assert_eq!(ar(BinOp::Mod, I(-6), I(3)), Ok(I(0)));
        assert_eq!(ar(BinOp::Mod, I(i64::MIN), I(-1)), Ok(I(0)));
        assert_eq!(ar(BinOp::Mod, F(-7.5), I(2)), Ok(F(0.5)));
        assert_eq!(ar(BinOp::Mod, F(7.5), F(-2.0)), Ok(F(-0.5)));
        assert_eq!(ar(BinOp::Div, I(1), I(0)), fail("division by zero"));
        assert_eq!(ar(BinOp::Div, F(1.0), F(0.0)), fail("division by zero"));
        assert_eq!(ar(BinOp::Mod, I(1), I(0)), fail("modulo by zero"));
        assert_eq!(
            ar(BinOp::FloorDiv, I(i64::MIN), I(-1)),
            fail("integer overflow in -9223372036854775808 // -1")
        );
        assert_eq!(
            ar(BinOp::Mul, I(i64::MAX), I(2)),
            fail("integer overflow in 9223372036854775807 * 2")
        );
        assert_eq!(ar(BinOp::Sub, I(3), F(0.5)), Ok(F(2.5)));
    }

    #[test]
    fn comparisons() {
        assert_eq!(
            ar(BinOp::Eq, Value::Int(1), Value::Float(1.0)),
            Ok(Value::Bool(true))
        );
        assert_eq!(
            ar(BinOp::Ne, Value::Int(1), Value::from("1")),
            Ok(Value::Bool(true))
        );
        assert_eq!(
            ar(BinOp::Lt, Value::from("a"), Value::from("b")),
            Ok(Value::Bool(true))
        );
        assert_eq!(
            ar(BinOp::Ge, Value::Float(f64::NAN), Value::Int(1)),
            Ok(Value::Bool(false))
        );
        assert_eq!(
            ar(BinOp::Lt, Value::from("a"), Value::Int(3)),
            fail("cannot compare string 'a' with int 3")
        );
        assert_eq!(
            ar(BinOp::Gt, Value::Null, Value::Int(3)),
            fail("cannot compare null with int 3")
        );
        assert_eq!(
            ar(BinOp::Sub, Value::from("a"), Value::Int(3)),
            fail("cannot subtract int 3 from string 'a'")
        );
        assert_eq!(
            neg(&Value::Int(i64::MIN)),
            fail("integer overflow in -(-9223372036854775808)")
        );
        assert_eq!(neg(&Value::from("x")), fail("cannot negate string 'x'"));
    }
}
