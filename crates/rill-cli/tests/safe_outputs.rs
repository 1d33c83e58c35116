//! Outputs through the real `rill` binary: a failed run never replaces a previous output, an
//! output that is an input is refused, output directories are created before reading.

use std::path::Path;
use std::process::Output;

mod common;

/// `rill args…` in the working directory.
fn rill(args: &[&str]) -> Output {
    common::rill(Path::new("."), args)
}

fn write_pipeline(dir: &Path, yaml: &str) -> String {
    let p = dir.join("p.yaml");
    std::fs::write(&p, yaml).unwrap();
    p.display().to_string()
}

#[test]
fn a_failing_run_leaves_the_previous_output_intact() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    // 3000 rows; the map divides by zero at row 2001 (record 2002 of the file, after the
    // header), well after the first flushes of 1024 rows
    let mut csv = String::from("a,b\n");
    for i in 1..=3000 {
        csv.push_str(&format!("{i},{}\n", if i == 2001 { 0 } else { 1 }));
    }
    std::fs::write(dir.path().join("in.csv"), csv).unwrap();
    std::fs::write(dir.path().join("out.csv"), "previous\noutput\n").unwrap();
    let p = write_pipeline(
        dir.path(),
        &format!(
            "source: {{csv: {{path: {d}/in.csv}}}}\nsteps: [{{map: \"a / b\"}}]\ntargets: [{{csv: {{path: {d}/out.csv, columns: [v=$key]}}}}]\n"
        ),
    );
    let out = rill(&["run", &p]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with(&format!(
            "error: step 'map' failed on record 2002 of {d}/in.csv: expression `a / b`: "
        )),
        "{err}"
    );
    // nothing reached the file: the summary says so
    assert!(err.contains("rows_written 0"), "{err}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out.csv")).unwrap(),
        "previous\noutput\n"
    );
    assert!(!dir.path().join(".out.csv.rill-partial").exists());
}

#[test]
fn an_output_that_is_the_input_is_refused_and_the_input_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    std::fs::write(dir.path().join("in.csv"), "a\n1\n2\n").unwrap();
    std::os::unix::fs::symlink(dir.path().join("in.csv"), dir.path().join("link.csv")).unwrap();
    let p = write_pipeline(
        dir.path(),
        &format!(
            "source: {{csv: {{path: {d}/in.csv}}}}\ntargets: [{{jsonl: {{path: {d}/sub/../link.csv}}}}]\n"
        ),
    );
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let out = rill(&["run", &p]);
    assert_eq!(out.status.code(), Some(2));
    let canon = std::fs::canonicalize(dir.path().join("in.csv")).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "error: {p}:2:26: targets.0.jsonl.path: target path '{d}/sub/../link.csv' is the input '{d}/in.csv' (both are '{}'): write the output to another file\n",
            canon.display()
        )
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("in.csv")).unwrap(),
        "a\n1\n2\n"
    );
}

#[test]
fn a_missing_output_directory_is_created_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    // the first record is bad: the run fails when it first reads, after building targets
    std::fs::write(dir.path().join("in.jsonl"), "not json\n").unwrap();
    let p = write_pipeline(
        dir.path(),
        &format!(
            "source: {{jsonl: {{path: {d}/in.jsonl}}}}\ntargets: [{{parquet: {{path: {d}/new/dir/out.parquet}}}}]\n"
        ),
    );
    let out = rill(&["run", &p]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with(&format!("error: {d}/in.jsonl, record 1: invalid JSON")),
        "{err}"
    );
    assert!(dir.path().join("new/dir").is_dir());
    // the failed run leaves no file at all in it
    assert_eq!(
        std::fs::read_dir(dir.path().join("new/dir"))
            .unwrap()
            .count(),
        0
    );
}

#[test]
fn a_good_run_commits_and_counts_the_rows_written() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    std::fs::write(dir.path().join("in.csv"), "a\n1\n2\n3\n").unwrap();
    std::fs::write(dir.path().join("out.jsonl"), "old\n").unwrap();
    let p = write_pipeline(
        dir.path(),
        &format!(
            "source: {{csv: {{path: {d}/in.csv}}}}\nsteps: [{{filter: \"a != 2\"}}]\ntargets: [{{jsonl: {{path: {d}/out.jsonl}}}}]\n"
        ),
    );
    let out = rill(&["run", &p, "--json-summary"]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let target = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == format!("jsonl:{d}/out.jsonl"))
        .unwrap();
    assert_eq!(target["counters"], serde_json::json!([["rows_written", 2]]));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out.jsonl")).unwrap(),
        "{\"a\":1}\n{\"a\":3}\n"
    );
}
