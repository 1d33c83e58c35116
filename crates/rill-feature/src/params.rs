//! Typed parameters of definitions: declared once ([`ParamSpec`]), validated when a feature is
//! built ([`Params::resolve`]), read by the definition when it makes its logic.

use rill_core::{parse_duration, Duration};
use serde_json::Value as Json;
use std::fmt;

/// How a sampled definition emits (svoe's `sampling` param): every event, none, or at most
/// once per period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sampling {
    /// Every event (`raw`).
    Raw,
    /// Nothing at all (`skip_all`: the node only keeps state).
    SkipAll,
    /// At most once per period (a duration such as `1s`); each definition says how.
    Every(Duration),
}

impl fmt::Display for Sampling {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Sampling::Raw => f.write_str("raw"),
            Sampling::SkipAll => f.write_str("skip_all"),
            Sampling::Every(d) => f.write_str(&d.to_text()),
        }
    }
}

/// The type of a parameter. Part of a feature's identity: the same text read as another type
/// is another feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    /// A whole number (`25`; `2.5` is refused).
    Int,
    /// A number (`2`, `0.5`).
    Float,
    /// `true` / `false`.
    Bool,
    /// Any text.
    Str,
    /// One of a fixed list of words.
    Choice(&'static [&'static str]),
    /// A duration `<int><unit>` (`500ms`, `1s`, `1m`, `1h`, `1d`, `1w`).
    Duration,
    /// `raw`, `skip_all` or a duration.
    Sampling,
}

impl ParamType {
    /// A tag for the canonical encoding (never reused for another type).
    fn tag(self) -> u8 {
        match self {
            ParamType::Int => 1,
            ParamType::Float => 2,
            ParamType::Bool => 3,
            ParamType::Str => 4,
            ParamType::Choice(_) => 5,
            ParamType::Duration => 6,
            ParamType::Sampling => 7,
        }
    }
    /// The type as the docs and messages name it.
    pub fn describe(self) -> String {
        match self {
            ParamType::Int => "an integer".into(),
            ParamType::Float => "a number".into(),
            ParamType::Bool => "true or false".into(),
            ParamType::Str => "a string".into(),
            ParamType::Choice(c) => format!("one of {}", c.join(", ")),
            ParamType::Duration => "a duration such as 1s or 1m".into(),
            ParamType::Sampling => "raw, skip_all or a duration such as 1s".into(),
        }
    }
}

/// A parameter's value, of its declared type.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    /// [`ParamType::Int`].
    Int(i64),
    /// [`ParamType::Float`].
    Float(f64),
    /// [`ParamType::Bool`].
    Bool(bool),
    /// [`ParamType::Str`] and [`ParamType::Choice`].
    Str(String),
    /// [`ParamType::Duration`].
    Duration(Duration),
    /// [`ParamType::Sampling`].
    Sampling(Sampling),
}

impl ParamValue {
    /// The value as JSON (for display, graph labels and configs written back).
    pub fn to_json(&self) -> Json {
        match self {
            ParamValue::Int(i) => Json::from(*i),
            ParamValue::Float(f) => Json::from(*f),
            ParamValue::Bool(b) => Json::from(*b),
            ParamValue::Str(s) => Json::from(s.as_str()),
            ParamValue::Duration(d) => Json::from(d.to_text()),
            ParamValue::Sampling(s) => Json::from(s.to_string()),
        }
    }

    /// Appends the canonical bytes of the value (type tag, then a fixed-width or
    /// length-prefixed body): what the identity hash reads.
    pub(crate) fn encode(&self, ty: ParamType, out: &mut Vec<u8>) {
        out.push(ty.tag());
        match self {
            ParamValue::Int(i) => out.extend_from_slice(&i.to_le_bytes()),
            ParamValue::Float(f) => {
                // one encoding per number: -0.0 is 0.0, every NaN the same
                let bits = if *f == 0.0 {
                    0
                } else if f.is_nan() {
                    f64::NAN.to_bits()
                } else {
                    f.to_bits()
                };
                out.extend_from_slice(&bits.to_le_bytes())
            }
            ParamValue::Bool(b) => out.push(*b as u8),
            ParamValue::Str(s) => crate::identity::encode_str(s, out),
            ParamValue::Duration(d) => out.extend_from_slice(&d.nanos().to_le_bytes()),
            ParamValue::Sampling(s) => match s {
                Sampling::Raw => out.push(0),
                Sampling::SkipAll => out.push(1),
                Sampling::Every(d) => {
                    out.push(2);
                    out.extend_from_slice(&d.nanos().to_le_bytes())
                }
            },
        }
    }
}

/// A declared default.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ParamDefault {
    /// The param must be given.
    Required,
    /// The param may be left out; it then has no value.
    Absent,
    /// A whole number.
    Int(i64),
    /// A number.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// Text read as the param's type (`"1m"` for a duration, `"raw"` for sampling).
    Text(&'static str),
}

/// One declared parameter of a definition.
#[derive(Debug, Clone, Copy)]
pub struct ParamSpec {
    /// Its name in configs (`window`).
    pub name: &'static str,
    /// Its type.
    pub ty: ParamType,
    /// Its default.
    pub default: ParamDefault,
    /// One line for the docs and error messages.
    pub doc: &'static str,
}

impl ParamSpec {
    /// A param of `ty` with `default`.
    pub const fn new(
        name: &'static str,
        ty: ParamType,
        default: ParamDefault,
        doc: &'static str,
    ) -> ParamSpec {
        ParamSpec {
            name,
            ty,
            default,
            doc,
        }
    }

    /// Reads `v` as this param's type; the error says what was expected and what was found.
    pub fn read(&self, v: &Json) -> Result<ParamValue, String> {
        let found = || format!("expected {}, found {}", self.ty.describe(), short_json(v));
        let text = |s: &str| -> Result<ParamValue, String> {
            match self.ty {
                ParamType::Str => Ok(ParamValue::Str(s.to_string())),
                ParamType::Choice(c) if c.contains(&s) => Ok(ParamValue::Str(s.to_string())),
                ParamType::Duration => parse_duration(s)
                    .ok()
                    .filter(|d| d.nanos() > 0)
                    .map(ParamValue::Duration)
                    .ok_or_else(|| {
                        format!("expected a positive duration such as 1s or 1m, found '{s}'")
                    }),
                ParamType::Sampling => match s {
                    "raw" => Ok(ParamValue::Sampling(Sampling::Raw)),
                    "skip_all" => Ok(ParamValue::Sampling(Sampling::SkipAll)),
                    _ => parse_duration(s)
                        .ok()
                        .filter(|d| d.nanos() > 0)
                        .map(|d| ParamValue::Sampling(Sampling::Every(d)))
                        .ok_or_else(found),
                },
                _ => Err(found()),
            }
        };
        match (self.ty, v) {
            (ParamType::Int, Json::Number(n)) => n.as_i64().map(ParamValue::Int).ok_or_else(found),
            (ParamType::Float, Json::Number(n)) => {
                n.as_f64().map(ParamValue::Float).ok_or_else(found)
            }
            (ParamType::Bool, Json::Bool(b)) => Ok(ParamValue::Bool(*b)),
            (_, Json::String(s)) => text(s),
            _ => Err(found()),
        }
    }

    fn default_value(&self) -> Result<Option<ParamValue>, String> {
        Ok(match self.default {
            ParamDefault::Required | ParamDefault::Absent => None,
            ParamDefault::Int(i) => Some(self.read(&Json::from(i))?),
            ParamDefault::Float(f) => Some(self.read(&Json::from(f))?),
            ParamDefault::Bool(b) => Some(self.read(&Json::from(b))?),
            ParamDefault::Text(t) => Some(self.read(&Json::from(t))?),
        })
    }
}

fn short_json(v: &Json) -> String {
    let s = match v {
        Json::Null => "nothing (null)".to_string(),
        Json::String(s) => format!("'{s}'"),
        Json::Object(_) => "a map".to_string(),
        Json::Array(_) => "a list".to_string(),
        other => other.to_string(),
    };
    rill_core::shorten(&s, 80).into_owned()
}

/// The validated params of one feature: one slot per declared param, in declaration order,
/// defaults filled in.
#[derive(Debug, Clone)]
pub struct Params {
    specs: &'static [ParamSpec],
    values: Vec<Option<ParamValue>>,
}

impl PartialEq for Params {
    fn eq(&self, o: &Self) -> bool {
        std::ptr::eq(self.specs, o.specs) && self.values == o.values
    }
}

impl Params {
    /// Every param at its default (an error if one is required).
    pub fn defaults(specs: &'static [ParamSpec]) -> Result<Params, (String, String)> {
        Params::resolve(specs, std::iter::empty::<(&str, &Json)>())
    }

    /// Validates `given` (name → value) against `specs`: an unknown name, a value of the wrong
    /// type or a missing required param is an error `(param name, reason)`.
    pub fn resolve<'a, I>(specs: &'static [ParamSpec], given: I) -> Result<Params, (String, String)>
    where
        I: IntoIterator<Item = (&'a str, &'a Json)>,
    {
        let mut values: Vec<Option<ParamValue>> = vec![None; specs.len()];
        let mut set = vec![false; specs.len()];
        for (name, v) in given {
            let Some(i) = specs.iter().position(|s| s.name == name) else {
                let known: Vec<&str> = specs.iter().map(|s| s.name).collect();
                let hint = rill_core::did_you_mean(name, known.iter().copied())
                    .map(|m| format!(" (did you mean '{m}'?)"))
                    .unwrap_or_default();
                return Err((
                    name.to_string(),
                    format!(
                        "unknown param{hint}; this definition takes: {}",
                        if known.is_empty() {
                            "no params".to_string()
                        } else {
                            known.join(", ")
                        }
                    ),
                ));
            };
            values[i] = Some(specs[i].read(v).map_err(|e| (name.to_string(), e))?);
            set[i] = true;
        }
        for (i, s) in specs.iter().enumerate() {
            if !set[i] {
                if s.default == ParamDefault::Required {
                    return Err((
                        s.name.to_string(),
                        format!("missing required param ({})", s.doc),
                    ));
                }
                values[i] = s
                    .default_value()
                    .map_err(|e| (s.name.to_string(), format!("bad declared default: {e}")))?;
            }
        }
        Ok(Params { specs, values })
    }

    /// The declared params.
    pub fn specs(&self) -> &'static [ParamSpec] {
        self.specs
    }

    /// `(name, value)` in declaration order (absent optional params are left out).
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &ParamValue)> {
        self.specs
            .iter()
            .zip(&self.values)
            .filter_map(|(s, v)| v.as_ref().map(|v| (s.name, v)))
    }

    /// The value of `name`, if it has one.
    pub fn get(&self, name: &str) -> Option<&ParamValue> {
        let i = self.specs.iter().position(|s| s.name == name)?;
        self.values[i].as_ref()
    }

    fn declared(&self, name: &str, want: &str) -> ! {
        panic!("definition bug: param '{name}' is not declared as {want} (or has no default)")
    }

    /// An int param (declared, with a value: a definition reading its own params).
    pub fn int(&self, name: &str) -> i64 {
        match self.get(name) {
            Some(ParamValue::Int(i)) => *i,
            _ => self.declared(name, "an int"),
        }
    }
    /// A float param.
    pub fn float(&self, name: &str) -> f64 {
        match self.get(name) {
            Some(ParamValue::Float(f)) => *f,
            _ => self.declared(name, "a float"),
        }
    }
    /// An optional float param.
    pub fn float_opt(&self, name: &str) -> Option<f64> {
        match self.get(name) {
            Some(ParamValue::Float(f)) => Some(*f),
            None => None,
            _ => self.declared(name, "a float"),
        }
    }
    /// A bool param.
    pub fn bool(&self, name: &str) -> bool {
        match self.get(name) {
            Some(ParamValue::Bool(b)) => *b,
            _ => self.declared(name, "a bool"),
        }
    }
    /// A string or choice param.
    pub fn str(&self, name: &str) -> &str {
        match self.get(name) {
            Some(ParamValue::Str(s)) => s,
            _ => self.declared(name, "a string"),
        }
    }
    /// A duration param.
    pub fn duration(&self, name: &str) -> Duration {
        match self.get(name) {
            Some(ParamValue::Duration(d)) => *d,
            _ => self.declared(name, "a duration"),
        }
    }
    /// A sampling param.
    pub fn sampling(&self, name: &str) -> Sampling {
        match self.get(name) {
            Some(ParamValue::Sampling(s)) => *s,
            _ => self.declared(name, "a sampling"),
        }
    }

    /// Appends the canonical encoding: the params sorted by name, each as (name, type tag,
    /// value); absent params are left out.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        let mut present: Vec<(&ParamSpec, &ParamValue)> = self
            .specs
            .iter()
            .zip(&self.values)
            .filter_map(|(s, v)| v.as_ref().map(|v| (s, v)))
            .collect();
        present.sort_by(|a, b| a.0.name.cmp(b.0.name));
        out.extend_from_slice(&(present.len() as u32).to_le_bytes());
        for (s, v) in present {
            crate::identity::encode_str(s.name, out);
            v.encode(s.ty, out);
        }
    }

    /// The params as a JSON map (declaration order).
    pub fn to_json(&self) -> Json {
        Json::Object(
            self.iter()
                .map(|(k, v)| (k.to_string(), v.to_json()))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static SPECS: [ParamSpec; 4] = [
        ParamSpec::new("depth", ParamType::Int, ParamDefault::Int(25), "levels"),
        ParamSpec::new(
            "window",
            ParamType::Duration,
            ParamDefault::Text("1m"),
            "window",
        ),
        ParamSpec::new("alpha", ParamType::Float, ParamDefault::Absent, "weight"),
        ParamSpec::new(
            "sampling",
            ParamType::Sampling,
            ParamDefault::Text("raw"),
            "sampling",
        ),
    ];

    #[test]
    fn defaults_types_and_errors() {
        let p = Params::defaults(&SPECS).unwrap();
        assert_eq!(p.int("depth"), 25);
        assert_eq!(p.duration("window"), Duration::from_secs(60));
        assert_eq!(p.float_opt("alpha"), None);
        assert_eq!(p.sampling("sampling"), Sampling::Raw);
        let j = |s: &str| serde_json::from_str::<Json>(s).unwrap();
        let one = j("1");
        let p = Params::resolve(&SPECS, [("alpha", &one)]).unwrap();
        assert_eq!(p.float("alpha"), 1.0, "an integer is a number");
        let half = j("2.5");
        let e = Params::resolve(&SPECS, [("depth", &half)]).unwrap_err();
        assert_eq!(e, ("depth".into(), "expected an integer, found 2.5".into()));
        let s = j("\"1.5s\"");
        let e = Params::resolve(&SPECS, [("window", &s)]).unwrap_err();
        assert!(e.1.contains("'1.5s'"), "{e:?}");
        let e = Params::resolve(&SPECS, [("windw", &s)]).unwrap_err();
        assert!(e.1.contains("did you mean 'window'"), "{e:?}");
        let s = j("\"1s\"");
        let p = Params::resolve(&SPECS, [("sampling", &s)]).unwrap();
        assert_eq!(
            p.sampling("sampling"),
            Sampling::Every(Duration::from_secs(1))
        );
    }
}
