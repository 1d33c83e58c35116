//! storey's plain-step conformance cases, run through the real engine with Rust closures.
//! Events are emitted one at a time through a controller, as storey's `SyncEmitSource` does.

mod common;

use common::*;
use rill_core::{Error, Event, Record, Value};
use rill_flow::steps::{self, Choice, Collect, GroupBy};
use rill_flow::{ControllerOptions, Flow};
use rill_table::Table;

fn emit_all(flow: Flow, events: Vec<Event>) -> Option<Value> {
    let c = flow.start(ControllerOptions::default()).unwrap();
    for e in events {
        c.emit_event(e).unwrap();
    }
    c.terminate().unwrap();
    c.await_termination().unwrap()
}

#[test]
fn flatmap_filter_map() {
    let case = case("flatmap_filter_map");
    let (sink, got) = Collect::new();
    let flow = Flow::new()
        .then(
            "flat_map",
            steps::FlatMap::new(|b: &Value| {
                let n = b.get("n").and_then(Value::as_i64).unwrap_or(0);
                (0..n)
                    .map(|j| {
                        Value::Record(Record::from_pairs([
                            ("n", Value::Int(n)),
                            ("j", Value::Int(j)),
                        ]))
                    })
                    .collect()
            }),
        )
        .then(
            "filter",
            steps::Filter::new(|b: &Value| {
                b.get("j").and_then(Value::as_i64).unwrap_or(1) % 2 == 0
            }),
        )
        .then(
            "map",
            steps::Map::new(|b: &Value| {
                let mut r = b.as_record().unwrap().clone();
                let j = r.get("j").and_then(Value::as_i64).unwrap();
                r.set("j10", Value::Int(j * 10));
                Value::Record(r)
            }),
        )
        .then("sink", sink);
    emit_all(flow, input_events(&case, "input"));
    assert_events(
        &got.events(),
        case["expected"].as_array().unwrap(),
        "flatmap_filter_map",
    );
}

#[test]
fn choice_routing_sends_to_zero_or_more_outlets() {
    let case = case("choice_routing");
    let amount = |e: &Event| e.body.get("amount").and_then(Value::as_f64).unwrap_or(0.0);
    let choice = Choice::new()
        .when("big", move |e| Ok(amount(e) >= 100.0))
        .when("audit", move |e| Ok(amount(e) >= 100.0))
        .when("small", move |e| Ok((0.0..100.0).contains(&amount(e))));
    let mut flow = Flow::new().then("choice", choice);
    let mut sinks = Vec::new();
    for name in ["big", "small", "audit"] {
        let (sink, got) = Collect::new();
        flow = flow.route(name, |f| f.then("collect", sink));
        sinks.push((name, got));
    }
    emit_all(flow, input_events(&case, "input"));
    for (name, got) in sinks {
        let want: Vec<serde_json::Value> = case["expected"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["branch"] == name)
            .cloned()
            .collect();
        assert_events(&got.events(), &want, name);
    }
}

#[test]
fn extend_overwrites_in_place_and_rename_moves_fields_last() {
    let case = case("extend_rename");
    let (sink, got) = Collect::new();
    let flow = Flow::new()
        .then(
            "extend",
            steps::Extend::new(|b: &Value| {
                let a = b.get("a").and_then(Value::as_i64).unwrap();
                let bb = b.get("b").and_then(Value::as_i64).unwrap();
                Record::from_pairs([("total", Value::Int(a + bb)), ("a", Value::Int(0))])
            }),
        )
        .then(
            "rename",
            steps::Rename::new([("a", "alpha"), ("missing", "m")]),
        )
        .then("sink", sink);
    emit_all(flow, input_events(&case, "input"));
    let out = got.events();
    assert_events(&out, case["expected"].as_array().unwrap(), "extend_rename");
    let names: Vec<&str> = out[0]
        .body
        .as_record()
        .unwrap()
        .schema()
        .names()
        .iter()
        .map(|n| n.as_str())
        .collect();
    assert_eq!(names, ["b", "total", "alpha"], "storey's field order");
}

#[test]
fn reduce_result_is_the_termination_result() {
    let case = case("reduce_sum_and_list");
    let flow = Flow::new()
        .then(
            "map",
            steps::Map::new(|b: &Value| {
                Value::Float(b.get("v").and_then(Value::as_f64).unwrap() * 2.0)
            }),
        )
        .then(
            "reduce",
            steps::Reduce::new(Value::Int(0), |acc, b| {
                Ok(Value::Float(acc.as_f64().unwrap() + b.as_f64().unwrap()))
            }),
        );
    let result = emit_all(flow, input_events(&case, "input")).expect("reduce result");
    assert_close(
        &rill_core::json::to_json(&result),
        &case["expected_termination_result"],
        "reduce",
    );
}

#[test]
fn map_with_state_global_threads_state() {
    let case = case("map_with_state_global");
    let (sink, got) = Collect::new();
    let flow = Flow::new()
        .then(
            "mws",
            steps::MapWithState::global(Value::Int(1000), |b, s| Ok((s, b.clone()))),
        )
        .then("sink", sink);
    emit_all(flow, input_events(&case, "input"));
    assert_events(
        &got.events(),
        case["expected"].as_array().unwrap(),
        "map_with_state_global",
    );
}

#[test]
fn map_with_state_per_key_uses_table_attributes() {
    let case = case("map_with_state_table_state");
    let table = Table::memory("state");
    let (sink, got) = Collect::new();
    let step = steps::MapWithState::per_key(table.clone(), |b, state| {
        let st = state.as_record().unwrap();
        let count = st.get("count").and_then(Value::as_i64).unwrap_or(0) + 1;
        let total = st.get("total").and_then(Value::as_i64).unwrap_or(0)
            + b.get("x")
                .and_then(Value::as_i64)
                .ok_or_else(|| Error::field("x", "missing"))?;
        let mut out = b.as_record().unwrap().clone();
        out.set("running_count", Value::Int(count));
        out.set("running_total", Value::Int(total));
        Ok((
            Value::Record(out),
            Value::Record(Record::from_pairs([
                ("count", Value::Int(count)),
                ("total", Value::Int(total)),
            ])),
        ))
    });
    let flow = Flow::new().then("mws", step).then("sink", sink);
    emit_all(flow, input_events(&case, "input"));
    assert_events(
        &got.events(),
        case["expected"].as_array().unwrap(),
        "map_with_state_table_state",
    );
    // the state stays readable in the table after the flow
    assert_eq!(
        table
            .attrs(&Value::from("a"))
            .unwrap()
            .unwrap()
            .get("total"),
        Some(&Value::Int(6))
    );
}

#[test]
fn batch_max_events_flushes_remainder_at_termination() {
    let case = case("batch_max_events");
    let (sink, got) = Collect::new();
    let flow = Flow::new()
        .then("batch", steps::Batch::new(Some(3), None, GroupBy::None))
        .then("sink", sink);
    emit_all(flow, input_events(&case, "input"));
    assert_events(
        &got.events(),
        case["expected"].as_array().unwrap(),
        "batch_max_events",
    );
}
