//! Emit policies and query types of the keyed aggregation steps, end to end in flows.

use rill_core::{Event, Record, Timestamp, Value};
use rill_flow::config::{build_chain, BuildContext, StepConfig};
use rill_flow::steps::Collect;
use rill_flow::Flow;

fn flow(steps: serde_json::Value, cx: &BuildContext) -> (Flow, rill_flow::steps::Collected) {
    let cfg: Vec<StepConfig<()>> = serde_json::from_value(steps).unwrap();
    let none = |_: &()| -> rill_core::Result<(String, std::sync::Arc<dyn rill_flow::StepFactory>)> {
        unreachable!()
    };
    let (sink, got) = Collect::new();
    (
        build_chain(Flow::new().context(cx.clone()), &cfg, &[], &none)
            .unwrap()
            .then("sink", sink),
        got,
    )
}

fn ev(key: &str, hm: &str, x: i64) -> Event {
    let t = Timestamp::parse_iso(&format!("2020-07-21T{hm}:00Z")).unwrap();
    Event::new(Record::from_pairs([("x", Value::Int(x))]))
        .with_key(key)
        .with_time(t)
}

fn agg(emit: serde_json::Value, windows: serde_json::Value) -> serde_json::Value {
    serde_json::json!([{"aggregate_by_key": {"table": "t", "emit": emit,
        "aggregates": [{"name": "s", "field": "x", "ops": ["sum", "count"], "windows": windows}]}}])
}

#[test]
fn after_period_emits_each_active_key_once_per_period_in_event_time() {
    let (f, got) = flow(
        agg(
            serde_json::json!({"after_period": {}}),
            serde_json::json!({"sliding": ["1h"], "period": "10m"}),
        ),
        &BuildContext::default(),
    );
    f.run_events([
        ev("a", "21:41", 1),
        ev("b", "21:43", 10),
        ev("a", "21:45", 2),
        ev("a", "21:52", 4),
        ev("b", "22:15", 20),
    ])
    .unwrap();
    let out: Vec<(String, String, f64)> = got
        .events()
        .iter()
        .map(|e| {
            (
                e.key.as_str().unwrap().to_string(),
                e.time.to_iso(),
                e.body.get("s_sum_1h").unwrap().as_f64().unwrap(),
            )
        })
        .collect();
    let end = |hm: &str| format!("2020-07-21T{hm}:59.999999999+00:00");
    assert_eq!(
        out,
        vec![
            // the 21:40 period closes when event time passes 21:50: a (1+2) and b (10)
            ("a".into(), end("21:49"), 3.0),
            ("b".into(), end("21:49"), 10.0),
            // the 21:50 period closes when 22:15 arrives: only a was active (1+2+4)
            ("a".into(), end("21:59"), 7.0),
            // the 22:10 period is flushed at termination
            ("b".into(), end("22:19"), 30.0),
        ]
    );
}

#[test]
fn after_max_events_with_leftovers_and_every_event_counts() {
    let (f, got) = flow(
        agg(
            serde_json::json!({"after_max_events": {"max_events": 2}}),
            serde_json::json!({"sliding": ["1h"], "period": "10m"}),
        ),
        &BuildContext::default(),
    );
    f.run_events([
        ev("a", "21:41", 1),
        ev("a", "21:42", 2),
        ev("a", "21:43", 3),
    ])
    .unwrap();
    let sums: Vec<f64> = got
        .events()
        .iter()
        .map(|e| e.body.get("s_sum_1h").unwrap().as_f64().unwrap())
        .collect();
    assert_eq!(
        sums,
        vec![3.0, 6.0],
        "the 2nd event, then the leftover at termination"
    );
}

#[test]
fn query_by_key_reads_current_open_or_last_closed_fixed_window() {
    let cx = BuildContext::default();
    let (f, _) = flow(
        agg(
            serde_json::json!("every_event"),
            serde_json::json!({"fixed": ["1h"]}),
        ),
        &cx,
    );
    f.run_events([
        ev("a", "21:10", 1),
        ev("a", "21:20", 2),
        ev("a", "22:05", 5),
    ])
    .unwrap();
    let query = |kind: &str| {
        let (q, got) = flow(
            serde_json::json!([{"query_by_key": {"table": "t", "features": ["s_sum_1h"], "fixed_window": kind}}]),
            &cx,
        );
        q.run_events([ev("a", "22:30", 0)]).unwrap();
        got.events()[0]
            .body
            .get("s_sum_1h")
            .unwrap()
            .as_f64()
            .unwrap()
    };
    assert_eq!(query("current_open"), 5.0);
    assert_eq!(query("last_closed"), 3.0);
}

#[test]
fn late_side_output_goes_to_its_branch_and_is_counted() {
    use std::collections::HashMap;
    use std::sync::Mutex;
    // targets are named collectors: the builder keeps a handle per name
    let handles: Mutex<HashMap<String, rill_flow::steps::Collected>> = Mutex::default();
    let build =
        |name: &String| -> rill_core::Result<(String, std::sync::Arc<dyn rill_flow::StepFactory>)> {
            let (c, h) = Collect::new();
            handles.lock().unwrap().insert(name.clone(), h);
            Ok((
                name.clone(),
                rill_flow::step_factory::from_fn(move |_| Ok(Box::new(c.clone()))),
            ))
        };
    let steps = serde_json::json!([{"aggregate_by_key": {"table": "late",
        "late_events": {"steps": [{"map": "body + {late: true}"}], "targets": ["late"]},
        "aggregates": [{"name": "s", "field": "x", "ops": ["sum"], "windows": {"sliding": ["1h"], "period": "10m"}, "late": "side_output"}]}}]);
    let cfg: Vec<StepConfig<String>> = serde_json::from_value(steps).unwrap();
    let f = build_chain(Flow::new(), &cfg, &["main".to_string()], &build).unwrap();
    let out = f
        .run_events([
            ev("a", "21:41", 1),
            ev("a", "21:55", 2),
            ev("a", "21:45", 100),
            ev("a", "21:56", 4),
        ])
        .unwrap();
    let h = handles.lock().unwrap();
    let sums: Vec<f64> = h["main"]
        .events()
        .iter()
        .map(|e| e.body.get("s_sum_1h").unwrap().as_f64().unwrap())
        .collect();
    assert_eq!(
        sums,
        vec![1.0, 3.0, 7.0],
        "the late event is not aggregated nor emitted on the main chain"
    );
    let late = h["late"].events();
    assert_eq!(late.len(), 1);
    assert_eq!(late[0].body.get("x"), Some(&Value::Int(100)));
    assert_eq!(late[0].body.get("late"), Some(&Value::Bool(true)));
    assert_eq!(out.summary.counter("late_side_output"), 1);
}

#[test]
fn a_live_flow_times_out_on_the_wall_clock_even_for_events_with_old_times() {
    use rill_flow::ControllerOptions;
    // the event carries a time from 2020: its timeout must still run 300 ms of wall-clock time
    // from its arrival (measuring it from the event's time fired it at once)
    let (f, got) = flow(
        agg(
            serde_json::json!({"after_max_events": {"max_events": 10, "timeout": "300ms"}}),
            serde_json::json!({"sliding": ["1h"], "period": "10m"}),
        ),
        &BuildContext::default(),
    );
    let c = f.start(ControllerOptions::default()).unwrap();
    let sent = std::time::Instant::now();
    c.emit_event(ev("a", "21:41", 5)).unwrap();
    let mut emitted = None;
    for _ in 0..2_500 {
        if !got.events().is_empty() {
            emitted = Some(sent.elapsed());
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let emitted = emitted.expect("the timeout never emitted the pending event");
    // a lower bound only: a slow machine emits later, never earlier
    assert!(
        emitted >= std::time::Duration::from_millis(250),
        "emitted after {emitted:?}, before its 300 ms timeout"
    );
    let out = got.events();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].body.get("s_sum_1h"), Some(&Value::Float(5.0)));
    assert_eq!(out[0].time.to_iso(), "2020-07-21T21:41:00+00:00");
    c.terminate().unwrap();
    c.await_termination().unwrap();
    assert_eq!(
        got.events().len(),
        1,
        "nothing left to flush at termination"
    );
}

#[test]
fn events_older_than_the_retained_buckets_get_null_features_and_are_counted() {
    // 1h and 24h windows of 10m: a key retains 2·144 − 1 = 287 buckets (47h50m) behind its
    // newest one. Late events inside them are aggregated; their windows that reach further
    // back, where data was already discarded, are null rather than computed without it.
    let (f, got) = flow(
        agg(
            serde_json::json!("every_event"),
            serde_json::json!({"sliding": ["1h", "24h"], "period": "10m"}),
        ),
        &BuildContext::default(),
    );
    let at = |iso: &str, x: i64| {
        Event::new(Record::from_pairs([("x", Value::Int(x))]))
            .with_key("a")
            .with_time(Timestamp::parse_iso(iso).unwrap())
    };
    let out = f
        .run_events([
            at("2020-07-20T12:00:00Z", 1),
            // newest: 48h later, so the first event's bucket is no longer retained
            at("2020-07-22T12:00:00Z", 2),
            // 25h behind: aggregated (late); its 24h window holds the discarded 12:00 event
            at("2020-07-21T11:00:00Z", 4),
            // 48h10m behind: older than the retained buckets, not aggregated
            at("2020-07-20T11:50:00Z", 8),
            at("2020-07-22T12:05:00Z", 16),
        ])
        .unwrap();
    let feats: Vec<Vec<Value>> = got
        .events()
        .iter()
        .map(|e| {
            ["s_sum_1h", "s_sum_24h", "s_count_1h", "s_count_24h"]
                .iter()
                .map(|n| e.body.get(n).cloned().unwrap())
                .collect()
        })
        .collect();
    let n = |x: f64| Value::Float(x);
    assert_eq!(
        feats,
        vec![
            vec![n(1.0), n(1.0), n(1.0), n(1.0)],
            vec![n(2.0), n(2.0), n(1.0), n(1.0)],
            vec![n(4.0), Value::Null, n(1.0), Value::Null],
            vec![Value::Null, Value::Null, Value::Null, Value::Null],
            vec![n(18.0), n(18.0), n(2.0), n(2.0)],
        ]
    );
    assert_eq!(out.summary.counter("late_events"), 1);
    assert_eq!(out.summary.counter("too_late"), 1);
    assert_eq!(out.summary.counter("late_dropped"), 0);
}
