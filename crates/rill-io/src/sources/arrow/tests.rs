use super::*;
use crate::testutil::{drain, field, reject_messages, t};
use arrow::array::{
    ArrayRef, Date32Array, Int64Array, LargeStringArray, ListArray, StringViewArray,
    TimestampSecondArray,
};
use arrow::datatypes::Int64Type;
use rill_core::Value;

fn batch(first: i64) -> RecordBatch {
    let base = t("2020-07-21T21:40:00Z").millis() / 1000;
    RecordBatch::try_from_iter([
        (
            "t",
            Arc::new(TimestampSecondArray::from(vec![
                base + first,
                base + first + 1,
            ])) as ArrayRef,
        ),
        (
            "u",
            Arc::new(LargeStringArray::from(vec!["a", "b"])) as ArrayRef,
        ),
        (
            "d",
            Arc::new(Int64Array::from(vec![first, first + 1])) as ArrayRef,
        ),
        (
            "v",
            Arc::new(StringViewArray::from(vec!["x", "y"])) as ArrayRef,
        ),
        (
            "day",
            Arc::new(Date32Array::from(vec![18464, 18465])) as ArrayRef,
        ),
    ])
    .unwrap()
}

#[test]
fn rows_of_every_batch_become_events() {
    let opts = ArrowSourceOptions {
        key: Some(vec!["u", "d"].into()),
        time: Some("t".into()),
        id: Some("d".into()),
        ..Default::default()
    };
    let out = drain(&mut ArrowSource::new("frames", vec![batch(0), batch(10)], opts).unwrap());
    assert!(out.rejects.is_empty(), "{:?}", reject_messages(&out));
    let e = &out.events;
    assert_eq!(e.len(), 4);
    assert_eq!(e[3].time, t("2020-07-21T21:40:11Z"));
    assert_eq!(
        e[3].key,
        Value::List(vec![Value::from("b"), Value::Int(11)])
    );
    assert_eq!(e[2].id.as_deref(), Some("10"));
    assert_eq!(field(&e[1], "v"), &Value::from("y"));
    assert_eq!(field(&e[0], "day"), &Value::Time(t("2020-07-21T00:00:00Z")));
    // record numbers continue across batches
    assert_eq!(e.iter().map(|e| e.offset).collect::<Vec<_>>(), [1, 2, 3, 4]);
    // one schema for batches of the same shape
    let sch = |i: usize| e[i].body.as_record().unwrap().schema().clone();
    assert!(Arc::ptr_eq(&sch(0), &sch(3)));
}

#[test]
fn unsupported_column_type_is_an_error_naming_the_column() {
    let list = ListArray::from_iter_primitive::<Int64Type, _, _>(vec![Some(vec![Some(1)])]);
    let b = RecordBatch::try_from_iter([("l", Arc::new(list) as ArrayRef)]).unwrap();
    let mut src = ArrowSource::new("frames", vec![b], ArrowSourceOptions::default()).unwrap();
    let err = src.next_batch(&mut SourceBatch::default(), 10).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("reading 'frames': field 'l': column type List("),
        "{err}"
    );
}

#[test]
fn missing_key_column_is_a_config_error() {
    let opts = ArrowSourceOptions {
        key: Some("user".into()),
        ..Default::default()
    };
    let err = ArrowSource::new("frames", vec![batch(0)], opts)
        .unwrap()
        .next_batch(&mut SourceBatch::default(), 10)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "configuration error: field 'user' is not a column of 'frames' (columns: t, u, d, v, day)"
    );
}

#[test]
fn duplicate_column_names_are_an_error_before_any_row() {
    let col = || Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef;
    let schema = Arc::new(arrow::datatypes::Schema::new(vec![
        arrow::datatypes::Field::new("user", arrow::datatypes::DataType::Int64, true),
        arrow::datatypes::Field::new("click", arrow::datatypes::DataType::Int64, true),
        arrow::datatypes::Field::new("click", arrow::datatypes::DataType::Int64, true),
    ]));
    let b = RecordBatch::try_new(schema, vec![col(), col(), col()]).unwrap();
    let mut src = ArrowSource::new("frames", vec![b], ArrowSourceOptions::default()).unwrap();
    let mut out = SourceBatch::default();
    let err = src.next_batch(&mut out, 10).unwrap_err();
    assert_eq!(
        err.to_string(),
        "reading 'frames': duplicate column name 'click' (columns 2 and 3)"
    );
    assert!(out.events.is_empty());
}
