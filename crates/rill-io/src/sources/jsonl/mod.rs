//! JSON lines source: one JSON object per line, one event per object.
//!
//! Consecutive lines with the same keys in the same order share one schema. Blank lines are
//! skipped (but counted, so record numbers are line numbers). Lines are parsed by
//! [`decode::LineDecoder`], which also reads the `NaN` / `Infinity` / `-Infinity` tokens the
//! JSON lines target writes.

mod decode;
#[cfg(test)]
mod tests;

use decode::LineDecoder;

use crate::common::{display_paths, expand_paths, open_file, reject, EventFields, OneOrMany};
use rill_core::{Error, Event, TimeFormat, Timestamp, Value};
use rill_flow::{Source, SourceBatch};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::sync::Arc;

/// Options of the `jsonl` source.
///
/// ```yaml
/// source:
///   jsonl: {path: data/clicks.jsonl, key: user, time: ts, time_format: epoch_ms}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonlSourceConfig {
    /// File to read: a path, a list of paths, or a glob pattern (expanded in sorted order).
    pub path: OneOrMany,
    /// Field(s) holding the event key; a list makes a list key. A line whose key is missing,
    /// null or empty is rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<OneOrMany>,
    /// Field holding the event time: a string in `time_format`, or a number (epoch in the unit
    /// of `time_format`; epoch milliseconds with `iso8601`). Stored in the body as a timestamp.
    /// Without it, the event time is the time the line was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// `iso8601` (default), `epoch_s`, `epoch_ms`, `epoch_us`, `epoch_ns` or a strftime pattern
    /// (`%z` an offset, `%Z` a zone name such as `PST` or `America/New_York`).
    #[serde(default)]
    pub time_format: TimeFormat,
    /// IANA zone (`Europe/Paris`) of text times that carry no offset or zone name; default UTC.
    /// DST-correct: a local time that occurs twice is its earlier instant, one the clocks skip
    /// is rejected. An unknown name is a configuration error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Field holding the event id (numbers are turned into text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

impl JsonlSourceConfig {
    /// Options for `path` with every default.
    pub fn new(path: impl Into<String>) -> Self {
        JsonlSourceConfig {
            path: OneOrMany::One(path.into()),
            key: None,
            time: None,
            time_format: TimeFormat::Iso8601,
            timezone: None,
            id: None,
        }
    }
}

struct OpenFile {
    name: Arc<str>,
    reader: BufReader<std::fs::File>,
    line: u64,
}

/// Reads JSON lines files into events. Build with [`JsonlSource::new`].
pub struct JsonlSource {
    name: String,
    files: std::vec::IntoIter<PathBuf>,
    current: Option<OpenFile>,
    fields: EventFields,
    decoder: LineDecoder,
    buf: Vec<u8>,
}

impl JsonlSource {
    /// Checks the options and expands the paths.
    pub fn new(cfg: JsonlSourceConfig) -> Result<Self, Error> {
        Ok(JsonlSource {
            name: display_paths(&cfg.path),
            files: expand_paths(&cfg.path)?.into_iter(),
            current: None,
            fields: EventFields::new(
                cfg.key.as_ref(),
                cfg.time.as_deref(),
                &cfg.time_format,
                cfg.timezone.as_deref(),
                cfg.id.as_deref(),
            )?,
            decoder: LineDecoder::default(),
            buf: Vec::new(),
        })
    }
}

impl Source for JsonlSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn next_batch(&mut self, batch: &mut SourceBatch, max: usize) -> Result<bool, Error> {
        let now = Timestamp::now();
        let mut n = 0;
        while n < max {
            let Some(file) = self.current.as_mut() else {
                let Some(path) = self.files.next() else {
                    return Ok(false);
                };
                let f = open_file(&path)?;
                self.current = Some(OpenFile {
                    name: Arc::from(crate::common::file_name(&path)),
                    reader: BufReader::with_capacity(1 << 16, f),
                    line: 0,
                });
                continue;
            };
            self.buf.clear();
            let read = file
                .reader
                .read_until(b'\n', &mut self.buf)
                .map_err(|e| Error::io(format!("reading '{}'", file.name), e))?;
            if read == 0 {
                self.current = None;
                continue;
            }
            file.line += 1;
            if self.buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            n += 1;
            match decode_line(&self.buf, &self.fields, &mut self.decoder, file.line, now) {
                Ok(ev) => batch.events.push(ev),
                Err(reason) => {
                    let raw = String::from_utf8_lossy(&self.buf).trim_end().to_string();
                    batch
                        .rejects
                        .push(reject(&file.name, file.line, reason, raw, now));
                }
            }
        }
        Ok(true)
    }
}

fn decode_line(
    line: &[u8],
    fields: &EventFields,
    decoder: &mut LineDecoder,
    n: u64,
    now: Timestamp,
) -> Result<Event, String> {
    let mut rec = decoder
        .decode(line.trim_ascii_end())
        .map_err(decode::LineError::message)?;
    let r = fields.resolve(&mut rec)?;
    Ok(Event {
        body: Value::Record(rec),
        key: r.key,
        time: r.time.unwrap_or(now),
        id: r.id,
        offset: n,
        meta: None,
    })
}
