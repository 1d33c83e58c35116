//! Pieces several built-ins share: the identity params of market data sources, projection of
//! stored rows onto a schema, the look-back window, bucket alignment and timestamp fields.

use crate::definition::{EventSchema, FieldType, Preprocess};
use crate::params::{ParamDefault, ParamSpec, ParamType};
use rill_core::{Duration, Event, FieldSlot, Record, Schema, Timestamp, Value};
use std::collections::VecDeque;
use std::sync::Arc;

/// The identity params of a market data source (svoe's `{exchange, instrument_type, symbol}`):
/// they tell two sources apart, nothing else.
pub const IDENTITY: [ParamSpec; 3] = [
    ParamSpec::new(
        "exchange",
        ParamType::Str,
        ParamDefault::Absent,
        "exchange, e.g. BINANCE_FUTURES",
    ),
    ParamSpec::new(
        "instrument_type",
        ParamType::Str,
        ParamDefault::Absent,
        "instrument type, e.g. spot or perpetual",
    ),
    ParamSpec::new(
        "symbol",
        ParamType::Str,
        ParamDefault::Absent,
        "symbol, e.g. BTC-USDT",
    ),
];

/// Checks that an input schema starts with `timestamp`, `receipt_timestamp` (svoe's
/// convention, which the built-ins copy into their outputs).
pub fn check_timed(schema: &EventSchema) -> Result<(), String> {
    match schema.as_slice() {
        [a, b, ..] if a.name == "timestamp" && b.name == "receipt_timestamp" => Ok(()),
        _ => Err("its input must start with the fields timestamp, receipt_timestamp".into()),
    }
}

/// The position of `name` in `schema`, of type `ty`.
pub fn field_index(schema: &EventSchema, name: &str, ty: FieldType) -> Result<usize, String> {
    match schema.iter().position(|f| f.name == name) {
        Some(i) if schema[i].ty == ty => Ok(i),
        Some(_) => Err(format!("its input field '{name}' is not of type {ty:?}")),
        None => Err(format!("its input has no field '{name}'")),
    }
}

/// The record of an event's body (every event in a feature graph has one).
#[inline]
pub fn record(ev: &Event) -> Result<&Record, rill_core::Error> {
    ev.body
        .as_record()
        .ok_or_else(|| rill_core::Error::user("the event's body is not a record"))
}

/// A float field (ints are read as floats).
#[inline]
pub fn float_at(rec: &Record, i: usize) -> Result<f64, rill_core::Error> {
    rec.get_at(i).as_f64().ok_or_else(|| {
        rill_core::Error::field(
            rec.schema().names()[i].as_str(),
            format!("expected a number, got {}", rec.get_at(i).type_name()),
        )
    })
}

/// The `timestamp` and `receipt_timestamp` values of a record over a timed schema.
#[inline]
pub fn stamps(rec: &Record) -> (Value, Value) {
    (rec.get_at(0).clone(), rec.get_at(1).clone())
}

/// Projects records of any schema onto a definition's schema: field names are resolved once
/// per input schema, values are type-checked (ints are accepted for floats), and the event
/// time is the `timestamp` field (epoch seconds).
pub struct Projector {
    schema: Arc<Schema>,
    slots: Vec<(FieldSlot, FieldType)>,
}

impl Projector {
    /// A projector onto `schema` (whose field types are `types`).
    pub fn new(schema: Arc<Schema>, types: &EventSchema) -> Projector {
        let slots = types
            .iter()
            .map(|f| (FieldSlot::new(f.name.as_str()), f.ty))
            .collect();
        Projector { schema, slots }
    }

    /// The event of `row` over the schema; an error names the missing or ill-typed field.
    pub fn project(&self, row: &Event) -> Result<Event, String> {
        let rec = row
            .body
            .as_record()
            .ok_or_else(|| format!("expected a record, got {}", row.body.type_name()))?;
        let mut values = Vec::with_capacity(self.slots.len());
        for (slot, ty) in &self.slots {
            let v = slot
                .get(rec)
                .ok_or_else(|| format!("field '{}' is missing", slot.name()))?;
            values.push(check_type(slot.name(), v, *ty)?);
        }
        let time = event_time(&values[0])?;
        Ok(Event {
            body: Value::Record(Record::new(self.schema.clone(), values)),
            time,
            offset: row.offset,
            ..Default::default()
        })
    }

    /// [`Projector::project`] taking the event: the values move into the new record instead
    /// of being copied (no deep copy of lists such as an L2 update's orders).
    pub fn project_owned(&self, row: Event) -> Result<Event, String> {
        let offset = row.offset;
        let Value::Record(mut rec) = row.body else {
            return Err(format!("expected a record, got {}", row.body.type_name()));
        };
        let mut at = Vec::with_capacity(self.slots.len());
        for (slot, ty) in &self.slots {
            let i = slot
                .index(rec.schema())
                .ok_or_else(|| format!("field '{}' is missing", slot.name()))?;
            if !type_ok(rec.get_at(i), *ty) {
                return Err(type_error(slot.name(), rec.get_at(i), *ty));
            }
            at.push(i);
        }
        let mut values = rec.take_values();
        let out: Vec<Value> = at
            .iter()
            .zip(&self.slots)
            .map(|(&i, (_, ty))| match (std::mem::take(&mut values[i]), ty) {
                (Value::Int(n), FieldType::Float) => Value::Float(n as f64),
                (v, _) => v,
            })
            .collect();
        let time = event_time(&out[0])?;
        Ok(Event {
            body: Value::Record(Record::new(self.schema.clone(), out)),
            time,
            offset,
            ..Default::default()
        })
    }
}

fn type_ok(v: &Value, ty: FieldType) -> bool {
    matches!(
        (ty, v),
        (FieldType::Float, Value::Float(_) | Value::Int(_))
            | (FieldType::Int, Value::Int(_))
            | (FieldType::Bool, Value::Bool(_))
            | (FieldType::Str, Value::Str(_))
            | (FieldType::List, Value::List(_))
    )
}

fn type_error(name: &str, v: &Value, ty: FieldType) -> String {
    format!(
        "field '{name}': expected {ty:?}, got {} {}",
        v.type_name(),
        rill_core::shorten(&v.to_string(), 40)
    )
}

/// `v` as a value of type `ty` (ints become floats where floats are declared).
pub fn check_type(name: &str, v: &Value, ty: FieldType) -> Result<Value, String> {
    match (ty, v) {
        (FieldType::Float, Value::Int(i)) => Ok(Value::Float(*i as f64)),
        _ if type_ok(v, ty) => Ok(v.clone()),
        _ => Err(type_error(name, v, ty)),
    }
}

/// The event time of a `timestamp` value: epoch seconds (float or int).
pub fn event_time(ts: &Value) -> Result<Timestamp, String> {
    ts.as_f64()
        .filter(|f| f.is_finite())
        .and_then(crate::definition::secs_to_time)
        .ok_or_else(|| format!("timestamp {ts} is not an epoch-seconds number"))
}

/// The preprocessing of a source whose stored rows already are its events: projection.
pub struct ProjectRows(pub Projector);

impl Preprocess for ProjectRows {
    fn push(&mut self, row: &Event, out: &mut Vec<Event>) -> Result<(), String> {
        out.push(self.0.project(row)?);
        Ok(())
    }
    fn finish(&mut self, _out: &mut Vec<Event>) {}
}

/// svoe's look-back window (`lookback_apply`): push the new item, then drop from the front
/// while `now − front > W` (strict), so the window is `[now − W, now]` and always holds the
/// newest item.
#[derive(Debug, Clone)]
pub struct Lookback<T> {
    window: Duration,
    items: VecDeque<(Timestamp, T)>,
}

impl<T> Lookback<T> {
    /// An empty window of length `window`.
    pub fn new(window: Duration) -> Self {
        Lookback {
            window,
            items: VecDeque::new(),
        }
    }
    /// Adds an item at `t` and evicts what fell out; returns the evicted items through `evicted`.
    pub fn push(&mut self, t: Timestamp, item: T, mut evicted: impl FnMut(T)) {
        self.items.push_back((t, item));
        while let Some((front, _)) = self.items.front() {
            if t.nanos() - front.nanos() > self.window.nanos() {
                let (_, x) = self.items.pop_front().expect("non-empty");
                evicted(x);
            } else {
                break;
            }
        }
    }
    /// The items, oldest first.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &T> + '_ {
        self.items.iter().map(|(_, x)| x)
    }
    /// The oldest item.
    pub fn front(&self) -> Option<&T> {
        self.items.front().map(|(_, x)| x)
    }
    /// The number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// The start of the UTC-aligned bucket of length `size` holding `t` (svoe aligns to the
/// machine's local midnight; rill to UTC, which is the same for sizes dividing an hour in
/// whole-hour zones).
#[inline]
pub fn bucket_start(t: Timestamp, size: Duration) -> Timestamp {
    Timestamp(t.nanos() - t.nanos().rem_euclid(size.nanos()))
}

/// Drops an output equal to the one emitted just before (streamz `unique(maxsize=1)`, which
/// several svoe definitions end with). Keeps a copy of the last values in a reused buffer.
#[derive(Debug, Default, Clone)]
pub struct DedupConsecutive {
    last: Vec<Value>,
    any: bool,
}

impl DedupConsecutive {
    /// True when `values` differ from the last ones passed (and remembers them).
    pub fn fresh(&mut self, values: &[Value]) -> bool {
        if self.any && self.last.as_slice() == values {
            return false;
        }
        self.last.clear();
        self.last.extend_from_slice(values);
        self.any = true;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookback_is_inclusive_of_w() {
        let mut w = Lookback::new(Duration::from_secs(2));
        let mut gone = Vec::new();
        for (t, v) in [(0, 100), (1, 101), (2, 102), (3, 99)] {
            w.push(Timestamp::from_secs(t), v, |x| gone.push(x));
        }
        // at t=2 the item at 0 is exactly W old: kept; at t=3 it is 3 s old: evicted
        assert_eq!(gone, vec![100]);
        assert_eq!(w.iter().copied().collect::<Vec<_>>(), vec![101, 102, 99]);
    }

    #[test]
    fn buckets_align_to_utc() {
        let t = Timestamp(1_622_120_202_664_000_000);
        assert_eq!(
            bucket_start(t, Duration::from_secs(1)),
            Timestamp::from_secs(1_622_120_202)
        );
        assert_eq!(
            bucket_start(t, Duration::from_secs(60)),
            Timestamp::from_secs(1_622_120_160)
        );
    }
}
