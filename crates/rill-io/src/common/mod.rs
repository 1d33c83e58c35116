//! Pieces shared by every source: path lists, the key/time/id fields, rejects.

mod fields;

pub(crate) use fields::EventFields;

use rill_core::{Error, Event, Str, Timestamp, Value};
use rill_flow::Failure;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;

/// One string or a list of strings: `key: user` or `key: [user, device]`; `path: a.csv` or
/// `path: [a.csv, b.csv]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// A single name.
    One(String),
    /// Several names, in order.
    Many(Vec<String>),
}

impl OneOrMany {
    /// The names as a slice (one element for [`OneOrMany::One`]).
    pub fn as_slice(&self) -> &[String] {
        match self {
            OneOrMany::One(s) => std::slice::from_ref(s),
            OneOrMany::Many(v) => v,
        }
    }
    /// True for the list form (a list key stays a list even with one element).
    pub fn is_list(&self) -> bool {
        matches!(self, OneOrMany::Many(_))
    }
}

impl From<&str> for OneOrMany {
    fn from(s: &str) -> Self {
        OneOrMany::One(s.to_string())
    }
}

impl From<Vec<&str>> for OneOrMany {
    fn from(v: Vec<&str>) -> Self {
        OneOrMany::Many(v.into_iter().map(str::to_string).collect())
    }
}

/// A declared column type for text sources (`types: {amount: float}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// 64-bit integer.
    Int,
    /// 64-bit float (integers are accepted).
    Float,
    /// Text, kept as is.
    String,
    /// `true` / `false` (also `True`/`TRUE`, `1`/`0`).
    Bool,
    /// A timestamp in the source's `time_format`.
    Time,
}

impl FieldType {
    /// The name used in error messages.
    pub fn name(self) -> &'static str {
        match self {
            FieldType::Int => "an int",
            FieldType::Float => "a float",
            FieldType::String => "a string",
            FieldType::Bool => "a bool",
            FieldType::Time => "a timestamp",
        }
    }
}

/// Expands a path option into files: plain paths are kept (a missing one fails when opened),
/// glob patterns (`*`, `?`, `[`) are expanded in sorted order and must match something.
pub(crate) fn expand_paths(paths: &OneOrMany) -> Result<Vec<PathBuf>, Error> {
    let mut out = Vec::new();
    for p in paths.as_slice() {
        if p != STDIN && p.contains(['*', '?', '[']) {
            let shown = rill_core::shorten(p, 300);
            let matches = glob::glob(p)
                .map_err(|e| Error::config(format!("bad path pattern '{shown}': {e}")))?;
            let mut found: Vec<PathBuf> = Vec::new();
            for m in matches {
                found.push(m.map_err(|e| Error::io(format!("expanding '{shown}'"), e))?);
            }
            if found.is_empty() {
                return Err(Error::io(
                    format!("reading '{shown}'"),
                    "no file matches the pattern",
                ));
            }
            found.sort();
            out.extend(found);
        } else {
            out.push(PathBuf::from(p));
        }
    }
    if out.is_empty() {
        return Err(Error::config("a file source needs at least one path"));
    }
    Ok(out)
}

/// Longest reject reason, in characters: a reason quoting a huge cell or time keeps its ends
/// (field, what is wrong) and leaves the middle out (the dead letter keeps the whole record).
pub(crate) const MAX_REASON: usize = 300;

/// A rejected record: the error names source, record and reason; the event carries the raw
/// record as a string body so a dead-letter target can keep it.
pub(crate) fn reject(
    source: &Arc<str>,
    record: u64,
    reason: String,
    raw: String,
    now: Timestamp,
) -> Failure {
    let reason = match rill_core::shorten(&reason, MAX_REASON) {
        std::borrow::Cow::Borrowed(_) => reason,
        std::borrow::Cow::Owned(short) => short,
    };
    let error = Error::BadRecord {
        source_name: source.clone(),
        record,
        reason,
    };
    let event = Event {
        body: Value::Str(Str::from(raw)),
        time: now,
        offset: record,
        ..Default::default()
    };
    Failure::new(error, event)
}

/// Parses text as a time of `format`, with the error message sources use.
pub(crate) fn parse_time_text(
    field: &str,
    text: &str,
    format: &rill_core::TimeParser,
) -> Result<Timestamp, String> {
    parse_time(text, format).map_err(|e| field_reason(field, e))
}

/// Like [`TimeParser::parse_str`](rill_core::TimeParser::parse_str), but fractional epoch
/// values keep their precision (see [`epoch_f64`]).
pub(crate) fn parse_time(text: &str, parser: &rill_core::TimeParser) -> Result<Timestamp, Error> {
    use rill_core::TimeFormat as F;
    let format = parser.format();
    if matches!(format, F::EpochSeconds | F::EpochMillis | F::EpochMicros) {
        let t = text.trim();
        if t.parse::<i64>().is_err() {
            let scale = format.from_i64(1)?.nanos();
            if let Some(n) = decimal_epoch(t, scale) {
                return Ok(Timestamp(n));
            }
            if let Ok(f) = t.parse::<f64>() {
                return epoch_f64(f, format);
            }
        }
    }
    parser.parse_str(text)
}

/// Exact nanoseconds of a plain decimal (`-12.345`) in a unit of `scale` nanoseconds;
/// `None` for other shapes (exponents…) or overflow. Digits below a nanosecond are dropped.
fn decimal_epoch(t: &str, scale: i64) -> Option<i64> {
    let (neg, body) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (int, frac) = body.split_once('.')?;
    if int.is_empty() && frac.is_empty()
        || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let whole: i64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut n = whole.checked_mul(scale)?;
    // each fractional digit is worth scale/10, scale/100, … nanoseconds
    let mut unit = scale;
    for d in frac.bytes() {
        unit /= 10;
        if unit == 0 {
            break;
        }
        n = n.checked_add(i64::from(d - b'0') * unit)?;
    }
    Some(if neg { -n } else { n })
}

/// A fractional epoch value in `format`'s unit. Scaling the whole float (as
/// `TimeFormat::from_f64` does) loses the fraction: 1595367600.25 s × 1e9 is not exact in f64,
/// so the integer and fractional parts are scaled separately.
pub(crate) fn epoch_f64(f: f64, format: &rill_core::TimeFormat) -> Result<Timestamp, Error> {
    let scale = format.from_i64(1)?.nanos();
    let whole = f.trunc();
    if !f.is_finite() || whole.abs() >= 9.2e18 / scale as f64 {
        return format.from_f64(f);
    }
    let nanos = (whole as i64)
        .checked_mul(scale)
        .and_then(|n| n.checked_add(((f - whole) * scale as f64).round() as i64));
    nanos
        .map(Timestamp)
        .ok_or_else(|| Error::field("time", format!("{f} is out of range")))
}

/// Turns a time value (text, epoch number or time) into a timestamp.
pub(crate) fn time_from_value(
    field: &str,
    v: &Value,
    parser: &rill_core::TimeParser,
) -> Result<Timestamp, String> {
    let format = parser.format();
    match v {
        Value::Time(t) => Ok(*t),
        Value::Str(s) => parse_time_text(field, s, parser),
        Value::Int(i) => format.from_i64(*i).map_err(|e| field_reason(field, e)),
        Value::Float(f) => epoch_f64(*f, format).map_err(|e| field_reason(field, e)),
        Value::Null => Err(format!("field '{field}': time is empty")),
        other => Err(format!(
            "field '{field}': {} is not a timestamp",
            rill_core::json::to_json(other)
        )),
    }
}

/// `field 'x': <reason>` from a core error (whose own field name may be a generic "time").
fn field_reason(field: &str, e: Error) -> String {
    format!("field '{field}': {}", reason_of(e))
}

/// The reason of a core field error, without its (generic) field name.
pub(crate) fn reason_of(e: Error) -> String {
    match e {
        Error::Field { reason, .. } => reason,
        other => other.to_string(),
    }
}

/// Describes the names that occur more than once, with their 1-based positions, or `None`
/// when all are distinct: `duplicate column name 'click' (columns 3 and 4)`, or for several
/// `duplicate column names 'a' (columns 1, 3 and 6), 'b' (columns 2 and 5)`. `noun` is
/// `column` or `field`. Names for which `keep` is false are not reported (a projection that
/// does not read them). Runs when a header or schema is first seen, never per record.
pub(crate) fn duplicate_names<'a>(
    names: impl IntoIterator<Item = &'a str>,
    noun: &str,
    keep: impl Fn(&str) -> bool,
) -> Option<String> {
    // (name, positions) in order of first occurrence
    let mut seen: Vec<(&str, Vec<usize>)> = Vec::new();
    let mut index: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (i, n) in names.into_iter().enumerate() {
        match index.get(n) {
            Some(&at) => seen[at].1.push(i + 1),
            None => {
                index.insert(n, seen.len());
                seen.push((n, vec![i + 1]));
            }
        }
    }
    // bounded whatever the header: a few names, a few positions each, long names shortened
    const NAMES: usize = 5;
    const POSITIONS: usize = 6;
    let all: Vec<(&str, Vec<usize>)> = seen
        .into_iter()
        .filter(|(n, at)| at.len() > 1 && keep(n))
        .collect();
    let dups: Vec<String> = all
        .iter()
        .take(NAMES)
        .map(|(n, at)| {
            let n = rill_core::shorten(n, 60);
            if at.len() > POSITIONS {
                let shown: Vec<String> = at[..POSITIONS - 1].iter().map(usize::to_string).collect();
                return format!(
                    "'{n}' ({noun}s {}, … {}: {} times)",
                    shown.join(", "),
                    at[at.len() - 1],
                    at.len()
                );
            }
            let (last, rest) = at.split_last().expect("two or more positions");
            let rest: Vec<String> = rest.iter().map(usize::to_string).collect();
            format!("'{n}' ({noun}s {} and {last})", rest.join(", "))
        })
        .collect();
    let more = match all.len().saturating_sub(NAMES) {
        0 => String::new(),
        k => format!(" and {k} more"),
    };
    match dups.len() {
        0 => None,
        1 => Some(format!("duplicate {noun} name {}", dups[0])),
        _ => Some(format!("duplicate {noun} names {}{more}", dups.join(", "))),
    }
}

/// The source path that means standard input (CSV and JSON lines sources).
pub const STDIN: &str = "-";

/// Opens a file for reading, with an error naming it; [`STDIN`] is standard input.
pub(crate) fn open_file(path: &std::path::Path) -> Result<std::fs::File, Error> {
    if path.as_os_str() == STDIN {
        use std::os::fd::AsFd;
        return std::io::stdin()
            .as_fd()
            .try_clone_to_owned()
            .map(std::fs::File::from)
            .map_err(|e| Error::io("opening standard input", e));
    }
    std::fs::File::open(path).map_err(|e| Error::io(format!("opening '{}'", path.display()), e))
}

/// A file's name in messages: its path as given, `stdin` for [`STDIN`].
pub(crate) fn file_name(path: &std::path::Path) -> String {
    if path.as_os_str() == STDIN {
        "stdin".into()
    } else {
        path.display().to_string()
    }
}

/// The name a source reports: its path(s) as given (`stdin` for [`STDIN`]).
pub(crate) fn display_paths(paths: &OneOrMany) -> String {
    let names: Vec<String> = paths
        .as_slice()
        .iter()
        .map(|p| file_name(std::path::Path::new(p)))
        .collect();
    names.join(",")
}
