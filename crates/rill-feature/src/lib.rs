//! rill-feature: feature graphs (svoe Featurizer's model) on rill's engine.
//!
//! * [`FeatureDefinition`] / [`DataSourceDefinition`]: what a feature or a data source is —
//!   output schema, dependencies (alternative sets chosen by a param), typed params with
//!   defaults and validation ([`ParamSpec`]), and per-instance stream logic
//!   ([`FeatureLogic`]) that runs as a step of a rill flow. Built-ins: [`builtins`], registered
//!   in one list ([`Registry::builtin`]).
//! * [`Feature`]: a definition with params and dependencies, identified by a canonical content
//!   hash ([`FeatureId`], SHA-256) stable across processes, platforms and map orders.
//! * [`FeaturizerConfig`]: the YAML featurizer config (svoe's shape, its defects fixed).
//! * [`CompiledGraph`]: the deduplicated DAG compiled into ONE rill flow, which both
//!   [`FeatureStreamGraph`] (live: `emit_named_data_event`, callbacks, grouped outputs) and
//!   [`OfflineFeatureStreamGenerator`] (stored data of all sources merged by event time,
//!   [`merge`]) run — parity by construction, and tested.
//!
//! See `docs/features.md`.

pub mod builtins;
mod compile;
mod config;
mod definition;
mod error;
mod feature;
mod grouped;
mod identity;
pub mod merge;
mod offline;
mod params;
mod registry;
mod runner;
mod stream_graph;

pub use compile::CompiledGraph;
pub use config::{FeatureConfig, FeaturizerConfig};
pub use definition::{
    secs_to_time, single_value_field, timed_schema, DataSourceDefinition, Definition, DepKind,
    DepSpec, EventSchema, FeatureDefinition, FeatureLogic, Field, FieldType, Output, Preprocess,
};
pub use error::{FeatureError, Result};
pub use feature::{Feature, NAME_KEY};
pub use grouped::GroupedNamedDataEvent;
pub use identity::FeatureId;
pub use offline::{OfflineFeatureStreamGenerator, OfflineInput};
pub use params::{ParamDefault, ParamSpec, ParamType, ParamValue, Params, Sampling};
pub use registry::Registry;
pub use stream_graph::{FeatureStreamGraph, SourceKey, SourceRef};
