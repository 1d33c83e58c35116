//! Where keyed steps (aggregate_by_key, query_by_key, write_to_table) take their key and time.

use crate::expr_fn::ExprFn;
use rill_core::{Error, Event, FieldSlot, Result, TimeFormat, Timestamp, Value};
use serde::Deserialize;
use std::borrow::Cow;

/// YAML `key:` — a body field, a list of body fields (the key is then a list), or
/// `{expr: "..."}`. Absent: the event's key.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum KeyConfig {
    /// One body field.
    Field(String),
    /// Several body fields: the key is the list of their values.
    Fields(Vec<String>),
    /// An expression over the event.
    Expr {
        /// The expression.
        expr: String,
    },
}

/// A compiled key extractor.
#[derive(Clone)]
pub(crate) enum KeySpec {
    Event,
    Field(FieldSlot),
    Fields(Vec<FieldSlot>),
    Expr(ExprFn),
}

impl KeySpec {
    pub fn new(c: Option<&KeyConfig>) -> Result<KeySpec> {
        Ok(match c {
            None => KeySpec::Event,
            Some(KeyConfig::Field(f)) => KeySpec::Field(FieldSlot::new(f.as_str())),
            Some(KeyConfig::Fields(fs)) if fs.is_empty() => {
                return Err(Error::config("the list of key fields is empty").at("key"))
            }
            Some(KeyConfig::Fields(fs)) => {
                KeySpec::Fields(fs.iter().map(|f| FieldSlot::new(f.as_str())).collect())
            }
            Some(KeyConfig::Expr { expr }) => {
                KeySpec::Expr(ExprFn::compile(expr, &[]).map_err(|e| e.at("key.expr"))?)
            }
        })
    }

    /// The event's key; a missing or null key is an error naming the field.
    pub fn key_of(&self, e: &Event) -> Result<Value> {
        self.key_ref(e).map(Cow::into_owned)
    }

    /// [`KeySpec::key_of`], borrowing the key when it is the event's key or one body field (no
    /// copy per event for a lookup).
    pub fn key_ref<'e>(&self, e: &'e Event) -> Result<Cow<'e, Value>> {
        let field = |s: &FieldSlot| match s.get_in(&e.body) {
            Some(v) if !v.is_null() => Ok(v),
            _ => Err(Error::field(s.name(), "the key field is missing or null")),
        };
        match self {
            KeySpec::Event if e.key.is_null() => Err(Error::field(
                "key",
                "the event has no key (set the source's key or the step's `key`)",
            )),
            KeySpec::Event => Ok(Cow::Borrowed(&e.key)),
            KeySpec::Field(s) => field(s).map(Cow::Borrowed),
            KeySpec::Fields(ss) => ss
                .iter()
                .map(|s| field(s).cloned())
                .collect::<Result<Vec<_>>>()
                .map(|v| Cow::Owned(Value::List(v))),
            KeySpec::Expr(f) => match f.eval(e, &[])? {
                Value::Null => Err(Error::Expr {
                    expr: f.source().to_string(),
                    reason: "the key expression is null".into(),
                }),
                v => Ok(Cow::Owned(v)),
            },
        }
    }
}

/// A compiled event-time extractor: a body field in a format, or the event's time.
pub(crate) enum TimeSpec {
    Event,
    Field(FieldSlot, TimeFormat),
}

impl TimeSpec {
    pub fn new(field: Option<&str>, format: &TimeFormat) -> TimeSpec {
        match field {
            None => TimeSpec::Event,
            Some(f) => TimeSpec::Field(FieldSlot::new(f), format.clone()),
        }
    }

    /// The event's time; a missing or unparsable time field is an error naming it.
    pub fn time_of(&self, e: &Event) -> Result<Timestamp> {
        let TimeSpec::Field(slot, fmt) = self else {
            return Ok(e.time);
        };
        let bad = |why: String| Error::field(slot.name(), why);
        match slot.get_in(&e.body) {
            Some(Value::Time(t)) => Ok(*t),
            Some(Value::Str(s)) => fmt.parse_str(s).map_err(|e| bad(reason(&e))),
            Some(Value::Int(i)) => fmt.from_i64(*i).map_err(|e| bad(reason(&e))),
            Some(Value::Float(f)) => fmt.from_f64(*f).map_err(|e| bad(reason(&e))),
            Some(Value::Null) | None => Err(bad("the time field is missing or null".into())),
            Some(other) => Err(bad(format!("a {} is not a time", other.type_name()))),
        }
    }
}

/// The reason of a time-parsing error, without the generic field name it carries.
fn reason(e: &Error) -> String {
    match e.root() {
        Error::Field { reason, .. } => reason.clone(),
        other => other.to_string(),
    }
}
