//! Loading storey conformance cases and comparing outputs.
#![allow(dead_code)]

use rill_core::{json, Event, Timestamp, Value};

pub fn case(name: &str) -> serde_json::Value {
    let path = format!(
        "{}/../../tests/data/storey/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    serde_json::from_str(&text).expect("valid JSON")
}

pub fn input_events(case: &serde_json::Value, field: &str) -> Vec<Event> {
    case[field]
        .as_array()
        .expect("input list")
        .iter()
        .map(|e| {
            let mut ev = Event::new(json::from_json(&e["body"]));
            ev.key = json::from_json(&e["key"]);
            ev.time = Timestamp::parse_iso(e["time"].as_str().expect("time")).expect("iso time");
            ev
        })
        .collect()
}

/// Compares values as maps with a relative float tolerance; ints and floats must match kinds.
pub fn assert_close(got: &serde_json::Value, want: &serde_json::Value, ctx: &str) {
    use serde_json::Value as J;
    match (got, want) {
        (J::Number(a), J::Number(b)) => {
            assert_eq!(
                a.is_f64(),
                b.is_f64(),
                "{ctx}: int/float kind differs: got {a}, want {b}"
            );
            let (x, y) = (a.as_f64().unwrap(), b.as_f64().unwrap());
            assert!(
                (x - y).abs() <= 1e-9 * y.abs().max(1.0),
                "{ctx}: got {x}, want {y}"
            );
        }
        (J::Object(a), J::Object(b)) => {
            let mut ka: Vec<_> = a.keys().collect();
            let mut kb: Vec<_> = b.keys().collect();
            ka.sort();
            kb.sort();
            assert_eq!(ka, kb, "{ctx}: fields differ");
            for (k, v) in b {
                assert_close(&a[k], v, &format!("{ctx}.{k}"));
            }
        }
        (J::Array(a), J::Array(b)) => {
            assert_eq!(
                a.len(),
                b.len(),
                "{ctx}: list lengths differ: got {got}, want {want}"
            );
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                assert_close(x, y, &format!("{ctx}[{i}]"));
            }
        }
        _ => assert_eq!(got, want, "{ctx}"),
    }
}

/// Compares emitted events with the case's `expected` list (key, time when present, body).
pub fn assert_events(got: &[Event], expected: &[serde_json::Value], ctx: &str) {
    assert_eq!(
        got.len(),
        expected.len(),
        "{ctx}: number of events; got {:?}",
        got.iter()
            .map(|e| json::to_json(&e.body))
            .collect::<Vec<_>>()
    );
    for (i, (g, w)) in got.iter().zip(expected).enumerate() {
        assert_eq!(json::to_json(&g.key), w["key"], "{ctx}[{i}] key");
        if let Some(t) = w.get("time").and_then(|t| t.as_str()) {
            assert_eq!(g.time, Timestamp::parse_iso(t).unwrap(), "{ctx}[{i}] time");
        }
        assert_close(
            &json::to_json(&g.body),
            &w["body"],
            &format!("{ctx}[{i}] body"),
        );
    }
}

pub fn num(v: &Value) -> f64 {
    v.as_f64().expect("number")
}
