//! Tables over the memory and embedded drivers, through the public API: what a flush writes a
//! reopened table reads, snapshots restore exactly, other definitions are refused.

use rill_agg::AggregatorSpec;
use rill_core::{Record, Timestamp, Value};
use rill_table::{Table, TableOptions};
use std::path::Path;

fn specs(windows: &str) -> Vec<AggregatorSpec> {
    serde_json::from_str(&format!(
        r#"[{{"name":"clicks","field":"click","ops":["count","sum","p50"],"windows":{{"sliding":{windows},"period":"10m"}}}}]"#
    ))
    .unwrap()
}

const T0: i64 = 1_595_368_800_000_000_000;
const MIN: i64 = 60_000_000_000;

/// Aggregates `n` events for keys k0..k4 into the table's store.
fn fill(t: &Table, n: i64) {
    let s = t.agg_store(specs(r#"["1h","2h"]"#)).unwrap();
    let mut d = s.data.lock();
    for i in 0..n {
        let key = Value::from(format!("k{}", i % 5));
        let slot = d.slot(&key, &s.aggs).unwrap();
        s.aggs.update(
            &mut d.states[slot as usize],
            0,
            Timestamp(T0 + i * 7 * MIN),
            &Value::Int(i % 3),
        );
        d.touch(slot);
    }
    drop(d);
    t.merge_attrs(
        &Value::from("k1"),
        &Record::from_pairs([("color", Value::from("red"))]),
    )
    .unwrap();
}

fn features(t: &Table, key: &str, at: i64) -> Vec<(String, Value)> {
    t.read_key(&Value::from(key), Timestamp(at))
        .unwrap()
        .unwrap()
        .features
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

#[test]
fn a_reopened_store_reads_what_was_flushed_and_not_more() {
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("s").display().to_string();
    let memory = Table::memory("t");
    fill(&memory, 40);
    let at = T0 + 40 * 7 * MIN;
    {
        let t = Table::open("t", &url, Path::new(""), TableOptions::default()).unwrap();
        fill(&t, 40);
        t.flush(Some(&rill_table::Progress {
            source: "x".into(),
            records: 40,
        }))
        .unwrap();
        // changed after the flush, never flushed: lost with the process, as after a crash
        t.merge_attrs(
            &Value::from("k1"),
            &Record::from_pairs([("color", Value::from("blue"))]),
        )
        .unwrap();
    }
    let t = Table::open("t", &url, Path::new(""), TableOptions::default()).unwrap();
    assert_eq!(t.resumed_from().unwrap().records, 40);
    for k in ["k0", "k1", "k4"] {
        assert_eq!(features(&t, k, at), features(&memory, k, at), "{k}");
    }
    let k1 = t
        .read_key(&Value::from("k1"), Timestamp(at))
        .unwrap()
        .unwrap();
    assert_eq!(k1.attrs.unwrap().get("color"), Some(&Value::from("red")));
    assert!(t
        .read_key(&Value::from("nobody"), Timestamp(at))
        .unwrap()
        .is_none());
}

#[test]
fn snapshots_restore_exactly() {
    let t = Table::memory("t");
    fill(&t, 60);
    let snap = t.snapshot();
    // a time the second fill lands in (its events are late, inside the retained span)
    let at = T0 + 58 * 7 * MIN;
    let before: Vec<_> = ["k0", "k3"].iter().map(|k| features(&t, k, at)).collect();
    fill(&t, 60);
    assert_ne!(features(&t, "k0", at), before[0]);
    t.restore(&snap).unwrap();
    let after: Vec<_> = ["k0", "k3"].iter().map(|k| features(&t, k, at)).collect();
    assert_eq!(after, before);
    assert_eq!(t.snapshot(), snap);
    let other = Table::memory("o");
    assert!(other
        .restore(&snap)
        .unwrap_err()
        .to_string()
        .contains("does not have"));
}

#[test]
fn an_aggregator_of_another_definition_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("s").display().to_string();
    {
        let t = Table::open("t", &url, Path::new(""), TableOptions::default()).unwrap();
        fill(&t, 5);
        t.flush(None).unwrap();
    }
    let t = Table::open("t", &url, Path::new(""), TableOptions::default()).unwrap();
    let e = t
        .agg_store(specs(r#"["1h","3h"]"#))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("holds aggregator 'clicks'") && e.contains("cannot be mixed"),
        "{e}"
    );
    // the same definition is the same store
    let a = t.agg_store(specs(r#"["1h","2h"]"#)).unwrap();
    let b = t.agg_store(specs(r#"["1h","2h"]"#)).unwrap();
    assert!(std::sync::Arc::ptr_eq(&a, &b));
}
