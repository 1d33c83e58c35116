//! Parquet target: buffers events column by column and writes one row group per batch through
//! Arrow's `ArrowWriter`.

#[cfg(test)]
mod tests;

use crate::common::create_file;
use crate::targets::{record_error, write_json, BufferedTarget, Columns, Encoder, FlushPolicy};
use arrow::array::{
    ArrayRef, BooleanBuilder, Float64Builder, Int64Builder, RecordBatch, StringBuilder,
    TimestampNanosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema as ArrowSchema, SchemaRef, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use rill_core::{Duration, Error, Event, Value};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Options of the `parquet` target.
///
/// ```yaml
/// targets:
///   - parquet: {path: out/features.parquet, columns: [user=$key, $time, clicks_count_1h]}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParquetTargetConfig {
    /// File to write (replaced if it exists; parent directories are created). One file:
    /// storey's partitioned directory layout is not supported.
    pub path: String,
    /// Columns to write, in the notation of the CSV target (`name`, `new=old`, `$key`, `$time`,
    /// `$id`, `name=$key`). Default: the fields of the first event; a later event with a field
    /// outside them is an error naming the record and the field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<String>>,
    /// Events per row group: the buffer is written every this many events (default 65536).
    #[serde(default = "default_max_events")]
    pub max_events: usize,
    /// Also write the buffer (as a smaller row group) this long after its first event arrived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flush_after: Option<Duration>,
}

fn default_max_events() -> usize {
    65536
}

impl ParquetTargetConfig {
    /// Options for `path` with every default.
    pub fn new(path: impl Into<String>) -> Self {
        ParquetTargetConfig {
            path: path.into(),
            columns: None,
            max_events: default_max_events(),
            flush_after: None,
        }
    }
}

/// The Arrow type of a column.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Int,
    Float,
    Str,
    Bool,
    Time,
}

impl Kind {
    fn of(v: &Value) -> Option<Kind> {
        match v {
            Value::Null => None,
            Value::Bool(_) => Some(Kind::Bool),
            Value::Int(_) => Some(Kind::Int),
            Value::Float(_) => Some(Kind::Float),
            Value::Time(_) => Some(Kind::Time),
            // lists and records are written as JSON text
            Value::Str(_) | Value::List(_) | Value::Record(_) => Some(Kind::Str),
        }
    }
    fn arrow(self) -> DataType {
        match self {
            Kind::Int => DataType::Int64,
            Kind::Float => DataType::Float64,
            Kind::Str => DataType::Utf8,
            Kind::Bool => DataType::Boolean,
            Kind::Time => DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
        }
    }
    fn name(self) -> &'static str {
        match self {
            Kind::Int => "int64",
            Kind::Float => "float64",
            Kind::Str => "string",
            Kind::Bool => "bool",
            Kind::Time => "timestamp",
        }
    }
}

/// Writes events to a Parquet file and passes them on. Build with [`ParquetTarget::new`].
///
/// Column types come from the first batch: int → Int64, float → Float64 (an int column that
/// also holds floats in that batch becomes Float64), text/lists/records → Utf8 (JSON for lists
/// and records), bool → Boolean, time → Timestamp(ns, UTC); an all-null column is Utf8. After the
/// schema is written, ints are still accepted in float columns; any other mismatch is an error
/// naming the record and field, and that event is not written.
pub type ParquetTarget = BufferedTarget<ParquetEncoder>;

/// Encodes events into Arrow row groups for [`ParquetTarget`].
pub struct ParquetEncoder {
    cfg: ParquetTargetConfig,
    columns: Columns,
    /// Rows per row group.
    max_events: usize,
    /// Per column: its kind (fixed once `writer` exists) and buffered values.
    kinds: Vec<Option<Kind>>,
    buffers: Vec<Vec<Value>>,
    row: Vec<Value>,
    writer: Option<(ArrowWriter<std::fs::File>, SchemaRef)>,
}

impl ParquetTarget {
    /// Checks the options; the file is created with the first flush.
    pub fn new(cfg: ParquetTargetConfig) -> Result<Self, Error> {
        let flush = FlushPolicy::new(cfg.max_events, cfg.flush_after)?;
        Ok(BufferedTarget::with(ParquetEncoder::new(cfg)?, flush))
    }
}

impl ParquetEncoder {
    fn new(cfg: ParquetTargetConfig) -> Result<Self, Error> {
        Ok(ParquetEncoder {
            columns: Columns::new(cfg.columns.as_deref())?,
            max_events: cfg.max_events,
            kinds: Vec::new(),
            buffers: Vec::new(),
            row: Vec::new(),
            writer: None,
            cfg,
        })
    }

    /// Projects and type-checks one event into the buffers; `Err` is the reason.
    fn buffer_row(&mut self, ev: &Event) -> Result<(), String> {
        self.columns.prepare(ev)?;
        let n = self.columns.names().len();
        if self.kinds.len() != n {
            self.kinds = vec![None; n];
            self.buffers = vec![Vec::with_capacity(self.max_events.min(1 << 16)); n];
        }
        let frozen = self.writer.is_some();
        self.row.clear();
        // check the whole row before buffering any of it
        let mut widen = Vec::new();
        for i in 0..n {
            let mut v = self.columns.value(i, ev).into_owned();
            if matches!(v, Value::List(_) | Value::Record(_)) {
                // as JSON text now, so a value that cannot be written fails its own event
                let mut text = Vec::new();
                write_json(&mut text, &v)
                    .map_err(|e| e.in_field(&self.columns.names()[i]).message())?;
                v = Value::Str(String::from_utf8(text).expect("JSON text is UTF-8").into());
            }
            match (self.kinds[i], Kind::of(&v)) {
                (_, None) => {}
                (None, Some(_)) if frozen => {
                    return Err(mismatch(&self.columns.names()[i], &v, Kind::Str))
                }
                (None, Some(k)) => widen.push((i, k)),
                (Some(a), Some(b)) if a == b => {}
                (Some(Kind::Float), Some(Kind::Int)) => {}
                (Some(Kind::Int), Some(Kind::Float)) if !frozen => widen.push((i, Kind::Float)),
                (Some(a), Some(_)) => return Err(mismatch(&self.columns.names()[i], &v, a)),
            }
            self.row.push(v);
        }
        for (i, k) in widen {
            self.kinds[i] = Some(k);
        }
        for (buf, v) in self.buffers.iter_mut().zip(self.row.drain(..)) {
            buf.push(v);
        }
        Ok(())
    }

    /// Writes the buffered rows as one row group (creating the file and schema first).
    fn flush_now(&mut self) -> Result<(), Error> {
        let ctx = format!("writing '{}'", self.cfg.path);
        if self.writer.is_none() {
            if !self.columns.known() {
                return Ok(());
            }
            if self.kinds.len() != self.columns.names().len() {
                self.kinds = vec![None; self.columns.names().len()];
                self.buffers = vec![Vec::new(); self.columns.names().len()];
            }
            let fields: Vec<Field> = self
                .columns
                .names()
                .iter()
                .zip(&mut self.kinds)
                .map(|(n, k)| Field::new(n.as_str(), k.get_or_insert(Kind::Str).arrow(), true))
                .collect();
            let schema = Arc::new(ArrowSchema::new(fields));
            let file = create_file(std::path::Path::new(&self.cfg.path))?;
            let props = WriterProperties::builder()
                .set_max_row_group_row_count(Some(self.max_events))
                .build();
            let writer = ArrowWriter::try_new(file, schema.clone(), Some(props))
                .map_err(|e| Error::io(&ctx, e))?;
            self.writer = Some((writer, schema));
        }
        let rows = self.buffers.first().map_or(0, Vec::len);
        if rows > 0 {
            let arrays: Vec<ArrayRef> = self
                .kinds
                .iter()
                .zip(&mut self.buffers)
                .map(|(k, b)| build_array(k.unwrap_or(Kind::Str), b))
                .collect();
            if let Some((w, schema)) = self.writer.as_mut() {
                let batch =
                    RecordBatch::try_new(schema.clone(), arrays).map_err(|e| Error::io(&ctx, e))?;
                w.write(&batch).map_err(|e| Error::io(&ctx, e))?;
                // one row group per flushed batch
                w.flush().map_err(|e| Error::io(&ctx, e))?;
            }
        }
        Ok(())
    }
}

fn mismatch(field: &str, v: &Value, kind: Kind) -> String {
    format!(
        "field '{field}': {} ({}) does not fit the column's type {}",
        rill_core::json::to_json(v),
        v.type_name(),
        kind.name()
    )
}

/// Builds one Arrow column from buffered values (emptying the buffer, keeping its allocation).
fn build_array(kind: Kind, values: &mut Vec<Value>) -> ArrayRef {
    let n = values.len();
    // values were type-checked when buffered; anything else becomes null
    let arr: ArrayRef = match kind {
        Kind::Int => {
            let mut b = Int64Builder::with_capacity(n);
            values.iter().for_each(|v| {
                b.append_option(if let Value::Int(i) = v {
                    Some(*i)
                } else {
                    None
                })
            });
            Arc::new(b.finish())
        }
        Kind::Float => {
            let mut b = Float64Builder::with_capacity(n);
            values
                .iter()
                .for_each(|v| b.append_option(if v.is_null() { None } else { v.as_f64() }));
            Arc::new(b.finish())
        }
        Kind::Bool => {
            let mut b = BooleanBuilder::with_capacity(n);
            values.iter().for_each(|v| b.append_option(v.as_bool()));
            Arc::new(b.finish())
        }
        Kind::Time => {
            let mut b = TimestampNanosecondBuilder::with_capacity(n).with_timezone("UTC");
            values.iter().for_each(|v| {
                b.append_option(if let Value::Time(t) = v {
                    Some(t.nanos())
                } else {
                    None
                })
            });
            Arc::new(b.finish())
        }
        Kind::Str => {
            let mut b = StringBuilder::with_capacity(n, n * 16);
            for v in values.iter() {
                match v {
                    Value::Null => b.append_null(),
                    Value::Str(s) => b.append_value(s),
                    other => b.append_value(rill_core::json::to_json(other).to_string()),
                }
            }
            Arc::new(b.finish())
        }
    };
    values.clear();
    arr
}

impl Encoder for ParquetEncoder {
    fn buffer(&mut self, event: &Event) -> Result<(), Error> {
        self.buffer_row(event)
            .map_err(|reason| record_error(&self.cfg.path, event, reason))
    }

    fn write_out(&mut self) -> Result<(), Error> {
        self.flush_now()
    }

    fn close(&mut self) -> Result<(), Error> {
        self.flush_now()?;
        if let Some((w, _)) = self.writer.take() {
            w.close()
                .map_err(|e| Error::io(format!("closing '{}'", self.cfg.path), e))?;
        }
        Ok(())
    }
}
