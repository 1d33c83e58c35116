//! The typed configuration from a [`Node`] tree: a serde `Deserializer` that knows the path
//! and place of every value, so an error is placed at the innermost value it concerns.

use super::error::DeError;
use super::node::{Content, Key, Node, Origin};
use super::wording::kind_noun;
use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, Visitor};

/// Deserializes `T` from the tree.
pub(crate) fn deserialize<T: DeserializeOwned>(root: &Node) -> Result<T, DeError> {
    T::deserialize(NodeDe {
        node: root,
        path: String::new(),
    })
}

fn child(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

/// Deserializes one node; `path` is its dotted path.
struct NodeDe<'a> {
    node: &'a Node,
    path: String,
}

impl NodeDe<'_> {
    fn seq(&self) -> Option<SeqDe<'_>> {
        match &self.node.content {
            Content::Seq(items) => Some(SeqDe {
                items: items.iter().enumerate(),
                path: &self.path,
            }),
            _ => None,
        }
    }
    fn map(&self) -> Option<MapDe<'_>> {
        match &self.node.content {
            Content::Map(entries) => Some(MapDe {
                entries: entries.iter(),
                value: None,
                path: &self.path,
            }),
            _ => None,
        }
    }
}

impl<'de> de::Deserializer<'de> for NodeDe<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        let r = match &self.node.content {
            Content::Null => v.visit_unit(),
            Content::Bool(b) => v.visit_bool(*b),
            Content::Int(i) => v.visit_i64(*i),
            Content::UInt(u) => v.visit_u64(*u),
            Content::Float(f) => v.visit_f64(*f),
            Content::Str(s) => v.visit_str(s),
            Content::Seq(_) => v.visit_seq(self.seq().expect("a list")),
            Content::Map(_) => v.visit_map(self.map().expect("a map")),
        };
        r.map_err(|e: DeError| e.place(&self.path, &self.node.origin))
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match self.node.content {
            Content::Null => v
                .visit_none()
                .map_err(|e: DeError| e.place(&self.path, &self.node.origin)),
            _ => {
                let (path, origin) = (self.path.clone(), self.node.origin.clone());
                v.visit_some(self).map_err(|e| e.place(&path, &origin))
            }
        }
    }

    /// Text options take numbers and booleans as written (`name: 2024`).
    fn deserialize_str<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        let text = match &self.node.content {
            Content::Bool(b) => b.to_string(),
            Content::Int(i) => i.to_string(),
            Content::UInt(u) => u.to_string(),
            Content::Float(f) => f.to_string(),
            _ => return self.deserialize_any(v),
        };
        v.visit_string(text)
            .map_err(|e: DeError| e.place(&self.path, &self.node.origin))
    }

    fn deserialize_string<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_str(v)
    }

    fn deserialize_char<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_str(v)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        v: V,
    ) -> Result<V::Value, DeError> {
        let (path, origin) = (self.path.clone(), self.node.origin.clone());
        v.visit_newtype_struct(self)
            .map_err(|e| e.place(&path, &origin))
    }

    fn deserialize_unit<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match &self.node.content {
            Content::Null => v.visit_unit(),
            Content::Map(m) if m.is_empty() => v.visit_unit(),
            _ => return self.deserialize_any(v),
        }
        .map_err(|e: DeError| e.place(&self.path, &self.node.origin))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, DeError> {
        let r = match &self.node.content {
            Content::Str(s) => v.visit_enum(EnumDe {
                key: s,
                key_origin: &self.node.origin,
                value: None,
                path: &self.path,
            }),
            Content::Map(entries) if entries.len() == 1 => {
                let (k, value) = &entries[0];
                v.visit_enum(EnumDe {
                    key: &k.name,
                    key_origin: &k.origin,
                    value: Some(value),
                    path: &self.path,
                })
            }
            Content::Map(entries) => {
                let keys: Vec<&str> = entries.iter().map(|(k, _)| k.name.as_str()).collect();
                Err(DeError::text(format!(
                    "expected one {} (one of {}), found {}",
                    kind_noun(name),
                    variants.join(", "),
                    if keys.is_empty() {
                        "an empty map".to_string()
                    } else {
                        format!("{}: {}", keys.len(), keys.join(", "))
                    }
                )))
            }
            _ => Err(DeError::text(format!(
                "expected a {} (one of {}), found {}",
                kind_noun(name),
                variants.join(", "),
                self.node.describe()
            ))),
        };
        r.map_err(|e| e.noun(name).place(&self.path, &self.node.origin))
    }

    /// Options are a map (an empty value is an empty map); a list is not taken for the
    /// fields in order, as serde would.
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, DeError> {
        match &self.node.content {
            Content::Map(_) => v.visit_map(self.map().expect("a map")),
            Content::Null => v.visit_map(MapDe {
                entries: [].iter(),
                value: None,
                path: &self.path,
            }),
            _ => Err(DeError::text(format!(
                "expected a map of options, found {}",
                self.node.describe()
            ))),
        }
        .map_err(|e: DeError| e.place(&self.path, &self.node.origin))
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        v.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 bytes byte_buf
        unit_struct seq tuple tuple_struct map identifier
    }
}

struct SeqDe<'a> {
    items: std::iter::Enumerate<std::slice::Iter<'a, Node>>,
    path: &'a str,
}

impl<'de> de::SeqAccess<'de> for SeqDe<'_> {
    type Error = DeError;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        match self.items.next() {
            None => Ok(None),
            Some((i, node)) => {
                let path = child(self.path, &i.to_string());
                // a type that checks its value after reading it (`ops: [cnt]`) fails here
                seed.deserialize(NodeDe {
                    node,
                    path: path.clone(),
                })
                .map(Some)
                .map_err(|e| e.place(&path, &node.origin))
            }
        }
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct MapDe<'a> {
    entries: std::slice::Iter<'a, (Key, Node)>,
    value: Option<(&'a Key, &'a Node)>,
    path: &'a str,
}

impl<'de> de::MapAccess<'de> for MapDe<'_> {
    type Error = DeError;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        let Some((k, v)) = self.entries.next() else {
            return Ok(None);
        };
        self.value = Some((k, v));
        // an unknown key is placed at the key, with the path of the map that holds it
        seed.deserialize(k.name.as_str().into_deserializer())
            .map(Some)
            .map_err(|e: DeError| e.place(self.path, &k.origin))
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let (k, node) = self.value.take().expect("a key before its value");
        let path = child(self.path, &k.name);
        seed.deserialize(NodeDe {
            node,
            path: path.clone(),
        })
        .map_err(|e| e.place(&path, &node.origin))
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// An externally tagged enum: a name (`every_event`) or a one-key map (`csv: {…}`).
struct EnumDe<'a> {
    key: &'a str,
    key_origin: &'a Origin,
    value: Option<&'a Node>,
    path: &'a str,
}

impl<'de, 'a> de::EnumAccess<'de> for EnumDe<'a> {
    type Error = DeError;
    type Variant = VariantDe<'a>;
    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, VariantDe<'a>), DeError> {
        let v = seed
            .deserialize(self.key.into_deserializer())
            .map_err(|e: DeError| e.place(self.path, self.key_origin))?;
        Ok((
            v,
            VariantDe {
                key: self.key,
                value: self.value,
                path: child(self.path, self.key),
            },
        ))
    }
}

struct VariantDe<'a> {
    key: &'a str,
    value: Option<&'a Node>,
    path: String,
}

impl VariantDe<'_> {
    fn value(&self) -> Result<NodeDe<'_>, DeError> {
        match self.value {
            Some(node) => Ok(NodeDe {
                node,
                path: self.path.clone(),
            }),
            None => Err(DeError::text(format!(
                "\"{}\" needs options: write `{}: {{…}}`",
                self.key, self.key
            ))),
        }
    }
}

impl<'de> de::VariantAccess<'de> for VariantDe<'_> {
    type Error = DeError;
    fn unit_variant(self) -> Result<(), DeError> {
        match self.value {
            None => Ok(()),
            Some(Node {
                content: Content::Null,
                ..
            }) => Ok(()),
            Some(node) => Err(DeError::text(format!(
                "\"{}\" takes no options, found {}",
                self.key,
                node.describe()
            ))
            .place(&self.path, &node.origin)),
        }
    }
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, DeError> {
        seed.deserialize(self.value()?)
    }
    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, v: V) -> Result<V::Value, DeError> {
        de::Deserializer::deserialize_seq(self.value()?, v)
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, DeError> {
        de::Deserializer::deserialize_map(self.value()?, v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Opts {
        path: String,
        #[serde(default)]
        max: usize,
        #[serde(default)]
        kind: Option<Kind>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        Sliding,
        Fixed,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "snake_case", deny_unknown_fields)]
    enum SourceConfig {
        Csv(Opts),
        Jsonl(Opts),
    }

    fn err<T: DeserializeOwned + std::fmt::Debug>(yaml: &str) -> (String, String, (u64, u64)) {
        let e = deserialize::<T>(&Node::parse(yaml).unwrap()).unwrap_err();
        let Some(Origin::File { line, column }) = e.origin.as_deref().cloned() else {
            panic!("no place: {e}")
        };
        (
            e.path.clone().unwrap_or_default(),
            e.message(),
            (line, column),
        )
    }

    #[test]
    fn errors_name_the_innermost_place_in_plain_words() {
        assert_eq!(
            err::<SourceConfig>("csv:\n  path: x\n  pathh: 1\n"),
            (
                "csv".into(),
                "unknown option \"pathh\"; did you mean \"path\"?".into(),
                (3, 3)
            )
        );
        assert_eq!(
            err::<SourceConfig>("csv:\n  path: x\n  keyy: 1\n"),
            (
                "csv".into(),
                "unknown option \"keyy\"; expected one of path, max, kind".into(),
                (3, 3)
            )
        );
        assert_eq!(
            err::<SourceConfig>("xml: {path: x}\n"),
            (
                "".into(),
                "unknown source format \"xml\"; expected one of csv, jsonl".into(),
                (1, 1)
            )
        );
        assert_eq!(
            err::<SourceConfig>("csv: {path: x, kind: slidin}\n"),
            (
                "csv.kind".into(),
                "unknown kind \"slidin\"; did you mean \"sliding\"?".into(),
                (1, 22)
            )
        );
        assert_eq!(
            err::<SourceConfig>("csv: {path: x, max: -1}\n"),
            (
                "csv.max".into(),
                "the number -1 is not a whole number, 0 or more".into(),
                (1, 21)
            )
        );
        assert_eq!(
            err::<SourceConfig>("csv: {max: 1}\n"),
            (
                "csv".into(),
                "required option \"path\" is missing".into(),
                (1, 6)
            )
        );
        assert_eq!(
            err::<Vec<SourceConfig>>("- csv: {path: x}\n- csv: [1]\n"),
            (
                "1.csv".into(),
                "expected a map of options, found a list".into(),
                (2, 8)
            )
        );
    }

    #[test]
    fn text_options_take_numbers_as_written() {
        let o: Opts = deserialize(&Node::parse("path: 2024\nkind: fixed\n").unwrap()).unwrap();
        assert_eq!(o.path, "2024");
        assert_eq!(o.kind, Some(Kind::Fixed));
    }
}
