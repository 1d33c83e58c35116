//! Which values a target writes: storey's column notation.
//!
//! An entry is `name` (the body field `name`), `new=old` (body field `old` written as `new`),
//! `$key`, `$time`, `$id` (event attributes, written as `key`, `time`, `id`) or `name=$key`.
//! Without a list, the columns are the fields of the first event's body.

use rill_core::{Error, Event, FieldSlot, Str, Value};
use std::borrow::Cow;

/// Where a column's value comes from.
#[derive(Debug, Clone)]
enum From {
    Field(FieldSlot),
    Key,
    Time,
    Id,
}

/// The type an event attribute column always has (see [`Columns::attribute_kind`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AttributeKind {
    /// `$time`.
    Time,
    /// `$id`.
    Text,
}

/// A target's columns, fixed by the options or by the first event.
#[derive(Debug, Clone)]
pub(crate) struct Columns {
    names: Vec<Str>,
    from: Vec<From>,
    explicit: bool,
    /// Id of the last body schema checked to have no field outside the columns.
    checked_schema: u64,
}

impl Columns {
    /// Parses the `columns` option; `None` means "the first event's fields".
    pub fn new(specs: Option<&[String]>) -> Result<Self, Error> {
        let mut cols = Columns {
            names: Vec::new(),
            from: Vec::new(),
            explicit: specs.is_some(),
            checked_schema: 0,
        };
        for spec in specs.unwrap_or_default() {
            let (name, src) = match spec.split_once('=') {
                Some((n, s)) => (n.trim(), s.trim()),
                None => {
                    let s = spec.trim();
                    (s.strip_prefix('$').unwrap_or(s), s)
                }
            };
            let from = match src.strip_prefix('$') {
                Some("key") => From::Key,
                Some("time") => From::Time,
                Some("id") => From::Id,
                Some(other) => {
                    return Err(Error::config(format!(
                    "column '{spec}': unknown event attribute '${other}' (use $key, $time or $id)"
                )))
                }
                None => From::Field(FieldSlot::new(src)),
            };
            if name.is_empty() || src.is_empty() {
                return Err(Error::config(format!(
                    "column '{spec}': expected `name`, `new=old`, `$key` or `name=$key`"
                )));
            }
            if cols.names.iter().any(|n| n == name) {
                return Err(Error::config(format!("column '{name}' is listed twice")));
            }
            cols.names.push(Str::from(name));
            cols.from.push(from);
        }
        if cols.explicit && cols.names.is_empty() {
            return Err(Error::config(
                "`columns` is empty: list at least one column, or leave it out",
            ));
        }
        Ok(cols)
    }

    /// True once the columns are known (listed, or taken from a first event).
    pub fn known(&self) -> bool {
        self.explicit || !self.names.is_empty()
    }

    /// Column names in order.
    pub fn names(&self) -> &[Str] {
        &self.names
    }

    /// Checks `ev` can be written: refuses a body with duplicate field names (which would
    /// become same-named columns, or leave a listed column's value ambiguous), takes the
    /// columns from it if they are not known yet, and, for columns taken from a first event,
    /// rejects a body with a field outside them (rather than dropping it silently). The field
    /// check runs once per body schema. `Err` is the reason.
    pub fn prepare(&mut self, ev: &Event) -> Result<(), String> {
        if let Value::Record(rec) = &ev.body {
            if rec.schema().has_duplicate_names() {
                return Err(super::duplicate_fields(rec));
            }
        }
        if self.explicit {
            return Ok(());
        }
        let Value::Record(rec) = &ev.body else {
            return Err(format!(
                "the body is {}, not a record: list the `columns` to write",
                ev.body.type_name()
            ));
        };
        if self.names.is_empty() {
            self.names = rec.schema().names().to_vec();
            self.from = self
                .names
                .iter()
                .map(|n| From::Field(FieldSlot::new(n.clone())))
                .collect();
        }
        if self.checked_schema != rec.schema().id() {
            if let Some(extra) = rec
                .schema()
                .names()
                .iter()
                .find(|n| !self.names.contains(n))
            {
                return Err(format!(
                    "field '{extra}' is not one of the columns ({}) taken from the first event; list the `columns` to write",
                    self.names.join(", ")
                ));
            }
            self.checked_schema = rec.schema().id();
        }
        Ok(())
    }

    /// The type of column `i` when its source fixes it: `$time` is always a timestamp, `$id`
    /// text (or null); `None` for body fields and the key, whose types depend on the data.
    pub fn attribute_kind(&self, i: usize) -> Option<AttributeKind> {
        match self.from[i] {
            From::Time => Some(AttributeKind::Time),
            From::Id => Some(AttributeKind::Text),
            From::Field(_) | From::Key => None,
        }
    }

    /// The value of column `i` for `ev` (a missing field is null).
    #[inline]
    pub fn value<'a>(&self, i: usize, ev: &'a Event) -> Cow<'a, Value> {
        match &self.from[i] {
            From::Field(slot) => Cow::Borrowed(slot.get_in(&ev.body).unwrap_or(&Value::Null)),
            From::Key => Cow::Borrowed(&ev.key),
            From::Time => Cow::Owned(Value::Time(ev.time)),
            From::Id => Cow::Owned(ev.id.clone().map_or(Value::Null, Value::Str)),
        }
    }
}
