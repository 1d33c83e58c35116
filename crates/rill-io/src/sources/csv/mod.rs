//! CSV source: one event per row, body = a record over the header's names.
//!
//! Rows are split by `rows::RowReader` (memchr for plain rows, `csv_core` for quoted ones)
//! and decoded cell by cell straight from its buffer (no `String` per field); every row of a
//! file shares one [`Schema`].

mod rows;
#[cfg(test)]
mod tests;

use rows::{Row, RowReader};

use crate::common::{
    display_paths, duplicate_names, expand_paths, open_file, parse_time, reason_of, reject,
    EventFields, FieldType, OneOrMany,
};
use rill_core::{Error, Event, Record, Schema, Str, TimeFormat, TimeParser, Timestamp, Value};
use rill_flow::{Source, SourceBatch};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// Options of the `csv` source.
///
/// ```yaml
/// source:
///   csv: {path: data/clicks.csv, key: user, time: time, types: {purchase_amount: float}}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsvSourceConfig {
    /// File to read: a path, a list of paths, or a glob pattern (`data/*.csv`, expanded in sorted
    /// order). Files are read one after the other.
    pub path: OneOrMany,
    /// Whether the first line of each file holds the column names (default `true`).
    #[serde(default = "default_true")]
    pub header: bool,
    /// Column names. Required to name the columns of a file without header (otherwise they are
    /// `c0`, `c1`, …); with a header, they replace the header's names (same count).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<String>>,
    /// Field separator, one ASCII character (default `,`).
    #[serde(default = "default_delimiter")]
    pub delimiter: char,
    /// Field(s) holding the event key. A list makes a list key (`[user, device]`). A row whose
    /// key field is empty is rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<OneOrMany>,
    /// Field holding the event time. It is parsed with `time_format`, stored in the body as a
    /// timestamp and used as the event time; a row whose time does not parse is rejected.
    /// Without it, the event time is the time the row was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// How `time` (and fields declared `time`) are written: `iso8601` (default; a value without
    /// offset is UTC, or in `timezone`), `epoch_s`, `epoch_ms`, `epoch_us`, `epoch_ns`, or a
    /// strftime pattern such as `"%d/%m/%Y %H:%M:%S"` (`%z` an offset, `%Z` a zone name such as
    /// `PST` or `America/New_York`).
    #[serde(default)]
    pub time_format: TimeFormat,
    /// IANA zone (`Europe/Paris`) of text times that carry no offset or zone name; default UTC.
    /// DST-correct: a local time that occurs twice is its earlier instant, one the clocks skip
    /// is rejected. An unknown name is a configuration error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Field holding the event id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Declared types per field: `int`, `float`, `string`, `bool` or `time`. A value that does not
    /// parse as its type is rejected. Undeclared fields are inferred per value: int, else float,
    /// else `true`/`false`, else string; an empty value is null.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub types: BTreeMap<String, FieldType>,
    /// Longest quoted field accepted, in bytes (default 1 MiB). A quoted field may hold line
    /// breaks, so one stray `"` would otherwise swallow the rest of the file as one field: past
    /// this size the read stops with an error naming the line where the field starts.
    #[serde(default = "default_max_field_bytes")]
    pub max_field_bytes: usize,
}

fn default_max_field_bytes() -> usize {
    1 << 20
}

fn default_true() -> bool {
    true
}
fn default_delimiter() -> char {
    ','
}

impl CsvSourceConfig {
    /// Options for `path` with every default (header, `,`, no key/time/id, inferred types).
    pub fn new(path: impl Into<String>) -> Self {
        CsvSourceConfig {
            path: OneOrMany::One(path.into()),
            header: true,
            columns: None,
            delimiter: ',',
            key: None,
            time: None,
            time_format: TimeFormat::Iso8601,
            timezone: None,
            id: None,
            types: BTreeMap::new(),
            max_field_bytes: default_max_field_bytes(),
        }
    }
}

/// How one column is decoded.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Infer,
    Declared(FieldType),
}

/// The file being read.
struct OpenFile {
    name: Arc<str>,
    reader: RowReader<std::fs::File>,
    /// Set once the column names are known (from the header, `columns`, or the first row).
    layout: Option<Layout>,
}

/// Names and decoders of a file's columns.
#[derive(Clone)]
struct Layout {
    schema: Arc<Schema>,
    kinds: Vec<Kind>,
}

/// Reads CSV files into events. Build with [`CsvSource::new`].
pub struct CsvSource {
    name: String,
    cfg: CsvSourceConfig,
    files: std::vec::IntoIter<PathBuf>,
    current: Option<OpenFile>,
    fields: EventFields,
    /// The previous file's layout, reused when the next file has the same columns.
    last_layout: Option<Layout>,
    delimiter: u8,
}

impl CsvSource {
    /// Checks the options and expands the paths (files are opened as they are reached).
    pub fn new(cfg: CsvSourceConfig) -> Result<Self, Error> {
        if !cfg.delimiter.is_ascii() || matches!(cfg.delimiter, '"' | '\n' | '\r') {
            return Err(Error::config(format!(
                "csv delimiter {:?} must be one ASCII character other than a quote or a line end",
                cfg.delimiter
            ))
            .at("delimiter"));
        }
        if let Some(dup) = cfg
            .columns
            .as_ref()
            .and_then(|c| duplicate_names(c.iter().map(String::as_str), "column", |_| true))
        {
            return Err(Error::config(format!("csv `columns`: {dup}")).at("columns"));
        }
        let files = expand_paths(&cfg.path)?;
        let fields = EventFields::new(
            cfg.key.as_ref(),
            cfg.time.as_deref(),
            &cfg.time_format,
            cfg.timezone.as_deref(),
            cfg.id.as_deref(),
        )?;
        Ok(CsvSource {
            name: display_paths(&cfg.path),
            delimiter: cfg.delimiter as u8,
            files: files.into_iter(),
            current: None,
            fields,
            last_layout: None,
            cfg,
        })
    }

    /// Opens the next file; false when there is none.
    fn open_next(&mut self) -> Result<bool, Error> {
        let Some(path) = self.files.next() else {
            return Ok(false);
        };
        let file = open_file(&path)?;
        let name: Arc<str> = Arc::from(crate::common::file_name(&path));
        let mut reader = RowReader::new(file, self.delimiter, self.cfg.max_field_bytes);
        let mut layout = None;
        if self.cfg.header {
            let ctx = || format!("reading the header of '{name}'");
            // an empty file has an empty header row: no columns
            reader.advance().map_err(|e| Error::io(ctx(), e))?;
            let headers = reader.row();
            let mut names = Vec::with_capacity(headers.len());
            for h in headers.cells() {
                let h = std::str::from_utf8(h)
                    .map_err(|_| Error::io(ctx(), "a column name is not valid UTF-8"))?;
                names.push(h.to_string());
            }
            if let Some(cols) = &self.cfg.columns {
                // `columns` replaces the header's names (and was checked for duplicates)
                if cols.len() != names.len() {
                    return Err(Error::config(format!(
                        "'{name}' has {} columns in its header but `columns` lists {}",
                        names.len(),
                        cols.len()
                    )));
                }
                names = cols.clone();
            } else if let Some(dup) =
                duplicate_names(names.iter().map(String::as_str), "column", |_| true)
            {
                // a record keeps one value per name: the other column would be lost
                return Err(Error::BadRecord {
                    source_name: name,
                    record: headers.line,
                    reason: dup,
                });
            }
            layout = Some(self.layout_for(&name, names)?);
        } else if let Some(cols) = &self.cfg.columns {
            layout = Some(self.layout_for(&name, cols.clone())?);
        }
        self.current = Some(OpenFile {
            name,
            reader,
            layout,
        });
        Ok(true)
    }

    /// The layout for these column names (reusing the previous file's schema when equal), after
    /// checking that every field the options name is a column.
    fn layout_for(&mut self, file: &str, names: Vec<String>) -> Result<Layout, Error> {
        if let Some(l) = &self.last_layout {
            if l.schema.matches(&names) {
                return Ok(l.clone());
            }
        }
        let schema = Schema::new(names.iter().map(String::as_str));
        for n in self
            .fields
            .names()
            .chain(self.cfg.types.keys().map(String::as_str))
        {
            if schema.index_of(n).is_none() {
                return Err(Error::config(format!(
                    "field '{n}' is not a column of '{file}' (columns: {})",
                    rill_core::shorten(&names.join(", "), 200)
                )));
            }
        }
        let time = self.fields.time_name();
        let kinds = names
            .iter()
            .map(|n| match self.cfg.types.get(n) {
                Some(t) => Kind::Declared(*t),
                None if Some(n.as_str()) == time => Kind::Declared(FieldType::Time),
                None => Kind::Infer,
            })
            .collect();
        let layout = Layout { schema, kinds };
        self.last_layout = Some(layout.clone());
        Ok(layout)
    }
}

impl Source for CsvSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn next_batch(&mut self, batch: &mut SourceBatch, max: usize) -> Result<bool, Error> {
        // one clock reading per batch: rows without a time field get the time they were read
        let now = Timestamp::now();
        let mut n = 0;
        while n < max {
            let Some(file) = self.current.as_mut() else {
                if self.open_next()? {
                    continue;
                }
                return Ok(false);
            };
            let more = file
                .reader
                .advance()
                .map_err(|e| Error::io(format!("reading '{}'", file.name), e))?;
            if !more {
                self.current = None;
                continue;
            }
            n += 1;
            if file.layout.is_none() {
                // no header and no `columns`: the first row fixes the count, named c0, c1, …
                let names = (0..file.reader.row().len())
                    .map(|i| format!("c{i}"))
                    .collect();
                let name = file.name.clone();
                let layout = self.layout_for(&name, names)?;
                if let Some(f) = self.current.as_mut() {
                    f.layout = Some(layout);
                }
            }
            let Some(file) = self.current.as_ref() else {
                continue;
            };
            let Some(layout) = file.layout.as_ref() else {
                continue;
            };
            let row = file.reader.row();
            if let Err(reason) = decode_row(row, layout, &self.fields, now, &mut batch.events) {
                let raw = raw_line(row, self.delimiter);
                batch
                    .rejects
                    .push(reject(&file.name, row.line, reason, raw, now));
            }
        }
        Ok(true)
    }
}

/// Decodes one row into an event pushed on `out`; `Err` is the reject reason.
fn decode_row(
    row: Row<'_>,
    layout: &Layout,
    fields: &EventFields,
    now: Timestamp,
    out: &mut Vec<Event>,
) -> Result<(), String> {
    if row.len() != layout.kinds.len() {
        return Err(format!(
            "expected {} fields, found {}",
            layout.kinds.len(),
            row.len()
        ));
    }
    let mut values = Vec::with_capacity(row.len() + layout.schema.spare_hint());
    // One UTF-8 check for the whole row (a cell is then a boundary-checked slice of it), not
    // one call per cell; an invalid row is checked cell by cell to name the field.
    let text = std::str::from_utf8(row.bytes()).ok();
    let mut error = None;
    // extended from an exact-size iterator, so each value is written straight into its slot
    // (a push per cell went through a stack temporary: a store-forwarding stall per cell)
    values.extend(layout.kinds.iter().enumerate().map(|(i, kind)| {
        if error.is_some() {
            return Value::Null;
        }
        let cell = match text {
            Some(t) => t.get(row.range(i)),
            None => std::str::from_utf8(row.cell(i)).ok(),
        };
        let Some(s) = cell else {
            error = Some(format!(
                "field '{}': value is not valid UTF-8",
                layout.schema.names()[i]
            ));
            return Value::Null;
        };
        decode_cell(s, *kind, fields.format()).unwrap_or_else(|why| {
            error = Some(format!("field '{}': {why}", layout.schema.names()[i]));
            Value::Null
        })
    }));
    if let Some(e) = error {
        return Err(e);
    }
    let mut rec = Record::new(layout.schema.clone(), values);
    let r = fields.resolve(&mut rec)?;
    out.push(Event {
        body: Value::Record(rec),
        key: r.key,
        time: r.time.unwrap_or(now),
        id: r.id,
        offset: row.line,
        meta: None,
    });
    Ok(())
}

/// Decodes one cell; `Err` is the reason without the field name.
fn decode_cell(s: &str, kind: Kind, format: &TimeParser) -> Result<Value, String> {
    if s.is_empty() {
        return Ok(Value::Null);
    }
    Ok(match kind {
        Kind::Infer => infer(s),
        Kind::Declared(FieldType::String) => Value::Str(Str::from(s)),
        Kind::Declared(FieldType::Int) => Value::Int(
            s.trim()
                .parse()
                .map_err(|_| format!("'{s}' is not an int"))?,
        ),
        Kind::Declared(FieldType::Float) => Value::Float(
            s.trim()
                .parse()
                .map_err(|_| format!("'{s}' is not a float"))?,
        ),
        Kind::Declared(FieldType::Bool) => Value::Bool(
            parse_bool(s.trim()).ok_or_else(|| format!("'{s}' is not a bool (true/false)"))?,
        ),
        Kind::Declared(FieldType::Time) => Value::Time(parse_time(s, format).map_err(reason_of)?),
    })
}

/// Per-value inference: int, then float, then bool, else string.
fn infer(s: &str) -> Value {
    let b0 = s.as_bytes()[0];
    if b0.is_ascii_digit() || matches!(b0, b'-' | b'+' | b'.') {
        if let Ok(i) = s.parse::<i64>() {
            return Value::Int(i);
        }
        if let Ok(f) = s.parse::<f64>() {
            return Value::Float(f);
        }
    } else if matches!(b0, b'n' | b'N' | b'i' | b'I') && s.len() <= 9 {
        // NaN / inf / infinity, as the CSV target writes non-finite floats
        if let Ok(f) = s.parse::<f64>() {
            return Value::Float(f);
        }
    }
    match s {
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        _ => Value::Str(Str::from(s)),
    }
}

fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "true" | "True" | "TRUE" | "1" => Some(true),
        "false" | "False" | "FALSE" | "0" => Some(false),
        _ => None,
    }
}

/// The row as text for a reject's body (fields re-joined; only built for bad rows).
fn raw_line(row: Row<'_>, delimiter: u8) -> String {
    let mut out = String::new();
    for (i, f) in row.cells().enumerate() {
        if i > 0 {
            out.push(delimiter as char);
        }
        out.push_str(&String::from_utf8_lossy(f));
    }
    out
}
