//! Live latency and offline throughput of a feature graph on the svoe fixtures.
//!
//! `cargo bench -p rill-feature --bench live_latency`
//!
//! * live: every input event of `examples/features/market.yaml` (L2 updates, trades, ticks,
//!   merged by event time) pushed one at a time with `emit_named_data_event`; each push is timed
//!   from the call to the return of the grouped callback it triggers (the callback runs inside
//!   the call), and the percentiles of all pushes are printed (exact, from the sorted samples);
//! * offline: the same config replayed by `OfflineFeatureStreamGenerator` from the Parquet
//!   files (reading, decoding, preprocessing, merging and the graph), in input events per second.

use rill_core::{Event, Record, Str};
use rill_feature::merge::{InputStream, Merge, VecInput};
use rill_feature::*;
use rill_flow::{Source, SourceBatch};
use std::path::PathBuf;
use std::time::Instant;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn blocks(kind: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("tests/fixtures/svoe").join(kind))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect();
    v.sort();
    v
}

/// A source's stored rows preprocessed into events, rebuilt over one shared schema per source
/// (as a live emitter that resolves its fields once would build them).
fn events(graph: &CompiledGraph, source: &str, files: Vec<PathBuf>) -> Vec<Event> {
    let f = graph.features().find(|f| f.name() == Some(source)).unwrap();
    let Definition::Source(def) = f.definition() else {
        panic!("{source} is a source")
    };
    let names: Vec<&str> = f.schema().iter().map(|x| x.name.as_str()).collect();
    let live_schema = rill_core::Schema::new(names.iter().map(|n| Str::from(*n)));
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
            let values = e.body.as_record().unwrap().values().to_vec();
            Event::new(Record::new(live_schema.clone(), values)).with_time(e.time)
        })
        .collect()
}

fn main() {
    let cfg =
        FeaturizerConfig::from_file(root().join("../../examples/features/market.yaml")).unwrap();
    let features = cfg.build(&Registry::builtin()).unwrap();
    let graph = CompiledGraph::new(&features).unwrap();
    let ticker = vec![root().join("tests/fixtures/svoe/ticker/binance_neo_usdt.parquet")];
    let inputs = [
        ("book", blocks("l2_inc")),
        ("trades", blocks("trades")),
        ("ticker", ticker.clone()),
    ];
    let streams: Vec<Box<dyn InputStream>> = inputs
        .iter()
        .map(|(n, files)| {
            Box::new(VecInput::new(n, events(&graph, n, files.clone()))) as Box<dyn InputStream>
        })
        .collect();
    let mut merge = Merge::new(streams);
    let mut ordered = Vec::new();
    while let Some(x) = merge.next_event().unwrap() {
        ordered.push(x);
    }

    // live, one event at a time
    let mut rounds = Vec::new();
    for _ in 0..3 {
        let mut n = 0u64;
        let mut fsg = FeatureStreamGraph::new(&features, move |g| {
            std::hint::black_box(g.time());
        })
        .unwrap();
        let refs: Vec<SourceRef> = ["book", "trades", "ticker"]
            .iter()
            .map(|n| fsg.source(n).unwrap())
            .collect();
        let mut samples: Vec<u64> = Vec::with_capacity(ordered.len());
        for (s, ev) in &ordered {
            let ev = ev.clone();
            let t0 = Instant::now();
            fsg.emit_named_data_event((refs[*s], ev)).unwrap();
            samples.push(t0.elapsed().as_nanos() as u64);
            n += 1;
        }
        samples.sort_unstable();
        rounds.push((samples, n));
    }
    let (samples, n) = rounds.last().unwrap();
    let pct = |p: f64| {
        samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)] as f64 / 1000.0
    };
    println!(
        "live emit_named_data_event -> grouped callback, {n} events one at a time: p50 {:.2} µs, p90 {:.2} µs, p99 {:.2} µs, p99.9 {:.2} µs, max {:.2} µs",
        pct(0.5),
        pct(0.9),
        pct(0.99),
        pct(0.999),
        *samples.last().unwrap() as f64 / 1000.0
    );

    // offline, from the files
    for _ in 0..3 {
        let t0 = Instant::now();
        let mut gen = OfflineFeatureStreamGenerator::new(
            &features,
            inputs
                .iter()
                .map(|(n, f)| (n.to_string(), OfflineInput::Parquet(f.clone())))
                .collect(),
        )
        .unwrap();
        let mut grouped = 0u64;
        for g in gen.by_ref() {
            std::hint::black_box(g.unwrap());
            grouped += 1;
        }
        let secs = t0.elapsed().as_secs_f64();
        let events: u64 = gen.stats().iter().map(|s| s.events).sum();
        let rows: u64 = gen.stats().iter().map(|s| s.rows).sum();
        println!(
            "offline from Parquet: {rows} rows -> {events} input events -> {grouped} grouped in {:.3} s: {:.0} input events/s, {:.0} rows/s",
            secs,
            events as f64 / secs,
            rows as f64 / secs
        );
    }
}
