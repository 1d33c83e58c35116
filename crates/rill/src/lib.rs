//! rill: real-time event processing and feature extraction for machine learning.
//!
//! This crate is the front door: it re-exports the engine's crates and runs **YAML pipelines**
//! (a source, steps, targets) — the same files the `rill` command line runs.
//!
//! ```no_run
//! let p = rill::Pipeline::from_file("examples/clicks.yaml", &[]).unwrap();
//! let outcome = p.run().unwrap();
//! eprintln!("{}", outcome.summary);
//! ```

mod checks;
pub mod graph_view;
mod load;
mod overrides;
mod paths;
pub mod pipeline;
mod yaml;

pub use overrides::Override;
pub use pipeline::{Pipeline, PipelineConfig};
pub use rill_agg as agg;
pub use rill_core as core;
pub use rill_expr as expr;
pub use rill_feature as feature;
pub use rill_flow as flow;
pub use rill_io as io;
pub use rill_table as table;
