//! Every YAML file under `examples/` runs here, and its output is asserted.

use rill::core::Value;
use rill::Pipeline;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Loads an example (its relative paths relative to `examples/`, as `rill run` reads them)
/// with its outputs redirected to `out`.
fn load(name: &str, out: &Path) -> Pipeline {
    let dir = repo().join("examples");
    let text = std::fs::read_to_string(dir.join(format!("{name}.yaml"))).unwrap();
    let text = text
        .replace("path: out/", &format!("path: {}/", out.display()))
        .replace("url: out/", &format!("url: {}/", out.display()));
    Pipeline::from_yaml_in(&text, name, &dir, &[]).unwrap()
}

fn read_jsonl(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn read_csv(path: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

/// The input rows of examples/data/clicks.csv as (user, click, amount, status).
fn clicks() -> Vec<(String, i64, f64, String)> {
    read_csv(&repo().join("examples/data/clicks.csv"))
        .into_iter()
        .skip(1)
        .map(|r| {
            (
                r[1].clone(),
                r[2].parse().unwrap(),
                r[3].parse().unwrap(),
                r[4].clone(),
            )
        })
        .collect()
}

#[test]
fn every_example_has_a_test() {
    let tested = [
        "quickstart",
        "dead_letter",
        "routing",
        "aggregates",
        "state",
    ];
    for entry in std::fs::read_dir(repo().join("examples")).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "yaml") {
            let stem = p.file_stem().unwrap().to_str().unwrap().to_string();
            assert!(
                tested.contains(&stem.as_str()),
                "examples/{stem}.yaml has no test in crates/rill/tests/examples.rs"
            );
            load(&stem, Path::new("/tmp"))
                .validate()
                .unwrap_or_else(|e| panic!("{stem}: {e}"));
        }
    }
}

#[test]
fn quickstart_filters_and_maps_into_parquet() {
    let dir = tempfile::tempdir().unwrap();
    let out = load("quickstart", dir.path()).run().unwrap();
    let want: Vec<_> = clicks().into_iter().filter(|c| c.1 == 1).collect();
    assert_eq!(
        out.summary.step("filter").unwrap().events_out,
        want.len() as u64
    );
    // read the Parquet output back with rill's own source
    let mut src = rill::io::SourceConfig::Parquet(
        serde_json::from_value(serde_json::json!({"path": dir.path().join("quickstart.parquet")}))
            .unwrap(),
    )
    .build()
    .unwrap();
    let mut batch = rill::flow::SourceBatch::default();
    while src.next_batch(&mut batch, 1000).unwrap() {}
    assert_eq!(batch.events.len(), want.len());
    for (ev, (user, _, amount, status)) in batch.events.iter().zip(&want) {
        assert_eq!(ev.body.get("user"), Some(&Value::from(user.as_str())));
        let eur = (amount * 0.92 * 100.0).round() / 100.0;
        assert_eq!(ev.body.get("amount_eur"), Some(&Value::Float(eur)));
        assert_eq!(ev.body.get("failed"), Some(&Value::Bool(status == "fail")));
    }
}

#[test]
fn dead_letter_keeps_going_and_reports_each_bad_row() {
    let dir = tempfile::tempdir().unwrap();
    let out = load("dead_letter", dir.path()).run().unwrap();
    assert_eq!(out.summary.records_read, 6);
    assert_eq!(out.summary.records_rejected, 3);
    assert_eq!(out.summary.dead_lettered, 3);
    let good = read_jsonl(&dir.path().join("orders.jsonl"));
    let cents: Vec<i64> = good
        .iter()
        .map(|r| r["amount_cents"].as_i64().unwrap())
        .collect();
    assert_eq!(cents, vec![1050, 725, 300]);
    let dead = read_jsonl(&dir.path().join("orders_dead.jsonl"));
    let reasons: Vec<&str> = dead.iter().map(|r| r["error"].as_str().unwrap()).collect();
    let src = format!("{}/examples/data/orders_bad.csv", repo().display());
    assert_eq!(
        reasons,
        vec![
            format!("{src}, record 3: field 'amount': 'abc' is not a float"),
            format!("{src}, record 5: field 'time': 'not-a-time' is not an ISO-8601 timestamp"),
            format!("{src}, record 7: expected 4 fields, found 5"),
        ]
    );
    assert_eq!(dead[0]["body"], "2,u2,abc,2020-07-21T21:41:00+00:00");
}

#[test]
fn routing_branches_routes_and_per_key_state() {
    let dir = tempfile::tempdir().unwrap();
    let out = load("routing", dir.path()).run().unwrap();
    let rows = clicks();
    // per-key purchase numbers
    let mut seen = std::collections::HashMap::new();
    let numbered: Vec<(String, i64, f64, String, i64)> = rows
        .iter()
        .map(|(u, c, a, s)| {
            let n = seen.entry(u.clone()).or_insert(0);
            *n += 1;
            (u.clone(), *c, *a, s.clone(), *n)
        })
        .collect();
    let big: Vec<(String, i64)> = read_jsonl(&dir.path().join("big.jsonl"))
        .iter()
        .map(|r| {
            (
                r["user"].as_str().unwrap().to_string(),
                r["purchase_no"].as_i64().unwrap(),
            )
        })
        .collect();
    let want_big: Vec<(String, i64)> = numbered
        .iter()
        .filter(|r| r.2 >= 100.0)
        .map(|r| (r.0.clone(), r.4))
        .collect();
    assert_eq!(big, want_big);
    let small_users: Vec<String> = numbered
        .iter()
        .filter(|r| r.2 < 100.0)
        .map(|r| r.0.clone())
        .collect();
    let batches = read_jsonl(&dir.path().join("small_batches.jsonl"));
    let got_users: Vec<String> = batches
        .iter()
        .flat_map(|b| {
            b["users"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u.as_str().unwrap().to_string())
        })
        .collect();
    assert_eq!(got_users, small_users);
    assert_eq!(batches.len(), small_users.len().div_ceil(5));
    assert!(
        batches.iter().rev().skip(1).all(|b| b["orders"] == 5),
        "only the last batch may be short"
    );
    let failures = read_csv(&dir.path().join("failures.csv"));
    assert_eq!(
        failures[0],
        [
            "time",
            "user",
            "click",
            "purchase_amount",
            "activity_status",
            "purchase_no"
        ]
    );
    assert_eq!(
        failures.len() - 1,
        rows.iter().filter(|r| r.3 == "fail").count()
    );
    assert_eq!(
        out.summary.step("choice").unwrap().events_in,
        rows.len() as u64
    );
}

/// Reads every event of a Parquet file with rill's own source.
fn read_parquet(path: &Path) -> Vec<rill::core::Event> {
    let cfg = serde_json::json!({"path": path});
    let mut src = rill::io::SourceConfig::Parquet(serde_json::from_value(cfg).unwrap())
        .build()
        .unwrap();
    let mut batch = rill::flow::SourceBatch::default();
    while src.next_batch(&mut batch, 1000).unwrap() {}
    batch.events
}

#[test]
fn aggregates_match_a_brute_force_recomputation() {
    let dir = tempfile::tempdir().unwrap();
    load("aggregates", dir.path()).run().unwrap();
    let out = read_parquet(&dir.path().join("features.parquet"));
    let rows: Vec<Vec<String>> = read_csv(&repo().join("examples/data/clicks.csv"))
        .into_iter()
        .skip(1)
        .collect();
    assert_eq!(out.len(), rows.len());
    let period = 600i64;
    let secs = |s: &str| rill::core::Timestamp::parse_iso(s).unwrap().nanos() / 1_000_000_000;
    for (i, ev) in out.iter().enumerate() {
        let (t, user) = (secs(&rows[i][0]), &rows[i][1]);
        let bucket = t.div_euclid(period);
        for (w, wname) in [(3600, "1h"), (7200, "2h"), (86400, "24h")] {
            // events of this user so far whose 10m bucket is among the window's W/10m buckets
            let first = bucket - w / period + 1;
            let inw: Vec<&Vec<String>> = rows[..=i]
                .iter()
                .filter(|r| {
                    &r[1] == user && (first..=bucket).contains(&secs(&r[0]).div_euclid(period))
                })
                .collect();
            let amounts: Vec<f64> = inw.iter().map(|r| r[3].parse().unwrap()).collect();
            let get = |f: &str| {
                ev.body
                    .get(f)
                    .and_then(Value::as_f64)
                    .unwrap_or_else(|| panic!("row {i}: no {f}"))
            };
            assert_eq!(
                get(&format!("number_of_clicks_count_{wname}")),
                inw.len() as f64,
                "row {i} count {wname}"
            );
            let avg = amounts.iter().sum::<f64>() / amounts.len() as f64;
            assert!(
                (get(&format!("purchases_avg_{wname}")) - avg).abs() < 1e-9 * avg,
                "row {i} avg {wname}"
            );
            assert_eq!(
                get(&format!("purchases_min_{wname}")),
                amounts.iter().cloned().fold(f64::INFINITY, f64::min),
                "row {i} min {wname}"
            );
            assert_eq!(
                get(&format!("purchases_max_{wname}")),
                amounts.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
                "row {i} max {wname}"
            );
            if wname == "1h" {
                let failed = inw.iter().filter(|r| r[4] == "fail").count();
                assert_eq!(
                    get("failed_activities_count_1h"),
                    failed as f64,
                    "row {i} failed 1h"
                );
            }
        }
        assert_eq!(ev.body.get("user"), Some(&Value::from(user.as_str())));
    }
}

/// Every example gives byte-identical outputs at batch size 1 and at the default.
#[test]
fn every_example_gives_the_same_output_at_batch_size_1() {
    for entry in std::fs::read_dir(repo().join("examples")).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let stem = p.file_stem().unwrap().to_str().unwrap().to_string();
        let outputs = |batch: Option<usize>| {
            let dir = tempfile::tempdir().unwrap();
            let mut pipeline = load(&stem, dir.path());
            if let Some(b) = batch {
                pipeline.config.batch_size = b;
            }
            let result = pipeline.run().map(|o| o.result).map_err(|e| e.to_string());
            // the files a run writes (a store's directory holds its own layout, not output)
            let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir.path())
                .unwrap()
                .filter(|e| e.as_ref().unwrap().path().is_file())
                .map(|e| {
                    let e = e.unwrap();
                    (
                        e.file_name().to_string_lossy().into_owned(),
                        std::fs::read(e.path()).unwrap(),
                    )
                })
                .collect();
            files.sort();
            (result, files)
        };
        let (default_result, default_files) = outputs(None);
        assert!(!default_files.is_empty(), "{stem}: no output");
        let (one_result, one_files) = outputs(Some(1));
        assert_eq!(default_result, one_result, "{stem}: results differ");
        assert_eq!(
            default_files.iter().map(|f| &f.0).collect::<Vec<_>>(),
            one_files.iter().map(|f| &f.0).collect::<Vec<_>>(),
            "{stem}"
        );
        for (a, b) in default_files.iter().zip(&one_files) {
            assert!(a.1 == b.1, "{stem}: {} differs at batch size 1", a.0);
        }
    }
}

#[test]
fn state_keeps_features_in_the_embedded_store_and_a_second_run_continues() {
    let dir = tempfile::tempdir().unwrap();
    let out = load("state", dir.path()).run().unwrap();
    assert_eq!(out.summary.records_read, 40);
    let rows = read_csv(&dir.path().join("state_features.csv"));
    let header = &rows[0];
    let col = |n: &str| header.iter().position(|h| h == n).unwrap();
    // u1's last row: its features as emitted
    let last = rows.iter().rev().find(|r| r[1] == "u1").unwrap();
    let input = clicks();
    let u1: Vec<_> = input.iter().filter(|c| c.0 == "u1").collect();
    let clicks_24h: i64 = u1.iter().map(|c| c.1).sum();
    assert_eq!(last[col("clicks_sum_24h")], format!("{clicks_24h}.0"));
    assert_eq!(last[col("clicks_count_24h")], format!("{}.0", u1.len()));
    // the store holds what the run emitted, for another process to read
    let t = rill::table::Table::open(
        "features",
        &dir.path().join("state").display().to_string(),
        Path::new(""),
        Default::default(),
    )
    .unwrap();
    assert_eq!(t.resumed_from().unwrap().records, 40);
    let at = rill::core::Timestamp::parse_iso(&last[0]).unwrap();
    let view = t.read_key(&Value::from("u1"), at).unwrap().unwrap();
    let feature = |n: &str| {
        view.features
            .iter()
            .find(|(k, _)| k.as_str() == n)
            .unwrap()
            .1
            .clone()
    };
    assert_eq!(feature("clicks_sum_24h"), Value::Float(clicks_24h as f64));
    assert_eq!(
        view.attrs.unwrap().get("activity_status"),
        Some(&Value::from(u1.last().unwrap().3.as_str()))
    );
    drop(t);
    // a second run over the same input continues the stored state: every event is there
    // twice, so each row's 24h count at least doubles (the window at an event's time holds
    // the first run's copies up to the end of that 10m bucket) and the last rows' exactly
    let first_counts: Vec<f64> = rows[1..]
        .iter()
        .map(|r| r[col("clicks_count_24h")].parse().unwrap())
        .collect();
    load("state", dir.path()).run().unwrap();
    let rows = read_csv(&dir.path().join("state_features.csv"));
    let again: Vec<f64> = rows[1..]
        .iter()
        .map(|r| r[col("clicks_count_24h")].parse().unwrap())
        .collect();
    for (a, f) in again.iter().zip(&first_counts) {
        assert!(*a >= 2.0 * f, "{again:?} vs {first_counts:?}");
    }
    assert_eq!(again.last(), first_counts.last().map(|c| 2.0 * c).as_ref());
}
