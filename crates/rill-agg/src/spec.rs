//! User-facing configuration of aggregators (the `aggregates:` list of a YAML pipeline).

use crate::Op;
use serde::{Deserialize, Serialize};

/// One aggregator: a named set of operations over one value stream, evaluated over windows.
///
/// YAML: `{name: clicks, field: click, ops: [count, avg], windows: {sliding: [1h, 2h], period: 10m},
/// max_value: 100, late: accept, filter: "status == 'ok'"}`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AggregatorSpec {
    /// Prefix of the feature names (`<name>_<op>_<window>`); unique among the aggregators of a step.
    pub name: String,
    /// Body field whose value is aggregated. Resolved by the caller (rill-agg never reads records).
    #[serde(default)]
    pub field: Option<String>,
    /// Expression whose value is aggregated instead of a field. Evaluated by the caller.
    #[serde(default)]
    pub expr: Option<String>,
    /// Predicate: only events for which it is true are aggregated (the others still slide the
    /// windows, so their features are fresh). Evaluated by the caller.
    #[serde(default)]
    pub filter: Option<String>,
    /// The operations, in the order their features are emitted.
    pub ops: Vec<Op>,
    /// The windows: sliding (with an optional bucket period) or fixed.
    pub windows: WindowSpec,
    /// Caps every bucket value and every window value of the raw aggregations (count, sum, sqr,
    /// min, max, first, last) at this number; avg/stdvar/stddev are derived from the capped parts,
    /// sketch results are capped at output. Emitted as floats (storey emits an int, its bug 7).
    #[serde(default)]
    pub max_value: Option<f64>,
    /// What to do with an event whose bucket is older than the key's newest bucket.
    #[serde(default)]
    pub late: LatePolicy,
}

/// The windows of one aggregator. YAML: `{sliding: [1h, 2h], period: 10m}` or `{fixed: [1h, 1d]}`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(try_from = "WindowsYaml", into = "WindowsYaml")]
pub enum WindowSpec {
    /// Sliding windows made of `period`-long epoch-aligned buckets: the window `W` at time `t`
    /// is the bucket containing `t` plus the `W/period − 1` buckets before it.
    Sliding {
        /// Window lengths as written (`"1h"`); the text is used in feature names.
        windows: Vec<String>,
        /// Bucket length; default: one unit of the smallest window's unit, halved
        /// (`2h` → 30m, `90m` → 30s, `1d` → 12h), as in storey.
        period: Option<String>,
    },
    /// Tumbling windows aligned to epoch multiples of their own length (`1h` = each whole hour,
    /// `1d` = each UTC day).
    Fixed {
        /// Window lengths as written (`"1h"`); the text is used in feature names.
        windows: Vec<String>,
    },
}

impl WindowSpec {
    /// The window texts, in the order given.
    pub fn windows(&self) -> &[String] {
        match self {
            WindowSpec::Sliding { windows, .. } | WindowSpec::Fixed { windows } => windows,
        }
    }
}

/// The YAML shape of [`WindowSpec`]: exactly one of `sliding` / `fixed`; `period` only with `sliding`.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct WindowsYaml {
    /// Sliding window lengths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sliding: Option<Vec<String>>,
    /// Bucket period of sliding windows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    period: Option<String>,
    /// Fixed window lengths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fixed: Option<Vec<String>>,
}

impl From<WindowSpec> for WindowsYaml {
    fn from(w: WindowSpec) -> WindowsYaml {
        match w {
            WindowSpec::Sliding { windows, period } => WindowsYaml {
                sliding: Some(windows),
                period,
                fixed: None,
            },
            WindowSpec::Fixed { windows } => WindowsYaml {
                sliding: None,
                period: None,
                fixed: Some(windows),
            },
        }
    }
}

impl TryFrom<WindowsYaml> for WindowSpec {
    type Error = String;
    fn try_from(y: WindowsYaml) -> Result<Self, String> {
        match (y.sliding, y.fixed, y.period) {
            (Some(windows), None, period) => Ok(WindowSpec::Sliding { windows, period }),
            (None, Some(windows), None) => Ok(WindowSpec::Fixed { windows }),
            (None, Some(_), Some(_)) => {
                Err("fixed windows take no period (they align to their own length)".into())
            }
            (Some(_), Some(_), _) => {
                Err("give either `sliding` or `fixed` windows, not both".into())
            }
            (None, None, _) => {
                Err("windows need `sliding: [..]` (with optional `period`) or `fixed: [..]`".into())
            }
        }
    }
}

/// Late-data policy of an aggregator. An event is *late* when its bucket is older than the
/// newest bucket the key has seen (events in the newest bucket are never late).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LatePolicy {
    /// Aggregate it into its own bucket while that bucket is inside the key's span (the largest
    /// window at the key's newest time); older events are dropped and reported.
    #[default]
    Accept,
    /// Never aggregate late events (reported as dropped).
    Drop,
    /// Never aggregate late events; report them so the caller routes them to a side output.
    SideOutput,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deserializes_yaml_shapes() {
        let s: AggregatorSpec = serde_json::from_str(
            r#"{"name":"clicks","field":"click","ops":["count","p99"],"windows":{"sliding":["1h","2h"],"period":"10m"},"late":"side_output"}"#,
        )
        .unwrap();
        assert_eq!(
            s.windows,
            WindowSpec::Sliding {
                windows: vec!["1h".into(), "2h".into()],
                period: Some("10m".into())
            }
        );
        assert_eq!(s.late, LatePolicy::SideOutput);
        let f: WindowSpec = serde_json::from_str(r#"{"fixed":["1h"]}"#).unwrap();
        assert_eq!(
            f,
            WindowSpec::Fixed {
                windows: vec!["1h".into()]
            }
        );
        for bad in [
            r#"{"fixed":["1h"],"period":"10m"}"#,
            r#"{"sliding":["1h"],"fixed":["1h"]}"#,
            r#"{}"#,
            r#"{"slide":["1h"]}"#,
        ] {
            assert!(serde_json::from_str::<WindowSpec>(bad).is_err(), "{bad}");
        }
        // what a table stores of its aggregators reads back as the same spec
        let back: AggregatorSpec =
            serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back, s);
        let unknown = r#"{"name":"a","ops":["count"],"windows":{"fixed":["1h"]},"colour":"red"}"#;
        assert!(serde_json::from_str::<AggregatorSpec>(unknown).is_err());
        assert!(serde_json::from_str::<AggregatorSpec>(
            r#"{"name":"a","ops":["cnt"],"windows":{"fixed":["1h"]}}"#
        )
        .is_err());
    }
}
