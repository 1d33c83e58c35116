//! The key, time and id fields every source sets on its events.

use super::{time_from_value, OneOrMany};
use rill_core::{Error, FieldSlot, Record, Str, TimeFormat, TimeParser, Timestamp, Value};

/// Resolves key / time / id from a decoded record. Field positions are cached per schema
/// ([`FieldSlot`]), so a file whose rows share one schema resolves each name once.
#[derive(Debug, Clone)]
pub(crate) struct EventFields {
    key: Vec<FieldSlot>,
    key_is_list: bool,
    time: Option<FieldSlot>,
    /// The time format and `timezone`, compiled when the source is built.
    format: TimeParser,
    id: Option<FieldSlot>,
}

/// What [`EventFields::resolve`] extracts from a record.
pub(crate) struct Resolved {
    pub key: Value,
    pub time: Option<Timestamp>,
    pub id: Option<Str>,
}

impl EventFields {
    /// From the common source options; an invalid `time_format` pattern or an unknown
    /// `timezone` is a configuration error.
    pub fn new(
        key: Option<&OneOrMany>,
        time: Option<&str>,
        format: &TimeFormat,
        timezone: Option<&str>,
        id: Option<&str>,
    ) -> Result<Self, Error> {
        Ok(EventFields {
            key: key
                .map(|k| {
                    k.as_slice()
                        .iter()
                        .map(|n| FieldSlot::new(n.as_str()))
                        .collect()
                })
                .unwrap_or_default(),
            key_is_list: key.is_some_and(OneOrMany::is_list),
            time: time.map(FieldSlot::new),
            // the format alone first, so an error names the option at fault
            format: TimeParser::new(format, None)
                .map_err(|e| e.at("time_format"))
                .and_then(|_| TimeParser::new(format, timezone).map_err(|e| e.at("timezone")))?,
            id: id.map(FieldSlot::new),
        })
    }

    /// Names of every field the options refer to (so projections can keep them).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.key
            .iter()
            .chain(&self.time)
            .chain(&self.id)
            .map(FieldSlot::name)
    }

    /// The time field's name, if any.
    pub fn time_name(&self) -> Option<&str> {
        self.time.as_ref().map(FieldSlot::name)
    }

    /// The time format and zone.
    pub fn format(&self) -> &TimeParser {
        &self.format
    }

    /// Extracts key, time and id. The time field is converted in place to `Value::Time` (so
    /// steps see a time, not text). `Err` is the reject reason.
    pub fn resolve(&self, rec: &mut Record) -> Result<Resolved, String> {
        let key = match self.key.as_slice() {
            [] => Value::Null,
            [one] if !self.key_is_list => key_part(one, rec)?,
            many => Value::List(
                many.iter()
                    .map(|s| key_part(s, rec))
                    .collect::<Result<_, _>>()?,
            ),
        };
        let time = match &self.time {
            None => None,
            Some(slot) => {
                let i = slot
                    .index(rec.schema())
                    .ok_or_else(|| format!("field '{}': time is missing", slot.name()))?;
                let v = &mut rec.values_mut()[i];
                let t = time_from_value(slot.name(), v, &self.format)?;
                *v = Value::Time(t);
                Some(t)
            }
        };
        let id = match self.id.as_ref().and_then(|s| s.get(rec)) {
            None | Some(Value::Null) => None,
            Some(Value::Str(s)) => Some(s.clone()),
            Some(other) => Some(Str::from(other.to_string())),
        };
        Ok(Resolved { key, time, id })
    }
}

fn key_part(slot: &FieldSlot, rec: &Record) -> Result<Value, String> {
    match slot.get(rec) {
        None => Err(format!("field '{}': key is missing", slot.name())),
        Some(Value::Null) => Err(format!("field '{}': key is empty", slot.name())),
        Some(Value::Str(s)) if s.is_empty() => {
            Err(format!("field '{}': key is empty", slot.name()))
        }
        Some(v) => Ok(v.clone()),
    }
}
