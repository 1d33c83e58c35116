//! The meaning of a pipeline is one event at a time through the whole graph: its output never
//! depends on `batch_size`. Each pipeline here runs at several batch sizes and must give
//! byte-identical outputs.

use rill::Pipeline;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Runs `yaml` (with `{clicks}` and `{out}` placeholders) at `batch_size`; returns each named
/// output file's text.
fn run_at(yaml: &str, batch_size: usize, outputs: &[&str]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let text = yaml
        .replace(
            "{clicks}",
            &repo()
                .join("examples/data/clicks.csv")
                .display()
                .to_string(),
        )
        .replace("{out}", &dir.path().display().to_string());
    let text = format!("{text}\nbatch_size: {batch_size}\n");
    let p = Pipeline::from_yaml(&text, "test", &[]).unwrap();
    p.run().unwrap();
    outputs
        .iter()
        .map(|o| std::fs::read_to_string(dir.path().join(o)).unwrap())
        .collect()
}

fn assert_invariant(yaml: &str, outputs: &[&str]) -> Vec<String> {
    let one = run_at(yaml, 1, outputs);
    for bs in [2, 3, 7, 256] {
        let other = run_at(yaml, bs, outputs);
        for (i, (a, b)) in one.iter().zip(&other).enumerate() {
            if a != b {
                let diff = a.lines().zip(b.lines()).filter(|(x, y)| x != y).count();
                panic!(
                    "{}: {diff} lines differ between batch_size 1 and {bs}\n--- 1:\n{a}\n--- {bs}:\n{b}",
                    outputs[i]
                );
            }
        }
    }
    one
}

#[test]
fn branch_writing_a_table_and_main_chain_querying_it() {
    let yaml = r#"
source: {csv: {path: "{clicks}", key: user, time: time}}
steps:
  - branch:
      steps:
        - map: "{seen: activity_status}"
        - write_to_table: {table: attrs, columns: [seen]}
  - query_by_key: {table: attrs, features: [seen]}
targets:
  - jsonl: {path: "{out}/out.jsonl"}
"#;
    let out = assert_invariant(yaml, &["out.jsonl"]);
    // per event, the branch (the source's first outlet) writes before the main chain reads, so
    // each event sees its own status, never a later event's
    let rows: Vec<serde_json::Value> = out[0]
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 40);
    for r in &rows {
        assert_eq!(r["seen"], r["activity_status"], "{r}");
    }
}

#[test]
fn state_aggregate_write_query_on_one_table() {
    let yaml = r#"
source: {csv: {path: "{clicks}", key: user, time: time}}
steps:
  - map_with_state: {table: t, initial: {n: 0}, state: "{n: state.n + 1}", output: "body + {n: new_state.n}"}
  - aggregate_by_key:
      table: t
      enrich_with: [n]
      aggregates:
        - {name: c, field: click, ops: [sum], windows: {sliding: [1h, 24h], period: 10m}}
  - write_to_table: {table: t, columns: [c_sum_1h]}
  - query_by_key: {table: t, features: [c_sum_24h, c_sum_1h]}
targets:
  - jsonl: {path: "{out}/out.jsonl"}
"#;
    assert_invariant(yaml, &["out.jsonl"]);
}

#[test]
fn dead_letters_from_the_decoder_and_a_step_come_in_input_order() {
    // the decoder rejects lines 3, 5 and 7; the map fails on line 2 (amount above 10):
    // one dead-letter file fed from two places
    let yaml = r#"
source: {csv: {path: "{orders}", key: user, time: time, types: {amount: float}}}
steps:
  - filter: "true"
  - map: "body + {check: amount > 10.0 ? missing_field : 0}"
targets:
  - jsonl: {path: "{out}/ok.jsonl"}
error_policy: dead_letter
dead_letter: {jsonl: {path: "{out}/dead.jsonl"}}
"#
    .replace(
        "{orders}",
        &repo()
            .join("examples/data/orders_bad.csv")
            .display()
            .to_string(),
    );
    let out = assert_invariant(&yaml, &["ok.jsonl", "dead.jsonl"]);
    let records: Vec<i64> = out[1]
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["record"]
                .as_i64()
                .unwrap()
        })
        .collect();
    let mut sorted = records.clone();
    sorted.sort();
    assert_eq!(
        records, sorted,
        "dead letters out of input order: {records:?}"
    );
    assert_eq!(records, [2, 3, 5, 7], "{}", out[1]);
}
