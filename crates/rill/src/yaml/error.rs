//! The error of reading the typed configuration from the tree: serde's error vocabulary in
//! plain words, with the path and place of the innermost value it concerns.

use super::node::Origin;
use super::wording::{choices, expected, kind_noun, shorten_quoted, unexpected, QUOTED};
use rill_core::shorten;
use serde::de;
use std::fmt;

/// A deserialization error with its path and place (filled in by the innermost value that
/// knows them).
#[derive(Debug)]
pub(crate) struct DeError {
    msg: Box<Msg>,
    /// Dotted path of the value (or, for an unknown key, of the map holding it).
    pub path: Option<String>,
    pub origin: Option<Box<Origin>>,
}

#[derive(Debug)]
enum Msg {
    Text(String),
    /// Worded once the enum's name is known.
    UnknownVariant {
        variant: String,
        expected: &'static [&'static str],
        noun: Option<String>,
    },
}

impl DeError {
    pub(super) fn text(msg: impl Into<String>) -> Self {
        DeError {
            msg: Box::new(Msg::Text(msg.into())),
            path: None,
            origin: None,
        }
    }
    /// Places the error at `path` / `origin` unless an inner value already did.
    pub(super) fn place(mut self, path: &str, origin: &Origin) -> Self {
        if self.origin.is_none() {
            self.path = Some(path.to_string());
            self.origin = Some(Box::new(origin.clone()));
        }
        self
    }
    /// Names the kind of an unknown variant after its enum.
    pub(super) fn noun(mut self, enum_name: &str) -> Self {
        if let Msg::UnknownVariant { noun: n @ None, .. } = &mut *self.msg {
            *n = Some(kind_noun(enum_name));
        }
        self
    }
    /// The message, in plain words.
    pub fn message(&self) -> String {
        match &*self.msg {
            Msg::Text(t) => shorten_quoted(t),
            Msg::UnknownVariant {
                variant,
                expected,
                noun,
            } => format!(
                "unknown {} \"{}\"{}",
                noun.as_deref().unwrap_or("kind"),
                shorten(variant, QUOTED),
                choices(variant, expected)
            ),
        }
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        let m = msg.to_string();
        // a library error's Display carries its kind; the place says that already
        let m = m
            .strip_prefix("configuration error: ")
            .map(str::to_string)
            .unwrap_or(m);
        DeError::text(m)
    }
    fn invalid_type(unexp: de::Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        DeError::text(format!(
            "expected {}, found {}",
            expected(exp),
            unexpected(&unexp)
        ))
    }
    fn invalid_value(unexp: de::Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        DeError::text(format!("{} is not {}", unexpected(&unexp), expected(exp)))
    }
    fn invalid_length(len: usize, exp: &dyn de::Expected) -> Self {
        DeError::text(format!("expected {}, found {len} items", expected(exp)))
    }
    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        DeError {
            msg: Box::new(Msg::UnknownVariant {
                variant: variant.to_string(),
                expected,
                noun: None,
            }),
            path: None,
            origin: None,
        }
    }
    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        DeError::text(format!(
            "unknown option \"{}\"{}",
            shorten(field, QUOTED),
            choices(field, expected)
        ))
    }
    fn missing_field(field: &'static str) -> Self {
        DeError::text(format!("required option \"{field}\" is missing"))
    }
    fn duplicate_field(field: &'static str) -> Self {
        DeError::text(format!("option \"{field}\" is given twice"))
    }
}
