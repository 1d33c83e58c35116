//! [`OfflineFeatureStreamGenerator`]: stored data of every source, read incrementally, merged
//! by event time and pushed through the same compiled graph as live emission; a lazy iterator
//! of the grouped outputs.

use crate::builtins::common::Projector;
use crate::compile::CompiledGraph;
use crate::definition::{Definition, Preprocess};
use crate::error::{FeatureError, Result};
use crate::feature::Feature;
use crate::grouped::GroupedNamedDataEvent;
use crate::merge::{InputStream, Merge, SourceStats, VecInput};
use crate::runner::Runner;
use rill_core::{Event, Timestamp};
use rill_flow::{Source, SourceBatch};
use rill_io::{OneOrMany, ParquetSource, ParquetSourceConfig};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;

/// Where a data source's stored events come from.
#[derive(Debug, Clone)]
pub enum OfflineInput {
    /// Parquet files (svoe-format blocks: one row per record), read in the given order, a row
    /// group at a time, through the source's preprocessing.
    Parquet(Vec<PathBuf>),
    /// Events in the source's schema, in memory (fields in any order).
    Events(Vec<Event>),
    /// A synthetic source's events over `[start, end]`.
    Synthetic {
        /// First instant.
        start: Timestamp,
        /// Last instant.
        end: Timestamp,
    },
}

/// Rows decoded per read from a Parquet input.
const ROWS_PER_READ: usize = 1024;

/// Replays stored data through a compiled feature graph.
///
/// ```no_run
/// use rill_feature::{FeaturizerConfig, OfflineFeatureStreamGenerator, OfflineInput, Registry};
/// let cfg = FeaturizerConfig::from_file("features.yaml").unwrap();
/// let features = cfg.build(&Registry::builtin()).unwrap();
/// let inputs = vec![("book".to_string(), OfflineInput::Parquet(vec!["l2/block_01.parquet".into()]))];
/// for grouped in OfflineFeatureStreamGenerator::new(&features, inputs).unwrap() {
///     println!("{}", grouped.unwrap().to_json());
/// }
/// ```
pub struct OfflineFeatureStreamGenerator {
    runner: Runner,
    merge: Merge,
    done: bool,
}

impl OfflineFeatureStreamGenerator {
    /// A generator computing `features` over `inputs` (data source name → input; every source of
    /// the graph needs one).
    pub fn new(
        features: &[Feature],
        inputs: Vec<(String, OfflineInput)>,
    ) -> Result<OfflineFeatureStreamGenerator> {
        Self::from_graph(Arc::new(CompiledGraph::new(features)?), inputs)
    }

    /// [`Self::new`] over an already compiled graph (each generator has its own state).
    pub fn from_graph(
        graph: Arc<CompiledGraph>,
        inputs: Vec<(String, OfflineInput)>,
    ) -> Result<OfflineFeatureStreamGenerator> {
        let mut by_source: Vec<Option<OfflineInput>> = vec![None; graph.sources.len()];
        for (name, input) in inputs {
            let s = graph.source_index(&name)?;
            if by_source[s].is_some() {
                return Err(FeatureError::config(
                    format!("inputs.{name}"),
                    "the data source has two inputs",
                ));
            }
            by_source[s] = Some(input);
        }
        let mut streams: Vec<Box<dyn InputStream>> = Vec::new();
        for (s, input) in by_source.into_iter().enumerate() {
            let node = &graph.nodes[graph.sources[s]];
            let name = node.name.clone();
            let Some(input) = input else {
                return Err(FeatureError::config(
                    format!("inputs.{name}"),
                    "no input for this data source",
                ));
            };
            let Definition::Source(def) = node.feature.definition() else {
                unreachable!("sources are source nodes")
            };
            let params = node.feature.params();
            streams.push(match input {
                OfflineInput::Events(evs) => Box::new(Projecting {
                    inner: VecInput::new(&name, evs),
                    projector: Projector::new(node.schema.clone(), node.feature.schema()),
                }),
                OfflineInput::Synthetic { start, end } => {
                    let evs = def
                        .synthetic(params, &node.schema, start, end)
                        .ok_or_else(|| {
                            FeatureError::config(
                                format!("inputs.{name}"),
                                format!("{} is not a synthetic source", def.name()),
                            )
                        })?;
                    Box::new(VecInput::new(&name, evs))
                }
                OfflineInput::Parquet(paths) => {
                    let paths: Vec<String> =
                        paths.iter().map(|p| p.display().to_string()).collect();
                    let cfg = ParquetSourceConfig::new(String::new());
                    let cfg = ParquetSourceConfig {
                        path: OneOrMany::Many(paths),
                        ..cfg
                    };
                    let source = ParquetSource::new(cfg).map_err(|e| FeatureError::Input {
                        source_name: name.clone(),
                        source: e,
                    })?;
                    Box::new(ParquetInput {
                        pre: def.preprocessor(params, node.schema.clone()),
                        source,
                        batch: SourceBatch::default(),
                        ready: VecDeque::new(),
                        out: Vec::new(),
                        done: false,
                        stats: SourceStats {
                            name: name.clone(),
                            ..Default::default()
                        },
                    })
                }
            });
        }
        let extra = vec![false; graph.node_count()];
        Ok(OfflineFeatureStreamGenerator {
            runner: Runner::new(graph, &extra)?,
            merge: Merge::new(streams),
            done: false,
        })
    }

    /// What each source's input counted so far (rows, rejects with their first messages,
    /// out-of-order events).
    pub fn stats(&mut self) -> Vec<SourceStats> {
        self.merge.stats()
    }

    fn step(&mut self) -> Result<Option<GroupedNamedDataEvent>> {
        while let Some((s, ev)) = self.merge.next_event()? {
            if self.runner.push(s, ev, |_, _| {})? {
                return Ok(Some(self.runner.grouped().clone()));
            }
        }
        self.runner.finish()?;
        Ok(None)
    }
}

impl Iterator for OfflineFeatureStreamGenerator {
    type Item = Result<GroupedNamedDataEvent>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.step() {
            Ok(Some(g)) => Some(Ok(g)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// A Parquet input: rows read a batch at a time, preprocessed into events.
struct ParquetInput {
    source: ParquetSource,
    pre: Box<dyn Preprocess>,
    batch: SourceBatch,
    ready: VecDeque<Event>,
    out: Vec<Event>,
    done: bool,
    stats: SourceStats,
}

impl InputStream for ParquetInput {
    fn next_event(&mut self) -> Result<Option<Event>> {
        loop {
            if let Some(e) = self.ready.pop_front() {
                return Ok(Some(e));
            }
            if self.done {
                return Ok(None);
            }
            self.batch.clear();
            let more = self.source.next_batch(&mut self.batch, ROWS_PER_READ);
            self.stats.rows += (self.batch.events.len() + self.batch.rejects.len()) as u64;
            for f in self.batch.rejects.drain(..) {
                self.stats.rejected += 1;
                self.stats.problem(f.error.to_string());
            }
            for row in &self.batch.events {
                if let Err(why) = self.pre.push(row, &mut self.out) {
                    self.stats.rejected += 1;
                    let what = format!("{}, {}: {why}", self.source.name(), row.describe());
                    self.stats.problem(what);
                }
            }
            let more = more.map_err(|e| FeatureError::Input {
                source_name: self.stats.name.clone(),
                source: e,
            })?;
            if !more {
                self.pre.finish(&mut self.out);
                self.done = true;
            }
            self.ready.extend(self.out.drain(..));
        }
    }
    fn stats(&mut self) -> &mut SourceStats {
        &mut self.stats
    }
}

/// Events given in memory, projected onto the source's schema (their time is their
/// `timestamp`) before the merge orders them; an event that does not fit is counted and
/// reported.
struct Projecting {
    inner: VecInput,
    projector: Projector,
}

impl InputStream for Projecting {
    fn next_event(&mut self) -> Result<Option<Event>> {
        while let Some(ev) = self.inner.next_event()? {
            match self.projector.project(&ev) {
                Ok(e) => return Ok(Some(e)),
                Err(why) => {
                    let st = self.inner.stats();
                    st.rejected += 1;
                    st.problem(format!("{}: {why}", ev.describe()));
                }
            }
        }
        Ok(None)
    }
    fn stats(&mut self) -> &mut SourceStats {
        self.inner.stats()
    }
}
