//! Which body fields each step of a pipeline can see, when the source's columns are known
//! (a CSV header, a Parquet schema). An aggregation that reads a field no input has is then a
//! build-time error naming the place, instead of a silent column of zeros.
//!
//! The walk keeps the exact field set only while every step's effect on it is known (filters,
//! renames, aggregations adding their features…); after a step whose output fields come from an
//! expression (`map`, `extend`, `flat_map`…) nothing more is checked here, and the aggregation
//! counts the events that lacked its field at run time instead (`field_missing.<aggregator>`).

use super::StepConfig;
use rill_core::{Error, Result};

/// Checks the fields the steps read against `known`, the source's fields (`None`: unknown, as
/// for JSON lines). `source` names the input in messages (e.g. the file path).
///
/// ```
/// use rill_flow::config::{check_fields, StepConfig};
/// let steps: Vec<StepConfig<()>> = serde_json::from_value(serde_json::json!([
///     {"aggregate_by_key": {"aggregates": [
///         {"name": "clicks", "field": "clik", "ops": ["sum"], "windows": {"sliding": ["1h"], "period": "10m"}}]}}
/// ])).unwrap();
/// let err = check_fields(&steps, Some(vec!["user".into(), "click".into()]), "clicks.csv").unwrap_err();
/// assert!(err.to_string().contains("steps.0.aggregate_by_key.aggregates.0.field"), "{err}");
/// ```
pub fn check_fields<T>(
    steps: &[StepConfig<T>],
    known: Option<Vec<String>>,
    source: &str,
) -> Result<()> {
    walk(steps, known, "steps", source).map(|_| ())
}

/// Walks one chain; returns the fields known after it.
fn walk<T>(
    steps: &[StepConfig<T>],
    mut known: Option<Vec<String>>,
    prefix: &str,
    source: &str,
) -> Result<Option<Vec<String>>> {
    for (i, step) in steps.iter().enumerate() {
        let path = format!("{prefix}.{i}");
        known = match step {
            StepConfig::AggregateByKey(c) => {
                if let Some(k) = &known {
                    for (j, a) in c.aggregates.iter().enumerate() {
                        if let Some(f) = &a.field {
                            require(k, f, source, || {
                                (
                                    format!("{path}.aggregate_by_key.aggregates.{j}.field"),
                                    format!("aggregator '{}': ", a.name),
                                )
                            })?;
                        }
                    }
                    if let Some(t) = &c.time {
                        require(k, t, source, || {
                            (format!("{path}.aggregate_by_key.time"), String::new())
                        })?;
                    }
                }
                if let Some(b) = &c.late_events {
                    walk(
                        &b.steps,
                        known.clone(),
                        &format!("{path}.aggregate_by_key.late_events.steps"),
                        source,
                    )?;
                }
                known.map(|mut k| {
                    let names = rill_agg::Aggregations::new(c.aggregates.clone())
                        .map(|a| a.feature_names().iter().map(|n| n.to_string()).collect())
                        .unwrap_or_else(|_| Vec::new());
                    add_all(&mut k, aliased(names, &c.aliases));
                    add_all(&mut k, aliased(c.enrich_with.clone(), &c.aliases));
                    k
                })
            }
            StepConfig::QueryByKey(c) => {
                if let (Some(k), Some(t)) = (&known, &c.time) {
                    require(k, t, source, || {
                        (format!("{path}.query_by_key.time"), String::new())
                    })?;
                }
                known.map(|mut k| {
                    add_all(&mut k, aliased(c.features.clone(), &c.aliases));
                    k
                })
            }
            // the attributes a key has are known only from the data, unless they are listed
            StepConfig::JoinWithTable(c) => match &c.attributes {
                Some(a) => known.map(|mut k| {
                    add_all(&mut k, a.clone());
                    k
                }),
                None => None,
            },
            StepConfig::Rename(c) => known.map(|mut k| {
                for (from, to) in &c.mapping {
                    if let Some(p) = k.iter().position(|f| f == from) {
                        // a renamed field moves last (storey)
                        k.remove(p);
                        k.retain(|f| f != to);
                        k.push(to.clone());
                    }
                }
                k
            }),
            StepConfig::DropColumns(c) => known.map(|mut k| {
                k.retain(|f| !c.columns.contains(f));
                k
            }),
            StepConfig::ReifyMetadata(c) => known.map(|mut k| {
                add_all(&mut k, c.mapping.keys().cloned().collect());
                k
            }),
            StepConfig::MapWithState(c) if c.output.is_none() => known,
            StepConfig::Filter(_)
            | StepConfig::WriteToTable(_)
            | StepConfig::Complete(_)
            | StepConfig::Reduce(_)
            | StepConfig::SampleWindow(_) => known,
            StepConfig::Branch(b) => {
                walk(
                    &b.steps,
                    known.clone(),
                    &format!("{path}.branch.steps"),
                    source,
                )?;
                known
            }
            StepConfig::Choice(c) => {
                for (j, r) in c.routes.iter().enumerate() {
                    walk(
                        &r.steps,
                        known.clone(),
                        &format!("{path}.choice.routes.{j}.steps"),
                        source,
                    )?;
                }
                if let Some(o) = &c.otherwise {
                    walk(
                        &o.steps,
                        known.clone(),
                        &format!("{path}.choice.otherwise.steps"),
                        source,
                    )?;
                }
                known
            }
            StepConfig::Recover(r) => {
                walk(
                    &r.steps,
                    known.clone(),
                    &format!("{path}.recover.steps"),
                    source,
                )?;
                known
            }
            // the output fields come from an expression or change shape
            StepConfig::Map(_)
            | StepConfig::FlatMap(_)
            | StepConfig::Extend(_)
            | StepConfig::Partition(_)
            | StepConfig::Batch(_)
            | StepConfig::MapWithState(_) => None,
        };
    }
    Ok(known)
}

/// `Ok` when `field` is known; else an error at the path `at` gives (with a prefix for the
/// message), listing the known fields and the closest one.
fn require(
    known: &[String],
    field: &str,
    source: &str,
    at: impl FnOnce() -> (String, String),
) -> Result<()> {
    if known.iter().any(|k| k == field) {
        return Ok(());
    }
    let hint = rill_core::did_you_mean(field, known.iter().map(String::as_str))
        .map(|k| format!("; did you mean '{k}'?"))
        .unwrap_or_default();
    let (path, prefix) = at();
    Err(Error::config(format!(
        "{prefix}field '{}' is not among the fields of {} here ({}){hint}",
        rill_core::shorten(field, 80),
        rill_core::shorten(source, 200),
        rill_core::shorten(&known.join(", "), 200)
    ))
    .at(path))
}

fn aliased(
    names: Vec<String>,
    aliases: &std::collections::BTreeMap<String, String>,
) -> Vec<String> {
    names
        .into_iter()
        .map(|n| aliases.get(&n).cloned().unwrap_or(n))
        .collect()
}

fn add_all(known: &mut Vec<String>, names: Vec<String>) {
    for n in names {
        if !known.contains(&n) {
            known.push(n);
        }
    }
}
