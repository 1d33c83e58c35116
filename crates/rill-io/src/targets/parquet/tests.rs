use super::*;
use crate::sources::parquet::{ParquetSource, ParquetSourceConfig};
use crate::testutil::{drain, events, run_target, s};
use crate::FieldType;
use parquet::file::reader::{FileReader, SerializedFileReader};
use rill_core::{Record, Timestamp};
use rill_flow::{Cx, Step};

fn row_groups(path: &std::path::Path) -> Vec<i64> {
    let r = SerializedFileReader::new(std::fs::File::open(path).unwrap()).unwrap();
    r.metadata()
        .row_groups()
        .iter()
        .map(|g| g.num_rows())
        .collect()
}

#[test]
fn round_trip_through_the_parquet_source() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x/out.parquet");
    let evs = events();
    let mut cfg = ParquetTargetConfig::new(s(&path));
    cfg.max_events = 2;
    let passed = run_target(&mut ParquetTarget::new(cfg).unwrap(), evs.clone());
    assert_eq!(passed.len(), 3);
    assert_eq!(
        row_groups(&path),
        [2, 1],
        "one row group per max_events, the rest at termination"
    );
    let mut cfg = ParquetSourceConfig::new(s(&path));
    cfg.key = Some("user".into());
    cfg.time = Some("time".into());
    let back = drain(&mut ParquetSource::new(cfg).unwrap());
    assert!(back.rejects.is_empty());
    assert_eq!(back.events.len(), 3);
    for (a, b) in evs.iter().zip(&back.events) {
        assert_eq!(a.body, b.body);
        assert_eq!((&a.key, a.time), (&b.key, b.time));
    }
    // the time column is Timestamp(ns, UTC)
    let r = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        std::fs::File::open(&path).unwrap(),
    )
    .unwrap();
    assert_eq!(
        r.schema().field_with_name("time").unwrap().data_type(),
        &DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()))
    );
    assert_eq!(
        r.schema().field_with_name("click").unwrap().data_type(),
        &DataType::Int64
    );
}

fn ev(offset: u64, pairs: Vec<(&str, Value)>) -> Event {
    let mut e = Event::new(Record::from_pairs(pairs));
    e.offset = offset;
    e
}

#[test]
fn types_widen_in_the_first_batch_and_mismatches_name_record_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.parquet");
    let mut cfg = ParquetTargetConfig::new(s(&path));
    cfg.max_events = 3;
    cfg.columns = Some(vec!["x".into(), "k=$key".into(), "none".into()]);
    let mut tgt = ParquetTarget::new(cfg).unwrap();
    let mut cx = Cx::new(Timestamp(0));
    tgt.process(ev(1, vec![("x", Value::Int(1))]).with_key("a"), &mut cx)
        .unwrap();
    tgt.process(ev(2, vec![("x", Value::Float(2.5))]).with_key("b"), &mut cx)
        .unwrap();
    let f = tgt
        .process(ev(3, vec![("x", Value::from("three"))]), &mut cx)
        .unwrap_err();
    assert_eq!(
        f.error.to_string(),
        format!("writing '{}', record 3: column 'x': \"three\" (string) does not fit the column's type float64", s(&path))
    );
    tgt.process(ev(4, vec![("x", Value::Int(4))]).with_key("c"), &mut cx)
        .unwrap();
    // schema fixed now: x float64, k string, none (all null) string
    let f = tgt
        .process(ev(5, vec![("x", Value::Bool(true))]), &mut cx)
        .unwrap_err();
    assert_eq!(
        f.error.to_string(),
        format!(
            "writing '{}', record 5: column 'x': true (bool) does not fit the column's type float64",
            s(&path)
        )
    );
    tgt.process(ev(6, vec![("x", Value::Int(6))]).with_key("d"), &mut cx)
        .unwrap();
    tgt.terminate(&mut cx).unwrap();
    let back = drain(&mut ParquetSource::new(ParquetSourceConfig::new(s(&path))).unwrap());
    let xs: Vec<Value> = back
        .events
        .iter()
        .map(|e| e.body.get("x").unwrap().clone())
        .collect();
    assert_eq!(
        xs,
        [
            Value::Float(1.0),
            Value::Float(2.5),
            Value::Float(4.0),
            Value::Float(6.0)
        ]
    );
    assert_eq!(back.events[3].body.get("k"), Some(&Value::from("d")));
    assert_eq!(back.events[3].body.get("none"), Some(&Value::Null));
}

#[test]
fn a_record_with_duplicate_field_names_is_an_error_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.parquet");
    let mut tgt = ParquetTarget::new(ParquetTargetConfig::new(s(&path))).unwrap();
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

/// The file's column types and a column's values, read back through the Parquet source.
fn read_back(path: &std::path::Path, col: &str) -> (Vec<(String, DataType)>, Vec<Value>) {
    let r = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        std::fs::File::open(path).unwrap(),
    )
    .unwrap();
    let types = r
        .schema()
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().clone()))
        .collect();
    let back = drain(&mut ParquetSource::new(ParquetSourceConfig::new(s(path))).unwrap());
    assert!(back.rejects.is_empty());
    let values = back
        .events
        .iter()
        .map(|e| e.body.get(col).unwrap().clone())
        .collect();
    (types, values)
}

#[test]
fn an_int_column_that_later_holds_floats_is_float64_for_the_whole_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("widen.parquet");
    let mut cfg = ParquetTargetConfig::new(s(&path));
    cfg.max_events = 2;
    let x = [
        Value::Int(1),
        Value::Int(2),
        Value::Float(3.5),
        Value::Int(4),
        Value::Int(5),
    ];
    let evs = x
        .iter()
        .enumerate()
        .map(|(i, v)| {
            ev(
                i as u64 + 1,
                vec![("x", v.clone()), ("n", Value::Int(i as i64))],
            )
        })
        .collect();
    // every event is written (none fails)
    assert_eq!(
        run_target(&mut ParquetTarget::new(cfg).unwrap(), evs).len(),
        5
    );
    let (types, xs) = read_back(&path, "x");
    assert_eq!(
        types,
        [
            ("x".to_string(), DataType::Float64),
            ("n".to_string(), DataType::Int64)
        ]
    );
    assert_eq!(
        xs,
        [1.0, 2.0, 3.5, 4.0, 5.0].map(Value::Float),
        "the first row group's ints are floats now"
    );
    // row groups as written
    assert_eq!(row_groups(&path), [2, 2, 1]);
    assert!(!dir.path().join("widen.parquet.rill-widen").exists());
}

#[test]
fn a_column_null_in_the_first_row_group_takes_its_later_type() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("late.parquet");
    let mut cfg = ParquetTargetConfig::new(s(&path));
    cfg.max_events = 2;
    let evs = [Value::Null, Value::Null, Value::Int(7), Value::Float(0.5)]
        .into_iter()
        .enumerate()
        .map(|(i, v)| ev(i as u64 + 1, vec![("x", v)]))
        .collect();
    run_target(&mut ParquetTarget::new(cfg).unwrap(), evs);
    let (types, xs) = read_back(&path, "x");
    // null, then int, then float: float64 (two widenings)
    assert_eq!(types, [("x".to_string(), DataType::Float64)]);
    assert_eq!(
        xs,
        [
            Value::Null,
            Value::Null,
            Value::Float(7.0),
            Value::Float(0.5)
        ]
    );
}

#[test]
fn declared_types_and_event_attributes_fix_column_types_from_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("typed.parquet");
    let mut cfg = ParquetTargetConfig::new(s(&path));
    cfg.columns = Some(vec!["$time".into(), "$id".into(), "x".into(), "n".into()]);
    cfg.types = [
        ("x".to_string(), FieldType::Float),
        ("n".to_string(), FieldType::Int),
    ]
    .into();
    let mut tgt = ParquetTarget::new(cfg.clone()).unwrap();
    let mut cx = Cx::new(Timestamp(0));
    let e = |o, x: Value, n: Value| ev(o, vec![("x", x), ("n", n)]).with_time(Timestamp(o as i64));
    tgt.process(e(1, Value::Int(1), Value::Null), &mut cx)
        .unwrap();
    let f = tgt
        .process(e(2, Value::Int(2), Value::Float(2.5)), &mut cx)
        .unwrap_err();
    assert_eq!(
        f.error.to_string(),
        format!(
            "writing '{}', record 2: column 'n': 2.5 (float) does not fit the column's declared type int64",
            s(&path)
        )
    );
    tgt.process(e(3, Value::Int(3), Value::Int(3)), &mut cx)
        .unwrap();
    tgt.terminate(&mut cx).unwrap();
    let (types, xs) = read_back(&path, "x");
    assert_eq!(
        types,
        [
            (
                "time".to_string(),
                DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()))
            ),
            ("id".to_string(), DataType::Utf8),
            ("x".to_string(), DataType::Float64),
            ("n".to_string(), DataType::Int64),
        ]
    );
    assert_eq!(xs, [Value::Float(1.0), Value::Float(3.0)]);

    // a declared type for a column that is not written is a configuration error
    cfg.types.insert("nope".into(), FieldType::Int);
    assert_eq!(
        ParquetTarget::new(cfg).err().unwrap().to_string(),
        "types.nope: parquet `types`: 'nope' is not one of the `columns` ($time, $id, x, n)"
    );
}
