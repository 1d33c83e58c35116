//! The YAML tree: values with the place they came from (a line and column of the file, or a
//! command-line argument), map keys in file order.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;
use std::sync::Arc;

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Origin {
    /// The pipeline file, 1-based line and column of the value's first character.
    File { line: u64, column: u64 },
    /// A command-line argument: `--set` (with its path) or `--input`.
    Arg {
        /// The argument as shown in messages: `--set steps.0.filter`, `--input`.
        shown: Arc<str>,
        /// The configuration path the argument sets (`steps.0.filter`).
        path: Arc<str>,
    },
}

impl Origin {
    /// The place as shown in messages: `file:line:column`, or the argument.
    pub fn place(&self, file: &str) -> String {
        match self {
            Origin::File { line, column } => format!("{file}:{line}:{column}"),
            Origin::Arg { shown, .. } => shown.to_string(),
        }
    }
}

/// One YAML value and where it came from.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub content: Content,
    pub origin: Origin,
}

/// The value of a [`Node`].
#[derive(Debug, Clone)]
pub(crate) enum Content {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    /// A string (quoted, or a plain scalar that is no number, boolean or null).
    Str(String),
    Seq(Vec<Node>),
    /// Entries in file order; keys keep their own place (an unknown option points at its key).
    Map(Vec<(Key, Node)>),
}

/// A map key and where it is.
#[derive(Debug, Clone)]
pub(crate) struct Key {
    pub name: String,
    pub origin: Origin,
}

impl Node {
    /// Parses one YAML document with YAML 1.2's core schema (only `true`/`false`, in any
    /// case, are booleans). `Err` is the message and, when known, the line and column.
    pub fn parse(text: &str) -> Result<Node, (String, Option<(u64, u64)>)> {
        if text.trim().is_empty() {
            return Ok(Node {
                content: Content::Null,
                origin: Origin::File { line: 1, column: 1 },
            });
        }
        let mut options = serde_saphyr::Options::default();
        options.strict_booleans = true;
        serde_saphyr::from_str_with_options::<Node>(text, options).map_err(|e| {
            use serde_saphyr::MessageFormatter;
            let msg = serde_saphyr::UserMessageFormatter
                .format_message(&e)
                .into_owned();
            let at = e
                .location()
                .filter(|l| l.line() > 0)
                .map(|l| (l.line(), l.column()));
            (msg, at)
        })
    }

    /// A string node placed at `origin`.
    pub fn str(s: &str, origin: Origin) -> Node {
        Node {
            content: Content::Str(s.to_string()),
            origin,
        }
    }

    /// Gives this node and every node below it (keys too) the place `origin`.
    pub fn set_origin(&mut self, origin: &Origin) {
        self.origin = origin.clone();
        match &mut self.content {
            Content::Seq(items) => items.iter_mut().for_each(|n| n.set_origin(origin)),
            Content::Map(entries) => {
                for (k, v) in entries {
                    k.origin = origin.clone();
                    v.set_origin(origin);
                }
            }
            _ => {}
        }
    }

    /// The deepest node on the dotted `path` that exists, with the part of the path that led
    /// to it (`""` for this node).
    pub fn find<'a>(&'a self, path: &str) -> (&'a Node, String) {
        let mut node = self;
        let mut found = String::new();
        for part in path.split('.').filter(|p| !p.is_empty()) {
            let next = match &node.content {
                Content::Map(entries) => entries.iter().find(|(k, _)| k.name == part).map(|e| &e.1),
                Content::Seq(items) => part.parse::<usize>().ok().and_then(|i| items.get(i)),
                _ => None,
            };
            let Some(next) = next else { break };
            node = next;
            if !found.is_empty() {
                found.push('.');
            }
            found.push_str(part);
        }
        (node, found)
    }

    /// The node at exactly `path`, if there is one.
    pub fn get(&self, path: &str) -> Option<&Node> {
        let (node, found) = self.find(path);
        (found == path.trim_matches('.')).then_some(node)
    }

    /// The node at exactly `path`, to change it.
    pub fn get_mut(&mut self, path: &str) -> Option<&mut Node> {
        let mut node = self;
        for part in path.split('.').filter(|p| !p.is_empty()) {
            node = match &mut node.content {
                Content::Map(entries) => &mut entries.iter_mut().find(|(k, _)| k.name == part)?.1,
                Content::Seq(items) => items.get_mut(part.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(node)
    }

    /// Describes the content for messages: `a map`, `a list`, `the text "x"`, …
    pub fn describe(&self) -> String {
        match &self.content {
            Content::Null => "nothing (null)".into(),
            Content::Bool(b) => format!("{b}"),
            Content::Int(i) => format!("the number {i}"),
            Content::UInt(u) => format!("the number {u}"),
            Content::Float(f) => format!("the number {f}"),
            Content::Str(s) => format!(
                "the text \"{}\"",
                rill_core::shorten(s, super::wording::QUOTED)
            ),
            Content::Seq(_) => "a list".into(),
            Content::Map(_) => "a map".into(),
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Node, D::Error> {
        let s = Spanned::<Content>::deserialize(d)?;
        Ok(Node {
            content: s.value,
            origin: file_origin(&s.referenced),
        })
    }
}

fn file_origin(l: &serde_saphyr::Location) -> Origin {
    Origin::File {
        line: l.line(),
        column: l.column(),
    }
}

impl<'de> Deserialize<'de> for Content {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Content, D::Error> {
        d.deserialize_any(ContentVisitor)
    }
}

struct ContentVisitor;

impl<'de> Visitor<'de> for ContentVisitor {
    type Value = Content;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Content, E> {
        Ok(Content::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Content, E> {
        Ok(Content::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Content, D::Error> {
        Content::deserialize(d)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Content, E> {
        Ok(Content::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Content, E> {
        Ok(Content::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Content, E> {
        Ok(match i64::try_from(v) {
            Ok(i) => Content::Int(i),
            Err(_) => Content::UInt(v),
        })
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Content, E> {
        i64::try_from(v)
            .map(Content::Int)
            .map_err(|_| E::custom(format!("the number {v} is too large")))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Content, E> {
        u64::try_from(v)
            .map_err(|_| E::custom(format!("the number {v} is too large")))
            .and_then(|u| self.visit_u64(u))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Content, E> {
        Ok(Content::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Content, E> {
        Ok(Content::Str(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Content, E> {
        Ok(Content::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Content, A::Error> {
        let mut items = Vec::new();
        while let Some(n) = seq.next_element::<Node>()? {
            items.push(n);
        }
        Ok(Content::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Content, A::Error> {
        let mut entries = Vec::new();
        while let Some(k) = map.next_key::<Spanned<String>>()? {
            let v = map.next_value::<Node>()?;
            entries.push((
                Key {
                    name: k.value,
                    origin: file_origin(&k.referenced),
                },
                v,
            ));
        }
        Ok(Content::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(n: &Node) -> (u64, u64) {
        match n.origin {
            Origin::File { line, column } => (line, column),
            _ => panic!("not from the file"),
        }
    }

    #[test]
    fn values_keep_their_line_and_column() {
        let t = Node::parse("source:\n  csv: {path: x.csv, key: user}\nsteps:\n  - filter: \"a > 1\"\n  - map: 10\n").unwrap();
        assert_eq!(at(t.get("source.csv.key").unwrap()), (2, 27));
        assert_eq!(at(t.get("steps.0.filter").unwrap()), (4, 13));
        assert!(matches!(
            t.get("steps.1.map").unwrap().content,
            Content::Int(10)
        ));
        let Content::Map(entries) = &t.get("source.csv").unwrap().content else {
            panic!("a map")
        };
        assert_eq!(
            at(&Node {
                content: Content::Null,
                origin: entries[1].0.origin.clone()
            }),
            (2, 22)
        );
        assert_eq!(t.find("steps.0.filter.expr").1, "steps.0.filter");
        assert_eq!(t.find("nothing.here").1, "");
    }

    #[test]
    fn yaml_1_2_booleans_and_syntax_errors() {
        let t = Node::parse("a: yes\nb: True\n").unwrap();
        assert!(matches!(&t.get("a").unwrap().content, Content::Str(s) if s == "yes"));
        assert!(matches!(t.get("b").unwrap().content, Content::Bool(true)));
        let (msg, at) = Node::parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(at.is_some(), "{msg}");
        let (msg, _) = Node::parse("a: 1\na: 2\n").unwrap_err();
        assert!(msg.contains("duplicate"), "{msg}");
    }
}
