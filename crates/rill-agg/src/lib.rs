//! rill-agg: the pure windowed-aggregation engine (no I/O, no flow, no threads).
//!
//! * [`AggregatorSpec`] (serde, the YAML `aggregates:` entries) → [`Aggregations::new`] validates
//!   and compiles them once per step.
//! * One [`KeyState`] per key ([`Aggregations::new_state`]); the caller interns keys to dense
//!   slots and owns the states. [`Aggregations::update`] aggregates one value of one aggregator,
//!   [`Aggregations::advance`] slides windows for events an aggregator skips, and
//!   [`Aggregations::features_at`] appends the feature values (order of
//!   [`Aggregations::feature_names`]); [`Aggregations::features_at_f64`] writes plain floats.
//! * A [`KeyState`] holds only the key's non-empty buckets (with just the columns its ops need)
//!   and running window values, in one allocation, plus for sketch ops (distinct counts,
//!   quantiles) per bucket what a window needs to remove it and per window a running sketch
//!   ([`KeyState::heap_bytes`] reports the whole size).
//! * [`Aggregations::encode_state`] / [`Aggregations::decode_state`] persist a key's state
//!   (compact, versioned, checksummed; decoding refuses anything it did not write), so a table
//!   can reload it in a later run or another process and continue bit for bit;
//!   [`Aggregations::schema_fingerprint`] identifies the aggregator set a state belongs to.
//! * [`Emitter`] decides *when* to emit (every event, after N events, at period/window
//!   boundaries, after a delay); it is pure logic on a clock the caller drives.
//!
//! Geometry follows storey (epoch-aligned `period` buckets; sliding window `W` at `t` = bucket
//! of `t` + `W/period − 1` previous buckets; fixed windows aligned to their own length), values
//! are correct where storey is not (late data, `first`, stale features, empty windows).
//!
//! ```
//! use rill_agg::{AggregatorSpec, Aggregations, Outcome};
//! use rill_core::{Timestamp, Value};
//! let spec: AggregatorSpec = serde_json::from_str(
//!     r#"{"name":"clicks","ops":["count","sum"],"windows":{"sliding":["1h"],"period":"10m"}}"#).unwrap();
//! let aggs = Aggregations::new(vec![spec]).unwrap();
//! let mut st = aggs.new_state();
//! let t = Timestamp::from_secs(1_595_367_600);
//! assert_eq!(aggs.update(&mut st, 0, t, &Value::Int(3)), Outcome::Aggregated { late: false });
//! let mut out = Vec::new();
//! aggs.features_at(&st, t, &mut out);
//! assert_eq!(aggs.feature_names(), ["clicks_count_1h", "clicks_sum_1h"]);
//! assert_eq!(out, [Value::Float(1.0), Value::Float(3.0)]);
//! ```

mod codec;
mod emit;
mod engine;
mod geometry;
mod op;
mod prefetch;
mod read;
mod record;
mod schema;
mod sketch;
mod spec;
mod state;
mod update;

pub use codec::DecodeError;
pub use emit::{Emission, EmitPolicy, Emitter};
pub use engine::{Aggregations, DropReason, Outcome, PREFETCH_MAX_WORDS};
pub use op::{Op, Quantile, Rank};
pub use spec::{AggregatorSpec, LatePolicy, WindowSpec};
pub use state::KeyState;
