//! Hostile input never panics: random text and token soup through the compiler, and random
//! well-formed expressions over random values through the evaluator.

use proptest::prelude::*;
use rill_core::{Record, Timestamp, Value};
use rill_expr::Expr;

const VARS: &[&str] = &["key", "state"];

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        prop_oneof![-3i64..4].prop_map(Value::Int),
        any::<f64>().prop_map(Value::Float),
        prop_oneof![Just(f64::NAN), Just(f64::INFINITY), Just(-0.0), Just(0.5)]
            .prop_map(Value::Float),
        "[a-zA-Z0-9 é]{0,30}".prop_map(|s| Value::from(s.as_str())),
        any::<i64>().prop_map(|n| Value::Time(Timestamp(n))),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::List),
            prop::collection::vec(
                (
                    prop_oneof![Just("x"), Just("y"), Just("i"), Just("a")],
                    inner
                ),
                0..4
            )
            .prop_map(|pairs| Value::Record(Record::from_pairs(pairs))),
        ]
    })
}

const TOKENS: &[&str] = &[
    "x",
    "y",
    "a",
    "i",
    "body",
    "key",
    "state",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ".",
    ":",
    "?",
    "!",
    "-",
    "+",
    "*",
    "/",
    "//",
    "%",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "&&",
    "||",
    "in",
    "0",
    "1",
    "-1",
    "2.5",
    "9223372036854775807",
    "1e308",
    "'a'",
    "\"b\"",
    "'2020-01-01'",
    "true",
    "false",
    "null",
    "has",
    "size",
    "int",
    "float",
    "string",
    "bool",
    "abs",
    "min",
    "max",
    "round",
    "floor",
    "ceil",
    "sqrt",
    "lower",
    "upper",
    "trim",
    "contains",
    "startsWith",
    "endsWith",
    "timestamp",
    "range",
    "type",
    "is_null",
    "coalesce",
    "map",
    "filter",
    "all",
    "exists",
    "exists_one",
    "`a b`",
    "'",
    "\\",
    "&",
    "|",
    "=",
    "@",
];

fn token_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..24).prop_map(|t| t.join(" "))
}

/// Well-formed expressions, so evaluation (not just parsing) gets exercised.
fn expr() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        prop::sample::select(
            &["x", "y", "a", "i", "body", "key", "state", "state.x", "body.y"][..]
        )
        .prop_map(String::from),
        prop::sample::select(
            &[
                "0",
                "1",
                "-1",
                "2.5",
                "9223372036854775807",
                "'a'",
                "'2020-01-01'",
                "true",
                "null",
                "[]",
                "{}"
            ][..]
        )
        .prop_map(String::from),
    ];
    leaf.prop_recursive(4, 40, 3, |e| {
        let bin = prop::sample::select(
            &[
                "+", "-", "*", "/", "//", "%", "==", "!=", "<", "<=", ">", ">=", "&&", "||", "in",
            ][..],
        );
        let f1 = prop::sample::select(
            &[
                "has",
                "size",
                "int",
                "float",
                "string",
                "bool",
                "abs",
                "min",
                "max",
                "round",
                "floor",
                "ceil",
                "sqrt",
                "lower",
                "upper",
                "trim",
                "timestamp",
                "range",
                "type",
                "is_null",
                "coalesce",
            ][..],
        );
        let f2 = prop::sample::select(
            &[
                "min",
                "max",
                "round",
                "contains",
                "startsWith",
                "endsWith",
                "range",
                "coalesce",
            ][..],
        );
        let mac = prop::sample::select(&["map", "filter", "all", "exists", "exists_one"][..]);
        prop_oneof![
            (e.clone(), bin, e.clone()).prop_map(|(l, op, r)| format!("({l} {op} {r})")),
            e.clone().prop_map(|x| format!("-({x})")),
            e.clone().prop_map(|x| format!("!({x})")),
            (e.clone(), e.clone(), e.clone()).prop_map(|(c, a, b)| format!("({c} ? {a} : {b})")),
            (f1, e.clone()).prop_map(|(f, x)| format!("{f}({x})")),
            (f2, e.clone(), e.clone()).prop_map(|(f, x, y)| format!("{f}({x}, {y})")),
            (e.clone(), mac, e.clone()).prop_map(|(l, m, b)| format!("({l}).{m}(i, {b})")),
            (e.clone(), e.clone()).prop_map(|(l, i)| format!("({l})[{i}]")),
            (e.clone(), e.clone()).prop_map(|(x, y)| format!("[{x}, {y}]")),
            (e.clone(), e.clone()).prop_map(|(x, y)| format!("{{x: {x}, y: {y}}}")),
            e.prop_map(|x| format!("({x}).x")),
        ]
    })
}

fn exercise(src: &str, body: &Value, key: &Value, state: &Value) {
    if let Ok(e) = Expr::compile(src, VARS) {
        let vars = [key, state];
        let _ = e.eval(body, &vars);
        let _ = e.eval_bool(body, &vars);
        let _ = e.eval_f64(body, &vars);
        let _ = e.body_fields();
        // a clone must behave the same (its caches start cold)
        let c = e.clone();
        assert_eq!(c.eval(body, &vars).ok(), e.eval(body, &vars).ok());
    }
}

fn record_body() -> impl Strategy<Value = Value> {
    prop::collection::vec(
        (
            prop_oneof![Just("x"), Just("y"), Just("a"), Just("i")],
            value(),
        ),
        0..4,
    )
    .prop_map(|pairs| Value::Record(Record::from_pairs(pairs)))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_text_never_panics(src in "\\PC{0,40}", body in value()) {
        exercise(&src, &body, &Value::Null, &Value::Null);
    }

    #[test]
    fn token_soup_never_panics(src in token_soup(), body in record_body(), key in value(), state in value()) {
        exercise(&src, &body, &key, &state);
    }

    #[test]
    fn well_formed_expressions_never_panic(src in expr(), body in record_body(), key in value(), state in record_body()) {
        exercise(&src, &body, &key, &state);
    }

    #[test]
    fn wrong_variable_counts_never_panic(src in expr(), body in value(), n in 0usize..4) {
        if let Ok(e) = Expr::compile(&src, VARS) {
            let vals = vec![Value::Int(1); n];
            let refs: Vec<&Value> = vals.iter().collect();
            let _ = e.eval(&body, &refs);
            let _ = e.eval_f64(&body, &refs);
        }
    }
}

#[test]
fn deepest_accepted_expressions_evaluate() {
    let body = Value::Record(Record::from_pairs([("x", Value::Int(1))]));
    let parens = format!("{}x{}", "(".repeat(90), ")".repeat(90));
    let negs = format!("{}x", "-".repeat(90));
    let sums = vec!["x"; 90].join(" + ");
    let conds = format!("{}x", "true ? x : ".repeat(80));
    let lists = format!("{}x{}", "[".repeat(90), "]".repeat(90));
    for src in [parens, negs, sums, conds, lists] {
        let e = Expr::compile(&src, &[]).unwrap_or_else(|e| panic!("{e}"));
        e.eval(&body, &[]).unwrap_or_else(|e| panic!("{e}"));
    }
    for src in [
        format!("{}x", "-".repeat(5000)),
        "(".repeat(5000),
        vec!["x"; 5000].join("+"),
        "[".repeat(5000),
    ] {
        let e = Expr::compile(&src, &[]).expect_err("too deep");
        assert!(
            e.to_string().contains("nested too deeply") || e.to_string().contains("expected"),
            "{e}"
        );
    }
}
