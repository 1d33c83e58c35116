//! CSV target: one row per event.

#[cfg(test)]
mod tests;

use crate::targets::json::JsonError;
use crate::targets::output::Output;
use crate::targets::{record_error, write_json, BufferedTarget, Columns, Encoder, FlushPolicy};
use rill_core::{Duration, Error, Event, Value};
use serde::{Deserialize, Serialize};
use std::io::Write;

/// Options of the `csv` target.
///
/// ```yaml
/// targets:
///   - csv: {path: out/clicks.csv, columns: [user=$key, $time, click], max_events: 512, flush_after: 5s}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsvTargetConfig {
    /// File to write: written as `.<name>.rill-partial` beside it and renamed into place when
    /// the run ends well (replacing a previous file); parent directories are created when the
    /// target is built.
    pub path: String,
    /// Write a header line with the column names (default `true`).
    #[serde(default = "default_true")]
    pub header: bool,
    /// Columns to write, in order: `name` (body field), `new=old` (field `old` as column `new`),
    /// `$key`, `$time`, `$id` (event attributes, as columns `key`, `time`, `id`), `name=$key`.
    /// Default: the fields of the first event; a later event with a field outside them is an
    /// error naming the record and the field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<String>>,
    /// Write buffered rows to the file every this many events (default 1024).
    #[serde(default = "default_max_events")]
    pub max_events: usize,
    /// Also write buffered rows this long after the first of them arrived (e.g. `5s`), in the
    /// flow's clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flush_after: Option<Duration>,
    /// Field separator, one ASCII character (default `,`).
    #[serde(default = "default_delimiter")]
    pub delimiter: char,
}

fn default_true() -> bool {
    true
}
fn default_max_events() -> usize {
    1024
}
fn default_delimiter() -> char {
    ','
}

impl CsvTargetConfig {
    /// Options for `path` with every default.
    pub fn new(path: impl Into<String>) -> Self {
        CsvTargetConfig {
            path: path.into(),
            header: true,
            columns: None,
            max_events: 1024,
            flush_after: None,
            delimiter: ',',
        }
    }
}

/// Writes events as CSV rows and passes them on. Build with [`CsvTarget::new`].
///
/// Values: text as is, numbers as Rust prints them (floats always with a `.` or exponent so they
/// read back as floats, e.g. `1.0`; `NaN`, `inf`, `-inf`), bools `true`/`false`, times in
/// RFC 3339, lists and records as JSON, null as an empty field.
pub type CsvTarget = BufferedTarget<CsvEncoder>;

/// Encodes events as CSV rows for [`CsvTarget`].
pub struct CsvEncoder {
    cfg: CsvTargetConfig,
    columns: Columns,
    writer: Option<csv::Writer<std::fs::File>>,
    /// The partial file the rows go to until the run ends well.
    out: Output,
    /// Reused text of the row being written, and where each of its cells ends: every cell is
    /// formatted before any is written, so a cell that cannot be (a nested record with
    /// duplicate field names) leaves no partial row.
    row: Vec<u8>,
    ends: Vec<usize>,
}

impl CsvTarget {
    /// Checks the options and creates the output directory and partial file; the target path
    /// is replaced at termination.
    pub fn new(cfg: CsvTargetConfig) -> Result<Self, Error> {
        let flush = FlushPolicy::new(cfg.max_events, cfg.flush_after)?;
        Ok(BufferedTarget::with(CsvEncoder::new(cfg)?, flush))
    }
}

/// Checks the options of a `csv` target and its path, without creating anything.
pub(crate) fn check(cfg: &CsvTargetConfig) -> Result<(), Error> {
    check_delimiter(cfg.delimiter)?;
    Columns::new(cfg.columns.as_deref()).map_err(|e| e.at("columns"))?;
    FlushPolicy::new(cfg.max_events, cfg.flush_after)?;
    crate::targets::output::check(&cfg.path)
}

fn check_delimiter(d: char) -> Result<(), Error> {
    if !d.is_ascii() {
        return Err(
            Error::config(format!("csv delimiter '{d}' must be one ASCII character"))
                .at("delimiter"),
        );
    }
    Ok(())
}

impl CsvEncoder {
    fn new(cfg: CsvTargetConfig) -> Result<Self, Error> {
        check_delimiter(cfg.delimiter)?;
        Ok(CsvEncoder {
            columns: Columns::new(cfg.columns.as_deref()).map_err(|e| e.at("columns"))?,
            writer: None,
            out: Output::new(&cfg.path)?,
            row: Vec::with_capacity(256),
            ends: Vec::new(),
            cfg,
        })
    }

    fn io(&self, e: impl std::fmt::Display) -> Error {
        Error::io(format!("writing '{}'", self.cfg.path), e)
    }

    /// Creates the file and writes the header (once the columns are known).
    fn open(&mut self) -> Result<(), Error> {
        let file = self.out.file()?;
        let mut w = csv::WriterBuilder::new()
            .delimiter(self.cfg.delimiter as u8)
            .buffer_capacity(1 << 16)
            .from_writer(file);
        if self.cfg.header {
            w.write_record(self.columns.names().iter().map(|n| n.as_bytes()))
                .map_err(|e| self.io(e))?;
        }
        self.writer = Some(w);
        Ok(())
    }

    fn flush_now(&mut self) -> Result<(), Error> {
        if let Some(w) = self.writer.as_mut() {
            w.flush()
                .map_err(|e| Error::io(format!("writing '{}'", self.cfg.path), e))?;
        }
        Ok(())
    }

    /// Writes one row; `Err(Ok(reason))` is a value that cannot be written (the event fails),
    /// `Err(Err(e))` an I/O error.
    fn write_row(&mut self, ev: &Event) -> Result<(), Result<String, Error>> {
        let Some(w) = self.writer.as_mut() else {
            return Ok(());
        };
        self.row.clear();
        self.ends.clear();
        for (i, name) in self.columns.names().iter().enumerate() {
            format_cell(&mut self.row, &self.columns.value(i, ev))
                .map_err(|e| Ok(e.in_field(name).message()))?;
            self.ends.push(self.row.len());
        }
        let io = |e: csv::Error| Err(Error::io(format!("writing '{}'", self.cfg.path), e));
        let mut start = 0;
        for &end in &self.ends {
            w.write_field(&self.row[start..end]).map_err(io)?;
            start = end;
        }
        w.write_record(None::<&[u8]>).map_err(io)
    }
}

/// Appends the CSV text of a value; `Err` for a list or record that cannot be written as JSON.
pub(crate) fn format_cell(out: &mut Vec<u8>, v: &Value) -> Result<(), JsonError> {
    // writes into a Vec cannot fail
    let _ = match v {
        Value::Null => Ok(()),
        Value::Bool(b) => write!(out, "{b}"),
        Value::Int(i) => write!(out, "{i}"),
        Value::Float(f) => {
            let start = out.len();
            let r = write!(out, "{f}");
            // "1" would read back as an int: keep floats recognisable
            if f.is_finite()
                && out[start..]
                    .iter()
                    .all(|c| c.is_ascii_digit() || *c == b'-')
            {
                out.extend_from_slice(b".0");
            }
            r
        }
        Value::Str(s) => out.write_all(s.as_bytes()),
        Value::Time(t) => out.write_all(t.to_iso().as_bytes()),
        Value::List(_) | Value::Record(_) => return write_json(out, v),
    };
    Ok(())
}

impl Encoder for CsvEncoder {
    fn buffer(&mut self, event: &Event) -> Result<(), Error> {
        self.columns
            .prepare(event)
            .map_err(|reason| record_error(&self.cfg.path, event, reason))?;
        if self.writer.is_none() {
            self.open()?;
        }
        self.write_row(event).map_err(|e| match e {
            Ok(reason) => record_error(&self.cfg.path, event, reason),
            Err(io) => io,
        })
    }

    fn write_out(&mut self) -> Result<(), Error> {
        self.flush_now()
    }

    fn close(&mut self) -> Result<(), Error> {
        if self.writer.is_none() {
            // no event: still leave the file (with its header when the columns are listed)
            if self.columns.known() {
                self.open()?;
            }
        }
        self.flush_now()?;
        self.writer = None;
        self.out.commit()
    }
}
