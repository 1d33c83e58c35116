//! The language as users see it: every operator, function and error class, through the public API.

use rill_core::{Error, Record, Timestamp, Value};
use rill_expr::Expr;

fn rec(pairs: Vec<(&str, Value)>) -> Value {
    Value::Record(Record::from_pairs(pairs))
}

fn list(items: Vec<Value>) -> Value {
    Value::List(items)
}

fn s(x: &str) -> Value {
    Value::from(x)
}

fn body() -> Value {
    rec(vec![
        ("activity_status", s("fail")),
        ("x", Value::Int(3)),
        ("y", Value::Float(2.5)),
        ("s", s("Hello World")),
        ("n", Value::Int(3)),
        ("j", Value::Int(2)),
        ("tags", list(vec![s("a"), s("b")])),
        (
            "user",
            rec(vec![("name", s("ann")), ("age", Value::Int(30))]),
        ),
        ("nothing", Value::Null),
        ("flag", Value::Bool(true)),
        ("t", Value::Time(Timestamp::from_secs(1_600_000_000))),
        ("odd name", Value::Int(7)),
    ])
}

const VARS: &[&str] = &["key", "state"];

fn run(src: &str) -> Result<Value, Error> {
    let e = Expr::compile(src, VARS)?;
    let state = rec(vec![("count", Value::Int(4)), ("sum", Value::Float(1.5))]);
    e.eval(&body(), &[&s("k1"), &state])
}

fn ev(src: &str) -> Value {
    run(src).unwrap_or_else(|e| panic!("{src}: {e}"))
}

/// The reason of an evaluation or compile error.
fn reason(src: &str) -> String {
    match run(src) {
        Err(Error::Expr { expr, reason }) => {
            assert_eq!(expr, src);
            reason
        }
        other => panic!("{src}: expected an expression error, got {other:?}"),
    }
}

#[test]
fn literals() {
    assert_eq!(ev("42"), Value::Int(42));
    assert_eq!(ev("-42"), Value::Int(-42));
    assert_eq!(ev("0x10"), Value::Int(16));
    assert_eq!(ev("2.5e1"), Value::Float(25.0));
    assert_eq!(ev("'it\\'s'"), s("it's"));
    assert_eq!(ev("\"tab\\there\""), s("tab\there"));
    assert_eq!(ev("r'\\d+'"), s("\\d+"));
    assert_eq!(ev("true"), Value::Bool(true));
    assert_eq!(ev("false"), Value::Bool(false));
    assert_eq!(ev("null"), Value::Null);
    assert_eq!(
        ev("[1, 'a', [true]]"),
        list(vec![Value::Int(1), s("a"), list(vec![Value::Bool(true)])])
    );
    let r = ev("{b: 1, 'a b': x, c: null}");
    let Value::Record(r) = r else { panic!() };
    assert_eq!(r.schema().names(), ["b", "a b", "c"], "key order is kept");
    assert_eq!(r.values(), [Value::Int(1), Value::Int(3), Value::Null]);
    assert_eq!(ev("{}"), rec(vec![]));
}

#[test]
fn names_fields_and_variables() {
    assert_eq!(ev("activity_status"), s("fail"));
    assert_eq!(ev("body.activity_status"), s("fail"));
    assert_eq!(ev("body['odd name']"), Value::Int(7));
    assert_eq!(ev("`odd name`"), Value::Int(7));
    assert_eq!(ev("user.name"), s("ann"));
    assert_eq!(ev("user['age']"), Value::Int(30));
    assert_eq!(
        ev("key"),
        s("k1"),
        "a bound variable wins over a body field"
    );
    assert_eq!(ev("state.count + 1"), Value::Int(5));
    assert_eq!(ev("tags[0]"), s("a"));
    assert_eq!(ev("tags[-1]"), s("b"));
    assert_eq!(ev("[10, 20, 30][1]"), Value::Int(20));
    assert_eq!(ev("{a: {b: 5}}.a.b"), Value::Int(5));
    assert_eq!(ev("{a: 1}['a']"), Value::Int(1));
    assert_eq!(ev("body").get("x"), Some(&Value::Int(3)));
}

#[test]
fn arithmetic() {
    assert_eq!(ev("x * 2 + 1"), Value::Int(7));
    assert_eq!(ev("x - 5"), Value::Int(-2));
    assert_eq!(ev("x + y"), Value::Float(5.5));
    assert_eq!(ev("7 / 2"), Value::Float(3.5), "/ is true division");
    assert_eq!(ev("6 / 3"), Value::Float(2.0));
    assert_eq!(ev("7 // 2"), Value::Int(3));
    assert_eq!(ev("-7 // 2"), Value::Int(-4), "// floors");
    assert_eq!(ev("7.5 // 2"), Value::Float(3.0));
    assert_eq!(ev("7 % 3"), Value::Int(1));
    assert_eq!(ev("-7 % 3"), Value::Int(2), "% takes the divisor's sign");
    assert_eq!(ev("5.5 % 2"), Value::Float(1.5));
    assert_eq!(ev("-x"), Value::Int(-3));
    assert_eq!(ev("-y"), Value::Float(-2.5));
    assert_eq!(ev("2 + 3 * 4 - 1"), Value::Int(13));
    assert_eq!(ev("(2 + 3) * 4"), Value::Int(20));
    assert_eq!(ev("'a' + 'b' + s"), s("abHello World"));
    assert_eq!(ev("tags + ['c']"), list(vec![s("a"), s("b"), s("c")]));
    assert_eq!(
        ev("[1] + [2] + [3]"),
        list(vec![Value::Int(1), Value::Int(2), Value::Int(3)])
    );
}

#[test]
fn record_merge() {
    let Value::Record(r) = ev("body + {j10: body.j * 10, x: 'new'}") else {
        panic!()
    };
    let names: Vec<&str> = r.schema().names().iter().map(|n| n.as_str()).collect();
    assert_eq!(names[0], "activity_status");
    assert_eq!(names.last(), Some(&"j10"), "new fields are appended");
    assert_eq!(r.get("x"), Some(&s("new")), "the right side wins");
    assert_eq!(r.get("j10"), Some(&Value::Int(20)));
    assert_eq!(r.len(), 13);
    assert_eq!(
        ev("{a: 1, b: 2} + {b: 3} + {c: 4}"),
        rec(vec![
            ("a", Value::Int(1)),
            ("b", Value::Int(3)),
            ("c", Value::Int(4))
        ])
    );
    // the same expression over many events reuses its cached output schema
    let e = Expr::compile("body + {z: x}", &[]).unwrap();
    let a = e.eval(&body(), &[]).unwrap();
    let b = e.eval(&body(), &[]).unwrap();
    assert_eq!(a, b);
    let other = rec(vec![("x", Value::Int(1))]);
    assert_eq!(
        e.eval(&other, &[]).unwrap(),
        rec(vec![("x", Value::Int(1)), ("z", Value::Int(1))])
    );
}

#[test]
fn comparisons_and_logic() {
    assert_eq!(ev("activity_status == 'fail'"), Value::Bool(true));
    assert_eq!(ev("activity_status != 'fail'"), Value::Bool(false));
    assert_eq!(
        ev("x == 3.0"),
        Value::Bool(true),
        "int and float compare by value"
    );
    assert_eq!(
        ev("x == '3'"),
        Value::Bool(false),
        "different types are unequal, not an error"
    );
    assert_eq!(ev("nothing == null"), Value::Bool(true));
    assert_eq!(ev("x < 4 && x <= 3 && x > 2 && x >= 3"), Value::Bool(true));
    assert_eq!(ev("y < x"), Value::Bool(true));
    assert_eq!(ev("'abc' < 'abd'"), Value::Bool(true));
    assert_eq!(
        ev("t > timestamp('2020-01-01T00:00:00Z')"),
        Value::Bool(true)
    );
    assert_eq!(ev("t < timestamp('2020-01-01')"), Value::Bool(false));
    assert_eq!(ev("false < true"), Value::Bool(true));
    assert_eq!(ev("[1, 2] == [1, 2.0]"), Value::Bool(true));
    assert_eq!(
        ev("true || x / 0 > 1"),
        Value::Bool(true),
        "|| short-circuits"
    );
    assert_eq!(
        ev("false && x / 0 > 1"),
        Value::Bool(false),
        "&& short-circuits"
    );
    assert_eq!(ev("!flag"), Value::Bool(false));
    assert_eq!(ev("!(x > 5) || false"), Value::Bool(true));
    assert_eq!(ev("x > 2 ? 'big' : 'small'"), s("big"));
    assert_eq!(ev("x > 5 ? 'big' : x > 2 ? 'mid' : 'small'"), s("mid"));
    assert_eq!(ev("'a' in tags"), Value::Bool(true));
    assert_eq!(ev("'z' in tags"), Value::Bool(false));
    assert_eq!(ev("3 in [1, 2, 3.0]"), Value::Bool(true));
    assert_eq!(ev("'name' in user"), Value::Bool(true));
    assert_eq!(ev("'World' in s"), Value::Bool(true));
}

#[test]
fn presence_and_null_functions() {
    assert_eq!(ev("has(x)"), Value::Bool(true));
    assert_eq!(ev("has(body.x)"), Value::Bool(true));
    assert_eq!(ev("has(missing)"), Value::Bool(false));
    assert_eq!(
        ev("has(nothing)"),
        Value::Bool(false),
        "null counts as absent"
    );
    assert_eq!(ev("has(user.name)"), Value::Bool(true));
    assert_eq!(ev("has(user.email)"), Value::Bool(false));
    assert_eq!(ev("has(x.y.z)"), Value::Bool(false), "has() never fails");
    assert_eq!(ev("has(tags[5])"), Value::Bool(false));
    assert_eq!(ev("has(state.count)"), Value::Bool(true));
    assert_eq!(ev("has(missing) && missing > 1"), Value::Bool(false));
    assert_eq!(ev("is_null(nothing)"), Value::Bool(true));
    assert_eq!(ev("is_null(missing)"), Value::Bool(true));
    assert_eq!(ev("is_null(x)"), Value::Bool(false));
    assert_eq!(ev("coalesce(missing, nothing, x, 9)"), Value::Int(3));
    assert_eq!(ev("coalesce(missing, nothing)"), Value::Null);
    assert_eq!(ev("coalesce(user.email, 'none')"), s("none"));
}

#[test]
fn conversion_functions() {
    assert_eq!(ev("int(2.9)"), Value::Int(2));
    assert_eq!(ev("int(-2.9)"), Value::Int(-2));
    assert_eq!(ev("int(' 42 ')"), Value::Int(42));
    assert_eq!(ev("int(true)"), Value::Int(1));
    assert_eq!(ev("int(t)"), Value::Int(1_600_000_000));
    assert_eq!(ev("float(x)"), Value::Float(3.0));
    assert_eq!(ev("double('2.5')"), Value::Float(2.5));
    assert_eq!(ev("float(false)"), Value::Float(0.0));
    assert_eq!(ev("string(x)"), s("3"));
    assert_eq!(ev("string(2.0)"), s("2.0"));
    assert_eq!(ev("string(null)"), s("null"));
    assert_eq!(ev("string(t)"), s("2020-09-13T12:26:40+00:00"));
    assert_eq!(ev("string([1, 'a'])"), s("[1,\"a\"]"));
    assert_eq!(ev("bool('true')"), Value::Bool(true));
    assert_eq!(ev("bool('0')"), Value::Bool(false));
    assert_eq!(ev("bool(2)"), Value::Bool(true));
    assert_eq!(ev("type(x)"), s("int"));
    assert_eq!(ev("x.type()"), s("int"));
    assert_eq!(
        ev("timestamp('2020-09-13T12:26:40Z') == t"),
        Value::Bool(true)
    );
    assert_eq!(ev("timestamp(1600000000) == t"), Value::Bool(true));
}

#[test]
fn numeric_functions() {
    assert_eq!(ev("abs(-3)"), Value::Int(3));
    assert_eq!(ev("abs(-2.5)"), Value::Float(2.5));
    assert_eq!(ev("min(3, 1, 2)"), Value::Int(1));
    assert_eq!(ev("max(3, 1.5, 2)"), Value::Int(3));
    assert_eq!(ev("max(x, y)"), Value::Int(3));
    assert_eq!(ev("min([4, 2, 8])"), Value::Int(2));
    assert_eq!(ev("max(['a', 'c', 'b'])"), s("c"));
    assert_eq!(ev("round(2.5)"), Value::Float(3.0), "half away from zero");
    assert_eq!(ev("round(-2.5)"), Value::Float(-3.0));
    assert_eq!(ev("round(x)"), Value::Int(3));
    assert_eq!(ev("round(2.71828, 2)"), Value::Float(2.72));
    assert_eq!(ev("floor(2.7)"), Value::Float(2.0));
    assert_eq!(ev("ceil(2.1)"), Value::Float(3.0));
    assert_eq!(ev("floor(x)"), Value::Int(3));
    assert_eq!(ev("sqrt(16)"), Value::Float(4.0));
    assert_eq!(ev("size(tags)"), Value::Int(2));
}

#[test]
fn string_functions() {
    assert_eq!(ev("size(s)"), Value::Int(11));
    assert_eq!(ev("size('héllo')"), Value::Int(5), "size counts characters");
    assert_eq!(ev("size(user)"), Value::Int(2));
    assert_eq!(ev("s.lower()"), s("hello world"));
    assert_eq!(ev("upper(s)"), s("HELLO WORLD"));
    assert_eq!(ev("'  a '.trim()"), s("a"));
    assert_eq!(ev("s.contains('lo W')"), Value::Bool(true));
    assert_eq!(ev("contains(tags, 'b')"), Value::Bool(true));
    assert_eq!(ev("s.startsWith('Hell')"), Value::Bool(true));
    assert_eq!(ev("s.endsWith('World')"), Value::Bool(true));
    assert_eq!(ev("starts_with(s, 'World')"), Value::Bool(false));
    assert_eq!(ev("ends_with(s, 'Hello')"), Value::Bool(false));
}

#[test]
fn list_macros() {
    assert_eq!(
        ev("range(3)"),
        list(vec![Value::Int(0), Value::Int(1), Value::Int(2)])
    );
    assert_eq!(ev("range(2, 4)"), list(vec![Value::Int(2), Value::Int(3)]));
    assert_eq!(ev("range(-1)"), list(vec![]));
    assert_eq!(
        ev("range(n).map(i, i * i)"),
        list(vec![Value::Int(0), Value::Int(1), Value::Int(4)])
    );
    assert_eq!(
        ev("range(5).map(i, i % 2 == 0, i * 10)"),
        list(vec![Value::Int(0), Value::Int(20), Value::Int(40)])
    );
    assert_eq!(
        ev("range(5).filter(i, i > 2)"),
        list(vec![Value::Int(3), Value::Int(4)])
    );
    assert_eq!(ev("tags.all(t, size(t) == 1)"), Value::Bool(true));
    assert_eq!(ev("tags.exists(t, t == 'b')"), Value::Bool(true));
    assert_eq!(ev("tags.exists(t, t == 'z')"), Value::Bool(false));
    assert_eq!(ev("[1, 2, 3].exists_one(v, v > 2)"), Value::Bool(true));
    assert_eq!(ev("[].all(v, v)"), Value::Bool(true));
    // storey's flat_map list comprehension
    assert_eq!(
        ev("range(body.n).map(j, {n: body.n, j: j})"),
        list(
            (0..3)
                .map(|j| rec(vec![("n", Value::Int(3)), ("j", Value::Int(j))]))
                .collect()
        )
    );
    // nested macros see their own and outer loop variables, and shadow field names
    assert_eq!(
        ev("range(2).map(x, range(2).map(j, x * 10 + j))"),
        list(vec![
            list(vec![Value::Int(0), Value::Int(1)]),
            list(vec![Value::Int(10), Value::Int(11)])
        ])
    );
    assert_eq!(ev("[user].map(u, u.name)"), list(vec![s("ann")]));
}

#[test]
fn missing_fields_are_errors() {
    assert_eq!(reason("missing == 1"), "field 'missing' is missing");
    assert_eq!(reason("body.missing"), "field 'missing' is missing");
    assert_eq!(reason("user.email"), "field 'user.email' is missing");
    assert_eq!(reason("state.nope"), "field 'state.nope' is missing");
    assert_eq!(reason("user['email']"), "field 'user.email' is missing");
    assert_eq!(reason("body['nope']"), "field 'nope' is missing");
    assert_eq!(
        reason("[user].map(u, u.email)"),
        "field 'u.email' is missing"
    );
}

#[test]
fn type_errors_name_both_sides() {
    assert_eq!(
        reason("activity_status > 3"),
        "cannot compare string 'fail' with int 3"
    );
    assert_eq!(reason("nothing > 3"), "cannot compare null with int 3");
    assert_eq!(reason("s + 1"), "cannot add string 'Hello World' and int 1");
    assert_eq!(reason("tags * 2"), "cannot multiply list of 2 by int 2");
    assert_eq!(reason("x / 'a'"), "cannot divide int 3 by string 'a'");
    assert_eq!(
        reason("x % nothing"),
        "cannot take the modulo of int 3 by null"
    );
    assert_eq!(reason("flag + 1"), "cannot add bool true and int 1");
    assert_eq!(reason("-s"), "cannot negate string 'Hello World'");
    assert_eq!(reason("!x"), "'!' needs a bool, got int 3");
    assert_eq!(reason("x && true"), "'&&' needs a bool, got int 3");
    assert_eq!(
        reason("false || s"),
        "'||' needs a bool, got string 'Hello World'"
    );
    assert_eq!(
        reason("x ? 1 : 2"),
        "the condition of '? :' needs a bool, got int 3"
    );
    assert_eq!(reason("x.name"), "cannot read field 'name' of int 3");
    assert_eq!(reason("x[0]"), "cannot index int 3 (x) with int 0");
    assert_eq!(reason("tags[2]"), "index 2 is out of range for a list of 2");
    assert_eq!(reason("1 in x"), "cannot look for int 1 in int 3");
    assert_eq!(reason("x.map(i, i)"), "map() needs a list, got int 3");
    assert_eq!(
        reason("tags.filter(t, 1)"),
        "the expression of filter() needs a bool, got int 1"
    );
    assert_eq!(
        reason("size(x)"),
        "size() needs a string, list or record, got int 3"
    );
    assert_eq!(
        reason("int(s)"),
        "cannot convert string 'Hello World' to int"
    );
    assert_eq!(reason("float(tags)"), "cannot convert list of 2 to float");
    assert_eq!(
        reason("bool(activity_status)"),
        "cannot convert string 'fail' to bool"
    );
    assert_eq!(reason("int(nothing)"), "cannot convert null to int");
    assert_eq!(
        reason("abs(s)"),
        "abs() needs a number, got string 'Hello World'"
    );
    assert_eq!(reason("sqrt(x - 4)"), "sqrt() of a negative number (-1)");
    assert_eq!(reason("lower(x)"), "lower() needs a string, got int 3");
    assert_eq!(
        reason("s.startsWith(1)"),
        "startsWith() needs two strings, got string 'Hello World' and int 1"
    );
    assert_eq!(
        reason("min(x, s)"),
        "cannot compare string 'Hello World' with int 3"
    );
    assert_eq!(
        reason("max(tags.filter(t, false))"),
        "max() of an empty list"
    );
    assert_eq!(
        reason("round(y, 'a')"),
        "round() needs an int number of digits, got string 'a'"
    );
    assert_eq!(reason("range(y)"), "range() needs ints, got float 2.5");
    assert_eq!(
        reason("timestamp(s)"),
        "'Hello World' is not an ISO-8601 timestamp"
    );
}

#[test]
fn arithmetic_errors() {
    assert_eq!(reason("x / 0"), "division by zero");
    assert_eq!(reason("x // (j - 2)"), "division by zero");
    assert_eq!(reason("y / 0.0"), "division by zero");
    assert_eq!(reason("x % 0"), "modulo by zero");
    assert_eq!(
        reason("x * 9223372036854775807"),
        "integer overflow in 3 * 9223372036854775807"
    );
    assert_eq!(
        reason("-((-9223372036854775807 - 1) * (x - 2))"),
        "integer overflow in -(-9223372036854775808)"
    );
    assert_eq!(
        reason("abs((-9223372036854775807 - 1) * (x - 2))"),
        "integer overflow in abs(-9223372036854775808)"
    );
    assert_eq!(
        reason("range(n + 10000000)"),
        "evaluation is too large (more than 10000000 elements or iterations)"
    );
    assert_eq!(
        reason("range(n * 1000).map(i, range(n * 1000).map(j, 1))"),
        "evaluation is too large (more than 10000000 elements or iterations)"
    );
}

#[test]
fn compile_errors_point_at_a_column() {
    assert_eq!(
        reason("x +"),
        "column 4: expected a value, name or '(', found end of input"
    );
    assert_eq!(
        reason("x = 1"),
        "column 3: unexpected '=' (use '==' to compare)"
    );
    assert_eq!(reason("foo(x)"), "column 1: unknown function 'foo'");
    assert_eq!(
        reason("x + size(1, 2)"),
        "column 5: size() takes 1 argument, got 2"
    );
    assert_eq!(
        reason("{a: 1 b: 2}"),
        "column 7: expected ',' or '}' in record, found name 'b'"
    );
    assert_eq!(
        reason("x > 1 / 0"),
        "column 5: this part always fails: division by zero"
    );
    assert_eq!(
        reason("x > timestamp('never')"),
        "column 5: this part always fails: 'never' is not an ISO-8601 timestamp"
    );
    assert_eq!(reason("'abc"), "column 1: unterminated string");
}

#[test]
fn eval_bool_for_filters() {
    let b = body();
    let t = |src: &str| Expr::compile(src, &[]).unwrap().eval_bool(&b, &[]);
    assert!(t("activity_status == 'fail'").unwrap());
    assert!(!t("x > 10").unwrap());
    assert!(!t("nothing").unwrap(), "null counts as false");
    assert_eq!(
        t("x").unwrap_err().to_string(),
        "expression `x`: expected a bool, got int 3"
    );
    assert_eq!(
        t("missing").unwrap_err().to_string(),
        "expression `missing`: field 'missing' is missing"
    );
}

#[test]
fn eval_f64_for_aggregations() {
    let b = body();
    let f = |src: &str| Expr::compile(src, &[]).unwrap().eval_f64(&b, &[]);
    assert_eq!(f("x").unwrap(), Some(3.0));
    assert_eq!(f("y * 2").unwrap(), Some(5.0));
    assert_eq!(f("flag").unwrap(), Some(1.0));
    assert_eq!(f("nothing").unwrap(), None);
    assert_eq!(f("missing").unwrap(), None);
    assert_eq!(
        f("missing * 2").unwrap(),
        None,
        "a missing input means no value"
    );
    assert_eq!(
        f("s").unwrap_err().to_string(),
        "expression `s`: expected a number, got string 'Hello World'"
    );
    assert_eq!(
        f("nothing * 2").unwrap_err().to_string(),
        "expression `nothing * 2`: cannot multiply null by int 2"
    );
}

#[test]
fn eval_cow_borrows_fields() {
    let b = body();
    let e = Expr::compile("s", &[]).unwrap();
    assert!(matches!(
        e.eval_cow(&b, &[]).unwrap(),
        std::borrow::Cow::Borrowed(_)
    ));
    let e = Expr::compile("key", &["key"]).unwrap();
    let k = s("k");
    assert!(matches!(e.eval_cow(&b, &[&k]).unwrap(), std::borrow::Cow::Borrowed(v) if *v == k));
}

#[test]
fn introspection() {
    let e = Expr::compile(
        "a + body.b + body['c'] + key + a + range(1).map(d, d)[0]",
        &["key"],
    )
    .unwrap();
    assert_eq!(e.body_fields(), ["a", "b", "c"]);
    assert_eq!(
        e.source(),
        "a + body.b + body['c'] + key + a + range(1).map(d, d)[0]"
    );
    assert_eq!(
        Expr::compile("1 + 2", &[]).unwrap().as_constant(),
        Some(&Value::Int(3))
    );
    assert_eq!(Expr::compile("x", &[]).unwrap().as_constant(), None);
}

#[test]
fn non_record_bodies() {
    let e = Expr::compile("body * 2", &[]).unwrap();
    assert_eq!(e.eval(&Value::Int(21), &[]).unwrap(), Value::Int(42));
    let e = Expr::compile("x", &[]).unwrap();
    assert_eq!(
        e.eval(&Value::Int(1), &[]).unwrap_err().to_string(),
        "expression `x`: cannot read field 'x': the body is int 1, not a record"
    );
    assert_eq!(
        Expr::compile("has(x)", &[])
            .unwrap()
            .eval(&Value::Int(1), &[])
            .unwrap(),
        Value::Bool(false)
    );
}
