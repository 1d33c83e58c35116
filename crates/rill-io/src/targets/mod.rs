//! Targets: terminal steps that write every event to a file and pass it on (so targets can be
//! chained, as in storey). They buffer, flush every `max_events` events and `flush_after` a
//! buffered event arrived (in the flow's clock), and flush and close at termination.
//!
//! Every target writes to a partial file beside its path (`.<name>.rill-partial`) and renames
//! it into place only when the run ends well (see [`partial_path`]): an interrupted or failed
//! run leaves the previous output, never a half-written one.

mod buffered;
mod columns;
pub mod csv;
mod flush;
mod json;
pub mod jsonl;
mod output;
pub mod parquet;

pub use buffered::{BufferedTarget, Encoder};
pub(crate) use columns::{AttributeKind, Columns};
pub(crate) use flush::FlushPolicy;
pub(crate) use json::{duplicate_fields, write_json, write_json_str};
pub use output::{partial_path, STDOUT};

use rill_core::{Error, Event};

/// The error for a record a target cannot write: names the target file and the record.
pub(crate) fn record_error(path: &str, ev: &Event, reason: String) -> Error {
    Error::user(reason).context(format!("writing '{path}', {}", ev.describe()))
}
