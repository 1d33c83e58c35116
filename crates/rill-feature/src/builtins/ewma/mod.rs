//! `transforms.ewma`: exponentially weighted moving average of a one-value feature (role
//! `input`, named in `deps`); one output per input. svoe listed it as WIP.
//!
//! Exactly one of:
//! * `alpha` in `(0, 1]`: per event, `e₀ = x₀`, `eₜ = α·xₜ + (1 − α)·eₜ₋₁` (pandas
//!   `ewm(alpha, adjust=False)`);
//! * `halflife` (a duration): per event, with `Δt` the event time since the previous input,
//!   `α = 1 − 2^(−Δt / halflife)` and `eₜ = eₜ₋₁ + α·(xₜ − eₜ₋₁)` (an input at the same instant
//!   as the previous one weighs nothing; irregular spacing is weighed by time).
//!
//! Output: `timestamp, receipt_timestamp, val`.

use super::common::{check_timed, float_at, record, stamps};
use crate::definition::{
    single_value_field, timed_schema, DepSpec, EventSchema, FeatureDefinition, FeatureLogic,
    FieldType, Output,
};
use crate::params::{ParamDefault, ParamSpec, ParamType, Params};
use rill_core::{Error, Event, Timestamp, Value};

static PARAMS: [ParamSpec; 2] = [
    ParamSpec::new(
        "alpha",
        ParamType::Float,
        ParamDefault::Absent,
        "weight of each new value, in (0, 1]",
    ),
    ParamSpec::new(
        "halflife",
        ParamType::Duration,
        ParamDefault::Absent,
        "time for a weight to halve (instead of alpha)",
    ),
];

/// The EWMA transform.
pub struct Ewma;

enum Decay {
    Alpha(f64),
    HalfLife(f64),
}

impl FeatureDefinition for Ewma {
    fn name(&self) -> &'static str {
        "transforms.ewma"
    }
    fn describe(&self) -> &'static str {
        "exponentially weighted moving average (per event with alpha, or by time with halflife)"
    }
    fn params(&self) -> &'static [ParamSpec] {
        &PARAMS
    }
    fn deps(&self, _: &Params) -> Result<Vec<DepSpec>, String> {
        Ok(vec![DepSpec::any("input")])
    }
    fn output_schema(
        &self,
        params: &Params,
        inputs: &[&EventSchema],
    ) -> Result<EventSchema, String> {
        self.instantiate(params, inputs)?;
        Ok(timed_schema(&[("val", FieldType::Float)]))
    }
    fn instantiate(
        &self,
        params: &Params,
        inputs: &[&EventSchema],
    ) -> Result<Box<dyn FeatureLogic>, String> {
        check_timed(inputs[0])?;
        let decay = match (params.float_opt("alpha"), params.get("halflife")) {
            (Some(a), None) if a > 0.0 && a <= 1.0 => Decay::Alpha(a),
            (Some(a), None) => return Err(format!("alpha must be in (0, 1], got {a}")),
            (None, Some(_)) => Decay::HalfLife(params.duration("halflife").nanos() as f64),
            _ => return Err("give exactly one of alpha and halflife".into()),
        };
        Ok(Box::new(EwmaLogic {
            value: single_value_field(inputs[0])?,
            decay,
            state: None,
        }))
    }
}

struct EwmaLogic {
    value: usize,
    decay: Decay,
    state: Option<(Timestamp, f64)>,
}

impl FeatureLogic for EwmaLogic {
    fn on_event(&mut self, _: usize, ev: &Event, out: &mut Output<'_>) -> Result<(), Error> {
        let r = record(ev)?;
        let x = float_at(r, self.value)?;
        let e = match self.state {
            None => x,
            Some((t0, prev)) => match self.decay {
                Decay::Alpha(a) => a * x + (1.0 - a) * prev,
                Decay::HalfLife(h) => {
                    let dt = (ev.time.nanos() - t0.nanos()).max(0) as f64;
                    let a = 1.0 - (-dt / h).exp2();
                    prev + a * (x - prev)
                }
            },
        };
        self.state = Some((ev.time, e));
        let (ts, rts) = stamps(r);
        out.emit(ev.time, vec![ts, rts, Value::Float(e)]);
        Ok(())
    }
}
