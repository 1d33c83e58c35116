//! `drop_columns`: removes body fields (storey `DropColumns`).

use super::reshape::{Plan, Reshape};
use crate::step::{Cx, Step, StepResult};
use rill_core::{Event, Schema, Str};

/// Removes the listed fields from record bodies (absent ones are ignored).
#[derive(Clone)]
pub struct DropColumns(Reshape);

impl DropColumns {
    /// Drops `columns`.
    pub fn new<I: IntoIterator<Item = S>, S: Into<Str>>(columns: I) -> DropColumns {
        let cols: Vec<Str> = columns.into_iter().map(Into::into).collect();
        let plan: Plan = std::sync::Arc::new(move |s: &Schema| {
            s.names()
                .iter()
                .enumerate()
                .filter(|(_, n)| !cols.contains(n))
                .map(|(i, n)| (n.clone(), i))
                .collect()
        });
        DropColumns(Reshape::new(plan))
    }
}

impl Step for DropColumns {
    fn process(&mut self, event: Event, cx: &mut Cx) -> StepResult {
        self.0.process(event, cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rill_core::{Record, Value};

    #[test]
    fn drops_listed_fields() {
        let mut step = DropColumns::new(["a", "zzz"]);
        let mut cx = Cx::default();
        step.process(
            Event::new(Record::from_pairs([
                ("a", Value::Int(1)),
                ("b", Value::Int(2)),
            ])),
            &mut cx,
        )
        .unwrap();
        assert_eq!(
            cx.take_outputs()[0].body,
            Value::Record(Record::from_pairs([("b", Value::Int(2))]))
        );
    }
}

/// YAML `drop_columns: [a, b]`.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(transparent)]
pub struct DropColumnsConfig {
    /// Fields to remove.
    pub columns: Vec<String>,
}

impl DropColumnsConfig {
    /// Builds the step.
    pub fn build(&self) -> rill_core::Result<Box<dyn Step>> {
        Ok(Box::new(DropColumns::new(
            self.columns.iter().map(String::as_str),
        )))
    }
}
