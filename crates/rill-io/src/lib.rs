//! rill-io
