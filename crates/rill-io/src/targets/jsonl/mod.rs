//! JSON lines target: one JSON object per event.

#[cfg(test)]
mod tests;

use crate::targets::output::Output;
use crate::targets::{
    record_error, write_json, write_json_str, BufferedTarget, Columns, Encoder, FlushPolicy,
};
use rill_core::{Duration, Error, Event};
use serde::{Deserialize, Serialize};
use std::io::{BufWriter, Write};

/// Options of the `jsonl` target.
///
/// ```yaml
/// targets:
///   - jsonl: {path: out/features.jsonl, columns: [user=$key, $time, clicks_count_1h]}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonlTargetConfig {
    /// File to write: written as `.<name>.rill-partial` beside it and renamed into place when
    /// the run ends well (replacing a previous file); parent directories are created when the
    /// target is built.
    pub path: String,
    /// Fields to write, in the notation of the CSV target (`name`, `new=old`, `$key`, `$time`,
    /// `$id`, `name=$key`). Default: the whole body, whatever its fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<String>>,
    /// Write buffered lines to the file every this many events (default 1024).
    #[serde(default = "default_max_events")]
    pub max_events: usize,
    /// Also write buffered lines this long after the first of them arrived (e.g. `5s`), in the
    /// flow's clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flush_after: Option<Duration>,
}

fn default_max_events() -> usize {
    1024
}

impl JsonlTargetConfig {
    /// Options for `path` with every default.
    pub fn new(path: impl Into<String>) -> Self {
        JsonlTargetConfig {
            path: path.into(),
            columns: None,
            max_events: 1024,
            flush_after: None,
        }
    }
}

/// Writes events as JSON lines and passes them on. Build with [`JsonlTarget::new`].
///
/// Values: times in RFC 3339 text; non-finite floats as the bare tokens `NaN`, `Infinity`,
/// `-Infinity` (as Python's `json` writes them; the JSON lines source reads them back as
/// floats). A record with repeated field names fails its event.
pub type JsonlTarget = BufferedTarget<JsonlEncoder>;

/// Encodes events as JSON lines for [`JsonlTarget`].
pub struct JsonlEncoder {
    cfg: JsonlTargetConfig,
    /// `None` writes whole bodies.
    columns: Option<Columns>,
    /// Lines not yet written to the file.
    buf: Vec<u8>,
    file: Option<BufWriter<std::fs::File>>,
    /// The partial file the lines go to until the run ends well.
    out: Output,
}

impl JsonlTarget {
    /// Checks the options and creates the output directory and partial file; the target path
    /// is replaced at termination.
    pub fn new(cfg: JsonlTargetConfig) -> Result<Self, Error> {
        let flush = FlushPolicy::new(cfg.max_events, cfg.flush_after)?;
        Ok(BufferedTarget::with(JsonlEncoder::new(cfg)?, flush))
    }
}

/// Checks the options of a `jsonl` target and its path, without creating anything.
pub(crate) fn check(cfg: &JsonlTargetConfig) -> Result<(), Error> {
    columns(cfg)?;
    FlushPolicy::new(cfg.max_events, cfg.flush_after)?;
    crate::targets::output::check(&cfg.path)
}

fn columns(cfg: &JsonlTargetConfig) -> Result<Option<Columns>, Error> {
    cfg.columns
        .as_deref()
        .map(|c| Columns::new(Some(c)))
        .transpose()
        .map_err(|e| e.at("columns"))
}

impl JsonlEncoder {
    fn new(cfg: JsonlTargetConfig) -> Result<Self, Error> {
        let columns = columns(&cfg)?;
        Ok(JsonlEncoder {
            columns,
            buf: Vec::with_capacity(1 << 16),
            file: None,
            out: Output::new(&cfg.path)?,
            cfg,
        })
    }

    fn write_line(&mut self, ev: &Event) -> Result<(), String> {
        match &mut self.columns {
            None => write_json(&mut self.buf, &ev.body).map_err(|e| e.message())?,
            Some(cols) => {
                cols.prepare(ev)?;
                self.buf.push(b'{');
                for (i, name) in cols.names().iter().enumerate() {
                    if i > 0 {
                        self.buf.push(b',');
                    }
                    write_json_str(&mut self.buf, name);
                    self.buf.push(b':');
                    write_json(&mut self.buf, cols.value(i, ev).as_ref())
                        .map_err(|e| e.in_field(name).message())?;
                }
                self.buf.push(b'}');
            }
        }
        self.buf.push(b'\n');
        Ok(())
    }

    fn flush_now(&mut self) -> Result<(), Error> {
        let ctx = || format!("writing '{}'", self.cfg.path);
        if self.file.is_none() {
            self.file = Some(BufWriter::new(self.out.file()?));
        }
        if let Some(f) = self.file.as_mut() {
            f.write_all(&self.buf)
                .and_then(|_| f.flush())
                .map_err(|e| Error::io(ctx(), e))?;
        }
        self.buf.clear();
        Ok(())
    }
}

impl Encoder for JsonlEncoder {
    fn buffer(&mut self, event: &Event) -> Result<(), Error> {
        let mark = self.buf.len();
        self.write_line(event).map_err(|reason| {
            self.buf.truncate(mark);
            record_error(&self.cfg.path, event, reason)
        })
    }

    fn write_out(&mut self) -> Result<(), Error> {
        self.flush_now()
    }

    fn close(&mut self) -> Result<(), Error> {
        self.flush_now()?;
        self.file = None;
        self.out.commit()
    }
}
