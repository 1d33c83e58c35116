//! SIGINT / SIGTERM / SIGKILL during `rill run`, through the real binary: the target path
//! always holds either the previous output or a complete output of the records processed.

use std::io::Write;
use std::path::Path;

mod common;

use common::{signal, start, wait_for_partial};

const ROWS: usize = 2_000_000;

/// A pipeline over a generated 2 M row CSV writing `out.csv`, whose previous content is
/// `previous\n`.
fn setup(dir: &Path) -> String {
    let mut f = std::io::BufWriter::new(std::fs::File::create(dir.join("in.csv")).unwrap());
    writeln!(f, "a,b").unwrap();
    for i in 0..ROWS {
        writeln!(f, "{i},x{i}").unwrap();
    }
    f.flush().unwrap();
    std::fs::write(dir.join("out.csv"), "previous\n").unwrap();
    let d = dir.display();
    let p = dir.join("p.yaml");
    std::fs::write(
        &p,
        format!(
            "source: {{csv: {{path: {d}/in.csv}}}}\nsteps: [{{map: \"body + {{c: a * 2}}\"}}]\ntargets: [{{csv: {{path: {d}/out.csv, max_events: 256}}}}]\n"
        ),
    )
    .unwrap();
    p.display().to_string()
}

/// Checks `out.csv` is a complete output of the first `n` records: the header, then rows
/// `0..n` in order with `c = 2a`.
fn assert_complete(dir: &Path, n: usize) {
    let text = std::fs::read_to_string(dir.join("out.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("a,b,c"));
    let mut count = 0;
    for (i, l) in lines.enumerate() {
        assert_eq!(l, format!("{i},x{i},{}", 2 * i));
        count += 1;
    }
    assert_eq!(count, n);
    assert!(text.ends_with('\n'));
}

fn interrupted_run_commits_what_it_processed(sig: &str, name: &str, code: i32) {
    let dir = tempfile::tempdir().unwrap();
    let p = setup(dir.path());
    let mut child = start(&p);
    wait_for_partial(dir.path(), "out.csv", 1, &mut child);
    signal(&child, sig);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{err}");
    let first = err.lines().next().unwrap();
    let read: usize = first
        .strip_prefix(&format!(
            "interrupted by {name}: stopped reading; the outputs hold the "
        ))
        .and_then(|r| r.strip_suffix(" records read so far"))
        .unwrap_or_else(|| panic!("{err}"))
        .parse()
        .unwrap();
    assert!(read > 0 && read < ROWS, "{read}");
    // the summary follows, and counts what the committed file holds
    assert!(
        err.contains(&format!("{read} records read, 0 rejected")),
        "{err}"
    );
    assert!(err.contains(&format!("rows_written {read}")), "{err}");
    assert!(err.contains("finished in "), "{err}");
    // records read = written (no step drops any)
    assert_complete(dir.path(), read);
    assert!(!dir.path().join(".out.csv.rill-partial").exists());
}

#[test]
fn sigint_stops_reading_commits_what_was_processed_and_exits_130() {
    interrupted_run_commits_what_it_processed("-INT", "SIGINT", 130);
}

#[test]
fn sigterm_stops_reading_commits_what_was_processed_and_exits_143() {
    interrupted_run_commits_what_it_processed("-TERM", "SIGTERM", 143);
}

#[test]
fn sigkill_leaves_the_previous_output() {
    let dir = tempfile::tempdir().unwrap();
    let p = setup(dir.path());
    let mut child = start(&p);
    wait_for_partial(dir.path(), "out.csv", 1, &mut child);
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), None, "killed by a signal");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out.csv")).unwrap(),
        "previous\n"
    );
}

#[test]
fn a_completed_run_is_a_complete_output() {
    // the same pipeline uninterrupted, as the reference for the checks above
    let dir = tempfile::tempdir().unwrap();
    let p = setup(dir.path());
    let out = start(&p).wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_complete(dir.path(), ROWS);
}
