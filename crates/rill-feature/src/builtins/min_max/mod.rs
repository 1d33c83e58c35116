//! `transforms.min_max_scaling`: `(x − min) / (max − min)` with `min`, `max` over the trailing
//! window `[now − window, now]` (the current value included), so the output is in `[0, 1]`;
//! a window whose values are all equal gives 0 (as scikit-learn's and river's scalers). Input:
//! any one-value feature (role `input`, named in `deps`); one output per input; O(1)
//! amortised per event (monotonic queues). svoe listed it as WIP.
//! Output: `timestamp, receipt_timestamp, val`.

use super::common::{check_timed, float_at, record, stamps};
use crate::definition::{
    single_value_field, timed_schema, DepSpec, EventSchema, FeatureDefinition, FeatureLogic,
    FieldType, Output,
};
use crate::params::{ParamDefault, ParamSpec, ParamType, Params};
use rill_core::{Duration, Error, Event, Timestamp, Value};
use std::collections::VecDeque;

static PARAMS: [ParamSpec; 1] = [ParamSpec::new(
    "window",
    ParamType::Duration,
    ParamDefault::Text("1m"),
    "look-back window",
)];

/// The min-max scaling transform.
pub struct MinMaxScaling;

impl FeatureDefinition for MinMaxScaling {
    fn name(&self) -> &'static str {
        "transforms.min_max_scaling"
    }
    fn describe(&self) -> &'static str {
        "scales to [0, 1] by the min and max of a trailing window"
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
        Ok(Box::new(MinMax {
            value: single_value_field(inputs[0])?,
            window: params.duration("window"),
            mins: VecDeque::new(),
            maxs: VecDeque::new(),
        }))
    }
}

struct MinMax {
    value: usize,
    window: Duration,
    /// Increasing values (front = the window's min), with their times.
    mins: VecDeque<(Timestamp, f64)>,
    /// Decreasing values (front = the window's max).
    maxs: VecDeque<(Timestamp, f64)>,
}

impl FeatureLogic for MinMax {
    fn on_event(&mut self, _: usize, ev: &Event, out: &mut Output<'_>) -> Result<(), Error> {
        let r = record(ev)?;
        let x = float_at(r, self.value)?;
        let t = ev.time;
        while self.mins.back().is_some_and(|&(_, v)| v >= x) {
            self.mins.pop_back();
        }
        self.mins.push_back((t, x));
        while self.maxs.back().is_some_and(|&(_, v)| v <= x) {
            self.maxs.pop_back();
        }
        self.maxs.push_back((t, x));
        let old = |q: &mut VecDeque<(Timestamp, f64)>, w: Duration| {
            while q
                .front()
                .is_some_and(|&(ft, _)| t.nanos() - ft.nanos() > w.nanos())
            {
                q.pop_front();
            }
        };
        old(&mut self.mins, self.window);
        old(&mut self.maxs, self.window);
        let (lo, hi) = (self.mins[0].1, self.maxs[0].1);
        let val = if hi > lo { (x - lo) / (hi - lo) } else { 0.0 };
        let (ts, rts) = stamps(r);
        out.emit(ev.time, vec![ts, rts, Value::Float(val)]);
        Ok(())
    }
}
