use crate::expr_fn::ExprFn;
use crate::step::Step;
use crate::string_or_struct::StringOrStruct;
use rill_core::Result;
use serde::Deserialize;

/// YAML `flat_map: "range(n).map(j, {n: n, j: j})"`: one event per element of the list the expression returns.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlatMapConfig {
    /// The expression (see docs/expressions.md); body fields are bare names, plus `body`, `key`, `time`.
    pub expr: String,
    /// The step's name in messages and the run summary.
    #[serde(default)]
    pub name: Option<String>,
}

impl StringOrStruct for FlatMapConfig {
    fn from_string(expr: String) -> Self {
        FlatMapConfig { expr, name: None }
    }
}

impl FlatMapConfig {
    /// Compiles the expression and builds the step.
    pub fn build(&self) -> Result<Box<dyn Step>> {
        let f = ExprFn::compile(&self.expr, &[])?;
        Ok(Box::new(super::FlatMap::with_event(move |e| {
            f.eval(e, &[])
        })))
    }
}
