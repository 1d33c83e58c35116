//! `rill stream CONFIG --input SOURCE=PATH…`: a featurizer config replayed over stored data
//! (the offline generator: every source merged by event time through the compiled graph),
//! one grouped event per line/row to a JSON lines, CSV or Parquet target.

use anyhow::Result;
use rill::core::{Event, Timestamp, Value};
use rill::feature::{
    CompiledGraph, FeatureError, FeaturizerConfig, OfflineFeatureStreamGenerator, OfflineInput,
    Registry,
};
use rill::flow::{Cx, Step};
use rill::io::{CsvTargetConfig, JsonlTargetConfig, ParquetTargetConfig, TargetConfig};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A usage or configuration error (exit code 2, shown without a prefix).
fn usage(msg: impl std::fmt::Display) -> anyhow::Error {
    rill::core::Error::config(msg.to_string()).into()
}

/// What a stream run counted.
pub struct Streamed {
    /// Input rows rejected or out of order, over all sources.
    pub bad: u64,
}

/// One `--input SOURCE=SPEC`: a Parquet file, a directory of Parquet files (read in name
/// order), or `synthetic:START/END` (RFC 3339 instants) for a synthetic source.
fn input(spec: &str, graph: &CompiledGraph) -> Result<(String, OfflineInput)> {
    let Some((name, what)) = spec.split_once('=') else {
        let known = graph.source_names().join(", ");
        return Err(usage(format!(
            "--input {spec}: expected SOURCE=PATH (sources: {known})"
        )));
    };
    graph
        .source_index(name)
        .map_err(|e| usage(format!("--input {spec}: {e}")))?;
    if let Some(range) = what.strip_prefix("synthetic:") {
        let (a, b) = range
            .split_once('/')
            .ok_or_else(|| usage(format!("--input {spec}: expected synthetic:START/END")))?;
        let t =
            |s: &str| Timestamp::parse_iso(s).map_err(|e| usage(format!("--input {spec}: {e}")));
        return Ok((
            name.to_string(),
            OfflineInput::Synthetic {
                start: t(a)?,
                end: t(b)?,
            },
        ));
    }
    let path = PathBuf::from(what);
    let files = if path.is_dir() {
        let mut v: Vec<PathBuf> = std::fs::read_dir(&path)
            .map_err(|e| usage(format!("--input {spec}: {e}")))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
            .collect();
        v.sort();
        if v.is_empty() {
            return Err(usage(format!(
                "--input {spec}: the directory holds no .parquet file"
            )));
        }
        v
    } else {
        vec![path]
    };
    Ok((name.to_string(), OfflineInput::Parquet(files)))
}

/// The target for `output` by its extension (`-`: JSON lines on standard output).
fn target(output: &str) -> Result<Box<dyn Step>> {
    let ext = Path::new(output)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("");
    let cfg = match (output, ext) {
        ("-", _) | (_, "jsonl" | "json") => TargetConfig::Jsonl(JsonlTargetConfig::new(output)),
        (_, "csv") => TargetConfig::Csv(CsvTargetConfig::new(output)),
        (_, "parquet") => TargetConfig::Parquet(ParquetTargetConfig::new(output)),
        _ => {
            return Err(usage(format!(
                "--output {output}: use a .jsonl, .csv or .parquet file, or - for standard output"
            )))
        }
    };
    cfg.build()
        .map_err(|e| usage(format!("--output {output}: {}", e.detail())))
}

/// Runs the stream; per-source counts go to stderr.
pub fn stream(config: &Path, inputs: &[String], output: &str) -> Result<Streamed> {
    let shown = config.display();
    let cfg = FeaturizerConfig::from_file(config).map_err(usage)?;
    let features = cfg.build(&Registry::builtin()).map_err(|e| match e {
        FeatureError::Config { path, reason } => usage(format!("{shown}: {path}: {reason}")),
        other => usage(format!("{shown}: {other}")),
    })?;
    let graph =
        Arc::new(CompiledGraph::new(&features).map_err(|e| usage(format!("{shown}: {e}")))?);
    let inputs = inputs
        .iter()
        .map(|s| input(s, &graph))
        .collect::<Result<Vec<_>>>()?;
    let mut gen =
        OfflineFeatureStreamGenerator::from_graph(graph.clone(), inputs).map_err(|e| match e {
            FeatureError::Config { path, reason } => usage(format!(
                "{path}: {reason} (give it with --input SOURCE=PATH)"
            )),
            other => usage(other),
        })?;
    let schema = graph.grouped_schema();
    let mut target = target(output)?;
    let mut cx = Cx::new(Timestamp::now());
    let mut written = 0u64;
    for grouped in gen.by_ref() {
        let g = grouped?;
        let ev = Event {
            body: Value::Record(g.to_record(&schema)),
            time: g.time(),
            offset: written + 1,
            ..Default::default()
        };
        target.process(ev, &mut cx).map_err(|f| f.error)?;
        cx.take_outputs();
        written += 1;
    }
    target.terminate(&mut cx)?;
    let mut bad = 0;
    for s in gen.stats() {
        eprintln!(
            "{}: {} rows, {} events, {} rejected, {} out of order",
            s.name, s.rows, s.events, s.rejected, s.out_of_order
        );
        for p in &s.problems {
            eprintln!("  {p}");
        }
        bad += s.rejected + s.out_of_order;
    }
    eprintln!("{written} grouped events written to {output}");
    Ok(Streamed { bad })
}
