//! Built-in steps, one folder each. This file is the one list of them.

/// Declares `$name`, a boxed-closure trait whose boxes clone (so a step holding one is `Clone`
/// and can be built once per build of its flow): any `Clone + Send` closure of that signature.
macro_rules! cloneable_fn {
    ($(#[$doc:meta])* $vis:vis $name:ident: $($sig:tt)+) => {
        $(#[$doc])*
        $vis trait $name: $($sig)+ + dyn_clone::DynClone + Send {}
        impl<F: $($sig)+ + Clone + Send> $name for F {}
        dyn_clone::clone_trait_object!($name);
    };
}
pub(crate) use cloneable_fn;

mod group;
pub(crate) mod keyed;
mod reshape;

pub mod aggregate_by_key;
pub mod batch;
pub mod choice;
pub mod collect;
pub mod complete;
pub mod concurrent;
pub mod drop_columns;
pub mod extend;
pub mod filter;
pub mod flat_map;
pub mod for_each;
pub mod join_with_table;
pub mod map;
pub mod map_with_state;
pub mod partition;
pub mod query_by_key;
pub mod reduce;
pub mod reify_metadata;
pub mod rename;
pub mod sample_window;
pub mod write_to_table;

pub use aggregate_by_key::AggregateByKey;
pub use batch::Batch;
pub use choice::Choice;
pub use collect::{Collect, Collected};
pub use complete::Complete;
pub use concurrent::{Concurrent, ConcurrentOptions};
pub use drop_columns::DropColumns;
pub use extend::Extend;
pub use filter::Filter;
pub use flat_map::FlatMap;
pub use for_each::ForEach;
pub use group::{GroupBy, GroupKeyFn};
pub use join_with_table::JoinWithTable;
pub use keyed::KeyConfig;
pub use map::Map;
pub use map_with_state::MapWithState;
pub use partition::Partition;
pub use query_by_key::{FixedWindowType, QueryByKey};
pub use reduce::Reduce;
pub use reify_metadata::{Attribute, ReifyMetadata};
pub use rename::Rename;
pub use sample_window::{EmitPeriod, SampleWindow};
pub use write_to_table::WriteToTable;
