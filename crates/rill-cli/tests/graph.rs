//! `rill graph`: a pipeline's flow drawn as DOT and SVG.

mod common;

use common::rill;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn stdout(o: &std::process::Output) -> String {
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "rill failed: {err}");
    String::from_utf8(o.stdout.clone()).unwrap()
}

#[test]
fn routes_branches_and_targets_are_drawn_as_dot() {
    let dot = stdout(&rill(&repo(), &["graph", "examples/routing.yaml"]));
    let want = r#"digraph "routing" {
  source [label="csv:examples/data/clicks.csv", shape=box, style=filled, fillcolor="lightblue"];
  n0 [label="map_with_state", shape=box];
  n1 [label="filter", shape=box];
  n2 [label="csv:examples/out/failures.csv", shape=box, style=filled, fillcolor="lightyellow"];
  n3 [label="choice", shape=box];
  n4 [label="jsonl:examples/out/big.jsonl", shape=box, style=filled, fillcolor="lightyellow"];
  n5 [label="batch", shape=box];
  n6 [label="map", shape=box];
  n7 [label="jsonl:examples/out/small_batches.jsonl", shape=box, style=filled, fillcolor="lightyellow"];
  source -> n0;
  n0 -> n1;
  n1 -> n2;
  n0 -> n3;
  n3 -> n4 [label="big"];
  n3 -> n5 [label="small"];
  n5 -> n6;
  n6 -> n7;
}
"#;
    assert_eq!(dot, want);
}

#[test]
fn recovery_chains_are_dashed_and_the_dead_letter_target_named() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("in.csv"), "time,user,x\n2020-07-21T21:40:00Z,u1,1\n").unwrap();
    std::fs::write(
        d.join("p.yaml"),
        r#"
name: recovering
source: {csv: {path: in.csv, key: user, time: time}}
error_policy: dead_letter
dead_letter: {jsonl: {path: dead.jsonl}}
steps:
  - map: "body + {y: 10 / x}"
  - recover:
      kinds: [expr]
      steps: [{map: "body + {y: 0}"}]
      targets: [{csv: {path: fixed.csv}}]
targets: [{csv: {path: out.csv}}]
"#,
    )
    .unwrap();
    let dot = stdout(&rill(d, &["graph", "p.yaml"]));
    assert!(
        dot.contains(r#"n0 -> n1 [label="recover: expr", style=dashed];"#),
        "{dot}"
    );
    assert!(dot.contains(r#"n2 [label="csv:fixed.csv""#), "{dot}");
    assert!(
        dot.contains(r#"[label="dead letters: jsonl:dead.jsonl", shape=box, style=dashed];"#),
        "{dot}"
    );
    for edge in ["source -> n0;", "n1 -> n2;", "n0 -> n3;"] {
        assert!(dot.contains(edge), "{dot}");
    }
    // drawing creates nothing
    assert_eq!(common::file_names(d), ["in.csv", "p.yaml"]);
}

#[test]
fn svg_is_laid_out_with_every_node_and_written_whole() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("routing.svg");
    let o = rill(
        &repo(),
        &[
            "graph",
            "examples/routing.yaml",
            "-o",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let svg = std::fs::read_to_string(&out).unwrap();
    assert!(svg.starts_with("<?xml"), "{svg}");
    let size = |attr: &str| -> f64 {
        let at = svg.find(&format!(" {attr}=\"")).unwrap() + attr.len() + 3;
        svg[at..].split('"').next().unwrap().parse().unwrap()
    };
    assert!(size("width") > 300.0 && size("height") > 300.0, "{svg}");
    for label in [
        "csv:examples/data/clicks.csv",
        "map_with_state",
        "choice",
        "batch",
        "jsonl:examples/out/big.jsonl",
        "jsonl:examples/out/small_batches.jsonl",
    ] {
        assert!(svg.contains(&format!(">{label}<")), "no {label} in {svg}");
    }
    // 8 steps and targets, and the source: one box each
    assert_eq!(svg.matches("<rect").count(), 9, "{svg}");
    // --format overrides the extension
    let o = rill(
        &repo(),
        &["graph", "examples/routing.yaml", "--format", "svg"],
    );
    assert!(stdout(&o).contains("<svg"));
}

#[test]
fn a_pipeline_that_does_not_validate_is_not_drawn() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("in.csv"), "time,user,x\n").unwrap();
    std::fs::write(
        d.join("p.yaml"),
        "source: {csv: {path: in.csv}}\nsteps:\n  - map: \"x +\"\ntargets: [{csv: {path: o.csv}}]\n",
    )
    .unwrap();
    let o = rill(d, &["graph", "p.yaml", "-o", "g.svg"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("p.yaml") && err.contains("steps.0.map"),
        "{err}"
    );
    assert!(!d.join("g.svg").exists());
}
