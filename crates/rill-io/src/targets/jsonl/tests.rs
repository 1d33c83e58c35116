use super::*;
use crate::sources::jsonl::{JsonlSource, JsonlSourceConfig};
use crate::testutil::{drain, events, run_target, s};
use rill_core::{Record, Timestamp, Value};
use rill_flow::{Cx, Step};

#[test]
fn round_trip_through_the_jsonl_source() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/out.jsonl");
    let evs = events();
    let passed = run_target(
        &mut JsonlTarget::new(JsonlTargetConfig::new(s(&path))).unwrap(),
        evs.clone(),
    );
    assert_eq!(passed.len(), 3);
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        text.lines().next().unwrap(),
        r#"{"time":"2020-07-21T21:40:00+00:00","user":"u1","click":1,"amount":1.0,"ok":true,"note":"plain"}"#
    );
    assert!(text.lines().nth(2).unwrap().contains(r#""amount":NaN,"#));
    let mut cfg = JsonlSourceConfig::new(s(&path));
    cfg.key = Some("user".into());
    cfg.time = Some("time".into());
    let back = drain(&mut JsonlSource::new(cfg).unwrap());
    assert!(back.rejects.is_empty());
    for (a, b) in evs.iter().zip(&back.events).take(2) {
        assert_eq!(a.body, b.body);
        assert_eq!((&a.key, a.time), (&b.key, b.time));
    }
    // NaN comes back as a float NaN (NaN != NaN, so the third body is compared by hand)
    assert!(matches!(back.events[2].body.get("amount"), Some(Value::Float(f)) if f.is_nan()));
}

#[test]
fn non_finite_floats_round_trip_as_bare_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nf.jsonl");
    let body = Record::from_pairs([
        ("nan", Value::Float(f64::NAN)),
        ("inf", Value::Float(f64::INFINITY)),
        ("neg", Value::Float(f64::NEG_INFINITY)),
        ("text", Value::from("NaN")),
        (
            "nested",
            Value::List(vec![Value::Float(f64::INFINITY), Value::Float(-0.5)]),
        ),
    ]);
    run_target(
        &mut JsonlTarget::new(JsonlTargetConfig::new(s(&path))).unwrap(),
        vec![Event::new(body)],
    );
    // Python's json module writes (and reads) the same tokens
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "{\"nan\":NaN,\"inf\":Infinity,\"neg\":-Infinity,\"text\":\"NaN\",\"nested\":[Infinity,-0.5]}\n"
    );
    let back = drain(&mut JsonlSource::new(JsonlSourceConfig::new(s(&path))).unwrap());
    assert!(
        back.rejects.is_empty(),
        "{:?}",
        crate::testutil::reject_messages(&back)
    );
    let b = &back.events[0].body;
    assert!(matches!(b.get("nan"), Some(Value::Float(f)) if f.is_nan()));
    assert_eq!(b.get("inf"), Some(&Value::Float(f64::INFINITY)));
    assert_eq!(b.get("neg"), Some(&Value::Float(f64::NEG_INFINITY)));
    // a string stays a string
    assert_eq!(b.get("text"), Some(&Value::from("NaN")));
    assert_eq!(
        b.get("nested"),
        Some(&Value::List(vec![
            Value::Float(f64::INFINITY),
            Value::Float(-0.5)
        ]))
    );
}

#[test]
fn columns_select_and_rename() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.jsonl");
    let mut cfg = JsonlTargetConfig::new(s(&path));
    cfg.columns = Some(vec![
        "who=$key".into(),
        "$time".into(),
        "c=click".into(),
        "$id".into(),
    ]);
    run_target(&mut JsonlTarget::new(cfg).unwrap(), events()[..1].to_vec());
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "{\"who\":\"u1\",\"time\":\"2020-07-21T21:40:00+00:00\",\"c\":1,\"id\":\"id0\"}\n"
    );
}

#[test]
fn bodies_of_any_shape_and_batched_flushes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.jsonl");
    let mut cfg = JsonlTargetConfig::new(s(&path));
    cfg.max_events = 2;
    let mut tgt = JsonlTarget::new(cfg).unwrap();
    let mut cx = Cx::new(Timestamp(0));
    // until termination the lines go to the partial file; the target path does not exist
    let partial = crate::targets::partial_path(&path);
    let lines = || {
        std::fs::read_to_string(&partial)
            .map(|t| t.lines().count())
            .unwrap_or(0)
    };
    tgt.process(
        Event::new(Record::from_pairs([("a", Value::Int(1))])),
        &mut cx,
    )
    .unwrap();
    assert_eq!(lines(), 0);
    tgt.process(
        Event::new(Record::from_pairs([("b", Value::Int(2))])),
        &mut cx,
    )
    .unwrap();
    assert_eq!(lines(), 2);
    tgt.process(Event::new(Value::List(vec![Value::Int(3)])), &mut cx)
        .unwrap();
    assert_eq!(cx.take_outputs().len(), 3, "events are passed on");
    assert!(!path.exists());
    tgt.terminate(&mut cx).unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "{\"a\":1}\n{\"b\":2}\n[3]\n"
    );
    assert!(!partial.exists());
}

#[test]
fn a_record_with_duplicate_field_names_is_an_error_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.jsonl");
    let mut tgt = JsonlTarget::new(JsonlTargetConfig::new(s(&path))).unwrap();
    let mut cx = Cx::new(Timestamp(0));
    let dup = crate::testutil::duplicate_field_event();
    let f = tgt.process(dup.clone(), &mut cx).unwrap_err();
    let want = format!(
        "writing '{}', record 2: duplicate field name 'click' (fields 3 and 4)",
        s(&path)
    );
    assert_eq!(f.error.to_string(), want);
    // also inside another record, and through `columns`
    let mut nested = Event::new(Record::from_pairs([("inner", dup.body.clone())]));
    nested.offset = 2;
    assert_eq!(
        tgt.process(nested, &mut cx).unwrap_err().error.to_string(),
        format!("{want} in field 'inner'")
    );
    // (another file: two targets on one path would share one partial file)
    let other = dir.path().join("d2.jsonl");
    let mut cfg = JsonlTargetConfig::new(s(&other));
    cfg.columns = Some(vec!["click".into()]);
    let f = JsonlTarget::new(cfg)
        .unwrap()
        .process(dup, &mut cx)
        .unwrap_err();
    assert_eq!(f.error.to_string(), want.replace("d.jsonl", "d2.jsonl"));
    tgt.terminate(&mut cx).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
}
