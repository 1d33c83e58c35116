//! `transforms.diff`: relative change over the trailing window, `(x − first) / first` with
//! `first` the oldest value in `[now − window, now]` (svoe's `Diff`; a fraction, not a
//! percentage; the first output is 0). Its input (role `input`, named in `deps`) is any
//! feature with one value field. An oldest value of 0 gives NaN (svoe divided by zero).
//! Output: `timestamp, receipt_timestamp, val`.

use super::common::{check_timed, float_at, record, stamps, Lookback};
use crate::definition::{
    single_value_field, timed_schema, DepSpec, EventSchema, FeatureDefinition, FeatureLogic,
    FieldType, Output,
};
use crate::params::{ParamDefault, ParamSpec, ParamType, Params};
use rill_core::{Error, Event, Value};

static PARAMS: [ParamSpec; 1] = [ParamSpec::new(
    "window",
    ParamType::Duration,
    ParamDefault::Text("1m"),
    "look-back window",
)];

/// The diff transform.
pub struct Diff;

impl FeatureDefinition for Diff {
    fn name(&self) -> &'static str {
        "transforms.diff"
    }
    fn describe(&self) -> &'static str {
        "relative change (x − oldest) / oldest over a trailing window"
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
        Ok(Box::new(DiffLogic {
            value: single_value_field(inputs[0])?,
            window: Lookback::new(params.duration("window")),
        }))
    }
}

struct DiffLogic {
    value: usize,
    window: Lookback<f64>,
}

impl FeatureLogic for DiffLogic {
    fn on_event(&mut self, _: usize, ev: &Event, out: &mut Output<'_>) -> Result<(), Error> {
        let r = record(ev)?;
        let x = float_at(r, self.value)?;
        self.window.push(ev.time, x, |_| {});
        let first = *self.window.front().expect("holds the newest value");
        let val = if first == 0.0 {
            f64::NAN
        } else {
            (x - first) / first
        };
        let (ts, rts) = stamps(r);
        out.emit(ev.time, vec![ts, rts, Value::Float(val)]);
        Ok(())
    }
}
