//! `price.mid_price`: `(best bid + best ask) / 2`, one output per input.
//!
//! `dep_schema` chooses the dependency: `l2_book` (default) → an `l2_book.l2_snapshot` (role
//! `l2_snapshot`): `(bids[0].price + asks[0].price) / 2`; `ticker` → a
//! `ticker.cryptofeed_ticker` (role `ticker`): `(bid + ask) / 2`. A snapshot with an empty
//! side has no mid price and yields nothing (svoe crashed on it). svoe's `sampling` param was
//! ignored, so it is not declared. Output: `timestamp, receipt_timestamp, mid_price`.

use super::common::{check_timed, field_index, float_at, record, stamps};
use crate::definition::{
    timed_schema, DepSpec, EventSchema, FeatureDefinition, FeatureLogic, FieldType, Output,
};
use crate::params::{ParamDefault, ParamSpec, ParamType, Params};
use rill_core::{Error, Event, Value};

static PARAMS: [ParamSpec; 1] = [ParamSpec::new(
    "dep_schema",
    ParamType::Choice(&["l2_book", "ticker"]),
    ParamDefault::Text("l2_book"),
    "the input: l2_book (an L2 snapshot) or ticker",
)];

/// The mid price feature.
pub struct MidPrice;

impl FeatureDefinition for MidPrice {
    fn name(&self) -> &'static str {
        "price.mid_price"
    }
    fn describe(&self) -> &'static str {
        "mid price (best bid + best ask) / 2 from an L2 snapshot or a ticker"
    }
    fn params(&self) -> &'static [ParamSpec] {
        &PARAMS
    }
    fn deps(&self, params: &Params) -> Result<Vec<DepSpec>, String> {
        Ok(match params.str("dep_schema") {
            "ticker" => vec![DepSpec::definition("ticker", "ticker.cryptofeed_ticker")],
            _ => vec![DepSpec::definition("l2_snapshot", "l2_book.l2_snapshot")],
        })
    }
    fn output_schema(
        &self,
        params: &Params,
        inputs: &[&EventSchema],
    ) -> Result<EventSchema, String> {
        self.instantiate(params, inputs)?;
        Ok(timed_schema(&[("mid_price", FieldType::Float)]))
    }
    fn instantiate(
        &self,
        params: &Params,
        inputs: &[&EventSchema],
    ) -> Result<Box<dyn FeatureLogic>, String> {
        let input = inputs[0];
        check_timed(input)?;
        Ok(match params.str("dep_schema") {
            "ticker" => Box::new(FromTicker {
                bid: field_index(input, "bid", FieldType::Float)?,
                ask: field_index(input, "ask", FieldType::Float)?,
            }),
            _ => Box::new(FromBook {
                bids: field_index(input, "bids", FieldType::List)?,
                asks: field_index(input, "asks", FieldType::List)?,
            }),
        })
    }
}

struct FromTicker {
    bid: usize,
    ask: usize,
}

impl FeatureLogic for FromTicker {
    fn on_event(&mut self, _: usize, ev: &Event, out: &mut Output<'_>) -> Result<(), Error> {
        let r = record(ev)?;
        let mid = (float_at(r, self.bid)? + float_at(r, self.ask)?) / 2.0;
        let (ts, rts) = stamps(r);
        out.emit(ev.time, vec![ts, rts, Value::Float(mid)]);
        Ok(())
    }
}

struct FromBook {
    bids: usize,
    asks: usize,
}

/// The price of the best level of a side (`[[price, size], …]`), if any.
pub(crate) fn best_price(side: &Value) -> Option<f64> {
    side.as_list()?.first()?.as_list()?.first()?.as_f64()
}

impl FeatureLogic for FromBook {
    fn on_event(&mut self, _: usize, ev: &Event, out: &mut Output<'_>) -> Result<(), Error> {
        let r = record(ev)?;
        let (Some(b), Some(a)) = (
            best_price(r.get_at(self.bids)),
            best_price(r.get_at(self.asks)),
        ) else {
            return Ok(());
        };
        let (ts, rts) = stamps(r);
        out.emit(ev.time, vec![ts, rts, Value::Float((b + a) / 2.0)]);
        Ok(())
    }
}
