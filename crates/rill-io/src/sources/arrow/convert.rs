//! Arrow `RecordBatch` → events, shared by the Arrow and Parquet sources.
//!
//! Each column is normalised once per batch (Arrow's `cast` kernel: dictionaries → strings,
//! narrow ints → Int64, Float32/decimals → Float64, timestamps of any unit → nanoseconds) and
//! downcast once into a [`Col`]; rows then read cells with a plain `match`, never a downcast.

use crate::common::{duplicate_names, reject, EventFields};
use arrow::array::{
    Array, AsArray, BooleanArray, Float64Array, Int64Array, LargeStringArray, RecordBatch,
    StringArray, StringViewArray, TimestampNanosecondArray,
};
use arrow::datatypes::{DataType, TimeUnit};
use rill_core::{Error, Event, Record, Schema, Str, Timestamp, Value};
use rill_flow::SourceBatch;
use std::sync::Arc;

/// One normalised column of a batch.
enum Col {
    Null,
    Bool(BooleanArray),
    Int(Int64Array),
    Float(Float64Array),
    Str(StringArray),
    LargeStr(LargeStringArray),
    View(StringViewArray),
    Time(TimestampNanosecondArray),
}

impl Col {
    /// Normalises and downcasts a column; `Err` names the column and its unsupported type.
    fn new(name: &str, array: &dyn Array) -> Result<Col, Error> {
        let cast = |to: DataType| {
            arrow::compute::cast(array, &to).map_err(|e| {
                Error::field(
                    name,
                    format!("cannot read {} as {to}: {e}", array.data_type()),
                )
            })
        };
        Ok(match array.data_type() {
            DataType::Null => Col::Null,
            DataType::Boolean => Col::Bool(array.as_boolean().clone()),
            DataType::Int64 => Col::Int(array.as_primitive().clone()),
            DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => {
                Col::Int(cast(DataType::Int64)?.as_primitive().clone())
            }
            DataType::Float64 => Col::Float(array.as_primitive().clone()),
            DataType::Float16 | DataType::Float32 | DataType::Decimal32(..) | DataType::Decimal64(..) | DataType::Decimal128(..) | DataType::Decimal256(..) => {
                Col::Float(cast(DataType::Float64)?.as_primitive().clone())
            }
            DataType::Utf8 => Col::Str(array.as_string::<i32>().clone()),
            DataType::LargeUtf8 => Col::LargeStr(array.as_string::<i64>().clone()),
            DataType::Utf8View => Col::View(array.as_string_view().clone()),
            DataType::Dictionary(_, v) if matches!(**v, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View) => {
                Col::Str(cast(DataType::Utf8)?.as_string::<i32>().clone())
            }
            // keep the zone: casting to a naive timestamp would shift the instants
            DataType::Timestamp(TimeUnit::Nanosecond, _) => Col::Time(array.as_primitive().clone()),
            DataType::Timestamp(_, tz) => Col::Time(cast(DataType::Timestamp(TimeUnit::Nanosecond, tz.clone()))?.as_primitive().clone()),
            DataType::Date32 | DataType::Date64 => Col::Time(cast(DataType::Timestamp(TimeUnit::Nanosecond, None))?.as_primitive().clone()),
            other => {
                return Err(Error::field(
                    name,
                    format!("column type {other} is not supported (use int, float, string, bool, timestamp or date columns)"),
                ))
            }
        })
    }

    #[inline]
    fn value(&self, row: usize) -> Value {
        macro_rules! get {
            ($a:expr, $f:expr) => {
                if $a.is_null(row) {
                    Value::Null
                } else {
                    $f($a.value(row))
                }
            };
        }
        match self {
            Col::Null => Value::Null,
            Col::Bool(a) => get!(a, Value::Bool),
            Col::Int(a) => get!(a, Value::Int),
            Col::Float(a) => get!(a, Value::Float),
            Col::Str(a) => get!(a, |s: &str| Value::Str(Str::from(s))),
            Col::LargeStr(a) => get!(a, |s: &str| Value::Str(Str::from(s))),
            Col::View(a) => get!(a, |s: &str| Value::Str(Str::from(s))),
            Col::Time(a) => get!(a, |n: i64| Value::Time(Timestamp(n))),
        }
    }
}

/// Walks the rows of one batch at a time, turning them into events and rejects.
pub(crate) struct BatchCursor {
    name: Arc<str>,
    fields: EventFields,
    /// storey's filter: `start < time <= end`.
    start: Option<Timestamp>,
    end: Option<Timestamp>,
    schema: Option<Arc<Schema>>,
    cols: Vec<Col>,
    rows: usize,
    row: usize,
    /// Rows of the source before the current batch (record numbers are 1-based row numbers).
    base: u64,
}

impl BatchCursor {
    /// A cursor reporting rejects under `name`.
    pub fn new(
        name: Arc<str>,
        fields: EventFields,
        start: Option<Timestamp>,
        end: Option<Timestamp>,
    ) -> Self {
        BatchCursor {
            name,
            fields,
            start,
            end,
            schema: None,
            cols: Vec::new(),
            rows: 0,
            row: 0,
            base: 0,
        }
    }

    /// Starts a new stretch of rows (a file's row group) named `name`, whose first row is
    /// record `before + 1`.
    pub fn restart(&mut self, name: Arc<str>, before: u64) {
        self.name = name;
        self.base = before;
        self.rows = 0;
        self.row = 0;
        self.cols.clear();
    }

    /// True while the current batch has unread rows.
    pub fn has_rows(&self) -> bool {
        self.row < self.rows
    }

    /// Loads the next batch (the previous one must be consumed).
    pub fn load(&mut self, batch: &RecordBatch) -> Result<(), Error> {
        let arrow_schema = batch.schema();
        let names: Vec<&str> = arrow_schema
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        if !self.schema.as_ref().is_some_and(|s| s.matches(&names)) {
            // a record keeps one value per name: a second same-named column would be lost
            if let Some(dup) = duplicate_names(names.iter().copied(), "column", |_| true) {
                return Err(Error::io(format!("reading '{}'", self.name), dup));
            }
            for n in self.fields.names() {
                if !names.contains(&n) {
                    return Err(Error::config(format!(
                        "field '{n}' is not a column of '{}' (columns: {})",
                        self.name,
                        rill_core::shorten(&names.join(", "), 200)
                    )));
                }
            }
            self.schema = Some(Schema::new(names.iter().copied()));
        }
        self.cols.clear();
        for (name, array) in names.iter().zip(batch.columns()) {
            let col = Col::new(name, array.as_ref())
                .map_err(|e| e.context(format!("reading '{}'", self.name)))?;
            self.cols.push(col);
        }
        self.base += self.rows as u64;
        self.rows = batch.num_rows();
        self.row = 0;
        Ok(())
    }

    /// Decodes up to `max` rows of the current batch into `out`; returns how many records were
    /// emitted (events + rejects; rows outside the time range are skipped and not counted).
    pub fn drain(&mut self, out: &mut SourceBatch, max: usize, now: Timestamp) -> usize {
        let Some(schema) = self.schema.clone() else {
            return 0;
        };
        let mut n = 0;
        while n < max && self.row < self.rows {
            let row = self.row;
            self.row += 1;
            let offset = self.base + row as u64 + 1;
            let mut values: Vec<Value> = Vec::with_capacity(self.cols.len() + schema.spare_hint());
            values.extend(self.cols.iter().map(|c| c.value(row)));
            let mut rec = Record::new(schema.clone(), values);
            match self.fields.resolve(&mut rec) {
                Ok(r) => {
                    let time = r.time.unwrap_or(now);
                    if r.time.is_some()
                        && (self.start.is_some_and(|s| time <= s)
                            || self.end.is_some_and(|e| time > e))
                    {
                        continue;
                    }
                    out.events.push(Event {
                        body: Value::Record(rec),
                        key: r.key,
                        time,
                        id: r.id,
                        offset,
                        meta: None,
                    });
                }
                Err(reason) => {
                    let raw = rill_core::json::to_json(&Value::Record(rec)).to_string();
                    out.rejects
                        .push(reject(&self.name, offset, reason, raw, now));
                }
            }
            n += 1;
        }
        n
    }
}
