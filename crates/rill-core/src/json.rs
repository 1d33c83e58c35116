//! Conversions between [`Value`] and JSON / serde data.
//!
//! Non-finite floats become the strings `"NaN"`, `"Infinity"`, `"-Infinity"` (JSON has no such
//! numbers; the same encoding as the storey conformance files). Timestamps become RFC 3339 text.

use crate::{Record, Schema, Str, Timestamp, Value};
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::sync::Arc;

/// Converts a value to a `serde_json::Value`.
pub fn to_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        Value::Float(f) => float_to_json(*f),
        Value::Str(s) => J::String(s.to_string()),
        Value::Time(t) => J::String(t.to_iso()),
        Value::List(l) => J::Array(l.iter().map(to_json).collect()),
        Value::Record(r) => J::Object(r.iter().map(|(k, v)| (k.to_string(), to_json(v))).collect()),
    }
}

fn float_to_json(f: f64) -> serde_json::Value {
    if f.is_nan() {
        "NaN".into()
    } else if f == f64::INFINITY {
        "Infinity".into()
    } else if f == f64::NEG_INFINITY {
        "-Infinity".into()
    } else {
        serde_json::Number::from_f64(f).map_or(serde_json::Value::Null, serde_json::Value::Number)
    }
}

/// Converts JSON to a value. Integers stay `Int`, other numbers are `Float`; strings are not
/// re-interpreted (a timestamp string stays a string until a step parses it with a format).
pub fn from_json(j: &serde_json::Value) -> Value {
    use serde_json::Value as J;
    match j {
        J::Null => Value::Null,
        J::Bool(b) => Value::Bool(*b),
        J::Number(n) => n
            .as_i64()
            .map(Value::Int)
            .unwrap_or_else(|| Value::Float(n.as_f64().unwrap_or(f64::NAN))),
        J::String(s) => Value::Str(Str::from(s.as_str())),
        J::Array(a) => Value::List(a.iter().map(from_json).collect()),
        J::Object(o) => {
            let schema = Schema::new(o.keys().map(|k| k.as_str()));
            Value::Record(Record::new(schema, o.values().map(from_json).collect()))
        }
    }
}

/// Like [`from_json`] for an object, but reuses `schema` when the object's keys match it,
/// so a stream of same-shaped JSON lines shares one schema.
pub fn record_from_json_object(
    o: &serde_json::Map<String, serde_json::Value>,
    schema: &mut Option<Arc<Schema>>,
) -> Record {
    let reuse = schema
        .as_ref()
        .is_some_and(|s| s.len() == o.len() && s.names().iter().zip(o.keys()).all(|(a, b)| a == b));
    if !reuse {
        *schema = Some(Schema::new(o.keys().map(|k| k.as_str())));
    }
    let s = schema.clone().expect("set above");
    Record::new(s, o.values().map(from_json).collect())
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => s.serialize_none(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Float(f) if f.is_finite() => s.serialize_f64(*f),
            Value::Float(f) => float_to_json(*f).serialize(s),
            Value::Str(x) => s.serialize_str(x),
            Value::Time(t) => s.serialize_str(&t.to_iso()),
            Value::List(l) => {
                let mut seq = s.serialize_seq(Some(l.len()))?;
                for v in l {
                    seq.serialize_element(v)?;
                }
                seq.end()
            }
            Value::Record(r) => {
                let mut m = s.serialize_map(Some(r.len()))?;
                for (k, v) in r.iter() {
                    m.serialize_entry(k.as_str(), v)?;
                }
                m.end()
            }
        }
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        i64::try_from(v)
            .map(Value::Int)
            .map_err(|_| E::custom(format!("integer {v} is too large")))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(Str::from(v)))
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::List(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut pairs: Vec<(Str, Value)> = Vec::new();
        while let Some((k, v)) = map.next_entry::<String, Value>()? {
            pairs.push((Str::from(k), v));
        }
        Ok(Value::Record(Record::from_pairs(pairs)))
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

/// Parses an RFC 3339 string into a time value, leaving other values unchanged.
pub fn parse_time_value(v: &Value) -> Option<Timestamp> {
    match v {
        Value::Time(t) => Some(*t),
        Value::Str(s) => Timestamp::parse_iso(s).ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip() {
        let j: serde_json::Value =
            serde_json::json!({"a": 1, "b": [1.5, "x", null], "c": {"d": true}, "n": "NaN"});
        let v = from_json(&j);
        assert_eq!(v.get("a"), Some(&Value::Int(1)));
        assert_eq!(to_json(&v), j);
        assert_eq!(to_json(&Value::Float(f64::NAN)), serde_json::json!("NaN"));
        let back: Value = serde_json::from_value(j.clone()).unwrap();
        assert_eq!(back, v);
        assert_eq!(serde_json::to_value(&back).unwrap(), j);
    }

    #[test]
    fn json_lines_share_schema() {
        let mut schema = None;
        let a = record_from_json_object(
            serde_json::json!({"x": 1, "y": 2}).as_object().unwrap(),
            &mut schema,
        );
        let b = record_from_json_object(
            serde_json::json!({"x": 3, "y": 4}).as_object().unwrap(),
            &mut schema,
        );
        assert!(Arc::ptr_eq(a.schema(), b.schema()));
        let c = record_from_json_object(
            serde_json::json!({"y": 3}).as_object().unwrap(),
            &mut schema,
        );
        assert!(!Arc::ptr_eq(a.schema(), c.schema()));
    }
}
