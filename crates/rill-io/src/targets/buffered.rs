//! The part every file target shares: buffer events, flush every `max_events` or `flush_after`
//! (a timer on the flow's clock), pass events on, flush, close and commit (rename the partial
//! file into place) at termination. A format only implements [`Encoder`].

use crate::targets::FlushPolicy;
use rill_core::{Error, Event, Timestamp, Value};
use rill_flow::{Cx, Failure, Step, StepResult};

/// What a file format does for [`BufferedTarget`].
pub trait Encoder: Send {
    /// Adds one event to the buffer. An error (e.g. a value that does not fit its column) fails
    /// that event, names the record and field, and leaves the buffer as it was.
    fn buffer(&mut self, event: &Event) -> Result<(), Error>;
    /// Writes the buffer out (creating the file on first use).
    fn write_out(&mut self) -> Result<(), Error>;
    /// Writes what is left, closes the partial file (creating it, empty, if no event came) and
    /// commits it: renames it to the target path.
    fn close(&mut self) -> Result<(), Error>;
}

/// A file target: an [`Encoder`] plus the flush policy. `CsvTarget`, `JsonlTarget` and
/// `ParquetTarget` are this type over their encoders.
pub struct BufferedTarget<E> {
    pub(crate) enc: E,
    flush: FlushPolicy,
    /// Events buffered so far (all of them reach the file if the run ends well).
    buffered: u64,
    /// Rows in the committed file: 0 until termination commits it, so a failed or killed
    /// run's summary never counts rows that are not in an output.
    written: u64,
}

impl<E: Encoder> BufferedTarget<E> {
    pub(crate) fn with(enc: E, flush: FlushPolicy) -> Self {
        BufferedTarget {
            enc,
            flush,
            buffered: 0,
            written: 0,
        }
    }

    fn write_out(&mut self) -> Result<(), Error> {
        self.enc.write_out()?;
        self.flush.flushed();
        Ok(())
    }
}

impl<E: Encoder> Step for BufferedTarget<E> {
    fn process(&mut self, event: Event, cx: &mut Cx) -> StepResult {
        if let Err(e) = self.enc.buffer(&event) {
            return Err(Failure::new(e, event));
        }
        self.buffered += 1;
        if self.flush.added(cx.now()) {
            self.write_out()?;
        }
        cx.emit(event);
        Ok(())
    }

    fn uses_timers(&self) -> bool {
        self.flush.has_timer()
    }

    fn next_deadline(&self) -> Option<Timestamp> {
        self.flush.deadline()
    }

    fn on_timer(&mut self, cx: &mut Cx) -> Result<(), Error> {
        if self.flush.due(cx.now()) {
            self.write_out()?;
        }
        Ok(())
    }

    fn terminate(&mut self, _cx: &mut Cx) -> Result<Option<Value>, Error> {
        self.enc.close()?;
        self.flush.flushed();
        self.written = self.buffered;
        Ok(None)
    }

    fn counters(&self) -> Vec<(String, u64)> {
        vec![("rows_written".to_string(), self.written)]
    }
}
