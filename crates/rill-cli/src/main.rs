//! The `rill` command line.

use anyhow::Result;
use clap::{Parser, Subcommand};
use rill::{Override, Pipeline};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

mod files;
mod plot;
mod serve;
mod stream;

// Events are built and dropped at a high rate; mimalloc's thread-local free lists make that
// markedly cheaper than glibc malloc.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// rill: real-time event processing and feature extraction.
#[derive(Parser)]
#[command(name = "rill", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct PipelineArgs {
    /// The pipeline file (YAML). Relative paths in it are relative to its directory.
    pipeline: PathBuf,
    /// Override a setting: `--set source.csv.path=data/other.csv`, `--set 'steps.0.filter=x > 1'`
    /// (repeatable). The value is read as YAML when it is a scalar or a `[list]` / `{map}`, else
    /// (and when that does not fit the setting) taken as text; paths are relative to the working
    /// directory.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    overrides: Vec<String>,
    /// Read this file instead of the source's `path` (relative to the working directory; `-`
    /// reads standard input, for csv and jsonl sources).
    #[arg(long, value_name = "PATH")]
    input: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Replay stored data through a featurizer config (docs/features.md): every data source
    /// merged by event time through the compiled feature graph, one grouped event (every
    /// output's latest value) per line/row; per-source counts on stderr.
    Stream {
        /// The featurizer config (YAML).
        config: PathBuf,
        /// A data source's input: `SOURCE=FILE.parquet`, `SOURCE=DIR` (its .parquet files in
        /// name order) or `SOURCE=synthetic:START/END` (repeat for each source).
        #[arg(long = "input", value_name = "SOURCE=PATH")]
        inputs: Vec<String>,
        /// Where to write: a .jsonl, .csv or .parquet file, or `-` (JSON lines on stdout).
        #[arg(long, short, default_value = "-")]
        output: String,
    },
    /// Run a pipeline to the end of its input; prints a summary on stderr.
    Run {
        #[command(flatten)]
        args: PipelineArgs,
        /// Print the summary as JSON on stdout instead of text on stderr (on stderr when a
        /// target writes to stdout).
        #[arg(long)]
        json_summary: bool,
        /// Print nothing but errors.
        #[arg(long, short)]
        quiet: bool,
        /// While the run lasts, serve its tables over HTTP on this address (as `rill serve`
        /// does; `127.0.0.1:0` picks a free port, printed on stderr): the one way to serve an
        /// embedded store while a run writes it, since one process at a time may open it.
        #[arg(long, value_name = "ADDR")]
        serve: Option<String>,
    },
    /// Check a pipeline file (options, expressions, inputs, targets, graph) without running
    /// it or creating anything; warnings go to stderr.
    Validate {
        #[command(flatten)]
        args: PipelineArgs,
    },
    /// Draw a pipeline's flow (source, steps, targets, recovery chains) as Graphviz DOT or
    /// SVG, after checking it as `validate` does.
    Graph {
        #[command(flatten)]
        args: PipelineArgs,
        /// Output format; default: `svg` when `-o` ends in `.svg`, else `dot`.
        #[arg(long, value_enum)]
        format: Option<GraphFormat>,
        /// Write to this file (atomically) instead of standard output.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Print the features and attributes of keys from a table's store, one JSON line per key
    /// (`{"key", "found", "at", "features", "attributes"}`).
    Query {
        /// The store: a directory (embedded store), `redis://…` or `postgres://…`.
        url: String,
        /// The keys (text; a number is tried as a number when no string key matches).
        #[arg(required = true)]
        keys: Vec<String>,
        /// The table's name in the store (as in the pipeline's `tables:`).
        #[arg(long)]
        table: String,
        /// Compute the features at this time (RFC 3339); default now.
        #[arg(long)]
        at: Option<String>,
    },
    /// Serve features over HTTP: `GET /tables/{table}/keys/{key}?at=TIME`, `GET /tables`,
    /// `GET /health`. Stops on SIGINT / SIGTERM.
    Serve {
        /// The store: a directory (embedded store), `redis://…` or `postgres://…`.
        url: String,
        /// A table to serve (repeatable).
        #[arg(long = "table", required = true)]
        tables: Vec<String>,
        /// Address to listen on (`127.0.0.1:0` picks a free port, printed on stderr).
        #[arg(long, default_value = "127.0.0.1:7070")]
        listen: String,
    },
    /// Draw a file's numeric columns as time series, one panel per column over a shared time
    /// axis, to SVG or PNG (e.g. features a run wrote).
    Plot {
        /// The file: `.csv`, `.jsonl` / `.ndjson`, or `.parquet`, rows in time order.
        file: PathBuf,
        /// Write the drawing here: `.svg` or `.png` (written whole or not at all).
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
        /// The time column (timestamps, RFC 3339 text, or seconds since the epoch); default
        /// `timestamp`, else `time`.
        #[arg(long)]
        time: Option<String>,
        /// Columns to draw, comma-separated; default every numeric column.
        #[arg(long, value_delimiter = ',')]
        columns: Vec<String>,
        /// Width in pixels.
        #[arg(long, default_value_t = 1000)]
        width: u32,
        /// Height of each panel in pixels.
        #[arg(long, default_value_t = 220)]
        panel_height: u32,
    },
    /// Print the first rows of a CSV, JSON lines or Parquet file (chosen by its extension).
    Head {
        /// The file: `.csv`, `.jsonl` / `.ndjson`, or `.parquet`.
        file: PathBuf,
        /// How many rows to print.
        #[arg(short = 'n', default_value_t = 10)]
        n: usize,
        /// Output format.
        #[arg(long, value_enum, default_value_t = HeadFormat::Table)]
        format: HeadFormat,
    },
}

/// What `rill graph` writes.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum GraphFormat {
    /// Graphviz DOT text.
    Dot,
    /// An SVG drawing.
    Svg,
}

/// How `rill head` prints rows.
#[derive(Clone, Copy, clap::ValueEnum)]
enum HeadFormat {
    /// Aligned columns under a header.
    Table,
    /// One JSON object per line.
    Jsonl,
    /// CSV with a header line.
    Csv,
}

/// The text of a cell in `table` and `csv` output: text as is, null empty, the rest as JSON.
fn cell_text(v: &rill::core::Value) -> String {
    match v {
        rill::core::Value::Null => String::new(),
        rill::core::Value::Str(s) => s.to_string(),
        other => rill::core::json::to_json(other).to_string(),
    }
}

/// `rill head`: reads the first `n` records with rill's own sources, so the values shown are
/// the values a pipeline would see.
fn head(file: &std::path::Path, n: usize, format: HeadFormat) -> Result<()> {
    let mut src = files::open(file)?;
    let mut rows = Vec::new();
    let mut rejected = 0;
    let mut batch = rill::flow::SourceBatch::default();
    while rows.len() < n {
        batch.clear();
        let more = src.next_batch(&mut batch, (n - rows.len()).clamp(1, 1024))?;
        rejected += batch.rejects.len();
        rows.extend(batch.events.drain(..).map(|e| e.body));
        if !more {
            break;
        }
    }
    rows.truncate(n);
    if rejected > 0 {
        eprintln!("({rejected} records could not be read and are not shown)");
    }
    // columns: every field, in order of first appearance
    let mut cols: Vec<String> = Vec::new();
    for r in &rows {
        if let rill::core::Value::Record(rec) = r {
            for (name, _) in rec.iter() {
                if !cols.iter().any(|c| c == name) {
                    cols.push(name.to_string());
                }
            }
        }
    }
    let cell = |r: &rill::core::Value, c: &str| r.get(c).map(cell_text).unwrap_or_default();
    let mut out = std::io::stdout().lock();
    use std::io::Write;
    match format {
        HeadFormat::Jsonl => {
            for r in &rows {
                writeln!(out, "{}", rill::core::json::to_json(r))?;
            }
        }
        HeadFormat::Csv => {
            let mut w = csv_line(&cols);
            for r in &rows {
                w.push_str(&csv_line(
                    &cols.iter().map(|c| cell(r, c)).collect::<Vec<_>>(),
                ));
            }
            write!(out, "{w}")?;
        }
        HeadFormat::Table => {
            let cells: Vec<Vec<String>> = rows
                .iter()
                .map(|r| cols.iter().map(|c| cell(r, c)).collect())
                .collect();
            let width = |i: usize| {
                cells
                    .iter()
                    .map(|row| row[i].chars().count())
                    .chain([cols[i].chars().count()])
                    .max()
                    .unwrap_or(0)
            };
            let widths: Vec<usize> = (0..cols.len()).map(width).collect();
            let line = |vals: &[String]| {
                let parts: Vec<String> = vals
                    .iter()
                    .zip(&widths)
                    .map(|(v, w)| format!("{v:<w$}"))
                    .collect();
                parts.join("  ").trim_end().to_string()
            };
            writeln!(out, "{}", line(&cols))?;
            for row in &cells {
                writeln!(out, "{}", line(row))?;
            }
        }
    }
    Ok(())
}

/// One CSV line: fields quoted when they hold a comma, quote or line end.
fn csv_line(fields: &[String]) -> String {
    let quoted: Vec<String> = fields
        .iter()
        .map(|f| {
            if f.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", f.replace('"', "\"\""))
            } else {
                f.clone()
            }
        })
        .collect();
    format!("{}\n", quoted.join(","))
}

fn load(args: &PipelineArgs) -> Result<Pipeline> {
    let overrides = args
        .overrides
        .iter()
        .map(|s| s.parse::<Override>())
        .collect::<Result<Vec<_>, _>>()?;
    let mut p = Pipeline::from_file(&args.pipeline, &overrides)?;
    if let Some(input) = &args.input {
        p.set_input(input);
    }
    Ok(p)
}

/// Exit code of a run that failed (an I/O error, a failing step under `error_policy: fail`).
const EXIT_FAILURE: u8 = 1;
/// Exit code of a usage or configuration error (bad arguments, a bad pipeline file); clap
/// uses 2 for bad arguments too.
const EXIT_USAGE: u8 = 2;

/// Exit code of a run that finished but rejected or dead-lettered records: the outputs are
/// complete, but not every input record is in them.
const EXIT_REJECTS: u8 = 3;
/// Exit code of a run stopped by SIGINT (128 + 2, as shells report it).
const EXIT_SIGINT: u8 = 130;
/// Exit code of a run stopped by SIGTERM (128 + 15).
const EXIT_SIGTERM: u8 = 143;

/// Installs the SIGINT / SIGTERM handlers of `rill run`: the first signal sets the returned
/// flag (the run stops after the current batch, commits its outputs and prints its summary);
/// a second one exits at once with 130 / 143 without committing. The second flag tells
/// SIGTERM from SIGINT.
fn install_signal_handlers() -> Result<(Arc<AtomicBool>, Arc<AtomicBool>)> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    use signal_hook::flag;
    let cancel = Arc::new(AtomicBool::new(false));
    let term = Arc::new(AtomicBool::new(false));
    // actions run in registration order: the shutdown checks the flag before this signal sets
    // it, so only a second signal exits at once
    flag::register_conditional_shutdown(SIGINT, EXIT_SIGINT.into(), cancel.clone())?;
    flag::register_conditional_shutdown(SIGTERM, EXIT_SIGTERM.into(), cancel.clone())?;
    flag::register(SIGINT, cancel.clone())?;
    flag::register(SIGTERM, term.clone())?;
    flag::register(SIGTERM, cancel.clone())?;
    Ok((cancel, term))
}

/// Writes `bytes` to `path` through a temporary file beside it, renamed over it when
/// complete: a reader never sees half a drawing.
fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    use anyhow::Context;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    let name = path.file_name().context("the output path names no file")?;
    let tmp = dir.join(format!(".{}.partial", name.to_string_lossy()));
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

/// Why a command could not start: a usage/configuration error (exit 2) or anything else
/// (exit 1).
fn exit_code_of(e: &anyhow::Error) -> u8 {
    match e.downcast_ref::<rill::core::Error>() {
        Some(err) if err.is_config() => EXIT_USAGE,
        _ => EXIT_FAILURE,
    }
}

/// The text of an error after `error: `: rill's errors in their own words (a configuration
/// error is placed, or says what is wrong without a `configuration error:` prefix); other
/// errors with their causes.
fn message(e: &anyhow::Error) -> String {
    match e.downcast_ref::<rill::core::Error>() {
        Some(err) => err.detail(),
        None => format!("{e:#}"),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", message(&e));
            ExitCode::from(exit_code_of(&e))
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Validate { args } => {
            let p = load(&args)?;
            p.validate()?;
            for w in p.warnings() {
                eprintln!("warning: {w}");
            }
            println!("{}: ok", args.pipeline.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Graph {
            args,
            format,
            output,
        } => {
            let p = load(&args)?;
            let dot = p.graph_dot()?;
            let svg = match format {
                Some(f) => f == GraphFormat::Svg,
                None => output
                    .as_ref()
                    .is_some_and(|o| o.extension().is_some_and(|e| e == "svg")),
            };
            let text = if svg {
                rill::graph_view::dot_to_svg(&dot)?
            } else {
                dot
            };
            match output {
                Some(path) => write_atomically(&path, text.as_bytes())?,
                None => print!("{text}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Query {
            url,
            keys,
            table,
            at,
        } => {
            serve::query(&url, &table, &keys, at.as_deref())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve {
            url,
            tables,
            listen,
        } => {
            serve::serve(&url, &tables, &listen)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Plot {
            file,
            output,
            time,
            columns,
            width,
            panel_height,
        } => {
            let opts = plot::PlotOptions {
                time: time.as_deref(),
                columns: &columns,
                width: width.max(200),
                panel_height: panel_height.max(80),
            };
            plot::plot(&file, &output, &opts)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Stream {
            config,
            inputs,
            output,
        } => {
            let s = stream::stream(&config, &inputs, &output)?;
            Ok(if s.bad > 0 {
                ExitCode::from(EXIT_REJECTS)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Head { file, n, format } => {
            head(&file, n, format)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Run {
            args,
            json_summary,
            quiet,
            serve: listen,
        } => {
            let p = load(&args)?;
            // a target on stdout owns it: the summary and the result go to stderr
            let data_on_stdout = p.writes_to_stdout();
            let (cancel, term) = install_signal_handlers()?;
            let started = std::time::Instant::now();
            let cx = rill::flow::config::BuildContext {
                private: true,
                ..Default::default()
            };
            let server = listen
                .map(|l| serve::RunServer::start(cx.tables.clone(), &l, p.config.workers.max(1)))
                .transpose()?;
            let outcome = p.run_cancellable(&cx, Some(cancel));
            if let Some(server) = server {
                server.stop()?;
            }
            match outcome {
                Ok(outcome) => {
                    let stopped_by = outcome.cancelled.then(|| {
                        if term.load(Ordering::Relaxed) {
                            ("SIGTERM", EXIT_SIGTERM)
                        } else {
                            ("SIGINT", EXIT_SIGINT)
                        }
                    });
                    if let Some((sig, _)) = stopped_by {
                        eprintln!(
                            "interrupted by {sig}: stopped reading; the outputs hold the {} records read so far",
                            outcome.summary.records_read
                        );
                    }
                    if json_summary {
                        let mut v = serde_json::to_value(&outcome.summary)?;
                        v["seconds"] = serde_json::json!(started.elapsed().as_secs_f64());
                        if let Some(r) = &outcome.result {
                            v["result"] = rill::core::json::to_json(r);
                        }
                        if data_on_stdout {
                            eprintln!("{v}");
                        } else {
                            println!("{v}");
                        }
                    } else if !quiet {
                        if let Some(r) = &outcome.result {
                            let r = rill::core::json::to_json(r);
                            if data_on_stdout {
                                eprintln!("{r}");
                            } else {
                                println!("{r}");
                            }
                        }
                        eprint!("{}", outcome.summary);
                        eprintln!("finished in {:.3}s", started.elapsed().as_secs_f64());
                    }
                    let s = &outcome.summary;
                    Ok(match stopped_by {
                        Some((_, code)) => ExitCode::from(code),
                        None if s.records_rejected + s.dead_lettered > 0 => {
                            ExitCode::from(EXIT_REJECTS)
                        }
                        None => ExitCode::SUCCESS,
                    })
                }
                Err(e) => {
                    eprintln!("error: {}", e.error.detail());
                    if e.error.is_config() {
                        // nothing ran: a summary of zeros would only hide the message
                        return Ok(ExitCode::from(EXIT_USAGE));
                    }
                    if !quiet {
                        eprint!("{}", e.summary);
                    }
                    Ok(ExitCode::from(EXIT_FAILURE))
                }
            }
        }
    }
}
