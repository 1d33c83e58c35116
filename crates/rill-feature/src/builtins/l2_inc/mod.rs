//! `l2_book.cryptofeed_l2_inc`: incremental L2 order book updates as cryptofeed records them.
//!
//! Stored rows (one per price level change): `timestamp, receipt_timestamp, delta, side
//! ('bid'|'ask'), price, size`; `delta == false` rows form a full snapshot, `size == 0` on a
//! delta removes the level. Event schema: `timestamp, receipt_timestamp, delta, orders`, with
//! `orders` a list of `[side, price, size]` in row order and `receipt_timestamp` the one of the
//! group's first row.
//!
//! Preprocessing groups the rows of one timestamp. `row_order` says how (svoe bug B31):
//! * `arrival` (default): each run of consecutive rows with the same `(timestamp, delta)` is
//!   one event, in file order — delta rows recorded before a snapshot apply before it.
//! * `svoe`: svoe's `groupby(timestamp, delta)`: per timestamp, all snapshot rows form one
//!   event applied *before* all delta rows of that timestamp, whatever the file order.

use super::common::{event_time, IDENTITY};
use crate::definition::{timed_schema, DataSourceDefinition, EventSchema, FieldType, Preprocess};
use crate::params::{ParamDefault, ParamSpec, ParamType, Params};
use rill_core::{Event, FieldSlot, Record, Schema, Str, Value};
use std::sync::Arc;

static PARAMS: [ParamSpec; 4] = [
    IDENTITY[0],
    IDENTITY[1],
    IDENTITY[2],
    ParamSpec::new(
        "row_order",
        ParamType::Choice(&["arrival", "svoe"]),
        ParamDefault::Text("arrival"),
        "grouping of same-timestamp rows: arrival (file order) or svoe (snapshot rows first)",
    ),
];

/// The cryptofeed L2 incremental data source.
pub struct CryptofeedL2Inc;

impl DataSourceDefinition for CryptofeedL2Inc {
    fn name(&self) -> &'static str {
        "l2_book.cryptofeed_l2_inc"
    }
    fn describe(&self) -> &'static str {
        "L2 book updates: timestamp, receipt_timestamp, delta, orders [[side, price, size], ...]"
    }
    fn params(&self) -> &'static [ParamSpec] {
        &PARAMS
    }
    fn schema(&self, _params: &Params) -> EventSchema {
        timed_schema(&[("delta", FieldType::Bool), ("orders", FieldType::List)])
    }
    fn preprocessor(&self, params: &Params, schema: Arc<Schema>) -> Box<dyn Preprocess> {
        Box::new(GroupRows {
            schema,
            svoe_order: params.str("row_order") == "svoe",
            slots: [
                "timestamp",
                "receipt_timestamp",
                "delta",
                "side",
                "price",
                "size",
            ]
            .map(FieldSlot::new),
            ts: None,
            rows: Vec::new(),
        })
    }
}

/// One stored row, decoded.
struct Row {
    rts: f64,
    delta: bool,
    side: Str,
    price: f64,
    size: f64,
}

struct GroupRows {
    schema: Arc<Schema>,
    svoe_order: bool,
    slots: [FieldSlot; 6],
    /// The timestamp of the rows held (bits of the float, compared exactly as svoe's groupby).
    ts: Option<f64>,
    rows: Vec<Row>,
}

impl GroupRows {
    fn decode(&self, row: &Event) -> Result<(f64, Row), String> {
        let rec = row
            .body
            .as_record()
            .ok_or_else(|| "expected a record".to_string())?;
        let get = |i: usize| {
            self.slots[i]
                .get(rec)
                .ok_or_else(|| format!("field '{}' is missing", self.slots[i].name()))
        };
        let num = |i: usize| {
            get(i)?
                .as_f64()
                .filter(|f| f.is_finite())
                .ok_or_else(|| format!("field '{}' is not a finite number", self.slots[i].name()))
        };
        let delta = get(2)?
            .as_bool()
            .ok_or_else(|| "field 'delta' is not a boolean".to_string())?;
        let side = match get(3)?.as_str() {
            Some(s @ ("bid" | "ask")) => Str::from(s),
            _ => return Err(format!("field 'side' is {}, not 'bid' or 'ask'", get(3)?)),
        };
        Ok((
            num(0)?,
            Row {
                rts: num(1)?,
                delta,
                side,
                price: num(4)?,
                size: num(5)?,
            },
        ))
    }

    fn group(&self, ts: f64, rows: &[&Row], out: &mut Vec<Event>) {
        let orders = rows
            .iter()
            .map(|r| {
                Value::List(vec![
                    Value::Str(r.side.clone()),
                    Value::Float(r.price),
                    Value::Float(r.size),
                ])
            })
            .collect();
        let values = vec![
            Value::Float(ts),
            Value::Float(rows[0].rts),
            Value::Bool(rows[0].delta),
            Value::List(orders),
        ];
        out.push(Event {
            body: Value::Record(Record::new(self.schema.clone(), values)),
            time: event_time(&Value::Float(ts)).expect("checked finite"),
            ..Default::default()
        });
    }

    fn flush(&mut self, out: &mut Vec<Event>) {
        let Some(ts) = self.ts.take() else { return };
        let rows = std::mem::take(&mut self.rows);
        if self.svoe_order {
            for delta in [false, true] {
                let g: Vec<&Row> = rows.iter().filter(|r| r.delta == delta).collect();
                if !g.is_empty() {
                    self.group(ts, &g, out);
                }
            }
        } else {
            let mut start = 0;
            for i in 1..=rows.len() {
                if i == rows.len() || rows[i].delta != rows[start].delta {
                    let g: Vec<&Row> = rows[start..i].iter().collect();
                    self.group(ts, &g, out);
                    start = i;
                }
            }
        }
        self.rows = rows;
        self.rows.clear();
    }
}

impl Preprocess for GroupRows {
    fn push(&mut self, row: &Event, out: &mut Vec<Event>) -> Result<(), String> {
        let (ts, r) = self.decode(row)?;
        if self.ts != Some(ts) {
            self.flush(out);
            self.ts = Some(ts);
        }
        self.rows.push(r);
        Ok(())
    }
    fn finish(&mut self, out: &mut Vec<Event>) {
        self.flush(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definition::Field;

    fn row(ts: f64, delta: bool, side: &str, price: f64) -> Event {
        Event::new(Record::from_pairs([
            ("timestamp", Value::Float(ts)),
            ("receipt_timestamp", Value::Float(ts + 0.5)),
            ("delta", Value::Bool(delta)),
            ("side", Value::from(side)),
            ("price", Value::Float(price)),
            ("size", Value::Float(1.0)),
        ]))
    }

    fn groups(order: &str, rows: &[Event]) -> Vec<(f64, bool, Vec<f64>)> {
        let specs = CryptofeedL2Inc.params();
        let o = serde_json::Value::from(order);
        let params = Params::resolve(specs, [("row_order", &o)]).unwrap();
        let types: Vec<Field> = CryptofeedL2Inc.schema(&params);
        let schema = Schema::new(types.iter().map(|f| f.name.as_str()));
        let mut p = CryptofeedL2Inc.preprocessor(&params, schema);
        let mut out = Vec::new();
        for r in rows {
            p.push(r, &mut out).unwrap();
        }
        p.finish(&mut out);
        out.iter()
            .map(|e| {
                let r = e.body.as_record().unwrap();
                let prices = r.get_at(3).as_list().unwrap().iter();
                (
                    r.get_at(0).as_f64().unwrap(),
                    r.get_at(2).as_bool().unwrap(),
                    prices
                        .map(|o| o.as_list().unwrap()[1].as_f64().unwrap())
                        .collect(),
                )
            })
            .collect()
    }

    #[test]
    fn same_timestamp_rows_group_by_arrival_or_svoe_order() {
        let rows = [
            row(1.0, true, "bid", 10.0),
            row(2.0, true, "bid", 11.0),
            row(2.0, false, "bid", 12.0),
            row(2.0, false, "ask", 13.0),
            row(2.0, true, "ask", 14.0),
            row(3.0, true, "ask", 15.0),
        ];
        assert_eq!(
            groups("arrival", &rows),
            vec![
                (1.0, true, vec![10.0]),
                (2.0, true, vec![11.0]),
                (2.0, false, vec![12.0, 13.0]),
                (2.0, true, vec![14.0]),
                (3.0, true, vec![15.0]),
            ]
        );
        assert_eq!(
            groups("svoe", &rows),
            vec![
                (1.0, true, vec![10.0]),
                (2.0, false, vec![12.0, 13.0]),
                (2.0, true, vec![11.0, 14.0]),
                (3.0, true, vec![15.0]),
            ]
        );
    }
}
