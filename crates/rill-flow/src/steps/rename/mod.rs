//! `rename`: renames body fields (storey `Rename`).

use super::reshape::{Plan, Reshape};
use crate::step::{Cx, Step, StepResult};
use rill_core::{Event, Schema, Str};

/// Renames `old → new` for fields present in the body; a renamed field moves to the end (as
/// in storey); missing fields are ignored. Non-record bodies pass unchanged.
#[derive(Clone)]
pub struct Rename(Reshape);

impl Rename {
    /// Renames according to `mapping` (old name, new name).
    pub fn new<I, A, B>(mapping: I) -> Rename
    where
        I: IntoIterator<Item = (A, B)>,
        A: Into<Str>,
        B: Into<Str>,
    {
        let mapping: Vec<(Str, Str)> = mapping
            .into_iter()
            .map(|(a, b)| (a.into(), b.into()))
            .collect();
        let plan: Plan = std::sync::Arc::new(move |s: &Schema| {
            let renamed = |n: &Str| mapping.iter().any(|(o, _)| o == n);
            let mut out: Vec<(Str, usize)> = s
                .names()
                .iter()
                .enumerate()
                .filter(|(_, n)| !renamed(n))
                .map(|(i, n)| (n.clone(), i))
                .collect();
            for (old, new) in &mapping {
                if let Some(i) = s.index_of(old) {
                    // a rename onto an existing field replaces it
                    out.retain(|(n, _)| n != new);
                    out.push((new.clone(), i));
                }
            }
            out
        });
        Rename(Reshape::new(plan))
    }
}

impl Step for Rename {
    fn process(&mut self, event: Event, cx: &mut Cx) -> StepResult {
        self.0.process(event, cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rill_core::{Record, Value};

    #[test]
    fn renames_present_fields_and_moves_them_last() {
        let mut step = Rename::new([("a", "alpha"), ("missing", "m")]);
        let mut cx = Cx::default();
        let body = Record::from_pairs([("a", Value::Int(1)), ("b", Value::Int(2))]);
        step.process(Event::new(body), &mut cx).unwrap();
        let out = cx.take_outputs();
        let r = out[0].body.as_record().unwrap();
        let names: Vec<&str> = r.schema().names().iter().map(|n| n.as_str()).collect();
        assert_eq!(names, ["b", "alpha"]);
        assert_eq!(r.get("alpha"), Some(&Value::Int(1)));
    }
}

/// YAML `rename: {old_name: new_name, …}`.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(transparent)]
pub struct RenameConfig {
    /// Old field name → new field name.
    pub mapping: std::collections::BTreeMap<String, String>,
}

impl RenameConfig {
    /// Builds the step.
    pub fn build(&self) -> rill_core::Result<Box<dyn Step>> {
        Ok(Box::new(Rename::new(
            self.mapping.iter().map(|(a, b)| (a.as_str(), b.as_str())),
        )))
    }
}
