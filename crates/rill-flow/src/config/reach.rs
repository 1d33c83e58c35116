//! Chains whose events reach no target: a pipeline without targets, a branch or route that
//! ends without writing anywhere. Not errors (a run is still well defined), but almost always a
//! mistake, so `rill validate` and the run summary report them as warnings.

use super::visit::{join, sub_chains};
use super::StepConfig;

/// A warning about a configuration, at a path in it (`steps.2.branch`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// Dotted path of what the warning is about (`""` for the whole pipeline).
    pub path: String,
    /// What is wrong, in plain words.
    pub message: String,
}

/// The chains of a pipeline (its own `steps` and `targets`, and every sub-chain) whose events
/// reach no target. A chain ending in `reduce` (its result is the run's result), `complete`
/// (it resolves the emitter's results) or `choice` (its routes are checked instead) is fine.
///
/// ```
/// use rill_flow::config::{dead_ends, StepConfig};
/// let steps: Vec<StepConfig<()>> =
///     serde_json::from_value(serde_json::json!([{"filter": "x > 1"}])).unwrap();
/// let w = dead_ends(&steps, &[]);
/// assert_eq!(w[0].path, "targets");
/// assert_eq!(w[0].message, "the pipeline has no targets: the events out of steps.0 (filter) are not written anywhere");
/// ```
pub fn dead_ends<T>(steps: &[StepConfig<T>], targets: &[T]) -> Vec<Warning> {
    let mut out = Vec::new();
    walk(steps, targets, "", &mut out);
    out
}

fn walk<T>(steps: &[StepConfig<T>], targets: &[T], base: &str, out: &mut Vec<Warning>) {
    for (i, step) in steps.iter().enumerate() {
        let at = format!("{}.{i}.{}", join(base, "steps"), step.kind());
        for (sub, steps, targets) in sub_chains(step) {
            walk(steps, targets, &format!("{at}{sub}"), out);
        }
    }
    if !targets.is_empty() {
        return;
    }
    // the step whose events end the chain (a recovery chain belongs to the step above it)
    let last = steps
        .iter()
        .enumerate()
        .rev()
        .find(|(_, s)| !matches!(s, StepConfig::Recover(_)));
    if let Some((_, s)) = last {
        if matches!(
            s,
            StepConfig::Reduce(_) | StepConfig::Complete(_) | StepConfig::Choice(_)
        ) {
            return;
        }
    }
    let what = match base {
        "" => "the pipeline".to_string(),
        b => format!("this {}", chain_noun(b)),
    };
    let message = match last {
        Some((i, s)) => format!(
            "{what} has no targets: the events out of {}.{i} ({}) are not written anywhere",
            join(base, "steps"),
            s.kind()
        ),
        None if base.is_empty() => {
            "the pipeline has no steps and no targets: it only reads its input".to_string()
        }
        None => format!("{what} has no steps and no targets: its events are dropped"),
    };
    let path = if base.is_empty() {
        "targets".to_string()
    } else {
        base.to_string()
    };
    out.push(Warning { path, message });
}

/// What a sub-chain at `base` is called: `branch`, `route`, `otherwise` route, …
fn chain_noun(base: &str) -> &'static str {
    let last = base.rsplit('.').next().unwrap_or("");
    let parent = base.rsplit('.').nth(1).unwrap_or("");
    match (parent, last) {
        ("routes", _) => "route",
        (_, "otherwise") => "otherwise route",
        (_, "late_events") => "late_events branch",
        (_, "recover") => "recovery chain",
        _ => "branch",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps(v: serde_json::Value) -> Vec<StepConfig<String>> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn chains_without_targets_are_reported_once_each() {
        let s = steps(serde_json::json!([
            {"branch": {"steps": [{"filter": "a"}]}},
            {"recover": {}},
            {"choice": {"routes": [
                {"name": "big", "when": "a", "targets": ["t"]},
                {"name": "small", "when": "b", "steps": [{"map": "body"}]}
            ], "otherwise": {}}}
        ]));
        let w = dead_ends(&s, &[]);
        let got: Vec<(String, String)> = w.into_iter().map(|w| (w.path, w.message)).collect();
        assert_eq!(
            got,
            [
                ("steps.0.branch".into(), "this branch has no targets: the events out of steps.0.branch.steps.0 (filter) are not written anywhere".into()),
                ("steps.1.recover".into(), "this recovery chain has no steps and no targets: its events are dropped".into()),
                ("steps.2.choice.routes.1".into(), "this route has no targets: the events out of steps.2.choice.routes.1.steps.0 (map) are not written anywhere".into()),
                ("steps.2.choice.otherwise".into(), "this otherwise route has no steps and no targets: its events are dropped".into()),
            ]
        );
    }

    #[test]
    fn a_reduce_or_a_target_ends_a_chain_well() {
        let s = steps(serde_json::json!([{"reduce": {"initial": 0, "expr": "acc + 1"}}]));
        assert!(dead_ends(&s, &[]).is_empty());
        let s = steps(serde_json::json!([{"map": "body"}]));
        assert!(dead_ends(&s, &["t".to_string()]).is_empty());
        assert_eq!(
            dead_ends::<String>(&[], &[])[0].message,
            "the pipeline has no steps and no targets: it only reads its input"
        );
    }
}
