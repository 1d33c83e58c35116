//! YAML pipelines: one source, a chain of steps (with branches and routes), targets.

use crate::load::{load, placed};
use crate::yaml::{Node, Origin};
use crate::Override;
use rill_core::{Error, Result};
use rill_flow::config::{build_chain, BuildContext, StepConfig};
use rill_flow::step_factory::{from_fn, StepFactory};
use rill_flow::{ErrorPolicy, Flow, RunError, RunOptions, RunOutcome};
use rill_io::{SourceConfig, TargetConfig};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// A table declared by a pipeline.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableConfig {
    /// Where the table keeps its data: `memory://` (the default) keeps it in the process (shared
    /// by name with other flows of the process); a directory path or `file://DIR` is the
    /// embedded on-disk store (relative to the pipeline file); `redis://HOST:PORT/DB?prefix=P`
    /// and `postgres://USER@HOST:PORT/DB?schema=S` use those servers.
    #[serde(default = "memory_url")]
    pub url: String,
    /// How often changed keys are written to a persistent table (`5s`, the default; `0s`:
    /// after every source batch). A run always flushes when it ends or is interrupted; a
    /// crash loses at most this much work, and the store says from which record to replay.
    #[serde(default)]
    pub flush_interval: Option<String>,
    /// Bound the keys a persistent table caches (per aggregator set and for attributes):
    /// beyond it, changed keys are flushed early and the least recently changed keys leave
    /// memory, to be loaded from the store when next seen. Default: no bound.
    #[serde(default)]
    pub cache_max_keys: Option<usize>,
}

impl TableConfig {
    /// The table's cache and flush options.
    pub fn options(&self) -> Result<rill_table::TableOptions> {
        let mut o = rill_table::TableOptions::default();
        if let Some(f) = &self.flush_interval {
            let d = rill_core::parse_duration(f).map_err(|e| e.at("flush_interval"))?;
            o.flush_interval = std::time::Duration::from_nanos(d.nanos().max(0) as u64);
        }
        o.cache_max_keys = self.cache_max_keys;
        Ok(o)
    }
}

fn memory_url() -> String {
    "memory://".into()
}

/// The clock that drives timers (batch flushes, emit policies).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockConfig {
    /// Event time: replays of stored data fire timers at the same points in the data.
    #[default]
    EventTime,
    /// Wall-clock time.
    Wall,
}

/// A pipeline file.
///
/// ```yaml
/// source:
///   csv: {path: data/clicks.csv, key: user, time: time}
/// steps:
///   - filter: "click == 1"
///   - map: "body + {amount_eur: amount * 0.9}"
/// targets:
///   - parquet: {path: out/clicks.parquet}
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    /// A name for messages.
    #[serde(default)]
    pub name: Option<String>,
    /// Tables by name (state of `map_with_state`, aggregations).
    #[serde(default)]
    pub tables: BTreeMap<String, TableConfig>,
    /// Where events come from.
    pub source: SourceConfig,
    /// Processing steps, in order.
    #[serde(default = "Vec::new")]
    pub steps: Vec<StepConfig<TargetConfig>>,
    /// Where the main chain's events go (each target gets every event).
    #[serde(default = "Vec::new")]
    pub targets: Vec<TargetConfig>,
    /// `fail` (default): stop at the first failure with a message naming the record;
    /// `dead_letter`: route failed records to `dead_letter` (or report them), keep going.
    #[serde(default)]
    pub error_policy: ErrorPolicy,
    /// The dead-letter target (with `error_policy: dead_letter`): one record per failure,
    /// `{error, error_kind, step, record, key, body}`.
    #[serde(default)]
    pub dead_letter: Option<TargetConfig>,
    /// `event_time` (default) or `wall`.
    #[serde(default)]
    pub clock: ClockConfig,
    /// Events read from the source per batch (and crossing the steps together); see
    /// `rill_flow::RunOptions::batch_size` for why the default is 256.
    #[serde(default = "batch_size")]
    pub batch_size: usize,
    /// Fail the run once more records than this were dead-lettered (with
    /// `error_policy: dead_letter`): a count (`100`) or a percentage of the records read
    /// (`1%`). Default: no limit.
    #[serde(default, deserialize_with = "max_rejects")]
    pub max_rejects: Option<rill_flow::MaxRejects>,
    /// Threads for the keyed work (default 1). With N > 1 the pipeline's leading per-key
    /// steps — stateless ones and `aggregate_by_key` (every event), `query_by_key`,
    /// `write_to_table`, per-key `map_with_state`, all by the same key — run in N workers,
    /// each owning the keys that hash to it; the rest runs on one thread over their outputs
    /// in input order. Outputs, their order and the summary are those of one worker. A
    /// pipeline that cannot be sharded runs on one thread, and the summary says why.
    #[serde(default = "one_worker")]
    pub workers: usize,
}

fn one_worker() -> usize {
    1
}

/// Parses `max_rejects`: a count (`100`) or a percentage (`1%`, `0.5%`).
fn max_rejects<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<rill_flow::MaxRejects>, D::Error> {
    use serde::de::Error as _;
    let v = serde_json::Value::deserialize(d)?;
    let bad = || {
        D::Error::custom(format!(
            "expected a count like 100 or a percentage like 1%, found {v}"
        ))
    };
    match &v {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::Number(n) => n
            .as_u64()
            .map(|n| Some(rill_flow::MaxRejects::Count(n)))
            .ok_or_else(bad),
        serde_json::Value::String(s) => {
            let s = s.trim();
            if let Some(p) = s.strip_suffix('%') {
                match p.trim().parse::<f64>() {
                    Ok(p) if (0.0..=100.0).contains(&p) => {
                        Ok(Some(rill_flow::MaxRejects::Fraction(p / 100.0)))
                    }
                    _ => Err(bad()),
                }
            } else {
                s.parse::<u64>()
                    .map(|n| Some(rill_flow::MaxRejects::Count(n)))
                    .map_err(|_| bad())
            }
        }
        _ => Err(bad()),
    }
}

fn batch_size() -> usize {
    rill_flow::RunOptions::default().batch_size
}

/// A loaded pipeline, ready to validate or run.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// The parsed configuration.
    pub config: PipelineConfig,
    /// The file's name in messages.
    origin: String,
    /// The file as read (with overrides), to place errors found after loading.
    tree: Node,
}

/// How far [`Pipeline::prepare`] goes with targets.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Check every target's options and path, create nothing (`rill validate`).
    Check,
    /// Build the targets: output directories and partial files are created (`rill run`).
    Build,
}

impl Pipeline {
    /// Reads a pipeline file and applies overrides. Relative paths in the file are relative to
    /// the file's directory; paths given in overrides are relative to the working directory.
    pub fn from_file(path: impl AsRef<Path>, overrides: &[Override]) -> Result<Pipeline> {
        let path = path.as_ref();
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if let Some(kind) = ["csv", "jsonl", "parquet"]
            .into_iter()
            .find(|k| ext.eq_ignore_ascii_case(k) || (*k == "jsonl" && ext == "json"))
        {
            return Err(Error::config(format!(
                "{} is a data file, not a pipeline: a pipeline is a YAML file naming a source, \
                 steps and targets (e.g. examples/quickstart.yaml); read this file with \
                 `source: {{{kind}: {{path: {}}}}}` or `--input {}`",
                path.display(),
                path.display(),
                path.display()
            )));
        }
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::config(format!(
                "cannot read the pipeline file {}: {e}",
                path.display()
            ))
        })?;
        let dir = path.parent().unwrap_or(Path::new(""));
        Pipeline::from_yaml_in(&text, &path.display().to_string(), dir, overrides)
    }

    /// Parses pipeline YAML; `origin` names it in messages. Relative paths stay relative to
    /// the working directory.
    pub fn from_yaml(text: &str, origin: &str, overrides: &[Override]) -> Result<Pipeline> {
        Pipeline::from_yaml_in(text, origin, Path::new(""), overrides)
    }

    /// Parses pipeline YAML whose relative paths are relative to `dir` (the directory of the
    /// file it was read from); `origin` names it in messages.
    pub fn from_yaml_in(
        text: &str,
        origin: &str,
        dir: &Path,
        overrides: &[Override],
    ) -> Result<Pipeline> {
        let (config, tree) = load(text, origin, dir, overrides)?;
        Ok(Pipeline {
            config,
            origin: origin.to_string(),
            tree,
        })
    }

    /// Sets the source's path (whatever its format): `--input`. The path is taken as given
    /// (relative to the working directory); `-` reads standard input.
    pub fn set_input(&mut self, path: &str) {
        *self.config.source.path_mut() = rill_io::OneOrMany::One(path.to_string());
        let at = format!("source.{}.path", self.config.source.kind());
        if let Some(node) = self.tree.get_mut(&at) {
            // the tree only places messages: an error about the path now names `--input`
            *node = Node::str(
                path,
                Origin::Arg {
                    shown: "--input".into(),
                    path: at.as_str().into(),
                },
            );
        }
    }

    /// Places a configuration error at its line and column in the file (or its command-line
    /// argument); other errors are returned as they are.
    pub fn locate(&self, e: Error) -> Error {
        match e {
            Error::AtPath { path, inner } => {
                let (node, found) = self.tree.find(&path);
                placed(&node.origin, &self.origin, &found, *inner)
            }
            Error::Config(_) => Error::Located {
                place: self.origin.clone(),
                path: None,
                inner: Box::new(e),
            },
            other => other,
        }
    }

    /// Warnings about the configuration, each a complete placed message: chains whose events
    /// reach no target (an empty target list, a branch or route that writes nowhere).
    pub fn warnings(&self) -> Vec<String> {
        rill_flow::config::dead_ends(&self.config.steps, &self.config.targets)
            .into_iter()
            .map(|w| {
                let (node, found) = self.tree.find(&w.path);
                placed(&node.origin, &self.origin, &found, Error::config(w.message)).to_string()
            })
            .collect()
    }

    /// True when a target writes to standard output (`path: "-"`): the command line then
    /// keeps everything else off standard output.
    pub fn writes_to_stdout(&self) -> bool {
        let mut any = false;
        rill_flow::config::for_each_target(
            &self.config.steps,
            &self.config.targets,
            "",
            &mut |_, t: &TargetConfig| any |= t.is_stdout(),
        );
        any || self
            .config
            .dead_letter
            .as_ref()
            .is_some_and(TargetConfig::is_stdout)
    }

    /// Builds the flow (compiles every expression, checks every option, the inputs and the
    /// targets) without reading input; the targets are built (output directories created).
    pub fn build_flow(&self, cx: &BuildContext) -> Result<Flow> {
        self.prepare(cx, Mode::Build).map_err(|e| self.locate(e))
    }

    /// Checks everything a run checks before its first record, and builds the flow.
    fn prepare(&self, cx: &BuildContext, mode: Mode) -> Result<Flow> {
        let c = &self.config;
        let source_at = format!("source.{}", c.source.kind());
        // the files first (a glob matching nothing is an error of `path`), then the options,
        // then the columns the options name
        c.source.check_files().map_err(|e| e.at(&source_at))?;
        c.source.build().map_err(|e| e.at(&source_at))?;
        c.source.check_columns().map_err(|e| e.at(&source_at))?;
        let known = c.source.known_fields().map_err(|e| e.at(&source_at))?;
        rill_flow::config::check_fields(&c.steps, known, &source_name(&c.source))?;
        let inputs = c.source.paths().map_err(|e| e.at(&source_at))?;
        crate::checks::check_targets(c, &inputs)?;
        // tables last among the checks: opening a store creates it (and connects to a server)
        for (name, t) in &c.tables {
            let options = t.options().map_err(|e| e.at(format!("tables.{name}")))?;
            let at = format!("tables.{name}.url");
            match mode {
                // validate connects to nothing and creates no store: the URL's form is checked
                Mode::Check => {
                    rill_table::backend::Location::parse(&t.url, Path::new(""))
                        .map_err(|why| Error::config(format!("table '{name}': {why}")).at(&at))?;
                }
                Mode::Build => {
                    cx.tables
                        .open(name, &t.url, Path::new(""), options)
                        .map_err(|e| e.at(&at))?;
                }
            }
        }
        let target = |t: &TargetConfig| target_step(t, mode);
        let mut flow = build_chain(
            Flow::new().context(cx.clone()),
            &c.steps,
            &c.targets,
            &target,
        )?;
        flow = flow.error_policy(c.error_policy);
        if let Some(dl) = &c.dead_letter {
            if c.error_policy != ErrorPolicy::DeadLetter {
                return Err(Error::config(
                    "dead_letter is set but error_policy is not dead_letter",
                )
                .at("dead_letter"));
            }
            let (_, step) = target(dl).map_err(|e| e.at("dead_letter"))?;
            flow.set_dead_letter(rill_flow::config::located(step, "dead_letter".into()));
        }
        Ok(flow)
    }

    /// The pipeline's flow as drawn by `rill graph` (DOT): checked as [`Pipeline::validate`]
    /// checks it, creating nothing.
    pub fn graph_dot(&self) -> Result<String> {
        let flow = self
            .prepare(&BuildContext::default(), Mode::Check)
            .and_then(|flow| flow.build().map(|_| flow))
            .map_err(|e| self.locate(e))?;
        let mut targets = Vec::new();
        rill_flow::config::for_each_target(
            &self.config.steps,
            &self.config.targets,
            "",
            &mut |_, t| targets.push(target_name(t)),
        );
        let drawing = crate::graph_view::Drawing {
            dead_letter: self.config.dead_letter.as_ref().map(target_name),
            title: self
                .config
                .name
                .clone()
                .unwrap_or_else(|| self.origin.clone()),
            source: Some(format!(
                "{}:{}",
                self.config.source.kind(),
                source_name(&self.config.source)
            )),
            targets,
        };
        Ok(crate::graph_view::flow_dot(&flow.view(), &drawing))
    }

    /// Checks the pipeline without running it: the source's options, that its files exist and
    /// have the columns the options name, every step, target and expression, and the graph.
    /// Creates nothing (no output directory, no file).
    pub fn validate(&self) -> Result<()> {
        self.prepare(&BuildContext::default(), Mode::Check)
            .and_then(|flow| flow.build())
            .map(|_| ())
            .map_err(|e| self.locate(e))
    }

    /// Runs the pipeline to the end of its source.
    pub fn run(&self) -> std::result::Result<RunOutcome, RunError> {
        // the tables are this run's alone: nothing can read them afterwards
        let cx = BuildContext {
            private: true,
            ..Default::default()
        };
        self.run_cancellable(&cx, None)
    }

    /// Runs with shared tables (several pipelines of one process).
    pub fn run_with(&self, cx: &BuildContext) -> std::result::Result<RunOutcome, RunError> {
        self.run_cancellable(cx, None)
    }

    /// Runs until the end of the source or until `cancel` is set (checked after each source
    /// batch); a cancelled run still flushes and commits its targets with what it processed,
    /// and its outcome says `cancelled`. The summary carries [`Pipeline::warnings`].
    pub fn run_cancellable(
        &self,
        cx: &BuildContext,
        cancel: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    ) -> std::result::Result<RunOutcome, RunError> {
        let fail = |error: Error| RunError {
            error: self.locate(error),
            summary: Default::default(),
        };
        // tables another flow of the process registered hold state the workers would not see
        let shared = !cx.tables.all().is_empty();
        let flow = self.prepare(cx, Mode::Build).map_err(fail)?;
        let mut source = self.config.source.build().map_err(fail)?;
        let opts = RunOptions {
            batch_size: self.config.batch_size.max(1),
            clock: match self.config.clock {
                ClockConfig::EventTime => rill_flow::Clock::EventTime,
                ClockConfig::Wall => rill_flow::Clock::Wall,
            },
            cancel,
            max_rejects: self.config.max_rejects,
        };
        let mut warnings = self.warnings();
        let workers = self.config.workers.max(1);
        let alone = workers == 1 || shared;
        if workers > 1 && shared {
            warnings.push(format!(
                "workers: {workers} asked for, the run used one: the process's tables are \
                 shared with flows run before this one"
            ));
        }
        let graph = flow.build().map_err(fail)?;
        let outcome = if alone {
            rill_flow::run(graph, source.as_mut(), &opts)
        } else {
            let plan = rill_flow::config::shard_plan(&self.config.steps);
            if let (Some(why), true) = (&plan.reason, plan.prefix > 0) {
                warnings.push(format!(
                    "workers: only the steps before step {} run in the workers: {why}",
                    plan.prefix
                ));
            }
            let plan = rill_flow::WorkerPlan {
                workers,
                prefix: plan.prefix,
                key: plan.key,
                reason: plan.reason,
                keep_tables: !cx.private,
            };
            rill_flow::run_workers(&flow, graph, plan, source.as_mut(), &opts)
        };
        match outcome {
            Ok(mut outcome) => {
                warnings.append(&mut outcome.summary.warnings);
                outcome.summary.warnings = warnings;
                Ok(outcome)
            }
            Err(mut e) => {
                warnings.append(&mut e.summary.warnings);
                e.summary.warnings = warnings;
                Err(e)
            }
        }
    }
}

/// A target's name in the summary and the factory of its step (`Check`: its options checked
/// now, and a stand-in step that writes nothing).
fn target_step(t: &TargetConfig, mode: Mode) -> Result<(String, Arc<dyn StepFactory>)> {
    let kind = t.kind();
    let step = match mode {
        Mode::Build => rill_flow::config::located(t.factory(), kind.into()),
        Mode::Check => {
            t.check().map_err(|e| e.at(kind))?;
            from_fn(|_| Ok(Box::new(rill_flow::steps::Filter::new(|_| true))))
        }
    };
    Ok((target_name(t), step))
}

/// The source's file(s), for messages.
fn source_name(s: &SourceConfig) -> String {
    s.path().as_slice().join(", ")
}

/// `kind:path` (e.g. `parquet:out/x.parquet`), the target's name in summaries and messages.
pub(crate) fn target_name(t: &TargetConfig) -> String {
    format!("{}:{}", t.kind(), t.path())
}
