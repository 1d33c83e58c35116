//! What a [`Flow`] looks like: its steps and the edges between them, for drawing
//! (`rill graph`) and for tools that inspect a flow without running it.

use crate::flow::Flow;

/// A flow's shape: node `i` is the flow's `i`-th step (in the order they were added).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowView {
    /// Step names, unique within the flow.
    pub nodes: Vec<String>,
    /// Per node, the name it was added under: a route's first step is named after the route
    /// (`nodes`), and was added as, say, a target (`labels`).
    pub labels: Vec<String>,
    /// Every edge, in the flow's order.
    pub edges: Vec<FlowEdge>,
    /// The dead-letter target, which any step may feed.
    pub dead_letter: Option<usize>,
}

/// An edge of a [`FlowView`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowEdge {
    /// The node events come from; `None`: the flow's source.
    pub from: Option<usize>,
    /// The node they go to.
    pub to: usize,
    /// Plain data, or a recovery chain of `from`'s failures.
    pub kind: EdgeKind,
}

/// How events cross a [`FlowEdge`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EdgeKind {
    /// Every event the step emits (or, from a `choice`, those routed to this outlet).
    Data,
    /// Events the step failed on, with an error of this kind (`None`: any kind).
    Recovery(Option<String>),
}

impl Flow {
    /// The flow's steps and edges.
    ///
    /// ```
    /// use rill_flow::{Flow, steps, EdgeKind};
    /// use rill_core::Value;
    /// let flow = Flow::new()
    ///     .then("double", steps::Map::new(|v: &Value| v.clone()))
    ///     .then("keep", steps::Filter::new(|_| true));
    /// let view = flow.view();
    /// assert_eq!(view.nodes, ["double", "keep"]);
    /// assert_eq!((view.edges[1].from, view.edges[1].to), (Some(0), 1));
    /// assert_eq!(view.edges[1].kind, EdgeKind::Data);
    /// ```
    pub fn view(&self) -> FlowView {
        let mut edges = Vec::new();
        for (i, n) in self.nodes.iter().enumerate() {
            for from in &n.inputs {
                edges.push(FlowEdge {
                    from: *from,
                    to: i,
                    kind: EdgeKind::Data,
                });
            }
        }
        for (i, n) in self.nodes.iter().enumerate() {
            for (kind, first) in &n.recovery {
                edges.push(FlowEdge {
                    from: Some(i),
                    to: *first,
                    kind: EdgeKind::Recovery(kind.clone()),
                });
            }
        }
        FlowView {
            nodes: self.nodes.iter().map(|n| n.name.clone()).collect(),
            labels: self.nodes.iter().map(|n| n.label.clone()).collect(),
            edges,
            dead_letter: self.dead_letter,
        }
    }
}
