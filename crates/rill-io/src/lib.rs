//! rill-io: file sources and targets.
//!
//! * Sources ([`rill_flow::Source`]): [`CsvSource`], [`JsonlSource`], [`ParquetSource`] and
//!   [`ArrowSource`] (in-memory Arrow `RecordBatch`es: rill's answer to storey's
//!   `DataframeSource`). Each decodes records into events with a key, an event time and an id
//!   taken from named fields; undecodable records become rejects naming the file, the record
//!   and the reason, never silent drops.
//! * Targets ([`rill_flow::Step`]s that write and pass every event on): [`CsvTarget`],
//!   [`JsonlTarget`], [`ParquetTarget`]. They buffer, flush every `max_events` events (and after
//!   `flush_after`), and flush everything at termination.
//! * [`SourceConfig`] / [`TargetConfig`]: the YAML/serde registry of all of the above, e.g.
//!   `source: {csv: {path: data/x.csv, key: user, time: time}}`.
//!
//! ```no_run
//! use rill_io::{SourceConfig, TargetConfig};
//! let src: SourceConfig = serde_json::from_str(r#"{"csv": {"path": "data/x.csv", "key": "user", "time": "time"}}"#).unwrap();
//! let source = src.build().unwrap();
//! let tgt: TargetConfig = serde_json::from_str(r#"{"parquet": {"path": "out/x.parquet"}}"#).unwrap();
//! let target = tgt.build().unwrap();
//! # let _ = (source, target);
//! ```

mod common;
pub mod config;
pub mod sources;
pub mod targets;

pub use common::{FieldType, OneOrMany};
pub use config::{SourceConfig, TargetConfig};
pub use sources::arrow::{ArrowSource, ArrowSourceOptions};
pub use sources::csv::{CsvSource, CsvSourceConfig};
pub use sources::jsonl::{JsonlSource, JsonlSourceConfig};
pub use sources::parquet::{ParquetSource, ParquetSourceConfig};
pub use targets::csv::{CsvTarget, CsvTargetConfig};
pub use targets::jsonl::{JsonlTarget, JsonlTargetConfig};
pub use targets::parquet::{ParquetTarget, ParquetTargetConfig};

#[cfg(test)]
mod testutil;
