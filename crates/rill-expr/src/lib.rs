//! rill-expr
