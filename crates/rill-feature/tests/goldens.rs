//! The goldens of svoe's `featurizer-definitions.md` §2–§8, reproduced on the fixtures
//! (`tests/fixtures/svoe/`) through the offline generator.

mod common;
use common::*;
use rill_feature::OfflineInput;

const L2_1S: &str = r#"
feature_configs:
  - feature_definition: l2_book.l2_snapshot
    name: l2
    params: {depth: 5, sampling: 1s, source: {name: book, row_order: svoe}}
  - feature_definition: price.mid_price
    name: mid
    deps: [l2]
  - feature_definition: volatility.volatility_stddev
    name: vol
    params: {window: 1m, precision: svoe_f32}
    deps: [mid]
  - feature_definition: volatility.volatility_stddev
    name: vol_exact
    params: {window: 1m}
    deps: [mid]
"#;

const BASE: f64 = 1664778000.0;

#[test]
fn l2_snapshot_raw_golden() {
    // §2 raw: 1592 outputs, first at the snapshot inside block 2, last at the end of block 7
    let fs = features(
        "feature_configs:\n  - {feature_definition: l2_book.l2_snapshot, name: l2, params: {depth: 5, source: {name: book, row_order: svoe}}}",
    );
    let g = offline(&fs, vec![("book", OfflineInput::Parquet(blocks("l2_inc")))]);
    let l2 = series(&g, "l2");
    assert_eq!(l2.len(), 1592);
    close(f(&l2[0], "timestamp"), 1664778847.949, 1e-6);
    close(f(&l2[1591], "timestamp"), 1664779008.080, 1e-6);
    assert_eq!(
        &levels(&l2[0], "bids")[..2],
        &[(19189.4, 9.769), (19189.2, 1.252)]
    );
    assert_eq!(
        &levels(&l2[0], "asks")[..2],
        &[(19189.5, 13.153), (19189.6, 0.778)]
    );
    assert!(l2
        .iter()
        .all(|r| levels(r, "bids").len() == 5 && levels(r, "asks").len() == 5));
}

#[test]
fn l2_preprocessing_groups_per_block_golden() {
    // §2: events after preprocessing per block: 298, 300, 304, 316, 298, 299, 298
    let fs = features(
        "feature_configs:\n  - {feature_definition: l2_book.l2_snapshot, name: l2, params: {source: {name: book, row_order: svoe}}}",
    );
    let counts: Vec<u64> = blocks("l2_inc")
        .into_iter()
        .map(|b| {
            let mut gen = rill_feature::OfflineFeatureStreamGenerator::new(
                &fs,
                vec![("book".into(), OfflineInput::Parquet(vec![b]))],
            )
            .unwrap();
            for g in gen.by_ref() {
                g.unwrap();
            }
            let st = gen.stats();
            assert_eq!((st[0].rejected, st[0].out_of_order), (0, 0));
            st[0].events
        })
        .collect();
    assert_eq!(counts, vec![298, 300, 304, 316, 298, 299, 298]);
}

#[test]
fn l2_1s_mid_price_and_volatility_goldens() {
    let g = offline(
        &features(L2_1S),
        vec![("book", OfflineInput::Parquet(blocks("l2_inc")))],
    );
    // §2 1s: 160 outputs, same first/last, the first five stamps, gaps 1.001…1.100 s
    let l2 = series(&g, "l2");
    assert_eq!(l2.len(), 160);
    let ts: Vec<f64> = l2.iter().map(|r| f(r, "timestamp")).collect();
    for (t, want) in ts.iter().zip([847.949, 848.954, 849.962, 850.967, 851.969]) {
        close(t - BASE, want, 1e-6);
    }
    close(ts[159], 1664779008.080, 1e-6);
    for w in ts.windows(2) {
        let gap = w[1] - w[0];
        assert!((1.0009..=1.1001).contains(&gap), "gap {gap}");
    }
    // §3: mid price per snapshot
    let mid = series(&g, "mid");
    assert_eq!(mid.len(), 160);
    for r in &mid[..3] {
        close(f(r, "mid_price"), 19189.45, 1e-9);
    }
    close(f(&mid[0], "timestamp"), 1664778847.949, 1e-6);
    close(f(&mid[159], "mid_price"), 19195.65, 1e-9);
    // §4: svoe's float32 std: the first four are rounding noise, the last 9.8875618
    let vol = series(&g, "vol");
    assert_eq!(vol.len(), 160);
    for r in &vol[..4] {
        assert_eq!(f(r, "volatility"), 0.0007812500116415322);
    }
    assert_eq!(f(&vol[159], "volatility"), 9.887561798095703);
    // exact f64: a constant window is 0, the last within svoe's stated tolerance
    let exact = series(&g, "vol_exact");
    assert_eq!(f(&exact[0], "volatility"), 0.0);
    let (a, b) = (f(&exact[159], "volatility"), 9.887561798095703);
    assert!(
        (a - b).abs() <= 2e-3 || ((a - b) / b).abs() <= 1e-4,
        "{a} vs {b}"
    );
}

const TVI: &str = r#"
feature_configs:
  - feature_definition: tvi.trade_volume_imb
    name: tvi_raw
    params: {window: 1m, trades: {name: trades}}
  - feature_definition: tvi.trade_volume_imb
    name: tvi_1s
    params: {window: 1m, sampling: 1s, trades: {name: trades}}
"#;

#[test]
fn tvi_raw_and_1s_goldens() {
    // §6, both in one graph over one shared trades source (svoe needed two processes: its
    // instances shared one queue)
    let fs = features(TVI);
    let g = offline(
        &fs,
        vec![("trades", OfflineInput::Parquet(blocks("trades")))],
    );
    let raw = series(&g, "tvi_raw");
    assert_eq!(raw.len(), 11057);
    let want = [
        (1622120202.664, 2.0),
        (1622120202.744, -1.465001),
        (1622120202.744, -1.490942),
    ];
    for (r, (t, v)) in raw.iter().zip(want) {
        close(f(r, "timestamp"), t, 1e-6);
        close(f(r, "tvi"), v, 1e-6);
        assert_eq!(f(r, "dt_ts"), -1.0);
    }
    close(f(&raw[11056], "timestamp"), 1622120624.374, 1e-6);
    close(f(&raw[11056], "tvi"), 0.001529, 1e-6);
    let s = series(&g, "tvi_1s");
    assert_eq!(s.len(), 423);
    let want = [
        (1622120202.664, 2.0, 1622120202.0),
        (1622120203.023, -1.267588, 1622120203.0),
        (1622120204.141, -0.747836, 1622120204.0),
    ];
    for (r, (t, v, dt)) in s.iter().zip(want) {
        close(f(r, "timestamp"), t, 1e-6);
        close(f(r, "tvi"), v, 1e-6);
        assert_eq!(f(r, "dt_ts"), dt);
    }
    let last = &s[422];
    close(f(last, "timestamp"), 1622120624.018, 1e-6);
    close(f(last, "tvi"), 0.000962, 1e-6);
    assert_eq!(f(last, "dt_ts"), 1622120624.0);
}

#[test]
fn l2_snapshot_arrival_order_matches_the_independent_reference() {
    // rill's default `row_order: arrival`, against tests/fixtures/svoe/l2_arrival_golden.py (an
    // independent Python implementation): on these blocks svoe's reordering of same-timestamp
    // rows changes no top-5 snapshot, so both orders give the same 1592 outputs
    let arrival = features(
        "feature_configs:\n  - {feature_definition: l2_book.l2_snapshot, name: l2, params: {depth: 5, source: {name: book}}}",
    );
    let svoe = features(
        "feature_configs:\n  - {feature_definition: l2_book.l2_snapshot, name: l2, params: {depth: 5, source: {name: book, row_order: svoe}}}",
    );
    let input = || vec![("book", OfflineInput::Parquet(blocks("l2_inc")))];
    let a = series(&offline(&arrival, input()), "l2");
    let s = series(&offline(&svoe, input()), "l2");
    assert_eq!(a.len(), 1592);
    assert_eq!(a, s);
    let last = &a[1591];
    close(f(last, "timestamp"), 1664779008.080, 1e-6);
    assert_eq!(levels(last, "bids")[0], (19195.6, 0.001));
    assert_eq!(levels(last, "asks")[0], (19195.7, 17.562));
}
