//! Persistent tables through the real binary, for every driver: the embedded store, Redis
//! (127.0.0.1:6379) and PostgreSQL (127.0.0.1:5432, database `test`). Each test uses its own
//! directory, Redis prefix or PostgreSQL schema, so tests run in parallel.
//!
//! What must hold: a run over the first half of a file and a second run (another process) over
//! the second half, on the same persistent table, give exactly the output of one run over the
//! whole file; `rill query` and `rill serve` in yet another process read the features the runs
//! left; a `kill -9` leaves the store at its last flush, and the next run says from which record
//! to replay, after which the state is exactly that of an uninterrupted run.

mod common;
mod tables;

use common::rill;
use std::path::Path;
use std::process::{Command, Stdio};
use tables::*;

/// The data split in two files at row `at` (both with the header).
fn halves(dir: &Path, data: &str, at: usize) {
    let mut lines = data.lines();
    let header = lines.next().unwrap();
    let rows: Vec<&str> = lines.collect();
    let part = |rs: &[&str]| format!("{header}\n{}\n", rs.join("\n"));
    write(dir, "first.csv", &part(&rows[..at]));
    write(dir, "second.csv", &part(&rows[at..]));
}

/// Runs the whole file on a memory table, then the two halves on `url` in two processes,
/// and demands the same output; returns the directory for further checks.
fn restart_equals_one_run(url: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = clicks(3_000, 40);
    write(d, "all.csv", &data);
    halves(d, &data, 1_700);
    write(
        d,
        "memory.yaml",
        &pipeline("memory://", "all.csv", "whole.csv"),
    );
    write(
        d,
        "first.yaml",
        &pipeline(url, "first.csv", "first_out.csv"),
    );
    write(
        d,
        "second.yaml",
        &pipeline(url, "second.csv", "second_out.csv"),
    );
    run_ok(d, &["run", "memory.yaml"]);
    let first = run_ok(d, &["run", "first.yaml"]);
    assert!(
        first.contains(": started empty; flushed through record 1700 of"),
        "{first}"
    );
    let second = run_ok(d, &["run", "second.yaml"]);
    assert!(
        second.contains("started from the state of an earlier run (flushed after record 1700 of"),
        "{second}"
    );
    let whole = std::fs::read_to_string(d.join("whole.csv")).unwrap();
    let a = std::fs::read_to_string(d.join("first_out.csv")).unwrap();
    let b = std::fs::read_to_string(d.join("second_out.csv")).unwrap();
    let joined = format!("{a}{}", b.split_once('\n').unwrap().1);
    assert_eq!(whole.lines().count(), 3_001);
    assert_eq!(joined, whole, "the two runs on {url} differ from one run");
    dir
}

/// The last output row of `key` in `whole.csv` as (header → value).
fn last_row(dir: &Path, key: &str) -> Vec<(String, String)> {
    let whole = std::fs::read_to_string(dir.join("whole.csv")).unwrap();
    let mut lines = whole.lines();
    let header: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    let row = lines
        .rev()
        .find(|l| l.split(',').nth(1) == Some(key))
        .unwrap();
    header
        .into_iter()
        .zip(row.split(',').map(String::from))
        .collect()
}

/// `rill query` in another process gives, at the time of a key's last event, the features that
/// event was emitted with (the run's output), and its attributes.
fn query_matches_the_run(dir: &Path, url: &str) {
    let row = last_row(dir, "u7");
    let time = &row[0].1;
    let o = rill(
        dir,
        &[
            "query", url, "u7", "nobody", "--table", "features", "--at", time,
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    let got = &lines[0];
    assert_eq!(got["found"], true);
    assert_eq!(
        lines[1],
        serde_json::json!({"key": "nobody", "found": false})
    );
    let features = got["features"].as_object().unwrap();
    let mut compared = 0;
    for (name, value) in &row {
        let Some(f) = features.get(name) else {
            continue;
        };
        let expected: f64 = value.parse().unwrap();
        assert_eq!(f.as_f64().unwrap(), expected, "{name} of u7 at {time}");
        compared += 1;
    }
    assert_eq!(compared, 10, "every feature column compared");
    let attrs = &got["attributes"];
    let col = |n: &str| row.iter().find(|(k, _)| k == n).unwrap().1.clone();
    assert_eq!(attrs["page"], serde_json::Value::String(col("page")));
    assert_eq!(attrs["visits"].as_i64().unwrap().to_string(), col("visits"));
}

#[test]
fn embedded_store_restart_and_query() {
    let dir = restart_equals_one_run("state");
    query_matches_the_run(dir.path(), "state");
}

#[test]
fn redis_restart_and_query() {
    let url = format!("redis://127.0.0.1:6379/0?prefix={}", unique("restart"));
    let dir = restart_equals_one_run(&url);
    query_matches_the_run(dir.path(), &url);
    redis_clear(&url);
}

#[test]
fn postgres_restart_and_query() {
    let schema = unique("restart");
    let url = format!("postgres://postgres@127.0.0.1:5432/test?schema={schema}");
    let dir = restart_equals_one_run(&url);
    query_matches_the_run(dir.path(), &url);
    psql(&format!("DROP SCHEMA \"{schema}\" CASCADE"));
}

/// Deletes the test's Redis keys (its prefix).
fn redis_clear(url: &str) {
    let prefix = url.rsplit_once("prefix=").unwrap().1;
    let keys = Command::new("redis-cli")
        .args(["--scan", "--pattern", &format!("{prefix}:*")])
        .output()
        .unwrap();
    for k in String::from_utf8_lossy(&keys.stdout).lines() {
        Command::new("redis-cli").args(["DEL", k]).output().unwrap();
    }
}

fn psql(sql: &str) -> String {
    let o = Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            "test",
            "-tAc",
            sql,
        ])
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn the_postgres_layout_is_readable_with_psql() {
    let schema = unique("layout");
    let url = format!("postgres://postgres@127.0.0.1:5432/test?schema={schema}");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "all.csv", &clicks(200, 5));
    write(d, "p.yaml", &pipeline(&url, "all.csv", "out.csv"));
    run_ok(d, &["run", "p.yaml"]);
    let spaces = psql(&format!(
        "SELECT space, count(*) FROM \"{schema}\".rill_state WHERE tbl = 'features' GROUP BY space ORDER BY space"
    ));
    let lines: Vec<&str> = spaces.lines().collect();
    // one aggregator set (5 keys), the attributes (5 keys), the metadata (set + progress)
    assert_eq!(lines.len(), 3, "{spaces}");
    assert!(
        lines[0].starts_with("agg.") && lines[0].ends_with("|5"),
        "{spaces}"
    );
    assert_eq!(lines[1], "attrs|5");
    assert_eq!(lines[2], "meta|2");
    let keys = psql(&format!(
        "SELECT convert_from(key, 'UTF8') FROM \"{schema}\".rill_state WHERE space = 'attrs' ORDER BY key"
    ));
    assert_eq!(keys, "\"u0\"\n\"u1\"\n\"u2\"\n\"u3\"\n\"u4\"\n");
    psql(&format!("DROP SCHEMA \"{schema}\" CASCADE"));
}

#[test]
fn serve_answers_what_query_answers() {
    let dir = restart_equals_one_run("state");
    let d = dir.path();
    let row = last_row(d, "u3");
    let time = &row[0].1;
    let q = rill(
        d,
        &["query", "state", "u3", "--table", "features", "--at", time],
    );
    let expected: serde_json::Value = serde_json::from_slice(&q.stdout).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_rill"))
        .current_dir(d)
        .args([
            "serve",
            "state",
            "--table",
            "features",
            "--listen",
            "127.0.0.1:0",
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(child);
    let mut err = child.0.stderr.take().unwrap();
    let banner = common::first_line(&mut err);
    let addr = banner.rsplit("http://").next().unwrap().trim().to_string();
    assert_eq!(
        get(&addr, "/health"),
        (200, serde_json::json!({"status": "ok"}))
    );
    let encoded = time.replace('+', "%2B");
    let (status, body) = get(&addr, &format!("/tables/features/keys/u3?at={encoded}"));
    assert_eq!(status, 200);
    assert_eq!(body, expected);
    // an unencoded `+` of a zone offset arrives as a space: still read as the offset
    if time.contains('+') {
        assert_eq!(
            get(&addr, &format!("/tables/features/keys/u3?at={time}")).1,
            expected
        );
    }
    let (status, body) = get(&addr, "/tables/features/keys/nobody");
    assert_eq!(
        (status, body["found"].clone()),
        (404, serde_json::json!(false))
    );
    let (status, body) = get(&addr, "/tables/nope/keys/u3");
    assert_eq!(status, 404);
    assert!(body["error"].as_str().unwrap().contains("no table 'nope'"));
    let (status, body) = get(&addr, "/tables/features/keys/u3?at=yesterday");
    assert_eq!(status, 400);
    assert!(
        body["error"].as_str().unwrap().contains("'yesterday'"),
        "{body}"
    );
    common::signal(&child.0, "-TERM");
    assert!(child.0.wait().unwrap().success());
}

#[test]
fn kill_9_leaves_the_last_flush_and_says_where_to_replay_from() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let rows = 120_000;
    let data = clicks(rows, 500);
    write(d, "all.csv", &data);
    write(
        d,
        "memory.yaml",
        &pipeline("memory://", "all.csv", "whole.csv"),
    );
    write(d, "p.yaml", &pipeline("state", "all.csv", "out.csv"));
    run_ok(d, &["run", "memory.yaml"]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_rill"))
        .current_dir(d)
        .args(["run", "p.yaml", "--set", "batch_size=64"])
        .stderr(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    common::wait_for_partial(d, "out.csv", 100_000, &mut child);
    common::signal(&child, "-KILL");
    child.wait().unwrap();
    // the next run over nothing reports the flushed progress
    write(d, "empty.csv", "time,user,click,amount,page\n");
    let report = run_ok(
        d,
        &[
            "run",
            "p.yaml",
            "--input",
            "empty.csv",
            "--set",
            "targets.0.csv.path=empty_out.csv",
        ],
    );
    let flushed: usize = report
        .split("flushed after record ")
        .nth(1)
        .unwrap_or_else(|| panic!("no progress in: {report}"))
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(flushed > 0 && flushed < rows, "{report}");
    // replaying the rest continues exactly where the store stands
    let rest: Vec<&str> = data.lines().skip(1 + flushed).collect();
    write(
        d,
        "rest.csv",
        &format!("time,user,click,amount,page\n{}\n", rest.join("\n")),
    );
    run_ok(
        d,
        &[
            "run",
            "p.yaml",
            "--input",
            "rest.csv",
            "--set",
            "targets.0.csv.path=rest_out.csv",
        ],
    );
    let whole = std::fs::read_to_string(d.join("whole.csv")).unwrap();
    let tail: Vec<&str> = whole.lines().skip(1 + flushed).collect();
    let rest_out = std::fs::read_to_string(d.join("rest_out.csv")).unwrap();
    let got: Vec<&str> = rest_out.lines().skip(1).collect();
    assert_eq!(got.len(), rows - flushed);
    assert!(
        got == tail,
        "the replay after the crash differs from the uninterrupted run"
    );
}

#[test]
fn bad_urls_credentials_and_stores_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "all.csv", &clicks(50, 3));
    let cases = [
        ("mysql://127.0.0.1/x", "unknown scheme 'mysql://'"),
        ("redis://127.0.0.1:1", "cannot connect"),
        ("postgres://nobody:secret@127.0.0.1:5432/test", "***"),
        (
            "postgres://postgres@127.0.0.1:5432/no_such_database_here",
            "does not exist",
        ),
    ];
    for (url, says) in cases {
        write(d, "p.yaml", &pipeline(url, "all.csv", "out.csv"));
        let o = rill(d, &["run", "p.yaml"]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{url}");
        assert!(err.contains(says), "{url}: {err}");
        assert!(
            err.contains("tables.features.url") && err.contains("table 'features'"),
            "{url}: {err}"
        );
        assert!(!err.contains("secret"), "{err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(!d.join("out.csv").exists(), "{url}: an output was written");
    }
    // a directory of other files is not taken for a store (and is left as it was)
    std::fs::create_dir(d.join("mine")).unwrap();
    write(d, "mine/notes.txt", "keep");
    write(d, "p.yaml", &pipeline("mine", "all.csv", "out.csv"));
    let o = rill(d, &["run", "p.yaml"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a rill store"));
    assert_eq!(
        std::fs::read_to_string(d.join("mine/notes.txt")).unwrap(),
        "keep"
    );
}

#[test]
fn a_damaged_store_or_another_definition_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "all.csv", &clicks(300, 5));
    write(d, "p.yaml", &pipeline("state", "all.csv", "out.csv"));
    run_ok(d, &["run", "p.yaml"]);
    // the same aggregator name with other windows: never mixed in
    let other = pipeline("state", "all.csv", "out2.csv")
        .replace("sliding: [1h, 24h]", "sliding: [1h, 12h]");
    write(d, "other.yaml", &other);
    let o = rill(d, &["run", "other.yaml"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("holds aggregator 'clicks'") && err.contains("cannot be mixed"),
        "{err}"
    );
    assert!(!d.join("out2.csv").exists());
    // damage every data file of the store: an error, never a panic
    for e in walk(&d.join("state")) {
        if e.extension().is_none_or(|x| x != "lock") && std::fs::metadata(&e).unwrap().len() > 16 {
            let mut bytes = std::fs::read(&e).unwrap();
            for b in bytes.iter_mut().skip(8).step_by(7) {
                *b ^= 0x5a;
            }
            std::fs::write(&e, bytes).unwrap();
        }
    }
    let o = rill(d, &["query", "state", "u1", "--table", "features"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("panicked"), "{err}");
    let o2 = rill(d, &["run", "p.yaml"]);
    let err2 = String::from_utf8_lossy(&o2.stderr);
    assert!(!err2.contains("panicked"), "{err2}");
    assert!(
        !o.status.success() || !o2.status.success(),
        "a damaged store went unnoticed: {err} {err2}"
    );
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn join_with_table_reads_what_another_run_left_in_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = clicks(400, 6);
    write(d, "all.csv", &data);
    write(d, "p.yaml", &pipeline("state", "all.csv", "out.csv"));
    run_ok(d, &["run", "p.yaml"]);
    write(d, "lookups.csv", "user,n\nu2,1\nnobody,2\nu5,3\n");
    let join = |inner: bool| {
        format!(
            r#"
tables:
  features: {{url: state}}
source:
  csv: {{path: lookups.csv, key: user}}
steps:
  - join_with_table: {{table: features, attributes: [page, visits], inner: {inner}}}
targets:
  - jsonl: {{path: joined_{inner}.jsonl}}
"#
        )
    };
    write(d, "inner.yaml", &join(true));
    write(d, "outer.yaml", &join(false));
    let err = run_ok(d, &["run", "inner.yaml"]);
    assert!(err.contains("no_match 1"), "{err}");
    run_ok(d, &["run", "outer.yaml"]);
    let last = |k: &str| {
        let r = last_row_of(&std::fs::read_to_string(d.join("out.csv")).unwrap(), k);
        (r["page"].clone(), r["visits"].parse::<i64>().unwrap())
    };
    let (p2, v2) = last("u2");
    let (p5, v5) = last("u5");
    let inner = std::fs::read_to_string(d.join("joined_true.jsonl")).unwrap();
    assert_eq!(
        inner,
        format!(
            "{{\"user\":\"u2\",\"n\":1,\"page\":\"{p2}\",\"visits\":{v2}}}\n{{\"user\":\"u5\",\"n\":3,\"page\":\"{p5}\",\"visits\":{v5}}}\n"
        )
    );
    let outer = std::fs::read_to_string(d.join("joined_false.jsonl")).unwrap();
    assert_eq!(outer.lines().nth(1).unwrap(), r#"{"user":"nobody","n":2}"#);
    assert_eq!(outer.lines().count(), 3);
}

/// The last row of `key` (second column) of a CSV text, by column name.
fn last_row_of(csv: &str, key: &str) -> std::collections::HashMap<String, String> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let row = lines
        .rev()
        .find(|l| l.split(',').nth(1) == Some(key))
        .unwrap();
    header
        .iter()
        .map(|h| h.to_string())
        .zip(row.split(',').map(String::from))
        .collect()
}

#[test]
fn a_bounded_cache_changes_no_result() {
    for url in [
        "state".to_string(),
        format!("redis://127.0.0.1:6379/0?prefix={}", unique("bounded")),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(d, "all.csv", &clicks(3_000, 40));
        write(
            d,
            "memory.yaml",
            &pipeline("memory://", "all.csv", "whole.csv"),
        );
        // 7 of 40 keys cached: flushes come early and keys leave memory and come back
        let bounded = pipeline(&url, "all.csv", "bounded.csv").replace(
            "flush_interval: 0s",
            "flush_interval: 1h, cache_max_keys: 7",
        );
        write(d, "bounded.yaml", &bounded);
        run_ok(d, &["run", "memory.yaml"]);
        let report = run_ok(d, &["run", "bounded.yaml", "--set", "batch_size=16"]);
        let evicted: u64 = report
            .split("; ")
            .find_map(|p| p.split_once(" keys evicted from the cache").map(|x| x.0))
            .unwrap_or_else(|| panic!("no eviction on {url}: {report}"))
            .parse()
            .unwrap();
        assert!(evicted > 1_000, "{report}");
        let whole = std::fs::read_to_string(d.join("whole.csv")).unwrap();
        let got = std::fs::read_to_string(d.join("bounded.csv")).unwrap();
        assert!(
            got == whole,
            "a cache of 7 keys on {url} changed the output"
        );
        // two workers, each with its own bounded cache over the same store
        let fresh = if url == "state" {
            "state_w2".to_string()
        } else {
            url.replace("bounded", "bounded_w2")
        };
        let w2 = bounded
            .replace(&format!("url: \"{url}\""), &format!("url: \"{fresh}\""))
            .replace("bounded.csv", "w2.csv");
        write(d, "w2.yaml", &w2);
        let report = run_ok(
            d,
            &[
                "run",
                "w2.yaml",
                "--set",
                "batch_size=16",
                "--set",
                "workers=2",
            ],
        );
        assert!(!report.contains("warning"), "{report}");
        assert!(report.contains("keys evicted from the cache"), "{report}");
        let got = std::fs::read_to_string(d.join("w2.csv")).unwrap();
        assert!(
            got == whole,
            "two workers with bounded caches on {url} changed the output"
        );
        if fresh.starts_with("redis") {
            redis_clear(&fresh);
        }
        if url.starts_with("redis") {
            redis_clear(&url);
        }
    }
}
