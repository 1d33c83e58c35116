//! `l2_book.l2_snapshot`: L2 book snapshots rebuilt from incremental updates (role `source`,
//! an `l2_book.cryptofeed_l2_inc`), with cryptofeed's update semantics.
//!
//! Per update event: a delta before the first full snapshot is skipped; a snapshot
//! (`delta == false`) clears the book; then each `[side, price, size]` sets the level
//! (`size == 0` removes it; removing an absent level changes nothing — svoe logged it). The
//! output is the book *after* the event: `bids` best first (descending), `asks` best first
//! (ascending), both of length `k = min(depth, #bids, #asks)` (`depth = -1`: the full book).
//!
//! `sampling`: `raw` (default) emits after every applied update; `skip_all` never; a duration
//! `S` emits when `ts − last emitted ts > S` (strict, event time, not bucket aligned; the first
//! applied update always emits). An output equal to the previous one is dropped (svoe's
//! `unique`), and so is a book with an empty side (svoe emitted it and crashed downstream).
//! Output: `timestamp, receipt_timestamp, bids, asks` with levels as `[price, size]`.

use super::common::{check_timed, field_index, float_at, record};
use crate::definition::{
    timed_schema, DepSpec, EventSchema, FeatureDefinition, FeatureLogic, FieldType, Output,
};
use crate::params::{ParamDefault, ParamSpec, ParamType, Params, Sampling};
use rill_core::{Error, Event, Timestamp, Value};
use std::collections::BTreeMap;

static PARAMS: [ParamSpec; 2] = [
    ParamSpec::new(
        "depth",
        ParamType::Int,
        ParamDefault::Int(25),
        "levels per side (-1: all)",
    ),
    ParamSpec::new(
        "sampling",
        ParamType::Sampling,
        ParamDefault::Text("raw"),
        "raw, skip_all or a minimum spacing",
    ),
];

/// The L2 snapshot feature.
pub struct L2Snapshot;

impl FeatureDefinition for L2Snapshot {
    fn name(&self) -> &'static str {
        "l2_book.l2_snapshot"
    }
    fn describe(&self) -> &'static str {
        "L2 book snapshots (top depth levels per side) from incremental updates"
    }
    fn params(&self) -> &'static [ParamSpec] {
        &PARAMS
    }
    fn deps(&self, _: &Params) -> Result<Vec<DepSpec>, String> {
        Ok(vec![DepSpec::definition(
            "source",
            "l2_book.cryptofeed_l2_inc",
        )])
    }
    fn output_schema(
        &self,
        params: &Params,
        inputs: &[&EventSchema],
    ) -> Result<EventSchema, String> {
        self.instantiate(params, inputs)?;
        Ok(timed_schema(&[
            ("bids", FieldType::List),
            ("asks", FieldType::List),
        ]))
    }
    fn instantiate(
        &self,
        params: &Params,
        inputs: &[&EventSchema],
    ) -> Result<Box<dyn FeatureLogic>, String> {
        let input = inputs[0];
        check_timed(input)?;
        let depth = params.int("depth");
        if depth == 0 || depth < -1 {
            return Err(format!(
                "depth must be -1 (full book) or at least 1, got {depth}"
            ));
        }
        Ok(Box::new(Book {
            delta: field_index(input, "delta", FieldType::Bool)?,
            orders: field_index(input, "orders", FieldType::List)?,
            depth: (depth > 0).then_some(depth as usize),
            sampling: params.sampling("sampling"),
            bids: BTreeMap::new(),
            asks: BTreeMap::new(),
            inited: false,
            last_emitted: None,
            last: None,
            top: (Vec::new(), Vec::new()),
        }))
    }
}

/// A price as a map key: floats ordered totally (prices are exact keys, as in svoe).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Price(f64);
impl Eq for Price {}
impl PartialOrd for Price {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Price {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&o.0)
    }
}

type Levels = Vec<(f64, f64)>;

struct Book {
    delta: usize,
    orders: usize,
    depth: Option<usize>,
    sampling: Sampling,
    bids: BTreeMap<Price, f64>,
    asks: BTreeMap<Price, f64>,
    inited: bool,
    last_emitted: Option<Timestamp>,
    /// The last output, for dropping an equal one: (timestamp, receipt, bids, asks).
    last: Option<(Value, Value, Levels, Levels)>,
    top: (Levels, Levels),
}

impl Book {
    /// Applies an update; false when it was skipped (a delta before the first snapshot).
    fn apply(&mut self, ev: &Event) -> Result<bool, Error> {
        let r = record(ev)?;
        let delta = r.get_at(self.delta).as_bool().unwrap_or(true);
        if delta && !self.inited {
            return Ok(false);
        }
        if !delta {
            self.inited = true;
            self.bids.clear();
            self.asks.clear();
        }
        let orders = r.get_at(self.orders).as_list().unwrap_or(&[]);
        for o in orders {
            let bad = || Error::field("orders", format!("expected [side, price, size], got {o}"));
            let [side, price, size] = o.as_list().ok_or_else(bad)? else {
                return Err(bad());
            };
            let (Some(price), Some(size)) = (price.as_f64(), size.as_f64()) else {
                return Err(bad());
            };
            let book = match side.as_str() {
                Some("bid") => &mut self.bids,
                Some("ask") => &mut self.asks,
                _ => return Err(bad()),
            };
            if size == 0.0 {
                book.remove(&Price(price));
            } else {
                book.insert(Price(price), size);
            }
        }
        Ok(true)
    }

    /// Emits the top of the book unless a side is empty or it equals the last output.
    fn snapshot(&mut self, ev: &Event, out: &mut Output<'_>) -> Result<(), Error> {
        let r = record(ev)?;
        let k = self.bids.len().min(self.asks.len());
        let k = self.depth.map_or(k, |d| d.min(k));
        if k == 0 {
            return Ok(());
        }
        let (bids, asks) = &mut self.top;
        bids.clear();
        asks.clear();
        bids.extend(self.bids.iter().rev().take(k).map(|(p, s)| (p.0, *s)));
        asks.extend(self.asks.iter().take(k).map(|(p, s)| (p.0, *s)));
        let (ts, rts) = (Value::Float(float_at(r, 0)?), Value::Float(float_at(r, 1)?));
        if let Some((lts, lrts, lb, la)) = &self.last {
            if *lts == ts && *lrts == rts && lb == bids && la == asks {
                return Ok(());
            }
        }
        let list = |l: &Levels| {
            Value::List(
                l.iter()
                    .map(|(p, s)| Value::List(vec![Value::Float(*p), Value::Float(*s)]))
                    .collect(),
            )
        };
        out.emit(
            ev.time,
            vec![ts.clone(), rts.clone(), list(bids), list(asks)],
        );
        self.last = Some((ts, rts, bids.clone(), asks.clone()));
        Ok(())
    }
}

impl FeatureLogic for Book {
    fn on_event(&mut self, _: usize, ev: &Event, out: &mut Output<'_>) -> Result<(), Error> {
        if !self.apply(ev)? {
            return Ok(());
        }
        match self.sampling {
            Sampling::Raw => self.snapshot(ev, out),
            Sampling::SkipAll => Ok(()),
            Sampling::Every(s) => {
                let due = self
                    .last_emitted
                    .is_none_or(|last| ev.time.nanos() - last.nanos() > s.nanos());
                if due {
                    self.last_emitted = Some(ev.time);
                    self.snapshot(ev, out)
                } else {
                    Ok(())
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rill_core::{Record, Schema};
    use std::sync::Arc;

    fn update(ts: f64, delta: bool, orders: &[(&str, f64, f64)]) -> Event {
        let orders = orders
            .iter()
            .map(|(s, p, q)| Value::List(vec![Value::from(*s), Value::Float(*p), Value::Float(*q)]))
            .collect();
        Event {
            body: Value::Record(Record::from_pairs([
                ("timestamp", Value::Float(ts)),
                ("receipt_timestamp", Value::Float(ts)),
                ("delta", Value::Bool(delta)),
                ("orders", Value::List(orders)),
            ])),
            time: crate::definition::secs_to_time(ts).unwrap(),
            ..Default::default()
        }
    }

    fn run(depth: i64, sampling: &str, events: &[Event]) -> Vec<(f64, Vec<Value>, Vec<Value>)> {
        let p = Params::resolve(
            &PARAMS,
            [
                ("depth", &serde_json::json!(depth)),
                ("sampling", &serde_json::json!(sampling)),
            ],
        )
        .unwrap();
        let input = crate::builtins::l2_inc::CryptofeedL2Inc;
        let in_schema = crate::DataSourceDefinition::schema(&input, &p);
        let mut logic = L2Snapshot.instantiate(&p, &[&in_schema]).unwrap();
        let schema: Arc<Schema> = Schema::new(["timestamp", "receipt_timestamp", "bids", "asks"]);
        let mut buf = Vec::new();
        for e in events {
            let mut out = Output {
                schema: &schema,
                out: &mut buf,
            };
            logic.on_event(0, e, &mut out).unwrap();
        }
        buf.iter()
            .map(|e| {
                let r = e.body.as_record().unwrap();
                (
                    r.get_at(0).as_f64().unwrap(),
                    r.get_at(2).as_list().unwrap().to_vec(),
                    r.get_at(3).as_list().unwrap().to_vec(),
                )
            })
            .collect()
    }

    fn lv(p: f64, s: f64) -> Value {
        Value::List(vec![Value::Float(p), Value::Float(s)])
    }

    #[test]
    fn skips_until_snapshot_sets_removes_and_truncates() {
        let evs = [
            update(1.0, true, &[("bid", 9.0, 1.0)]),
            update(
                2.0,
                false,
                &[
                    ("bid", 10.0, 1.0),
                    ("bid", 9.0, 2.0),
                    ("ask", 11.0, 3.0),
                    ("ask", 12.0, 4.0),
                ],
            ),
            update(3.0, true, &[("bid", 10.0, 0.0), ("ask", 11.5, 5.0)]),
            update(3.5, true, &[("bid", 8.0, 0.0)]), // absent level: the book is unchanged, the timestamp new
        ];
        let out = run(1, "raw", &evs);
        assert_eq!(
            out,
            vec![
                (2.0, vec![lv(10.0, 1.0)], vec![lv(11.0, 3.0)]),
                (3.0, vec![lv(9.0, 2.0)], vec![lv(11.0, 3.0)]),
                (3.5, vec![lv(9.0, 2.0)], vec![lv(11.0, 3.0)]),
            ]
        );
        let full = run(-1, "raw", &evs[..2]);
        assert_eq!(full[0].1, vec![lv(10.0, 1.0), lv(9.0, 2.0)]);
        assert_eq!(full[0].2, vec![lv(11.0, 3.0), lv(12.0, 4.0)]);
    }

    #[test]
    fn sampling_is_strictly_more_than_the_period() {
        let evs: Vec<Event> = [0.0, 0.5, 1.0, 1.001, 1.5, 2.2]
            .iter()
            .enumerate()
            .map(|(i, t)| {
                update(
                    100.0 + t,
                    i > 0,
                    &[("bid", 10.0, 1.0 + i as f64), ("ask", 11.0, 1.0)],
                )
            })
            .collect();
        let ts: Vec<f64> = run(5, "1s", &evs).iter().map(|o| o.0 - 100.0).collect();
        assert_eq!(ts.len(), 3);
        assert!(
            (ts[0] - 0.0).abs() < 1e-9
                && (ts[1] - 1.001).abs() < 1e-9
                && (ts[2] - 2.2).abs() < 1e-9,
            "{ts:?}"
        );
        assert!(run(5, "skip_all", &evs).is_empty());
    }
}
