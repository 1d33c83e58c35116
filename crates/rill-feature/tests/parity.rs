//! Parity: events pushed one by one through `FeatureStreamGraph` give exactly the grouped
//! outputs of the offline generator — on the fixtures (three sources, several built-ins) and
//! on random multi-source streams.

mod common;
use common::*;
use proptest::prelude::*;
use rill_core::{Event, Record, Value};
use rill_feature::merge::{InputStream, Merge, VecInput};
use rill_feature::*;
use rill_flow::{Source, SourceBatch};
use std::sync::{Arc, Mutex};

const MARKET: &str = r#"
feature_configs:
  - feature_definition: volatility.volatility_stddev
    name: vol
    params:
      window: 30s
      mid_price: {name: mid, l2_snapshot: {name: l2, depth: 5, sampling: 1s, source: {name: book}}}
  - feature_definition: spread.relative_bid_ask_spread
    name: spread
    params: {l2_snapshot: {depth: 5, sampling: 1s, source: {name: book_again}}}
  - {feature_definition: tvi.trade_volume_imb, name: tvi, params: {sampling: 1s, trades: {name: trades}}}
  - {feature_definition: ohlcv.ohlcv, name: bars, params: {window: 10s, trades: {name: trades_again}}}
  - feature_definition: price.mid_price
    name: neo_mid
    params: {dep_schema: ticker, ticker: {name: ticker}}
  - {feature_definition: transforms.diff, name: neo_diff, params: {window: 5s}, deps: [neo_mid]}
  - {feature_definition: transforms.ewma, name: neo_ewma, params: {halflife: 2s}, deps: [neo_mid]}
  - {feature_definition: transforms.min_max_scaling, name: neo_mm, params: {window: 10s}, deps: [neo_mid]}
label_feature: neo_mid
"#;

/// A source's events as a live emitter would build them: the stored rows preprocessed by the
/// source's definition, then rebuilt as plain records (fields in another order).
fn live_events(graph: &CompiledGraph, source: &str, files: Vec<std::path::PathBuf>) -> Vec<Event> {
    let f = graph.features().find(|f| f.name() == Some(source)).unwrap();
    let Definition::Source(def) = f.definition() else {
        panic!()
    };
    let names: Vec<&str> = f.schema().iter().map(|x| x.name.as_str()).collect();
    let mut pre = def.preprocessor(f.params(), rill_core::Schema::new(names));
    let cfg = rill_io::ParquetSourceConfig {
        path: rill_io::OneOrMany::Many(files.iter().map(|p| p.display().to_string()).collect()),
        ..rill_io::ParquetSourceConfig::new("")
    };
    let mut src = rill_io::ParquetSource::new(cfg).unwrap();
    let mut out = Vec::new();
    loop {
        let mut b = SourceBatch::default();
        let more = src.next_batch(&mut b, 4096).unwrap();
        for row in &b.events {
            pre.push(row, &mut out).unwrap();
        }
        if !more {
            break;
        }
    }
    pre.finish(&mut out);
    out.into_iter()
        .map(|e| {
            let r = e.body.as_record().unwrap();
            let mut pairs: Vec<(rill_core::Str, Value)> =
                r.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            pairs.reverse();
            // the merge below orders by event time: the `timestamp` field's
            Event::new(Record::from_pairs(pairs)).with_time(e.time)
        })
        .collect()
}

/// Pushes the sources' events one by one, in the merge's order, through a live graph.
fn live(features: &[Feature], inputs: Vec<(&str, Vec<Event>)>) -> Vec<GroupedNamedDataEvent> {
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink = got.clone();
    let mut fsg =
        FeatureStreamGraph::new(features, move |g| sink.lock().unwrap().push(g.clone())).unwrap();
    // the graph's source order is the merge's tie-break order
    let order: Vec<String> = fsg.get_ins().iter().map(|s| s.to_string()).collect();
    let mut by_name: Vec<(String, Vec<Event>)> = inputs
        .into_iter()
        .map(|(n, e)| (n.to_string(), e))
        .collect();
    by_name.sort_by_key(|(n, _)| order.iter().position(|o| o == n).unwrap());
    let names: Vec<String> = by_name.iter().map(|(n, _)| n.clone()).collect();
    let streams: Vec<Box<dyn InputStream>> = by_name
        .into_iter()
        .map(|(n, e)| Box::new(VecInput::new(&n, e)) as Box<dyn InputStream>)
        .collect();
    let mut merge = Merge::new(streams);
    let refs: Vec<SourceRef> = names.iter().map(|n| fsg.source(n).unwrap()).collect();
    while let Some((s, mut ev)) = merge.next_event().unwrap() {
        ev.time = rill_core::Timestamp::default(); // a live event carries only its fields
        fsg.emit_named_data_event((refs[s], ev)).unwrap();
    }
    fsg.finish().unwrap();
    Arc::try_unwrap(got).unwrap().into_inner().unwrap()
}

#[test]
fn live_equals_offline_on_the_fixtures() {
    let fs = features(MARKET);
    let graph = CompiledGraph::new(&fs).unwrap();
    // names are aliases: `book_again` is `book`, the spread's snapshot node is `l2`
    assert_eq!(graph.source_names(), vec!["book", "trades", "ticker"]);
    let ticker = vec![std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/svoe/ticker/binance_neo_usdt.parquet")];
    let offline = offline(
        &fs,
        vec![
            ("ticker", OfflineInput::Parquet(ticker.clone())),
            ("book", OfflineInput::Parquet(blocks("l2_inc"))),
            ("trades_again", OfflineInput::Parquet(blocks("trades"))),
        ],
    );
    let live = live(
        &fs,
        vec![
            ("book", live_events(&graph, "book", blocks("l2_inc"))),
            ("trades", live_events(&graph, "trades", blocks("trades"))),
            ("ticker", live_events(&graph, "ticker", ticker)),
        ],
    );
    // every output produced, in time order: 160 book samples + 423 TVI buckets + bars + 868 ticks
    assert!(offline.len() > 1400, "{}", offline.len());
    assert_eq!(series(&offline, "spread").len(), 160);
    assert_eq!(series(&offline, "label_neo_mid").len(), 868);
    assert_eq!(
        series(&offline, "label_neo_mid"),
        series(&offline, "neo_mid")
    );
    assert!(offline.windows(2).all(|w| w[0].time() <= w[1].time()));
    assert_eq!(live.len(), offline.len());
    for (i, (a, b)) in live.iter().zip(&offline).enumerate() {
        assert!(
            a == b,
            "grouped event {i} differs:\nlive    {}\noffline {}",
            a.to_json(),
            b.to_json()
        );
    }
}

const SYNTH: &str = r#"
feature_configs:
  - {feature_definition: price.mid_price, name: mid_a, params: {dep_schema: ticker, ticker: {name: a, symbol: A}}}
  - {feature_definition: price.mid_price, name: mid_b, params: {dep_schema: ticker, ticker: {name: b, symbol: B}}}
  - {feature_definition: volatility.volatility_stddev, name: vol_a, params: {window: 3s}, deps: [mid_a]}
  - {feature_definition: tvi.trade_volume_imb, name: tvi, params: {window: 2s, sampling: 1s, trades: {name: t}}}
  - {feature_definition: ohlcv.ohlcv, name: bars, params: {window: 2s}, deps: [t]}
  - {feature_definition: transforms.diff, name: diff_b, params: {window: 2s}, deps: [mid_b]}
  - {feature_definition: transforms.min_max_scaling, name: mm_a, params: {window: 2s}, deps: [mid_a]}
  - {feature_definition: transforms.ewma, name: ewma_b, params: {alpha: 0.3}, deps: [mid_b]}
"#;

/// Random events of one source: non-decreasing times in milliseconds (many ties), values.
fn stream(kind: u8) -> impl Strategy<Value = Vec<Event>> {
    prop::collection::vec(
        (0i64..400, 1.0f64..100.0, 0.1f64..5.0, any::<bool>()),
        0..60,
    )
    .prop_map(move |mut rows| {
        let mut t = 1_700_000_000_000i64;
        rows.iter_mut()
            .map(|(dt, x, y, buy)| {
                t += *dt / 4 * 10; // steps of 10 ms, a quarter of them 0 (ties)
                let ts = Value::Float(t as f64 / 1000.0);
                let rec = if kind == 2 {
                    Record::from_pairs([
                        ("timestamp", ts.clone()),
                        ("receipt_timestamp", ts),
                        ("side", Value::from(if *buy { "BUY" } else { "sell" })),
                        ("amount", Value::Float(*y)),
                        ("price", Value::Float(*x)),
                        ("id", Value::from("i")),
                    ])
                } else {
                    Record::from_pairs([
                        ("timestamp", ts.clone()),
                        ("receipt_timestamp", ts),
                        ("bid", Value::Float(*x)),
                        ("ask", Value::Float(*x + *y)),
                    ])
                };
                Event::new(rec)
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    #[test]
    fn live_equals_offline_on_random_streams(a in stream(0), b in stream(1), t in stream(2)) {
        let fs = features(SYNTH);
        let off = offline(&fs, vec![
            ("t", OfflineInput::Events(t.clone())),
            ("a", OfflineInput::Events(a.clone())),
            ("b", OfflineInput::Events(b.clone())),
        ]);
        // live: the order is computed here independently — a stable sort by time of the
        // sources concatenated in graph order (a, b, t)
        let mut all: Vec<(rill_core::Timestamp, usize, Event)> = Vec::new();
        for (s, evs) in [&a, &b, &t].into_iter().enumerate() {
            for e in evs {
                let ts = e.body.get("timestamp").unwrap().as_f64().unwrap();
                all.push((secs_to_time(ts).unwrap(), s, e.clone()));
            }
        }
        all.sort_by_key(|(time, s, _)| (*time, *s));
        let got = Arc::new(Mutex::new(Vec::new()));
        let sink = got.clone();
        let mut fsg = FeatureStreamGraph::new(&fs, move |g| sink.lock().unwrap().push(g.clone())).unwrap();
        prop_assert_eq!(fsg.get_ins(), vec!["a", "b", "t"]);
        for (_, s, e) in all {
            fsg.emit_named_data_event((["a", "b", "t"][s], e)).unwrap();
        }
        let live = got.lock().unwrap().clone();
        prop_assert_eq!(live.len(), off.len());
        for (x, y) in live.iter().zip(&off) {
            prop_assert!(x == y, "live {} offline {}", x.to_json(), y.to_json());
        }
    }
}

#[test]
fn per_feature_callbacks_see_every_event_and_bad_events_are_refused() {
    let fs = features(SYNTH);
    let mut fsg = FeatureStreamGraph::without_callback(&fs).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    // `a` is a data source, not an output: its callback rebuilds the flow to watch it
    fsg.set_callback("a", move |name, ev| {
        s.lock().unwrap().push((name.to_string(), ev.time))
    })
    .unwrap();
    let s = seen.clone();
    fsg.set_callback("mid_a", move |name, ev| {
        s.lock().unwrap().push((name.to_string(), ev.time))
    })
    .unwrap();
    let tick = |t: f64, bid: Value| {
        Event::new(Record::from_pairs([
            ("timestamp", Value::Float(t)),
            ("receipt_timestamp", Value::Float(t)),
            ("bid", bid),
            ("ask", Value::Float(2.0)),
        ]))
    };
    fsg.emit_named_data_event(("a", tick(1.0, Value::Float(1.0))))
        .unwrap();
    let e = fsg
        .emit_named_data_event(("a", tick(2.0, Value::from("x"))))
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("data source 'a': event: field 'bid': expected Float, got string"),
        "{e}"
    );
    let e = fsg
        .emit_named_data_event(("zz", tick(2.0, Value::Float(1.0))))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "unknown data source 'zz' (the graph's data sources: a, b, t)"
    );
    fsg.emit_named_data_event(("a", tick(3.0, Value::Int(1))))
        .unwrap();
    let t = |s| rill_core::Timestamp::from_secs(s);
    assert_eq!(
        *seen.lock().unwrap(),
        vec![
            ("a".into(), t(1)),
            ("mid_a".into(), t(1)),
            ("a".into(), t(3)),
            ("mid_a".into(), t(3))
        ]
    );
    assert_eq!(
        fsg.latest().value("mid_a", "mid_price"),
        Some(&Value::Float(1.5))
    );
    fsg.set_callback("mid_b", |_, _| {}).unwrap(); // an output: watched already
    let e = fsg.set_callback("b", |_, _| {}).unwrap_err();
    assert!(e.to_string().contains("events were emitted already"), "{e}");
}
