//! Compiling features into ONE rill flow: the deduplicated DAG ([`CompiledGraph`]: one node
//! per distinct [`FeatureId`], shared sub-graphs computed once) and its flow — an entry step per
//! data source, a step per feature (its [`crate::FeatureLogic`]), and, as the first outlet of
//! each node the caller watches, a collector step handing its events back to the driver. Live emission and offline replay
//! run this same flow.

use crate::definition::{Definition, EventSchema, FeatureDefinition, Output};
use crate::error::{FeatureError, Result};
use crate::feature::Feature;
use crate::identity::FeatureId;
use parking_lot::Mutex;
use rill_core::{Error, Event, Schema, Value};
use rill_flow::step_factory::StepFactory;
use rill_flow::{config::BuildContext, Cx, Failure, Flow, NodeRef, Step, StepResult};
use std::sync::Arc;

/// Where the collector step puts the watched outputs of one input event: `(node, event)` in
/// emission order.
pub(crate) type Sink = Arc<Mutex<Vec<(u32, Event)>>>;

/// One node of the compiled graph.
pub(crate) struct Node {
    /// The feature (for a label node: the label).
    pub feature: Feature,
    /// The schema every event of this node is a record over (its id tells nodes apart).
    pub schema: Arc<Schema>,
    /// The nodes feeding each dependency slot (a label: its unlabeled twin).
    pub deps: Vec<usize>,
    /// The name shown in outputs: the first name given, else the generated one.
    pub name: String,
}

/// A deduplicated feature DAG, ready to run live ([`crate::FeatureStreamGraph`]) or offline
/// ([`crate::OfflineFeatureStreamGenerator`]).
pub struct CompiledGraph {
    pub(crate) nodes: Vec<Node>,
    /// Data-source nodes, in graph order (the merge's source order).
    pub(crate) sources: Vec<usize>,
    /// Output nodes, in the order the features were given.
    pub(crate) outputs: Vec<usize>,
    /// Every name (given or generated) → node.
    aliases: Vec<(String, usize)>,
}

impl CompiledGraph {
    /// Compiles `outputs` (the features whose values the graph delivers) with everything they
    /// depend on; equal sub-graphs (same [`FeatureId`]) become one node. Two different
    /// features with one name are an error.
    pub fn new(outputs: &[Feature]) -> Result<CompiledGraph> {
        let mut g = CompiledGraph {
            nodes: Vec::new(),
            sources: Vec::new(),
            outputs: Vec::new(),
            aliases: Vec::new(),
        };
        let mut by_id: Vec<(FeatureId, usize)> = Vec::new();
        for f in outputs {
            let i = g.visit(f, &mut by_id)?;
            if !g.outputs.contains(&i) {
                g.outputs.push(i);
            }
        }
        if g.sources.is_empty() {
            return Err(FeatureError::config(
                "features",
                "the graph has no data source",
            ));
        }
        Ok(g)
    }

    fn visit(&mut self, f: &Feature, by_id: &mut Vec<(FeatureId, usize)>) -> Result<usize> {
        let deps: Vec<usize> = if f.is_label() {
            vec![self.visit(&f.unlabeled(), by_id)?]
        } else {
            f.deps()
                .map(|(_, d)| self.visit(d, by_id))
                .collect::<Result<_>>()?
        };
        let i = match by_id.iter().find(|(id, _)| *id == f.id()) {
            Some(&(_, i)) => i,
            None => {
                let names: Vec<&str> = f.schema().iter().map(|x| x.name.as_str()).collect();
                let i = self.nodes.len();
                self.nodes.push(Node {
                    feature: f.clone(),
                    schema: Schema::new(names),
                    deps,
                    name: f.display_name(),
                });
                if f.definition().is_source() && !f.is_label() {
                    self.sources.push(i);
                }
                by_id.push((f.id(), i));
                self.aliases.push((f.display_name(), i));
                i
            }
        };
        if let Some(name) = f.name() {
            match self.aliases.iter().find(|(n, _)| n == name) {
                Some(&(_, j)) if j != i => {
                    return Err(FeatureError::config(
                        format!("name '{name}'"),
                        "given to two different features",
                    ))
                }
                Some(_) => {}
                None => self.aliases.push((name.to_string(), i)),
            }
        }
        Ok(i)
    }

    /// The number of distinct nodes (shared sub-graphs count once).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }
    /// The data sources' names, in merge order.
    pub fn source_names(&self) -> Vec<&str> {
        self.sources
            .iter()
            .map(|&i| self.nodes[i].name.as_str())
            .collect()
    }
    /// The output features' names, in the order given.
    pub fn output_names(&self) -> Vec<&str> {
        self.outputs
            .iter()
            .map(|&i| self.nodes[i].name.as_str())
            .collect()
    }
    /// The schema of [`crate::GroupedNamedDataEvent::to_record`]: `time`, `source`, then
    /// `<output>.<field>` for every field of every output.
    pub fn grouped_schema(&self) -> Arc<Schema> {
        let mut names = vec!["time".to_string(), "source".to_string()];
        for &o in &self.outputs {
            let n = &self.nodes[o];
            names.extend(
                n.feature
                    .schema()
                    .iter()
                    .map(|f| format!("{}.{}", n.name, f.name)),
            );
        }
        Schema::new(names)
    }
    /// The node named `name` (any of its names).
    pub(crate) fn node(&self, name: &str) -> Option<usize> {
        self.aliases
            .iter()
            .find(|(n, _)| n == name)
            .map(|&(_, i)| i)
    }
    /// The position among the sources (in merge order) of the source named `name` (any of its
    /// names); an error lists the graph's sources.
    pub fn source_index(&self, name: &str) -> Result<usize> {
        self.node(name)
            .and_then(|n| self.sources.iter().position(|&s| s == n))
            .ok_or_else(|| FeatureError::UnknownSource {
                name: name.to_string(),
                known: self.source_names().join(", "),
            })
    }
    /// The features of the graph, deduplicated, dependencies first.
    pub fn features(&self) -> impl Iterator<Item = &Feature> {
        self.nodes.iter().map(|n| &n.feature)
    }

    /// The flow of this graph. `watched[i]`: node `i`'s events go to `sink`. Returns the
    /// flow and the entry step of each data source.
    pub(crate) fn flow(&self, watched: &[bool], sink: &Sink) -> Result<(Flow, Vec<NodeRef>)> {
        let mut flow = Flow::new();
        let mut refs: Vec<NodeRef> = Vec::with_capacity(self.nodes.len());
        for node in &self.nodes {
            let schema = node.schema.clone();
            let r = match node.feature.definition() {
                _ if node.feature.is_label() => {
                    let f = Arc::new(RelabelFactory { schema });
                    flow.then_after_factory(&[refs[node.deps[0]]], &node.name, f)
                }
                Definition::Source(_) => flow.entry_factory(&node.name, Arc::new(PassFactory)),
                Definition::Feature(def) => {
                    let mut inputs: Vec<NodeRef> = Vec::new();
                    let mut routes: Vec<(u64, Vec<usize>)> = Vec::new();
                    for (slot, &d) in node.deps.iter().enumerate() {
                        let id = self.nodes[d].schema.id();
                        match routes.iter_mut().find(|(s, _)| *s == id) {
                            Some((_, slots)) => slots.push(slot),
                            None => {
                                routes.push((id, vec![slot]));
                                inputs.push(refs[d]);
                            }
                        }
                    }
                    let f = Arc::new(FeatureFactory {
                        name: Arc::from(node.name.as_str()),
                        def: def.clone(),
                        feature: node.feature.clone(),
                        inputs: node
                            .deps
                            .iter()
                            .map(|&d| self.nodes[d].feature.schema().clone())
                            .collect(),
                        schema,
                        routes,
                    });
                    flow.then_after_factory(&inputs, &node.name, f)
                }
            };
            refs.push(r);
            if watched[refs.len() - 1] {
                // the node's first outlet: its events reach the caller before anything
                // downstream of it runs
                let f = Arc::new(CollectFactory {
                    sink: sink.clone(),
                    node: (refs.len() - 1) as u32,
                });
                flow.then_after_factory(&[r], &format!("collect {}", node.name), f);
            }
        }
        let entries = self.sources.iter().map(|&i| refs[i]).collect();
        Ok((flow, entries))
    }
}

/// A data source's entry step: its events were checked against its schema before they were
/// pushed; the step passes them on.
struct PassFactory;
struct Pass;

impl StepFactory for PassFactory {
    fn build(&self, _: &BuildContext) -> rill_core::Result<Box<dyn Step>> {
        Ok(Box::new(Pass))
    }
}
impl Step for Pass {
    fn process(&mut self, event: Event, cx: &mut Cx) -> StepResult {
        cx.emit(event);
        Ok(())
    }
}

/// A label: the events of its unlabeled twin, re-stamped with the label's schema.
struct RelabelFactory {
    schema: Arc<Schema>,
}
struct Relabel {
    schema: Arc<Schema>,
}

impl StepFactory for RelabelFactory {
    fn build(&self, _: &BuildContext) -> rill_core::Result<Box<dyn Step>> {
        Ok(Box::new(Relabel {
            schema: self.schema.clone(),
        }))
    }
}
impl Step for Relabel {
    fn process(&mut self, mut event: Event, cx: &mut Cx) -> StepResult {
        if let Value::Record(rec) = &mut event.body {
            let values = rec.take_values();
            rec.reshape(self.schema.clone(), values);
        }
        cx.emit(event);
        Ok(())
    }
}

/// A feature node's step: each build instantiates the definition's logic afresh.
struct FeatureFactory {
    name: Arc<str>,
    def: Arc<dyn FeatureDefinition>,
    feature: Feature,
    inputs: Vec<EventSchema>,
    schema: Arc<Schema>,
    routes: Vec<(u64, Vec<usize>)>,
}

impl StepFactory for FeatureFactory {
    fn build(&self, _: &BuildContext) -> rill_core::Result<Box<dyn Step>> {
        let inputs: Vec<&EventSchema> = self.inputs.iter().collect();
        let logic = self
            .def
            .instantiate(self.feature.params(), &inputs)
            .map_err(|why| Error::config(format!("feature '{}': {why}", self.name)))?;
        Ok(Box::new(FeatureStep {
            name: self.name.clone(),
            logic,
            schema: self.schema.clone(),
            routes: self.routes.clone(),
            buf: Vec::new(),
        }))
    }
}

struct FeatureStep {
    name: Arc<str>,
    logic: Box<dyn crate::FeatureLogic>,
    schema: Arc<Schema>,
    /// Input schema id → the dependency slots fed by that node.
    routes: Vec<(u64, Vec<usize>)>,
    buf: Vec<Event>,
}

impl Step for FeatureStep {
    fn process(&mut self, event: Event, cx: &mut Cx) -> StepResult {
        let id = match &event.body {
            Value::Record(r) => r.schema().id(),
            _ => u64::MAX,
        };
        let Some((_, slots)) = self.routes.iter().find(|(s, _)| *s == id) else {
            let e = Error::user(format!(
                "feature '{}': an event from no dependency",
                self.name
            ));
            return Err(Failure::new(e, event));
        };
        for &slot in slots {
            let mut out = Output {
                schema: &self.schema,
                out: &mut self.buf,
            };
            if let Err(e) = self.logic.on_event(slot, &event, &mut out) {
                self.buf.clear();
                let e = e.context(format!("feature '{}'", self.name));
                return Err(Failure::new(e, event));
            }
        }
        for e in self.buf.drain(..) {
            cx.emit(e);
        }
        Ok(())
    }
}

/// A collector: a watched node's events into the sink, tagged with the node.
struct CollectFactory {
    sink: Sink,
    node: u32,
}
struct Collect {
    sink: Sink,
    node: u32,
}

impl StepFactory for CollectFactory {
    fn build(&self, _: &BuildContext) -> rill_core::Result<Box<dyn Step>> {
        Ok(Box::new(Collect {
            sink: self.sink.clone(),
            node: self.node,
        }))
    }
}
impl Step for Collect {
    fn process(&mut self, event: Event, _cx: &mut Cx) -> StepResult {
        self.sink.lock().push((self.node, event));
        Ok(())
    }
}
