//! A `Flow` is a description: every build runs fresh instances of its steps, over the tables
//! of the context it is built in; `query_by_key` finds aggregation state created after it.

use rill_core::{Event, Record, Timestamp, Value};
use rill_flow::config::{build_chain, BuildContext, StepConfig};
use rill_flow::steps::{self, Collect};
use rill_flow::{ControllerOptions, Flow, Step};

fn ints(n: i64) -> impl Iterator<Item = Event> {
    (1..=n).map(|i| Event::new(Value::Int(i)))
}

fn sum(acc: Value, v: &Value) -> rill_core::Result<Value> {
    Ok(Value::Int(acc.as_i64().unwrap() + v.as_i64().unwrap()))
}

#[test]
fn every_build_of_a_flow_starts_its_steps_afresh() {
    let flow = Flow::new()
        .then(
            "odd",
            steps::Filter::new(|v: &Value| v.as_i64().unwrap() % 2 == 1),
        )
        .then("sum", steps::Reduce::new(Value::Int(0), sum));
    // a stateful closure: each build gets its own copy of the counter (the collector's clones
    // share one list)
    let mut seen = 0;
    let (sink, got) = Collect::new();
    let counted = Flow::new()
        .then(
            "count",
            steps::Map::new(move |_v: &Value| {
                seen += 1;
                Value::Int(seen)
            }),
        )
        .then("sink", sink);
    for _ in 0..3 {
        assert_eq!(
            flow.run_events(ints(5)).unwrap().result,
            Some(Value::Int(9))
        );
        counted.run_events(ints(3)).unwrap();
        let bodies: Vec<Value> = got.take().into_iter().map(|e| e.body).collect();
        assert_eq!(bodies, [Value::Int(1), Value::Int(2), Value::Int(3)]);
    }
}

#[test]
fn a_factory_step_is_made_at_each_build_over_the_context_tables() {
    let cx = BuildContext::default();
    let flow = Flow::new()
        .context(cx.clone())
        .then_with("state", |cx: &BuildContext| {
            let table = cx.tables.get_or_create("counts");
            let step = steps::MapWithState::per_key_from(table, Value::Int(0), "n", |_b, s| {
                let n = Value::Int(s.as_i64().unwrap() + 1);
                Ok((n.clone(), n))
            });
            Ok(Box::new(step) as Box<dyn Step>)
        });
    let events = || ["a", "b", "a"].map(|k| Event::new(Value::Null).with_key(Value::from(k)));
    flow.run_events(events()).unwrap();
    flow.run_events(events()).unwrap();
    // both builds used the context's table: the counts went on
    let t = cx.tables.get("counts").unwrap();
    assert_eq!(
        t.attrs(&Value::from("a")).unwrap().unwrap().get("n"),
        Some(&Value::Int(4))
    );
    // built in another context, the step uses that context's table
    let other = BuildContext::default();
    flow.build_in(&other).unwrap();
    assert!(other.tables.get("counts").is_some());
}

#[test]
fn a_prefix_is_the_flows_own_first_steps_and_must_stand_alone() {
    let flow = Flow::new()
        .then("a", steps::Map::new(|v: &Value| v.clone()))
        .then("b", steps::Reduce::new(Value::Int(0), sum));
    let p = flow
        .prefix(1)
        .unwrap()
        .then("sum", steps::Reduce::new(Value::Int(0), sum));
    assert_eq!(p.run_events(ints(4)).unwrap().result, Some(Value::Int(10)));
    let err = flow.prefix(3).err().unwrap().to_string();
    assert!(err.contains("first 3 steps are not a chain"), "{err}");
    // a recovery chain added after its step refers to a later node: not a prefix
    let recovered = Flow::new()
        .then("a", steps::Map::new(|v: &Value| v.clone()))
        .recover(None, |f| {
            f.then("r", steps::Map::new(|v: &Value| v.clone()))
        });
    assert!(recovered.prefix(1).is_err());
    assert!(recovered.prefix(2).is_ok());
}

fn chain(steps: serde_json::Value, cx: &BuildContext) -> Flow {
    let cfg: Vec<StepConfig<()>> = serde_json::from_value(steps).unwrap();
    let none = |_: &()| -> rill_core::Result<(String, std::sync::Arc<dyn rill_flow::StepFactory>)> {
        unreachable!()
    };
    build_chain(Flow::new().context(cx.clone()), &cfg, &[], &none).unwrap()
}

fn click(key: &str, hm: &str) -> Event {
    let t = Timestamp::parse_iso(&format!("2020-07-21T{hm}:00Z")).unwrap();
    Event::new(Record::from_pairs([("click", Value::Int(1))]))
        .with_key(key)
        .with_time(t)
}

#[test]
fn query_by_key_finds_aggregations_created_after_it_was_built() {
    let cx = BuildContext::default();
    cx.tables
        .get_or_create("t")
        .merge_attrs(
            &Value::from("u1"),
            &Record::from_pairs([("color", Value::from("red"))]),
        )
        .unwrap();
    // the query runs (a built graph, live) before any aggregation of the table exists
    let query = chain(
        serde_json::json!([{"query_by_key": {"table": "t", "features": ["clicks_count_1h", "color"]}},
                           {"complete": {}}]),
        &cx,
    );
    let live = query.start(ControllerOptions::default()).unwrap();
    let ask = |hm: &str| {
        let handle = live.emit_event(click("u1", hm)).unwrap().unwrap();
        let body = handle.wait().unwrap();
        (
            body.get("clicks_count_1h").cloned(),
            body.get("color").cloned(),
        )
    };
    assert_eq!(ask("21:50"), (Some(Value::Null), Some(Value::from("red"))));
    // another flow of the process creates the aggregation and fills it
    chain(
        serde_json::json!([{"aggregate_by_key": {"table": "t", "aggregates": [
            {"name": "clicks", "field": "click", "ops": ["count"],
             "windows": {"sliding": ["1h"], "period": "10m"}}]}}]),
        &cx,
    )
    .run_events([click("u1", "21:41"), click("u1", "21:45")])
    .unwrap();
    // the same running graph now reads it
    assert_eq!(
        ask("21:50"),
        (Some(Value::Float(2.0)), Some(Value::from("red")))
    );
    live.terminate().unwrap();
    live.await_termination().unwrap();
}
