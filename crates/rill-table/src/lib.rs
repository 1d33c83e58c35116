//! rill-table: keyed state that outlives one event — static attributes written by
//! `map_with_state` or `write_to_table`, and windowed aggregation state — shared by name between
//! steps and flows of one process (storey's `Table` + `Context`), and persisted through a
//! [`backend::Backend`]: the embedded on-disk store, Redis or PostgreSQL, chosen by URL.
//!
//! A table keeps a dense in-memory cache in front of its backend: keys are interned to slots
//! once, then every access is an index. Changed keys are tracked and written in one batch per
//! flush ([`Table::flush`]); keys load from the backend on first sight.
//!
//! ```
//! use rill_table::Tables;
//! use rill_core::{Record, Value};
//! let tables = Tables::default();
//! let t = tables.get_or_create("users");
//! t.merge_attrs(&Value::from("u1"), &Record::from_pairs([("color", Value::from("red"))])).unwrap();
//! let attrs = tables.get("users").unwrap().attrs(&Value::from("u1")).unwrap().unwrap();
//! assert_eq!(attrs.get("color"), Some(&Value::from("red")));
//! ```

mod agg_store;
mod attr_store;
pub mod backend;
mod key_index;
mod key_view;
mod table;
pub mod value_codec;

pub use agg_store::{key_bytes, AggData, AggStore};
pub use key_view::KeyView;
pub use table::{Progress, Table, TableOptions, TableSnapshot, Tables, ATTRS, META};
