//! Each class of bad input, through a whole pipeline: under `fail` the run stops with a message
//! naming source, record and reason; under `dead_letter` the record is routed, counted, and the
//! run goes on. Never a panic.

use rill::Pipeline;
use std::path::Path;

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

fn pipeline(source: &str, steps: &str, out: &Path, policy: &str) -> Pipeline {
    let yaml = format!(
        "source: {source}\nsteps: {steps}\ntargets: [{{jsonl: {{path: {}}}}}]\nerror_policy: {policy}\n{}",
        out.join("out.jsonl").display(),
        if policy == "dead_letter" { format!("dead_letter: {{jsonl: {{path: {}}}}}\n", out.join("dead.jsonl").display()) } else { String::new() }
    );
    Pipeline::from_yaml(&yaml, "test.yaml", &[]).unwrap()
}

fn lines(p: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(p)
        .map(|t| {
            t.lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect()
        })
        .unwrap_or_default()
}

/// Runs under both policies; returns the fail-policy message and the dead letters.
fn both(
    source: &str,
    steps: &str,
) -> (
    String,
    Vec<serde_json::Value>,
    Vec<serde_json::Value>,
    rill::flow::RunSummary,
) {
    let dir = tempfile::tempdir().unwrap();
    let err = pipeline(source, steps, dir.path(), "fail")
        .run()
        .unwrap_err();
    let dir2 = tempfile::tempdir().unwrap();
    let ok = pipeline(source, steps, dir2.path(), "dead_letter")
        .run()
        .unwrap();
    (
        err.error.to_string(),
        lines(&dir2.path().join("out.jsonl")),
        lines(&dir2.path().join("dead.jsonl")),
        ok.summary,
    )
}

#[test]
fn malformed_json_line() {
    let dir = tempfile::tempdir().unwrap();
    let src = write(
        dir.path(),
        "in.jsonl",
        "{\"x\": 1}\n{\"x\": 2,\n[1, 2]\n{\"x\": 4}\n",
    );
    let (msg, good, dead, summary) = both(&format!("{{jsonl: {{path: {src}}}}}"), "[]");
    assert!(msg.starts_with(&format!("{src}, record 2: ")), "{msg}");
    assert_eq!(good.len(), 2);
    assert_eq!(dead.len(), 2);
    assert!(
        dead[1]["error"].as_str().unwrap().contains("record 3"),
        "{}",
        dead[1]["error"]
    );
    assert_eq!(
        (
            summary.records_read,
            summary.records_rejected,
            summary.dead_lettered
        ),
        (4, 2, 2)
    );
}

#[test]
fn missing_field_in_an_expression() {
    let dir = tempfile::tempdir().unwrap();
    let src = write(dir.path(), "in.csv", "id,x\n1,10\n2,\n3,30\n");
    let (msg, good, dead, summary) = both(
        &format!("{{csv: {{path: {src}, key: id}}}}"),
        "[{map: \"x * 2\"}]",
    );
    // the empty cell is null: arithmetic on it is an error naming the record and the key
    assert_eq!(msg, format!("step 'map' failed on record 3 (key 2) of {src}: expression `x * 2`: cannot multiply null by int 2"));
    assert_eq!(good.len(), 2);
    assert_eq!(dead[0]["step"], "map");
    assert_eq!(dead[0]["record"], 3);
    assert_eq!(summary.dead_lettered, 1);
    let (msg, ..) = both(
        &format!("{{csv: {{path: {src}, key: id}}}}"),
        "[{filter: \"y > 1\"}]",
    );
    assert!(
        msg.ends_with("expression `y > 1`: field 'y' is missing"),
        "{msg}"
    );
}

#[test]
fn type_mismatch_in_a_declared_column_and_in_an_expression() {
    let dir = tempfile::tempdir().unwrap();
    let src = write(dir.path(), "in.csv", "id,x\n1,10\n2,ten\n");
    let (msg, good, dead, _) = both(
        &format!("{{csv: {{path: {src}, types: {{x: int}}}}}}"),
        "[]",
    );
    assert_eq!(
        msg,
        format!("{src}, record 3: field 'x': 'ten' is not an int")
    );
    assert_eq!((good.len(), dead.len()), (1, 1));
    let src2 = write(dir.path(), "in2.csv", "id,x\n1,10\n2,ten\n");
    let (msg, _, dead, _) = both(
        &format!("{{csv: {{path: {src2}}}}}"),
        "[{filter: \"x > 5\"}]",
    );
    assert!(
        msg.ends_with("cannot compare string 'ten' with int 5"),
        "{msg}"
    );
    assert_eq!(dead.len(), 1);
}

#[test]
fn an_expression_that_fails() {
    let dir = tempfile::tempdir().unwrap();
    let src = write(dir.path(), "in.csv", "a,b\n6,3\n1,0\n8,2\n");
    let (msg, good, dead, summary) =
        both(&format!("{{csv: {{path: {src}}}}}"), "[{map: \"a / b\"}]");
    assert!(
        msg.starts_with(&format!(
            "step 'map' failed on record 3 of {src}: expression `a / b`: "
        )),
        "{msg}"
    );
    assert!(msg.contains("division by zero"), "{msg}");
    let vals: Vec<f64> = good.iter().map(|v| v.as_f64().unwrap()).collect();
    assert_eq!(vals, vec![2.0, 4.0]);
    assert_eq!(dead[0]["error_kind"], "expr");
    assert_eq!(summary.step("map").unwrap().errors, 1);
}

#[test]
fn a_missing_key_or_time_in_an_aggregation() {
    let dir = tempfile::tempdir().unwrap();
    let src = write(dir.path(), "in.jsonl", "{\"u\": \"a\", \"t\": \"2020-07-21T21:40:00Z\", \"x\": 1}\n{\"t\": \"2020-07-21T21:41:00Z\", \"x\": 2}\n{\"u\": \"a\", \"t\": \"soon\", \"x\": 3}\n{\"u\": \"a\", \"t\": \"2020-07-21T21:43:00Z\", \"x\": \"many\"}\n");
    let steps = "[{aggregate_by_key: {key: u, time: t, aggregates: [{name: s, field: x, ops: [sum], windows: {sliding: [1h], period: 10m}}]}}]";
    let (msg, good, dead, _) = both(&format!("{{jsonl: {{path: {src}}}}}"), steps);
    assert!(
        msg.ends_with("field 'u': the key field is missing or null"),
        "{msg}"
    );
    assert_eq!(good.len(), 1);
    let reasons: Vec<&str> = dead.iter().map(|d| d["error"].as_str().unwrap()).collect();
    assert_eq!(reasons.len(), 3);
    assert!(
        reasons[1].ends_with("field 't': 'soon' is not an ISO-8601 timestamp"),
        "{}",
        reasons[1]
    );
    assert!(
        reasons[2].contains("field 'x': aggregator 's'"),
        "{}",
        reasons[2]
    );
}

#[test]
fn a_typo_in_the_file_is_an_error_with_its_position() {
    let err = Pipeline::from_yaml("source: {csv: {path: x.csv, kye: user}}\n", "p.yaml", &[])
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "p.yaml:1:29: source.csv: unknown option \"kye\"; did you mean \"key\"?"
    );
}

#[test]
fn a_data_file_given_as_the_pipeline_says_so() {
    let err = Pipeline::from_file("data/clicks.csv", &[])
        .err()
        .unwrap()
        .to_string();
    assert_eq!(
        err,
        "configuration error: data/clicks.csv is a data file, not a pipeline: a pipeline is a \
         YAML file naming a source, steps and targets (e.g. examples/quickstart.yaml); read this \
         file with `source: {csv: {path: data/clicks.csv}}` or `--input data/clicks.csv`"
    );
}

#[test]
fn a_pipeline_reads_the_same_with_and_without_overrides() {
    // `y`, `no`, `on` are strings (YAML 1.2), also when `--set` sends the file through a tree
    let yaml = "name: y\nsource: {csv: {path: in.csv}}\nsteps: [{filter: {expr: \"true\", name: no}}]\ntargets: [{jsonl: {path: o.jsonl}}]\n";
    let plain = Pipeline::from_yaml(yaml, "p.yaml", &[]).unwrap();
    let set = rill::Override {
        path: "batch_size".into(),
        value: "3".into(),
    };
    let over = Pipeline::from_yaml(yaml, "p.yaml", &[set]).unwrap();
    assert_eq!(plain.config.name.as_deref(), Some("y"));
    assert_eq!(over.config.name.as_deref(), Some("y"));
    assert_eq!(over.config.batch_size, 3);
    assert_eq!(
        format!("{:?}", plain.config.steps),
        format!("{:?}", over.config.steps)
    );
}

#[test]
fn an_unclosed_quote_stops_the_run_at_its_line_and_the_rows_before_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(
        dir.path(),
        "q.csv",
        "time,user,click\n2020-01-01T00:00:00Z,u1,1\n2020-01-01T00:01:00Z,\"u2,1\n2020-01-01T00:02:00Z,u3,1\n",
    );
    let err = pipeline(
        &format!("{{csv: {{path: {csv}, key: user, time: time}}}}"),
        "[]",
        dir.path(),
        "fail",
    )
    .run()
    .unwrap_err();
    assert_eq!(
        err.error.to_string(),
        format!(
            "reading '{csv}': line 3: a quoted field of the row starting here is not \
             closed before the end of the file"
        )
    );
    // the row decoded before the failure was processed and counted (not silently dropped)
    assert_eq!(err.summary.records_read, 1);
    assert_eq!(err.summary.steps[0].events_in, 1);
    // and nothing was committed at the target path
    assert!(!dir.path().join("out.jsonl").exists());
}
