//! Transforms (diff, EWMA, min-max), OHLCV bars and the ticker path, on small hand-made
//! inputs with hand-computed values.

mod common;
use common::*;
use rill_core::{Event, Record, Value};
use rill_feature::OfflineInput;

/// `(t, v)` as events of a one-value source (the synthetic sine's schema).
fn series_events(points: &[(f64, f64)]) -> Vec<Event> {
    points
        .iter()
        .map(|&(t, v)| {
            Event::new(Record::from_pairs([
                ("timestamp", Value::Float(t)),
                ("receipt_timestamp", Value::Float(t)),
                ("mid_price", Value::Float(v)),
            ]))
        })
        .collect()
}

const POINTS: [(f64, f64); 5] = [
    (0.0, 100.0),
    (1.0, 101.0),
    (2.0, 102.0),
    (2.5, 99.0),
    (4.1, 100.0),
];

const TRANSFORMS: &str = r#"
feature_configs:
  - {feature_definition: synthetic.synthetic_sine_mid_price, name: src, params: {amplitude: 1, mean: 0, freq: 1}}
  - {feature_definition: transforms.diff, name: diff, params: {window: 2s}, deps: [src]}
  - {feature_definition: transforms.ewma, name: ewma, params: {alpha: 0.5}, deps: [src]}
  - {feature_definition: transforms.ewma, name: ewma_t, params: {halflife: 1s}, deps: [src]}
  - {feature_definition: transforms.min_max_scaling, name: mm, params: {window: 2s}, deps: [src]}
"#;

fn vals(g: &[rill_feature::GroupedNamedDataEvent], name: &str) -> Vec<f64> {
    series(g, name).iter().map(|r| f(r, "val")).collect()
}

#[test]
fn diff_golden_and_ewma_and_min_max() {
    let g = offline(
        &features(TRANSFORMS),
        vec![("src", OfflineInput::Events(series_events(&POINTS)))],
    );
    assert_eq!(g.len(), 5);
    // featurizer-definitions.md §8 (W = 2 s)
    for (got, want) in vals(&g, "diff")
        .iter()
        .zip([0.0, 0.01, 0.02, -0.019802, 0.010101])
    {
        close(*got, want, 1e-6);
    }
    assert_eq!(
        vals(&g, "ewma"),
        vec![100.0, 100.5, 101.25, 100.125, 100.0625]
    );
    for (got, want) in vals(&g, "ewma_t").iter().zip([
        100.0,
        100.5,
        101.25,
        100.59099025766973,
        100.19495408004623,
    ]) {
        close(*got, want, 1e-9);
    }
    assert_eq!(vals(&g, "mm"), vec![0.0, 1.0, 1.0, 0.0, 1.0]);
}

#[test]
fn diff_of_zero_is_nan_and_ewma_needs_one_decay() {
    let g = offline(
        &features(TRANSFORMS),
        vec![(
            "src",
            OfflineInput::Events(series_events(&[(0.0, 0.0), (1.0, 1.0)])),
        )],
    );
    assert!(vals(&g, "diff").iter().all(|v| v.is_nan()));
    let e = rill_feature::FeaturizerConfig::from_yaml(
        "feature_configs:\n  - {feature_definition: synthetic.synthetic_sine_mid_price, name: s, params: {amplitude: 1, mean: 0, freq: 1}}\n  - {feature_definition: transforms.ewma, params: {alpha: 0.5, halflife: 1s}, deps: [s]}",
    )
    .unwrap()
    .build(&rill_feature::Registry::builtin())
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "feature_configs[1].deps: transforms.ewma: give exactly one of alpha and halflife"
    );
}

fn trade(t: f64, price: f64, amount: f64) -> Event {
    Event::new(Record::from_pairs([
        ("timestamp", Value::Float(t)),
        ("receipt_timestamp", Value::Float(t + 0.25)),
        ("side", Value::from("buy")),
        ("amount", Value::Float(amount)),
        ("price", Value::Float(price)),
        ("id", Value::from("x")),
    ]))
}

#[test]
fn ohlcv_bars_are_bucket_aligned_and_stamped_at_the_end() {
    let fs = features("feature_configs:\n  - {feature_definition: ohlcv.ohlcv, name: bar, params: {window: 10s, trades: {name: trades}}}");
    let trades = vec![
        trade(5.0, 50.0, 1.0), // the first (partial) bucket: skipped
        trade(12.0, 10.0, 1.0),
        trade(15.0, 12.0, 2.0),
        trade(18.0, 9.0, 1.0),
        trade(31.0, 11.0, 1.0), // closes [10, 20); [20, 30) had no trade; [30, 40) stays open
    ];
    let g = offline(&fs, vec![("trades", OfflineInput::Events(trades))]);
    let bars = series(&g, "bar");
    assert_eq!(bars.len(), 1);
    let b = &bars[0];
    let got: Vec<f64> = [
        "timestamp",
        "receipt_timestamp",
        "open",
        "high",
        "low",
        "close",
        "volume",
        "vwap",
    ]
    .iter()
    .map(|k| f(b, k))
    .collect();
    assert_eq!(got, vec![20.0, 18.25, 10.0, 12.0, 9.0, 9.0, 4.0, 10.75]);
    assert_eq!(b.get("num_trades"), Some(&Value::Int(3)));
    assert_eq!(
        g[0].get("bar").unwrap().time,
        rill_core::Timestamp::from_secs(20)
    );
}

#[test]
fn mid_price_from_the_ticker_fixture() {
    let fs = features(
        "feature_configs:\n  - {feature_definition: price.mid_price, name: mid, params: {dep_schema: ticker, ticker: {name: ticker}}}",
    );
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/svoe/ticker/binance_neo_usdt.parquet");
    let g = offline(&fs, vec![("ticker", OfflineInput::Parquet(vec![path]))]);
    let mid = series(&g, "mid");
    assert_eq!(mid.len(), 868);
    // first row: bid 99.374, ask 99.434
    close(f(&mid[0], "mid_price"), (99.374 + 99.434) / 2.0, 1e-12);
    close(f(&mid[0], "timestamp"), 1621165424.585, 1e-3);
    close(f(&mid[867], "timestamp"), 1621165535.497, 1e-3);
}

#[test]
fn a_label_of_a_data_source_is_not_a_source() {
    let fs = features(&format!("{TRANSFORMS}label_feature: src\n"));
    let graph = rill_feature::CompiledGraph::new(&fs).unwrap();
    assert_eq!(graph.source_names(), vec!["src"]);
    let g = offline(
        &fs,
        vec![("src", OfflineInput::Events(series_events(&POINTS)))],
    );
    let label: Vec<f64> = series(&g, "label_src")
        .iter()
        .map(|r| f(r, "mid_price"))
        .collect();
    assert_eq!(label, vec![100.0, 101.0, 102.0, 99.0, 100.0]);
}
