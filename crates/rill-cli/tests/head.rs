//! `rill head` through the real binary, on each format.

use std::path::Path;
mod common;

use common::rill;

/// `in.csv` plus the same rows as `out.parquet` and `out.jsonl`, written by a rill run.
fn files() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("in.csv"),
        "user,n,note\nu1,1,\"a, b\"\nu22,2.5,\nu3,3,x\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("p.yaml"),
        "source: {csv: {path: in.csv}}\ntargets: [{parquet: {path: out.parquet}}, {jsonl: {path: out.jsonl}}]\n",
    )
    .unwrap();
    assert_eq!(
        rill(dir.path(), &["run", "-q", "p.yaml"]).status.code(),
        Some(0)
    );
    dir
}

fn stdout_of(dir: &Path, args: &[&str]) -> String {
    let out = rill(dir, args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn head_prints_an_aligned_table_of_the_first_rows() {
    let dir = files();
    assert_eq!(
        stdout_of(dir.path(), &["head", "in.csv", "-n", "2"]),
        "user  n    note\nu1    1    a, b\nu22   2.5\n"
    );
    // Parquet: n is one float column in the file
    assert_eq!(
        stdout_of(dir.path(), &["head", "out.parquet"]),
        "user  n    note\nu1    1.0  a, b\nu22   2.5\nu3    3.0  x\n"
    );
}

#[test]
fn head_prints_jsonl_and_csv() {
    let dir = files();
    assert_eq!(
        stdout_of(dir.path(), &["head", "out.jsonl", "--format", "jsonl"]),
        "{\"user\":\"u1\",\"n\":1,\"note\":\"a, b\"}\n{\"user\":\"u22\",\"n\":2.5,\"note\":null}\n{\"user\":\"u3\",\"n\":3,\"note\":\"x\"}\n"
    );
    assert_eq!(
        stdout_of(
            dir.path(),
            &["head", "out.parquet", "--format", "csv", "-n", "3"]
        ),
        "user,n,note\nu1,1.0,\"a, b\"\nu22,2.5,\nu3,3.0,x\n"
    );
}

#[test]
fn head_errors_are_clear_and_exit_2() {
    let dir = files();
    std::fs::write(dir.path().join("x.txt"), "hello\n").unwrap();
    let out = rill(dir.path(), &["head", "nope.csv"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: 'nope.csv' is not a file (no such file?)\n"
    );
    let out = rill(dir.path(), &["head", "x.txt"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: 'x.txt': unknown extension 'txt' (expected .csv, .jsonl, .ndjson or .parquet)\n"
    );
}
