//! `--set PATH=VALUE`: a change to one value of a pipeline file, given on the command line.
//!
//! The value is read as YAML when it is a YAML scalar (a number, `true`/`false`, `null`, quoted
//! or plain text) or a flow collection (`[a, b]`, `{k: v}`); a value that does not parse so,
//! or that does not fit the option it sets, is taken verbatim as text. So an expression needs
//! no extra quoting: `--set 'steps.0.filter=click > 0'`, `--set 'steps.1.extend={total: a + b}'`.

use crate::yaml::{Content, Node, Origin};
use rill_core::{Error, Result};
use std::sync::Arc;

/// A command-line override: a dotted path into the pipeline file and a value,
/// e.g. `source.csv.path=data/other.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    /// Dotted path; list items by index (`targets.0.csv.path`).
    pub path: String,
    /// The new value as given: read as YAML when it is a scalar or a flow list/map, else (or
    /// when that does not fit the option) taken as text.
    pub value: String,
}

impl std::str::FromStr for Override {
    type Err = Error;
    fn from_str(s: &str) -> Result<Override> {
        let bad = || {
            Error::config(format!(
                "--set {s}: expected PATH=VALUE, e.g. --set source.csv.path=data/other.csv"
            ))
        };
        let (p, v) = s.split_once('=').ok_or_else(bad)?;
        let path = p.trim();
        if path.is_empty() || path.split('.').any(str::is_empty) {
            return Err(bad());
        }
        Ok(Override {
            path: path.to_string(),
            value: v.to_string(),
        })
    }
}

impl Override {
    /// Where this override's values come from, in messages: `--set steps.0.filter`.
    pub(crate) fn origin(&self) -> Origin {
        Origin::Arg {
            shown: Arc::from(format!("--set {}", self.path)),
            path: Arc::from(self.path.as_str()),
        }
    }

    /// The value as a tree: read as YAML (scalars and flow collections), or verbatim text when
    /// it does not read so or when `verbatim`.
    pub(crate) fn node(&self, verbatim: bool) -> Node {
        let origin = self.origin();
        if verbatim {
            return Node::str(&self.value, origin);
        }
        let t = self.value.trim_start();
        let flow = t.starts_with('[') || t.starts_with('{');
        match Node::parse(&self.value) {
            // block collections (`a: b`, `- x`) are text: expressions contain `: ` and `- `
            Ok(Node {
                content: Content::Seq(_) | Content::Map(_),
                ..
            }) if !flow => Node::str(&self.value, origin),
            Ok(mut n) => {
                n.set_origin(&origin);
                n
            }
            Err(_) => Node::str(&self.value, origin),
        }
    }

    /// True when reading the value as YAML gives something other than its text (so taking it
    /// verbatim is a different choice worth trying).
    pub(crate) fn is_read_as_yaml(&self) -> bool {
        !matches!(&self.node(false).content, Content::Str(s) if *s == self.value)
    }

    /// True when the configuration path `path` is this override's value or inside it.
    pub(crate) fn covers(&self, path: &str) -> bool {
        path == self.path
            || path
                .strip_prefix(self.path.as_str())
                .is_some_and(|rest| rest.starts_with('.'))
    }

    /// Sets the value in `tree`: maps on the way are created, list items must exist.
    pub(crate) fn apply(&self, tree: &mut Node, verbatim: bool) -> Result<()> {
        let value = self.node(verbatim);
        let origin = self.origin();
        let fail = |msg: String| Error::Located {
            place: origin.place(""),
            path: None,
            inner: Box::new(Error::config(msg)),
        };
        let parts: Vec<&str> = self.path.split('.').collect();
        let mut node = tree;
        let mut at = String::new();
        for (i, part) in parts.iter().enumerate() {
            let last = i + 1 == parts.len();
            let here = if at.is_empty() {
                "the top level".to_string()
            } else {
                at.clone()
            };
            if matches!(node.content, Content::Null) {
                // an absent or empty value becomes a list (`steps.0`) or a map of what is set
                // below it
                node.content = if part.parse::<usize>().is_ok() {
                    Content::Seq(Vec::new())
                } else {
                    Content::Map(Vec::new())
                };
            }
            let describe = node.describe();
            node = match &mut node.content {
                Content::Map(entries) => {
                    let pos = match entries.iter().position(|(k, _)| k.name == *part) {
                        Some(p) => p,
                        None => {
                            entries.push((
                                crate::yaml::Key {
                                    name: part.to_string(),
                                    origin: origin.clone(),
                                },
                                Node {
                                    content: Content::Null,
                                    origin: origin.clone(),
                                },
                            ));
                            entries.len() - 1
                        }
                    };
                    &mut entries[pos].1
                }
                Content::Seq(items) => {
                    let len = items.len();
                    let idx: usize = part.parse().map_err(|_| {
                        fail(format!(
                            "{here} is a list: \"{part}\" is not an item number (0 to {})",
                            len.saturating_sub(1)
                        ))
                    })?;
                    if idx == len {
                        // one past the end appends an item: `--set targets.1={csv: …}`
                        items.push(Node {
                            content: Content::Null,
                            origin: origin.clone(),
                        });
                    }
                    items.get_mut(idx).ok_or_else(|| {
                        fail(match len {
                            0 => format!(
                                "{here} is an empty list: there is no item {idx} (0 adds the first)"
                            ),
                            1 => format!(
                                "{here} has 1 item (0): there is no item {idx} (1 adds one)"
                            ),
                            _ => format!(
                                "{here} has {len} items (0 to {}): there is no item {idx} ({len} adds one)",
                                len - 1
                            ),
                        })
                    })?
                }
                _ => {
                    return Err(fail(format!(
                        "{here} is {describe}, not a map or a list: it has no \"{part}\""
                    )))
                }
            };
            if !at.is_empty() {
                at.push('.');
            }
            at.push_str(part);
            if last {
                *node = value;
                return Ok(());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(s: &str) -> Override {
        s.parse().unwrap()
    }

    #[test]
    fn values_read_as_yaml_unless_they_are_expressions() {
        let text = |o: Override| match o.node(false).content {
            Content::Str(s) => Some(s),
            _ => None,
        };
        assert_eq!(
            text(set("steps.0.filter=click > 0")).as_deref(),
            Some("click > 0")
        );
        assert_eq!(
            text(set("steps.0.filter='a' == x")).as_deref(),
            Some("'a' == x")
        );
        assert_eq!(
            text(set("steps.0.map=body + {a: 1}")).as_deref(),
            Some("body + {a: 1}")
        );
        assert!(matches!(
            set("batch_size=10").node(false).content,
            Content::Int(10)
        ));
        assert!(matches!(
            set("x=[a, b]").node(false).content,
            Content::Seq(_)
        ));
        assert!(matches!(
            set("x={a: 1}").node(false).content,
            Content::Map(_)
        ));
        assert!(set("x={a: 1}").is_read_as_yaml());
        assert!(!set("x=a > 1").is_read_as_yaml());
        assert!(set("steps.0=x").covers("steps.0.filter"));
        assert!(!set("steps.0=x").covers("steps.01"));
    }

    #[test]
    fn paths_that_cannot_be_set_are_explained() {
        let mut tree = Node::parse("steps:\n  - filter: a\ntargets: []\n").unwrap();
        let err = |o: &str, tree: &mut Node| set(o).apply(tree, false).unwrap_err().to_string();
        assert_eq!(
            err("steps.3.filter=x", &mut tree),
            "--set steps.3.filter: steps has 1 item (0): there is no item 3 (1 adds one)"
        );
        assert_eq!(
            err("steps.first=x", &mut tree),
            "--set steps.first: steps is a list: \"first\" is not an item number (0 to 0)"
        );
        assert_eq!(
            err("steps.0.filter.expr=x", &mut tree),
            "--set steps.0.filter.expr: steps.0.filter is the text \"a\", not a map or a list: it has no \"expr\""
        );
        assert_eq!(
            err("targets.1.csv.path=x", &mut tree),
            "--set targets.1.csv.path: targets is an empty list: there is no item 1 (0 adds the first)"
        );
        set("targets.0.csv.path=x").apply(&mut tree, false).unwrap();
        assert!(tree.get("targets.0.csv.path").is_some());
        set("sinks.0.csv.path=x").apply(&mut tree, false).unwrap();
        assert!(matches!(
            tree.get("sinks").unwrap().content,
            Content::Seq(_)
        ));
        set("tables.t.url=memory://")
            .apply(&mut tree, false)
            .unwrap();
        assert!(tree.get("tables.t.url").is_some());
        assert!("nothing".parse::<Override>().is_err());
    }
}
