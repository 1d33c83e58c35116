//! `rill run --serve`: a run answers for its own tables over HTTP while it writes them (the
//! embedded store admits one process at a time, so this is how it is served meanwhile).

mod common;
mod tables;

use common::rill;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use tables::*;

/// `rill run --input - --serve`: the run, reading standard input, with its server's address.
struct ServingRun {
    child: KillOnDrop,
    stdin: std::process::ChildStdin,
    addr: String,
}

fn serving_run(dir: &Path, extra: &[&str]) -> ServingRun {
    let mut args = vec!["run", "p.yaml", "--input", "-", "--set", "batch_size=1"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--serve", "127.0.0.1:0"]);
    let child = Command::new(env!("CARGO_BIN_EXE_rill"))
        .current_dir(dir)
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(child);
    let stdin = child.0.stdin.take().unwrap();
    let mut err = child.0.stderr.take().unwrap();
    let banner = common::first_line(&mut err);
    assert!(
        banner.starts_with("serving the run's tables on http://"),
        "{banner}"
    );
    let addr = banner.rsplit("http://").next().unwrap().trim().to_string();
    // the summary goes to stderr: drain it so the run never blocks on a full pipe
    std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
    ServingRun { child, stdin, addr }
}

/// Polls `path` until `done` holds of the answer (the run flushes after each batch, a moment
/// after its rows arrive); gives up after a minute.
fn poll(
    addr: &str,
    path: &str,
    done: impl Fn(u16, &serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let (status, body) = get(addr, path);
        if done(status, &body) {
            return body;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "last answer: {status} {body}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn a_run_serves_its_embedded_store_while_it_writes_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = clicks(400, 7);
    write(d, "p.yaml", &pipeline("state", "unused.csv", "out.csv"));
    let mut run = serving_run(d, &[]);
    let lines: Vec<&str> = data.lines().collect();
    let (first, rest) = lines.split_at(201);
    writeln!(run.stdin, "{}", first.join("\n")).unwrap();
    run.stdin.flush().unwrap();
    // the key's visits so far: its rows among those written
    let visits = first[1..]
        .iter()
        .filter(|l| l.split(',').nth(1) == Some("u3"))
        .count();
    let body = poll(&run.addr, "/tables/features/keys/u3", |status, b| {
        status == 200 && b["attributes"]["visits"] == serde_json::json!(visits)
    });
    assert_eq!(body["found"], serde_json::json!(true));
    // the store is the run's: another process cannot open it meanwhile
    let q = rill(d, &["query", "state", "u3", "--table", "features"]);
    assert!(!q.status.success());
    let (status, body) = get(&run.addr, "/tables");
    assert_eq!(status, 200);
    assert_eq!(body["tables"][0]["name"], serde_json::json!("features"));
    writeln!(run.stdin, "{}", rest.join("\n")).unwrap();
    drop(run.stdin);
    assert!(run.child.0.wait().unwrap().success());
    // the server stopped with the run; the store now opens elsewhere with every row's visits
    assert!(std::net::TcpStream::connect(&run.addr).is_err());
    let all = lines[1..]
        .iter()
        .filter(|l| l.split(',').nth(1) == Some("u3"))
        .count();
    let q = rill(d, &["query", "state", "u3", "--table", "features"]);
    let got: serde_json::Value = serde_json::from_slice(&q.stdout).unwrap();
    assert_eq!(got["attributes"]["visits"], serde_json::json!(all));
}

#[test]
fn a_sharded_run_does_not_serve_a_memory_table_it_splits() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "p.yaml", &pipeline("memory://", "unused.csv", "out.csv"));
    let mut run = serving_run(d, &["--set", "workers=2"]);
    writeln!(run.stdin, "{}", clicks(20, 3).trim_end()).unwrap();
    run.stdin.flush().unwrap();
    // (404 until the run has opened its tables)
    let body = poll(&run.addr, "/tables/features/keys/u1", |status, _| {
        status != 404
    });
    let (status, again) = get(&run.addr, "/tables/features/keys/u1");
    assert_eq!((status, &again), (409, &body));
    assert!(
        body["error"].as_str().unwrap().contains("memory table"),
        "{body}"
    );
    drop(run.stdin);
    assert!(run.child.0.wait().unwrap().success());
}
