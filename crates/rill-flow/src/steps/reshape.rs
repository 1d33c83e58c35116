//! Field-level reshaping shared by `rename` and `drop_columns`: the output layout is computed
//! once per input schema and applied to every record of that schema as an index permutation.

use rill_core::{Record, Schema, Str, Value};
use std::sync::Arc;

/// Output layout for one input schema: output schema and, per output field, its input index.
pub(crate) struct Layout {
    in_id: u64,
    out: Arc<Schema>,
    from: Vec<usize>,
    identity: bool,
}

/// Caches the layout of the last input schema seen.
pub(crate) struct Reshaper<F> {
    plan: F,
    layout: Option<Layout>,
}

impl<F: Fn(&Schema) -> Vec<(Str, usize)>> Reshaper<F> {
    /// `plan` maps an input schema to the output fields as (name, input index).
    pub fn new(plan: F) -> Self {
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
