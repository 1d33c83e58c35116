use super::*;
use crate::testutil::{drain, field, reject_messages, s, t};
use arrow::array::{
    ArrayRef, BooleanArray, DictionaryArray, Float32Array, Int32Array, RecordBatch, StringArray,
    TimestampMillisecondArray,
};
use arrow::datatypes::Int32Type;
use parquet::arrow::ArrowWriter;
use rill_core::Value;

/// Four rows, one minute apart from 21:40, in two row groups, with assorted column types.
fn write_file(path: &std::path::Path) {
    let base = t("2020-07-21T21:40:00Z").millis();
    let batch = |rows: std::ops::Range<i64>| {
        let r: Vec<i64> = rows.collect();
        RecordBatch::try_from_iter([
            (
                "time",
                Arc::new(
                    TimestampMillisecondArray::from(
                        r.iter().map(|i| base + i * 60_000).collect::<Vec<_>>(),
                    )
                    .with_timezone("+02:00"),
                ) as ArrayRef,
            ),
            (
                "user",
                Arc::new(
                    r.iter()
                        .map(|i| Some(["a", "b"][*i as usize % 2]))
                        .collect::<DictionaryArray<Int32Type>>(),
                ) as ArrayRef,
            ),
            (
                "n",
                Arc::new(Int32Array::from(
                    r.iter().map(|i| *i as i32).collect::<Vec<_>>(),
                )) as ArrayRef,
            ),
            (
                "x",
                Arc::new(Float32Array::from(
                    r.iter()
                        .map(|i| if *i == 1 { None } else { Some(*i as f32 + 0.5) })
                        .collect::<Vec<_>>(),
                )) as ArrayRef,
            ),
            (
                "ok",
                Arc::new(BooleanArray::from(
                    r.iter().map(|i| *i % 2 == 0).collect::<Vec<_>>(),
                )) as ArrayRef,
            ),
            (
                "note",
                Arc::new(StringArray::from(
                    r.iter().map(|i| format!("n{i}")).collect::<Vec<_>>(),
                )) as ArrayRef,
            ),
        ])
        .unwrap()
    };
    let b1 = batch(0..2);
    let mut w =
        ArrowWriter::try_new(std::fs::File::create(path).unwrap(), b1.schema(), None).unwrap();
    w.write(&b1).unwrap();
    w.flush().unwrap();
    w.write(&batch(2..4)).unwrap();
    w.close().unwrap();
}

#[test]
fn reads_every_type_with_key_and_time() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("d.parquet");
    write_file(&p);
    let mut cfg = ParquetSourceConfig::new(s(&p));
    cfg.key = Some("user".into());
    cfg.time = Some("time".into());
    cfg.batch_rows = 3;
    let out = drain(&mut ParquetSource::new(cfg).unwrap());
    assert!(out.rejects.is_empty(), "{:?}", reject_messages(&out));
    let e = &out.events;
    assert_eq!(e.len(), 4);
    assert_eq!(e[1].key, Value::from("b"));
    // the zone does not shift the instant
    assert_eq!(e[1].time, t("2020-07-21T21:41:00Z"));
    assert_eq!(
        field(&e[1], "time"),
        &Value::Time(t("2020-07-21T21:41:00Z"))
    );
    assert_eq!(field(&e[2], "n"), &Value::Int(2));
    assert_eq!(field(&e[2], "x"), &Value::Float(2.5));
    assert_eq!(field(&e[1], "x"), &Value::Null);
    assert_eq!(field(&e[2], "ok"), &Value::Bool(true));
    assert_eq!(field(&e[3], "note"), &Value::from("n3"));
    assert_eq!(e.iter().map(|e| e.offset).collect::<Vec<_>>(), [1, 2, 3, 4]);
}

#[test]
fn projection_reads_only_listed_columns_plus_key_and_time() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("d.parquet");
    write_file(&p);
    let mut cfg = ParquetSourceConfig::new(s(&p));
    cfg.columns = Some(vec!["n".into()]);
    cfg.key = Some("user".into());
    let out = drain(&mut ParquetSource::new(cfg.clone()).unwrap());
    let rec = out.events[0].body.as_record().unwrap();
    let names: Vec<&str> = rec.schema().names().iter().map(|n| n.as_str()).collect();
    assert_eq!(names, ["user", "n"]);
    cfg.columns = Some(vec!["nope".into()]);
    let err = ParquetSource::new(cfg)
        .unwrap()
        .next_batch(&mut SourceBatch::default(), 10)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("configuration error: column 'nope' is not in '{}' (columns: time, user, n, x, ok, note)", s(&p))
    );
}

#[test]
fn time_range_filter_is_start_exclusive_end_inclusive() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("d.parquet");
    write_file(&p);
    let mut cfg = ParquetSourceConfig::new(s(&p));
    cfg.time = Some("time".into());
    cfg.start = Some("2020-07-21T21:40:00Z".into());
    cfg.end = Some("2020-07-21T23:42:00+02:00".into());
    let out = drain(&mut ParquetSource::new(cfg.clone()).unwrap());
    let times: Vec<_> = out.events.iter().map(|e| e.time).collect();
    assert_eq!(
        times,
        [t("2020-07-21T21:41:00Z"), t("2020-07-21T21:42:00Z")]
    );
    // record numbers stay row numbers in the file
    assert_eq!(
        out.events.iter().map(|e| e.offset).collect::<Vec<_>>(),
        [2, 3]
    );
    cfg.start = Some("soon".into());
    assert_eq!(
        ParquetSource::new(cfg).err().unwrap().to_string(),
        "start: parquet `start`: 'soon' is not an ISO-8601 time"
    );
}

#[test]
fn text_time_column_and_null_key_rejects() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s.parquet");
    let b = RecordBatch::try_from_iter([
        (
            "ts",
            Arc::new(StringArray::from(vec![
                Some("1595367600"),
                Some("later"),
                Some("1595367660"),
            ])) as ArrayRef,
        ),
        (
            "k",
            Arc::new(StringArray::from(vec![Some("a"), Some("b"), None])) as ArrayRef,
        ),
    ])
    .unwrap();
    let mut w = ArrowWriter::try_new(std::fs::File::create(&p).unwrap(), b.schema(), None).unwrap();
    w.write(&b).unwrap();
    w.close().unwrap();
    let mut cfg = ParquetSourceConfig::new(s(&p));
    cfg.time = Some("ts".into());
    cfg.time_format = TimeFormat::EpochSeconds;
    cfg.key = Some("k".into());
    let out = drain(&mut ParquetSource::new(cfg).unwrap());
    assert_eq!(out.events.len(), 1);
    assert_eq!(out.events[0].time, t("2020-07-21T21:40:00Z"));
    let n = s(&p);
    assert_eq!(
        reject_messages(&out),
        [
            format!("{n}, record 2: field 'ts': 'later' is not a number of epoch seconds"),
            format!("{n}, record 3: field 'k': key is empty"),
        ]
    );
    assert_eq!(
        out.rejects[1].event.as_ref().unwrap().body,
        Value::from(r#"{"ts":"1595367660","k":null}"#)
    );
}

#[test]
fn missing_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("none.parquet");
    let err = ParquetSource::new(ParquetSourceConfig::new(s(&p)))
        .unwrap()
        .next_batch(&mut SourceBatch::default(), 1)
        .unwrap_err();
    assert!(
        err.to_string().starts_with(&format!("opening '{}'", s(&p))),
        "{err}"
    );
}

#[test]
fn row_groups_outside_the_range_are_skipped_and_record_numbers_kept() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("d.parquet");
    write_file(&p);
    let meta = ArrowReaderMetadata::load(
        &std::fs::File::open(&p).unwrap(),
        ArrowReaderOptions::default(),
    )
    .unwrap();
    let start = Some(t("2020-07-21T21:41:00Z"));
    // group 0 holds 21:40 and 21:41: nothing after 21:41
    assert!(!may_hold(&meta, 0, "time", start, None));
    assert!(may_hold(&meta, 1, "time", start, None));
    assert!(!may_hold(
        &meta,
        1,
        "time",
        None,
        Some(t("2020-07-21T21:41:59Z"))
    ));
    assert!(
        may_hold(&meta, 0, "note", start, None),
        "no pruning on a non-timestamp column"
    );
    let mut cfg = ParquetSourceConfig::new(s(&p));
    cfg.time = Some("time".into());
    cfg.start = Some("2020-07-21T21:41:00Z".into());
    let out = drain(&mut ParquetSource::new(cfg).unwrap());
    assert_eq!(
        out.events.iter().map(|e| e.offset).collect::<Vec<_>>(),
        [3, 4]
    );
    assert_eq!(out.events[0].time, t("2020-07-21T21:42:00Z"));
}

#[test]
fn duplicate_column_names_are_an_error_when_the_file_is_opened() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dup.parquet");
    let col = || Arc::new(Int32Array::from(vec![1, 2])) as ArrayRef;
    let schema = Arc::new(arrow::datatypes::Schema::new(vec![
        arrow::datatypes::Field::new("click", DataType::Int32, true),
        arrow::datatypes::Field::new("user", DataType::Int32, true),
        arrow::datatypes::Field::new("click", DataType::Int32, true),
    ]));
    let b = RecordBatch::try_new(schema.clone(), vec![col(), col(), col()]).unwrap();
    let mut w = ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), schema, None).unwrap();
    w.write(&b).unwrap();
    w.close().unwrap();
    let mut src = ParquetSource::new(ParquetSourceConfig::new(s(&path))).unwrap();
    let mut out = SourceBatch::default();
    let err = src.next_batch(&mut out, 10).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "reading parquet '{}': duplicate column name 'click' (columns 1 and 3)",
            s(&path)
        )
    );
    assert!(out.events.is_empty());
}
