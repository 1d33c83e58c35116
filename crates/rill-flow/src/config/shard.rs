//! Which leading steps of a pipeline a sharded run (`workers: N`) may run in N workers, each
//! owning the keys that hash to it (see `crate::workers`).

use super::StepConfig;
use crate::steps::KeyConfig;
use rill_agg::EmitPolicy;

/// The leading steps of a chain that are safe to run per key, in workers that each see only
/// the events of their keys: see [`shard_plan`].
#[derive(Debug, Clone, Default)]
pub struct ShardPlan {
    /// How many of the chain's first steps the workers run.
    pub prefix: usize,
    /// The key every keyed step of the prefix uses (`None` inside: the event's key);
    /// `None`: the prefix has no keyed step, so any event may go to any worker.
    pub key: Option<Option<KeyConfig>>,
    /// Why keyed work after the prefix cannot be sharded, when it stops at a keyed step.
    pub reason: Option<String>,
}

/// The longest prefix of `steps` whose every step is stateless or keeps state per key, all
/// keyed steps by the same key, so that running it in workers that each get the events of
/// their keys — in input order — gives each step the events, state and outputs it gets on one
/// thread:
///
/// - stateless steps (`filter`, `map`, `flat_map`, `extend`, `rename`, `drop_columns`,
///   `reify_metadata`, `partition`) keep the event's key;
/// - keyed steps: `aggregate_by_key` emitting on every event (other policies keep timers or
///   emit at termination, in an order across keys) without `late_events`, `query_by_key`,
///   `write_to_table`, and `map_with_state` with a `table` (it keys by the event's key);
/// - a keyed step whose key is a body field (or fields, or an expression) must not follow a
///   step that may change the body (anything but `filter`): the event is routed by the key of
///   the event as read;
/// - a step with a `recover` chain, `branch`, `choice`, `batch`, `reduce`, `sample_window`,
///   `complete` and global `map_with_state` end the prefix (they see events across keys).
///
/// Tables are checked on the built graph (a table the prefix uses must not be used after it):
/// see `rill_flow::run_workers`.
pub fn shard_plan<T>(steps: &[StepConfig<T>]) -> ShardPlan {
    let mut plan = ShardPlan::default();
    let mut modified: Option<usize> = None;
    for (i, c) in steps.iter().enumerate() {
        let recovered = matches!(steps.get(i + 1), Some(StepConfig::Recover(_)));
        let keyed: Option<Option<&KeyConfig>> = match c {
            StepConfig::Filter(_) => None,
            StepConfig::Map(_)
            | StepConfig::FlatMap(_)
            | StepConfig::Extend(_)
            | StepConfig::Rename(_)
            | StepConfig::DropColumns(_)
            | StepConfig::ReifyMetadata(_)
            | StepConfig::Partition(_) => {
                modified.get_or_insert(i);
                None
            }
            StepConfig::AggregateByKey(a) => {
                if a.emit != EmitPolicy::EveryEvent {
                    plan.reason = Some(format!(
                        "step {i} (aggregate_by_key) emits on timers or at the end (emit: {:?}), across keys",
                        a.emit
                    ));
                    return plan;
                }
                if a.late_events.is_some() {
                    plan.reason = Some(format!(
                        "step {i} (aggregate_by_key) has a late_events branch"
                    ));
                    return plan;
                }
                Some(a.key.as_ref())
            }
            StepConfig::QueryByKey(q) => Some(q.key.as_ref()),
            StepConfig::WriteToTable(w) => Some(w.key.as_ref()),
            StepConfig::MapWithState(m) if m.table.is_some() => Some(None),
            _ => return plan,
        };
        if let Some(key) = keyed {
            if recovered {
                plan.reason = Some(format!("step {i} ({}) has a recover chain", c.kind()));
                return plan;
            }
            if let Some(Some(seen)) = &plan.key {
                if Some(key_id(seen)) != key.map(key_id) {
                    plan.reason = Some(format!(
                        "step {i} ({}) is keyed by {}, the steps before it by {}",
                        c.kind(),
                        key.map_or("the event key".into(), key_id),
                        key_id(seen)
                    ));
                    return plan;
                }
            } else if let Some(None) = &plan.key {
                if let Some(k) = key {
                    plan.reason = Some(format!(
                        "step {i} ({}) is keyed by {}, the steps before it by the event key",
                        c.kind(),
                        key_id(k)
                    ));
                    return plan;
                }
            }
            if let (Some(k), Some(m)) = (key, modified) {
                plan.reason = Some(format!(
                    "step {i} ({}) is keyed by {}, which step {m} ({}) may change",
                    c.kind(),
                    key_id(k),
                    steps[m].kind()
                ));
                return plan;
            }
            plan.key = Some(key.cloned());
        } else if recovered {
            return plan;
        }
        plan.prefix = i + 1;
    }
    plan
}

/// The key in words (and as the identity two keyed steps must share).
fn key_id(k: &KeyConfig) -> String {
    match k {
        KeyConfig::Field(f) => format!("field '{f}'"),
        KeyConfig::Fields(fs) => format!("fields {fs:?}"),
        KeyConfig::Expr { expr } => format!("expression '{expr}'"),
    }
}
