//! Building a flow: a chain of steps with branches, routes, recovery chains and fan-in.

use crate::build_context::BuildContext;
use crate::graph::Graph;
use crate::step::Step;
use crate::step_factory::{FnFactory, Prototype, StepFactory};
use rill_core::{Error, Result};
use std::sync::Arc;

/// A reference to a step already added to a [`Flow`] (for fan-in with [`Flow::then_after`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeRef(pub(crate) usize);

/// What to do with an event whose processing failed and that no recovery step handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorPolicy {
    /// Stop the flow with the error (storey's default). Awaitable results and
    /// `await_termination` return it; `rill run` exits non-zero with the message.
    #[default]
    Fail,
    /// Hand the event and its error to the dead-letter target (or report it on stderr when the
    /// flow has none), count it, and keep going.
    DeadLetter,
}

#[derive(Clone)]
pub(crate) struct NodeSpec {
    pub name: String,
    /// The name the step was added under (a route's first step is renamed after the route).
    pub label: String,
    pub step: Arc<dyn StepFactory>,
    /// Predecessors; `None` = the flow's source.
    pub inputs: Vec<Option<usize>>,
    /// Recovery chains: (error kind or None for any, first node of the chain).
    pub recovery: Vec<(Option<String>, usize)>,
}

/// A flow: a description of a graph of named steps, built into a runnable [`Graph`] by
/// [`Flow::build`] as many times as wanted (each build's steps start afresh).
///
/// Steps are appended after the current *tail*; [`Flow::branch`] hangs a side chain off the
/// tail (storey's nested list in `build_flow`), [`Flow::route`] adds a named outlet for a
/// `choice` step, [`Flow::recover`] a recovery chain for the last step. A step is given as a
/// value ([`Flow::then`], cloned at each build) or as a factory ([`Flow::then_with`]: for steps
/// that open files or use tables).
///
/// ```
/// use rill_flow::{Flow, steps};
/// use rill_core::{Event, Value};
/// let flow = Flow::new()
///     .then("double", steps::Map::new(|v: &Value| Value::Int(v.as_i64().unwrap_or(0) * 2)))
///     .then("sum", steps::Reduce::new(Value::Int(0), |acc: Value, v: &Value| {
///         Ok(Value::Int(acc.as_i64().unwrap_or(0) + v.as_i64().unwrap_or(0)))
///     }));
/// let out = flow.run_events((0..4).map(|i| Event::new(Value::Int(i)))).unwrap();
/// assert_eq!(out.result, Some(Value::Int(12)));
/// ```
pub struct Flow {
    pub(crate) nodes: Vec<NodeSpec>,
    pub(crate) tail: Option<usize>,
    pub(crate) policy: ErrorPolicy,
    pub(crate) dead_letter: Option<usize>,
    pub(crate) errors: Vec<String>,
    /// What the steps are built with (the tables they find by name).
    pub(crate) cx: BuildContext,
}

impl Default for Flow {
    fn default() -> Self {
        Flow::new()
    }
}

impl Flow {
    /// An empty flow: the next step added reads from the source.
    pub fn new() -> Flow {
        Flow {
            nodes: Vec::new(),
            tail: None,
            policy: ErrorPolicy::Fail,
            dead_letter: None,
            errors: Vec::new(),
            cx: BuildContext::default(),
        }
    }

    /// Builds the steps with `cx` (its tables) instead of a context of the flow's own.
    pub fn context(mut self, cx: BuildContext) -> Flow {
        self.cx = cx;
        self
    }

    /// The context the steps are built with.
    pub fn build_context(&self) -> &BuildContext {
        &self.cx
    }

    pub(crate) fn unique_name(&self, name: &str) -> String {
        if !self.nodes.iter().any(|n| n.name == name) {
            return name.to_string();
        }
        (2..)
            .map(|i| format!("{name}_{i}"))
            .find(|c| !self.nodes.iter().any(|n| &n.name == c))
            .expect("unbounded")
    }

    fn push(
        &mut self,
        name: &str,
        step: Arc<dyn StepFactory>,
        inputs: Vec<Option<usize>>,
    ) -> usize {
        let label = name.to_string();
        let name = self.unique_name(name);
        self.nodes.push(NodeSpec {
            name,
            label,
            step,
            inputs,
            recovery: Vec::new(),
        });
        self.nodes.len() - 1
    }

    /// Appends a step after the tail; it becomes the new tail. Each build of the flow runs a
    /// clone of `step`.
    pub fn then<S: Step + Clone + 'static>(mut self, name: &str, step: S) -> Flow {
        self.then_factory(name, prototype(step));
        self
    }

    /// Appends a step made by `build` at each build of the flow (see [`StepFactory`]).
    pub fn then_with<F>(mut self, name: &str, build: F) -> Flow
    where
        F: Fn(&BuildContext) -> Result<Box<dyn Step>> + Send + Sync + 'static,
    {
        self.then_factory(name, Arc::new(FnFactory(build)));
        self
    }

    /// Appends a step's factory after the tail (the YAML loader's entry point).
    pub fn then_factory(&mut self, name: &str, step: Arc<dyn StepFactory>) -> NodeRef {
        let i = self.push(name, step, vec![self.tail]);
        self.tail = Some(i);
        NodeRef(i)
    }

    /// Appends a step fed by several earlier steps (fan-in). It terminates only after all of
    /// its inputs have terminated.
    pub fn then_after<S: Step + Clone + 'static>(
        mut self,
        inputs: &[NodeRef],
        name: &str,
        step: S,
    ) -> Flow {
        if inputs.is_empty() {
            self.errors.push(format!(
                "step '{name}': then_after needs at least one input"
            ));
        }
        let i = self.push(
            name,
            prototype(step),
            inputs.iter().map(|r| Some(r.0)).collect(),
        );
        self.tail = Some(i);
        self
    }

    /// [`Flow::then_after`] with a factory: a step fed by several earlier steps, made by
    /// `step` at each build. Returns its reference (it also becomes the tail).
    pub fn then_after_factory(
        &mut self,
        inputs: &[NodeRef],
        name: &str,
        step: Arc<dyn StepFactory>,
    ) -> NodeRef {
        if inputs.is_empty() {
            self.errors.push(format!(
                "step '{name}': then_after needs at least one input"
            ));
        }
        let i = self.push(name, step, inputs.iter().map(|r| Some(r.0)).collect());
        self.tail = Some(i);
        NodeRef(i)
    }

    /// Adds an *entry* step: one that reads neither the flow's source nor another step, only
    /// the events a caller pushes into it with [`Graph::push_at`]. A flow with several inputs
    /// (a feature graph: one entry per data source) gives each its own entry instead of
    /// routing one source by a tag. The tail is left as it was.
    ///
    /// ```
    /// use rill_flow::{Flow, Step, steps, step_factory};
    /// use rill_core::{Event, Value};
    /// let mut flow = Flow::new();
    /// let a = flow.entry_factory("a", step_factory::from_fn(|_| {
    ///     Ok(Box::new(steps::Map::new(|v: &Value| Value::Int(v.as_i64().unwrap() * 10))) as Box<dyn Step>)
    /// }));
    /// let mut graph = flow.build().unwrap();
    /// graph.push_at(a, Event::new(Value::Int(4))).unwrap();
    /// assert_eq!(graph.step_names(), vec!["a"]);
    /// graph.finish().unwrap();
    /// ```
    pub fn entry_factory(&mut self, name: &str, step: Arc<dyn StepFactory>) -> NodeRef {
        NodeRef(self.push(name, step, Vec::new()))
    }

    /// The current tail (to use as a fan-in input later).
    pub fn tail(&self) -> Option<NodeRef> {
        self.tail.map(NodeRef)
    }

    /// Hangs a side chain off the tail: every event reaching the tail also goes down the
    /// branch (as a copy). The main chain continues from the same tail.
    pub fn branch(mut self, build: impl FnOnce(Flow) -> Flow) -> Flow {
        let tail = self.tail;
        self = build(self);
        self.tail = tail;
        self
    }

    /// Adds a named outlet to the tail (a `choice` step selects outlets by these names). The
    /// first step of `build` is named `name`.
    pub fn route(mut self, name: &str, build: impl FnOnce(Flow) -> Flow) -> Flow {
        let tail = self.tail;
        let first = self.nodes.len();
        self = build(self);
        // `<=`: a builder that failed may hand back another (empty) flow, whose error the caller
        // reports; indexing below would panic on it
        if self.nodes.len() <= first {
            self.errors
                .push(format!("route '{name}' has no steps or targets"));
        } else {
            let taken = self.nodes[..first].iter().any(|n| n.name == name);
            if taken {
                self.errors
                    .push(format!("route name '{name}' is already the name of a step"));
            }
            self.nodes[first].name = name.to_string();
        }
        self.tail = tail;
        self
    }

    /// Adds a recovery chain to the tail step: an event on which that step fails (with an error
    /// of `kind`, or any kind when `None`) goes to this chain instead of the error policy, with
    /// the error attached (`Event::error`). Kinds: `field`, `expr`, `user`, `io`, `table`…
    pub fn recover(mut self, kind: Option<&str>, build: impl FnOnce(Flow) -> Flow) -> Flow {
        let Some(owner) = self.tail else {
            self.errors.push("recover() needs a step to recover".into());
            return self;
        };
        let first = self.nodes.len();
        self.tail = None;
        self = build(self);
        if self.nodes.len() <= first {
            // (`<=` and `get`: as in `route`, the builder may hand back another flow)
            let owner = self.nodes.get(owner).map_or("?", |n| n.name.as_str());
            let e = format!("recovery chain of step '{owner}' has no steps or targets");
            self.errors.push(e);
        } else {
            // the chain's first step reads only recovered events, not the source
            self.nodes[first].inputs.clear();
            self.nodes[owner]
                .recovery
                .push((kind.map(str::to_string), first));
        }
        self.tail = Some(owner);
        self
    }

    /// Sets the error policy for failures no recovery step handles.
    pub fn error_policy(mut self, policy: ErrorPolicy) -> Flow {
        self.policy = policy;
        self
    }

    /// Sets the dead-letter target (used with [`ErrorPolicy::DeadLetter`]). It receives one
    /// event per failure whose body is `{error, step, record, key, body}`.
    pub fn dead_letter<S: Step + Clone + 'static>(mut self, target: S) -> Flow {
        self.set_dead_letter(prototype(target));
        self
    }

    /// [`Flow::dead_letter`] with a factory.
    pub fn set_dead_letter(&mut self, target: Arc<dyn StepFactory>) {
        let i = self.push("dead_letter", target, Vec::new());
        self.dead_letter = Some(i);
    }

    /// Validates the graph (no cycles, outlets bound) and builds a runnable instance of it.
    pub fn build(&self) -> Result<Graph> {
        self.build_in(&self.cx)
    }

    /// [`Flow::build`] with the steps' tables taken from `cx` (a worker's copies of them).
    pub fn build_in(&self, cx: &BuildContext) -> Result<Graph> {
        if let Some(e) = self.errors.first() {
            return Err(Error::config(e.clone()));
        }
        let steps = self
            .nodes
            .iter()
            .map(|n| n.step.build(cx))
            .collect::<Result<Vec<_>>>()?;
        Graph::new(self, steps)
    }

    /// The flow of this one's first `n` steps (a chain from the source, none of which refers
    /// to a later step), with the same context: what a worker of a sharded run builds.
    pub fn prefix(&self, n: usize) -> Result<Flow> {
        let nodes = self.nodes.get(..n).unwrap_or(&self.nodes);
        let later = |i: &usize| *i >= n;
        let outside = nodes.iter().any(|s| {
            s.inputs.iter().flatten().any(later) || s.recovery.iter().map(|(_, r)| r).any(later)
        });
        if outside || nodes.len() < n || self.dead_letter.is_some_and(|d| d < n) {
            return Err(Error::config(format!(
                "the flow's first {n} steps are not a chain that can run on its own"
            )));
        }
        Ok(Flow {
            nodes: nodes.to_vec(),
            tail: n.checked_sub(1),
            policy: self.policy,
            dead_letter: None,
            errors: self.errors.clone(),
            cx: self.cx.clone(),
        })
    }
}

fn prototype<S: Step + Clone + 'static>(step: S) -> Arc<dyn StepFactory> {
    Arc::new(Prototype(parking_lot::Mutex::new(step)))
}
