//! Built-in functions. Every function can be called as `f(x, y)` or as a method `x.f(y)`.
//! (`has`, `is_null` and `coalesce` are special forms handled by the compiler, because they must
//! see a missing field without failing.)

use crate::eval::{charge, fail, EResult};
use crate::ops::{compare, contains};
use crate::value_fmt::describe;
use rill_core::{Str, Timestamp, Value};
use std::borrow::Cow;
use std::cell::Cell;
use std::cmp::Ordering;

/// A built-in function, resolved at compile time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Func {
    Int,
    Float,
    String,
    Bool,
    Size,
    Abs,
    Min,
    Max,
    Round,
    Floor,
    Ceil,
    Sqrt,
    Lower,
    Upper,
    Trim,
    Contains,
    StartsWith,
    EndsWith,
    Timestamp,
    Range,
    Type,
}

const ANY: usize = usize::MAX;

/// Name → function and its (min, max) argument count, receiver included.
const TABLE: &[(&str, Func, usize, usize)] = &[
    ("int", Func::Int, 1, 1),
    ("float", Func::Float, 1, 1),
    ("double", Func::Float, 1, 1),
    ("string", Func::String, 1, 1),
    ("bool", Func::Bool, 1, 1),
    ("size", Func::Size, 1, 1),
    ("abs", Func::Abs, 1, 1),
    ("min", Func::Min, 1, ANY),
    ("max", Func::Max, 1, ANY),
    ("round", Func::Round, 1, 2),
    ("floor", Func::Floor, 1, 1),
    ("ceil", Func::Ceil, 1, 1),
    ("sqrt", Func::Sqrt, 1, 1),
    ("lower", Func::Lower, 1, 1),
    ("upper", Func::Upper, 1, 1),
    ("trim", Func::Trim, 1, 1),
    ("contains", Func::Contains, 2, 2),
    ("startsWith", Func::StartsWith, 2, 2),
    ("starts_with", Func::StartsWith, 2, 2),
    ("endsWith", Func::EndsWith, 2, 2),
    ("ends_with", Func::EndsWith, 2, 2),
    ("timestamp", Func::Timestamp, 1, 1),
    ("range", Func::Range, 1, 2),
    ("type", Func::Type, 1, 1),
];

/// Looks a function up by name.
pub(crate) fn lookup(name: &str) -> Option<(Func, usize, usize)> {
    TABLE
        .iter()
        .find(|(n, ..)| *n == name)
        .map(|&(_, f, min, max)| (f, min, max))
}

impl Func {
    /// The canonical name, for messages.
    pub fn name(self) -> &'static str {
        TABLE
            .iter()
            .find(|(_, f, ..)| *f == self)
            .map_or("?", |(n, ..)| n)
    }
}

/// Calls `f`; the compiler has checked the argument count.
pub(crate) fn call(f: Func, args: &[Cow<'_, Value>], budget: &Cell<u64>) -> EResult<Value> {
    let Some(x) = args.first().map(|a| &**a) else {
        return fail(format!("{}() needs an argument", f.name()));
    };
    let y = args.get(1).map(|a| &**a);
    match f {
        Func::Int => to_int(x),
        Func::Float => to_float(x),
        Func::String => Ok(Value::Str(to_string(x))),
        Func::Bool => to_bool(x),
        Func::Size => match x {
            Value::Str(s) => Ok(Value::Int(s.chars().count() as i64)),
            Value::List(l) => Ok(Value::Int(l.len() as i64)),
            Value::Record(r) => Ok(Value::Int(r.len() as i64)),
            other => fail(format!(
                "size() needs a string, list or record, got {}",
                describe(other)
            )),
        },
        Func::Abs => match x {
            Value::Int(i) => i
                .checked_abs()
                .map(Value::Int)
                .map_or_else(|| fail(format!("integer overflow in abs({i})")), Ok),
            Value::Float(v) => Ok(Value::Float(v.abs())),
            other => fail(format!("abs() needs a number, got {}", describe(other))),
        },
        Func::Min => extreme(f, args, Ordering::Less),
        Func::Max => extreme(f, args, Ordering::Greater),
        Func::Round => round(x, y),
        Func::Floor | Func::Ceil => match x {
            Value::Int(i) => Ok(Value::Int(*i)),
            Value::Float(v) => Ok(Value::Float(if f == Func::Floor {
                v.floor()
            } else {
                v.ceil()
            })),
            other => fail(format!(
                "{}() needs a number, got {}",
                f.name(),
                describe(other)
            )),
        },
        Func::Sqrt => match x.as_f64() {
            Some(v) if !matches!(x, Value::Bool(_)) && v >= 0.0 => Ok(Value::Float(v.sqrt())),
            Some(_) if !matches!(x, Value::Bool(_)) => {
                fail(format!("sqrt() of a negative number ({x})"))
            }
            _ => fail(format!("sqrt() needs a number, got {}", describe(x))),
        },
        Func::Lower | Func::Upper | Func::Trim => match x {
            Value::Str(s) => Ok(Value::Str(match f {
                Func::Lower => s.to_lowercase(),
                Func::Upper => s.to_uppercase(),
                _ => Str::from(s.trim()),
            })),
            other => fail(format!(
                "{}() needs a string, got {}",
                f.name(),
                describe(other)
            )),
        },
        Func::Contains => contains(x, y.unwrap_or(&Value::Null)).map(Value::Bool),
        Func::StartsWith | Func::EndsWith => match (x, y) {
            (Value::Str(s), Some(Value::Str(p))) => Ok(Value::Bool(if f == Func::StartsWith {
                s.starts_with(p.as_str())
            } else {
                s.ends_with(p.as_str())
            })),
            (s, p) => fail(format!(
                "{}() needs two strings, got {} and {}",
                f.name(),
                describe(s),
                describe(p.unwrap_or(&Value::Null))
            )),
        },
        Func::Timestamp => to_timestamp(x),
        Func::Range => range(x, y, budget),
        Func::Type => Ok(Value::Str(Str::from(x.type_name()))),
    }
}

fn to_int(x: &Value) -> EResult<Value> {
    match x {
        Value::Int(i) => Ok(Value::Int(*i)),
        // truncates toward zero, like Python int() and CEL int()
        Value::Float(f)
            if f.is_finite()
                && f.trunc() >= -9.223_372_036_854_776e18
                && f.trunc() < 9.223_372_036_854_776e18 =>
        {
            Ok(Value::Int(f.trunc() as i64))
        }
        Value::Bool(b) => Ok(Value::Int(i64::from(*b))),
        Value::Str(s) => match s.trim().parse::<i64>() {
            Ok(i) => Ok(Value::Int(i)),
            Err(_) => fail(format!("cannot convert {} to int", describe(x))),
        },
        Value::Time(t) => Ok(Value::Int(t.nanos().div_euclid(1_000_000_000))),
        other => fail(format!("cannot convert {} to int", describe(other))),
    }
}

fn to_float(x: &Value) -> EResult<Value> {
    match x {
        Value::Int(i) => Ok(Value::Float(*i as f64)),
        Value::Float(f) => Ok(Value::Float(*f)),
        Value::Bool(b) => Ok(Value::Float(if *b { 1.0 } else { 0.0 })),
        Value::Str(s) => match s.trim().parse::<f64>() {
            Ok(f) => Ok(Value::Float(f)),
            Err(_) => fail(format!("cannot convert {} to float", describe(x))),
        },
        Value::Time(t) => Ok(Value::Float(t.secs_f64())),
        other => fail(format!("cannot convert {} to float", describe(other))),
    }
}

/// Text of a value: strings as they are, timestamps in ISO-8601, floats always with a decimal
/// point or exponent (`1.0`), lists and records as JSON.
pub(crate) fn to_string(x: &Value) -> Str {
    match x {
        Value::Str(s) => s.clone(),
        Value::Float(f) => Str::from(format!("{f:?}")),
        Value::Time(t) => Str::from(t.to_iso()),
        other => Str::from(other.to_string()),
    }
}

fn to_bool(x: &Value) -> EResult<Value> {
    match x {
        Value::Bool(b) => Ok(Value::Bool(*b)),
        Value::Int(i) => Ok(Value::Bool(*i != 0)),
        Value::Float(f) => Ok(Value::Bool(*f != 0.0)),
        Value::Str(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "t" | "1" | "yes" => Ok(Value::Bool(true)),
            "false" | "f" | "0" | "no" => Ok(Value::Bool(false)),
            _ => fail(format!("cannot convert {} to bool", describe(x))),
        },
        other => fail(format!("cannot convert {} to bool", describe(other))),
    }
}

/// `min`/`max` over the arguments, or over a single list argument.
fn extreme(f: Func, args: &[Cow<'_, Value>], want: Ordering) -> EResult<Value> {
    let best = match args {
        [one] if one.as_list().is_some() => pick(one.as_list().unwrap_or_default().iter(), want)?,
        _ => pick(args.iter().map(|a| &**a), want)?,
    };
    match best {
        Some(v) => Ok(v.clone()),
        None => fail(format!("{}() of an empty list", f.name())),
    }
}

fn pick<'v>(items: impl Iterator<Item = &'v Value>, want: Ordering) -> EResult<Option<&'v Value>> {
    let mut best: Option<&Value> = None;
    for v in items {
        best = Some(match best {
            Some(b) if compare(v, b)? != Some(want) => b,
            _ => v,
        });
    }
    Ok(best)
}

fn round(x: &Value, digits: Option<&Value>) -> EResult<Value> {
    let n = match digits {
        None => None,
        Some(Value::Int(n)) => Some((*n).clamp(-20, 20) as i32),
        Some(other) => {
            return fail(format!(
                "round() needs an int number of digits, got {}",
                describe(other)
            ))
        }
    };
    match (x, n) {
        (Value::Int(i), None) => Ok(Value::Int(*i)),
        (Value::Int(_) | Value::Float(_), n) => {
            let v = x.as_f64().unwrap_or(f64::NAN);
            // half away from zero, the rounding people expect (not Python's banker's rounding)
            Ok(Value::Float(match n {
                None => v.round(),
                Some(n) => {
                    let m = 10f64.powi(n);
                    (v * m).round() / m
                }
            }))
        }
        (other, _) => fail(format!("round() needs a number, got {}", describe(other))),
    }
}

fn to_timestamp(x: &Value) -> EResult<Value> {
    match x {
        Value::Time(t) => Ok(Value::Time(*t)),
        Value::Str(s) => match Timestamp::parse_iso(s) {
            Ok(t) => Ok(Value::Time(t)),
            Err(e) => fail(match e {
                rill_core::Error::Field { reason, .. } => reason,
                other => other.to_string(),
            }),
        },
        // epoch seconds, as CEL's timestamp(int)
        Value::Int(i) => match i.checked_mul(1_000_000_000) {
            Some(n) => Ok(Value::Time(Timestamp(n))),
            None => fail(format!("timestamp({i}) is out of range")),
        },
        Value::Float(f) if f.is_finite() && f.abs() < 9.2e9 => {
            Ok(Value::Time(Timestamp((f * 1e9).round() as i64)))
        }
        other => fail(format!("cannot convert {} to timestamp", describe(other))),
    }
}

/// `range(n)` = [0, n), `range(a, b)` = [a, b); empty when the end is not above the start.
fn range(x: &Value, y: Option<&Value>, budget: &Cell<u64>) -> EResult<Value> {
    let (start, end) = match (x, y) {
        (Value::Int(n), None) => (0, *n),
        (Value::Int(a), Some(Value::Int(b))) => (*a, *b),
        (a, b) => {
            let got = match b {
                Some(b) => format!("{} and {}", describe(a), describe(b)),
                None => describe(a),
            };
            return fail(format!("range() needs ints, got {got}"));
        }
    };
    let len = if end > start { end.abs_diff(start) } else { 0 };
    charge(budget, len)?;
    Ok(Value::List(
        (start..end.max(start)).map(Value::Int).collect(),
    ))
}
