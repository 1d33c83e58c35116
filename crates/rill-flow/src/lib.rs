//! rill-flow: flows of steps (storey's model) on a fast synchronous runtime.
//!
//! A flow is a DAG of [`Step`]s fed by a [`Source`] (pull: files, tables) or by a
//! [`Controller`] (push: `emit`). Steps run on one worker thread and exchange events through
//! per-step inboxes processed in topological order, so a batch of events crosses the whole graph
//! with no locks, no channels and no per-event allocation inside the engine.

// A step failure hands the event back for recovery or dead-lettering, so `Err` is large; the
// hot `Ok(())` path does not pay for it beyond the return slot.
#![allow(clippy::result_large_err)]

pub mod config;
mod controller;
mod graph;
mod run;
mod runtime;
pub mod source;
pub mod step;
pub mod steps;
mod summary;
mod workers;

pub use controller::{Controller, ControllerOptions};
pub use graph::{ErrorPolicy, Flow, NodeRef};
pub use run::{run, Clock, MaxRejects, RunError, RunOptions, RunOutcome};
pub use runtime::Graph;
pub use source::{IterSource, Source, SourceBatch};
pub use step::{Cx, Failure, Step, StepResult};
pub use summary::{RunSummary, StepStats, TableReport};
pub use workers::{run_workers, PrefixBuilder, WorkerPlan};
