//! What `rill run` and `rill validate` print: the summary (text and `--json-summary`), `-q`,
//! the termination result, and warnings about chains whose events reach no target.

mod common;

use common::rill;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `in.csv` (an int column `a`, with one bad row) and `p.yaml` with `yaml`.
fn setup(yaml: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.csv"), "a\n1\nx\n2\n0\n5\n4\n").unwrap();
    std::fs::write(dir.path().join("p.yaml"), yaml).unwrap();
    dir
}

const COUNTED: &str = "source: {csv: {path: in.csv, types: {a: int}}}\nsteps: [{filter: \"a != 2\"}, {map: \"body + {q: 10 / a}\"}]\ntargets: [{jsonl: {path: out.jsonl}}]\nerror_policy: dead_letter\ndead_letter: {jsonl: {path: dead.jsonl}}\n";

#[test]
fn the_json_summary_accounts_for_every_record() {
    let dir = setup(COUNTED);
    let out = rill(dir.path(), &["run", "p.yaml", "--json-summary"]);
    // a rejected row (x) and a failing one (0): the outputs are complete but not whole
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let step = |name: &str| {
        s["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == name)
            .unwrap_or_else(|| panic!("no step {name} in {s}"))
            .clone()
    };
    let counter = |name: &str, c: &str| {
        step(name)["counters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|kv| kv[0] == c)
            .map(|kv| kv[1].as_u64().unwrap())
            .unwrap_or(0)
    };
    let read = s["records_read"].as_u64().unwrap();
    let rejected = s["records_rejected"].as_u64().unwrap();
    let dead = s["dead_lettered"].as_u64().unwrap();
    let written = counter("jsonl:out.jsonl", "rows_written");
    let filtered = counter("filter", "filtered");
    assert_eq!((read, written, filtered, rejected, dead), (6, 3, 1, 1, 2));
    // a rejected record is dead-lettered too: records read = written + filtered + dead-lettered,
    // of which `rejected` were rejected by the source and the rest failed in a step
    assert_eq!(read, written + filtered + dead);
    assert_eq!(dead - rejected, step("map")["errors"].as_u64().unwrap());
    assert_eq!(counter("dead_letter", "rows_written"), dead);
    assert!(s["seconds"].as_f64().unwrap() >= 0.0);
    assert!(s.get("warnings").is_none(), "{s}");
}

#[test]
fn quiet_prints_nothing_but_errors() {
    let dir = setup(COUNTED);
    let out = rill(dir.path(), &["run", "-q", "p.yaml"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(out.stdout.is_empty() && out.stderr.is_empty());
    let out = rill(
        dir.path(),
        &[
            "run",
            "-q",
            "p.yaml",
            "--set",
            "error_policy=fail",
            "--set",
            "dead_letter=null",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert_eq!(
        text(&out.stderr),
        "error: in.csv, record 3: field 'a': 'x' is not an int\n"
    );
}

#[test]
fn a_result_goes_to_stdout_and_the_summary_to_stderr() {
    let dir = setup(
        "source: {csv: {path: in.csv}}\nsteps: [{filter: \"a != 'x'\"}, {reduce: {initial: 0, expr: \"acc + a\"}}]\n",
    );
    let out = rill(dir.path(), &["run", "p.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "12\n");
    let err = text(&out.stderr);
    assert!(
        err.starts_with(
            "source in.csv: 6 records read, 0 rejected; 0 failures dead-lettered, 0 recovered\n"
        ),
        "{err}"
    );
    assert!(err.contains("\n  reduce "), "{err}");
    // a reduce ends its chain well: no warning
    assert!(!err.contains("warning"), "{err}");
    let out = rill(dir.path(), &["run", "p.yaml", "--json-summary"]);
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["result"], 12);
}

#[test]
fn chains_reaching_no_target_are_warnings_in_validate_and_in_the_summary() {
    let dir = setup(
        "source: {csv: {path: in.csv}}\nsteps:\n  - branch:\n      steps:\n        - filter: \"a == '1'\"\n  - map: \"body\"\n",
    );
    let warnings = [
        "warning: p.yaml:4:7: steps.0.branch: this branch has no targets: the events out of steps.0.branch.steps.0 (filter) are not written anywhere",
        "warning: p.yaml:1:1: the pipeline has no targets: the events out of steps.1 (map) are not written anywhere",
    ];
    let out = rill(dir.path(), &["validate", "p.yaml"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), "p.yaml: ok\n");
    assert_eq!(text(&out.stderr), format!("{}\n", warnings.join("\n")));
    let out = rill(dir.path(), &["run", "p.yaml"]);
    assert_eq!(out.status.code(), Some(0));
    let err = text(&out.stderr);
    let lines: Vec<&str> = err.lines().collect();
    // after the counts, before the time
    assert_eq!(&lines[lines.len() - 3..lines.len() - 1], &warnings, "{err}");
    let out = rill(dir.path(), &["run", "p.yaml", "--json-summary"]);
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        s["warnings"],
        serde_json::json!(warnings.map(|w| w.strip_prefix("warning: ").unwrap()))
    );
}

#[test]
fn summary_columns_stay_aligned_under_long_names() {
    let dir = setup("source: {csv: {path: in.csv}}\nsteps: [{filter: {expr: \"a != 'x'\", name: keep_the_numbers}}]\ntargets: [{csv: {path: a/rather/long/directory/name/for/the/output/of/this/run.csv}}, {jsonl: {path: o.jsonl}}]\n");
    let out = rill(dir.path(), &["run", "p.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    let rows: Vec<&str> = err.lines().filter(|l| l.starts_with("  ")).collect();
    assert_eq!(rows.len(), 3, "{err}");
    let col = |l: &str| l.find(" in ").unwrap();
    assert!(rows.iter().all(|r| col(r) == col(rows[0])), "{err}");
    let out_col = |l: &str| l.find(" out ").unwrap();
    assert!(rows.iter().all(|r| out_col(r) == out_col(rows[0])), "{err}");
    assert_eq!(
        col(rows[1]),
        2 + "csv:a/rather/long/directory/name/for/the/output/of/this/run.csv".len()
    );
}
