//! Every target of a pipeline's chains, with its path in the configuration: the main chain's
//! `targets.0`, and those of branches, routes, `otherwise`, recovery chains and late-event
//! branches (`steps.2.choice.routes.1.targets.0`).

use super::StepConfig;

/// Calls `f` with the path and the configuration of every target of the chain at `base`
/// (`""` for the pipeline's own `steps` and `targets`), in file order.
pub fn for_each_target<'a, T>(
    steps: &'a [StepConfig<T>],
    targets: &'a [T],
    base: &str,
    f: &mut dyn FnMut(String, &'a T),
) {
    for (j, t) in targets.iter().enumerate() {
        f(format!("{}.{j}", join(base, "targets")), t);
    }
    for (i, step) in steps.iter().enumerate() {
        let at = format!("{}.{i}.{}", join(base, "steps"), step.kind());
        for (sub, steps, targets) in sub_chains(step) {
            for_each_target(steps, targets, &format!("{at}{sub}"), f);
        }
    }
}

/// [`for_each_target`] with mutable access (to rewrite paths).
pub fn for_each_target_mut<T>(
    steps: &mut [StepConfig<T>],
    targets: &mut [T],
    base: &str,
    f: &mut dyn FnMut(String, &mut T),
) {
    for (j, t) in targets.iter_mut().enumerate() {
        f(format!("{}.{j}", join(base, "targets")), t);
    }
    for (i, step) in steps.iter_mut().enumerate() {
        let at = format!("{}.{i}.{}", join(base, "steps"), step.kind());
        for (sub, steps, targets) in sub_chains_mut(step) {
            for_each_target_mut(steps, targets, &format!("{at}{sub}"), f);
        }
    }
}

/// A sub-chain: its path below its step (`.routes.1`), its steps and its targets.
pub(crate) type SubChain<'a, T> = (String, &'a [StepConfig<T>], &'a [T]);

/// The sub-chains of a step, in file order.
pub(crate) fn sub_chains<T>(step: &StepConfig<T>) -> Vec<SubChain<'_, T>> {
    match step {
        StepConfig::Branch(b) => vec![(String::new(), &b.steps, &b.targets)],
        StepConfig::Recover(r) => vec![(String::new(), &r.steps, &r.targets)],
        StepConfig::AggregateByKey(a) => a
            .late_events
            .iter()
            .map(|b| (".late_events".to_string(), &b.steps[..], &b.targets[..]))
            .collect(),
        StepConfig::Choice(c) => {
            let mut v: Vec<SubChain<'_, T>> = c
                .routes
                .iter()
                .enumerate()
                .map(|(j, r)| (format!(".routes.{j}"), &r.steps[..], &r.targets[..]))
                .collect();
            if let Some(o) = &c.otherwise {
                v.push((".otherwise".to_string(), &o.steps, &o.targets));
            }
            v
        }
        _ => Vec::new(),
    }
}

type SubChainMut<'a, T> = (String, &'a mut [StepConfig<T>], &'a mut [T]);

fn sub_chains_mut<T>(step: &mut StepConfig<T>) -> Vec<SubChainMut<'_, T>> {
    match step {
        StepConfig::Branch(b) => vec![(String::new(), &mut b.steps, &mut b.targets)],
        StepConfig::Recover(r) => vec![(String::new(), &mut r.steps, &mut r.targets)],
        StepConfig::AggregateByKey(a) => a
            .late_events
            .iter_mut()
            .map(|b| {
                (
                    ".late_events".to_string(),
                    &mut b.steps[..],
                    &mut b.targets[..],
                )
            })
            .collect(),
        StepConfig::Choice(c) => {
            let mut v: Vec<SubChainMut<'_, T>> = c
                .routes
                .iter_mut()
                .enumerate()
                .map(|(j, r)| (format!(".routes.{j}"), &mut r.steps[..], &mut r.targets[..]))
                .collect();
            if let Some(o) = &mut c.otherwise {
                v.push((".otherwise".to_string(), &mut o.steps, &mut o.targets));
            }
            v
        }
        _ => Vec::new(),
    }
}

/// `base.name`, or `name` at the top.
pub(crate) fn join(base: &str, name: &str) -> String {
    if base.is_empty() {
        name.to_string()
    } else {
        format!("{base}.{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_target_is_visited_with_its_path() {
        let steps: Vec<StepConfig<String>> = serde_json::from_value(serde_json::json!([
            {"branch": {"targets": ["b0"]}},
            {"aggregate_by_key": {"aggregates": [], "late_events": {"targets": ["late"]}}},
            {"choice": {"routes": [{"name": "r", "when": "true", "targets": ["r0", "r1"]}],
                        "otherwise": {"steps": [{"recover": {"targets": ["rec"]}}]}}}
        ]))
        .unwrap();
        let mut seen = Vec::new();
        for_each_target(&steps, &["main".to_string()], "", &mut |p, t| {
            seen.push(format!("{p}={t}"))
        });
        assert_eq!(
            seen,
            [
                "targets.0=main",
                "steps.0.branch.targets.0=b0",
                "steps.1.aggregate_by_key.late_events.targets.0=late",
                "steps.2.choice.routes.0.targets.0=r0",
                "steps.2.choice.routes.0.targets.1=r1",
                "steps.2.choice.otherwise.steps.0.recover.targets.0=rec",
            ]
        );
        let mut steps = steps;
        let mut main = vec!["main".to_string()];
        for_each_target_mut(&mut steps, &mut main, "", &mut |_, t| t.push('!'));
        let mut all = Vec::new();
        for_each_target(&steps, &main, "", &mut |_, t| all.push(t.clone()));
        assert!(all.iter().all(|t| t.ends_with('!')), "{all:?}");
    }
}
