//! One JSON line → one record, parsed straight into [`Value`]s with `jiter` (no
//! `serde_json::Value` in between).
//!
//! Beyond strict JSON, the bare tokens `NaN`, `Infinity` and `-Infinity` are floats: the JSON
//! lines target writes non-finite floats that way, as Python's `json` module does, so they
//! round-trip. An object with a repeated key is refused (a record keeps one value per name).

use crate::common::duplicate_names;
use jiter::{Jiter, JiterError, Peek};
use rill_core::{Record, Schema, Str, Value};
use std::sync::Arc;

/// Nesting depth past which a line is refused (serde_json's limit), so a line of `[[[[…`
/// cannot exhaust the stack.
const MAX_DEPTH: usize = 128;

/// Why a line could not be decoded; [`LineError::message`] is the reject reason.
pub(crate) enum LineError {
    /// Not JSON (or past the nesting limit).
    Json { column: usize, reason: String },
    /// JSON, but not one object.
    NotObject(&'static str),
    /// An object with a repeated key, inside the fields of `path` (outermost first).
    Duplicate { reason: String, path: Vec<String> },
}

impl LineError {
    /// The reject reason, e.g. `invalid JSON at column 19: EOF while parsing a value`.
    pub fn message(self) -> String {
        match self {
            LineError::Json { column, reason } => {
                format!("invalid JSON at column {column}: {reason}")
            }
            LineError::NotObject(kind) => format!("expected a JSON object, found {kind}"),
            LineError::Duplicate { reason, path } if path.is_empty() => reason,
            LineError::Duplicate { reason, path } => {
                let mut shown = String::new();
                for p in path.iter().rev() {
                    if !p.starts_with('[') && !shown.is_empty() {
                        shown.push('.');
                    }
                    shown.push_str(p);
                }
                format!("{reason} in field '{shown}'")
            }
        }
    }

    fn in_field(mut self, name: &str) -> Self {
        if let LineError::Duplicate { path, .. } = &mut self {
            path.push(name.to_string());
        }
        self
    }
}

/// Decodes lines, reusing one schema while consecutive lines have the same keys in order.
#[derive(Default)]
pub(crate) struct LineDecoder {
    schema: Option<Arc<Schema>>,
    /// The current line's keys, collected only once they differ from `schema` (reused buffer).
    keys: Vec<Str>,
}

impl LineDecoder {
    /// The record of one line (without its line end).
    pub fn decode(&mut self, line: &[u8]) -> Result<Record, LineError> {
        let mut j = Jiter::new(line).with_allow_inf_nan();
        let err = |e: JiterError| json_error(line, e);
        let peek = j.peek().map_err(err)?;
        if peek != Peek::Object {
            // the whole line must still be JSON, to say what it is
            j.known_skip(peek).map_err(err)?;
            j.finish().map_err(err)?;
            return Err(LineError::NotObject(kind(peek)));
        }
        let known = self.schema.clone();
        let names = known.as_ref().map_or(&[][..], |s| s.names());
        let spare = known.as_ref().map_or(0, |s| s.spare_hint());
        let mut values = Vec::with_capacity(names.len() + spare);
        // while `same`, the keys so far equal the schema's first names (nothing is collected)
        let mut same = true;
        self.keys.clear();
        let mut key = j.known_object().map_err(err)?.map(Str::from);
        while let Some(k) = key {
            let i = values.len();
            if same && names.get(i) != Some(&k) {
                same = false;
                self.keys.extend_from_slice(&names[..i]);
            }
            let peek = j.peek().map_err(err)?;
            values.push(value(&mut j, line, peek, 1).map_err(|e| e.in_field(&k))?);
            if !same {
                self.keys.push(k);
            }
            key = j.next_key().map_err(err)?.map(Str::from);
        }
        j.finish().map_err(err)?;
        let schema = match known {
            Some(s) if same && s.len() == values.len() => s,
            _ => {
                if same {
                    // a prefix of the previous line's keys
                    self.keys.extend_from_slice(&names[..values.len()]);
                }
                let s = Schema::new(self.keys.drain(..));
                if s.has_duplicate_names() {
                    return Err(duplicate(&s));
                }
                self.schema = Some(s.clone());
                s
            }
        };
        Ok(Record::new(schema, values))
    }
}

/// A JSON syntax error at its column of the line.
fn json_error(line: &[u8], e: JiterError) -> LineError {
    LineError::Json {
        column: jiter::LinePosition::find(line, e.index).column,
        reason: e.error_type.to_string(),
    }
}

/// A value inside the line's object, `depth` levels down.
fn value(j: &mut Jiter, line: &[u8], peek: Peek, depth: usize) -> Result<Value, LineError> {
    let err = |e: JiterError| json_error(line, e);
    if depth > MAX_DEPTH && matches!(peek, Peek::Array | Peek::Object) {
        return Err(LineError::Json {
            column: j.current_index() + 1,
            reason: "recursion limit exceeded".into(),
        });
    }
    Ok(match peek {
        Peek::Null => {
            j.known_null().map_err(err)?;
            Value::Null
        }
        Peek::True | Peek::False => Value::Bool(j.known_bool(peek).map_err(err)?),
        Peek::String => Value::Str(Str::from(j.known_str().map_err(err)?)),
        Peek::Array => {
            let mut items = Vec::new();
            let mut next = j.known_array().map_err(err)?;
            while let Some(p) = next {
                let i = items.len();
                items
                    .push(value(j, line, p, depth + 1).map_err(|e| e.in_field(&format!("[{i}]")))?);
                next = j.array_step().map_err(err)?;
            }
            Value::List(items)
        }
        Peek::Object => {
            let mut keys: Vec<Str> = Vec::new();
            let mut values = Vec::new();
            let mut key = j.known_object().map_err(err)?.map(Str::from);
            while let Some(k) = key {
                let p = j.peek().map_err(err)?;
                values.push(value(j, line, p, depth + 1).map_err(|e| e.in_field(&k))?);
                keys.push(k);
                key = j.next_key().map_err(err)?.map(Str::from);
            }
            let s = Schema::new(keys);
            if s.has_duplicate_names() {
                return Err(duplicate(&s));
            }
            Value::Record(Record::new(s, values))
        }
        p if p.is_num() => number(j, line, p)?,
        // not the start of a value: jiter says why
        p => {
            j.known_skip(p).map_err(err)?;
            Value::Null
        }
    })
}

/// A number: an int when it is written as one and fits i64, else a float (integers past i64
/// too, as before); `NaN`, `Infinity`, `-Infinity` are the non-finite floats. A literal too
/// large for a float (`1e400`) is an error rather than an infinity nobody wrote.
fn number(j: &mut Jiter, line: &[u8], peek: Peek) -> Result<Value, LineError> {
    let start = j.current_index();
    let bytes = j
        .known_number_bytes(peek)
        .map_err(|e| json_error(line, e))?;
    // jiter checked the number's grammar: ASCII digits, sign, `.`, exponent, or a token
    let text = std::str::from_utf8(bytes).unwrap_or_default();
    if !bytes
        .iter()
        .any(|b| matches!(b, b'.' | b'e' | b'E' | b'N' | b'I'))
    {
        if let Ok(i) = text.parse::<i64>() {
            return Ok(Value::Int(i));
        }
    }
    let f = match text {
        "NaN" => f64::NAN,
        "Infinity" => f64::INFINITY,
        "-Infinity" => f64::NEG_INFINITY,
        _ => text.parse::<f64>().unwrap_or(f64::INFINITY),
    };
    if f.is_infinite() && !text.ends_with("Infinity") {
        return Err(LineError::Json {
            column: start + 1,
            reason: "number out of range".into(),
        });
    }
    Ok(Value::Float(f))
}

/// The error for a schema with repeated names.
fn duplicate(s: &Schema) -> LineError {
    LineError::Duplicate {
        reason: duplicate_names(s.names().iter().map(|n| n.as_str()), "field", |_| true)
            .unwrap_or_else(|| "duplicate field names".into()),
        path: Vec::new(),
    }
}

/// What a non-object line is, for the reject message.
fn kind(peek: Peek) -> &'static str {
    match peek {
        Peek::Null => "null",
        Peek::True | Peek::False => "a bool",
        Peek::String => "a string",
        Peek::Array => "an array",
        Peek::Object => "an object",
        _ => "a number",
    }
}
