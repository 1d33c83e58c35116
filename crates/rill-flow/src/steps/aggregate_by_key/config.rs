use super::{AggInput, AggregateByKey, Input};
use crate::build_context::BuildContext;
use crate::expr_fn::ExprFn;
use crate::step::Step;
use crate::steps::keyed::{KeyConfig, KeySpec, TimeSpec};
use rill_agg::{Aggregations, AggregatorSpec, EmitPolicy};
use rill_core::{Error, FieldSlot, Result, TimeFormat};
use serde::Deserialize;
use std::collections::BTreeMap;

/// YAML `aggregate_by_key` (storey `AggregateByKey`).
///
/// ```yaml
/// - aggregate_by_key:
///     table: features
///     key: user                      # default: the event key
///     time: time                     # default: the event time
///     aggregates:
///       - {name: clicks, field: click, ops: [count], windows: {sliding: [1h, 24h], period: 10m}}
///       - {name: failed, field: status, ops: [count], windows: {sliding: [1h], period: 10m},
///          filter: "status == 'fail'"}
///     emit: every_event
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AggregateByKeyConfig<B> {
    /// The table that holds the state (created in memory if the pipeline does not declare it);
    /// `query_by_key` reads it by this name. Default: a table named after the step.
    #[serde(default)]
    pub table: Option<String>,
    /// The aggregators: `{name, field | expr, ops, windows, filter?, max_value?, late?}`.
    pub aggregates: Vec<AggregatorSpec>,
    /// The key: a body field, a list of fields, or `{expr: ...}`; default the event key.
    #[serde(default)]
    pub key: Option<KeyConfig>,
    /// Body field with the event time; default the event's time.
    #[serde(default)]
    pub time: Option<String>,
    /// Format of the time field when it is text or a number.
    #[serde(default)]
    pub time_format: TimeFormat,
    /// When to emit: `every_event` (default), `{after_max_events: {max_events, timeout?}}`,
    /// `{after_period: {delay?}}`, `{after_window: {delay?}}`, `{after_delay: {delay}}`.
    #[serde(default)]
    pub emit: EmitPolicy,
    /// Output names for features or enriched attributes: `{clicks_count_1h: clicks_1h}`.
    #[serde(default)]
    pub aliases: BTreeMap<String, String>,
    /// Static attributes of the key (from the table) to add to each output.
    #[serde(default)]
    pub enrich_with: Vec<String>,
    /// Where events go that an aggregator with `late: side_output` finds late: steps and
    /// targets, like a `branch`. They are not emitted on the main chain. (`B` is the
    /// configuration module's `BranchConfig`: a parameter, so this file does not import it.)
    #[serde(default = "Option::default")]
    pub late_events: Option<B>,
    /// The step's name.
    #[serde(default)]
    pub name: Option<String>,
}

impl<B> AggregateByKeyConfig<B> {
    /// Builds the step; `late_outlet` names the route late events go to (for `late: side_output`).
    pub fn build(
        &self,
        cx: &BuildContext,
        step_name: &str,
        late_outlet: Option<String>,
    ) -> Result<Box<dyn Step>> {
        let mut inputs = Vec::new();
        for (j, a) in self.aggregates.iter().enumerate() {
            let at = |what: &'static str| move |e: Error| e.at(format!("aggregates.{j}{what}"));
            check_durations(&a.windows).map_err(at(".windows"))?;
            // each aggregator alone first, so an error names its place
            Aggregations::new(vec![a.clone()]).map_err(at(""))?;
            let input = match (&a.field, &a.expr) {
                (Some(_), Some(_)) => {
                    return Err(Error::config(format!(
                        "aggregator '{}': give `field` or `expr`, not both",
                        a.name
                    ))
                    .at(format!("aggregates.{j}")))
                }
                (Some(f), None) => Input::Field(FieldSlot::new(f.as_str())),
                (None, Some(e)) => Input::Expr(ExprFn::compile(e, &[]).map_err(at(".expr"))?),
                (None, None) if a.ops.iter().all(|o| o.name() == "count") => Input::Constant,
                (None, None) => {
                    return Err(Error::config(format!(
                        "aggregator '{}' needs a `field` or an `expr`",
                        a.name
                    ))
                    .at(format!("aggregates.{j}")))
                }
            };
            let filter = a
                .filter
                .as_deref()
                .map(|f| ExprFn::compile(f, &[]))
                .transpose()
                .map_err(at(".filter"))?;
            inputs.push(AggInput { input, filter });
        }
        let late_wanted = self
            .aggregates
            .iter()
            .any(|a| a.late == rill_agg::LatePolicy::SideOutput);
        if late_wanted && late_outlet.is_none() {
            return Err(Error::config(
                "an aggregator has `late: side_output`: give the step a `late_events` branch",
            ));
        }
        Aggregations::new(self.aggregates.clone()).map_err(|e| e.at("aggregates"))?;
        let table = cx
            .tables
            .get_or_create(self.table.as_deref().unwrap_or(step_name));
        let step = AggregateByKey::new(
            table,
            self.aggregates.clone(),
            inputs,
            KeySpec::new(self.key.as_ref())?,
            TimeSpec::new(self.time.as_deref(), &self.time_format),
            self.emit.clone(),
            &self.aliases,
            self.enrich_with.clone(),
            late_outlet,
        )?;
        Ok(Box::new(step))
    }
}

/// Checks that every window length and the period are durations (`10m`), each error at its
/// place under `windows` (`sliding.1`, `period`).
fn check_durations(w: &rill_agg::WindowSpec) -> Result<()> {
    let (kind, period) = match w {
        rill_agg::WindowSpec::Sliding { period, .. } => ("sliding", period.as_deref()),
        rill_agg::WindowSpec::Fixed { .. } => ("fixed", None),
    };
    for (k, text) in w.windows().iter().enumerate() {
        rill_core::parse_duration(text).map_err(|e| e.at(format!("{kind}.{k}")))?;
    }
    if let Some(p) = period {
        rill_core::parse_duration(p).map_err(|e| e.at("period"))?;
    }
    Ok(())
}
