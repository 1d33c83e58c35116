//! Field-level reshaping shared by `rename` and `drop_columns`: the output layout is computed
//! once per input schema and applied to every record of that schema as an index permutation.

use crate::step::{Cx, Step, StepResult};
use rill_core::{Event, Record, Schema, Str, Value};
use std::sync::Arc;

/// A reshaping plan: input schema → output fields as (name, input index).
pub(crate) type Plan = Arc<dyn Fn(&Schema) -> Vec<(Str, usize)> + Send + Sync>;

/// The step behind `rename` and `drop_columns`: applies a plan to record bodies (other bodies
/// pass unchanged).
#[derive(Clone)]
pub(crate) struct Reshape(Reshaper);

impl Reshape {
    pub fn new(plan: Plan) -> Self {
        Reshape(Reshaper::new(plan))
    }
}

impl Step for Reshape {
    fn process(&mut self, mut event: Event, cx: &mut Cx) -> StepResult {
        if let Value::Record(r) = &mut event.body {
            self.0.apply(r);
        }
        cx.emit(event);
        Ok(())
    }
}

/// Output layout for one input schema: output schema and, per output field, its input index.
#[derive(Clone)]
pub(crate) struct Layout {
    in_id: u64,
    out: Arc<Schema>,
    from: Vec<usize>,
    identity: bool,
}

/// Caches the layout of the last input schema seen.
#[derive(Clone)]
pub(crate) struct Reshaper {
    plan: Plan,
    layout: Option<Layout>,
}

impl Reshaper {
    /// `plan` maps an input schema to the output fields as (name, input index).
    pub fn new(plan: Plan) -> Self {
        Reshaper { plan, layout: None }
    }

    pub fn apply(&mut self, rec: &mut Record) {
        let schema = rec.schema().clone();
        if self.layout.as_ref().is_none_or(|l| l.in_id != schema.id()) {
            let fields = (self.plan)(&schema);
            let identity = fields.len() == schema.len()
                && fields
                    .iter()
                    .enumerate()
                    .all(|(i, (n, j))| i == *j && *n == schema.names()[i]);
            let out = if identity {
                schema.clone()
            } else {
                Schema::new(fields.iter().map(|(n, _)| n.clone()))
            };
            self.layout = Some(Layout {
                in_id: schema.id(),
                out,
                from: fields.into_iter().map(|(_, j)| j).collect(),
                identity,
            });
        }
        let l = self.layout.as_ref().expect("set above");
        if l.identity {
            return;
        }
        let mut old = rec.take_values();
        let values: Vec<Value> = l
            .from
            .iter()
            .map(|&j| std::mem::take(&mut old[j]))
            .collect();
        rec.reshape(l.out.clone(), values);
    }
}
