//! Building a flow: a chain of steps with branches, routes, recovery chains and fan-in.

use crate::step::Step;
use rill_core::{Error, Result};

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

pub(crate) struct NodeSpec {
    pub name: String,
    pub step: Box<dyn Step>,
    /// Predecessors; `None` = the flow's source.
    pub inputs: Vec<Option<usize>>,
    /// Recovery chains: (error kind or None for any, first node of the chain).
    pub recovery: Vec<(Option<String>, usize)>,
}

/// A flow under construction: a graph of named steps.
///
/// Steps are appended after the current *tail*; [`Flow::branch`] hangs a side chain off the
/// tail (storey's nested list in `build_flow`), [`Flow::route`] adds a named outlet for a
/// `choice` step, [`Flow::recover`] a recovery chain for the last step.
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
        }
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

    fn push(&mut self, name: &str, step: Box<dyn Step>, inputs: Vec<Option<usize>>) -> usize {
        let name = self.unique_name(name);
        self.nodes.push(NodeSpec {
            name,
            step,
            inputs,
            recovery: Vec::new(),
        });
        self.nodes.len() - 1
    }

    /// Appends a step after the tail; it becomes the new tail.
    pub fn then(mut self, name: &str, step: impl Step + 'static) -> Flow {
        self.then_boxed(name, Box::new(step));
        self
    }

    /// Appends a boxed step after the tail (the YAML loader's entry point).
    pub fn then_boxed(&mut self, name: &str, step: Box<dyn Step>) -> NodeRef {
        let i = self.push(name, step, vec![self.tail]);
        self.tail = Some(i);
        NodeRef(i)
    }

    /// Appends a step fed by several earlier steps (fan-in). It terminates only after all of
    /// its inputs have terminated.
    pub fn then_after(mut self, inputs: &[NodeRef], name: &str, step: impl Step + 'static) -> Flow {
        if inputs.is_empty() {
            self.errors.push(format!(
                "step '{name}': then_after needs at least one input"
            ));
        }
        let i = self.push(
            name,
            Box::new(step),
            inputs.iter().map(|r| Some(r.0)).collect(),
        );
        self.tail = Some(i);
        self
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
    pub fn dead_letter(mut self, target: impl Step + 'static) -> Flow {
        self.set_dead_letter(Box::new(target));
        self
    }

    /// Boxed variant of [`Flow::dead_letter`].
    pub fn set_dead_letter(&mut self, target: Box<dyn Step>) {
        let i = self.push("dead_letter", target, Vec::new());
        self.dead_letter = Some(i);
    }

    /// Validates the graph (no cycles, outlets bound) and prepares it to run.
    pub fn build(self) -> Result<crate::runtime::Graph> {
        if let Some(e) = self.errors.first() {
            return Err(Error::config(e.clone()));
        }
        crate::runtime::Graph::new(self)
    }
}
