//! `rill stream`: a featurizer config replayed over stored data to a target, equal to the
//! library's offline generator; bad arguments name what is wrong.

mod common;
use common::rill;
use rill::feature::{FeaturizerConfig, OfflineFeatureStreamGenerator, OfflineInput, Registry};
use std::path::PathBuf;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}
fn fixtures() -> PathBuf {
    repo().join("crates/rill-feature/tests/fixtures/svoe")
}
fn market() -> String {
    repo()
        .join("examples/features/market.yaml")
        .display()
        .to_string()
}
fn inputs() -> Vec<String> {
    let f = fixtures();
    vec![
        format!("book={}", f.join("l2_inc").display()),
        format!("trades={}", f.join("trades").display()),
        format!(
            "ticker={}",
            f.join("ticker/binance_neo_usdt.parquet").display()
        ),
    ]
}

/// The grouped events of the library's offline generator, as JSON.
fn library() -> Vec<serde_json::Value> {
    let fs = FeaturizerConfig::from_file(market())
        .unwrap()
        .build(&Registry::builtin())
        .unwrap();
    let dir = |d: &str| {
        let mut v: Vec<PathBuf> = std::fs::read_dir(fixtures().join(d))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        v.sort();
        v
    };
    let inputs = vec![
        ("book".to_string(), OfflineInput::Parquet(dir("l2_inc"))),
        ("trades".to_string(), OfflineInput::Parquet(dir("trades"))),
        (
            "ticker".to_string(),
            OfflineInput::Parquet(vec![fixtures().join("ticker/binance_neo_usdt.parquet")]),
        ),
    ];
    OfflineFeatureStreamGenerator::new(&fs, inputs)
        .unwrap()
        .map(|g| g.unwrap().to_json())
        .collect()
}

#[test]
fn stream_writes_the_offline_generators_grouped_events() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["stream".to_string(), market()];
    for i in inputs() {
        args.extend(["--input".to_string(), i]);
    }
    args.extend(["--output".to_string(), "out.jsonl".to_string()]);
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = rill(dir.path(), &argv);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("book: 192990 rows, 2113 events, 0 rejected, 0 out of order"),
        "{err}"
    );
    let text = std::fs::read_to_string(dir.path().join("out.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let lib = library();
    assert_eq!(lines.len(), lib.len());
    assert!(
        err.contains(&format!(
            "{} grouped events written to out.jsonl",
            lib.len()
        )),
        "{err}"
    );
    // the first input in time is the ticker's (2021-05-16); the last the book's (2022-10-03)
    assert_eq!(lines[0]["source"], "ticker");
    assert_eq!(
        lines[0]["neo_mid.mid_price"],
        lib[0]["neo_mid"]["mid_price"]
    );
    assert_eq!(lines[0]["vol.volatility"], serde_json::Value::Null);
    let last = lines.last().unwrap();
    assert_eq!(last["vol.timestamp"], serde_json::json!(1664779008.08));
    assert_eq!(
        last["vol.volatility"],
        lib.last().unwrap()["vol"]["volatility"]
    );
    assert_eq!(last["tvi.tvi"], lib.last().unwrap()["tvi"]["tvi"]);
}

#[test]
fn stream_to_csv_has_a_column_per_output_field() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("sine.yaml");
    std::fs::write(
        &cfg,
        "feature_configs:\n  - {feature_definition: synthetic.synthetic_sine_mid_price, name: sine, params: {amplitude: 2000, mean: 10000, freq: 5}}\n  - {feature_definition: transforms.ewma, name: e, params: {alpha: 0.5}, deps: [sine]}\n",
    )
    .unwrap();
    let out = rill(
        dir.path(),
        &[
            "stream",
            "sine.yaml",
            "--input",
            "sine=synthetic:2023-02-01T00:00:00Z/2023-02-01T00:00:10Z",
            "-o",
            "out.csv",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(dir.path().join("out.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "time,source,sine.timestamp,sine.receipt_timestamp,sine.mid_price,e.timestamp,e.receipt_timestamp,e.val"
    );
    // featurizer-definitions.md §1.5: 10 points, the first mid price 9999.989109…
    assert_eq!(text.lines().count(), 11);
    let first: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(first[1], "sine");
    assert!(first[4].starts_with("9999.98910"), "{first:?}");
    assert_eq!(first[4], first[7], "the EWMA starts at the first value");
}

#[test]
fn bad_inputs_and_configs_are_usage_errors_naming_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let f = fixtures();
    let trades = format!("trades={}", f.join("trades").display());
    let out = rill(
        dir.path(),
        &["stream", &market(), "--input", "zz=x.parquet"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: --input zz=x.parquet: unknown data source 'zz' (the graph's data sources: book, trades, ticker)\n"
    );
    let out = rill(dir.path(), &["stream", &market(), "--input", &trades]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: inputs.book: no input for this data source (give it with --input SOURCE=PATH)\n"
    );
    std::fs::write(dir.path().join("bad.yaml"), "feature_configs:\n  - {feature_definition: tvi.trade_volume_imb, params: {window: 1.5s}}\n").unwrap();
    let out = rill(dir.path(), &["stream", "bad.yaml", "--input", &trades]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: bad.yaml: feature_configs[0].params.window: expected a positive duration such as 1s or 1m, found '1.5s'\n"
    );
}

#[test]
fn stream_to_parquet_holds_every_grouped_event() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["stream".to_string(), market()];
    for i in inputs() {
        args.extend(["--input".to_string(), i]);
    }
    args.extend(["-o".to_string(), "out.parquet".to_string()]);
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = rill(dir.path(), &argv);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cfg =
        rill::io::ParquetSourceConfig::new(dir.path().join("out.parquet").display().to_string());
    let mut src = rill::io::ParquetSource::new(cfg).unwrap();
    let mut rows = Vec::new();
    loop {
        let mut b = rill::flow::SourceBatch::default();
        let more = rill::flow::Source::next_batch(&mut src, &mut b, 4096).unwrap();
        assert!(b.rejects.is_empty());
        rows.extend(b.events);
        if !more {
            break;
        }
    }
    let lib = library();
    assert_eq!(rows.len(), lib.len());
    let last = rows.last().unwrap().body.as_record().unwrap();
    assert_eq!(
        last.get("vol.volatility").and_then(|v| v.as_f64()),
        lib.last().unwrap()["vol"]["volatility"].as_f64()
    );
}
