use super::*;
use crate::testutil::{drain, field, reject_messages, s, t, write};

#[test]
fn objects_become_events_with_key_time_id_and_shared_schema() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "e.jsonl",
        concat!(
            r#"{"ts": "2020-07-21T23:40:00+02:00", "user": "u1", "n": 1, "x": 0.5, "id": 17}"#,
            "\n\n",
            r#"{"ts": "2020-07-21T21:41:00Z", "user": "u2", "n": 2, "x": null, "id": "b"}"#,
            "\n",
            r#"{"ts": 1595367720000, "user": "u3", "n": 3, "x": 1, "id": null}"#,
        ),
    );
    let mut cfg = JsonlSourceConfig::new(s(&p));
    cfg.key = Some("user".into());
    cfg.time = Some("ts".into());
    cfg.id = Some("id".into());
    let out = drain(&mut JsonlSource::new(cfg).unwrap());
    assert!(out.rejects.is_empty(), "{:?}", reject_messages(&out));
    let e = &out.events;
    assert_eq!(e.len(), 3);
    assert_eq!(e[0].key, Value::from("u1"));
    assert_eq!(e[0].time, t("2020-07-21T21:40:00Z"));
    assert_eq!(field(&e[0], "ts"), &Value::Time(t("2020-07-21T21:40:00Z")));
    assert_eq!(e[0].id.as_deref(), Some("17"));
    assert_eq!(e[1].id.as_deref(), Some("b"));
    assert_eq!(e[2].id, None);
    // numbers under iso8601 are epoch milliseconds
    assert_eq!(e[2].time, t("2020-07-21T21:42:00Z"));
    assert_eq!(field(&e[0], "x"), &Value::Float(0.5));
    assert_eq!(field(&e[2], "x"), &Value::Int(1));
    // blank line 2 is skipped but counted
    assert_eq!(e.iter().map(|e| e.offset).collect::<Vec<_>>(), [1, 3, 4]);
    let sch = |i: usize| e[i].body.as_record().unwrap().schema().clone();
    assert!(Arc::ptr_eq(&sch(0), &sch(2)));
}

#[test]
fn epoch_seconds_and_list_key() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "e.jsonl",
        "{\"t\": 1595367600.25, \"a\": \"x\", \"b\": 2}\n",
    );
    let mut cfg = JsonlSourceConfig::new(s(&p));
    cfg.time = Some("t".into());
    cfg.time_format = TimeFormat::EpochSeconds;
    cfg.key = Some(vec!["a", "b"].into());
    let out = drain(&mut JsonlSource::new(cfg).unwrap());
    assert_eq!(
        out.events[0].time,
        Timestamp(t("2020-07-21T21:40:00Z").0 + 250_000_000)
    );
    assert_eq!(
        out.events[0].key,
        Value::List(vec![Value::from("x"), Value::Int(2)])
    );
}

#[test]
fn bad_lines_are_rejected_with_exact_messages() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "bad.jsonl",
        concat!(
            "{\"user\": \"u1\", \"t\": \"2020-07-21T21:40:00Z\"}\n",
            "{\"user\": \"u2\", \"t\": \n",
            "[1, 2]\n",
            "{\"t\": \"2020-07-21T21:40:00Z\"}\n",
            "{\"user\": \"\", \"t\": \"2020-07-21T21:40:00Z\"}\n",
            "{\"user\": \"u6\", \"t\": \"21/07/2020\"}\n",
            "{\"user\": \"u7\", \"t\": true}\n",
            "{\"user\": \"u8\"}\n",
        ),
    );
    let mut cfg = JsonlSourceConfig::new(s(&p));
    cfg.key = Some("user".into());
    cfg.time = Some("t".into());
    let out = drain(&mut JsonlSource::new(cfg).unwrap());
    let n = s(&p);
    assert_eq!(
        reject_messages(&out),
        [
            format!("{n}, record 2: invalid JSON at column 19: EOF while parsing a value"),
            format!("{n}, record 3: expected a JSON object, found an array"),
            format!("{n}, record 4: field 'user': key is missing"),
            format!("{n}, record 5: field 'user': key is empty"),
            format!("{n}, record 6: field 't': '21/07/2020' is not an ISO-8601 timestamp"),
            format!("{n}, record 7: field 't': true is not a timestamp"),
            format!("{n}, record 8: field 't': time is missing"),
        ]
    );
    assert_eq!(
        out.rejects[1].event.as_ref().unwrap().body,
        Value::from("[1, 2]")
    );
    assert_eq!(out.events.len(), 1);
}

#[test]
fn bare_nan_and_infinity_tokens_are_floats_and_near_misses_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "nf.jsonl",
        concat!(
            "{\"a\": NaN, \"b\": -Infinity, \"c\": [Infinity], \"d\": 1e400}\n",
            "{\"a\": nan}\n",
            "{\"a\": Inf}\n",
            "{\"a\": 18446744073709551616, \"b\": 9223372036854775807, \"c\": -0.0}\n",
        ),
    );
    let out = drain(&mut JsonlSource::new(JsonlSourceConfig::new(s(&p))).unwrap());
    let n = s(&p);
    assert_eq!(
        reject_messages(&out),
        [
            format!("{n}, record 1: invalid JSON at column 50: number out of range"),
            format!("{n}, record 2: invalid JSON at column 8: expected ident"),
            format!("{n}, record 3: invalid JSON at column 10: expected ident"),
        ]
    );
    let b = &out.events[0].body;
    // integers past i64 become floats, as before
    assert_eq!(b.get("a"), Some(&Value::Float(18446744073709551616.0)));
    assert_eq!(b.get("b"), Some(&Value::Int(i64::MAX)));
    assert_eq!(b.get("c"), Some(&Value::Float(-0.0)));
}

#[test]
fn duplicate_keys_in_a_line_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "d.jsonl",
        concat!(
            "{\"user\": \"u1\", \"click\": 1, \"click\": 2}\n",
            "{\"user\": \"u1\", \"x\": {\"a\": 1, \"a\": 2}}\n",
            "{\"user\": \"u1\", \"click\": 1}\n",
        ),
    );
    let out = drain(&mut JsonlSource::new(JsonlSourceConfig::new(s(&p))).unwrap());
    let n = s(&p);
    assert_eq!(
        reject_messages(&out),
        [
            format!("{n}, record 1: duplicate field name 'click' (fields 2 and 3)"),
            format!("{n}, record 2: duplicate field name 'a' (fields 1 and 2) in field 'x'"),
        ]
    );
    assert_eq!(out.events.len(), 1);
}

#[test]
fn nesting_deeper_than_128_is_rejected_not_a_stack_overflow() {
    let dir = tempfile::tempdir().unwrap();
    let deep = |n: usize| format!("{{\"a\": {}1{}}}\n", "[".repeat(n), "]".repeat(n));
    let p = write(dir.path(), "deep.jsonl", &(deep(128) + &deep(100_000)));
    let out = drain(&mut JsonlSource::new(JsonlSourceConfig::new(s(&p))).unwrap());
    // the 129th '[' starts at column 7 + 128
    assert_eq!(
        reject_messages(&out),
        [format!(
            "{}, record 2: invalid JSON at column 135: recursion limit exceeded",
            s(&p)
        )]
    );
    assert_eq!(out.events.len(), 1);
}

#[test]
fn timezone_option_and_zone_names_apply_to_text_times_only() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "tz.jsonl",
        concat!(
            "{\"t\": \"2021-01-01 10:00:00\"}\n",
            "{\"t\": 1609495200000}\n",
            "{\"t\": \"2021-01-01 10:00:00 Asia/Tokyo\"}\n",
        ),
    );
    let mut cfg = JsonlSourceConfig::new(s(&p));
    cfg.time = Some("t".into());
    cfg.timezone = Some("America/New_York".into());
    let out = drain(&mut JsonlSource::new(cfg.clone()).unwrap());
    let times: Vec<Timestamp> = out.events.iter().map(|e| e.time).collect();
    // epoch numbers are instants: the zone does not move them
    assert_eq!(
        times,
        [t("2021-01-01T15:00:00Z"), t("2021-01-01T10:00:00Z")]
    );
    assert_eq!(
        reject_messages(&out),
        [format!(
            "{}, record 3: field 't': '2021-01-01 10:00:00 Asia/Tokyo' is not an ISO-8601 timestamp",
            s(&p)
        )]
    );
    cfg.time_format = TimeFormat::Pattern("%Y-%m-%d %H:%M:%S %Z".into());
    let out = drain(&mut JsonlSource::new(cfg).unwrap());
    assert_eq!(out.events.last().unwrap().time, t("2021-01-01T01:00:00Z"));
}
