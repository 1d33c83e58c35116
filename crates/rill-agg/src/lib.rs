//! rill-agg
