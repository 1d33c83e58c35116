use super::*;
use crate::sources::csv::{CsvSource, CsvSourceConfig};
use crate::testutil::{drain, events, run_target, s};
use rill_core::{Record, Timestamp};
use rill_flow::{Cx, Step};

#[test]
fn round_trip_through_the_csv_source() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/out.csv");
    let evs = events();
    let passed = run_target(
        &mut CsvTarget::new(CsvTargetConfig::new(s(&path))).unwrap(),
        evs.clone(),
    );
    // every event is passed on, unchanged
    assert_eq!(passed.len(), 3);
    assert_eq!(
        passed.iter().map(|e| e.body.clone()).collect::<Vec<_>>(),
        evs.iter().map(|e| e.body.clone()).collect::<Vec<_>>()
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "time,user,click,amount,ok,note\n\
         2020-07-21T21:40:00+00:00,u1,1,1.0,true,plain\n\
         2020-07-21T21:41:00.250+00:00,u2,0,2.5,false,\"with, comma and \"\"quotes\"\"\"\n\
         2020-07-21T21:42:00+00:00,u1,7,NaN,true,\n"
    );
    let mut cfg = CsvSourceConfig::new(s(&path));
    cfg.key = Some("user".into());
    cfg.time = Some("time".into());
    let back = drain(&mut CsvSource::new(cfg).unwrap());
    assert!(back.rejects.is_empty());
    for (a, b) in evs.iter().zip(&back.events) {
        assert_eq!(a.body, b.body);
        assert_eq!(a.key, b.key);
        assert_eq!(a.time, b.time);
    }
}

#[test]
fn column_notation_and_no_header() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cols.csv");
    let mut cfg = CsvTargetConfig::new(s(&path));
    cfg.columns = Some(vec![
        "who=$key".into(),
        "$time".into(),
        "click".into(),
        "amt=amount".into(),
        "$id".into(),
        "absent".into(),
    ]);
    cfg.header = false;
    cfg.delimiter = '|';
    run_target(&mut CsvTarget::new(cfg).unwrap(), events()[..2].to_vec());
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "u1|2020-07-21T21:40:00+00:00|1|1.0|id0|\nu2|2020-07-21T21:41:00.250+00:00|0|2.5|id1|\n"
    );
}

#[test]
fn list_values_and_list_keys_are_json() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l.csv");
    let mut cfg = CsvTargetConfig::new(s(&path));
    cfg.columns = Some(vec!["$key".into(), "v".into()]);
    let ev = Event::new(Record::from_pairs([(
        "v",
        Value::List(vec![Value::Int(1), Value::from("a")]),
    )]))
    .with_key(Value::List(vec![Value::from("u"), Value::Int(2)]));
    run_target(&mut CsvTarget::new(cfg).unwrap(), vec![ev]);
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "key,v\n\"[\"\"u\"\",2]\",\"[1,\"\"a\"\"]\"\n"
    );
}

#[test]
fn a_new_field_after_the_first_event_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.csv");
    let mut tgt = CsvTarget::new(CsvTargetConfig::new(s(&path))).unwrap();
    let mut cx = Cx::new(Timestamp(0));
    let mut first = Event::new(Record::from_pairs([("a", Value::Int(1))]));
    first.offset = 1;
    tgt.process(first, &mut cx).unwrap();
    let mut second = Event::new(Record::from_pairs([
        ("a", Value::Int(2)),
        ("b", Value::Int(3)),
    ]))
    .with_key("k");
    second.offset = 2;
    let f = tgt.process(second, &mut cx).unwrap_err();
    assert_eq!(
        f.error.to_string(),
        format!(
            "writing '{}', record 2 (key \"k\"): field 'b' is not one of the columns (a) taken from the first event; list the `columns` to write",
            s(&path)
        )
    );
    assert_eq!(f.event.unwrap().offset, 2);
    // a record with fewer fields is fine: missing values are empty
    tgt.process(Event::new(Record::empty()), &mut cx).unwrap();
    tgt.terminate(&mut cx).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "a\n1\n\"\"\n");
}

#[test]
fn flushes_every_max_events_and_at_termination() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.csv");
    let mut cfg = CsvTargetConfig::new(s(&path));
    cfg.max_events = 2;
    let mut tgt = CsvTarget::new(cfg).unwrap();
    let mut cx = Cx::new(Timestamp(0));
    // until termination the rows go to the partial file
    let partial = crate::targets::partial_path(&path);
    let lines = || {
        std::fs::read_to_string(&partial)
            .map(|t| t.lines().count())
            .unwrap_or(0)
    };
    let mut evs = events().into_iter();
    tgt.process(evs.next().unwrap(), &mut cx).unwrap();
    assert_eq!(lines(), 0, "first event is still buffered");
    tgt.process(evs.next().unwrap(), &mut cx).unwrap();
    assert_eq!(lines(), 3, "header + 2 rows flushed at max_events");
    tgt.process(evs.next().unwrap(), &mut cx).unwrap();
    assert_eq!(lines(), 3);
    assert!(
        !path.exists(),
        "nothing at the target path before termination"
    );
    tgt.terminate(&mut cx).unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap().lines().count(),
        4,
        "the buffered row is written and the file committed at termination"
    );
    assert!(!partial.exists());
}

#[test]
fn flush_after_sets_a_deadline_and_flushes_on_timer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.csv");
    let mut cfg = CsvTargetConfig::new(s(&path));
    cfg.flush_after = Some(Duration::from_secs(5));
    let mut tgt = CsvTarget::new(cfg).unwrap();
    let t0 = Timestamp::from_secs(100);
    tgt.process(events().remove(0), &mut Cx::new(t0)).unwrap();
    assert_eq!(tgt.next_deadline(), Some(Timestamp::from_secs(105)));
    let partial = crate::targets::partial_path(&path);
    tgt.on_timer(&mut Cx::new(Timestamp::from_secs(104)))
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(&partial).unwrap().lines().count(),
        0
    );
    tgt.on_timer(&mut Cx::new(Timestamp::from_secs(105)))
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(&partial).unwrap().lines().count(),
        2
    );
    assert_eq!(tgt.next_deadline(), None);
}

#[test]
fn no_events_leaves_a_file_with_the_listed_header() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("e.csv");
    let mut cfg = CsvTargetConfig::new(s(&path));
    cfg.columns = Some(vec!["$key".into(), "n".into()]);
    run_target(&mut CsvTarget::new(cfg).unwrap(), vec![]);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "key,n\n");
}

#[test]
fn float_formatting() {
    let f = |x: f64| {
        let mut v = Vec::new();
        format_cell(&mut v, &Value::Float(x)).unwrap();
        String::from_utf8(v).unwrap()
    };
    assert_eq!(f(1.0), "1.0");
    assert_eq!(f(-3.0), "-3.0");
    assert_eq!(f(0.1), "0.1");
    assert_eq!(f(1e-7), "0.0000001");
    assert_eq!(f(f64::INFINITY), "inf");
    assert_eq!(f(f64::NEG_INFINITY), "-inf");
    assert_eq!(f(f64::NAN), "NaN");
}

#[test]
fn a_record_with_duplicate_field_names_is_an_error_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.csv");
    for columns in [None, Some(vec!["user".to_string(), "click".to_string()])] {
        let mut cfg = CsvTargetConfig::new(s(&path));
        cfg.columns = columns;
        let mut tgt = CsvTarget::new(cfg).unwrap();
        let mut cx = Cx::new(Timestamp(0));
        let f = tgt
            .process(crate::testutil::duplicate_field_event(), &mut cx)
            .unwrap_err();
        assert_eq!(
            f.error.to_string(),
            format!(
                "writing '{}', record 2: duplicate field name 'click' (fields 3 and 4)",
                s(&path)
            )
        );
    }
}

#[test]
fn a_failed_run_keeps_the_previous_output_and_counts_no_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prev.csv");
    std::fs::write(&path, "a\nold\n").unwrap();
    let mut tgt = CsvTarget::new(CsvTargetConfig::new(s(&path))).unwrap();
    let mut cx = Cx::new(Timestamp(0));
    for e in events() {
        tgt.process(e, &mut cx).unwrap();
    }
    // the run fails before termination: the target is dropped uncommitted
    assert_eq!(tgt.counters(), vec![("rows_written".to_string(), 0)]);
    drop(tgt);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "a\nold\n");
    assert!(!crate::targets::partial_path(&path).exists());
}

#[test]
fn the_output_directory_is_created_when_the_target_is_built() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/b/c.csv");
    let mut tgt = CsvTarget::new(CsvTargetConfig::new(s(&path))).unwrap();
    assert!(dir.path().join("a/b").is_dir());
    assert!(!path.exists());
    let mut cx = Cx::new(Timestamp(0));
    for e in events() {
        tgt.process(e, &mut cx).unwrap();
    }
    tgt.terminate(&mut cx).unwrap();
    assert_eq!(tgt.counters(), vec![("rows_written".to_string(), 3)]);
    assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 4);
}
