//! The source interface: where a flow's events come from.

use crate::step::Failure;
use rill_core::{Error, Event};

/// What one call of [`Source::next_batch`] produced.
#[derive(Debug, Default)]
pub struct SourceBatch {
    /// Decoded events, in input order.
    pub events: Vec<Event>,
    /// Records that could not be decoded: the error names the source, record number and reason;
    /// the event carries the raw record (e.g. the line as a string body) for dead-lettering.
    pub rejects: Vec<Failure>,
}

impl SourceBatch {
    /// Clears both lists, keeping their allocations.
    pub fn clear(&mut self) {
        self.events.clear();
        self.rejects.clear();
    }
}

/// A pull source (files, tables, generators), read on the flow's worker thread.
///
/// Push sources (the controller, Kafka/NATS consumers) feed the flow through a channel instead.
pub trait Source: Send {
    /// A name for messages and the run summary (e.g. the file path).
    fn name(&self) -> &str;

    /// Reads up to `max` records into `batch` (events and rejects). Returns `Ok(false)` once the
    /// input is exhausted (the batch may still hold the last records). An `Err` is fatal for the
    /// source (file missing, connection lost); bad records are rejects, not errors.
    fn next_batch(&mut self, batch: &mut SourceBatch, max: usize) -> Result<bool, Error>;
}

/// A source over an in-memory list of events (tests, examples, the Rust API).
#[derive(Debug)]
pub struct IterSource<I> {
    name: String,
    iter: I,
    read: u64,
}

impl<I: Iterator<Item = Event> + Send> IterSource<I> {
    /// Wraps an iterator of events.
    pub fn new(name: impl Into<String>, iter: impl IntoIterator<IntoIter = I>) -> Self {
        IterSource {
            name: name.into(),
            iter: iter.into_iter(),
            read: 0,
        }
    }
}

impl<I: Iterator<Item = Event> + Send> Source for IterSource<I> {
    fn name(&self) -> &str {
        &self.name
    }
    fn next_batch(&mut self, batch: &mut SourceBatch, max: usize) -> Result<bool, Error> {
        for _ in 0..max {
            match self.iter.next() {
                Some(mut e) => {
                    self.read += 1;
                    if e.offset == 0 {
                        e.offset = self.read;
                    }
                    batch.events.push(e)
                }
                None => return Ok(false),
            }
        }
        Ok(true)
    }
}
