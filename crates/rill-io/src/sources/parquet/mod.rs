//! Parquet source: reads files through Arrow record batches, with column projection and a
//! time-range filter.

#[cfg(test)]
mod tests;

use crate::common::{display_paths, expand_paths, open_file, EventFields, OneOrMany};
use crate::sources::arrow::convert::BatchCursor;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::arrow::ProjectionMask;
use rill_core::{Error, TimeFormat, Timestamp};
use rill_flow::{Source, SourceBatch};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;

/// Options of the `parquet` source.
///
/// ```yaml
/// source:
///   parquet: {path: data/clicks.parquet, columns: [user, time, click], key: user, time: time,
///             start: "2020-07-21T00:00:00Z", end: "2020-07-22T00:00:00Z"}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParquetSourceConfig {
    /// File to read: a path, a list of paths, or a glob pattern (expanded in sorted order).
    pub path: OneOrMany,
    /// Columns to read (the others are not decoded at all). The key, time and id columns are
    /// always read. Default: every column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<String>>,
    /// Column(s) holding the event key; a list makes a list key. Rows with a null key are rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<OneOrMany>,
    /// Column holding the event time: a timestamp/date column (any unit, any zone), or text /
    /// epoch numbers read with `time_format`. Required by `start`/`end`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// Format of a text or numeric time column: `iso8601` (default; numbers = epoch ms),
    /// `epoch_s`, `epoch_ms`, `epoch_us`, `epoch_ns` or a strftime pattern.
    #[serde(default)]
    pub time_format: TimeFormat,
    /// Column holding the event id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Keep only rows whose time is strictly after this instant (ISO-8601; storey's `start_filter`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// Keep only rows whose time is at or before this instant (ISO-8601; storey's `end_filter`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    /// Rows decoded per Arrow batch (default 8192).
    #[serde(default = "default_batch_rows")]
    pub batch_rows: usize,
}

fn default_batch_rows() -> usize {
    8192
}

impl ParquetSourceConfig {
    /// Options for `path` with every default.
    pub fn new(path: impl Into<String>) -> Self {
        ParquetSourceConfig {
            path: OneOrMany::One(path.into()),
            columns: None,
            key: None,
            time: None,
            time_format: TimeFormat::Iso8601,
            id: None,
            start: None,
            end: None,
            batch_rows: default_batch_rows(),
        }
    }
}

/// Reads Parquet files into events. Build with [`ParquetSource::new`].
pub struct ParquetSource {
    name: String,
    files: std::vec::IntoIter<PathBuf>,
    reader: Option<ParquetRecordBatchReader>,
    /// Columns to read (projection) plus the key/time/id columns; `None` = all.
    columns: Option<Vec<String>>,
    batch_rows: usize,
    cursor: BatchCursor,
}

impl ParquetSource {
    /// Checks the options and expands the paths (files are opened as they are reached).
    pub fn new(cfg: ParquetSourceConfig) -> Result<Self, Error> {
        let parse = |what: &str, v: &Option<String>| -> Result<Option<Timestamp>, Error> {
            v.as_deref()
                .map(|s| {
                    Timestamp::parse_iso(s).map_err(|_| {
                        Error::config(format!("parquet `{what}`: '{s}' is not an ISO-8601 time"))
                    })
                })
                .transpose()
        };
        let (start, end) = (parse("start", &cfg.start)?, parse("end", &cfg.end)?);
        if (start.is_some() || end.is_some()) && cfg.time.is_none() {
            return Err(Error::config(
                "parquet `start`/`end` filter on the time column: set `time` too",
            ));
        }
        if cfg.batch_rows == 0 {
            return Err(Error::config("parquet `batch_rows` must be at least 1"));
        }
        let fields = EventFields::new(
            cfg.key.as_ref(),
            cfg.time.as_deref(),
            &cfg.time_format,
            cfg.id.as_deref(),
        );
        let columns = cfg.columns.as_ref().map(|cols| {
            let mut all = cols.clone();
            for n in fields.names() {
                if !all.iter().any(|c| c == n) {
                    all.push(n.to_string());
                }
            }
            all
        });
        let name = display_paths(&cfg.path);
        Ok(ParquetSource {
            cursor: BatchCursor::new(Arc::from(name.as_str()), fields, start, end),
            name,
            files: expand_paths(&cfg.path)?.into_iter(),
            reader: None,
            columns,
            batch_rows: cfg.batch_rows,
        })
    }

    /// Opens the next file with the projection; false when there is none.
    fn open_next(&mut self) -> Result<bool, Error> {
        let Some(path) = self.files.next() else {
            return Ok(false);
        };
        let shown = path.display().to_string();
        let file = open_file(&path)?;
        let ctx = || format!("reading parquet '{shown}'");
        let mut builder = ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(|e| Error::io(ctx(), e))?
            .with_batch_size(self.batch_rows);
        if let Some(cols) = &self.columns {
            let schema = builder.schema().clone();
            let mut indices = Vec::with_capacity(cols.len());
            for c in cols {
                let i = schema.index_of(c).map_err(|_| {
                    let names: Vec<&str> =
                        schema.fields().iter().map(|f| f.name().as_str()).collect();
                    Error::config(format!(
                        "column '{c}' is not in '{shown}' (columns: {})",
                        names.join(", ")
                    ))
                })?;
                indices.push(i);
            }
            // top-level Arrow fields are the Parquet schema's roots, in the same order
            let mask = ProjectionMask::roots(builder.parquet_schema(), indices);
            builder = builder.with_projection(mask);
        }
        self.reader = Some(builder.build().map_err(|e| Error::io(ctx(), e))?);
        self.cursor.restart(Arc::from(shown));
        Ok(true)
    }
}

impl Source for ParquetSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn next_batch(&mut self, batch: &mut SourceBatch, max: usize) -> Result<bool, Error> {
        let now = Timestamp::now();
        let mut n = 0;
        while n < max {
            if self.cursor.has_rows() {
                n += self.cursor.drain(batch, max - n, now);
                continue;
            }
            let Some(reader) = self.reader.as_mut() else {
                if self.open_next()? {
                    continue;
                }
                return Ok(false);
            };
            match reader.next() {
                Some(Ok(rb)) => self.cursor.load(&rb)?,
                Some(Err(e)) => {
                    return Err(Error::io(format!("reading parquet '{}'", self.name), e))
                }
                None => self.reader = None,
            }
        }
        Ok(true)
    }
}
