//! Drawing a pipeline's flow (`rill graph`): DOT text, and SVG laid out from it without
//! Graphviz installed (layout-rs).

use rill_core::{Error, Result};
use rill_flow::{EdgeKind, FlowView};

/// What a drawing shows besides the flow's own steps.
#[derive(Debug, Clone, Default)]
pub struct Drawing {
    /// The graph's title (the pipeline's name).
    pub title: String,
    /// The source's node label (`csv:data/clicks.csv`); `None`: a flow fed by `emit`.
    pub source: Option<String>,
    /// Names of the nodes that are targets (drawn apart from the steps).
    pub targets: Vec<String>,
    /// The dead-letter target's name, shown on its node.
    pub dead_letter: Option<String>,
}

/// The flow as a Graphviz DOT digraph: the source, one box per step, targets filled, the
/// edges into a route labelled with its name, recovery chains dashed with the error kind, the
/// dead-letter target dashed.
///
/// ```
/// use rill::graph_view::{flow_dot, Drawing};
/// use rill::flow::{steps, Flow};
/// let flow = Flow::new().then("keep", steps::Filter::new(|_| true));
/// let dot = flow_dot(&flow.view(), &Drawing { title: "p".into(), source: Some("csv:in.csv".into()), ..Default::default() });
/// assert!(dot.contains(r#"source -> n0;"#));
/// ```
pub fn flow_dot(view: &FlowView, drawing: &Drawing) -> String {
    let mut dot = format!("digraph \"{}\" {{\n", quote(&drawing.title));
    if let Some(s) = &drawing.source {
        dot.push_str(&format!(
            "  source [label=\"{}\", shape=box, style=filled, fillcolor=\"lightblue\"];\n",
            quote(s)
        ));
    }
    for (i, label) in view.labels.iter().enumerate() {
        let (label, look) = if view.dead_letter == Some(i) {
            let to = drawing.dead_letter.as_deref().unwrap_or(label);
            (format!("dead letters: {to}"), ", style=dashed")
        } else if drawing.targets.contains(label) {
            (label.clone(), ", style=filled, fillcolor=\"lightyellow\"")
        } else {
            (label.clone(), "")
        };
        dot.push_str(&format!(
            "  n{i} [label=\"{}\", shape=box{look}];\n",
            quote(&label)
        ));
    }
    for e in &view.edges {
        let from = match e.from {
            Some(f) => format!("n{f}"),
            None if drawing.source.is_some() => "source".to_string(),
            None => continue,
        };
        match &e.kind {
            // a route's first step is named after the route
            EdgeKind::Data if view.nodes[e.to] != view.labels[e.to] => dot.push_str(&format!(
                "  {from} -> n{} [label=\"{}\"];\n",
                e.to,
                quote(&view.nodes[e.to])
            )),
            EdgeKind::Data => dot.push_str(&format!("  {from} -> n{};\n", e.to)),
            EdgeKind::Recovery(kind) => dot.push_str(&format!(
                "  {from} -> n{} [label=\"recover: {}\", style=dashed];\n",
                e.to,
                quote(kind.as_deref().unwrap_or("any error"))
            )),
        }
    }
    dot.push_str("}\n");
    dot
}

/// Lays out a DOT digraph and renders it as SVG.
pub fn dot_to_svg(dot: &str) -> Result<String> {
    let mut parser = layout::gv::DotParser::new(dot);
    let graph = parser
        .process()
        .map_err(|e| Error::config(format!("the graph's DOT text does not parse: {e}")))?;
    let mut builder = layout::gv::GraphBuilder::new();
    builder.visit_graph(&graph);
    let mut visual = builder.get();
    let mut svg = layout::backends::svg::SVGWriter::new();
    visual.do_it(false, false, false, &mut svg);
    Ok(svg.finalize())
}

/// A label inside DOT double quotes: quotes become single quotes, backslashes slashes (the
/// SVG renderer does not read escapes), so any step name or path draws as written.
fn quote(s: &str) -> String {
    s.replace('"', "'").replace('\\', "/")
}
