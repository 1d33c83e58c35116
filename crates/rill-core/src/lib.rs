//! rill-core: the event model every other rill crate builds on.
//!
//! * [`Event`]: key, event time, id, body (+ rarely used metadata behind one pointer).
//! * [`Value`]: a typed value; a map-shaped body is a [`Record`]: an `Arc`-shared [`Schema`]
//!   (field names → indices) plus a vector of values, so the hot path never hashes a string.
//! * [`Timestamp`] / [`Duration`]: epoch nanoseconds and storey-style durations (`"10m"`, `"1h"`).
//! * [`Error`]: the error type of the library crates; every variant names what failed and why.
//!
//! ```
//! use rill_core::{Record, Value};
//! let rec = Record::from_pairs([("user", Value::from("u1")), ("clicks", Value::Int(3))]);
//! assert_eq!(rec.get("clicks"), Some(&Value::Int(3)));
//! ```

mod error;
mod event;
mod iso;
pub mod json;
mod record;
mod suggest;
mod time;
mod value;
mod zone;

pub use error::{shorten, Error, Result};
pub use event::{Completion, CompletionFuture, Event, EventMeta, ResultHandle};
pub use record::{FieldSlot, Record, Schema, SchemaExtender};
pub use suggest::did_you_mean;
pub use time::{parse_duration, Duration, TimeFormat, TimeParser, Timestamp};
pub use value::{Str, Value};
pub use zone::{Zone, ABBREVIATIONS, AMBIGUOUS};
