use crate::expr_fn::ExprFn;
use crate::step::Step;
use crate::string_or_struct::StringOrStruct;
use rill_core::Result;
use serde::Deserialize;

/// YAML `filter: "status == 'ok'"`: keeps events for which the expression is true.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterConfig {
    /// The expression (see docs/expressions.md); body fields are bare names, plus `body`, `key`, `time`.
    pub expr: String,
    /// The step's name in messages and the run summary.
    #[serde(default)]
    pub name: Option<String>,
}

impl StringOrStruct for FilterConfig {
    fn from_string(expr: String) -> Self {
        FilterConfig { expr, name: None }
    }
}

impl FilterConfig {
    /// Compiles the expression and builds the step.
    pub fn build(&self) -> Result<Box<dyn Step>> {
        let f = ExprFn::compile(&self.expr, &[])?;
        Ok(Box::new(super::Filter::with_event(move |e| {
            f.eval_bool(e, &[])
        })))
    }
}
