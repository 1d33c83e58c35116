//! The compiled form of an expression: names resolved to variable positions, loop variables or
//! body-field slots; functions resolved to [`Func`]; constant sub-expressions folded.

use crate::functions::Func;
use crate::parser::BinOp;
use rill_core::{FieldSlot, Schema, Str};
use std::cell::Cell;
use std::sync::Arc;

/// A compiled expression node. Evaluated by [`crate::eval`].
#[derive(Debug, Clone)]
pub(crate) enum Node {
    /// A literal or folded constant; evaluation borrows it.
    Const(rill_core::Value),
    /// The whole event body (`body`).
    Body,
    /// The n-th variable given to `eval`.
    Var(usize),
    /// A macro's loop variable: 0 is the innermost.
    Local(usize),
    /// A field of the body; `path` names it in error messages.
    Field {
        slot: FieldSlot,
        path: Str,
    },
    /// A field of a computed record (`state.count`, `x.y.z`).
    Member {
        obj: Box<Node>,
        slot: FieldSlot,
        path: Str,
    },
    /// `obj[idx]`: list position or record field.
    Index {
        obj: Box<Node>,
        idx: Box<Node>,
        path: Str,
    },
    Not(Box<Node>),
    Neg(Box<Node>),
    /// Any binary operator except `+` (which may merge records and so carries a cache).
    /// `fast`: try the numeric fast path first (see [`crate::num`]); decided at compile time.
    Binary {
        op: BinOp,
        l: Box<Node>,
        r: Box<Node>,
        fast: bool,
    },
    Add {
        l: Box<Node>,
        r: Box<Node>,
        merge: MergeCache,
        fast: bool,
    },
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Cond(Box<Node>, Box<Node>, Box<Node>),
    List(Vec<Node>),
    /// Record literal; the schema is built once, at compile time.
    Record {
        schema: Arc<Schema>,
        fields: Vec<Node>,
    },
    /// `has(path)`: the path resolves to a non-null value.
    Has(Box<Node>),
    /// `is_null(x)`: null or missing.
    IsNull(Box<Node>),
    /// `coalesce(a, b, …)`: the first argument that is neither null nor missing.
    Coalesce(Vec<Node>),
    Call {
        func: Func,
        args: Vec<Node>,
    },
    /// `list.map(x, [pred,] body)`, `list.filter(x, pred)`, `list.all(…)`, …
    Macro {
        kind: MacroKind,
        list: Box<Node>,
        pred: Option<Box<Node>>,
        body: Box<Node>,
    },
}

/// The CEL comprehension macros.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MacroKind {
    Map,
    Filter,
    All,
    Exists,
    ExistsOne,
}

impl MacroKind {
    pub fn from_name(name: &str) -> Option<MacroKind> {
        Some(match name {
            "map" => MacroKind::Map,
            "filter" => MacroKind::Filter,
            "all" => MacroKind::All,
            "exists" => MacroKind::Exists,
            "exists_one" | "existsOne" => MacroKind::ExistsOne,
            _ => return None,
        })
    }
    pub fn name(self) -> &'static str {
        match self {
            MacroKind::Map => "map",
            MacroKind::Filter => "filter",
            MacroKind::All => "all",
            MacroKind::Exists => "exists",
            MacroKind::ExistsOne => "exists_one",
        }
    }
}

/// Output layout of a record merge (`a + b`) for one pair of input schemas.
#[derive(Debug)]
pub(crate) struct MergePlan {
    pub left: u64,
    pub right: u64,
    pub out: Arc<Schema>,
    /// For each field of the right record: its position in the output.
    pub pos: Vec<usize>,
}

/// Caches the last [`MergePlan`], so merging records of a steady shape builds no schema per event.
/// A `Cell` (taken and put back) rather than a `RefCell`: no borrow can panic.
#[derive(Default)]
pub(crate) struct MergeCache(pub Cell<Option<Box<MergePlan>>>);

impl std::fmt::Debug for MergeCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MergeCache")
    }
}

impl Clone for MergeCache {
    /// Clones start cold: the cache is an optimisation, never state.
    fn clone(&self) -> Self {
        MergeCache::default()
    }
}

impl Node {
    pub fn is_const(&self) -> bool {
        matches!(self, Node::Const(_))
    }
}
