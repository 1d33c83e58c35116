//! `--set`, `--input` and standard input/output through the real binary.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

const CSV: &str = "user,click,amount\nu1,1,2.5\nu2,0,1.0\nu3,1,4.0\n";

fn rill_in(dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rill"))
        .current_dir(dir)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run rill");
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    child.wait_with_output().unwrap()
}

fn ok(out: &Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A directory with `in.csv` and `p.yaml` (filter → map → jsonl target `out.jsonl`).
fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.csv"), CSV).unwrap();
    std::fs::write(
        dir.path().join("p.yaml"),
        "source: {csv: {path: in.csv, key: user}}\nsteps:\n  - filter: \"click == 1\"\n  - extend: \"{cents: amount * 100.0}\"\ntargets: [{jsonl: {path: out.jsonl}}]\n",
    )
    .unwrap();
    dir
}

fn users(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["user"].as_str().unwrap().to_string()
        })
        .collect()
}

#[test]
fn set_takes_expressions_without_extra_quoting() {
    let dir = setup();
    let d = dir.path();
    // `click > 0` and `{cents: …}` are not YAML values of these options: taken as text
    let out = rill_in(
        d,
        &[
            "run",
            "-q",
            "p.yaml",
            "--set",
            "steps.0.filter=click < 1 || user == 'u3'",
            "--set",
            "steps.1.extend={cents: amount * 10.0}",
        ],
        None,
    );
    ok(&out);
    assert_eq!(users(&d.join("out.jsonl")), ["u2", "u3"]);
    let first: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(d.join("out.jsonl"))
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(first["cents"], 10.0);
    // a YAML value keeps its type; a flow map sets a whole block
    let out = rill_in(
        d,
        &[
            "run",
            "-q",
            "p.yaml",
            "--set",
            "batch_size=1",
            "--set",
            "targets.0={csv: {path: set.csv, columns: [user]}}",
        ],
        None,
    );
    ok(&out);
    assert_eq!(
        std::fs::read_to_string(d.join("set.csv")).unwrap(),
        "user\nu1\nu3\n"
    );
    // one past the end of a list adds an item: a second target
    let out = rill_in(
        d,
        &[
            "run",
            "-q",
            "p.yaml",
            "--set",
            "targets.1={csv: {path: more.csv, columns: [user]}}",
        ],
        None,
    );
    ok(&out);
    assert_eq!(users(&d.join("out.jsonl")), ["u1", "u3"]);
    assert_eq!(
        std::fs::read_to_string(d.join("more.csv")).unwrap(),
        "user\nu1\nu3\n"
    );
}

#[test]
fn command_line_paths_are_relative_to_the_working_directory() {
    let dir = setup();
    let d = dir.path();
    std::fs::create_dir(d.join("pipes")).unwrap();
    std::fs::rename(d.join("p.yaml"), d.join("pipes/p.yaml")).unwrap();
    std::fs::rename(d.join("in.csv"), d.join("pipes/in.csv")).unwrap();
    std::fs::write(d.join("other.csv"), "user,click,amount\nx1,1,1.0\n").unwrap();
    // the file's own paths are relative to pipes/, those given here to the working directory
    let out = rill_in(
        d,
        &[
            "run",
            "-q",
            "pipes/p.yaml",
            "--input",
            "other.csv",
            "--set",
            "targets.0.jsonl.path=cwd.jsonl",
        ],
        None,
    );
    ok(&out);
    assert_eq!(users(&d.join("cwd.jsonl")), ["x1"]);
    let out = rill_in(d, &["run", "-q", "pipes/p.yaml"], None);
    ok(&out);
    assert_eq!(users(&d.join("pipes/out.jsonl")), ["u1", "u3"]);
    assert!(!d.join("out.jsonl").exists());
}

#[test]
fn input_dash_reads_stdin_and_a_dash_target_writes_only_data_on_stdout() {
    let dir = setup();
    let d = dir.path();
    let out = rill_in(
        d,
        &[
            "run",
            "p.yaml",
            "--input",
            "-",
            "--set",
            "targets.0.jsonl.path=-",
            "--set",
            "steps.1.extend={n: 1}",
        ],
        Some(CSV),
    );
    ok(&out);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "{\"user\":\"u1\",\"click\":1,\"amount\":2.5,\"n\":1}\n{\"user\":\"u3\",\"click\":1,\"amount\":4.0,\"n\":1}\n"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("source stdin: 3 records read, 0 rejected"),
        "{err}"
    );
    assert!(err.contains("jsonl:-"), "{err}");
    // the JSON summary moves to stderr too
    let out = rill_in(
        d,
        &[
            "run",
            "p.yaml",
            "--json-summary",
            "--input",
            "-",
            "--set",
            "targets.0.jsonl.path=-",
        ],
        Some(CSV),
    );
    ok(&out);
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2);
    let summary: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(summary["records_read"], 3);
    assert_eq!(summary["source"], "stdin");
    // a reject names stdin and its line
    let out = rill_in(
        d,
        &[
            "run",
            "p.yaml",
            "--input",
            "-",
            "--set",
            "source.csv.types={click: int}",
        ],
        Some("user,click,amount\nu1,x,1.0\n"),
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).lines().next().unwrap(),
        "error: stdin, record 2: field 'click': 'x' is not an int"
    );
}
