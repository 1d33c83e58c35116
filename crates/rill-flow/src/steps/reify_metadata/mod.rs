//! `reify_metadata`: copies event attributes into the body (storey `ReifyMetadata`).

use crate::step::{Cx, Failure, Step, StepResult};
use rill_core::{Error, Event, Result, SchemaExtender, Str, Value};

/// An event attribute that can be copied into the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Attribute {
    /// The event key.
    Key,
    /// The event time.
    Time,
    /// The event id.
    Id,
    /// The record number in the source.
    Offset,
}

impl Attribute {
    fn read(self, e: &Event) -> Value {
        match self {
            Attribute::Key => e.key.clone(),
            Attribute::Time => Value::Time(e.time),
            Attribute::Id => e.id.clone().map_or(Value::Null, Value::Str),
            Attribute::Offset => Value::Int(e.offset as i64),
        }
    }
    /// Parses `key`, `time`, `id`, `offset` (also storey's `processing_time`).
    pub fn parse(s: &str) -> Result<Attribute> {
        Ok(match s.trim_start_matches('$') {
            "key" => Attribute::Key,
            "time" | "processing_time" => Attribute::Time,
            "id" => Attribute::Id,
            "offset" => Attribute::Offset,
            other => {
                return Err(Error::config(format!(
                    "unknown event attribute '{other}': use key, time, id or offset"
                )))
            }
        })
    }
}

/// Writes the chosen attributes into body fields (overwriting fields of the same name).
#[derive(Clone)]
pub struct ReifyMetadata {
    attrs: Vec<Attribute>,
    extender: SchemaExtender,
}

impl ReifyMetadata {
    /// `mapping`: (body field, attribute).
    pub fn new<I: IntoIterator<Item = (S, Attribute)>, S: Into<Str>>(mapping: I) -> ReifyMetadata {
        let (names, attrs): (Vec<Str>, Vec<Attribute>) =
            mapping.into_iter().map(|(n, a)| (n.into(), a)).unzip();
        ReifyMetadata {
            attrs,
            extender: SchemaExtender::new(names, true),
        }
    }
}

impl Step for ReifyMetadata {
    fn process(&mut self, mut event: Event, cx: &mut Cx) -> StepResult {
        let values: Vec<Value> = self.attrs.iter().map(|a| a.read(&event)).collect();
        match &mut event.body {
            Value::Record(r) => self.extender.apply(r, values),
            other => {
                let t = other.type_name();
                return Err(Failure::new(
                    Error::user(format!("reify_metadata needs a record body, got {t}")),
                    event,
                ));
            }
        }
        cx.emit(event);
        Ok(())
    }
}

/// YAML `reify_metadata: {body_field: key|time|id|offset, …}`.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(transparent)]
pub struct ReifyMetadataConfig {
    /// Body field → event attribute copied into it.
    pub mapping: std::collections::BTreeMap<String, Attribute>,
}

impl ReifyMetadataConfig {
    /// Builds the step.
    pub fn build(&self) -> Result<Box<dyn Step>> {
        Ok(Box::new(ReifyMetadata::new(
            self.mapping.iter().map(|(f, a)| (f.as_str(), *a)),
        )))
    }
}
