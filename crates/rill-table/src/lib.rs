//! rill-table: tables hold per-key state that outlives one event — static attributes written by
//! `map_with_state` or `write_to_table`, and windowed aggregation state — and share it by name
//! between steps and flows of one process (storey's `Table` + `Context`).
//!
//! A table keeps a dense in-memory cache: keys are interned to slots once, then every access is
//! an index. Persistence goes through a [`Driver`]; the memory driver keeps nothing else.
//!
//! ```
//! use rill_table::Tables;
//! use rill_core::{Record, Value};
//! let tables = Tables::default();
//! let t = tables.get_or_create("users");
//! t.merge_attrs(&Value::from("u1"), &Record::from_pairs([("color", Value::from("red"))]));
//! assert_eq!(tables.get("users").unwrap().attrs(&Value::from("u1")).unwrap().get("color"), Some(&Value::from("red")));
//! ```

pub mod backend;
mod table;

pub use table::{Driver, KeyEntry, MemoryDriver, Table, Tables};
