//! `synthetic.synthetic_sine_mid_price`: a synthetic mid price, `amplitude · sin(2π · freq ·
//! t) + mean` with `t` in absolute epoch seconds (svoe's `SyntheticSineMidPrice`, exactly).
//!
//! The interval `[start, end]` given to the offline generator is split into `num_splits`
//! closed sub-intervals of `int((end − start) / num_splits)` seconds, consecutive ones 0.1 s
//! apart, the last clipped to `end`. Each sub-interval `[a, b]` holds `n = int((b − a) / step)`
//! points `linspace(a, b, n)` (endpoints included: the spacing is `(b − a)/(n − 1)`, slightly
//! more than `step`; fewer than 2 points give `[a]` or nothing), as numpy computes them.
//! Schema: `timestamp, receipt_timestamp, mid_price` (receipt = timestamp).

use super::common::IDENTITY;
use crate::definition::{
    secs_to_time, timed_schema, DataSourceDefinition, EventSchema, FieldType, Preprocess,
};
use crate::params::{ParamDefault, ParamSpec, ParamType, Params};
use rill_core::{Event, Record, Schema, Timestamp, Value};
use std::sync::Arc;

static PARAMS: [ParamSpec; 8] = [
    IDENTITY[0],
    IDENTITY[1],
    IDENTITY[2],
    ParamSpec::new(
        "step",
        ParamType::Float,
        ParamDefault::Float(1.0),
        "seconds between points (about)",
    ),
    ParamSpec::new(
        "amplitude",
        ParamType::Float,
        ParamDefault::Required,
        "amplitude of the sine",
    ),
    ParamSpec::new(
        "mean",
        ParamType::Float,
        ParamDefault::Required,
        "mean (offset) of the sine",
    ),
    ParamSpec::new(
        "freq",
        ParamType::Float,
        ParamDefault::Required,
        "frequency in Hz, over absolute epoch seconds",
    ),
    ParamSpec::new(
        "num_splits",
        ParamType::Int,
        ParamDefault::Int(1),
        "sub-intervals the interval is cut into",
    ),
];

/// The synthetic sine data source.
pub struct SyntheticSine;

impl DataSourceDefinition for SyntheticSine {
    fn name(&self) -> &'static str {
        "synthetic.synthetic_sine_mid_price"
    }
    fn describe(&self) -> &'static str {
        "synthetic mid price amplitude·sin(2π·freq·t)+mean: timestamp, receipt_timestamp, mid_price"
    }
    fn params(&self) -> &'static [ParamSpec] {
        &PARAMS
    }
    fn schema(&self, _params: &Params) -> EventSchema {
        timed_schema(&[("mid_price", FieldType::Float)])
    }
    fn preprocessor(&self, params: &Params, schema: Arc<Schema>) -> Box<dyn Preprocess> {
        Box::new(super::common::ProjectRows(super::common::Projector::new(
            schema,
            &self.schema(params),
        )))
    }
    fn synthetic(
        &self,
        params: &Params,
        schema: &Arc<Schema>,
        start: Timestamp,
        end: Timestamp,
    ) -> Option<Vec<Event>> {
        let splits = params.int("num_splits").max(1);
        let mut out = Vec::new();
        for (a, b) in ranges(start, end, splits) {
            for t in points(a.secs_f64(), b.secs_f64(), params.float("step")) {
                let mid = sine(params, t);
                let values = vec![Value::Float(t), Value::Float(t), Value::Float(mid)];
                out.push(Event {
                    body: Value::Record(Record::new(schema.clone(), values)),
                    time: secs_to_time(t).unwrap_or(a),
                    ..Default::default()
                });
            }
        }
        Some(out)
    }
}

/// The value at `t` epoch seconds, with numpy's order of operations.
pub fn sine(params: &Params, t: f64) -> f64 {
    params.float("amplitude") * (2.0 * std::f64::consts::PI * params.float("freq") * t).sin()
        + params.float("mean")
}

/// `numpy.linspace(a, b, int((b − a) / step))`.
pub fn points(a: f64, b: f64, step: f64) -> Vec<f64> {
    let n = ((b - a) / step) as i64;
    match n {
        i64::MIN..=0 => Vec::new(),
        1 => vec![a],
        _ => {
            let d = (b - a) / (n - 1) as f64;
            let mut v: Vec<f64> = (0..n).map(|k| k as f64 * d + a).collect();
            *v.last_mut().expect("n ≥ 2") = b;
            v
        }
    }
}

/// svoe's `gen_synthetic_ranges_meta`: `splits` closed sub-intervals of whole seconds, 0.1 s
/// apart, the last clipped to `end`.
pub fn ranges(start: Timestamp, end: Timestamp, splits: i64) -> Vec<(Timestamp, Timestamp)> {
    let len_secs = ((end.secs_f64() - start.secs_f64()) / splits as f64) as i64;
    let len = rill_core::Duration::from_secs(len_secs);
    let gap = rill_core::Duration::from_millis(100);
    let mut out = Vec::new();
    let mut a = start;
    while a <= end && (out.len() as i64) < splits {
        let b = if out.len() as i64 == splits - 1 {
            end
        } else {
            a.add(len).min(end)
        };
        out.push((a, b));
        a = b.add(gap);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_points_and_values() {
        // featurizer-definitions.md §1.5: [1675209600, +10], step 1, amp 2000, mean 10000, freq 5
        let p = Params::resolve(
            &PARAMS,
            [
                ("amplitude", &serde_json::json!(2000)),
                ("mean", &serde_json::json!(10000)),
                ("freq", &serde_json::json!(5)),
            ],
        )
        .unwrap();
        let t = points(1675209600.0, 1675209610.0, p.float("step"));
        assert_eq!(t.len(), 10);
        assert!((t[1] - t[0] - 1.1111111).abs() < 1e-6);
        let mids: Vec<f64> = t.iter().map(|&t| sine(&p, t)).collect();
        for (got, want) in mids.iter().zip([9999.989109, 9315.954381, 11285.580568]) {
            assert!((got - want).abs() < 1e-6, "{got} vs {want}");
        }
    }

    #[test]
    fn golden_ranges() {
        let s = Timestamp::from_secs(1675209600);
        let e = Timestamp::from_secs(1675209600 + 3600);
        let r: Vec<(f64, f64)> = ranges(s, e, 3)
            .into_iter()
            .map(|(a, b)| (a.secs_f64() - 1675209600.0, b.secs_f64() - 1675209600.0))
            .collect();
        let want = [(0.0, 1200.0), (1200.1, 2400.1), (2400.2, 3600.0)];
        for (g, w) in r.iter().zip(want) {
            assert!(
                (g.0 - w.0).abs() < 1e-6 && (g.1 - w.1).abs() < 1e-6,
                "{r:?}"
            );
        }
        assert_eq!(r.len(), 3);
    }
}
