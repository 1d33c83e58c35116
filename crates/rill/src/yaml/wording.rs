//! serde's error vocabulary in plain words: `expected a list, found a map` instead of
//! `invalid type: map, expected a sequence`, option names instead of Rust type names.

use rill_core::shorten;
use serde::de::{Expected, Unexpected};

/// The longest name or value quoted in a message, in characters: a file may hold a
/// megabyte-long key (see [`shorten`]).
pub(crate) const QUOTED: usize = 80;

/// What was found, as a reader of the file would say it.
pub(super) fn unexpected(u: &Unexpected<'_>) -> String {
    match u {
        Unexpected::Bool(b) => format!("{b}"),
        Unexpected::Unsigned(n) => format!("the number {n}"),
        Unexpected::Signed(n) => format!("the number {n}"),
        Unexpected::Float(f) => format!("the number {f}"),
        Unexpected::Char(c) => format!("the text \"{c}\""),
        Unexpected::Str(s) => format!("the text \"{}\"", shorten(s, QUOTED)),
        Unexpected::Bytes(_) => "bytes".into(),
        Unexpected::Unit | Unexpected::Option => "nothing (null)".into(),
        Unexpected::NewtypeStruct => "a value".into(),
        Unexpected::Seq => "a list".into(),
        Unexpected::Map => "a map".into(),
        Unexpected::Enum => "a kind with options".into(),
        Unexpected::UnitVariant => "a name".into(),
        Unexpected::NewtypeVariant | Unexpected::TupleVariant | Unexpected::StructVariant => {
            "a kind with options".into()
        }
        Unexpected::Other(o) => o.to_string(),
    }
}

/// What was expected, from serde's (often Rust-flavoured) description.
pub(super) fn expected(e: &dyn Expected) -> String {
    let text = e.to_string();
    let t = text.as_str();
    if t.starts_with("struct ") || t.starts_with("struct variant ") || t == "a map" || t == "map" {
        return "a map of options".into();
    }
    if t.starts_with("tuple") {
        return "a list".into();
    }
    match t {
        "a sequence" | "sequence" => "a list".into(),
        "a string" | "string" | "a borrowed string" => "text".into(),
        "a boolean" | "bool" => "true or false".into(),
        "a character" | "char" => "a single character".into(),
        "usize" | "u64" | "u32" | "u16" | "u8" => "a whole number, 0 or more".into(),
        "isize" | "i64" | "i32" | "i16" | "i8" => "a whole number".into(),
        "f64" | "f32" => "a number".into(),
        "unit" => "nothing".into(),
        other => other.to_string(),
    }
}

/// The name of an enum's kind in messages, from its Rust name: `unknown step "mapp"`,
/// `unknown source format "xml"`.
pub(super) fn kind_noun(enum_name: &str) -> String {
    let known = match enum_name {
        "StepConfig" => Some("step"),
        "SourceConfig" => Some("source format"),
        "TargetConfig" => Some("target format"),
        "FieldType" => Some("type"),
        "Matches" => Some("match mode"),
        "Attribute" => Some("event attribute"),
        "EmitPeriod" => Some("sample to emit"),
        _ => None,
    };
    if let Some(k) = known {
        return k.to_string();
    }
    // CamelCase → words, without a trailing `Config`
    let mut words = String::new();
    for (i, c) in enum_name.trim_end_matches("Config").chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            words.push(' ');
        }
        words.extend(c.to_lowercase());
    }
    if words.is_empty() {
        "kind".into()
    } else {
        words
    }
}

/// `; did you mean "x"?` for a close name, else `; expected one of a, b, c` (or that there
/// is nothing to choose from).
pub(crate) fn choices(got: &str, expected: &[&str]) -> String {
    if let Some(close) = rill_core::did_you_mean(got, expected.iter().copied()) {
        return format!("; did you mean \"{close}\"?");
    }
    match expected {
        [] => " (there is none to choose from)".into(),
        [one] => format!("; expected {one}"),
        many => format!("; expected one of {}", many.join(", ")),
    }
}

/// A message from elsewhere (a parser, a library type's own check) with every quoted name or
/// value (between backticks, single or double quotes) of more than [`QUOTED`] characters
/// shortened, and every line to at most 300.
pub(crate) fn shorten_quoted(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len().min(4096));
    let mut rest = msg;
    while let Some(i) = rest.find(['`', '"', '\'']) {
        let q = rest.as_bytes()[i] as char;
        out.push_str(&rest[..=i]);
        rest = &rest[i + 1..];
        let Some(j) = rest.find(q) else { break };
        out.push_str(&shorten(&rest[..j], QUOTED));
        out.push(q);
        rest = &rest[j + 1..];
    }
    out.push_str(rest);
    out.lines()
        .map(|l| shorten(l, 300))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A dotted path with each part of more than [`QUOTED`] characters shortened (map keys are
/// the file's text).
pub(crate) fn short_path(path: &str) -> String {
    path.split('.')
        .map(|p| shorten(p, QUOTED))
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_names_become_words() {
        assert_eq!(kind_noun("ErrorPolicy"), "error policy");
        assert_eq!(kind_noun("ClockConfig"), "clock");
        assert_eq!(kind_noun("StepConfig"), "step");
        assert_eq!(expected(&"struct CsvSourceConfig"), "a map of options");
        assert_eq!(unexpected(&Unexpected::Seq), "a list");
        assert_eq!(
            choices("slidin", &["sliding", "fixed"]),
            "; did you mean \"sliding\"?"
        );
        assert_eq!(
            choices("xml", &["csv", "jsonl", "parquet"]),
            "; expected one of csv, jsonl, parquet"
        );
        let long = "x".repeat(1000);
        let msg = shorten_quoted(&format!("unknown aggregation '{long}': use count"));
        assert!(msg.len() < 200 && msg.ends_with("': use count"), "{msg}");
        assert!(short_path(&format!("types.{long}")).chars().count() < 140);
    }
}
