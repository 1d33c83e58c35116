//! Helpers for the unit tests: drain a source, drive a target by hand.

use rill_core::{Event, Record, Timestamp, Value};
use rill_flow::{Cx, Source, SourceBatch, Step};
use std::path::{Path, PathBuf};

/// Reads a source to its end (in small batches, to exercise batch boundaries).
pub fn drain(src: &mut dyn Source) -> SourceBatch {
    let mut all = SourceBatch::default();
    loop {
        let mut b = SourceBatch::default();
        let more = src.next_batch(&mut b, 3).expect("source failed");
        assert!(
            b.events.len() + b.rejects.len() <= 3,
            "a batch exceeded max"
        );
        all.events.append(&mut b.events);
        all.rejects.append(&mut b.rejects);
        if !more {
            return all;
        }
    }
}

/// Reject messages of a batch.
pub fn reject_messages(b: &SourceBatch) -> Vec<String> {
    b.rejects.iter().map(|f| f.error.to_string()).collect()
}

/// Feeds events through a target and terminates it; returns the events it passed on.
pub fn run_target(step: &mut dyn Step, events: Vec<Event>) -> Vec<Event> {
    let mut cx = Cx::new(Timestamp::from_secs(1_600_000_000));
    let mut out = Vec::new();
    for e in events {
        step.process(e, &mut cx).expect("target failed");
        out.extend(cx.take_outputs());
    }
    step.terminate(&mut cx).expect("terminate failed");
    out.extend(cx.take_outputs());
    out
}

/// Writes `text` to `dir/name`, returning the path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write test file");
    p
}

/// A body field of an event.
pub fn field<'a>(e: &'a Event, name: &str) -> &'a Value {
    e.body
        .get(name)
        .unwrap_or_else(|| panic!("no field {name} in {:?}", e.body))
}

/// An ISO time.
pub fn t(s: &str) -> Timestamp {
    Timestamp::parse_iso(s).expect("valid time")
}

/// A path as the string the configs take.
pub fn s(p: &Path) -> String {
    p.display().to_string()
}

/// Three events of assorted value types (time, text with quotes, NaN, null, bool).
pub fn events() -> Vec<Event> {
    let rows = [
        ("u1", 1, 1.0, true, "plain", "2020-07-21T21:40:00Z"),
        (
            "u2",
            0,
            2.5,
            false,
            "with, comma and \"quotes\"",
            "2020-07-21T21:41:00.250Z",
        ),
        ("u1", 7, f64::NAN, true, "", "2020-07-21T21:42:00Z"),
    ];
    rows.iter()
        .enumerate()
        .map(|(i, (u, c, a, ok, note, time))| {
            let note = if note.is_empty() {
                Value::Null
            } else {
                Value::from(*note)
            };
            let body = Record::from_pairs([
                ("time", Value::Time(t(time))),
                ("user", Value::from(*u)),
                ("click", Value::Int(*c)),
                ("amount", Value::Float(*a)),
                ("ok", Value::Bool(*ok)),
                ("note", note),
            ]);
            let mut e = Event::new(body)
                .with_key(*u)
                .with_time(t(time))
                .with_id(format!("id{i}"));
            e.offset = i as u64 + 1;
            e
        })
        .collect()
}

/// An event whose body has the field `click` twice (fields 3 and 4), as `Schema::new` allows.
pub fn duplicate_field_event() -> Event {
    let schema = rill_core::Schema::new(["time", "user", "click", "click"]);
    let body = Record::new(
        schema,
        vec![
            Value::Time(t("2021-01-01T00:00:00Z")),
            Value::from("u1"),
            Value::Int(1),
            Value::Int(2),
        ],
    );
    let mut e = Event::new(body);
    e.offset = 2;
    e
}
