//! YAML pipelines: one source, a chain of steps (with branches and routes), targets.

use rill_core::{Error, Result};
use rill_flow::config::{build_chain, BuildContext, StepConfig};
use rill_flow::{ErrorPolicy, Flow, RunError, RunOptions, RunOutcome};
use rill_io::{SourceConfig, TargetConfig};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// A table declared by a pipeline.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableConfig {
    /// Where the table keeps its data. `memory://` keeps it in the process (shared by name with
    /// other flows of the process).
    #[serde(default = "memory_url")]
    pub url: String,
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
}

/// Parses `max_rejects`: a count (`100`) or a percentage (`1%`, `0.5%`).
fn max_rejects<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<rill_flow::MaxRejects>, D::Error> {
    use serde::de::Error as _;
    let v = serde_json::Value::deserialize(d)?;
    let bad = || {
        D::Error::custom(format!(
            "max_rejects: expected a count like 100 or a percentage like 1%, not {v}"
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

/// A command-line override: a dotted path into the pipeline file and a YAML value,
/// e.g. `source.csv.path=data/other.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    /// Dotted path; list items by index (`targets.0.csv.path`).
    pub path: String,
    /// The new value, parsed as YAML (so `10`, `true`, `[a, b]` keep their types).
    pub value: String,
}

impl std::str::FromStr for Override {
    type Err = Error;
    fn from_str(s: &str) -> Result<Override> {
        let (p, v) = s.split_once('=').ok_or_else(|| {
            Error::config(format!("override '{s}' must look like path.to.field=value"))
        })?;
        Ok(Override {
            path: p.trim().to_string(),
            value: v.to_string(),
        })
    }
}

/// A loaded pipeline, ready to validate or run.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// The parsed configuration.
    pub config: PipelineConfig,
    origin: String,
}

impl Pipeline {
    /// Reads a pipeline file and applies overrides.
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
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        Pipeline::from_yaml(&text, &path.display().to_string(), overrides)
    }

    /// Parses pipeline YAML; `origin` names it in messages.
    pub fn from_yaml(text: &str, origin: &str, overrides: &[Override]) -> Result<Pipeline> {
        let bad = |e: &dyn std::fmt::Display| {
            Error::config(format!("{origin}: {}", shorten_quoted(&e.to_string())))
        };
        let config: PipelineConfig = if overrides.is_empty() {
            serde_saphyr::from_str_with_options(text, yaml_options()).map_err(|e| bad(&e))?
        } else {
            let mut tree: serde_json::Value =
                serde_saphyr::from_str_with_options(text, yaml_options()).map_err(|e| bad(&e))?;
            for o in overrides {
                apply_override(&mut tree, o).map_err(|e| bad(&e))?;
            }
            serde_json::from_value(tree).map_err(|e| bad(&format!("after overrides: {e}")))?
        };
        Ok(Pipeline {
            config,
            origin: origin.to_string(),
        })
    }

    /// Builds the flow (compiles every expression, checks every option) without reading input.
    pub fn build_flow(&self, cx: &BuildContext) -> Result<Flow> {
        let c = &self.config;
        for (name, t) in &c.tables {
            if t.url != "memory://" {
                return Err(Error::config(format!(
                    "table '{name}': unsupported url '{}': this build of rill supports memory:// tables",
                    t.url
                )));
            }
            cx.tables.get_or_create(name);
        }
        let known = c
            .source
            .known_fields()
            .map_err(|e| e.context(&self.origin))?;
        rill_flow::config::check_fields(&c.steps, known, &source_name(&c.source))
            .map_err(|e| e.context(&self.origin))?;
        // a glob that matches nothing fails here too, which the run would report anyway
        let inputs = c.source.paths().map_err(|e| e.context(&self.origin))?;
        let target = |t: &TargetConfig| {
            t.check_not_input(&inputs)?;
            Ok((target_name(t), t.build()?))
        };
        let mut flow = build_chain(Flow::new(), &c.steps, &c.targets, cx, &target)
            .map_err(|e| e.context(&self.origin))?;
        flow = flow.error_policy(c.error_policy);
        if let Some(dl) = &c.dead_letter {
            if c.error_policy != ErrorPolicy::DeadLetter {
                return Err(Error::config(format!(
                    "{}: dead_letter is set but error_policy is not dead_letter",
                    self.origin
                )));
            }
            dl.check_not_input(&inputs)
                .map_err(|e| e.context(&self.origin))?;
            flow.set_dead_letter(dl.build().map_err(|e| e.context(&self.origin))?);
        }
        Ok(flow)
    }

    /// Checks the pipeline without running it: the source's options, every step, target and
    /// expression, and the graph.
    pub fn validate(&self) -> Result<()> {
        self.config
            .source
            .build()
            .map_err(|e| e.context(&self.origin))?;
        self.build_flow(&BuildContext::default())?
            .build()
            .map_err(|e| e.context(&self.origin))
            .map(|_| ())
    }

    /// Runs the pipeline to the end of its source.
    pub fn run(&self) -> std::result::Result<RunOutcome, RunError> {
        self.run_with(&BuildContext::default())
    }

    /// Runs with shared tables (several pipelines of one process).
    pub fn run_with(&self, cx: &BuildContext) -> std::result::Result<RunOutcome, RunError> {
        self.run_cancellable(cx, None)
    }

    /// Runs until the end of the source or until `cancel` is set (checked after each source
    /// batch); a cancelled run still flushes and commits its targets with what it processed,
    /// and its outcome says `cancelled`.
    pub fn run_cancellable(
        &self,
        cx: &BuildContext,
        cancel: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    ) -> std::result::Result<RunOutcome, RunError> {
        let fail = |error: Error| RunError {
            error,
            summary: Default::default(),
        };
        let flow = self.build_flow(cx).map_err(fail)?;
        let graph = flow.build().map_err(|e| fail(e.context(&self.origin)))?;
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
        rill_flow::run(graph, source.as_mut(), &opts)
    }
}

/// A parser message with every quoted name or value (between backticks or double quotes) of
/// more than 80 characters shortened, and every line to at most 300: serde quotes an unknown
/// key or a mistyped value whole, and a file may hold a megabyte-long one.
fn shorten_quoted(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len().min(4096));
    let mut rest = msg;
    while let Some(i) = rest.find(['`', '"']) {
        let q = rest.as_bytes()[i] as char;
        out.push_str(&rest[..=i]);
        rest = &rest[i + 1..];
        let Some(j) = rest.find(q) else { break };
        out.push_str(&rill_core::shorten(&rest[..j], 80));
        out.push(q);
        rest = &rest[j + 1..];
    }
    out.push_str(rest);
    out.lines()
        .map(|l| rill_core::shorten(l, 300))
        .collect::<Vec<_>>()
        .join("\n")
}

/// YAML 1.2's core schema: only `true`/`false` (any case) are booleans, so `y`, `no`, `on`…
/// stay strings and a file reads the same whether it is read into the typed configuration
/// directly or, with `--set` overrides, through an untyped tree first.
fn yaml_options() -> serde_saphyr::Options {
    let mut options = serde_saphyr::Options::default();
    options.strict_booleans = true;
    options
}

fn apply_override(tree: &mut serde_json::Value, o: &Override) -> Result<()> {
    let value: serde_json::Value = serde_saphyr::from_str_with_options(&o.value, yaml_options())
        .unwrap_or_else(|_| serde_json::Value::String(o.value.clone()));
    let mut node = tree;
    let parts: Vec<&str> = o.path.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        node = match node {
            serde_json::Value::Object(m) => {
                if last {
                    m.insert(part.to_string(), value);
                    return Ok(());
                }
                m.entry(part.to_string())
                    .or_insert_with(|| serde_json::Value::Object(Default::default()))
            }
            serde_json::Value::Array(a) => {
                let idx: usize = part.parse().map_err(|_| {
                    Error::config(format!("override {}: '{part}' is not a list index", o.path))
                })?;
                let len = a.len();
                let slot = a.get_mut(idx).ok_or_else(|| {
                    Error::config(format!(
                        "override {}: index {idx} is past the list's {len} items",
                        o.path
                    ))
                })?;
                if last {
                    *slot = value;
                    return Ok(());
                }
                slot
            }
            _ => {
                return Err(Error::config(format!(
                    "override {}: '{part}' is inside a value that is not a map or list",
                    o.path
                )))
            }
        };
    }
    Ok(())
}

impl Pipeline {
    /// Sets the source's path (whatever its format): `--input`.
    pub fn set_input(&mut self, path: &str) {
        match &mut self.config.source {
            SourceConfig::Csv(c) => c.path = rill_io::OneOrMany::One(path.to_string()),
            SourceConfig::Jsonl(c) => c.path = rill_io::OneOrMany::One(path.to_string()),
            SourceConfig::Parquet(c) => c.path = rill_io::OneOrMany::One(path.to_string()),
        }
    }
}

/// The source's file(s), for messages.
fn source_name(s: &SourceConfig) -> String {
    let paths = match s {
        SourceConfig::Csv(c) => &c.path,
        SourceConfig::Jsonl(c) => &c.path,
        SourceConfig::Parquet(c) => &c.path,
    };
    paths.as_slice().join(", ")
}

/// `kind:path` (e.g. `parquet:out/x.parquet`), the target's name in summaries and messages.
fn target_name(t: &TargetConfig) -> String {
    let v = serde_json::to_value(t).unwrap_or_default();
    match v.as_object().and_then(|m| m.iter().next()) {
        Some((kind, opts)) => match opts.get("path").and_then(|p| p.as_str()) {
            Some(p) => format!("{kind}:{p}"),
            None => kind.clone(),
        },
        None => "target".into(),
    }
}
