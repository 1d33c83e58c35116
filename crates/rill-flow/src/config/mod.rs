//! YAML / serde configuration of steps: the one list of step kinds a pipeline file may use.
//!
//! `StepConfig<T>` is generic over the target configuration `T` (defined by the I/O layer), so
//! branches and routes can end in targets while this crate stays below the I/O crate.

mod expr;
mod fields;
pub mod string_or_struct;

pub use expr::{ExprFn, EVENT_VARS};
pub use fields::check_fields;
pub use string_or_struct::StringOrStruct;

use crate::graph::Flow;
use crate::step::Step;
use crate::steps;
use rill_core::{Error, Result};
use rill_table::Tables;
use serde::Deserialize;

/// What building a step from configuration may need: the process's tables by name.
#[derive(Clone, Default)]
pub struct BuildContext {
    /// Tables shared by name between steps and flows.
    pub tables: Tables,
}

/// One entry of a pipeline's `steps:` list. Each kind's options are documented on its struct.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum StepConfig<T> {
    /// Replace the body with an expression's value: `map: "body + {y: x * 2}"`.
    #[serde(deserialize_with = "string_or_struct::deserialize")]
    Map(steps::map::MapConfig),
    /// Keep events for which an expression is true: `filter: "x > 1"`.
    #[serde(deserialize_with = "string_or_struct::deserialize")]
    Filter(steps::filter::FilterConfig),
    /// One event per element of an expression's list: `flat_map: "range(n).map(j, {j: j})"`.
    #[serde(deserialize_with = "string_or_struct::deserialize")]
    FlatMap(steps::flat_map::FlatMapConfig),
    /// Add or overwrite fields with an expression's record: `extend: "{total: a + b}"`.
    #[serde(deserialize_with = "string_or_struct::deserialize")]
    Extend(steps::extend::ExtendConfig),
    /// Rename fields: `rename: {old: new}`.
    Rename(steps::rename::RenameConfig),
    /// Remove fields: `drop_columns: [a, b]`.
    DropColumns(steps::drop_columns::DropColumnsConfig),
    /// Copy event attributes into the body: `reify_metadata: {k: key, t: time}`.
    ReifyMetadata(steps::reify_metadata::ReifyMetadataConfig),
    /// A map that threads state, globally or per key.
    MapWithState(steps::map_with_state::MapWithStateConfig),
    /// Collect events into lists.
    Batch(steps::batch::BatchConfig),
    /// Emit the first or last of every N events per key.
    SampleWindow(steps::sample_window::SampleWindowConfig),
    /// Split bodies into `{left, right}` by a condition.
    #[serde(deserialize_with = "string_or_struct::deserialize")]
    Partition(steps::partition::PartitionConfig),
    /// Fold every event into an accumulator (the run's result).
    Reduce(steps::reduce::ReduceConfig),
    /// Keyed windowed aggregations into a table (storey `AggregateByKey`).
    AggregateByKey(steps::aggregate_by_key::AggregateByKeyConfig<T>),
    /// Read aggregations and static attributes of the key from a table (storey `QueryByKey`).
    QueryByKey(steps::query_by_key::QueryByKeyConfig),
    /// Store body fields as the key's static attributes in a table (storey `WriteToTable`).
    WriteToTable(steps::write_to_table::WriteToTableConfig),
    /// Resolve the emitter's awaitable result with the body.
    Complete(steps::complete::CompleteConfig),
    /// A side chain: every event also goes down `steps` into `targets`.
    Branch(BranchConfig<T>),
    /// Route each event to zero or more named routes.
    Choice(ChoiceConfig<T>),
    /// A recovery chain for the step just above it.
    Recover(RecoverConfig<T>),
}

/// A sub-pipeline: steps then targets.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BranchConfig<T> {
    /// Steps of the branch, in order.
    #[serde(default = "Vec::new")]
    pub steps: Vec<StepConfig<T>>,
    /// Where the branch's events go (every target gets every event).
    #[serde(default = "Vec::new")]
    pub targets: Vec<T>,
}

/// One route of a `choice`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig<T> {
    /// The route's name (unique within the choice).
    pub name: String,
    /// Condition (expression) an event must satisfy to take this route.
    pub when: String,
    /// Steps of the route.
    #[serde(default = "Vec::new")]
    pub steps: Vec<StepConfig<T>>,
    /// Targets of the route.
    #[serde(default = "Vec::new")]
    pub targets: Vec<T>,
}

/// `choice`: routes events by conditions. Ends the main chain.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChoiceConfig<T> {
    /// Routes, each with a condition.
    pub routes: Vec<RouteConfig<T>>,
    /// Where events that match no route go (else they are dropped and counted as `unrouted`).
    #[serde(default = "Option::default")]
    pub otherwise: Option<BranchConfig<T>>,
    /// `all` (default): an event takes every route whose condition holds; `first`: only the first.
    #[serde(default)]
    pub matches: steps::choice::Matches,
}

/// `recover`: where events that fail in the step above go instead of the error policy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecoverConfig<T> {
    /// Error kinds handled (`field`, `expr`, `user`, `io`, `table`, `bad_record`); empty = all.
    #[serde(default)]
    pub kinds: Vec<String>,
    /// Steps of the recovery chain; the failed event carries its error.
    #[serde(default = "Vec::new")]
    pub steps: Vec<StepConfig<T>>,
    /// Targets of the recovery chain.
    #[serde(default = "Vec::new")]
    pub targets: Vec<T>,
}

/// Builds a target config into a step and its name in the run summary (provided by the I/O
/// layer).
pub type TargetBuilder<'a, T> = &'a dyn Fn(&T) -> Result<(String, Box<dyn Step>)>;

/// Appends `configs` (and then `targets`) to `flow` after its tail.
pub fn build_chain<T>(
    mut flow: Flow,
    configs: &[StepConfig<T>],
    targets: &[T],
    cx: &BuildContext,
    target: TargetBuilder<'_, T>,
) -> Result<Flow> {
    for (i, c) in configs.iter().enumerate() {
        let ended = flow_ends(configs, i);
        flow = match c {
            StepConfig::Map(c) => add(flow, "map", c.name.as_deref(), c.build()?),
            StepConfig::Filter(c) => add(flow, "filter", c.name.as_deref(), c.build()?),
            StepConfig::FlatMap(c) => add(flow, "flat_map", c.name.as_deref(), c.build()?),
            StepConfig::Extend(c) => add(flow, "extend", c.name.as_deref(), c.build()?),
            StepConfig::Rename(c) => add(flow, "rename", None, c.build()?),
            StepConfig::DropColumns(c) => add(flow, "drop_columns", None, c.build()?),
            StepConfig::ReifyMetadata(c) => add(flow, "reify_metadata", None, c.build()?),
            StepConfig::MapWithState(c) => {
                add(flow, "map_with_state", c.name.as_deref(), c.build(cx)?)
            }
            StepConfig::Batch(c) => add(flow, "batch", c.name.as_deref(), c.build()?),
            StepConfig::SampleWindow(c) => {
                add(flow, "sample_window", c.name.as_deref(), c.build()?)
            }
            StepConfig::Partition(c) => add(flow, "partition", c.name.as_deref(), c.build()?),
            StepConfig::Reduce(c) => add(flow, "reduce", c.name.as_deref(), c.build()?),
            StepConfig::Complete(c) => add(flow, "complete", None, c.build()?),
            StepConfig::QueryByKey(c) => add(flow, "query_by_key", c.name.as_deref(), c.build(cx)?),
            StepConfig::WriteToTable(c) => {
                add(flow, "write_to_table", c.name.as_deref(), c.build(cx)?)
            }
            StepConfig::AggregateByKey(c) => {
                let name = flow.unique_name(c.name.as_deref().unwrap_or("aggregate_by_key"));
                let late = c
                    .late_events
                    .as_ref()
                    .map(|_| format!("{name}_late_events"));
                let step = c.build(cx, &name, late.clone())?;
                flow.then_boxed(&name, step);
                match (&c.late_events, late) {
                    (Some(b), Some(route)) => {
                        let mut inner = Ok(());
                        let f = flow.route(&route, |f| {
                            chain_or_err(f, &b.steps, &b.targets, cx, target, &mut inner)
                        });
                        inner?;
                        f
                    }
                    _ => flow,
                }
            }
            StepConfig::Branch(b) => {
                let mut inner = Ok(());
                let f =
                    flow.branch(|f| chain_or_err(f, &b.steps, &b.targets, cx, target, &mut inner));
                inner?;
                f
            }
            StepConfig::Choice(ch) => {
                if !ended {
                    return Err(Error::config("choice must be the last step of its chain: put the following steps inside its routes"));
                }
                let mut choice = steps::Choice::new();
                for r in &ch.routes {
                    let cond = ExprFn::compile(&r.when, &[])?;
                    choice = choice.when(&r.name, move |e| cond.eval_bool(e, &[]));
                }
                if ch.otherwise.is_some() {
                    choice = choice.otherwise("otherwise");
                }
                if ch.matches == steps::choice::Matches::First {
                    choice = choice.first_match();
                }
                let mut f = flow.then("choice", choice);
                let mut inner = Ok(());
                for r in &ch.routes {
                    f = f.route(&r.name, |f| {
                        chain_or_err(f, &r.steps, &r.targets, cx, target, &mut inner)
                    });
                }
                if let Some(o) = &ch.otherwise {
                    f = f.route("otherwise", |f| {
                        chain_or_err(f, &o.steps, &o.targets, cx, target, &mut inner)
                    });
                }
                inner?;
                f
            }
            StepConfig::Recover(r) => {
                if flow.tail().is_none() {
                    return Err(Error::config("recover must follow the step it recovers"));
                }
                let mut inner = Ok(());
                let kinds: Vec<Option<&str>> = if r.kinds.is_empty() {
                    vec![None]
                } else {
                    r.kinds.iter().map(|k| Some(k.as_str())).collect()
                };
                let mut f = flow;
                // one chain serves every listed kind: build it once, register it per kind
                let first = f.nodes.len();
                f = f.recover(kinds[0], |f| {
                    chain_or_err(f, &r.steps, &r.targets, cx, target, &mut inner)
                });
                inner?;
                if let Some(owner) = f.tail {
                    for k in &kinds[1..] {
                        f.nodes[owner].recovery.push((k.map(str::to_string), first));
                    }
                }
                f
            }
        };
    }
    let n = targets.len();
    if n > 0 {
        let tail = flow.tail;
        for t in targets {
            let (name, step) = target(t)?;
            // every target hangs off the same tail
            flow.tail = tail;
            flow.then_boxed(&name, step);
        }
    }
    Ok(flow)
}

fn flow_ends<T>(configs: &[StepConfig<T>], i: usize) -> bool {
    configs[i + 1..]
        .iter()
        .all(|c| matches!(c, StepConfig::Recover(_)))
}

fn chain_or_err<T>(
    f: Flow,
    steps: &[StepConfig<T>],
    targets: &[T],
    cx: &BuildContext,
    target: TargetBuilder<'_, T>,
    err: &mut Result<()>,
) -> Flow {
    // the closure-based builder API cannot return errors: stash the error, return an empty
    // flow, and let the caller report the error right after
    build_chain(f, steps, targets, cx, target).unwrap_or_else(|e| {
        *err = Err(e);
        Flow::new()
    })
}

fn add(mut flow: Flow, kind: &str, name: Option<&str>, step: Box<dyn Step>) -> Flow {
    flow.then_boxed(name.unwrap_or(kind), step);
    flow
}
