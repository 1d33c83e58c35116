use super::*;
use crate::testutil::{drain, field, reject_messages, s, t, write};
use std::sync::Arc;

fn source(cfg: CsvSourceConfig) -> CsvSource {
    CsvSource::new(cfg).expect("valid config")
}

#[test]
fn header_inference_key_and_iso_time_with_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "c.csv",
        "time,user,click,amount,active,note\n\
         2020-07-21T21:40:00+00:00,u1,1,1.5,true,hello\n\
         2020-07-21T23:41:00+02:00,u2,0,2,false,\n\
         2020-07-21 21:42:00.250,u3,-3,NaN,TRUE,a much longer text than twenty-four bytes\n",
    );
    let mut cfg = CsvSourceConfig::new(s(&p));
    cfg.key = Some("user".into());
    cfg.time = Some("time".into());
    let out = drain(&mut source(cfg));
    assert!(out.rejects.is_empty(), "{:?}", reject_messages(&out));
    let e = &out.events;
    assert_eq!(e.len(), 3);
    assert_eq!(e[0].key, Value::from("u1"));
    assert_eq!(e[0].time, t("2020-07-21T21:40:00Z"));
    assert_eq!(
        field(&e[0], "time"),
        &Value::Time(t("2020-07-21T21:40:00Z"))
    );
    assert_eq!(field(&e[0], "click"), &Value::Int(1));
    assert_eq!(field(&e[0], "amount"), &Value::Float(1.5));
    assert_eq!(field(&e[0], "active"), &Value::Bool(true));
    assert_eq!(field(&e[0], "note"), &Value::from("hello"));
    // +02:00 offset is converted to UTC
    assert_eq!(e[1].time, t("2020-07-21T21:41:00Z"));
    assert_eq!(field(&e[1], "amount"), &Value::Int(2));
    assert_eq!(field(&e[1], "note"), &Value::Null);
    assert_eq!(e[2].time.millis(), t("2020-07-21T21:42:00Z").millis() + 250);
    assert_eq!(field(&e[2], "click"), &Value::Int(-3));
    assert!(matches!(field(&e[2], "amount"), Value::Float(f) if f.is_nan()));
    assert_eq!(
        field(&e[2], "note"),
        &Value::from("a much longer text than twenty-four bytes")
    );
    // record numbers are line numbers (the header is line 1)
    assert_eq!(e.iter().map(|e| e.offset).collect::<Vec<_>>(), [2, 3, 4]);
    // one schema for every row
    let schema = |ev: &Event| ev.body.as_record().unwrap().schema().clone();
    assert!(Arc::ptr_eq(&schema(&e[0]), &schema(&e[2])));
}

#[test]
fn no_header_with_columns_and_default_names() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "n.csv", "a;1\nb;2\n");
    let mut cfg = CsvSourceConfig::new(s(&p));
    cfg.header = false;
    cfg.delimiter = ';';
    cfg.columns = Some(vec!["user".into(), "n".into()]);
    cfg.key = Some("user".into());
    let out = drain(&mut source(cfg.clone()));
    assert_eq!(out.events.len(), 2);
    assert_eq!(out.events[0].key, Value::from("a"));
    assert_eq!(field(&out.events[1], "n"), &Value::Int(2));
    assert_eq!(out.events[0].offset, 1);

    cfg.columns = None;
    cfg.key = Some("c0".into());
    let out = drain(&mut source(cfg));
    assert_eq!(out.events[1].key, Value::from("b"));
    assert_eq!(field(&out.events[1], "c1"), &Value::Int(2));
}

#[test]
fn list_key_id_and_declared_types() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "k.csv",
        "user,dev,id,code,flag\nu1,7,e-1,0042,1\n",
    );
    let mut cfg = CsvSourceConfig::new(s(&p));
    cfg.key = Some(vec!["user", "dev"].into());
    cfg.id = Some("id".into());
    cfg.types = [
        ("code".to_string(), FieldType::String),
        ("flag".to_string(), FieldType::Bool),
    ]
    .into();
    let out = drain(&mut source(cfg.clone()));
    let e = &out.events[0];
    assert_eq!(e.key, Value::List(vec![Value::from("u1"), Value::Int(7)]));
    assert_eq!(e.id.as_deref(), Some("e-1"));
    assert_eq!(field(e, "code"), &Value::from("0042"));
    assert_eq!(field(e, "flag"), &Value::Bool(true));
    // a one-element list still makes a list key
    cfg.key = Some(OneOrMany::Many(vec!["user".into()]));
    let out = drain(&mut source(cfg));
    assert_eq!(out.events[0].key, Value::List(vec![Value::from("u1")]));
}

#[test]
fn every_time_format() {
    let dir = tempfile::tempdir().unwrap();
    let want = t("2020-07-21T21:40:00Z");
    let cases = [
        ("1595367600", TimeFormat::EpochSeconds, want),
        (
            "1595367600.5",
            TimeFormat::EpochSeconds,
            Timestamp(want.0 + 500_000_000),
        ),
        (
            "1595367600.123",
            TimeFormat::EpochSeconds,
            Timestamp(want.0 + 123_000_000),
        ),
        (
            "1595367600123.5",
            TimeFormat::EpochMillis,
            Timestamp(want.0 + 123_500_000),
        ),
        (
            "1595367600123",
            TimeFormat::EpochMillis,
            Timestamp(want.0 + 123_000_000),
        ),
        ("1595367600000000", TimeFormat::EpochMicros, want),
        ("1595367600000000000", TimeFormat::EpochNanos, want),
        (
            "21/07/2020 23:40:00 +0200",
            TimeFormat::Pattern("%d/%m/%Y %H:%M:%S %z".into()),
            want,
        ),
        (
            "21/07/2020 21:40",
            TimeFormat::Pattern("%d/%m/%Y %H:%M".into()),
            want,
        ),
        ("2020-07-21T16:40:00-05:00", TimeFormat::Iso8601, want),
        ("2020-07-21T21:40:00Z", TimeFormat::Iso8601, want),
    ];
    for (i, (text, fmt, expect)) in cases.into_iter().enumerate() {
        let p = write(
            dir.path(),
            &format!("t{i}.csv"),
            &format!("ts,v\n\"{text}\",1\n"),
        );
        let mut cfg = CsvSourceConfig::new(s(&p));
        cfg.time = Some("ts".into());
        cfg.time_format = fmt.clone();
        let out = drain(&mut source(cfg));
        assert!(
            out.rejects.is_empty(),
            "{text} with {fmt:?}: {:?}",
            reject_messages(&out)
        );
        assert_eq!(out.events[0].time, expect, "{text} with {fmt:?}");
        assert_eq!(field(&out.events[0], "ts"), &Value::Time(expect));
    }
}

#[test]
fn bad_records_are_rejected_with_exact_messages() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "bad.csv",
        "time,user,amount\n\
         2020-07-21T21:40:00Z,u1,1.5\n\
         2020-07-21T21:41:00Z,u2,abc\n\
         2020-07-21T21:42:00Z,u3\n\
         2020-07-21T21:43:00Z,,2\n\
         yesterday,u5,3\n\
         ,u6,3\n\
         2020-07-21T21:44:00Z,u7,4\n",
    );
    let mut cfg = CsvSourceConfig::new(s(&p));
    cfg.key = Some("user".into());
    cfg.time = Some("time".into());
    cfg.types = [("amount".to_string(), FieldType::Float)].into();
    let out = drain(&mut source(cfg));
    let name = s(&p);
    assert_eq!(
        reject_messages(&out),
        [
            format!("{name}, record 3: field 'amount': 'abc' is not a float"),
            format!("{name}, record 4: expected 3 fields, found 2"),
            format!("{name}, record 5: field 'user': key is empty"),
            format!("{name}, record 6: field 'time': 'yesterday' is not an ISO-8601 timestamp"),
            format!("{name}, record 7: field 'time': time is empty"),
        ]
    );
    // the reject carries the raw row and its record number
    let r = &out.rejects[0];
    let ev = r.event.as_ref().unwrap();
    assert_eq!(ev.body, Value::from("2020-07-21T21:41:00Z,u2,abc"));
    assert_eq!(ev.offset, 3);
    // good rows around bad ones still come through
    assert_eq!(
        out.events.iter().map(|e| e.offset).collect::<Vec<_>>(),
        [2, 8]
    );
    assert_eq!(field(&out.events[1], "amount"), &Value::Float(4.0));
}

#[test]
fn declared_int_and_bool_messages() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "d.csv", "n,b\n1.5,true\n2,maybe\n");
    let mut cfg = CsvSourceConfig::new(s(&p));
    cfg.types = [
        ("n".to_string(), FieldType::Int),
        ("b".to_string(), FieldType::Bool),
    ]
    .into();
    let out = drain(&mut source(cfg));
    let name = s(&p);
    assert_eq!(
        reject_messages(&out),
        [
            format!("{name}, record 2: field 'n': '1.5' is not an int"),
            format!("{name}, record 3: field 'b': 'maybe' is not a bool (true/false)")
        ]
    );
}

#[test]
fn fatal_problems_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.csv");
    let mut src = source(CsvSourceConfig::new(s(&missing)));
    let err = src.next_batch(&mut SourceBatch::default(), 10).unwrap_err();
    assert!(
        err.to_string()
            .starts_with(&format!("opening '{}': ", s(&missing))),
        "{err}"
    );

    let p = write(dir.path(), "x.csv", "\u{feff}a,b\n1,2\n");
    let mut cfg = CsvSourceConfig::new(s(&p));
    cfg.key = Some("user".into());
    let err = source(cfg)
        .next_batch(&mut SourceBatch::default(), 10)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "configuration error: field 'user' is not a column of '{}' (columns: a, b)",
            s(&p)
        )
    );

    for (d, shown) in [('"', r#"'"'"#), ('\n', r"'\n'"), ('é', "'é'")] {
        let mut cfg = CsvSourceConfig::new(s(&p));
        cfg.delimiter = d;
        let err = CsvSource::new(cfg).err().unwrap();
        assert_eq!(
            err.to_string(),
            format!("delimiter: csv delimiter {shown} must be one ASCII character other than a quote or a line end")
        );
    }

    let err = CsvSource::new(CsvSourceConfig::new(s(&dir.path().join("*.nothing"))))
        .err()
        .unwrap();
    assert!(
        err.to_string().ends_with("no file matches the pattern"),
        "{err}"
    );
}

#[test]
fn glob_reads_files_in_order_sharing_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "part-2.csv", "a,b\n3,4\n");
    write(dir.path(), "part-1.csv", "a,b\n1,2\n");
    let out = drain(&mut source(CsvSourceConfig::new(format!(
        "{}/part-*.csv",
        s(dir.path())
    ))));
    assert_eq!(
        out.events
            .iter()
            .map(|e| field(e, "a").clone())
            .collect::<Vec<_>>(),
        [Value::Int(1), Value::Int(3)]
    );
    let sch = |i: usize| out.events[i].body.as_record().unwrap().schema().clone();
    assert!(Arc::ptr_eq(&sch(0), &sch(1)));
}

#[test]
fn without_time_field_event_time_is_now() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "n.csv", "a\n1\n");
    let before = Timestamp::now();
    let out = drain(&mut source(CsvSourceConfig::new(s(&p))));
    assert!(out.events[0].time >= before && out.events[0].time <= Timestamp::now());
}

#[test]
fn inference_rules() {
    assert_eq!(infer("42"), Value::Int(42));
    assert_eq!(infer("+7"), Value::Int(7));
    assert_eq!(infer("1e3"), Value::Float(1000.0));
    assert_eq!(infer(".5"), Value::Float(0.5));
    assert_eq!(infer("-inf"), Value::Float(f64::NEG_INFINITY));
    assert_eq!(infer("inf"), Value::Float(f64::INFINITY));
    assert_eq!(infer("False"), Value::Bool(false));
    assert_eq!(infer("-"), Value::from("-"));
    assert_eq!(infer("info"), Value::from("info"));
    assert_eq!(infer("99999999999999999999"), Value::Float(1e20));
}

#[test]
fn utf8_is_checked_per_row_and_a_bad_cell_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("u.csv");
    // row 2: multi-byte text (valid); row 3: a lone continuation byte in `city` (invalid);
    // row 4: invalid bytes split across two cells that are valid together (each cell is not)
    let mut bytes = b"user,city\nu1,Z\xc3\xbcrich\nu2,B\x80rn\n".to_vec();
    bytes.extend_from_slice(b"u3\xc3,\xa9x\nu4,Gen\xc3\xa8ve\n");
    std::fs::write(&p, bytes).unwrap();
    let out = drain(&mut source(CsvSourceConfig::new(s(&p))));
    let name = s(&p);
    assert_eq!(
        reject_messages(&out),
        [
            format!("{name}, record 3: field 'city': value is not valid UTF-8"),
            format!("{name}, record 4: field 'user': value is not valid UTF-8"),
        ]
    );
    assert_eq!(field(&out.events[0], "city"), &Value::from("Zürich"));
    assert_eq!(field(&out.events[1], "city"), &Value::from("Genève"));
}

#[test]
fn duplicate_header_names_are_an_error_before_any_record() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "data.csv",
        "time,user,click,click\n2021-01-01T00:00:00Z,u1,1,2\n",
    );
    let mut src = source(CsvSourceConfig::new(s(&p)));
    let mut batch = SourceBatch::default();
    let err = src.next_batch(&mut batch, 10).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}, record 1: duplicate column name 'click' (columns 3 and 4)",
            s(&p)
        )
    );
    assert!(batch.events.is_empty() && batch.rejects.is_empty());

    // every duplicated name, with all its positions
    let p = write(dir.path(), "many.csv", "a,b,a,c,b,a\n1,2,3,4,5,6\n");
    let err = source(CsvSourceConfig::new(s(&p)))
        .next_batch(&mut SourceBatch::default(), 10)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}, record 1: duplicate column names 'a' (columns 1, 3 and 6), 'b' (columns 2 and 5)",
            s(&p)
        )
    );

    // `columns` replacing such a header makes the names unique again
    let mut cfg = CsvSourceConfig::new(s(&p));
    cfg.columns = Some(["a", "b", "a2", "c", "b2", "a3"].map(String::from).to_vec());
    let out = drain(&mut source(cfg));
    assert_eq!(field(&out.events[0], "a3"), &Value::Int(6));

    // duplicates in `columns` are a configuration error when the source is built
    let mut cfg = CsvSourceConfig::new(s(&p));
    cfg.header = false;
    cfg.columns = Some(["x", "y", "x"].map(String::from).to_vec());
    assert_eq!(
        CsvSource::new(cfg).err().unwrap().to_string(),
        "columns: csv `columns`: duplicate column name 'x' (columns 1 and 3)"
    );
}

/// Found by fuzzing (crates/rill/tests/fuzz_inputs.rs): messages quoting the input stay short
/// however large the input is.
#[test]
fn messages_about_huge_headers_and_cells_stay_short() {
    let dir = tempfile::tempdir().unwrap();
    // 120 empty column names, and many distinct duplicated names
    let p = write(dir.path(), "empty.csv", &format!("{}\n", ",".repeat(119)));
    let err = source(CsvSourceConfig::new(s(&p)))
        .next_batch(&mut SourceBatch::default(), 10)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}, record 1: duplicate column name '' (columns 1, 2, 3, 4, 5, … 120: 120 times)",
            s(&p)
        )
    );
    let names: Vec<String> = (0..40).map(|i| format!("n{i}")).collect();
    let long = "L".repeat(5000);
    let header = format!("{long},{long},{},{}", names.join(","), names.join(","));
    let p = write(dir.path(), "names.csv", &format!("{header}\n"));
    let err = source(CsvSourceConfig::new(s(&p)))
        .next_batch(&mut SourceBatch::default(), 10)
        .unwrap_err()
        .to_string();
    assert!(err.len() < 400, "{err}");
    assert!(err.contains("(4940 characters left out)"), "{err}");
    assert!(
        err.ends_with(", 'n3' (columns 6 and 46) and 36 more"),
        "{err}"
    );

    // a missing key column of a header of 10 000 columns
    let header: Vec<String> = (0..10_000).map(|i| format!("c{i}")).collect();
    let p = write(dir.path(), "wide.csv", &format!("{}\n", header.join(",")));
    let mut cfg = CsvSourceConfig::new(s(&p));
    cfg.key = Some(crate::OneOrMany::One("user".into()));
    let err = source(cfg)
        .next_batch(&mut SourceBatch::default(), 10)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!(
            "configuration error: field 'user' is not a column of '{}' (columns: c0, c1, c2,",
            s(&p)
        )),
        "{err}"
    );
    assert!(err.ends_with(", c9998, c9999)"), "{err}");
    assert!(err.len() < s(&p).len() + 400, "{err}");

    // a megabyte-long cell that does not parse: the reason keeps its ends
    let big = "x".repeat(1 << 20);
    let p = write(dir.path(), "cell.csv", &format!("a,n\n1,{big}\n"));
    let mut cfg = CsvSourceConfig::new(s(&p));
    cfg.types.insert("n".into(), FieldType::Int);
    let out = drain(&mut source(cfg));
    let msg = out.rejects[0].error.to_string();
    assert!(
        msg.starts_with(&format!("{}, record 2: field 'n': 'xxxx", s(&p))),
        "{msg}"
    );
    assert!(msg.ends_with("xxx' is not an int"), "{msg}");
    assert!(msg.contains(" characters left out) "), "{msg}");
    assert!(msg.len() < s(&p).len() + 400, "{} characters", msg.len());
    // the dead letter still carries the whole row
    let raw = out.rejects[0]
        .event
        .as_ref()
        .unwrap()
        .body
        .as_str()
        .unwrap()
        .len();
    assert_eq!(raw, big.len() + 2);
}

#[test]
fn zone_names_in_time_strings_are_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "z.csv",
        "time,v\n\
         2021-01-01 10:00:00 PST,1\n\
         2021-07-01 10:00:00 PDT,2\n\
         2021-01-01 10:00:00 America/New_York,3\n\
         2021-07-01 10:00:00 America/New_York,4\n\
         2021-07-01 10:00:00 CEST,5\n\
         2021-07-01 10:00:00 UTC,6\n\
         2021-01-01 10:00:00 XST,7\n\
         2021-01-01 10:00:00 IST,8\n",
    );
    let mut cfg = CsvSourceConfig::new(s(&p));
    cfg.time = Some("time".into());
    cfg.time_format = TimeFormat::Pattern("%Y-%m-%d %H:%M:%S %Z".into());
    let out = drain(&mut source(cfg));
    let times: Vec<Timestamp> = out.events.iter().map(|e| e.time).collect();
    assert_eq!(
        times,
        [
            t("2021-01-01T18:00:00Z"),
            t("2021-07-01T17:00:00Z"),
            t("2021-01-01T15:00:00Z"),
            t("2021-07-01T14:00:00Z"),
            t("2021-07-01T08:00:00Z"),
            t("2021-07-01T10:00:00Z"),
        ]
    );
    let n = s(&p);
    assert_eq!(
        reject_messages(&out),
        [
            format!("{n}, record 8: field 'time': '2021-01-01 10:00:00 XST': unknown time zone 'XST' (use an abbreviation such as UTC, PST or CET, or an IANA name such as America/Los_Angeles)"),
            format!("{n}, record 9: field 'time': '2021-01-01 10:00:00 IST': time zone abbreviation 'IST' is ambiguous (India +05:30, Ireland +01:00, Israel +02:00): write an offset (%z) or an IANA name"),
        ]
    );
}

#[test]
fn timezone_option_places_naive_times_dst_correctly() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "tz.csv",
        "time,at\n\
         2021-01-01T10:00:00,2021-01-01 10:00:00\n\
         2021-07-01T10:00:00,2021-07-01T10:00:00Z\n\
         2021-10-31T02:30:00,2021-10-31T02:30:00\n\
         2021-03-28T02:30:00,2021-03-28T02:30:00\n",
    );
    let mut cfg = CsvSourceConfig::new(s(&p));
    cfg.time = Some("time".into());
    cfg.timezone = Some("Europe/Paris".into());
    cfg.types = [("at".to_string(), FieldType::Time)].into();
    let out = drain(&mut source(cfg.clone()));
    let times: Vec<Timestamp> = out.events.iter().map(|e| e.time).collect();
    // winter +01:00, summer +02:00, the repeated 02:30 at its earlier instant
    assert_eq!(
        times,
        [
            t("2021-01-01T09:00:00Z"),
            t("2021-07-01T08:00:00Z"),
            t("2021-10-31T00:30:00Z")
        ]
    );
    // declared time fields too; a time with an offset is not moved
    assert_eq!(
        field(&out.events[0], "at"),
        &Value::Time(t("2021-01-01T09:00:00Z"))
    );
    assert_eq!(
        field(&out.events[1], "at"),
        &Value::Time(t("2021-07-01T10:00:00Z"))
    );
    assert_eq!(
        reject_messages(&out),
        [format!(
            "{}, record 5: field 'time': '2021-03-28T02:30:00': 2021-03-28 02:30:00 does not exist in Europe/Paris: the clocks skip it (daylight saving change)",
            s(&p)
        )]
    );

    cfg.timezone = Some("Europe/Pariss".into());
    assert_eq!(
        CsvSource::new(cfg.clone()).err().unwrap().to_string(),
        "timezone: unknown timezone 'Europe/Pariss': use an IANA name such as Europe/Paris or America/New_York"
    );
    cfg.timezone = None;
    cfg.time_format = TimeFormat::Pattern("%Y-%m-%d %Q".into());
    assert_eq!(
        CsvSource::new(cfg).err().unwrap().to_string(),
        "time_format: time format '%Y-%m-%d %Q' is not a valid strftime pattern: bad or unsupported format string"
    );
}
