//! Parquet target: buffers events column by column and writes one row group per batch through
//! Arrow's `ArrowWriter`.

#[cfg(test)]
mod tests;

use crate::common::FieldType;
use crate::targets::output::{sibling, Output};
use crate::targets::{
    record_error, write_json, AttributeKind, BufferedTarget, Columns, Encoder, FlushPolicy,
};
use arrow::array::{
    ArrayRef, BooleanBuilder, Float64Builder, Int64Builder, RecordBatch, StringBuilder,
    TimestampNanosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema as ArrowSchema, SchemaRef, TimeUnit};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use rill_core::{Duration, Error, Event, Value};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
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
    /// File to write: written as `.<name>.rill-partial` beside it and renamed into place when
    /// the run ends well (replacing a previous file); parent directories are created when the
    /// target is built. One file:
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
    /// Column types, by column name: `int` (Int64), `float` (Float64), `string` (Utf8), `bool`
    /// (Boolean), `time` (Timestamp(ns, UTC)). A declared type is fixed from the first row
    /// group: a value that does not fit it (a float in an `int` column) fails its event, and
    /// ints fit `float`. Undeclared columns are inferred (see [`ParquetTarget`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub types: BTreeMap<String, FieldType>,
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
            types: BTreeMap::new(),
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
    /// The kind of a declared column type.
    fn declared(t: FieldType) -> Kind {
        match t {
            FieldType::Int => Kind::Int,
            FieldType::Float => Kind::Float,
            FieldType::String => Kind::Str,
            FieldType::Bool => Kind::Bool,
            FieldType::Time => Kind::Time,
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
/// Column types: a type declared in `types`, or known from the column's source (`$time` is
/// Timestamp(ns, UTC), `$id` is Utf8), is fixed. Other columns take the widest type of the
/// values they hold in the **whole file**: int → Int64, float → Float64, and a column holding
/// ints and floats is Float64; text/lists/records → Utf8 (JSON for lists and records), bool →
/// Boolean, time → Timestamp(ns, UTC); a column null throughout is Utf8. When a later row group
/// widens a column whose earlier row groups are already written (null → a type, int → float),
/// the file written so far is rewritten with the new types, so each column has one type in
/// the file; this happens at most twice per column. A value that fits no widening (a string
/// in a float column, a float in a declared `int` column) is an error naming the record and
/// column, and that event is not written.
pub type ParquetTarget = BufferedTarget<ParquetEncoder>;

/// Encodes events into Arrow row groups for [`ParquetTarget`].
pub struct ParquetEncoder {
    cfg: ParquetTargetConfig,
    columns: Columns,
    /// Rows per row group.
    max_events: usize,
    /// Per column: its kind so far (`None`: only nulls yet), whether it is fixed (declared or
    /// known from the column's source), and the buffered values.
    kinds: Vec<Option<Kind>>,
    fixed: Vec<bool>,
    buffers: Vec<Vec<Value>>,
    row: Vec<Value>,
    /// Columns the current row widens (reused buffer).
    widen: Vec<(usize, Kind)>,
    /// The open file and the schema its row groups were written with.
    writer: Option<(ArrowWriter<std::fs::File>, SchemaRef)>,
    /// The partial file the row groups go to until the run ends well.
    out: Output,
}

impl ParquetTarget {
    /// Checks the options and creates the output directory and partial file; the target path
    /// is replaced at termination.
    pub fn new(cfg: ParquetTargetConfig) -> Result<Self, Error> {
        let flush = FlushPolicy::new(cfg.max_events, cfg.flush_after)?;
        Ok(BufferedTarget::with(ParquetEncoder::new(cfg)?, flush))
    }
}

/// Checks the options of a `parquet` target and its path, without creating anything.
pub(crate) fn check(cfg: &ParquetTargetConfig) -> Result<(), Error> {
    columns(cfg)?;
    FlushPolicy::new(cfg.max_events, cfg.flush_after)?;
    crate::targets::output::check(&cfg.path)
}

/// The columns to write, checked against `types`; a Parquet file cannot go to standard output
/// (its footer comes last and widening a column rewrites the file).
fn columns(cfg: &ParquetTargetConfig) -> Result<Columns, Error> {
    if cfg.path == crate::targets::output::STDOUT {
        return Err(Error::config(
            "a parquet target cannot write to standard output (`-`): write a file, or use a csv or jsonl target",
        )
        .at("path"));
    }
    let columns = Columns::new(cfg.columns.as_deref()).map_err(|e| e.at("columns"))?;
    if let Some(specs) = &cfg.columns {
        if let Some(bad) = cfg
            .types
            .keys()
            .find(|t| !columns.names().iter().any(|n| n == *t))
        {
            return Err(Error::config(format!(
                "parquet `types`: '{bad}' is not one of the `columns` ({})",
                specs.join(", ")
            ))
            .at(format!("types.{bad}")));
        }
    }
    Ok(columns)
}

impl ParquetEncoder {
    fn new(cfg: ParquetTargetConfig) -> Result<Self, Error> {
        let columns = columns(&cfg)?;
        Ok(ParquetEncoder {
            columns,
            max_events: cfg.max_events,
            kinds: Vec::new(),
            fixed: Vec::new(),
            buffers: Vec::new(),
            row: Vec::new(),
            widen: Vec::new(),
            writer: None,
            out: Output::new(&cfg.path)?,
            cfg,
        })
    }

    /// Sets up the per-column state once the columns are known: declared and source-given
    /// kinds. `Err` when `types` names a column the first event does not have.
    fn init_columns(&mut self) -> Result<(), String> {
        let names = self.columns.names();
        if let Some(bad) = self
            .cfg
            .types
            .keys()
            .find(|t| !names.iter().any(|n| n == *t))
        {
            return Err(format!(
                "parquet `types`: '{bad}' is not one of the columns ({}) taken from the first event",
                names.join(", ")
            ));
        }
        self.kinds = names
            .iter()
            .enumerate()
            .map(|(i, n)| match self.cfg.types.get(n.as_str()) {
                Some(t) => Some(Kind::declared(*t)),
                None => self.columns.attribute_kind(i).map(|a| match a {
                    AttributeKind::Time => Kind::Time,
                    AttributeKind::Text => Kind::Str,
                }),
            })
            .collect();
        self.fixed = self.kinds.iter().map(Option::is_some).collect();
        self.buffers = vec![Vec::with_capacity(self.max_events.min(1 << 16)); names.len()];
        Ok(())
    }

    /// Projects and type-checks one event into the buffers; `Err` is the reason.
    fn buffer_row(&mut self, ev: &Event) -> Result<(), String> {
        self.columns.prepare(ev)?;
        let n = self.columns.names().len();
        if self.kinds.len() != n {
            self.init_columns()?;
        }
        self.row.clear();
        // check the whole row before buffering any of it; widenings apply after
        self.widen.clear();
        for i in 0..n {
            let mut v = self.columns.value(i, ev).into_owned();
            if matches!(v, Value::List(_) | Value::Record(_)) {
                // as JSON text now, so a value that cannot be written fails its own event
                let mut text = Vec::new();
                write_json(&mut text, &v)
                    .map_err(|e| e.in_field(&self.columns.names()[i]).message())?;
                v = Value::Str(String::from_utf8(text).expect("JSON text is UTF-8").into());
            }
            let to = match (self.kinds[i], Kind::of(&v)) {
                (_, None) => None,
                (Some(a), Some(b)) if a == b => None,
                (Some(Kind::Float), Some(Kind::Int)) => None,
                (None, Some(k)) => Some(k),
                (Some(Kind::Int), Some(Kind::Float)) if !self.fixed[i] => Some(Kind::Float),
                (Some(a), Some(_)) => {
                    return Err(mismatch(&self.columns.names()[i], &v, a, self.fixed[i]))
                }
            };
            if let Some(k) = to {
                self.widen.push((i, k));
            }
            self.row.push(v);
        }
        for &(i, k) in &self.widen {
            self.kinds[i] = Some(k);
        }
        for (buf, v) in self.buffers.iter_mut().zip(self.row.drain(..)) {
            buf.push(v);
        }
        Ok(())
    }

    /// The Arrow schema of the kinds so far (columns with only nulls yet are Utf8).
    fn schema(&self) -> SchemaRef {
        let fields: Vec<Field> = self
            .columns
            .names()
            .iter()
            .zip(&self.kinds)
            .map(|(n, k)| Field::new(n.as_str(), k.unwrap_or(Kind::Str).arrow(), true))
            .collect();
        Arc::new(ArrowSchema::new(fields))
    }

    fn properties(&self) -> WriterProperties {
        WriterProperties::builder()
            .set_max_row_group_row_count(Some(self.max_events))
            .build()
    }

    /// Writes the buffered rows as one row group (creating the file and schema first, and
    /// rewriting the file when a column widened since its earlier row groups were written).
    fn flush_now(&mut self) -> Result<(), Error> {
        let ctx = format!("writing '{}'", self.cfg.path);
        if !self.columns.known() {
            return Ok(());
        }
        if self.kinds.len() != self.columns.names().len() {
            // columns listed, but no event yet
            self.init_columns().map_err(Error::config)?;
        }
        let schema = self.schema();
        match &self.writer {
            None => {
                let file = self.out.file()?;
                let writer = ArrowWriter::try_new(file, schema.clone(), Some(self.properties()))
                    .map_err(|e| Error::io(&ctx, e))?;
                self.writer = Some((writer, schema.clone()));
            }
            Some((_, written)) if *written != schema => self.rewrite(schema.clone())?,
            Some(_) => {}
        }
        let rows = self.buffers.first().map_or(0, Vec::len);
        if rows > 0 {
            let arrays: Vec<ArrayRef> = self
                .kinds
                .iter()
                .zip(&mut self.buffers)
                .map(|(k, b)| build_array(k.unwrap_or(Kind::Str), b))
                .collect();
            if let Some((w, _)) = self.writer.as_mut() {
                let batch = RecordBatch::try_new(schema, arrays).map_err(|e| Error::io(&ctx, e))?;
                w.write(&batch).map_err(|e| Error::io(&ctx, e))?;
                // one row group per flushed batch
                w.flush().map_err(|e| Error::io(&ctx, e))?;
            }
        }
        Ok(())
    }

    /// Rewrites the row groups written so far with `schema` (their columns cast to it: nulls
    /// to any type, Int64 to Float64), row group by row group, and continues writing with it.
    /// The finished partial file is moved aside to `.<name>.rill-widen` and removed afterwards.
    fn rewrite(&mut self, schema: SchemaRef) -> Result<(), Error> {
        let path = self.out.partial().to_path_buf();
        let aside = sibling(std::path::Path::new(&self.cfg.path), "rill-widen");
        let ctx = || format!("rewriting '{}' with widened column types", self.cfg.path);
        if let Some((w, _)) = self.writer.take() {
            w.close().map_err(|e| Error::io(ctx(), e))?;
        }
        std::fs::rename(&path, &aside).map_err(|e| Error::io(ctx(), e))?;
        let open_aside = || std::fs::File::open(&aside).map_err(|e| Error::io(ctx(), e));
        let groups = ParquetRecordBatchReaderBuilder::try_new(open_aside()?)
            .map_err(|e| Error::io(ctx(), e))?
            .metadata()
            .num_row_groups();
        let file = self.out.file()?;
        let mut writer = ArrowWriter::try_new(file, schema.clone(), Some(self.properties()))
            .map_err(|e| Error::io(ctx(), e))?;
        for g in 0..groups {
            let reader = ParquetRecordBatchReaderBuilder::try_new(open_aside()?)
                .and_then(|b| {
                    b.with_row_groups(vec![g])
                        .with_batch_size(self.max_events)
                        .build()
                })
                .map_err(|e| Error::io(ctx(), e))?;
            for batch in reader {
                let batch = batch.map_err(|e| Error::io(ctx(), e))?;
                let cols = batch
                    .columns()
                    .iter()
                    .zip(schema.fields())
                    .map(|(c, f)| arrow::compute::cast(c, f.data_type()))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| Error::io(ctx(), e))?;
                let batch =
                    RecordBatch::try_new(schema.clone(), cols).map_err(|e| Error::io(ctx(), e))?;
                writer.write(&batch).map_err(|e| Error::io(ctx(), e))?;
            }
            // keep the row groups as they were written
            writer.flush().map_err(|e| Error::io(ctx(), e))?;
        }
        std::fs::remove_file(&aside).map_err(|e| Error::io(ctx(), e))?;
        self.writer = Some((writer, schema));
        Ok(())
    }
}

fn mismatch(column: &str, v: &Value, kind: Kind, declared: bool) -> String {
    format!(
        "column '{column}': {} ({}) does not fit the column's {}type {}",
        rill_core::json::to_json(v),
        v.type_name(),
        if declared { "declared " } else { "" },
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
        if self.writer.is_none() {
            // no event and no listed columns: still a readable (column-less) Parquet file,
            // not an empty one that no reader opens
            let file = self.out.file()?;
            let w = ArrowWriter::try_new(file, Arc::new(ArrowSchema::empty()), None)
                .map_err(|e| Error::io(format!("writing '{}'", self.cfg.path), e))?;
            self.writer = Some((w, Arc::new(ArrowSchema::empty())));
        }
        if let Some((w, _)) = self.writer.take() {
            w.close()
                .map_err(|e| Error::io(format!("closing '{}'", self.cfg.path), e))?;
        }
        self.out.commit()
    }
}
