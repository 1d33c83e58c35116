//! Bad market-data rows are reported and counted, never dropped silently or fatal.

use arrow::array::{ArrayRef, BooleanArray, Float64Array, RecordBatch, StringArray};
use parquet::arrow::ArrowWriter;
use rill_core::{Event, Record, Value};
use rill_feature::{FeaturizerConfig, OfflineFeatureStreamGenerator, OfflineInput, Registry};
use std::sync::Arc;

const CFG: &str = "feature_configs:\n  - {feature_definition: l2_book.l2_snapshot, name: l2, params: {depth: 1, source: {name: book}}}";

#[test]
fn bad_l2_rows_and_late_events_are_counted_with_their_messages() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("book.parquet");
    // row 3: a side that is neither bid nor ask; row 5: earlier than the row before it
    let ts = [10.0, 10.0, 11.0, 12.0, 11.5, 13.0];
    let delta = [false, false, true, true, true, true];
    let side = ["bid", "ask", "middle", "bid", "bid", "ask"];
    let price = [100.0, 101.0, 100.5, 99.0, 98.0, 101.5];
    let batch = RecordBatch::try_from_iter([
        (
            "timestamp",
            Arc::new(Float64Array::from(ts.to_vec())) as ArrayRef,
        ),
        (
            "receipt_timestamp",
            Arc::new(Float64Array::from(ts.to_vec())) as ArrayRef,
        ),
        (
            "delta",
            Arc::new(BooleanArray::from(delta.to_vec())) as ArrayRef,
        ),
        (
            "side",
            Arc::new(StringArray::from(side.to_vec())) as ArrayRef,
        ),
        (
            "price",
            Arc::new(Float64Array::from(price.to_vec())) as ArrayRef,
        ),
        (
            "size",
            Arc::new(Float64Array::from(vec![1.0; 6])) as ArrayRef,
        ),
    ])
    .unwrap();
    let mut w =
        ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let fs = FeaturizerConfig::from_yaml(CFG)
        .unwrap()
        .build(&Registry::builtin())
        .unwrap();
    let mut gen = OfflineFeatureStreamGenerator::new(
        &fs,
        vec![("book".into(), OfflineInput::Parquet(vec![path]))],
    )
    .unwrap();
    let out: Vec<_> = gen.by_ref().collect::<Result<_, _>>().unwrap();
    // the snapshot at 10, the delta at 12, the one at 13; 11.5 is late, 11's row is bad
    let times: Vec<f64> = out
        .iter()
        .map(|g| g.value("l2", "timestamp").unwrap().as_f64().unwrap())
        .collect();
    assert_eq!(times, vec![10.0, 12.0, 13.0]);
    let st = &gen.stats()[0];
    assert_eq!(
        (st.rows, st.rejected, st.out_of_order, st.events),
        (6, 1, 1, 3)
    );
    assert!(
        st.problems[0].contains("record 3: field 'side' is middle, not 'bid' or 'ask'"),
        "{:?}",
        st.problems
    );
    assert!(
        st.problems[1].contains("is earlier than the event before it"),
        "{:?}",
        st.problems
    );
}

#[test]
fn in_memory_events_that_do_not_fit_the_schema_are_counted() {
    let fs = FeaturizerConfig::from_yaml(
        "feature_configs:\n  - {feature_definition: price.mid_price, name: m, params: {dep_schema: ticker, ticker: {name: t}}}",
    )
    .unwrap()
    .build(&Registry::builtin())
    .unwrap();
    let tick = |bid: Value| {
        Event::new(Record::from_pairs([
            ("timestamp", Value::Float(1.0)),
            ("receipt_timestamp", Value::Float(1.0)),
            ("bid", bid),
            ("ask", Value::Float(3.0)),
        ]))
    };
    let evs = vec![
        tick(Value::Float(1.0)),
        tick(Value::Null),
        tick(Value::Int(2)),
    ];
    let mut gen =
        OfflineFeatureStreamGenerator::new(&fs, vec![("t".into(), OfflineInput::Events(evs))])
            .unwrap();
    let mids: Vec<f64> = gen
        .by_ref()
        .map(|g| {
            g.unwrap()
                .value("m", "mid_price")
                .unwrap()
                .as_f64()
                .unwrap()
        })
        .collect();
    assert_eq!(mids, vec![2.0, 2.5]);
    let st = &gen.stats()[0];
    assert_eq!((st.rows, st.rejected), (3, 1));
    assert!(
        st.problems[0].contains("field 'bid': expected Float, got null"),
        "{:?}",
        st.problems
    );
}
