//! Typed values. Records are the map-shaped bodies; see [`crate::Record`].

use crate::{Record, Timestamp};
use std::cmp::Ordering;
use std::fmt;

/// Short strings (≤ 24 bytes) are stored inline: no allocation for typical keys and labels.
pub type Str = compact_str::CompactString;

/// A dynamically typed value: the body of an event, a field of a record, an expression result.
#[derive(Debug, Clone, Default)]
pub enum Value {
    /// Absent / null / None.
    #[default]
    Null,
    /// Boolean.
    Bool(bool),
    /// 64-bit signed integer.
    Int(i64),
    /// 64-bit float (aggregations always produce floats, as in storey).
    Float(f64),
    /// UTF-8 string.
    Str(Str),
    /// An instant.
    Time(Timestamp),
    /// An ordered list (e.g. a batch of bodies).
    List(Vec<Value>),
    /// A record: named fields over a shared schema.
    Record(Record),
}

impl Value {
    /// Empties `values`, running drop only for the values that own memory. Records and field
    /// vectors hold mostly numbers and short (inline) strings, whose drop does nothing; the
    /// enum's drop glue is an out-of-line call per value (on W1, a third of the instructions a
    /// record's drop took).
    ///
    /// ```
    /// use rill_core::Value;
    /// let mut v = vec![Value::Int(1), Value::from("a string far too long to be kept inline")];
    /// Value::clear_values(&mut v);
    /// assert!(v.is_empty() && v.capacity() >= 2);
    /// ```
    pub fn clear_values(values: &mut Vec<Value>) {
        let len = values.len();
        let base = values.as_mut_ptr();
        // SAFETY: the length is zeroed first, so the vector never sees these values again (a
        // panicking drop below leaks the rest instead of dropping anything twice). Each value
        // is visited once, and values that own no memory have no drop effects, so not dropping
        // them is sound.
        unsafe {
            values.set_len(0);
            for i in 0..len {
                let v = base.add(i);
                if (*v).owns_memory() {
                    std::ptr::drop_in_place(v);
                }
            }
        }
    }

    /// True when dropping this value frees memory (a heap string, a list or a record); false
    /// for scalars and inline strings, whose drop does nothing.
    #[inline]
    pub fn owns_memory(&self) -> bool {
        match self {
            Value::Str(s) => s.is_heap_allocated(),
            Value::List(_) | Value::Record(_) => true,
            Value::Null | Value::Bool(_) | Value::Int(_) | Value::Float(_) | Value::Time(_) => {
                false
            }
        }
    }
    /// The type's name as shown in error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "string",
            Value::Time(_) => "timestamp",
            Value::List(_) => "list",
            Value::Record(_) => "record",
        }
    }
    /// True for `Null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
    /// Numeric view: ints, floats and bools (storey aggregates `True` as 1). Strings are *not*
    /// parsed here: a source decodes text once, steps never re-parse.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Float(f) => Some(f),
            Value::Int(i) => Some(i as f64),
            Value::Bool(b) => Some(if b { 1.0 } else { 0.0 }),
            _ => None,
        }
    }
    /// Integer view (floats with no fractional part count).
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Int(i) => Some(i),
            Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Some(f as i64),
            Value::Bool(b) => Some(b as i64),
            _ => None,
        }
    }
    /// String view.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
    /// Bool view.
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }
    /// Record view.
    pub fn as_record(&self) -> Option<&Record> {
        match self {
            Value::Record(r) => Some(r),
            _ => None,
        }
    }
    /// Mutable record view.
    pub fn as_record_mut(&mut self) -> Option<&mut Record> {
        match self {
            Value::Record(r) => Some(r),
            _ => None,
        }
    }
    /// List view.
    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }
    /// Python-like truthiness: null, false, 0, 0.0, "" and empty collections are false.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::Time(_) => true,
            Value::List(l) => !l.is_empty(),
            Value::Record(r) => !r.is_empty(),
        }
    }
    /// Field of a record body by name (slow path: hashes the name; hot paths use [`crate::FieldSlot`]).
    pub fn get(&self, field: &str) -> Option<&Value> {
        self.as_record().and_then(|r| r.get(field))
    }
    /// Equality that treats `1` and `1.0` as equal (used by expressions); [`PartialEq`] is strict.
    pub fn loose_eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Int(a), Value::Float(b)) | (Value::Float(b), Value::Int(a)) => {
                (*a as f64) == *b
            }
            (Value::List(a), Value::List(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.loose_eq(y))
            }
            _ => self == other,
        }
    }
    /// Ordering between comparable values (numbers with numbers, strings, times, bools).
    pub fn partial_cmp_loose(&self, other: &Value) -> Option<Ordering> {
        match (self, other) {
            (Value::Int(a), Value::Int(b)) => Some(a.cmp(b)),
            (Value::Str(a), Value::Str(b)) => Some(a.cmp(b)),
            (Value::Time(a), Value::Time(b)) => Some(a.cmp(b)),
            (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
            (a, b) => match (a.as_f64(), b.as_f64()) {
                (Some(x), Some(y))
                    if !matches!(a, Value::Bool(_)) && !matches!(b, Value::Bool(_)) =>
                {
                    x.partial_cmp(&y)
                }
                _ => None,
            },
        }
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Value::Null, Value::Null) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            // NaN == NaN here: values are data, and tests compare NaN features.
            (Value::Float(a), Value::Float(b)) => a == b || (a.is_nan() && b.is_nan()),
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::Time(a), Value::Time(b)) => a == b,
            (Value::List(a), Value::List(b)) => a == b,
            (Value::Record(a), Value::Record(b)) => a == b,
            _ => false,
        }
    }
}

impl fmt::Display for Value {
    /// JSON-like text; strings are quoted inside collections, bare at top level.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(s) => f.write_str(s),
            other => write!(f, "{}", crate::json::to_json(other)),
        }
    }
}

macro_rules! from_impl {
    ($t:ty, $v:ident, $conv:expr) => {
        impl From<$t> for Value {
            fn from($v: $t) -> Self {
                $conv
            }
        }
    };
}
from_impl!(bool, v, Value::Bool(v));
from_impl!(i64, v, Value::Int(v));
from_impl!(i32, v, Value::Int(v as i64));
from_impl!(u32, v, Value::Int(v as i64));
from_impl!(usize, v, Value::Int(v as i64));
from_impl!(f64, v, Value::Float(v));
from_impl!(&str, v, Value::Str(Str::from(v)));
from_impl!(String, v, Value::Str(Str::from(v)));
from_impl!(Str, v, Value::Str(v));
from_impl!(Timestamp, v, Value::Time(v));
from_impl!(Record, v, Value::Record(v));
from_impl!(Vec<Value>, v, Value::List(v));

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

impl Eq for Value {}

impl std::hash::Hash for Value {
    /// Consistent with `PartialEq`: records hash order-insensitively, `-0.0`/`0.0` and NaNs alike.
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        std::mem::discriminant(self).hash(h);
        match self {
            Value::Null => {}
            Value::Bool(b) => b.hash(h),
            Value::Int(i) => i.hash(h),
            Value::Float(f) => {
                let bits = if f.is_nan() {
                    f64::NAN.to_bits()
                } else if *f == 0.0 {
                    0
                } else {
                    f.to_bits()
                };
                bits.hash(h)
            }
            Value::Str(s) => s.hash(h),
            Value::Time(t) => t.hash(h),
            Value::List(l) => l.hash(h),
            Value::Record(r) => {
                let st = ahash::RandomState::with_seeds(1, 2, 3, 4);
                let x = r.iter().fold(0u64, |acc, (k, v)| acc ^ st.hash_one((k, v)));
                (r.len(), x).hash(h)
            }
        }
    }
}
