use crate::expr_fn::ExprFn;
use crate::step::Step;
use crate::string_or_struct::StringOrStruct;
use rill_core::Result;
use serde::Deserialize;

/// YAML `partition: "amount > 100"`: the body becomes `{left: body, right: null}` when true, else `{left: null, right: body}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartitionConfig {
    /// The expression (see docs/expressions.md); body fields are bare names, plus `body`, `key`, `time`.
    pub expr: String,
    /// The step's name in messages and the run summary.
    #[serde(default)]
    pub name: Option<String>,
}

impl StringOrStruct for PartitionConfig {
    fn from_string(expr: String) -> Self {
        PartitionConfig { expr, name: None }
    }
}

impl PartitionConfig {
    /// Compiles the expression and builds the step.
    pub fn build(&self) -> Result<Box<dyn Step>> {
        let f = ExprFn::compile(&self.expr, &[])?;
        Ok(Box::new(super::Partition::new(move |e| {
            f.eval_bool(e, &[])
        })))
    }
}
