//! The numeric fast path. Arithmetic and numeric comparisons are evaluated on [`Num`] (16 bytes,
//! returned in registers) instead of `Result<Cow<Value>, _>` (returned through memory), which
//! makes `x * 2 + 1 > y` several times faster.
//!
//! The fast path never reports errors: whenever it meets something that is not a number, or an
//! operation without a number result (overflow, division by zero), it answers [`Num::No`] and the
//! caller evaluates the node again on the general path, which gives the result or the exact error
//! message. Evaluation is pure, so doing it twice changes nothing but time, and only on that
//! unusual path. Results agree by construction: both paths use [`ops::num_arith`].

use crate::eval::{body_get, eval_pred, path_ref, slot_get, Ctx};
use crate::node::Node;
use crate::ops::{self, Num};
use crate::parser::BinOp;
use std::cmp::Ordering;

/// Decided at compile time: is the fast path worth trying for `l op r`? Not when a side
/// certainly is not a number (`status == 'fail'`, `body + {…}`, `x in [1, 2]`): the attempt
/// would always fall back.
pub(crate) fn worth_trying(op: BinOp, l: &Node, r: &Node) -> bool {
    op != BinOp::In && maybe_number(l) && maybe_number(r)
}

fn maybe_number(n: &Node) -> bool {
    match n {
        Node::Const(v) => matches!(v, rill_core::Value::Int(_) | rill_core::Value::Float(_)),
        Node::Field { .. }
        | Node::Var(_)
        | Node::Local(_)
        | Node::Member { .. }
        | Node::Neg(_)
        | Node::Cond(..) => true,
        Node::Binary { op, .. } => !op.is_comparison(),
        Node::Add { fast, .. } => *fast,
        _ => false,
    }
}

/// Evaluates `node` as a number, or `No`; leaves inline (most operands are fields or
/// constants, and a call per leaf would cost more than the leaf).
#[inline(always)]
pub(crate) fn operand<'a>(node: &'a Node, cx: &Ctx<'a, '_>) -> Num {
    match node {
        Node::Const(v) => Num::of(v),
        Node::Field { slot, .. } => body_get(slot, cx.body).map_or(Num::No, Num::of),
        // `acc.count`: the record is reached by reference, the field read through its slot
        Node::Member { obj, slot, .. } => match match &**obj {
            Node::Var(i) => cx.vars.get(*i).copied(),
            o => path_ref(o, cx),
        } {
            Some(rill_core::Value::Record(r)) => slot_get(slot, r).map_or(Num::No, Num::of),
            _ => Num::No,
        },
        _ => num(node, cx),
    }
}

/// Evaluates `node` as a number, or `No`.
pub(crate) fn num<'a>(node: &'a Node, cx: &Ctx<'a, '_>) -> Num {
    match node {
        Node::Const(v) => Num::of(v),
        Node::Field { slot, .. } => slot.get_in(cx.body).map_or(Num::No, Num::of),
        Node::Var(_) | Node::Local(_) | Node::Member { .. } => {
            path_ref(node, cx).map_or(Num::No, Num::of)
        }
        Node::Binary {
            op,
            l,
            r,
            fast: true,
        } if !op.is_comparison() => ops::num_arith(*op, operand(l, cx), operand(r, cx)),
        Node::Add {
            l, r, fast: true, ..
        } => ops::num_arith(BinOp::Add, operand(l, cx), operand(r, cx)),
        Node::Neg(e) => match operand(e, cx) {
            Num::Int(i) => i.checked_neg().map_or(Num::No, Num::Int),
            Num::Float(f) => Num::Float(-f),
            Num::No => Num::No,
        },
        Node::Cond(c, a, b) => match eval_pred(c, cx, "") {
            Ok(true) => operand(a, cx),
            Ok(false) => operand(b, cx),
            Err(_) => Num::No,
        },
        _ => Num::No,
    }
}

/// A comparison of two numbers, as the general path computes it (`1 == 1.0`; NaN equals NaN
/// for `==`, as [`rill_core::Value`]'s equality does, and makes every ordering false).
/// `None` when either side is `No`.
#[inline]
pub(crate) fn num_compare(op: BinOp, a: Num, b: Num) -> Option<bool> {
    let ord = match (a, b) {
        (Num::No, _) | (_, Num::No) => return None,
        (Num::Int(x), Num::Int(y)) => Some(x.cmp(&y)),
        (Num::Float(x), Num::Float(y)) if op == BinOp::Eq || op == BinOp::Ne => {
            let eq = x == y || (x.is_nan() && y.is_nan());
            return Some(eq == (op == BinOp::Eq));
        }
        (x, y) => to_f64(x).partial_cmp(&to_f64(y)),
    };
    Some(match op {
        BinOp::Eq => ord == Some(Ordering::Equal),
        BinOp::Ne => ord != Some(Ordering::Equal),
        BinOp::Lt => ord.is_some_and(Ordering::is_lt),
        BinOp::Le => ord.is_some_and(Ordering::is_le),
        BinOp::Gt => ord.is_some_and(Ordering::is_gt),
        BinOp::Ge => ord.is_some_and(Ordering::is_ge),
        _ => return None,
    })
}

fn to_f64(n: Num) -> f64 {
    match n {
        Num::Int(i) => i as f64,
        Num::Float(f) => f,
        Num::No => f64::NAN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rill_core::Value;

    /// The fast comparison agrees with the general one on every pair of interesting numbers.
    #[test]
    fn fast_comparison_agrees_with_general() {
        let nums = [
            Value::Int(0),
            Value::Int(1),
            Value::Int(-1),
            Value::Int(i64::MAX),
            Value::Int(i64::MIN),
            Value::Float(1.0),
            Value::Float(-0.0),
            Value::Float(0.5),
            Value::Float(f64::NAN),
            Value::Float(f64::INFINITY),
            Value::Float(9.223372036854776e18),
        ];
        for op in [
            BinOp::Eq,
            BinOp::Ne,
            BinOp::Lt,
            BinOp::Le,
            BinOp::Gt,
            BinOp::Ge,
        ] {
            for a in &nums {
                for b in &nums {
                    let general = ops::binary(op, a, b).ok();
                    let fast = num_compare(op, Num::of(a), Num::of(b)).map(Value::Bool);
                    assert_eq!(fast, general, "{a:?} {} {b:?}", op.symbol());
                }
            }
        }
    }

    fn clear_fast(n: &mut Node) {
        match n {
            Node::Binary { l, r, fast, .. } | Node::Add { l, r, fast, .. } => {
                *fast = false;
                clear_fast(l);
                clear_fast(r);
            }
            Node::Neg(e) | Node::Not(e) => clear_fast(e),
            Node::And(l, r) | Node::Or(l, r) => {
                clear_fast(l);
                clear_fast(r);
            }
            _ => {}
        }
    }

    fn arith_expr() -> impl Strategy<Value = String> {
        let leaf = prop::sample::select(
            &[
                "a",
                "b",
                "c",
                "0",
                "1",
                "-2",
                "3.5",
                "0.0",
                "9223372036854775807",
            ][..],
        )
        .prop_map(String::from);
        leaf.prop_recursive(4, 24, 2, |e| {
            let op = prop::sample::select(
                &[
                    "+", "-", "*", "/", "//", "%", "<", "<=", ">", ">=", "==", "!=",
                ][..],
            );
            prop_oneof![
                (e.clone(), op, e.clone()).prop_map(|(l, o, r)| format!("({l} {o} {r})")),
                e.prop_map(|x| format!("-({x})")),
            ]
        })
    }

    proptest! {
        /// With and without the fast path, every expression gives the same value or error.
        #[test]
        fn fast_path_agrees_with_general_path(
            src in arith_expr(),
            a in prop_oneof![any::<i64>().prop_map(Value::Int), (-3i64..4).prop_map(Value::Int)],
            b in any::<f64>().prop_map(Value::Float),
            c in prop_oneof![(-3i64..4).prop_map(Value::Int), Just(Value::Float(f64::NAN)), Just(Value::Null)],
        ) {
            let Ok(fast) = crate::Expr::compile(&src, &[]) else { return Ok(()) };
            let mut slow = fast.clone();
            clear_fast(&mut slow.root);
            let body = Value::Record(rill_core::Record::from_pairs([("a", a), ("b", b), ("c", c)]));
            let (x, y) = (fast.eval(&body, &[]), slow.eval(&body, &[]));
            prop_assert_eq!(x.as_ref().ok(), y.as_ref().ok(), "{}", src);
            prop_assert_eq!(x.err().map(|e| e.to_string()), y.err().map(|e| e.to_string()));
            // (as Values, whose equality counts NaN equal to NaN)
            let f64s = |e: &crate::Expr| e.eval_f64(&body, &[]).ok().map(|v| v.map(Value::Float));
            prop_assert_eq!(f64s(&fast), f64s(&slow));
            prop_assert_eq!(fast.eval_bool(&body, &[]).ok(), slow.eval_bool(&body, &[]).ok());
        }
    }
}
