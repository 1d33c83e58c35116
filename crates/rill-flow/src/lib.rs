//! rill-flow
