//! Engine behaviour: controller, errors and recovery, fan-out/fan-in, timers, concurrency.

use rill_core::{Duration, Error, Event, Record, Timestamp, Value};
use rill_flow::steps::{self, Collect, ConcurrentOptions, EmitPeriod, GroupBy};
use rill_flow::{ControllerOptions, ErrorPolicy, Flow, Step};

fn int(v: &Value) -> i64 {
    v.as_i64().unwrap()
}

fn ints(events: &[Event]) -> Vec<i64> {
    events.iter().map(|e| int(&e.body)).collect()
}

fn fails_on_three() -> steps::Map {
    steps::Map::try_new(|v: &Value| {
        if int(v) == 3 {
            Err(Error::user("three is not allowed"))
        } else {
            Ok(v.clone())
        }
    })
}

#[test]
fn fail_policy_stops_with_a_message_naming_step_record_and_key() {
    let (sink, got) = Collect::new();
    let flow = Flow::new()
        .then("check", fails_on_three())
        .then("sink", sink);
    let err = flow
        .run_events((1..=5).map(|i| Event::new(Value::Int(i)).with_key("k")))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "step 'check' failed on record 3 (key \"k\") of events: three is not allowed"
    );
    assert_eq!(ints(&got.events()), vec![1, 2]);
    assert_eq!(err.summary.step("check").unwrap().errors, 1);
}

#[test]
fn dead_letter_policy_routes_failures_and_counts_them() {
    let (sink, got) = Collect::new();
    let (dl, dead) = Collect::new();
    let flow = Flow::new()
        .then("check", fails_on_three())
        .then("sink", sink)
        .error_policy(ErrorPolicy::DeadLetter)
        .dead_letter(dl);
    let out = flow
        .run_events((1..=5).map(|i| Event::new(Value::Int(i))))
        .unwrap();
    assert_eq!(ints(&got.events()), vec![1, 2, 4, 5]);
    assert_eq!(out.summary.dead_lettered, 1);
    let d = dead.events();
    assert_eq!(d.len(), 1);
    let body = d[0].body.as_record().unwrap();
    assert_eq!(body.get("step"), Some(&Value::from("check")));
    assert_eq!(body.get("record"), Some(&Value::Int(3)));
    assert_eq!(body.get("body"), Some(&Value::Int(3)));
    assert_eq!(body.get("error_kind"), Some(&Value::from("user")));
    assert!(body
        .get("error")
        .unwrap()
        .as_str()
        .unwrap()
        .ends_with("three is not allowed"));
}

#[test]
fn recovery_chain_gets_failed_events_with_their_error() {
    let (sink, got) = Collect::new();
    let (rec, recovered) = Collect::new();
    let flow = Flow::new()
        .then("check", fails_on_three())
        .recover(Some("user"), |f| {
            f.then("fix", steps::Map::new(|_| Value::Int(-3)))
                .then("recovered", rec)
        })
        .then("sink", sink);
    let out = flow
        .run_events((1..=4).map(|i| Event::new(Value::Int(i))))
        .unwrap();
    assert_eq!(ints(&got.events()), vec![1, 2, 4]);
    let r = recovered.events();
    assert_eq!(ints(&r), vec![-3]);
    assert!(r[0]
        .error()
        .unwrap()
        .to_string()
        .contains("three is not allowed"));
    assert_eq!(out.summary.recovered, 1);
}

#[test]
fn recovery_by_kind_leaves_other_kinds_to_the_policy() {
    let flow = Flow::new()
        .then("check", fails_on_three())
        .recover(Some("field"), |f| {
            f.then("never", steps::Map::new(|v| v.clone()))
        });
    let err = flow
        .run_events((1..=4).map(|i| Event::new(Value::Int(i))))
        .unwrap_err();
    assert!(err.to_string().contains("three is not allowed"));
}

#[test]
fn branches_get_copies_and_fan_in_terminates_after_all_inputs() {
    let (left, l) = Collect::new();
    let (sum_sink, total) = Collect::new();
    let mut flow = Flow::new().then("src", steps::Map::new(|v| v.clone()));
    let a = flow.tail().unwrap();
    flow = flow.branch(|f| f.then("left", left));
    flow = flow.then("double", steps::Map::new(|v| Value::Int(int(v) * 2)));
    let b = flow.tail().unwrap();
    let flow = flow
        .then_after(
            &[a, b],
            "merge",
            steps::Reduce::new(Value::Int(0), |acc, v| Ok(Value::Int(int(&acc) + int(v)))),
        )
        .branch(|f| f.then("unused", sum_sink));
    let out = flow
        .run_events((1..=3).map(|i| Event::new(Value::Int(i))))
        .unwrap();
    assert_eq!(ints(&l.events()), vec![1, 2, 3]);
    // merge sees 1,2,3 from `src` and 2,4,6 from `double`
    assert_eq!(out.result, Some(Value::Int(18)));
    assert!(total.events().is_empty(), "reduce emits nothing");
}

#[test]
fn a_cycle_or_unknown_route_is_a_build_error() {
    let flow = Flow::new().then("choice", steps::Choice::new().when("nowhere", |_| Ok(true)));
    let err = flow.build().err().unwrap();
    assert!(
        err.to_string().contains("choice routes to 'nowhere'"),
        "{err}"
    );
}

#[test]
fn controller_returns_awaitable_results_and_null_for_filtered_events() {
    let flow = Flow::new()
        .then("odd", steps::Filter::new(|v| int(v) % 2 == 1))
        .then("square", steps::Map::new(|v| Value::Int(int(v) * int(v))))
        .then("complete", steps::Complete::new());
    let c = flow
        .start(ControllerOptions {
            buffer_size: 2,
            ..Default::default()
        })
        .unwrap();
    let handles: Vec<_> = (0..6)
        .map(|i| c.emit(Value::Int(i)).unwrap().unwrap())
        .collect();
    let results: Vec<Value> = handles.iter().map(|h| h.wait().unwrap()).collect();
    assert_eq!(
        results,
        vec![
            Value::Null,
            Value::Int(1),
            Value::Null,
            Value::Int(9),
            Value::Null,
            Value::Int(25)
        ]
    );
    c.terminate().unwrap();
    let out = c.finish().unwrap();
    assert_eq!(
        out.summary.step("odd").unwrap().counters,
        vec![("filtered".to_string(), 3)]
    );
}

#[test]
fn controller_reraises_the_flow_error() {
    let flow = Flow::new()
        .then("check", fails_on_three())
        .then("complete", steps::Complete::new());
    let c = flow.start(ControllerOptions::default()).unwrap();
    let h = c.emit(Value::Int(3)).unwrap().unwrap();
    let e = h.wait().unwrap_err();
    assert!(e.to_string().contains("three is not allowed"));
    // the flow is dead: a later emit fails with the same error (once the worker has stopped)
    let mut later = None;
    for _ in 0..1000 {
        match c.emit(Value::Int(1)) {
            Err(e) => {
                later = Some(e);
                break;
            }
            Ok(_) => std::thread::yield_now(),
        }
    }
    assert!(later
        .expect("emit fails after the flow died")
        .to_string()
        .contains("three is not allowed"));
    assert!(c
        .await_termination()
        .unwrap_err()
        .to_string()
        .contains("three is not allowed"));
}

#[test]
fn emit_after_terminate_is_an_error() {
    let (sink, got) = Collect::new();
    let c = Flow::new()
        .then("sink", sink)
        .start(ControllerOptions::default())
        .unwrap();
    c.emit(Value::Int(1)).unwrap();
    c.terminate().unwrap();
    let err = c.emit(Value::Int(2)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "flow is not running: the flow was terminated"
    );
    assert!(c.terminate().is_err(), "terminating twice is refused too");
    c.await_termination().unwrap();
    assert_eq!(
        ints(&got.events()),
        vec![1],
        "the event emitted before terminate is processed"
    );
}

#[test]
fn key_field_sets_the_key() {
    let (sink, got) = Collect::new();
    let flow = Flow::new().then("sink", sink);
    let c = flow
        .start(ControllerOptions {
            key_field: Some("user".into()),
            ..Default::default()
        })
        .unwrap();
    c.emit(Record::from_pairs([("user", Value::from("u7"))]))
        .unwrap();
    c.terminate().unwrap();
    c.await_termination().unwrap();
    assert_eq!(got.events()[0].key, Value::from("u7"));
}

#[tokio::test]
async fn async_controller_emits_and_awaits() {
    let flow = Flow::new()
        .then("inc", steps::Map::new(|v| Value::Int(int(v) + 1)))
        .then("complete", steps::Complete::new());
    let c = flow.start(ControllerOptions::default()).unwrap();
    let h = c.emit_async(Value::Int(1)).await.unwrap().unwrap();
    assert_eq!(h.future().await.unwrap(), Value::Int(2));
    c.terminate_async().await.unwrap();
    assert_eq!(c.await_termination_async().await.unwrap(), None);
}

#[test]
fn batch_flushes_on_its_timer_in_event_time() {
    // event-time clock (pull source): the batch of 1,2 is due 10s after its first event
    let (sink, got) = Collect::new();
    let flow = Flow::new()
        .then(
            "batch",
            steps::Batch::new(None, Some(Duration::from_secs(10)), GroupBy::None),
        )
        .then("sink", sink);
    let t0 = Timestamp::from_secs(1_000);
    let evs =
        [0, 5, 12, 30].map(|s| Event::new(Value::Int(s)).with_time(t0.add(Duration::from_secs(s))));
    flow.run_events(evs).unwrap();
    let batches: Vec<Value> = got.events().into_iter().map(|e| e.body).collect();
    let l = |xs: &[i64]| Value::List(xs.iter().map(|&x| Value::Int(x)).collect());
    assert_eq!(batches, vec![l(&[0, 5]), l(&[12]), l(&[30])]);
}

#[test]
fn batch_flushes_on_wall_clock_timer_in_live_flows() {
    let (sink, got) = Collect::new();
    let flow = Flow::new()
        .then(
            "batch",
            steps::Batch::new(None, Some(Duration::from_millis(20)), GroupBy::None),
        )
        .then("sink", sink);
    let c = flow.start(ControllerOptions::default()).unwrap();
    c.emit(Value::Int(1)).unwrap();
    // no more events: only the timer can flush the batch
    let mut flushed = false;
    for _ in 0..500 {
        if !got.events().is_empty() {
            flushed = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    assert!(flushed, "batch was not flushed by its timer");
    c.terminate().unwrap();
    c.await_termination().unwrap();
}

#[test]
fn batch_groups_by_key() {
    let (sink, got) = Collect::new();
    let flow = Flow::new()
        .then("batch", steps::Batch::new(Some(2), None, GroupBy::EventKey))
        .then("sink", sink);
    let evs = [("a", 1), ("b", 2), ("a", 3), ("b", 4), ("b", 5)]
        .map(|(k, v)| Event::new(Value::Int(v)).with_key(k));
    flow.run_events(evs).unwrap();
    let out: Vec<(Value, Value)> = got.events().into_iter().map(|e| (e.key, e.body)).collect();
    let l = |xs: &[i64]| Value::List(xs.iter().map(|&x| Value::Int(x)).collect());
    assert_eq!(
        out,
        vec![
            (Value::from("a"), l(&[1, 3])),
            (Value::from("b"), l(&[2, 4])),
            (Value::from("b"), l(&[5]))
        ]
    );
}

#[test]
fn concurrent_keeps_input_order_and_retries() {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;
    let attempts = Arc::new(AtomicU32::new(0));
    let a = attempts.clone();
    let step = steps::Concurrent::new(
        ConcurrentOptions {
            max_in_flight: 4,
            retries: 2,
            backoff_factor: 0.001,
        },
        move |e: &Event| {
            let v = int(&e.body);
            // later events finish first; event 5 fails twice before succeeding
            std::thread::sleep(std::time::Duration::from_millis((10 - v as u64) * 2));
            if v == 5 && a.fetch_add(1, Ordering::SeqCst) < 2 {
                return Err(Error::user("flaky"));
            }
            Ok(Value::Int(v * 10))
        },
    );
    let (sink, got) = Collect::new();
    let flow = Flow::new().then("work", step).then("sink", sink);
    flow.run_events((0..10).map(|i| Event::new(Value::Int(i))))
        .unwrap();
    assert_eq!(
        ints(&got.events()),
        (0..10).map(|i| i * 10).collect::<Vec<_>>()
    );
    assert_eq!(attempts.load(Ordering::SeqCst), 3);
}

#[test]
fn concurrent_reports_the_last_failure() {
    let step = steps::Concurrent::new(
        ConcurrentOptions {
            max_in_flight: 2,
            retries: 1,
            backoff_factor: 0.0,
        },
        |_e: &Event| Err(Error::user("down")),
    );
    let err = Flow::new()
        .then("work", step)
        .run_events([Event::new(Value::Int(1))])
        .unwrap_err();
    assert!(err.to_string().ends_with("after 2 attempts: down"), "{err}");
}

#[test]
fn sample_window_emits_first_or_last_per_key() {
    let run = |period, before| {
        let (sink, got) = Collect::new();
        let step = steps::SampleWindow::new(3, period, before, GroupBy::EventKey).unwrap();
        let flow = Flow::new().then("sample", step).then("sink", sink);
        let evs =
            (1..=7).map(|i| Event::new(Value::Int(i)).with_key(if i <= 4 { "a" } else { "b" }));
        flow.run_events(evs).unwrap();
        ints(&got.events())
    };
    assert_eq!(run(EmitPeriod::First, false), vec![1, 4, 5]);
    assert_eq!(run(EmitPeriod::Last, false), vec![3, 7]);
    assert_eq!(run(EmitPeriod::Last, true), vec![3, 7, 4]);
    assert!(steps::SampleWindow::new(1, EmitPeriod::First, false, GroupBy::None).is_err());
}

#[test]
fn partition_splits_left_and_right() {
    let (sink, got) = Collect::new();
    let flow = Flow::new()
        .then("p", steps::Partition::new(|e: &Event| Ok(int(&e.body) > 1)))
        .then("sink", sink);
    flow.run_events([1, 2].map(|i| Event::new(Value::Int(i))))
        .unwrap();
    let out = got.events();
    assert_eq!(
        out[0].body,
        Value::Record(Record::from_pairs([
            ("left", Value::Null),
            ("right", Value::Int(1))
        ]))
    );
    assert_eq!(
        out[1].body,
        Value::Record(Record::from_pairs([
            ("left", Value::Int(2)),
            ("right", Value::Null)
        ]))
    );
}

#[test]
fn reify_metadata_and_for_each() {
    use std::sync::{Arc, Mutex};
    let seen = Arc::new(Mutex::new(0));
    let s = seen.clone();
    let (sink, got) = Collect::new();
    let flow = Flow::new()
        .then(
            "reify",
            steps::ReifyMetadata::new([
                ("k", steps::Attribute::Key),
                ("n", steps::Attribute::Offset),
            ]),
        )
        .then(
            "each",
            steps::ForEach::new(move |_| {
                *s.lock().unwrap() += 1;
                Ok(())
            }),
        )
        .then("sink", sink);
    flow.run_events([Event::new(Record::from_pairs([("x", Value::Int(1))])).with_key("a")])
        .unwrap();
    assert_eq!(got.events()[0].body.get("k"), Some(&Value::from("a")));
    assert_eq!(got.events()[0].body.get("n"), Some(&Value::Int(1)));
    assert_eq!(*seen.lock().unwrap(), 1);
}

/// A step whose terminate fails: the error names the step.
#[derive(Clone)]
struct BadFlush;
impl Step for BadFlush {
    fn process(&mut self, _e: Event, _cx: &mut rill_flow::Cx) -> rill_flow::StepResult {
        Ok(())
    }
    fn terminate(&mut self, _cx: &mut rill_flow::Cx) -> rill_core::Result<Option<Value>> {
        Err(Error::io("writing out.csv", "disk full"))
    }
}

#[test]
fn termination_errors_name_the_step() {
    let err = Flow::new()
        .then("target", BadFlush)
        .run_events([Event::new(Value::Int(1))])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "step 'target' (termination): writing out.csv: disk full"
    );
}
