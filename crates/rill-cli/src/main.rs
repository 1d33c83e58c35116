//! The `rill` command line.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use rill::{Override, Pipeline};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

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
    /// The pipeline file (YAML).
    pipeline: PathBuf,
    /// Override a setting: `--set source.csv.path=data/other.csv` (repeatable; the value is YAML).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    overrides: Vec<String>,
    /// Read this file instead of the source's `path`.
    #[arg(long, value_name = "PATH")]
    input: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Run a pipeline to the end of its input; prints a summary on stderr.
    Run {
        #[command(flatten)]
        args: PipelineArgs,
        /// Print the summary as JSON on stdout instead of text on stderr.
        #[arg(long)]
        json_summary: bool,
        /// Print nothing but errors.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Check a pipeline file (options, expressions, graph) without running it.
    Validate {
        #[command(flatten)]
        args: PipelineArgs,
    },
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

/// Why a command could not start: a usage/configuration error (exit 2) or anything else
/// (exit 1).
fn exit_code_of(e: &anyhow::Error) -> u8 {
    match e.downcast_ref::<rill::core::Error>() {
        Some(err) if err.kind() == "config" => EXIT_USAGE,
        _ => EXIT_FAILURE,
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit_code_of(&e))
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Validate { args } => {
            let p = load(&args)?;
            p.validate()
                .with_context(|| format!("{} is not valid", args.pipeline.display()))?;
            println!("{}: ok", args.pipeline.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Run {
            args,
            json_summary,
            quiet,
        } => {
            let p = load(&args)?;
            let (cancel, term) = install_signal_handlers()?;
            let started = std::time::Instant::now();
            match p.run_cancellable(&Default::default(), Some(cancel)) {
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
                        println!("{v}");
                    } else if !quiet {
                        if let Some(r) = &outcome.result {
                            println!("{}", rill::core::json::to_json(r));
                        }
                        eprint!("{}", outcome.summary);
                        eprintln!("finished in {:.3}s", started.elapsed().as_secs_f64());
                    }
                    Ok(match stopped_by {
                        Some((_, code)) => ExitCode::from(code),
                        None => ExitCode::SUCCESS,
                    })
                }
                Err(e) => {
                    eprintln!("error: {}", e.error);
                    if e.error.kind() == "config" {
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
