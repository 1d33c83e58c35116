//! A caller-driven graph: events pushed into entry steps (`Flow::entry_factory`,
//! `Graph::push_at`) go through the rest of the graph depth first, on the caller's thread.

use rill_core::{Event, Value};
use rill_flow::{step_factory, steps, Flow, Step};

#[test]
fn two_entries_feed_a_fan_in_in_push_order() {
    let mut flow = Flow::new();
    let map = |k: i64| {
        step_factory::from_fn(move |_| {
            Ok(Box::new(steps::Map::new(move |v: &Value| {
                Value::Int(v.as_i64().unwrap() * k)
            })) as Box<dyn Step>)
        })
    };
    let tens = flow.entry_factory("tens", map(10));
    let hundreds = flow.entry_factory("hundreds", map(100));
    let fold = step_factory::from_fn(|_| {
        Ok(Box::new(steps::Reduce::new(
            Value::List(vec![]),
            |acc: Value, v: &Value| {
                let mut l = acc.as_list().unwrap().to_vec();
                l.push(v.clone());
                Ok(Value::List(l))
            },
        )) as Box<dyn Step>)
    });
    flow.then_after_factory(&[tens, hundreds], "fold", fold);
    let mut graph = flow.build().unwrap();
    // entries read no source: pushing elsewhere is the only way in
    graph.push_at(tens, Event::new(Value::Int(1))).unwrap();
    graph.push_at(hundreds, Event::new(Value::Int(2))).unwrap();
    graph.push_at(tens, Event::new(Value::Int(3))).unwrap();
    let r = graph.finish().unwrap();
    assert_eq!(
        r,
        Some(Value::List(vec![
            Value::Int(10),
            Value::Int(200),
            Value::Int(30)
        ]))
    );
}
