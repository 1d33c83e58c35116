//! [`FeatureStreamGraph`]: the live face of a compiled feature graph. Events are emitted one
//! by one, by data source; each goes through the whole compiled flow on the caller's thread
//! before `emit_named_data_event` returns, then the per-feature callbacks and the grouped
//! callback run.

use crate::compile::CompiledGraph;
use crate::config::FeaturizerConfig;
use crate::error::{FeatureError, Result};
use crate::feature::Feature;
use crate::grouped::GroupedNamedDataEvent;
use crate::registry::Registry;
use crate::runner::Runner;
use rill_core::Event;
use std::sync::Arc;

/// A data source of a graph, resolved once ([`FeatureStreamGraph::source`]) so the hot path
/// does no name lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceRef(usize);

/// What names a data source in [`FeatureStreamGraph::emit_named_data_event`]: its name (any
/// of its names: given or generated) or a resolved [`SourceRef`].
pub trait SourceKey {
    /// The source's position in `graph`.
    fn resolve(&self, graph: &CompiledGraph) -> Result<usize>;
}
impl SourceKey for SourceRef {
    fn resolve(&self, _: &CompiledGraph) -> Result<usize> {
        Ok(self.0)
    }
}
impl SourceKey for &str {
    fn resolve(&self, graph: &CompiledGraph) -> Result<usize> {
        graph.source_index(self)
    }
}
impl SourceKey for String {
    fn resolve(&self, graph: &CompiledGraph) -> Result<usize> {
        graph.source_index(self)
    }
}

type GroupedCallback = Box<dyn FnMut(&GroupedNamedDataEvent) + Send>;
type FeatureCallback = Box<dyn FnMut(&str, &Event) + Send>;

/// A live feature graph.
///
/// ```
/// use rill_feature::{FeaturizerConfig, FeatureStreamGraph, Registry};
/// use rill_core::{Event, Record, Value};
/// use std::sync::{Arc, Mutex};
/// let cfg = FeaturizerConfig::from_yaml(r#"
/// feature_configs:
///   - feature_definition: price.mid_price
///     name: mid
///     params: {dep_schema: ticker, ticker: {name: ticker}}
/// "#).unwrap();
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let s = seen.clone();
/// let mut fsg = FeatureStreamGraph::from_config(&cfg, &Registry::builtin(), move |g| {
///     s.lock().unwrap().push(g.value("mid", "mid_price").unwrap().as_f64().unwrap());
/// }).unwrap();
/// let tick = Record::from_pairs([
///     ("timestamp", Value::Float(1.0)), ("receipt_timestamp", Value::Float(1.1)),
///     ("bid", Value::Float(99.0)), ("ask", Value::Float(101.0)),
/// ]);
/// fsg.emit_named_data_event(("ticker", Event::new(tick))).unwrap();
/// assert_eq!(*seen.lock().unwrap(), vec![100.0]);
/// ```
pub struct FeatureStreamGraph {
    runner: Runner,
    grouped: Option<GroupedCallback>,
    callbacks: Vec<(usize, FeatureCallback)>,
    extra: Vec<bool>,
    emitted: bool,
}

impl FeatureStreamGraph {
    /// A graph computing `features` (and what they depend on, shared parts once); `callback`
    /// receives the grouped outputs after each input event that updated one.
    pub fn new(
        features: &[Feature],
        callback: impl FnMut(&GroupedNamedDataEvent) + Send + 'static,
    ) -> Result<FeatureStreamGraph> {
        let mut g = FeatureStreamGraph::without_callback(features)?;
        g.grouped = Some(Box::new(callback));
        Ok(g)
    }

    /// [`FeatureStreamGraph::new`] from a featurizer config.
    pub fn from_config(
        config: &FeaturizerConfig,
        registry: &Registry,
        callback: impl FnMut(&GroupedNamedDataEvent) + Send + 'static,
    ) -> Result<FeatureStreamGraph> {
        FeatureStreamGraph::new(&config.build(registry)?, callback)
    }

    /// A graph without a grouped callback (per-feature callbacks, or [`Self::latest`]).
    pub fn without_callback(features: &[Feature]) -> Result<FeatureStreamGraph> {
        let graph = Arc::new(CompiledGraph::new(features)?);
        let extra = vec![false; graph.node_count()];
        Ok(FeatureStreamGraph {
            runner: Runner::new(graph, &extra)?,
            grouped: None,
            callbacks: Vec::new(),
            extra,
            emitted: false,
        })
    }

    /// The compiled graph.
    pub fn graph(&self) -> &CompiledGraph {
        &self.runner.graph
    }
    /// The data sources' names (svoe's `get_ins`).
    pub fn get_ins(&self) -> Vec<&str> {
        self.runner.graph.source_names()
    }
    /// The output features' names (svoe's `get_outs`).
    pub fn get_outs(&self) -> Vec<&str> {
        self.runner.graph.output_names()
    }
    /// The data source named `name`, resolved for [`Self::emit_named_data_event`].
    pub fn source(&self, name: &str) -> Result<SourceRef> {
        self.runner.graph.source_index(name).map(SourceRef)
    }
    /// The grouped outputs as of the last input event.
    pub fn latest(&self) -> &GroupedNamedDataEvent {
        self.runner.grouped()
    }

    /// Calls `callback(name, event)` for every event the feature `name` (any node of the
    /// graph, by any of its names) emits. A feature that is not an output must get its
    /// callbacks before the first event (the flow is rebuilt to watch it).
    pub fn set_callback(
        &mut self,
        name: &str,
        callback: impl FnMut(&str, &Event) + Send + 'static,
    ) -> Result<()> {
        let graph = &self.runner.graph;
        let node = graph.node(name).ok_or_else(|| {
            FeatureError::config(
                format!("set_callback('{name}')"),
                format!(
                    "no feature of that name; outputs: {}",
                    graph.output_names().join(", ")
                ),
            )
        })?;
        let watched = graph.outputs.contains(&node) || self.extra[node];
        if !watched {
            if self.emitted {
                return Err(FeatureError::config(
                    format!("set_callback('{name}')"),
                    "events were emitted already: set callbacks of intermediate features first",
                ));
            }
            self.extra[node] = true;
            self.runner = Runner::new(self.runner.graph.clone(), &self.extra)?;
        }
        self.callbacks.push((node, Box::new(callback)));
        Ok(())
    }

    /// Emits one event of a data source (svoe's `NamedDataEvent`: a source and an event whose
    /// body is a record of the source's schema; fields may come in any order, the event time is
    /// its `timestamp`). It goes through the whole graph before this returns; then callbacks
    /// run in emission order and the grouped callback, if an output was updated.
    pub fn emit_named_data_event<S: SourceKey>(
        &mut self,
        (source, event): (S, Event),
    ) -> Result<()> {
        let s = source.resolve(&self.runner.graph)?;
        self.emitted = true;
        let graph = self.runner.graph.clone();
        let callbacks = &mut self.callbacks;
        let updated = self.runner.push(s, event, |node, ev| {
            for (n, cb) in callbacks.iter_mut() {
                if *n == node {
                    cb(&graph.nodes[node].name, ev);
                }
            }
        })?;
        if updated {
            if let Some(cb) = &mut self.grouped {
                cb(self.runner.grouped());
            }
        }
        Ok(())
    }

    /// Ends the graph (every step terminates).
    pub fn finish(mut self) -> Result<()> {
        self.runner.finish()
    }
}
