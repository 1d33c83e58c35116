//! rill-flow: flows of steps (storey's model) on a fast synchronous runtime.
//!
//! A flow is a DAG of [`Step`]s fed by a [`Source`] (pull: files, tables) or by a
//! [`Controller`] (push: `emit`). A [`Flow`] describes the graph; [`Flow::build`] makes a runnable
//! [`Graph`], which takes each event depth first through every step before the next one (storey's
//! meaning), on one thread, with no locks, no channels and no per-event allocation inside the
//! engine. `workers: N` ([`run_workers`]) shards the leading per-key steps across threads.

// A step failure hands the event back for recovery or dead-lettering, so `Err` is large; the
// hot `Ok(())` path does not pay for it beyond the return slot.
#![allow(clippy::result_large_err)]

mod build_context;
pub mod config;
mod controller;
mod expr_fn;
mod flow;
mod flow_view;
mod graph;
mod run;
pub mod source;
pub mod step;
pub mod step_factory;
pub mod steps;
pub mod string_or_struct;
mod summary;
mod workers;

pub use controller::{Controller, ControllerOptions};
pub use flow::{ErrorPolicy, Flow, NodeRef};
pub use flow_view::{EdgeKind, FlowEdge, FlowView};
pub use graph::Graph;
pub use run::{run, Clock, MaxRejects, RunError, RunOptions, RunOutcome};
pub use source::{IterSource, Source, SourceBatch};
pub use step::{Cx, Failure, Step, StepResult};
pub use step_factory::StepFactory;
pub use summary::{RunSummary, StepStats, TableReport};
pub use workers::{run_workers, WorkerPlan};
