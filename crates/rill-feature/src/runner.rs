//! The driver of a compiled graph, shared by live emission and offline replay: pushes one
//! input event through the flow on the caller's thread, then hands the watched outputs it
//! produced, in order, to the caller and folds the graph's outputs into the grouped event.

use crate::builtins::common::Projector;
use crate::compile::{CompiledGraph, Sink};
use crate::error::{FeatureError, Result};
use crate::grouped::GroupedNamedDataEvent;
use rill_core::{Error, Event, Value};
use rill_flow::{Graph, NodeRef};
use std::sync::Arc;

/// Not an output.
const NONE: u32 = u32::MAX;

pub(crate) struct Runner {
    pub graph: Arc<CompiledGraph>,
    flow: Graph,
    entries: Vec<NodeRef>,
    projectors: Vec<Projector>,
    sink: Sink,
    drained: Vec<(u32, Event)>,
    /// Node → its position among the outputs (or NONE).
    out_pos: Vec<u32>,
    grouped: GroupedNamedDataEvent,
    failed: Option<String>,
}

impl Runner {
    /// A fresh instance of `graph` (new state in every node); `extra[i]` also hands node `i`'s
    /// events to the caller.
    pub fn new(graph: Arc<CompiledGraph>, extra: &[bool]) -> Result<Runner> {
        let n = graph.nodes.len();
        let mut out_pos = vec![NONE; n];
        for (p, &i) in graph.outputs.iter().enumerate() {
            out_pos[i] = p as u32;
        }
        let watched: Vec<bool> = (0..n)
            .map(|i| out_pos[i] != NONE || extra.get(i) == Some(&true))
            .collect();
        let sink: Sink = Default::default();
        let (flow, entries) = graph.flow(&watched, &sink)?;
        let flow = flow.build()?;
        let projectors = graph
            .sources
            .iter()
            .map(|&s| {
                Projector::new(
                    graph.nodes[s].schema.clone(),
                    graph.nodes[s].feature.schema(),
                )
            })
            .collect();
        let names: Arc<[String]> = graph.output_names().into_iter().map(String::from).collect();
        let sources: Arc<[String]> = graph.source_names().into_iter().map(String::from).collect();
        let widths: Arc<[usize]> = graph
            .outputs
            .iter()
            .map(|&o| graph.nodes[o].schema.len())
            .collect();
        Ok(Runner {
            grouped: GroupedNamedDataEvent::new(names, sources, widths),
            graph,
            flow,
            entries,
            projectors,
            sink,
            drained: Vec::new(),
            out_pos,
            failed: None,
        })
    }

    /// The grouped outputs as of the last input event.
    pub fn grouped(&self) -> &GroupedNamedDataEvent {
        &self.grouped
    }

    /// Pushes `event` from source `source` (an index among the graph's sources) through the
    /// graph; `each(node, event)` sees every watched output in emission order. True when an
    /// output was updated. An event not over the source's schema is projected onto it (an
    /// error names the bad field; the graph is unaffected); a failure inside the graph ends it.
    pub fn push(
        &mut self,
        source: usize,
        event: Event,
        mut each: impl FnMut(usize, &Event),
    ) -> Result<bool> {
        if let Some(f) = &self.failed {
            return Err(FeatureError::Engine(Error::FlowClosed(f.clone())));
        }
        let node = self.graph.sources[source];
        let ready = matches!(&event.body, Value::Record(r) if Arc::ptr_eq(r.schema(), &self.graph.nodes[node].schema));
        let event = if ready {
            event
        } else {
            // (what names the event in an error, kept without formatting it per event)
            let what = Event {
                offset: event.offset,
                key: event.key.clone(),
                ..Default::default()
            };
            self.projectors[source]
                .project_owned(event)
                .map_err(|why| FeatureError::Input {
                    source_name: self.graph.nodes[node].name.clone(),
                    source: Error::user(format!("{}: {why}", what.describe())),
                })?
        };
        self.grouped.time = event.time;
        self.grouped.source = source;
        if let Err(e) = self.flow.push_at(self.entries[source], event) {
            self.failed = Some(e.to_string());
            self.sink.lock().clear();
            return Err(FeatureError::Engine(e));
        }
        std::mem::swap(&mut *self.sink.lock(), &mut self.drained);
        self.grouped.updated.iter_mut().for_each(|u| *u = false);
        let mut any = false;
        for (node, ev) in self.drained.drain(..) {
            each(node as usize, &ev);
            let p = self.out_pos[node as usize];
            if p != NONE {
                self.grouped.latest[p as usize] = Some(ev);
                self.grouped.updated[p as usize] = true;
                any = true;
            }
        }
        Ok(any)
    }

    /// Ends the graph: every step terminates (none of the built-ins holds output back).
    pub fn finish(&mut self) -> Result<()> {
        if self.failed.is_none() {
            self.flow.finish()?;
        }
        Ok(())
    }
}
