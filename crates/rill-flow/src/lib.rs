//! rill-flow: flows of steps (storey's model) on a fast synchronous runtime.
//!
//! A flow is a DAG of [`Step`]s fed by a [`Source`] (pull: files, tables) or by a
//! [`Controller`] (push: `emit`). Steps run on one worker thread and exchange events through
//! per-step inboxes processed in topological order, so a batch of events crosses the whole graph
//! with no locks, no channels and no per-event allocation inside the engine.

pub mod source;
pub mod step;

pub use source::{IterSource, Source, SourceBatch};
pub use step::{Cx, Failure, Step, StepResult};
