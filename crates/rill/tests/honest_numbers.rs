//! "Never emit a number known to be wrong": a mistyped field is an error before any record is
//! read when the source's fields are known, and counted per aggregator when they are not.

use rill::Pipeline;
use std::path::Path;

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

const AGG: &str = r#"
  - aggregate_by_key:
      aggregates:
        - {name: clicks, field: clik, ops: [sum], windows: {sliding: [1h], period: 10m}}
        - {name: spend, field: amount, ops: [sum], windows: {sliding: [1h], period: 10m}}"#;

#[test]
fn a_mistyped_aggregation_field_of_a_csv_is_a_build_error() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(
        dir.path(),
        "in.csv",
        "time,user,click,amount\n2020-01-01T00:00:00Z,u1,1,2.5\n",
    );
    let yaml = format!(
        "source: {{csv: {{path: {csv}, key: user, time: time}}}}\nsteps:{AGG}\ntargets: [{{jsonl: {{path: {}/o.jsonl}}}}]\n",
        dir.path().display()
    );
    let p = Pipeline::from_yaml(&yaml, "p.yaml", &[]).unwrap();
    let err = p.validate().unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "p.yaml:5:33: steps.0.aggregate_by_key.aggregates.0.field: aggregator \
             'clicks': field 'clik' is not among the fields of {csv} here (time, user, click, \
             amount); did you mean 'click'?"
        )
    );
    // the run fails the same way, before writing anything
    assert_eq!(p.run().unwrap_err().error.to_string(), err);
    assert!(!dir.path().join("o.jsonl").exists());
}

#[test]
fn a_field_added_by_an_earlier_step_is_known() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(
        dir.path(),
        "in.csv",
        "time,user,click,amount\n2020-01-01T00:00:00Z,u1,1,2.5\n",
    );
    // rename makes `clik` exist; a map makes the fields unknown (checked at run time instead)
    for steps in [
        format!("\n  - rename: {{click: clik}}{AGG}"),
        format!("\n  - map: \"body + {{clik: click}}\"{AGG}"),
    ] {
        let yaml = format!(
            "source: {{csv: {{path: {csv}, key: user, time: time}}}}\nsteps:{steps}\ntargets: [{{jsonl: {{path: {}/o.jsonl}}}}]\n",
            dir.path().display()
        );
        let p = Pipeline::from_yaml(&yaml, "p.yaml", &[]).unwrap();
        p.validate().unwrap_or_else(|e| panic!("{steps}: {e}"));
        let out = p.run().unwrap();
        assert_eq!(out.summary.counter("field_missing.clicks"), 0, "{steps}");
    }
}

#[test]
fn a_field_missing_from_json_events_is_counted_per_aggregator() {
    let dir = tempfile::tempdir().unwrap();
    let jsonl = write(
        dir.path(),
        "in.jsonl",
        concat!(
            r#"{"time":"2020-01-01T00:00:00Z","user":"u1","click":1,"amount":2.5}"#,
            "\n",
            r#"{"time":"2020-01-01T00:01:00Z","user":"u1","click":1}"#,
            "\n",
            r#"{"time":"2020-01-01T00:02:00Z","user":"u2","click":0,"amount":1.0}"#,
            "\n"
        ),
    );
    let yaml = format!(
        "source: {{jsonl: {{path: {jsonl}, key: user, time: time}}}}\nsteps:{AGG}\ntargets: [{{jsonl: {{path: {}/o.jsonl}}}}]\n",
        dir.path().display()
    );
    let out = Pipeline::from_yaml(&yaml, "p.yaml", &[])
        .unwrap()
        .run()
        .unwrap();
    assert_eq!(out.summary.counter("field_missing.clicks"), 3);
    assert_eq!(out.summary.counter("field_missing.spend"), 1);
    let text = out.summary.to_string();
    assert!(text.contains("field_missing.clicks"), "{text}");
}

#[test]
fn map_with_state_per_key_starts_from_initial() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(
        dir.path(),
        "in.csv",
        "user,click\nu1,1\nu2,1\nu1,0\nu1,1\nu2,1\n",
    );
    let yaml = format!(
        r#"
source: {{csv: {{path: {csv}, key: user}}}}
steps:
  - map_with_state: {{table: t, initial: 0, state: "state + click", output: "{{user: user, clicks: new_state}}", name: clicks}}
  - map_with_state: {{table: t, initial: {{n: 10}}, state: "{{n: state.n + 1}}", output: "body + {{n: new_state.n, stored: state.clicks}}"}}
targets: [{{jsonl: {{path: {out}/o.jsonl}}}}]
"#,
        out = dir.path().display()
    );
    Pipeline::from_yaml(&yaml, "p.yaml", &[])
        .unwrap()
        .run()
        .unwrap();
    let got = std::fs::read_to_string(dir.path().join("o.jsonl")).unwrap();
    assert_eq!(
        got,
        concat!(
            r#"{"user":"u1","clicks":1,"n":11,"stored":1}"#,
            "\n",
            r#"{"user":"u2","clicks":1,"n":11,"stored":1}"#,
            "\n",
            r#"{"user":"u1","clicks":1,"n":12,"stored":1}"#,
            "\n",
            r#"{"user":"u1","clicks":2,"n":13,"stored":2}"#,
            "\n",
            r#"{"user":"u2","clicks":2,"n":12,"stored":2}"#,
            "\n"
        )
    );
}
