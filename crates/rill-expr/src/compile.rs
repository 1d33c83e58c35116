//! Compiler: syntax tree → [`Node`] tree. Resolves every name once (loop variable, bound
//! variable, `body`, or else a body field with its own [`FieldSlot`]), checks function names and
//! argument counts, and folds constant sub-expressions so they cost nothing per event.

use crate::eval::{self, EvalError};
use crate::functions;
use crate::lexer::SyntaxError;
use crate::node::{MacroKind, MergeCache, Node};
use crate::num;
use crate::parser::{Ast, AstKind, BinOp};
use rill_core::{FieldSlot, Schema, Str, Value};

/// Name resolution state.
pub(crate) struct Compiler<'v> {
    vars: &'v [&'v str],
    /// Loop variables of the enclosing macros, innermost last.
    locals: Vec<String>,
    /// Body fields referenced, in order of first appearance.
    pub body_fields: Vec<String>,
    /// Constant parts that failed to fold. Reported unless they sit in a branch of `c ? a : b`
    /// that a constant condition rules out.
    fails: Vec<SyntaxError>,
}

type CResult = Result<Node, SyntaxError>;

fn err(col: u32, msg: impl Into<String>) -> SyntaxError {
    SyntaxError::new(col, msg)
}

impl<'v> Compiler<'v> {
    pub fn new(vars: &'v [&'v str]) -> Self {
        Compiler {
            vars,
            locals: Vec::new(),
            body_fields: Vec::new(),
            fails: Vec::new(),
        }
    }

    fn body_field(&mut self, name: &str) -> Node {
        if !self.body_fields.iter().any(|f| f == name) {
            self.body_fields.push(name.to_string());
        }
        Node::Field {
            slot: FieldSlot::new(name),
            path: Str::from(name),
        }
    }

    /// Compiles a whole expression. A constant part that cannot be computed (`1 / 0`,
    /// `timestamp('soon')`) would fail on every event, so it is a compile error.
    pub fn compile_root(&mut self, ast: &Ast) -> CResult {
        let node = self.compile(ast)?;
        match self.fails.first() {
            Some(e) => Err(e.clone()),
            None => Ok(node),
        }
    }

    fn compile(&mut self, ast: &Ast) -> CResult {
        let node = self.compile_inner(ast)?;
        Ok(self.fold(node, ast.col))
    }

    /// Replaces a node whose inputs are all constants by its value, computed now.
    fn fold(&mut self, node: Node, col: u32) -> Node {
        if !foldable(&node) {
            return node;
        }
        match eval::eval_const(&node) {
            Ok(v) => Node::Const(v),
            Err(e) => {
                let reason = match e {
                    EvalError::Missing(p) => format!("field '{p}' is missing"),
                    EvalError::Failed(m) => m,
                };
                self.fails
                    .push(err(col, format!("this part always fails: {reason}")));
                node
            }
        }
    }

    fn boxed(&mut self, ast: &Ast) -> Result<Box<Node>, SyntaxError> {
        self.compile(ast).map(Box::new)
    }

    fn compile_inner(&mut self, ast: &Ast) -> CResult {
        Ok(match &ast.kind {
            AstKind::Int(i) => Node::Const(Value::Int(*i)),
            AstKind::Float(f) => Node::Const(Value::Float(*f)),
            AstKind::Str(s) => Node::Const(Value::from(s.as_str())),
            AstKind::Bool(b) => Node::Const(Value::Bool(*b)),
            AstKind::Null => Node::Const(Value::Null),
            AstKind::Ident(name) => self.ident(name),
            AstKind::List(items) => Node::List(
                items
                    .iter()
                    .map(|a| self.compile(a))
                    .collect::<Result<_, _>>()?,
            ),
            AstKind::Record(fields) => {
                let schema = Schema::new(fields.iter().map(|(n, _, _)| n.as_str()));
                let fields = fields
                    .iter()
                    .map(|(_, _, a)| self.compile(a))
                    .collect::<Result<_, _>>()?;
                Node::Record { schema, fields }
            }
            AstKind::Not(e) => Node::Not(self.boxed(e)?),
            AstKind::Neg(e) => Node::Neg(self.boxed(e)?),
            AstKind::Binary(BinOp::Add, l, r) => {
                let (l, r) = (self.boxed(l)?, self.boxed(r)?);
                let fast = num::worth_trying(BinOp::Add, &l, &r);
                Node::Add {
                    l,
                    r,
                    merge: MergeCache::default(),
                    fast,
                }
            }
            AstKind::Binary(op, l, r) => {
                let (l, r) = (self.boxed(l)?, self.boxed(r)?);
                let fast = num::worth_trying(*op, &l, &r);
                Node::Binary {
                    op: *op,
                    l,
                    r,
                    fast,
                }
            }
            AstKind::And(l, r) => Node::And(self.boxed(l)?, self.boxed(r)?),
            AstKind::Or(l, r) => Node::Or(self.boxed(l)?, self.boxed(r)?),
            AstKind::Cond(c, a, b) => {
                let c = self.compile(c)?;
                let mark = self.fails.len();
                let a = self.compile(a)?;
                let mid = self.fails.len();
                let b = self.compile(b)?;
                // a constant condition picks its branch now; failures in the other one never happen
                match c {
                    Node::Const(Value::Bool(true)) => {
                        self.fails.truncate(mid);
                        a
                    }
                    Node::Const(Value::Bool(false)) => {
                        self.fails.drain(mark..mid);
                        b
                    }
                    c => Node::Cond(Box::new(c), Box::new(a), Box::new(b)),
                }
            }
            AstKind::Member(obj, name) => {
                let obj = self.compile(obj)?;
                self.member(obj, name)
            }
            AstKind::Index(obj, idx) => {
                let obj = self.compile(obj)?;
                let idx = self.compile(idx)?;
                match (&obj, &idx) {
                    // body['x'] is a plain field reference and gets a slot
                    (Node::Body, Node::Const(Value::Str(name))) => self.body_field(name),
                    _ => {
                        let path = Str::from(path_of(&obj, self.vars, &self.locals));
                        Node::Index {
                            obj: Box::new(obj),
                            idx: Box::new(idx),
                            path,
                        }
                    }
                }
            }
            AstKind::Call { name, recv, args } => {
                self.call(ast.col, name, recv.as_deref(), args)?
            }
        })
    }

    fn ident(&mut self, name: &str) -> Node {
        if let Some(depth) = self.locals.iter().rev().position(|l| l == name) {
            return Node::Local(depth);
        }
        if name == "body" {
            return Node::Body;
        }
        if let Some(i) = self.vars.iter().position(|v| *v == name) {
            return Node::Var(i);
        }
        self.body_field(name)
    }

    fn member(&mut self, obj: Node, name: &str) -> Node {
        if let Node::Body = obj {
            return self.body_field(name);
        }
        let path = match path_of(&obj, self.vars, &self.locals) {
            p if p.is_empty() => Str::from(name),
            p => Str::from(format!("{p}.{name}")),
        };
        Node::Member {
            obj: Box::new(obj),
            slot: FieldSlot::new(name),
            path,
        }
    }

    fn call(&mut self, col: u32, name: &str, recv: Option<&Ast>, args: &[Ast]) -> CResult {
        if let (Some(recv), Some(kind)) = (recv, MacroKind::from_name(name)) {
            return self.macro_call(col, kind, recv, args);
        }
        let n = args.len() + usize::from(recv.is_some());
        let all: Vec<&Ast> = recv.into_iter().chain(args).collect();
        match name {
            "has" => {
                if recv.is_some() {
                    return Err(err(
                        col,
                        "has() is a function, not a method: write has(x.y)",
                    ));
                }
                let [arg] = all[..] else {
                    return Err(err(col, format!("has() takes 1 argument, got {n}")));
                };
                if !matches!(
                    arg.kind,
                    AstKind::Ident(_) | AstKind::Member(..) | AstKind::Index(..)
                ) {
                    return Err(err(
                        arg.col,
                        "has() needs a field, like has(x) or has(body.x)",
                    ));
                }
                return Ok(Node::Has(self.boxed(arg)?));
            }
            "is_null" => {
                let [arg] = all[..] else {
                    return Err(err(col, format!("is_null() takes 1 argument, got {n}")));
                };
                return Ok(Node::IsNull(self.boxed(arg)?));
            }
            "coalesce" => {
                if n == 0 {
                    return Err(err(col, "coalesce() takes at least 1 argument, got 0"));
                }
                return Ok(Node::Coalesce(
                    all.into_iter()
                        .map(|a| self.compile(a))
                        .collect::<Result<_, _>>()?,
                ));
            }
            _ => {}
        }
        let Some((func, min, max)) = functions::lookup(name) else {
            let hint = if MacroKind::from_name(name).is_some() {
                " (it is a method on lists: list.map(x, …))"
            } else {
                ""
            };
            return Err(err(col, format!("unknown function '{name}'{hint}")));
        };
        if n < min || n > max {
            let want = match (min, max) {
                (a, b) if a == b => format!("{a} argument{}", if a == 1 { "" } else { "s" }),
                (a, usize::MAX) => {
                    format!("at least {a} argument{}", if a == 1 { "" } else { "s" })
                }
                (a, b) => format!("{a} to {b} arguments"),
            };
            return Err(err(col, format!("{}() takes {want}, got {n}", func.name())));
        }
        let args = all
            .into_iter()
            .map(|a| self.compile(a))
            .collect::<Result<_, _>>()?;
        Ok(Node::Call { func, args })
    }

    fn macro_call(&mut self, col: u32, kind: MacroKind, recv: &Ast, args: &[Ast]) -> CResult {
        let name = kind.name();
        let ok_arity = args.len() == 2 || (kind == MacroKind::Map && args.len() == 3);
        if !ok_arity {
            let want = if kind == MacroKind::Map {
                "2 or 3"
            } else {
                "2"
            };
            return Err(err(
                col,
                format!(
                    "{name}() takes {want} arguments (a variable name and an expression), got {}",
                    args.len()
                ),
            ));
        }
        let AstKind::Ident(var) = &args[0].kind else {
            return Err(err(
                args[0].col,
                format!(
                    "the first argument of {name}() must be a variable name, like {name}(x, …)"
                ),
            ));
        };
        let list = self.boxed(recv)?;
        self.locals.push(var.clone());
        let compiled = args[1..]
            .iter()
            .map(|a| self.compile(a))
            .collect::<Result<Vec<_>, _>>();
        self.locals.pop();
        let mut compiled = compiled?.into_iter();
        let (pred, body) = match (kind, compiled.next(), compiled.next()) {
            (MacroKind::Map, Some(body), None) => (None, body),
            (MacroKind::Map, Some(pred), Some(body)) => (Some(Box::new(pred)), body),
            (_, Some(body), _) => (None, body),
            (_, None, _) => return Err(err(col, format!("{name}() needs an expression"))),
        };
        Ok(Node::Macro {
            kind,
            list,
            pred,
            body: Box::new(body),
        })
    }
}

/// A readable name for a node in messages about missing fields (`state.count`), or "" when the
/// node is not a plain path.
fn path_of(n: &Node, vars: &[&str], locals: &[String]) -> String {
    match n {
        Node::Body => "body".into(),
        Node::Var(i) => vars.get(*i).map_or_else(String::new, |v| v.to_string()),
        Node::Local(d) => locals
            .len()
            .checked_sub(d + 1)
            .and_then(|i| locals.get(i))
            .cloned()
            .unwrap_or_default(),
        Node::Field { path, .. } | Node::Member { path, .. } | Node::Index { path, .. } => {
            path.to_string()
        }
        _ => String::new(),
    }
}

/// True when all inputs of `node` are constants, so it can be computed at compile time.
fn foldable(node: &Node) -> bool {
    match node {
        Node::Not(e) | Node::Neg(e) | Node::IsNull(e) => e.is_const(),
        Node::Binary { l, r, .. } | Node::Add { l, r, .. } => l.is_const() && r.is_const(),
        Node::And(l, r) | Node::Or(l, r) => l.is_const() && r.is_const(),
        Node::Cond(c, a, b) => c.is_const() && a.is_const() && b.is_const(),
        Node::Index { obj, idx, .. } => obj.is_const() && idx.is_const(),
        Node::Member { obj, .. } => obj.is_const(),
        Node::List(items) | Node::Coalesce(items) => items.iter().all(Node::is_const),
        Node::Record { fields, .. } => fields.iter().all(Node::is_const),
        Node::Call { args, .. } => args.iter().all(Node::is_const),
        _ => false,
    }
}

/// True when `f` is a function callable in expressions (for documentation tests).
#[cfg(test)]
pub(crate) fn is_function(name: &str) -> bool {
    functions::lookup(name).is_some() || matches!(name, "has" | "is_null" | "coalesce")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parser::parse;

    fn compile(src: &str, vars: &[&str]) -> Result<(Node, Vec<String>), SyntaxError> {
        let ast = parse(src)?;
        let mut c = Compiler::new(vars);
        let n = c.compile_root(&ast)?;
        Ok((n, c.body_fields))
    }

    #[test]
    fn names_resolve_in_order_locals_body_vars_fields() {
        let (n, fields) = compile(
            "range(3).map(key, key + x) + [key, body.y, body['z'], state.a]",
            &["key", "state"],
        )
        .expect("compiles");
        assert_eq!(fields, vec!["x", "y", "z"]);
        let Node::Add { l, r, .. } = n else {
            panic!("{n:?}")
        };
        let Node::Macro { body, .. } = *l else {
            panic!()
        };
        assert!(matches!(*body, Node::Add { ref l, .. } if matches!(**l, Node::Local(0))));
        let Node::List(items) = *r else { panic!() };
        assert!(matches!(items[0], Node::Var(0)));
        assert!(matches!(items[1], Node::Field { ref path, .. } if path == "y"));
        assert!(matches!(items[3], Node::Member { ref path, .. } if path == "state.a"));
    }

    #[test]
    fn constants_fold() {
        let (n, _) = compile("1 + 2 * 3", &[]).expect("compiles");
        assert!(matches!(n, Node::Const(Value::Int(7))));
        let (n, _) = compile("[1, 'a'] + [size('abc')]", &[]).expect("compiles");
        let Node::Const(Value::List(l)) = n else {
            panic!()
        };
        assert_eq!(l, vec![Value::Int(1), Value::from("a"), Value::Int(3)]);
        let (n, _) = compile("true ? x : 1 / 0", &[]).expect("dead branch is not evaluated");
        assert!(matches!(n, Node::Field { .. }));
        assert!(compile("false ? 1 / 0 : x", &[]).is_ok());
        assert_eq!(
            compile("x ? 1 / 0 : 2", &[]).expect_err("reachable").msg,
            "this part always fails: division by zero"
        );
        let (n, _) = compile("x > timestamp('2020-01-01')", &[]).expect("compiles");
        assert!(matches!(n, Node::Binary { ref r, .. } if r.is_const()));
    }

    #[test]
    fn compile_errors() {
        let e = |s: &str| compile(s, &[]).expect_err(s);
        assert_eq!(
            e("1 / 0"),
            err(1, "this part always fails: division by zero")
        );
        assert_eq!(e("x + foo(1)"), err(5, "unknown function 'foo'"));
        assert_eq!(
            e("map(x, 1)"),
            err(
                1,
                "unknown function 'map' (it is a method on lists: list.map(x, …))"
            )
        );
        assert_eq!(e("size(1, 2)"), err(1, "size() takes 1 argument, got 2"));
        assert_eq!(e("min()"), err(1, "min() takes at least 1 argument, got 0"));
        assert_eq!(
            e("round(1, 2, 3)"),
            err(1, "round() takes 1 to 2 arguments, got 3")
        );
        assert_eq!(
            e("l.map(1, 2)"),
            err(
                7,
                "the first argument of map() must be a variable name, like map(x, …)"
            )
        );
        assert_eq!(
            e("l.all(x)"),
            err(
                1,
                "all() takes 2 arguments (a variable name and an expression), got 1"
            )
        );
        assert_eq!(
            e("has(1 + x)").msg,
            "has() needs a field, like has(x) or has(body.x)"
        );
        assert_eq!(
            e("x.has()").msg,
            "has() is a function, not a method: write has(x.y)"
        );
        assert_eq!(
            e("timestamp('soon')").msg,
            "this part always fails: 'soon' is not an ISO-8601 timestamp"
        );
        assert!(is_function("coalesce") && is_function("startsWith") && !is_function("nope"));
    }
}
