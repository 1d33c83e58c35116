//! Emit-policy state machine tests (the caller drives the clock).

use rill_agg::{Aggregations, AggregatorSpec, Emission, EmitPolicy, Emitter};
use rill_core::Timestamp;

const MIN: i64 = 60_000_000_000;
const T0: i64 = 1_595_367_600_000_000_000; // 21:40, a multiple of 10 minutes

fn aggs() -> Aggregations {
    let specs: Vec<AggregatorSpec> = serde_json::from_str(
        r#"[{"name":"a","ops":["count"],"windows":{"sliding":["1h","30m"],"period":"10m"}},
            {"name":"b","ops":["sum"],"windows":{"sliding":["20m"],"period":"5m"}}]"#,
    )
    .unwrap();
    Aggregations::new(specs).unwrap()
}
fn at(m: i64) -> Timestamp {
    Timestamp(T0 + m * MIN)
}
fn em(slot: u32, m: i64) -> Emission {
    Emission { slot, at: at(m) }
}
fn policy(yaml_json: &str) -> EmitPolicy {
    serde_json::from_str(yaml_json).unwrap()
}

#[test]
fn parses_policies() {
    assert_eq!(policy(r#""every_event""#), EmitPolicy::EveryEvent);
    assert_eq!(
        policy(r#"{"after_max_events":{"max_events":3,"timeout":"10s"}}"#),
        EmitPolicy::AfterMaxEvents {
            max_events: 3,
            timeout: Some(rill_core::Duration::from_secs(10))
        }
    );
    assert_eq!(
        policy(r#"{"after_period":{}}"#),
        EmitPolicy::AfterPeriod {
            delay: rill_core::Duration(0)
        }
    );
    assert!(
        serde_json::from_str::<EmitPolicy>(r#"{"after_window":{"delay":"1m","extra":1}}"#).is_err()
    );
    assert!(serde_json::from_str::<EmitPolicy>(r#""sometimes""#).is_err());
    assert!(Emitter::new(
        EmitPolicy::AfterMaxEvents {
            max_events: 0,
            timeout: None
        },
        &aggs()
    )
    .is_err());
}

#[test]
fn every_event_emits_immediately() {
    let mut e = Emitter::new(EmitPolicy::EveryEvent, &aggs()).unwrap();
    assert!(e.on_event(0, at(0)) && e.on_event(7, at(1)));
    assert_eq!(e.next_deadline(), None);
    let mut out = Vec::new();
    e.drain_at_termination(&mut out);
    assert!(out.is_empty());
}

#[test]
fn max_events_counts_per_key_and_flushes_leftovers() {
    let mut e = Emitter::new(policy(r#"{"after_max_events":{"max_events":2}}"#), &aggs()).unwrap();
    let fired: Vec<bool> = [(0, 0), (1, 1), (0, 2), (1, 3), (0, 4)]
        .iter()
        .map(|&(s, m)| e.on_event(s, at(m)))
        .collect();
    assert_eq!(fired, [false, false, true, true, false]);
    let mut out = Vec::new();
    e.due(at(1000), &mut out);
    assert!(out.is_empty(), "no timeout: nothing is due");
    e.drain_at_termination(&mut out);
    assert_eq!(out, [em(0, 4)], "storey drops this leftover (bug 10)");
}

#[test]
fn max_events_timeout_emits_latest_event() {
    let mut e = Emitter::new(
        policy(r#"{"after_max_events":{"max_events":3,"timeout":"5m"}}"#),
        &aggs(),
    )
    .unwrap();
    assert!(!e.on_event(0, at(0)));
    assert!(!e.on_event(0, at(2)));
    assert!(!e.on_event(1, at(3)));
    assert_eq!(e.next_deadline(), Some(at(5)));
    let mut out = Vec::new();
    e.due(at(4), &mut out);
    assert!(out.is_empty());
    e.due(at(5), &mut out);
    assert_eq!(
        out,
        [em(0, 2)],
        "slot 0: the latest pending event, 5m after the first"
    );
    // A count-triggered emission cancels the pending timeout.
    assert!(!e.on_event(1, at(4)));
    assert!(e.on_event(1, at(6)));
    out.clear();
    e.due(at(100), &mut out);
    assert!(out.is_empty());
    assert_eq!(e.next_deadline(), None);
}

#[test]
fn after_period_emits_each_active_key_at_the_boundary() {
    // Smallest period over the step's aggregators is 5m.
    let mut e = Emitter::new(policy(r#"{"after_period":{"delay":"1m"}}"#), &aggs()).unwrap();
    for (s, m) in [(0, 0), (0, 1), (1, 3), (0, 6)] {
        assert!(!e.on_event(s, at(m)));
    }
    assert_eq!(e.next_deadline(), Some(at(6)));
    let mut out = Vec::new();
    e.due(at(5), &mut out);
    assert!(out.is_empty(), "boundary 21:45 + 1m delay not reached");
    e.due(at(6), &mut out);
    // Features at the last instant of the period 21:40–21:45.
    let end = Timestamp(at(5).0 - 1);
    assert_eq!(
        out,
        [Emission { slot: 0, at: end }, Emission { slot: 1, at: end }]
    );
    // A late event of the already emitted period queues a correcting emission.
    e.on_event(1, at(2));
    out.clear();
    e.due(at(7), &mut out);
    assert_eq!(out, [Emission { slot: 1, at: end }]);
    out.clear();
    e.drain_at_termination(&mut out);
    assert_eq!(
        out,
        [Emission {
            slot: 0,
            at: Timestamp(at(10).0 - 1)
        }]
    );
}

#[test]
fn after_window_uses_smallest_window() {
    let mut e = Emitter::new(policy(r#"{"after_window":{}}"#), &aggs()).unwrap();
    e.on_event(3, at(1));
    e.on_event(3, at(15));
    // Smallest window is 20m; 21:40 lies in 21:40–22:00.
    assert_eq!(e.next_deadline(), Some(at(20)));
    let mut out = Vec::new();
    e.due(at(40), &mut out);
    assert_eq!(
        out,
        [Emission {
            slot: 3,
            at: Timestamp(at(20).0 - 1)
        }]
    );
}

#[test]
fn after_delay_debounces() {
    let mut e = Emitter::new(policy(r#"{"after_delay":{"delay":"5m"}}"#), &aggs()).unwrap();
    e.on_event(2, at(0));
    e.on_event(2, at(4));
    let mut out = Vec::new();
    e.due(at(5), &mut out);
    assert_eq!(out, [em(2, 4)]);
    e.on_event(2, at(7));
    out.clear();
    e.drain_at_termination(&mut out);
    assert_eq!(out, [em(2, 7)]);
}

#[test]
fn timeout_and_delay_run_on_the_arrival_clock_features_stay_at_event_time() {
    // a live flow: events carry old times (minute 0, 1) and arrive at minute 500 on its clock
    for (policy_json, fires_at) in [
        (
            r#"{"after_max_events":{"max_events":5,"timeout":"2m"}}"#,
            502,
        ),
        (r#"{"after_delay":{"delay":"3m"}}"#, 503),
    ] {
        let mut e = Emitter::new(policy(policy_json), &aggs()).unwrap();
        assert!(!e.on_event_at(4, at(0), at(500)));
        assert!(!e.on_event_at(4, at(1), at(500)));
        assert_eq!(e.next_deadline(), Some(at(fires_at)), "{policy_json}");
        let mut out = Vec::new();
        e.due(at(fires_at - 1), &mut out);
        assert!(out.is_empty(), "{policy_json}: fired before its deadline");
        e.due(at(fires_at), &mut out);
        // features at the key's latest event time, not at the arrival clock
        assert_eq!(out, vec![em(4, 1)], "{policy_json}");
    }
    // periods stay in event time: the (5-minute) period of minute 1 ends at minute 5, whatever
    // `now` is
    let mut e = Emitter::new(policy(r#"{"after_period":{}}"#), &aggs()).unwrap();
    e.on_event_at(0, at(1), at(500));
    assert_eq!(e.next_deadline(), Some(at(5)));
}
