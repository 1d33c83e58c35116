//! The JSON text targets write: bodies of the JSON lines target, list and record cells of the
//! CSV and Parquet targets.
//!
//! Written straight from a [`Value`] into the output buffer (no `serde_json::Value` in
//! between), refusing records with duplicate field names, which would become duplicate JSON
//! keys that most readers silently collapse to one.

use crate::common::duplicate_names;
use rill_core::Value;
use serde_json::ser::{CompactFormatter, Formatter};

/// Why a value could not be written, and where inside it.
#[derive(Debug)]
pub(crate) struct JsonError {
    reason: String,
    /// Field names / list indices from the outer value in, built while unwinding.
    path: Vec<String>,
}

impl JsonError {
    /// The message: the reason, then (for a nested value) the field it is in, e.g.
    /// `duplicate field name 'click' (fields 3 and 4) in field 'inner.list[2]'`.
    pub fn message(self) -> String {
        if self.path.is_empty() {
            return self.reason;
        }
        let mut path = String::new();
        for p in self.path.iter().rev() {
            if !p.starts_with('[') && !path.is_empty() {
                path.push('.');
            }
            path.push_str(p);
        }
        format!("{} in field '{path}'", self.reason)
    }

    /// The same error inside field `name` of an enclosing value.
    pub fn in_field(mut self, name: &str) -> Self {
        self.path.push(name.to_string());
        self
    }
}

/// The reason a record with duplicate field names is refused, naming them and their positions.
pub(crate) fn duplicate_fields(rec: &rill_core::Record) -> String {
    duplicate_names(
        rec.schema().names().iter().map(|n| n.as_str()),
        "field",
        |_| true,
    )
    .unwrap_or_else(|| "duplicate field names".to_string())
}

/// Appends `s` as a JSON string, escaped as serde_json escapes: `"`, `\\` and control
/// characters (`\n`, `\t`… or `\u00XX`); everything else as is.
pub(crate) fn write_json_str(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let short: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if short.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xf)]);
        } else {
            out.extend_from_slice(short);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Appends the JSON text of `v`: times as RFC 3339 strings, non-finite floats as the bare
/// tokens `NaN`, `Infinity`, `-Infinity`.
pub(crate) fn write_json(out: &mut Vec<u8>, v: &Value) -> Result<(), JsonError> {
    let mut f = CompactFormatter;
    // writes into a Vec cannot fail
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Int(i) => {
            let _ = f.write_i64(out, *i);
        }
        Value::Float(x) if x.is_finite() => {
            let _ = f.write_f64(out, *x);
        }
        Value::Float(x) => out.extend_from_slice(non_finite(*x)),
        Value::Str(s) => write_json_str(out, s),
        Value::Time(t) => write_json_str(out, &t.to_iso()),
        Value::List(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json(out, item).map_err(|e| e.in_field(&format!("[{i}]")))?;
            }
            out.push(b']');
        }
        Value::Record(rec) => {
            if rec.schema().has_duplicate_names() {
                return Err(JsonError {
                    reason: duplicate_fields(rec),
                    path: Vec::new(),
                });
            }
            out.push(b'{');
            for (i, (name, item)) in rec.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json_str(out, name);
                out.push(b':');
                write_json(out, item).map_err(|e| e.in_field(name))?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

/// The text of a non-finite float: the bare tokens Python's `json` module writes (and reads),
/// which the JSON lines source reads back as floats. (JSON proper has no such numbers; strings
/// would come back as strings, null as null.)
fn non_finite(x: f64) -> &'static [u8] {
    if x.is_nan() {
        b"NaN"
    } else if x > 0.0 {
        b"Infinity"
    } else {
        b"-Infinity"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rill_core::{Record, Schema, Timestamp};

    fn text(v: &Value) -> Result<String, String> {
        let mut out = Vec::new();
        write_json(&mut out, v).map_err(JsonError::message)?;
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn writes_what_serde_json_writes() {
        let v = Value::Record(Record::from_pairs([
            ("a", Value::Int(-3)),
            ("b", Value::Float(1.0)),
            ("c", Value::Float(0.1)),
            ("d", Value::from("q\"\\\n\u{1}\u{1f}\t\r\u{8}\u{c}é/")),
            ("e", Value::List(vec![Value::Null, Value::Bool(true)])),
            ("t", Value::Time(Timestamp::from_millis(1_595_367_600_250))),
        ]));
        let want = serde_json::to_string(&v).unwrap();
        assert_eq!(text(&v).unwrap(), want);
        assert_eq!(
            want,
            r#"{"a":-3,"b":1.0,"c":0.1,"d":"q\"\\\n\u0001\u001f\t\r\b\fé/","e":[null,true],"t":"2020-07-21T21:40:00.250+00:00"}"#
        );
    }

    #[test]
    fn duplicate_field_names_are_refused_with_their_path() {
        let dup = Value::Record(Record::new(
            Schema::new(["x", "x"]),
            vec![Value::Int(1), Value::Int(2)],
        ));
        assert_eq!(
            text(&dup).unwrap_err(),
            "duplicate field name 'x' (fields 1 and 2)"
        );
        let nested = Value::Record(Record::from_pairs([(
            "a",
            Value::Record(Record::from_pairs([(
                "l",
                Value::List(vec![Value::Int(0), dup]),
            )])),
        )]));
        assert_eq!(
            text(&nested).unwrap_err(),
            "duplicate field name 'x' (fields 1 and 2) in field 'a.l[1]'"
        );
    }
}
