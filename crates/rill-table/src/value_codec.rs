//! A lossless binary encoding of [`Value`]s, for the attributes a table persists.
//!
//! JSON would lose what it has no type for (a time becomes text, `NaN` a string, `1.0` and `1`
//! stay apart only by luck of formatting), and a restarted run must read back exactly what it
//! wrote. Format: a version byte, then the value: a tag byte and its payload (integers, floats
//! and times as 8 little-endian bytes; lengths as LEB128 varints; records as their field count,
//! then name and value per field).

use rill_core::{Record, Schema, Str, Timestamp, Value};

const VERSION: u8 = 1;
const T_NULL: u8 = 0;
const T_FALSE: u8 = 1;
const T_TRUE: u8 = 2;
const T_INT: u8 = 3;
const T_FLOAT: u8 = 4;
const T_STR: u8 = 5;
const T_TIME: u8 = 6;
const T_LIST: u8 = 7;
const T_RECORD: u8 = 8;

/// Deeper nesting than this is refused on decode (bytes from disk are not trusted to be sane).
const MAX_DEPTH: usize = 64;

/// Appends `v`'s encoding (version byte first) to `out`.
pub fn encode(v: &Value, out: &mut Vec<u8>) {
    out.push(VERSION);
    put(v, out);
}

/// Decodes what [`encode`] wrote; an error says what is wrong and where.
pub fn decode(bytes: &[u8]) -> Result<Value, String> {
    let mut r = Reader { bytes, at: 0 };
    match r.byte()? {
        VERSION => {}
        v => return Err(format!("unknown attribute format version {v}")),
    }
    let v = r.value(0)?;
    if r.at != bytes.len() {
        return Err(format!("{} bytes left after the value", bytes.len() - r.at));
    }
    Ok(v)
}

fn varint(mut n: u64, out: &mut Vec<u8>) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn put_str(s: &str, out: &mut Vec<u8>) {
    varint(s.len() as u64, out);
    out.extend_from_slice(s.as_bytes());
}

fn put(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Null => out.push(T_NULL),
        Value::Bool(false) => out.push(T_FALSE),
        Value::Bool(true) => out.push(T_TRUE),
        Value::Int(i) => {
            out.push(T_INT);
            out.extend_from_slice(&i.to_le_bytes());
        }
        Value::Float(f) => {
            out.push(T_FLOAT);
            out.extend_from_slice(&f.to_bits().to_le_bytes());
        }
        Value::Str(s) => {
            out.push(T_STR);
            put_str(s, out);
        }
        Value::Time(t) => {
            out.push(T_TIME);
            out.extend_from_slice(&t.0.to_le_bytes());
        }
        Value::List(l) => {
            out.push(T_LIST);
            varint(l.len() as u64, out);
            for x in l {
                put(x, out);
            }
        }
        Value::Record(r) => {
            out.push(T_RECORD);
            varint(r.len() as u64, out);
            for (k, x) in r.iter() {
                put_str(k, out);
                put(x, out);
            }
        }
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn truncated(&self) -> String {
        format!("truncated at byte {}", self.at)
    }
    fn byte(&mut self) -> Result<u8, String> {
        let b = *self.bytes.get(self.at).ok_or_else(|| self.truncated())?;
        self.at += 1;
        Ok(b)
    }
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| self.truncated())?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }
    fn len(&mut self) -> Result<usize, String> {
        let mut n: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            n |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                // a length can never exceed the bytes left (each element takes at least one)
                return usize::try_from(n)
                    .ok()
                    .filter(|&n| n <= self.bytes.len() - self.at)
                    .ok_or_else(|| format!("length {n} at byte {} exceeds the value", self.at));
            }
        }
        Err(format!("overlong length at byte {}", self.at))
    }
    fn str(&mut self) -> Result<Str, String> {
        let n = self.len()?;
        let at = self.at;
        let s = self.take(n)?;
        std::str::from_utf8(s)
            .map(Str::from)
            .map_err(|_| format!("text at byte {at} is not UTF-8"))
    }
    fn value(&mut self, depth: usize) -> Result<Value, String> {
        if depth > MAX_DEPTH {
            return Err(format!("nesting deeper than {MAX_DEPTH}"));
        }
        let at = self.at;
        Ok(match self.byte()? {
            T_NULL => Value::Null,
            T_FALSE => Value::Bool(false),
            T_TRUE => Value::Bool(true),
            T_INT => Value::Int(self.u64()? as i64),
            T_FLOAT => Value::Float(f64::from_bits(self.u64()?)),
            T_STR => Value::Str(self.str()?),
            T_TIME => Value::Time(Timestamp(self.u64()? as i64)),
            T_LIST => {
                let n = self.len()?;
                let mut l = Vec::with_capacity(n);
                for _ in 0..n {
                    l.push(self.value(depth + 1)?);
                }
                Value::List(l)
            }
            T_RECORD => {
                let n = self.len()?;
                let mut names = Vec::with_capacity(n);
                let mut values = Vec::with_capacity(n);
                for _ in 0..n {
                    names.push(self.str()?);
                    values.push(self.value(depth + 1)?);
                }
                if (1..names.len()).any(|i| names[..i].contains(&names[i])) {
                    return Err(format!("record at byte {at} names a field twice"));
                }
                Value::Record(Record::new(Schema::new(names), values))
            }
            t => return Err(format!("unknown type tag {t} at byte {at}")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::Int),
            any::<u64>().prop_map(|b| Value::Float(f64::from_bits(b))),
            ".{0,12}".prop_map(|s| Value::Str(Str::from(s.as_str()))),
            any::<i64>().prop_map(|t| Value::Time(Timestamp(t))),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::List),
                proptest::collection::btree_map("[a-z]{1,4}", inner, 0..4).prop_map(|m| {
                    Value::Record(Record::from_pairs(
                        m.iter().map(|(k, v)| (k.as_str(), v.clone())),
                    ))
                }),
            ]
        })
    }

    /// Equal, with floats compared by bits (NaN payloads included).
    fn same(a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
            (Value::List(x), Value::List(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
            }
            (Value::Record(x), Value::Record(y)) => {
                x.len() == y.len()
                    && x.iter()
                        .zip(y.iter())
                        .all(|((k, p), (l, q))| k == l && same(p, q))
            }
            _ => a == b,
        }
    }

    proptest! {
        #[test]
        fn round_trips_exactly(v in value()) {
            let mut out = Vec::new();
            encode(&v, &mut out);
            let back = decode(&out).unwrap();
            prop_assert!(same(&v, &back), "{:?} != {:?}", v, back);
        }

        #[test]
        fn never_panics_on_garbage(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode(&bytes);
        }

        #[test]
        fn truncations_are_errors(v in value()) {
            let mut out = Vec::new();
            encode(&v, &mut out);
            for n in 0..out.len() {
                prop_assert!(decode(&out[..n]).is_err());
            }
        }
    }

    #[test]
    fn keeps_types_json_would_lose() {
        let v = Value::Record(Record::from_pairs([
            ("t", Value::Time(Timestamp(1_700_000_000_123_456_789))),
            ("nan", Value::Float(f64::NAN)),
            ("one", Value::Float(1.0)),
            ("n", Value::Int(1)),
        ]));
        let mut out = Vec::new();
        encode(&v, &mut out);
        assert!(same(&decode(&out).unwrap(), &v));
        out[0] = 9;
        assert_eq!(
            decode(&out).unwrap_err(),
            "unknown attribute format version 9"
        );
    }
}
