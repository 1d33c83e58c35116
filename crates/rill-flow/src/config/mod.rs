//! YAML / serde configuration of steps: the one list of step kinds a pipeline file may use.
//!
//! `StepConfig<T>` is generic over the target configuration `T` (defined by the I/O layer), so
//! branches and routes can end in targets while this crate stays below the I/O crate.

mod fields;
mod reach;
mod shard;
mod visit;

pub use crate::build_context::BuildContext;
pub use crate::expr_fn::{ExprFn, EVENT_VARS};
pub use crate::string_or_struct::{self, StringOrStruct};
pub use fields::check_fields;
pub use reach::{dead_ends, Warning};
pub use shard::{shard_plan, ShardPlan};
use visit::join;
pub use visit::{for_each_target, for_each_target_mut};

use crate::flow::Flow;
use crate::step::Step;
use crate::step_factory::{FnFactory, StepFactory};
use crate::steps;
use rill_core::{Error, Result};
use serde::Deserialize;
use std::sync::Arc;

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
    AggregateByKey(steps::aggregate_by_key::AggregateByKeyConfig<BranchConfig<T>>),
    /// Read aggregations and static attributes of the key from a table (storey `QueryByKey`).
    QueryByKey(steps::query_by_key::QueryByKeyConfig),
    /// Store body fields as the key's static attributes in a table (storey `WriteToTable`).
    WriteToTable(steps::write_to_table::WriteToTableConfig),
    /// Add the key's static attributes from a table to the body (storey `JoinWithTable`).
    JoinWithTable(steps::join_with_table::JoinWithTableConfig),
    /// Resolve the emitter's awaitable result with the body.
    Complete(steps::complete::CompleteConfig),
    /// A side chain: every event also goes down `steps` into `targets`.
    Branch(BranchConfig<T>),
    /// Route each event to zero or more named routes.
    Choice(ChoiceConfig<T>),
    /// A recovery chain for the step just above it.
    Recover(RecoverConfig<T>),
}

impl<T> StepConfig<T> {
    /// The step's kind as written in a pipeline file (`map`, `aggregate_by_key`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            StepConfig::Map(_) => "map",
            StepConfig::Filter(_) => "filter",
            StepConfig::FlatMap(_) => "flat_map",
            StepConfig::Extend(_) => "extend",
            StepConfig::Rename(_) => "rename",
            StepConfig::DropColumns(_) => "drop_columns",
            StepConfig::ReifyMetadata(_) => "reify_metadata",
            StepConfig::MapWithState(_) => "map_with_state",
            StepConfig::Batch(_) => "batch",
            StepConfig::SampleWindow(_) => "sample_window",
            StepConfig::Partition(_) => "partition",
            StepConfig::Reduce(_) => "reduce",
            StepConfig::AggregateByKey(_) => "aggregate_by_key",
            StepConfig::QueryByKey(_) => "query_by_key",
            StepConfig::WriteToTable(_) => "write_to_table",
            StepConfig::JoinWithTable(_) => "join_with_table",
            StepConfig::Complete(_) => "complete",
            StepConfig::Branch(_) => "branch",
            StepConfig::Choice(_) => "choice",
            StepConfig::Recover(_) => "recover",
        }
    }
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

/// Turns a target config into its name in the run summary and the factory of its step
/// (provided by the I/O layer).
pub type TargetBuilder<'a, T> = &'a dyn Fn(&T) -> Result<(String, Arc<dyn StepFactory>)>;

/// Appends `configs` (and then `targets`) to `flow` after its tail, as step factories: the
/// chain's layout is checked now, each step's options when the flow is built. Either way a
/// failing step or target is a configuration error at its path (`steps.2.filter`,
/// `targets.0`; see [`Error::at`]).
pub fn build_chain<T: Clone + Send + Sync + 'static>(
    flow: Flow,
    configs: &[StepConfig<T>],
    targets: &[T],
    target: TargetBuilder<'_, T>,
) -> Result<Flow> {
    build_chain_at(flow, configs, targets, target, "")
}

/// [`build_chain`] for the chain at `base` (`""` for the pipeline's own steps and targets,
/// `steps.2.branch` for a branch): its steps are at `base.steps`, its targets at `base.targets`.
fn build_chain_at<T: Clone + Send + Sync + 'static>(
    mut flow: Flow,
    configs: &[StepConfig<T>],
    targets: &[T],
    target: TargetBuilder<'_, T>,
    base: &str,
) -> Result<Flow> {
    let steps_at = join(base, "steps");
    for (i, c) in configs.iter().enumerate() {
        let at = format!("{steps_at}.{i}");
        flow = build_step(flow, configs, i, target, &at).map_err(|e| match e {
            StepError::Own(e) => e.at(format!("{at}.{}", c.kind())),
            StepError::Sub(e) => e,
        })?;
    }
    let n = targets.len();
    if n > 0 {
        let tail = flow.tail;
        let targets_at = join(base, "targets");
        for (j, t) in targets.iter().enumerate() {
            let at = format!("{targets_at}.{j}");
            let (name, step) = target(t).map_err(|e| e.at(&at))?;
            // every target hangs off the same tail
            flow.tail = tail;
            flow.then_factory(&name, located(step, at));
        }
    }
    Ok(flow)
}

/// Why a step could not be built: its own options (at a path relative to the step's options,
/// e.g. `routes.0.when`), or a step of one of its sub-chains (at its full path already).
enum StepError {
    Own(Error),
    Sub(Error),
}

impl From<Error> for StepError {
    fn from(e: Error) -> Self {
        StepError::Own(e)
    }
}

/// Appends step `i` of `configs`, which is at `at` (`steps.2`).
fn build_step<T: Clone + Send + Sync + 'static>(
    flow: Flow,
    configs: &[StepConfig<T>],
    i: usize,
    target: TargetBuilder<'_, T>,
    at: &str,
) -> std::result::Result<Flow, StepError> {
    let ended = flow_ends(configs, i);
    let sub = |kind: &str, rest: &str| format!("{at}.{kind}{rest}");
    let kind = configs[i].kind();
    let add = |flow, name: Option<&str>, make| add(flow, kind, name, at, make);
    Ok(match &configs[i] {
        StepConfig::Map(c) => add(flow, c.name.as_deref(), factory(c, |c, _| c.build())),
        StepConfig::Filter(c) => add(flow, c.name.as_deref(), factory(c, |c, _| c.build())),
        StepConfig::FlatMap(c) => add(flow, c.name.as_deref(), factory(c, |c, _| c.build())),
        StepConfig::Extend(c) => add(flow, c.name.as_deref(), factory(c, |c, _| c.build())),
        StepConfig::Rename(c) => add(flow, None, factory(c, |c, _| c.build())),
        StepConfig::DropColumns(c) => add(flow, None, factory(c, |c, _| c.build())),
        StepConfig::ReifyMetadata(c) => add(flow, None, factory(c, |c, _| c.build())),
        StepConfig::MapWithState(c) => {
            add(flow, c.name.as_deref(), factory(c, |c, cx| c.build(cx)))
        }
        StepConfig::Batch(c) => add(flow, c.name.as_deref(), factory(c, |c, _| c.build())),
        StepConfig::SampleWindow(c) => add(flow, c.name.as_deref(), factory(c, |c, _| c.build())),
        StepConfig::Partition(c) => add(flow, c.name.as_deref(), factory(c, |c, _| c.build())),
        StepConfig::Reduce(c) => add(flow, c.name.as_deref(), factory(c, |c, _| c.build())),
        StepConfig::Complete(c) => add(flow, None, factory(c, |c, _| c.build())),
        StepConfig::QueryByKey(c) => add(flow, c.name.as_deref(), factory(c, |c, cx| c.build(cx))),
        StepConfig::WriteToTable(c) => {
            add(flow, c.name.as_deref(), factory(c, |c, cx| c.build(cx)))
        }
        StepConfig::JoinWithTable(c) => {
            add(flow, c.name.as_deref(), factory(c, |c, cx| c.build(cx)))
        }
        StepConfig::AggregateByKey(c) => {
            let mut flow = flow;
            let name = flow.unique_name(c.name.as_deref().unwrap_or("aggregate_by_key"));
            let late = c
                .late_events
                .as_ref()
                .map(|_| format!("{name}_late_events"));
            let (config, step_name, outlet) = (c.clone(), name.clone(), late.clone());
            let make = move |cx: &BuildContext| config.build(cx, &step_name, outlet.clone());
            let make: Arc<dyn StepFactory> = Arc::new(FnFactory(make));
            flow.then_factory(&name, located(make, format!("{at}.{kind}")));
            match (&c.late_events, late) {
                (Some(b), Some(route)) => {
                    not_empty(&b.steps, &b.targets, "late_events branch")
                        .map_err(|e| e.at("late_events"))?;
                    let mut inner = Ok(());
                    let base = sub("aggregate_by_key", ".late_events");
                    let f = flow.route(&route, |f| {
                        chain_or_err(f, &b.steps, &b.targets, target, &base, &mut inner)
                    });
                    inner.map_err(StepError::Sub)?;
                    f
                }
                _ => flow,
            }
        }
        StepConfig::Branch(b) => {
            let mut inner = Ok(());
            let base = sub("branch", "");
            let f =
                flow.branch(|f| chain_or_err(f, &b.steps, &b.targets, target, &base, &mut inner));
            inner.map_err(StepError::Sub)?;
            f
        }
        StepConfig::Choice(ch) => {
            if !ended {
                return Err(Error::config("choice must be the last step of its chain: put the following steps inside its routes").into());
            }
            for (j, r) in ch.routes.iter().enumerate() {
                let at = |e: Error| e.at(format!("routes.{j}"));
                not_empty(&r.steps, &r.targets, "route").map_err(at)?;
                let taken = ch.routes[..j].iter().any(|o| o.name == r.name)
                    || r.name == "otherwise"
                    || flow.nodes.iter().any(|n| n.name == r.name);
                if taken {
                    return Err(Error::config(format!(
                        "route name '{}' is taken (by another route, a step, or `otherwise`): give each route its own name",
                        r.name
                    ))
                    .at(format!("routes.{j}.name"))
                    .into());
                }
            }
            if let Some(o) = &ch.otherwise {
                not_empty(&o.steps, &o.targets, "otherwise route")
                    .map_err(|e| e.at("otherwise"))?;
            }
            let mut choice = steps::Choice::new();
            for (j, r) in ch.routes.iter().enumerate() {
                let cond =
                    ExprFn::compile(&r.when, &[]).map_err(|e| e.at(format!("routes.{j}.when")))?;
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
            for (j, r) in ch.routes.iter().enumerate() {
                let base = sub("choice", &format!(".routes.{j}"));
                f = f.route(&r.name, |f| {
                    chain_or_err(f, &r.steps, &r.targets, target, &base, &mut inner)
                });
            }
            if let Some(o) = &ch.otherwise {
                let base = sub("choice", ".otherwise");
                f = f.route("otherwise", |f| {
                    chain_or_err(f, &o.steps, &o.targets, target, &base, &mut inner)
                });
            }
            inner.map_err(StepError::Sub)?;
            f
        }
        StepConfig::Recover(r) => {
            if flow.tail().is_none() {
                return Err(Error::config("recover must follow the step it recovers").into());
            }
            not_empty(&r.steps, &r.targets, "recovery chain")?;
            let mut inner = Ok(());
            let kinds: Vec<Option<&str>> = if r.kinds.is_empty() {
                vec![None]
            } else {
                r.kinds.iter().map(|k| Some(k.as_str())).collect()
            };
            let mut f = flow;
            // one chain serves every listed kind: build it once, register it per kind
            let first = f.nodes.len();
            let base = sub("recover", "");
            f = f.recover(kinds[0], |f| {
                chain_or_err(f, &r.steps, &r.targets, target, &base, &mut inner)
            });
            inner.map_err(StepError::Sub)?;
            if let Some(owner) = f.tail {
                for k in &kinds[1..] {
                    f.nodes[owner].recovery.push((k.map(str::to_string), first));
                }
            }
            f
        }
    })
}

/// A route or recovery chain needs a step or a target to send its events to.
fn not_empty<T>(steps: &[StepConfig<T>], targets: &[T], what: &str) -> Result<()> {
    if steps.is_empty() && targets.is_empty() {
        return Err(Error::config(format!(
            "this {what} has no steps and no targets: give it `steps` or `targets`"
        )));
    }
    Ok(())
}

fn flow_ends<T>(configs: &[StepConfig<T>], i: usize) -> bool {
    configs[i + 1..]
        .iter()
        .all(|c| matches!(c, StepConfig::Recover(_)))
}

fn chain_or_err<T: Clone + Send + Sync + 'static>(
    f: Flow,
    steps: &[StepConfig<T>],
    targets: &[T],
    target: TargetBuilder<'_, T>,
    base: &str,
    err: &mut Result<()>,
) -> Flow {
    // the closure-based builder API cannot return errors: stash the error, return an empty
    // flow, and let the caller report the error right after
    build_chain_at(f, steps, targets, target, base).unwrap_or_else(|e| {
        *err = Err(e);
        Flow::new()
    })
}

/// The factory of a step built from its config `c` (a copy of it, kept by the flow).
fn factory<C>(c: &C, build: fn(&C, &BuildContext) -> Result<Box<dyn Step>>) -> Arc<dyn StepFactory>
where
    C: Clone + Send + Sync + 'static,
{
    let c = c.clone();
    Arc::new(FnFactory(move |cx: &BuildContext| build(&c, cx)))
}

/// `step`, its build errors placed at `at` (see [`Error::at`]).
pub fn located(step: Arc<dyn StepFactory>, at: String) -> Arc<dyn StepFactory> {
    Arc::new(FnFactory(move |cx: &BuildContext| {
        step.build(cx).map_err(|e| e.at(&at))
    }))
}

/// Appends the step of kind `kind` at `at` (its build errors placed at `at.kind`).
fn add(
    mut flow: Flow,
    kind: &str,
    name: Option<&str>,
    at: &str,
    make: Arc<dyn StepFactory>,
) -> Flow {
    flow.then_factory(name.unwrap_or(kind), located(make, format!("{at}.{kind}")));
    flow
}
