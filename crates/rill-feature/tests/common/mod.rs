//! Helpers of the integration tests: fixture paths, running a config offline, series of a
//! feature.
#![allow(dead_code)]

use rill_core::Record;
use rill_feature::{
    Feature, FeaturizerConfig, GroupedNamedDataEvent, OfflineFeatureStreamGenerator, OfflineInput,
    Registry,
};
use std::path::PathBuf;

/// The blocks of a fixture folder (`l2_inc`, `trades`), in order.
pub fn blocks(kind: &str) -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/svoe")
        .join(kind);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect();
    v.sort();
    v
}

/// The features of a YAML config.
pub fn features(yaml: &str) -> Vec<Feature> {
    FeaturizerConfig::from_yaml(yaml)
        .unwrap()
        .build(&Registry::builtin())
        .unwrap()
}

/// Every grouped event of an offline run.
pub fn offline(
    features: &[Feature],
    inputs: Vec<(&str, OfflineInput)>,
) -> Vec<GroupedNamedDataEvent> {
    let inputs = inputs
        .into_iter()
        .map(|(n, i)| (n.to_string(), i))
        .collect();
    OfflineFeatureStreamGenerator::new(features, inputs)
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
}

/// The records of output `name`, one per grouped event that updated it.
pub fn series(grouped: &[GroupedNamedDataEvent], name: &str) -> Vec<Record> {
    grouped
        .iter()
        .filter(|g| g.updated(name))
        .map(|g| g.record(name).unwrap().clone())
        .collect()
}

/// A float field of a record.
pub fn f(r: &Record, field: &str) -> f64 {
    r.get(field).and_then(|v| v.as_f64()).unwrap()
}

/// `[price, size]` levels of a book side.
pub fn levels(r: &Record, side: &str) -> Vec<(f64, f64)> {
    r.get(side)
        .unwrap()
        .as_list()
        .unwrap()
        .iter()
        .map(|l| {
            let l = l.as_list().unwrap();
            (l[0].as_f64().unwrap(), l[1].as_f64().unwrap())
        })
        .collect()
}

/// Asserts `|a − b| ≤ tol`.
#[track_caller]
pub fn close(a: f64, b: f64, tol: f64) {
    assert!((a - b).abs() <= tol, "{a} is not within {tol} of {b}");
}
