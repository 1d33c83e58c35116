//! Short descriptions of values for error messages ("string 'a'", "int 3", "list of 4").
//! Only used when building an error, so allocation here is fine.

use rill_core::Value;

/// At most this many characters of a string are quoted in a message.
const CLIP: usize = 40;

/// `s`, cut to [`CLIP`] characters with an ellipsis.
pub(crate) fn clip(s: &str) -> String {
    if s.chars().count() <= CLIP {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(CLIP).collect();
        out.push('…');
        out
    }
}

/// Type and (short) value, e.g. `string 'fail'`, `int 3`, `null`, `record {a, b}`.
pub(crate) fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("bool {b}"),
        Value::Int(i) => format!("int {i}"),
        Value::Float(f) => format!("float {f:?}"),
        Value::Str(s) => format!("string '{}'", clip(s)),
        Value::Time(t) => format!("timestamp {t}"),
        Value::List(l) => format!("list of {}", l.len()),
        Value::Record(r) => {
            let names: Vec<&str> = r
                .schema()
                .names()
                .iter()
                .take(6)
                .map(|n| n.as_str())
                .collect();
            let more = if r.len() > 6 { ", …" } else { "" };
            format!("record {{{}{more}}}", names.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rill_core::Record;

    #[test]
    fn descriptions() {
        assert_eq!(describe(&Value::from("a")), "string 'a'");
        assert_eq!(describe(&Value::Float(1.0)), "float 1.0");
        assert_eq!(describe(&Value::List(vec![Value::Null; 3])), "list of 3");
        assert_eq!(
            describe(&Value::Record(Record::from_pairs([("a", Value::Null)]))),
            "record {a}"
        );
        assert_eq!(clip(&"x".repeat(50)).chars().count(), 41);
    }
}
