//! rill-table
