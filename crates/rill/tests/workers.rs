//! `workers: N` changes nothing but speed: every pipeline gives byte-identical output files and
//! the same summary for 1, 2 and 4 workers and for every `batch_size`; a pipeline that cannot be
//! sharded runs on one thread and says why; a failure stops the run at the same record with
//! the same message.

use rill::flow::RunSummary;
use rill::{Override, Pipeline};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// What one run gave: every output file's bytes (by name), the summary, or the error.
#[derive(Debug, PartialEq)]
struct Run {
    files: BTreeMap<String, Vec<u8>>,
    outcome: Result<RunSummary, (String, RunSummary)>,
}

/// Runs `text` (relative paths relative to `dir`; `{out}` is the output directory) with
/// `--set workers=W --set batch_size=B`.
fn run(text: &str, dir: &Path, workers: usize, batch: usize) -> Run {
    let out = tempfile::tempdir().unwrap();
    let text = text
        .replace("{out}", &out.path().display().to_string())
        .replace("path: out/", &format!("path: {}/", out.path().display()))
        .replace("url: out/", &format!("url: {}/", out.path().display()));
    let sets: Vec<Override> = [format!("workers={workers}"), format!("batch_size={batch}")]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    let p = Pipeline::from_yaml_in(&text, "test.yaml", dir, &sets).unwrap();
    assert_eq!(p.config.workers, workers);
    // the output directory differs per run: target names say OUT instead
    let shown = out.path().display().to_string();
    let fix = |mut s: RunSummary| {
        for st in &mut s.steps {
            st.name = st.name.replace(&shown, "OUT");
        }
        for t in &mut s.tables {
            t.url = t.url.replace(&shown, "OUT");
        }
        s
    };
    let outcome = match p.run() {
        Ok(o) => Ok(fix(o.summary)),
        Err(e) => Err((e.error.to_string().replace(&shown, "OUT"), fix(*e.summary))),
    };
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(out.path()).unwrap() {
        let p = entry.unwrap().path();
        if p.is_file() {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            files.insert(name, std::fs::read(&p).unwrap());
        }
    }
    Run { files, outcome }
}

fn summary(r: &Run) -> &RunSummary {
    match &r.outcome {
        Ok(s) => s,
        Err((e, _)) => panic!("the run failed: {e}"),
    }
}

/// Runs with workers 1, 2, 4 × batch_size 1, 256 and demands the same files and summary as
/// workers 1 at batch_size 256, with no warning about workers. Returns that run.
fn assert_same_everywhere(text: &str, dir: &Path) -> Run {
    let base = run(text, dir, 1, 256);
    let s = summary(&base);
    assert!(!base.files.is_empty(), "no output");
    for workers in [1, 2, 4] {
        for batch in [1, 256] {
            let r = run(text, dir, workers, batch);
            let rs = summary(&r);
            assert!(
                !rs.warnings.iter().any(|w| w.contains("workers")),
                "workers {workers}: {:?}",
                rs.warnings
            );
            for (name, bytes) in &base.files {
                assert!(
                    r.files.get(name) == Some(bytes),
                    "workers {workers}, batch_size {batch}: {name} differs"
                );
            }
            assert_eq!(r.files.len(), base.files.len());
            assert_eq!(rs, s, "workers {workers}, batch_size {batch}");
        }
    }
    base
}

#[test]
fn every_example_gives_the_same_output_with_any_number_of_workers() {
    let dir = repo().join("examples");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "yaml") {
            let text = std::fs::read_to_string(&p).unwrap();
            let base = assert_same_everywhere(&text, &dir);
            assert!(summary(&base).records_read > 0);
            n += 1;
        }
    }
    assert!(n >= 4, "examples found: {n}");
}

/// Several thousand events over 100 keys, a few out of order (late), with a static segment
/// per user: W1's columns plus `segment` and `item`.
fn w1_like_data(dir: &Path, n: usize) -> PathBuf {
    let path = dir.join("w1_like.csv");
    let mut s = String::from("time,user,click,purchase_amount,activity_status,segment,item\n");
    let mut x: u64 = 42;
    let mut next = || {
        // a fixed LCG: the same data on every machine
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        x >> 33
    };
    let start = 1_595_368_000i64; // 2020-07-21T21:46:40Z
    for i in 0..n {
        let r = next();
        // ~30 s apart; every 50th event 20 minutes in the past (late for 10-minute buckets)
        let late = if i % 50 == 49 { 1200 } else { 0 };
        let t = start + (i as i64) * 30 + (r % 30) as i64 - late;
        let user = next() % 100;
        let click = next() % 2;
        let amount = (next() % 50_000) as f64 / 100.0;
        let status = if next() % 7 == 0 { "fail" } else { "ok" };
        let item = next() % 13;
        let t = chrono::DateTime::from_timestamp(t, 0).unwrap().to_rfc3339();
        s.push_str(&format!(
            "{t},u{user},{click},{amount},{status},s{},i{item}\n",
            user % 3
        ));
    }
    std::fs::write(&path, s).unwrap();
    path
}

/// A W1-like pipeline: static attributes written per key, sliding windows with p50 and
/// count_distinct, enrich_with, query_by_key, per-key state; then global steps (a running
/// count over all events) and two targets, which run after the merge.
const W1_LIKE: &str = r#"
name: w1_like
tables:
  features: {url: "memory://"}
  users: {url: "memory://"}
source:
  csv:
    path: {data}
    key: user
    time: time
    types: {click: int, purchase_amount: float}
steps:
  - write_to_table: {table: features, columns: [segment]}
  - filter: "purchase_amount >= 5.0"
  - aggregate_by_key:
      table: features
      aggregates:
        - {name: clicks, field: click, ops: [count, sum], windows: {sliding: [1h, 2h, 24h], period: 10m}}
        - {name: amount, field: purchase_amount, ops: [avg, min, max, p50], windows: {sliding: [1h, 24h], period: 10m}}
        - {name: items, field: item, ops: [count_distinct], windows: {sliding: [2h], period: 10m}}
        - {name: failed, field: activity_status, ops: [count], windows: {sliding: [1h], period: 10m},
           filter: "activity_status == 'fail'"}
      enrich_with: [segment]
  - map_with_state:
      table: users
      state: "{n: coalesce(state.n, 0) + 1}"
      output: "body + {user_events: new_state.n}"
  - query_by_key: {table: features, features: [clicks_count_24h, amount_p50_24h], aliases: {clicks_count_24h: q_clicks}}
  - extend: "{big: purchase_amount > 400.0}"
  - map_with_state:
      name: global
      initial: 0
      state: "state + 1"
      output: "body + {seq: new_state}"
targets:
  - csv: {path: out/features.csv}
  - jsonl: {path: out/features.jsonl}
"#;

#[test]
fn w1_like_aggregation_is_identical_with_any_number_of_workers() {
    let data = tempfile::tempdir().unwrap();
    let path = w1_like_data(data.path(), 4000);
    let text = W1_LIKE.replace("{data}", &path.display().to_string());
    let base = assert_same_everywhere(&text, data.path());
    let s = summary(&base);
    assert_eq!(s.records_read, 4000);
    let agg = s.step("aggregate_by_key").unwrap();
    assert!(agg.events_in > 3500 && agg.events_in < 4000, "{agg:?}");
    assert!(s.counter("late_events") > 0, "{s}");
    let lines: Vec<serde_json::Value> = String::from_utf8(base.files["features.jsonl"].clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len() as u64, agg.events_out);
    // the global running count is the input order itself
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(l["seq"], serde_json::json!(i + 1), "{l}");
    }
    let last = lines.last().unwrap();
    assert!(last["segment"].as_str().unwrap().starts_with('s'), "{last}");
    assert!(last["amount_p50_24h"].as_f64().is_some(), "{last}");
    assert!(
        last["items_count_distinct_2h"].as_f64().unwrap() >= 1.0,
        "{last}"
    );
    assert_eq!(last["q_clicks"], last["clicks_count_24h"], "{last}");
}

#[test]
fn a_pipeline_that_cannot_be_sharded_runs_on_one_worker_and_says_why() {
    let data = tempfile::tempdir().unwrap();
    let path = w1_like_data(data.path(), 600);
    // the table `seen` is read first and written by a step after a global one: its state
    // cannot be split among workers
    let text = format!(
        r#"
source: {{csv: {{path: {}, key: user, time: time, types: {{click: int}}}}}}
steps:
  - query_by_key: {{table: seen, features: [last_item], aliases: {{last_item: prev_item}}}}
  - map_with_state: {{initial: 0, state: "state + click", output: "body + {{clicks_so_far: new_state}}"}}
  - extend: "{{last_item: item}}"
  - write_to_table: {{table: seen, columns: [last_item]}}
targets:
  - jsonl: {{path: out/o.jsonl}}
"#,
        path.display()
    );
    let one = run(&text, data.path(), 1, 256);
    assert!(
        summary(&one).warnings.is_empty(),
        "{:?}",
        summary(&one).warnings
    );
    for (workers, batch) in [(2, 256), (4, 1)] {
        let r = run(&text, data.path(), workers, batch);
        assert_eq!(r.files, one.files);
        let s = summary(&r);
        assert_eq!(
            s.warnings,
            vec![format!(
                "workers: {workers} asked for, the run used one: step 'query_by_key' uses table 'seen', which a step after the sharded ones also uses"
            )]
        );
        let mut s = s.clone();
        s.warnings.clear();
        assert_eq!(&s, summary(&one));
    }
    let text = String::from_utf8(one.files["o.jsonl"].clone()).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 600);
    // a user's second event sees the item its first one wrote
    let first = &lines[0];
    assert!(first["prev_item"].is_null(), "{first}");
    let second = lines[1..]
        .iter()
        .find(|l| l["user"] == first["user"])
        .unwrap();
    assert_eq!(second["prev_item"], first["item"], "{second}");
    let clicks: i64 = lines.iter().map(|l| l["click"].as_i64().unwrap()).sum();
    assert_eq!(lines[599]["clicks_so_far"], serde_json::json!(clicks));
}

#[test]
fn keyed_steps_with_another_key_run_on_one_thread_after_the_shardable_ones() {
    let data = tempfile::tempdir().unwrap();
    let path = w1_like_data(data.path(), 800);
    let text = format!(
        r#"
source: {{csv: {{path: {}, key: user, time: time, types: {{click: int, purchase_amount: float}}}}}}
steps:
  - aggregate_by_key:
      table: by_user
      aggregates: [{{name: a, field: purchase_amount, ops: [sum], windows: {{sliding: [1h], period: 10m}}}}]
  - aggregate_by_key:
      table: by_segment
      key: segment
      aggregates: [{{name: s, field: purchase_amount, ops: [sum, count], windows: {{sliding: [1h], period: 10m}}}}]
targets:
  - csv: {{path: out/o.csv}}
"#,
        path.display()
    );
    let one = run(&text, data.path(), 1, 256);
    let two = run(&text, data.path(), 2, 7);
    assert_eq!(two.files, one.files);
    let mut s = summary(&two).clone();
    assert_eq!(
        s.warnings,
        vec!["workers: only the steps before step 1 run in the workers: step 1 (aggregate_by_key) is keyed by field 'segment', the steps before it by the event key".to_string()]
    );
    s.warnings.clear();
    assert_eq!(&s, summary(&one));
}

/// Data whose `bad`-th row (1-based, after the header: record `bad + 1` of the file) has a
/// `code` that is not a number.
fn data_with_bad_record(dir: &Path, n: usize, bad: usize) -> PathBuf {
    let path = dir.join("bad.csv");
    let mut s = String::from("time,user,code\n");
    for i in 1..=n {
        let code = if i == bad {
            "x7".to_string()
        } else {
            (i % 17).to_string()
        };
        s.push_str(&format!(
            "2024-01-01T00:{:02}:{:02}Z,u{},{code}\n",
            (i / 60) % 60,
            i % 60,
            i % 10
        ));
    }
    std::fs::write(&path, s).unwrap();
    path
}

#[test]
fn a_failure_at_record_k_fails_the_same_with_one_and_two_workers() {
    let data = tempfile::tempdir().unwrap();
    let path = data_with_bad_record(data.path(), 3000, 1234);
    // the failing step is sharded (`int(code)` in a map after a keyed step), or after the
    // merge (the global running sum)
    for failing in [
        r#"  - map: "body + {n: int(code)}""#,
        r#"  - map_with_state: {initial: 0, state: "state + int(code)", output: "body + {total: new_state}"}"#,
    ] {
        let text = format!(
            r#"
source: {{csv: {{path: {}, key: user, time: time}}}}
steps:
  - map_with_state: {{table: counts, initial: 0, state: "state + 1", output: "body + {{k: new_state}}"}}
{failing}
targets:
  - jsonl: {{path: out/o.jsonl}}
"#,
            path.display()
        );
        let one = run(&text, data.path(), 1, 256);
        let Err((msg, _)) = &one.outcome else {
            panic!("the run did not fail")
        };
        assert!(msg.contains("record 1235 "), "{msg}");
        for (workers, batch) in [(2, 256), (2, 1), (4, 100)] {
            let r = run(&text, data.path(), workers, batch);
            let Err((m, s)) = &r.outcome else {
                panic!("workers {workers}: the run did not fail")
            };
            assert_eq!(m, msg, "workers {workers}");
            let reached = s.step("map_with_state").unwrap().events_in;
            assert!(reached >= 1234, "{s}");
        }
    }
}

#[test]
fn dead_letters_and_max_rejects_are_the_same_with_workers() {
    let data = tempfile::tempdir().unwrap();
    let path = data_with_bad_record(data.path(), 2000, 777);
    let text = format!(
        r#"
source: {{csv: {{path: {}, key: user, time: time}}}}
steps:
  - map_with_state: {{table: counts, initial: 0, state: "state + 1", output: "body + {{k: new_state}}"}}
  - map: "body + {{n: int(code)}}"
targets:
  - jsonl: {{path: out/o.jsonl}}
error_policy: dead_letter
dead_letter: {{jsonl: {{path: out/dead.jsonl}}}}
"#,
        path.display()
    );
    let base = assert_same_everywhere(&text, data.path());
    let s = summary(&base);
    assert_eq!(s.dead_lettered, 1);
    let dead = String::from_utf8(base.files["dead.jsonl"].clone()).unwrap();
    assert!(dead.contains("\"record\":778"), "{dead}");
    // with max_rejects 0 the run stops at that record, whatever the worker count
    let strict = format!("{text}max_rejects: 0\n");
    let one = run(&strict, data.path(), 1, 256);
    let Err((msg, _)) = &one.outcome else {
        panic!("max_rejects did not stop the run")
    };
    assert!(msg.contains("1 of the 777 records"), "{msg}");
    let two = run(&strict, data.path(), 2, 256);
    assert_eq!(two.outcome.as_ref().map_err(|e| &e.0), Err(msg));
}

#[test]
fn a_cancelled_run_commits_what_it_processed_as_one_worker_does() {
    let data = tempfile::tempdir().unwrap();
    let path = w1_like_data(data.path(), 1000);
    let text = W1_LIKE
        .replace("{data}", &path.display().to_string())
        .replace(
            "csv: {path: out/features.csv}",
            "csv: {path: {out}/features.csv}",
        );
    let go = |workers: usize| {
        let out = tempfile::tempdir().unwrap();
        let text = text
            .replace("{out}", &out.path().display().to_string())
            .replace("path: out/", &format!("path: {}/", out.path().display()));
        let sets: Vec<Override> = [format!("workers={workers}"), "batch_size=100".into()]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let p = Pipeline::from_yaml_in(&text, "t.yaml", data.path(), &sets).unwrap();
        let cancel = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let o = p
            .run_cancellable(&Default::default(), Some(cancel))
            .unwrap();
        assert!(o.cancelled);
        let mut s = o.summary;
        for st in &mut s.steps {
            st.name = st.name.replace(&out.path().display().to_string(), "OUT");
        }
        (std::fs::read(out.path().join("features.jsonl")).unwrap(), s)
    };
    let (one, s1) = go(1);
    let (two, s2) = go(2);
    assert_eq!(s1.records_read, 100);
    assert_eq!(one, two);
    assert_eq!(s1, s2);
}

#[test]
fn a_persistent_table_holds_the_same_state_after_a_sharded_run() {
    let data = tempfile::tempdir().unwrap();
    let path = w1_like_data(data.path(), 1500);
    let write = |store: &Path, workers: usize| {
        let text = format!(
            r#"
tables: {{f: {{url: "{}"}}}}
source: {{csv: {{path: {}, key: user, time: time, types: {{click: int, purchase_amount: float}}}}}}
steps:
  - write_to_table: {{table: f, columns: [segment]}}
  - aggregate_by_key:
      table: f
      aggregates: [{{name: a, field: purchase_amount, ops: [sum, count], windows: {{sliding: [1h, 24h], period: 10m}}}}]
targets:
  - jsonl: {{path: out/o.jsonl}}
"#,
            store.display(),
            path.display()
        );
        run(&text, data.path(), workers, 256)
    };
    // what the store holds: every key's features read back by a one-worker run
    let read = |store: &Path| {
        let text = format!(
            r#"
tables: {{f: {{url: "{}"}}}}
source: {{csv: {{path: {}, key: user, time: time}}}}
steps:
  - query_by_key: {{table: f, features: [a_sum_24h, a_count_1h, segment]}}
targets:
  - jsonl: {{path: out/q.jsonl}}
"#,
            store.display(),
            path.display()
        );
        run(&text, data.path(), 1, 256).files
    };
    let s1 = tempfile::tempdir().unwrap();
    let s2 = tempfile::tempdir().unwrap();
    let one = write(&s1.path().join("db"), 1);
    let two = write(&s2.path().join("db"), 2);
    assert_eq!(one.files, two.files);
    let (a, b) = (summary(&one), summary(&two));
    assert_eq!(a.tables.len(), 1);
    assert_eq!(a.tables[0].flushed.as_ref().unwrap().records, 1500);
    assert_eq!(b.tables[0].flushed, a.tables[0].flushed);
    assert_eq!(a.steps, b.steps);
    assert_eq!(read(&s1.path().join("db")), read(&s2.path().join("db")));
}
