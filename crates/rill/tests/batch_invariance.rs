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

mod random_pipelines {
    //! Random pipelines made of the steps that share a table, in chains and branches, over
    //! random keyed streams (with late events): identical outputs at batch sizes 1, 3 and 256.

    use proptest::prelude::*;
    use rill::Pipeline;

    #[derive(Debug, Clone)]
    enum Kind {
        State,
        Write,
        Query,
        Aggregate,
    }

    fn step_yaml(kind: &Kind, n: usize) -> String {
        match kind {
            Kind::State => format!(
                r#"{{map_with_state: {{table: t, initial: 0, state: "state + click", output: "body + {{msc{n}: new_state}}", name: msc{n}}}}}"#
            ),
            Kind::Write => "{write_to_table: {table: t, columns: [amount]}}".into(),
            Kind::Query => {
                "{query_by_key: {table: t, features: [amount, msc0, agg_sum_1h, agg_count_24h]}}"
                    .into()
            }
            Kind::Aggregate => "{aggregate_by_key: {table: t, enrich_with: [amount, msc0], aggregates: [{name: agg, field: click, ops: [sum, count], windows: {sliding: [1h, 24h], period: 10m}}]}}".into(),
        }
    }

    fn kind() -> impl Strategy<Value = Kind> {
        prop_oneof![
            Just(Kind::State),
            Just(Kind::Write),
            Just(Kind::Query),
            Just(Kind::Aggregate)
        ]
    }

    /// A chain: each element is a step, or a branch of steps (with its own target).
    fn chain() -> impl Strategy<Value = Vec<(Kind, Option<Vec<Kind>>)>> {
        prop::collection::vec(
            (
                kind(),
                prop::option::weighted(0.3, prop::collection::vec(kind(), 1..3)),
            ),
            1..6,
        )
    }

    /// Events: (key index, minutes since the previous event, minutes back for a late one, click).
    fn stream() -> impl Strategy<Value = Vec<(u8, u16, Option<u16>, u8)>> {
        prop::collection::vec(
            (
                0u8..4,
                0u16..90,
                prop::option::weighted(0.2, 1u16..240),
                0u8..2,
            ),
            1..60,
        )
    }

    fn run(csv: &str, steps: &str, branches: usize, batch: usize) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("in.csv"), csv).unwrap();
        let d = dir.path().display();
        let yaml = format!(
            "source: {{csv: {{path: {d}/in.csv, key: user, time: time}}}}\nsteps:\n{steps}\ntargets: [{{jsonl: {{path: {d}/main.jsonl}}}}]\nbatch_size: {batch}\n"
        )
        .replace("{OUT}", &d.to_string());
        Pipeline::from_yaml(&yaml, "random.yaml", &[])
            .unwrap_or_else(|e| panic!("{e}\n{yaml}"))
            .run()
            .unwrap_or_else(|e| panic!("{e}\n{yaml}"));
        let mut outs = vec![std::fs::read_to_string(dir.path().join("main.jsonl")).unwrap()];
        for b in 0..branches {
            outs.push(
                std::fs::read_to_string(dir.path().join(format!("branch{b}.jsonl")))
                    .unwrap_or_default(),
            );
        }
        outs
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
        #[test]
        fn table_steps_give_the_same_output_at_every_batch_size(c in chain(), s in stream()) {
            let mut csv = String::from("time,user,click,amount\n");
            let mut t: i64 = 1_600_000_000;
            for (i, (k, gap, back, click)) in s.iter().enumerate() {
                t += *gap as i64 * 60;
                let at = t - back.map_or(0, |b| b as i64 * 60);
                let time = chrono::DateTime::from_timestamp(at, 0).unwrap().to_rfc3339();
                csv.push_str(&format!("{time},u{k},{click},{}.5\n", i % 7));
            }
            let mut steps = String::new();
            let mut n = 0;
            let mut branches = 0;
            for (k, branch) in &c {
                match branch {
                    None => {
                        steps.push_str(&format!("  - {}\n", step_yaml(k, n)));
                        n += 1;
                    }
                    Some(inner) => {
                        let inner: Vec<String> = inner
                            .iter()
                            .map(|k| {
                                n += 1;
                                step_yaml(k, n - 1)
                            })
                            .collect();
                        steps.push_str(&format!(
                            "  - {{branch: {{steps: [{}], targets: [{{jsonl: {{path: \"{{OUT}}/branch{branches}.jsonl\"}}}}]}}}}\n",
                            inner.join(", ")
                        ));
                        branches += 1;
                    }
                }
            }
            let one = run(&csv, &steps, branches, 1);
            for bs in [3, 256] {
                let other = run(&csv, &steps, branches, bs);
                prop_assert_eq!(&one, &other, "batch size {} differs\nsteps:\n{}\ninput:\n{}", bs, steps, csv);
            }
        }
    }
}
