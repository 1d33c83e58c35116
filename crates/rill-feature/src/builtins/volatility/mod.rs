//! `volatility.volatility_stddev`: the population standard deviation (ddof 0) of the mid
//! prices in the trailing window `[now − window, now]` (role `mid_price`), one output per mid
//! price. Output: `timestamp, receipt_timestamp, volatility`.
//!
//! `precision`:
//! * `f64` (default): exact, shifted two-pass in f64 — a constant window gives exactly 0.
//! * `svoe_f32`: svoe's `numpy.std(dtype=float32)` reproduced operation by operation (f32
//!   pairwise sums, mean divided in f32, squares in f64 summed in f32, f32 square root), so a
//!   constant window at BTC prices gives svoe's 0.00078125 rounding noise (gaps B38).

use super::common::{check_timed, float_at, record, stamps, Lookback};
use crate::definition::{
    single_value_field, timed_schema, DepSpec, EventSchema, FeatureDefinition, FeatureLogic,
    FieldType, Output,
};
use crate::params::{ParamDefault, ParamSpec, ParamType, Params};
use rill_core::{Error, Event, Value};

static PARAMS: [ParamSpec; 2] = [
    ParamSpec::new(
        "window",
        ParamType::Duration,
        ParamDefault::Text("1m"),
        "look-back window",
    ),
    ParamSpec::new(
        "precision",
        ParamType::Choice(&["f64", "svoe_f32"]),
        ParamDefault::Text("f64"),
        "f64 (exact) or svoe_f32 (numpy float32 std, as svoe computes it)",
    ),
];

/// The volatility feature.
pub struct VolatilityStddev;

impl FeatureDefinition for VolatilityStddev {
    fn name(&self) -> &'static str {
        "volatility.volatility_stddev"
    }
    fn describe(&self) -> &'static str {
        "rolling population stddev of the mid price over a trailing window"
    }
    fn params(&self) -> &'static [ParamSpec] {
        &PARAMS
    }
    fn deps(&self, _: &Params) -> Result<Vec<DepSpec>, String> {
        Ok(vec![DepSpec::definition("mid_price", "price.mid_price")])
    }
    fn output_schema(
        &self,
        params: &Params,
        inputs: &[&EventSchema],
    ) -> Result<EventSchema, String> {
        self.instantiate(params, inputs)?;
        Ok(timed_schema(&[("volatility", FieldType::Float)]))
    }
    fn instantiate(
        &self,
        params: &Params,
        inputs: &[&EventSchema],
    ) -> Result<Box<dyn FeatureLogic>, String> {
        check_timed(inputs[0])?;
        Ok(Box::new(Volatility {
            value: single_value_field(inputs[0])?,
            window: Lookback::new(params.duration("window")),
            f32_mode: params.str("precision") == "svoe_f32",
            scratch: Vec::new(),
        }))
    }
}

struct Volatility {
    value: usize,
    window: Lookback<f64>,
    f32_mode: bool,
    scratch: Vec<f64>,
}

impl FeatureLogic for Volatility {
    fn on_event(&mut self, _: usize, ev: &Event, out: &mut Output<'_>) -> Result<(), Error> {
        let r = record(ev)?;
        let x = float_at(r, self.value)?;
        self.window.push(ev.time, x, |_| {});
        self.scratch.clear();
        self.scratch.extend(self.window.iter().copied());
        let v = if self.f32_mode {
            std_f32(&self.scratch)
        } else {
            std_f64(&self.scratch)
        };
        let (ts, rts) = stamps(r);
        out.emit(ev.time, vec![ts, rts, Value::Float(v)]);
        Ok(())
    }
}

/// Population standard deviation, exact two-pass in f64 over values shifted by the first.
pub fn std_f64(xs: &[f64]) -> f64 {
    let Some(&x0) = xs.first() else {
        return f64::NAN;
    };
    let n = xs.len() as f64;
    let mean = xs.iter().map(|x| x - x0).sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - x0 - mean).powi(2)).sum::<f64>() / n;
    var.sqrt()
}

/// `numpy.std(xs, dtype=numpy.float32)` for float64 `xs`, operation by operation.
pub fn std_f32(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    let n = xs.len() as f32;
    let m32 = pairwise_f32(xs, |x| x as f32) / n;
    let m = m32 as f64;
    let v32 = pairwise_f32(xs, |x| ((x - m) * (x - m)) as f32) / n;
    v32.sqrt() as f64
}

/// numpy's pairwise summation (`pairwise_sum` in `loops_utils.h`) in f32 of `f(x)`:
/// sequential below 8 items, 8 accumulators up to 128, halves (at multiples of 8) above.
pub fn pairwise_f32(xs: &[f64], f: impl Fn(f64) -> f32 + Copy) -> f32 {
    let n = xs.len();
    if n < 8 {
        let mut res = 0.0f32;
        for &x in xs {
            res += f(x);
        }
        res
    } else if n <= 128 {
        let mut r = [0.0f32; 8];
        for (j, acc) in r.iter_mut().enumerate() {
            *acc = f(xs[j]);
        }
        let mut i = 8;
        while i < n - (n % 8) {
            for (j, acc) in r.iter_mut().enumerate() {
                *acc += f(xs[i + j]);
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        while i < n {
            res += f(xs[i]);
            i += 1;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise_f32(&xs[..n2], f) + pairwise_f32(&xs[n2..], f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_window() {
        assert_eq!(std_f64(&[19189.45; 5]), 0.0);
        // svoe's float32 noise at BTC prices (featurizer-definitions.md §4)
        assert_eq!(std_f32(&[19189.45]), 0.0007812500116415322);
        assert_eq!(std_f32(&[19189.45; 4]), 0.0007812500116415322);
    }

    #[test]
    fn exact_std() {
        assert!((std_f64(&[1.0, 2.0, 3.0, 4.0]) - 1.118033988749895).abs() < 1e-15);
    }
}
