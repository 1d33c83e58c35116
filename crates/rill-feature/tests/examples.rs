//! Every featurizer config under `examples/features/` runs here over the fixtures (or its
//! synthetic interval), live and offline, and its outputs are checked.

mod common;
use common::*;
use rill_core::Timestamp;
use rill_feature::{CompiledGraph, FeaturizerConfig, OfflineInput, Registry};
use std::path::PathBuf;

fn example(name: &str) -> Vec<rill_feature::Feature> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/features")
        .join(name);
    FeaturizerConfig::from_file(p)
        .unwrap()
        .build(&Registry::builtin())
        .unwrap()
}

#[test]
fn every_example_has_a_test() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/features");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    names.sort();
    assert_eq!(names, vec!["market.yaml", "synthetic.yaml"]);
}

#[test]
fn market_example() {
    let fs = example("market.yaml");
    let graph = CompiledGraph::new(&fs).unwrap();
    assert_eq!(graph.source_names(), vec!["book", "trades", "ticker"]);
    // book, l2, mid, vol, spread, trades, tvi, bars, ticker, neo_mid, 3 transforms, the label
    assert_eq!(graph.node_count(), 14);
    let ticker = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/svoe/ticker/binance_neo_usdt.parquet");
    let g = offline(
        &fs,
        vec![
            ("book", OfflineInput::Parquet(blocks("l2_inc"))),
            ("trades", OfflineInput::Parquet(blocks("trades"))),
            ("ticker", OfflineInput::Parquet(vec![ticker])),
        ],
    );
    assert_eq!(series(&g, "vol").len(), 160);
    assert_eq!(series(&g, "spread").len(), 160);
    assert_eq!(series(&g, "tvi").len(), 423);
    assert_eq!(series(&g, "neo_mid").len(), 868);
    // 10 s bars between the first whole bucket and the last trade's bucket
    let bars = series(&g, "bars_10s");
    assert_eq!(f(&bars[0], "timestamp"), 1622120220.0);
    assert!(bars
        .windows(2)
        .all(|w| f(&w[1], "timestamp") > f(&w[0], "timestamp")));
    let last = g.last().unwrap();
    assert!(last.is_complete(), "every output has a value at the end");
    assert_eq!(f(last.record("vol").unwrap(), "timestamp"), 1664779008.080);
}

#[test]
fn synthetic_example() {
    let fs = example("synthetic.yaml");
    let start = Timestamp::from_secs(1675209600);
    let g = offline(
        &fs,
        vec![(
            "sine",
            OfflineInput::Synthetic {
                start,
                end: start.add(rill_core::Duration::from_secs(60)),
            },
        )],
    );
    // 3 splits of 20 s: int((b − a) / step) points in each of [0, 20], [20.1, 40.1], [40.2, 60]
    let sine = series(&g, "sine");
    assert_eq!(sine.len(), 20 + 20 + 19);
    close(f(&sine[0], "mid_price"), 9999.989109, 1e-6);
    let scaled = series(&g, "sine_scaled");
    assert!(scaled.iter().all(|r| (0.0..=1.0).contains(&f(r, "val"))));
    close(f(&series(&g, "sine_ewma")[0], "val"), 9999.989109, 1e-6);
}
