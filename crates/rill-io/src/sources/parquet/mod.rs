//! Parquet source: reads files through Arrow record batches, with column projection and a
//! time-range filter.

#[cfg(test)]
mod tests;

use crate::common::{
    display_paths, duplicate_names, expand_paths, open_file, EventFields, OneOrMany,
};
use crate::sources::arrow::convert::BatchCursor;
use arrow::datatypes::{DataType, TimeUnit};
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader,
    ParquetRecordBatchReaderBuilder,
};
use parquet::arrow::ProjectionMask;
use parquet::file::statistics::Statistics;
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
    /// `epoch_s`, `epoch_ms`, `epoch_us`, `epoch_ns` or a strftime pattern (`%z`, `%Z` as in
    /// the CSV source).
    #[serde(default)]
    pub time_format: TimeFormat,
    /// IANA zone (`Europe/Paris`) of *text* times without an offset or zone name; default UTC.
    /// Timestamp columns hold instants and are not shifted. Unknown names are configuration
    /// errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
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
            timezone: None,
            id: None,
            start: None,
            end: None,
            batch_rows: default_batch_rows(),
        }
    }
}

/// Reads Parquet files into events. Build with [`ParquetSource::new`].
///
/// With `start`/`end` on a timestamp column, row groups whose min/max statistics lie wholly
/// outside the range are not read at all; the remaining rows are filtered one by one.
pub struct ParquetSource {
    name: String,
    files: std::vec::IntoIter<PathBuf>,
    file: Option<OpenFile>,
    reader: Option<ParquetRecordBatchReader>,
    /// Columns to read (projection) plus the key/time/id columns; `None` = all.
    columns: Option<Vec<String>>,
    time: Option<String>,
    start: Option<Timestamp>,
    end: Option<Timestamp>,
    batch_rows: usize,
    cursor: BatchCursor,
}

/// The file being read, one row group at a time (so record numbers stay row numbers even when
/// row groups are skipped).
struct OpenFile {
    shown: Arc<str>,
    file: std::fs::File,
    meta: ArrowReaderMetadata,
    mask: Option<ProjectionMask>,
    /// Row groups still to read, with the number of rows in the file before each.
    groups: std::vec::IntoIter<(usize, u64)>,
}

impl ParquetSource {
    /// Checks the options and expands the paths (files are opened as they are reached).
    pub fn new(cfg: ParquetSourceConfig) -> Result<Self, Error> {
        if cfg
            .path
            .as_slice()
            .iter()
            .any(|p| p == crate::common::STDIN)
        {
            return Err(Error::config(
                "a parquet source cannot read standard input (`-`): it needs a file it can seek in; use a csv or jsonl source",
            )
            .at("path"));
        }
        let parse = |what: &'static str, v: &Option<String>| -> Result<Option<Timestamp>, Error> {
            v.as_deref()
                .map(|s| {
                    Timestamp::parse_iso(s).map_err(|_| {
                        Error::config(format!("parquet `{what}`: '{s}' is not an ISO-8601 time"))
                            .at(what)
                    })
                })
                .transpose()
        };
        let (start, end) = (parse("start", &cfg.start)?, parse("end", &cfg.end)?);
        if (start.is_some() || end.is_some()) && cfg.time.is_none() {
            return Err(Error::config(
                "parquet `start`/`end` filter on the time column: set `time` too",
            )
            .at(if start.is_some() { "start" } else { "end" }));
        }
        if cfg.batch_rows == 0 {
            return Err(Error::config("parquet `batch_rows` must be at least 1").at("batch_rows"));
        }
        let fields = EventFields::new(
            cfg.key.as_ref(),
            cfg.time.as_deref(),
            &cfg.time_format,
            cfg.timezone.as_deref(),
            cfg.id.as_deref(),
        )?;
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
            file: None,
            reader: None,
            columns,
            time: cfg.time.clone(),
            start,
            end,
            batch_rows: cfg.batch_rows,
        })
    }

    /// Opens the next file: reads its metadata, resolves the projection and picks the row
    /// groups to read. False when there is no file left.
    fn open_next(&mut self) -> Result<bool, Error> {
        let Some(path) = self.files.next() else {
            return Ok(false);
        };
        let shown = path.display().to_string();
        let file = open_file(&path)?;
        let ctx = || format!("reading parquet '{shown}'");
        let meta = ArrowReaderMetadata::load(&file, ArrowReaderOptions::default())
            .map_err(|e| Error::io(ctx(), e))?;
        let schema = meta.schema().clone();
        // before any row: a record keeps one value per name, and a projection by name could
        // not say which column it means. Names the projection leaves out may repeat.
        let read = |n: &str| {
            self.columns
                .as_ref()
                .is_none_or(|c| c.iter().any(|c| c == n))
        };
        let names = schema.fields().iter().map(|f| f.name().as_str());
        if let Some(dup) = duplicate_names(names, "column", read) {
            return Err(Error::io(ctx(), dup));
        }
        let mask = match &self.columns {
            None => None,
            Some(cols) => {
                let mut indices = Vec::with_capacity(cols.len());
                for c in cols {
                    let i = schema.index_of(c).map_err(|_| {
                        let names: Vec<&str> =
                            schema.fields().iter().map(|f| f.name().as_str()).collect();
                        Error::config(format!(
                            "column '{c}' is not in '{shown}' (columns: {})",
                            rill_core::shorten(&names.join(", "), 200)
                        ))
                    })?;
                    indices.push(i);
                }
                // top-level Arrow fields are the Parquet schema's roots, in the same order
                Some(ProjectionMask::roots(meta.parquet_schema(), indices))
            }
        };
        let mut groups = Vec::new();
        let mut before = 0u64;
        for (g, rg) in meta.metadata().row_groups().iter().enumerate() {
            if self
                .time
                .as_deref()
                .is_none_or(|t| may_hold(&meta, g, t, self.start, self.end))
            {
                groups.push((g, before));
            }
            before += rg.num_rows().max(0) as u64;
        }
        self.file = Some(OpenFile {
            shown: Arc::from(shown),
            file,
            meta,
            mask,
            groups: groups.into_iter(),
        });
        Ok(true)
    }

    /// Starts a reader on the file's next row group; false when the file is done.
    fn next_group(&mut self) -> Result<bool, Error> {
        let Some(f) = self.file.as_mut() else {
            return Ok(false);
        };
        let Some((g, before)) = f.groups.next() else {
            self.file = None;
            return Ok(false);
        };
        let ctx = || format!("reading parquet '{}'", f.shown);
        let input = f.file.try_clone().map_err(|e| Error::io(ctx(), e))?;
        let mut builder = ParquetRecordBatchReaderBuilder::new_with_metadata(input, f.meta.clone())
            .with_batch_size(self.batch_rows)
            .with_row_groups(vec![g]);
        if let Some(mask) = &f.mask {
            builder = builder.with_projection(mask.clone());
        }
        self.reader = Some(builder.build().map_err(|e| Error::io(ctx(), e))?);
        self.cursor.restart(f.shown.clone(), before);
        Ok(true)
    }
}

/// False when row group `g`'s statistics prove no row has `start < time <= end` (only for
/// timestamp columns with min/max statistics; anything else may hold matching rows).
fn may_hold(
    meta: &ArrowReaderMetadata,
    g: usize,
    time: &str,
    start: Option<Timestamp>,
    end: Option<Timestamp>,
) -> bool {
    if start.is_none() && end.is_none() {
        return true;
    }
    let Ok(field) = meta.schema().field_with_name(time) else {
        return true;
    };
    let DataType::Timestamp(unit, _) = field.data_type() else {
        return true;
    };
    let per: i64 = match unit {
        TimeUnit::Second => 1_000_000_000,
        TimeUnit::Millisecond => 1_000_000,
        TimeUnit::Microsecond => 1_000,
        TimeUnit::Nanosecond => 1,
    };
    let descr = meta.parquet_schema();
    let Some(leaf) = (0..descr.num_columns()).find(|&j| descr.column(j).path().string() == time)
    else {
        return true;
    };
    let Some(Statistics::Int64(stats)) = meta.metadata().row_group(g).column(leaf).statistics()
    else {
        return true;
    };
    let (Some(min), Some(max)) = (stats.min_opt(), stats.max_opt()) else {
        return true;
    };
    let (min, max) = (min.saturating_mul(per), max.saturating_mul(per));
    !(start.is_some_and(|s| max <= s.nanos()) || end.is_some_and(|e| min > e.nanos()))
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
                if self.next_group()? || self.open_next()? {
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
