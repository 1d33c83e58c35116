use super::*;
use crate::sources::parquet::{ParquetSource, ParquetSourceConfig};
use crate::testutil::{drain, events, run_target, s};
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
        format!("writing '{}', record 3: field 'x': \"three\" (string) does not fit the column's type float64", s(&path))
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
            "writing '{}', record 5: field 'x': true (bool) does not fit the column's type float64",
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
