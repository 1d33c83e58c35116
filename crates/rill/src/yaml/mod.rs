//! Reading pipeline files: YAML into a tree that remembers where each value came from, and
//! from that tree into the typed configuration, so that every configuration error — a YAML
//! syntax error, an unknown option, a bad value, or a failing expression found when the flow
//! is built — names its place once, in one format:
//!
//! ```text
//! pipeline.yaml:7:9: steps.0.aggregate_by_key.aggregates.0.windows: unknown option "slidin"; did you mean "sliding"?
//! ```
//!
//! (file, line and column of the offending text; the dotted path to it in the file; what is
//! wrong, in plain words). A value given on the command line is placed at its argument
//! (`--set steps.0.filter: …`).

mod de;
mod error;
mod node;
mod wording;

pub(crate) use de::deserialize;
pub(crate) use error::DeError;
pub(crate) use node::{Content, Key, Node, Origin};
pub(crate) use wording::{short_path, shorten_quoted};
