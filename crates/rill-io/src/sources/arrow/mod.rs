//! Arrow source: events from in-memory `RecordBatch`es (storey's `DataframeSource`).

pub(crate) mod convert;
#[cfg(test)]
mod tests;

use crate::common::{EventFields, OneOrMany};
use arrow::array::RecordBatch;
use convert::BatchCursor;
use rill_core::{Error, TimeFormat, Timestamp};
use rill_flow::{Source, SourceBatch};
use std::sync::Arc;

/// Key, time and id options of an [`ArrowSource`] (the same meaning as in the file sources).
///
/// ```
/// use rill_io::ArrowSourceOptions;
/// let opts = ArrowSourceOptions { key: Some("user".into()), time: Some("time".into()), ..Default::default() };
/// # let _ = opts;
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ArrowSourceOptions {
    /// Column(s) holding the key; a list makes a list key. Rows with a null key are rejected.
    pub key: Option<OneOrMany>,
    /// Column holding the event time: a timestamp/date column, or text / epoch numbers read
    /// with `time_format`. Without it, the event time is the time the row was read.
    pub time: Option<String>,
    /// Format of a text or numeric time column (default ISO-8601; numbers = epoch ms).
    pub time_format: TimeFormat,
    /// IANA zone (`Europe/Paris`) of text times without an offset or zone name (default UTC);
    /// timestamp columns are not shifted.
    pub timezone: Option<String>,
    /// Column holding the event id.
    pub id: Option<String>,
}

/// Reads events from Arrow record batches, one event per row, body = a record of the row's
/// columns (one shared schema per batch shape). Record numbers count rows across all batches.
///
/// ```
/// use std::sync::Arc;
/// use arrow::array::{Int64Array, RecordBatch, StringArray};
/// use rill_flow::{Source, SourceBatch};
/// use rill_io::{ArrowSource, ArrowSourceOptions};
/// let batch = RecordBatch::try_from_iter([
///     ("user", Arc::new(StringArray::from(vec!["a", "b"])) as _),
///     ("clicks", Arc::new(Int64Array::from(vec![1, 2])) as _),
/// ]).unwrap();
/// let opts = ArrowSourceOptions { key: Some("user".into()), ..Default::default() };
/// let mut src = ArrowSource::new("clicks", vec![batch], opts).unwrap();
/// let mut out = SourceBatch::default();
/// while src.next_batch(&mut out, 1024).unwrap() {}
/// assert_eq!(out.events.len(), 2);
/// assert_eq!(out.events[1].key, rill_core::Value::from("b"));
/// ```
pub struct ArrowSource {
    name: String,
    batches: std::vec::IntoIter<RecordBatch>,
    cursor: BatchCursor,
}

impl ArrowSource {
    /// A source named `name` (used in reject messages) over `batches`. An invalid
    /// `time_format` pattern or unknown `timezone` is a configuration error.
    pub fn new(
        name: impl Into<String>,
        batches: Vec<RecordBatch>,
        options: ArrowSourceOptions,
    ) -> Result<Self, Error> {
        let name = name.into();
        let fields = EventFields::new(
            options.key.as_ref(),
            options.time.as_deref(),
            &options.time_format,
            options.timezone.as_deref(),
            options.id.as_deref(),
        )?;
        Ok(ArrowSource {
            cursor: BatchCursor::new(Arc::from(name.as_str()), fields, None, None),
            name,
            batches: batches.into_iter(),
        })
    }
}

impl Source for ArrowSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn next_batch(&mut self, batch: &mut SourceBatch, max: usize) -> Result<bool, Error> {
        let now = Timestamp::now();
        let mut n = 0;
        while n < max {
            if !self.cursor.has_rows() {
                match self.batches.next() {
                    Some(b) => self.cursor.load(&b)?,
                    None => return Ok(false),
                }
                continue;
            }
            n += self.cursor.drain(batch, max - n, now);
        }
        Ok(true)
    }
}
