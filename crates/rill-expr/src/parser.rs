//! Parser: tokens → syntax tree, by precedence climbing (a Pratt parser) with CEL's precedence.
//!
//! Nesting is limited ([`MAX_DEPTH`]) so that neither this parser nor the compiler, evaluator or
//! destructor can overflow the stack on hostile input such as `((((…` or `1+1+1+…`.

use crate::lexer::{lex, SyntaxError, Tok, Token};

/// Deepest syntax tree accepted. Real expressions stay far below; the limit exists for safety.
pub(crate) const MAX_DEPTH: u32 = 96;

/// Binary operators (besides `&&`, `||`, which short-circuit and have their own nodes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    Add,
    Sub,
    Mul,
    Div,
    FloorDiv,
    Mod,
}

impl BinOp {
    /// Operators that give a bool.
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge | BinOp::In
        )
    }
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::In => "in",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::FloorDiv => "//",
            BinOp::Mod => "%",
        }
    }
}

/// A syntax tree node and the column where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Ast {
    pub kind: AstKind,
    pub col: u32,
    /// Height of this tree (a leaf is 1), tracked so deep trees are rejected while parsing.
    pub depth: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum AstKind {
    Int(i64),
    Float(f64),
    Str(String),
    Bool(bool),
    Null,
    Ident(String),
    List(Vec<Ast>),
    /// Record literal; field names with their columns, in source order.
    Record(Vec<(String, u32, Ast)>),
    Not(Box<Ast>),
    Neg(Box<Ast>),
    Binary(BinOp, Box<Ast>, Box<Ast>),
    And(Box<Ast>, Box<Ast>),
    Or(Box<Ast>, Box<Ast>),
    Cond(Box<Ast>, Box<Ast>, Box<Ast>),
    Member(Box<Ast>, String),
    Index(Box<Ast>, Box<Ast>),
    /// `name(args)` or, with a receiver, `recv.name(args)`.
    Call {
        name: String,
        recv: Option<Box<Ast>>,
        args: Vec<Ast>,
    },
}

/// Parses a whole expression.
pub(crate) fn parse(src: &str) -> Result<Ast, SyntaxError> {
    let toks = lex(src)?;
    let mut p = Parser {
        toks,
        pos: 0,
        nesting: 0,
    };
    let ast = p.expr(0)?;
    let t = p.peek();
    if t.tok != Tok::Eof {
        return Err(SyntaxError::new(
            t.col,
            format!("expected an operator or end of input, found {}", t.tok),
        ));
    }
    Ok(ast)
}

struct Parser {
    toks: Vec<Token>,
    pos: usize,
    /// Current recursion depth of the parser itself.
    nesting: u32,
}

/// Binding powers (higher binds tighter), CEL order: `?:` < `||` < `&&` < relations < `+ -` < `* / %`.
const BP_COND: u8 = 1;
const BP_OR: u8 = 2;
const BP_AND: u8 = 3;
const BP_REL: u8 = 4;
const BP_ADD: u8 = 5;
const BP_MUL: u8 = 6;

fn too_deep(col: u32) -> SyntaxError {
    SyntaxError::new(
        col,
        format!("expression is nested too deeply (more than {MAX_DEPTH} levels)"),
    )
}

/// Depth of a node over `children`, or an error when it exceeds [`MAX_DEPTH`].
fn depth(col: u32, children: &[&Ast]) -> Result<u32, SyntaxError> {
    let depth = children.iter().map(|c| c.depth).max().unwrap_or(0) + 1;
    if depth > MAX_DEPTH {
        return Err(too_deep(col));
    }
    Ok(depth)
}

fn node(kind: AstKind, col: u32, children: &[&Ast]) -> Result<Ast, SyntaxError> {
    let depth = depth(col, children)?;
    Ok(Ast { kind, col, depth })
}

impl Parser {
    fn peek(&self) -> &Token {
        // lex() always ends with Eof and we never advance past it
        &self.toks[self.pos.min(self.toks.len() - 1)]
    }
    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if t.tok != Tok::Eof {
            self.pos += 1;
        }
        t
    }
    fn expect(&mut self, want: Tok, context: &str) -> Result<Token, SyntaxError> {
        let t = self.next();
        if t.tok == want {
            Ok(t)
        } else {
            Err(SyntaxError::new(
                t.col,
                format!("expected {want} {context}, found {}", t.tok),
            ))
        }
    }

    /// Parses an expression whose operators all bind tighter than `min_bp`.
    fn expr(&mut self, min_bp: u8) -> Result<Ast, SyntaxError> {
        self.nesting += 1;
        if self.nesting > MAX_DEPTH {
            return Err(too_deep(self.peek().col));
        }
        let r = self.expr_inner(min_bp);
        self.nesting -= 1;
        r
    }

    fn expr_inner(&mut self, min_bp: u8) -> Result<Ast, SyntaxError> {
        let mut lhs = self.unary()?;
        loop {
            let t = self.peek().clone();
            let (bp, op) = match t.tok {
                Tok::Question => (BP_COND, None),
                Tok::Or => (BP_OR, None),
                Tok::And => (BP_AND, None),
                Tok::Eq => (BP_REL, Some(BinOp::Eq)),
                Tok::Ne => (BP_REL, Some(BinOp::Ne)),
                Tok::Lt => (BP_REL, Some(BinOp::Lt)),
                Tok::Le => (BP_REL, Some(BinOp::Le)),
                Tok::Gt => (BP_REL, Some(BinOp::Gt)),
                Tok::Ge => (BP_REL, Some(BinOp::Ge)),
                Tok::In => (BP_REL, Some(BinOp::In)),
                Tok::Plus => (BP_ADD, Some(BinOp::Add)),
                Tok::Minus => (BP_ADD, Some(BinOp::Sub)),
                Tok::Star => (BP_MUL, Some(BinOp::Mul)),
                Tok::Slash => (BP_MUL, Some(BinOp::Div)),
                Tok::SlashSlash => (BP_MUL, Some(BinOp::FloorDiv)),
                Tok::Percent => (BP_MUL, Some(BinOp::Mod)),
                _ => break,
            };
            if bp <= min_bp && !(bp == BP_COND && min_bp == BP_COND) {
                break;
            }
            self.next();
            let col = lhs.col;
            lhs = if t.tok == Tok::Question {
                // right-associative: `a ? b : c ? d : e` is `a ? b : (c ? d : e)`
                let then = self.expr(0)?;
                self.expect(Tok::Colon, "in conditional `c ? a : b`")?;
                let els = self.expr(BP_COND)?;
                let depth = depth(col, &[&lhs, &then, &els])?;
                Ast {
                    kind: AstKind::Cond(Box::new(lhs), Box::new(then), Box::new(els)),
                    col,
                    depth,
                }
            } else {
                let rhs = self.expr(bp)?;
                let depth = depth(col, &[&lhs, &rhs])?;
                let kind = match op {
                    Some(op) => AstKind::Binary(op, Box::new(lhs), Box::new(rhs)),
                    None if t.tok == Tok::Or => AstKind::Or(Box::new(lhs), Box::new(rhs)),
                    None => AstKind::And(Box::new(lhs), Box::new(rhs)),
                };
                Ast { kind, col, depth }
            };
        }
        Ok(lhs)
    }

    fn unary(&mut self) -> Result<Ast, SyntaxError> {
        let t = self.peek().clone();
        match t.tok {
            Tok::Not | Tok::Minus => {
                self.nesting += 1;
                if self.nesting > MAX_DEPTH {
                    return Err(too_deep(t.col));
                }
                self.next();
                // `-9223372036854775808` is only representable when the sign is part of the literal
                if t.tok == Tok::Minus {
                    if let Tok::Int(v) = self.peek().tok {
                        if v == 1u64 << 63 && !self.postfix_follows(1) {
                            self.next();
                            self.nesting -= 1;
                            return node(AstKind::Int(i64::MIN), t.col, &[]);
                        }
                    }
                }
                let inner = self.unary();
                self.nesting -= 1;
                let inner = inner?;
                let kind = if t.tok == Tok::Not {
                    AstKind::Not
                } else {
                    AstKind::Neg
                };
                let depth = depth(t.col, &[&inner])?;
                Ok(Ast {
                    kind: kind(Box::new(inner)),
                    col: t.col,
                    depth,
                })
            }
            _ => self.postfix(),
        }
    }

    fn postfix_follows(&self, ahead: usize) -> bool {
        let i = (self.pos + ahead).min(self.toks.len() - 1);
        matches!(self.toks[i].tok, Tok::Dot | Tok::LBracket)
    }

    fn postfix(&mut self) -> Result<Ast, SyntaxError> {
        let mut e = self.primary()?;
        loop {
            let t = self.peek().clone();
            match t.tok {
                Tok::Dot => {
                    self.next();
                    let n = self.next();
                    let Tok::Ident { name, .. } = n.tok else {
                        return Err(SyntaxError::new(
                            n.col,
                            format!("expected a field or method name after '.', found {}", n.tok),
                        ));
                    };
                    if self.peek().tok == Tok::LParen {
                        self.next();
                        let args = self.args(Tok::RParen, "arguments")?;
                        let refs: Vec<&Ast> = std::iter::once(&e).chain(&args).collect();
                        let (col, depth) = (e.col, depth(e.col, &refs)?);
                        e = Ast {
                            kind: AstKind::Call {
                                name,
                                recv: Some(Box::new(e)),
                                args,
                            },
                            col,
                            depth,
                        };
                    } else {
                        let (col, depth) = (e.col, depth(e.col, &[&e])?);
                        e = Ast {
                            kind: AstKind::Member(Box::new(e), name),
                            col,
                            depth,
                        };
                    }
                }
                Tok::LBracket => {
                    self.next();
                    let idx = self.expr(0)?;
                    self.expect(Tok::RBracket, "after index")?;
                    let (col, depth) = (e.col, depth(e.col, &[&e, &idx])?);
                    e = Ast {
                        kind: AstKind::Index(Box::new(e), Box::new(idx)),
                        col,
                        depth,
                    };
                }
                _ => return Ok(e),
            }
        }
    }

    /// Comma-separated expressions up to `close` (trailing comma allowed); the opener is consumed.
    fn args(&mut self, close: Tok, what: &str) -> Result<Vec<Ast>, SyntaxError> {
        let mut out = Vec::new();
        loop {
            if self.peek().tok == close {
                self.next();
                return Ok(out);
            }
            out.push(self.expr(0)?);
            let t = self.next();
            if t.tok == close {
                return Ok(out);
            }
            if t.tok != Tok::Comma {
                return Err(SyntaxError::new(
                    t.col,
                    format!("expected ',' or {close} in {what}, found {}", t.tok),
                ));
            }
        }
    }

    fn primary(&mut self) -> Result<Ast, SyntaxError> {
        let t = self.next();
        let col = t.col;
        let leaf = |kind| node(kind, col, &[]);
        match t.tok {
            Tok::Int(v) => match i64::try_from(v) {
                Ok(i) => leaf(AstKind::Int(i)),
                Err(_) => Err(SyntaxError::new(col, format!("integer {v} is too large"))),
            },
            Tok::Float(f) => leaf(AstKind::Float(f)),
            Tok::Str(s) => leaf(AstKind::Str(s)),
            Tok::True => leaf(AstKind::Bool(true)),
            Tok::False => leaf(AstKind::Bool(false)),
            Tok::Null => leaf(AstKind::Null),
            Tok::Ident { name, .. } => {
                if self.peek().tok == Tok::LParen {
                    self.next();
                    let args = self.args(Tok::RParen, "arguments")?;
                    let refs: Vec<&Ast> = args.iter().collect();
                    let depth = depth(col, &refs)?;
                    Ok(Ast {
                        kind: AstKind::Call {
                            name,
                            recv: None,
                            args,
                        },
                        col,
                        depth,
                    })
                } else {
                    leaf(AstKind::Ident(name))
                }
            }
            Tok::LParen => {
                let e = self.expr(0)?;
                self.expect(Tok::RParen, "to close '('")?;
                Ok(e)
            }
            Tok::LBracket => {
                let items = self.args(Tok::RBracket, "list")?;
                let refs: Vec<&Ast> = items.iter().collect();
                let depth = depth(col, &refs)?;
                Ok(Ast {
                    kind: AstKind::List(items),
                    col,
                    depth,
                })
            }
            Tok::LBrace => self.record(col),
            other => Err(SyntaxError::new(
                col,
                format!("expected a value, name or '(', found {other}"),
            )),
        }
    }

    fn record(&mut self, col: u32) -> Result<Ast, SyntaxError> {
        let mut fields: Vec<(String, u32, Ast)> = Vec::new();
        loop {
            let k = self.next();
            let name = match k.tok {
                Tok::RBrace => break,
                Tok::Ident { name, .. } => name,
                Tok::Str(s) => s,
                // keywords are fine as keys: {in: 1, null: 2}
                Tok::True | Tok::False | Tok::Null | Tok::In => {
                    k.tok.to_string().trim_matches('\'').to_string()
                }
                other => {
                    return Err(SyntaxError::new(
                        k.col,
                        format!("expected a field name or '}}' in record, found {other}"),
                    ))
                }
            };
            if fields.iter().any(|(n, _, _)| *n == name) {
                return Err(SyntaxError::new(
                    k.col,
                    format!("field '{name}' appears twice in the record"),
                ));
            }
            self.expect(Tok::Colon, &format!("after field name '{name}'"))?;
            let v = self.expr(0)?;
            fields.push((name, k.col, v));
            let t = self.next();
            match t.tok {
                Tok::RBrace => break,
                Tok::Comma => {}
                other => {
                    return Err(SyntaxError::new(
                        t.col,
                        format!("expected ',' or '}}' in record, found {other}"),
                    ))
                }
            }
        }
        let refs: Vec<&Ast> = fields.iter().map(|(_, _, a)| a).collect();
        let depth = depth(col, &refs)?;
        Ok(Ast {
            kind: AstKind::Record(fields),
            col,
            depth,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Renders a tree in fully parenthesised form to check precedence.
    fn show(a: &Ast) -> String {
        match &a.kind {
            AstKind::Int(i) => i.to_string(),
            AstKind::Float(f) => format!("{f:?}"),
            AstKind::Str(s) => format!("'{s}'"),
            AstKind::Bool(b) => b.to_string(),
            AstKind::Null => "null".into(),
            AstKind::Ident(n) => n.clone(),
            AstKind::List(l) => format!("[{}]", l.iter().map(show).collect::<Vec<_>>().join(", ")),
            AstKind::Record(f) => {
                format!(
                    "{{{}}}",
                    f.iter()
                        .map(|(k, _, v)| format!("{k}: {}", show(v)))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
            AstKind::Not(e) => format!("!{}", show(e)),
            AstKind::Neg(e) => format!("-{}", show(e)),
            AstKind::Binary(op, l, r) => format!("({} {} {})", show(l), op.symbol(), show(r)),
            AstKind::And(l, r) => format!("({} && {})", show(l), show(r)),
            AstKind::Or(l, r) => format!("({} || {})", show(l), show(r)),
            AstKind::Cond(c, a, b) => format!("({} ? {} : {})", show(c), show(a), show(b)),
            AstKind::Member(e, n) => format!("{}.{n}", show(e)),
            AstKind::Index(e, i) => format!("{}[{}]", show(e), show(i)),
            AstKind::Call { name, recv, args } => {
                let a = args.iter().map(show).collect::<Vec<_>>().join(", ");
                match recv {
                    Some(r) => format!("{}.{name}({a})", show(r)),
                    None => format!("{name}({a})"),
                }
            }
        }
    }

    fn p(s: &str) -> String {
        show(&parse(s).unwrap_or_else(|e| panic!("{s}: {e:?}")))
    }

    #[test]
    fn precedence_follows_cel() {
        assert_eq!(p("a || b && c"), "(a || (b && c))");
        assert_eq!(p("a && b == c"), "(a && (b == c))");
        assert_eq!(p("a + b * c - d"), "((a + (b * c)) - d)");
        assert_eq!(p("a < b + 1"), "(a < (b + 1))");
        assert_eq!(p("x in [1, 2] || y"), "((x in [1, 2]) || y)");
        assert_eq!(p("-a.b[0] * !c"), "(-a.b[0] * !c)");
        assert_eq!(p("a ? b : c ? d : e"), "(a ? b : (c ? d : e))");
        assert_eq!(p("a || b ? 1 + 2 : 3"), "((a || b) ? (1 + 2) : 3)");
        assert_eq!(p("a // b % c / d"), "(((a // b) % c) / d)");
        assert_eq!(p("(a + b) * c"), "((a + b) * c)");
        assert_eq!(p("s.contains('x')"), "s.contains('x')");
        assert_eq!(
            p("range(3).map(j, {n: j, 'x y': 1,})"),
            "range(3).map(j, {n: j, x y: 1})"
        );
        assert_eq!(p("-9223372036854775808"), "-9223372036854775808");
        assert_eq!(p("- 1"), "-1");
    }

    fn err(s: &str) -> (u32, String) {
        let e = parse(s).expect_err(s);
        (e.col, e.msg)
    }

    #[test]
    fn errors_say_where_and_what() {
        assert_eq!(
            err("a +"),
            (
                4,
                "expected a value, name or '(', found end of input".into()
            )
        );
        assert_eq!(
            err("f(a b)"),
            (5, "expected ',' or ')' in arguments, found name 'b'".into())
        );
        assert_eq!(
            err("(a"),
            (3, "expected ')' to close '(', found end of input".into())
        );
        assert_eq!(
            err("a b"),
            (
                3,
                "expected an operator or end of input, found name 'b'".into()
            )
        );
        assert_eq!(
            err("a ? b"),
            (
                6,
                "expected ':' in conditional `c ? a : b`, found end of input".into()
            )
        );
        assert_eq!(
            err("{a: 1, a: 2}"),
            (8, "field 'a' appears twice in the record".into())
        );
        assert_eq!(
            err("a.1"),
            (
                3,
                "expected a field or method name after '.', found number 1".into()
            )
        );
        assert_eq!(
            err("9223372036854775808").1,
            "integer 9223372036854775808 is too large"
        );
        assert!(err(&"(".repeat(500)).1.contains("nested too deeply"));
        assert!(err(&"-".repeat(500)).1.contains("nested too deeply"));
        assert!(err(&vec!["1"; 500].join("+"))
            .1
            .contains("nested too deeply"));
        assert!(err(&format!("a{}", ".b".repeat(500)))
            .1
            .contains("nested too deeply"));
        assert!(err(&format!("a{}", "[0]".repeat(500)))
            .1
            .contains("nested too deeply"));
    }
}
