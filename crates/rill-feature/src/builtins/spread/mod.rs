//! `spread.relative_bid_ask_spread`: `2·|b − a| / (b + a)` of the best bid `b` and ask `a` of
//! an L2 snapshot (role `l2_snapshot`), one output per snapshot; a snapshot with an empty side
//! yields nothing (svoe crashed on it). Output: `timestamp, receipt_timestamp, spread`.

use super::common::{check_timed, field_index, record, stamps};
use super::mid_price::best_price;
use crate::definition::{
    timed_schema, DepSpec, EventSchema, FeatureDefinition, FeatureLogic, FieldType, Output,
};
use crate::params::{ParamSpec, Params};
use rill_core::{Error, Event, Value};

/// The relative spread feature.
pub struct RelativeSpread;

impl FeatureDefinition for RelativeSpread {
    fn name(&self) -> &'static str {
        "spread.relative_bid_ask_spread"
    }
    fn describe(&self) -> &'static str {
        "relative bid/ask spread 2·|bid − ask| / (bid + ask) of an L2 snapshot"
    }
    fn params(&self) -> &'static [ParamSpec] {
        &[]
    }
    fn deps(&self, _: &Params) -> Result<Vec<DepSpec>, String> {
        Ok(vec![DepSpec::definition(
            "l2_snapshot",
            "l2_book.l2_snapshot",
        )])
    }
    fn output_schema(
        &self,
        params: &Params,
        inputs: &[&EventSchema],
    ) -> Result<EventSchema, String> {
        self.instantiate(params, inputs)?;
        Ok(timed_schema(&[("spread", FieldType::Float)]))
    }
    fn instantiate(
        &self,
        _: &Params,
        inputs: &[&EventSchema],
    ) -> Result<Box<dyn FeatureLogic>, String> {
        check_timed(inputs[0])?;
        Ok(Box::new(Spread {
            bids: field_index(inputs[0], "bids", FieldType::List)?,
            asks: field_index(inputs[0], "asks", FieldType::List)?,
        }))
    }
}

struct Spread {
    bids: usize,
    asks: usize,
}

impl FeatureLogic for Spread {
    fn on_event(&mut self, _: usize, ev: &Event, out: &mut Output<'_>) -> Result<(), Error> {
        let r = record(ev)?;
        let (Some(b), Some(a)) = (
            best_price(r.get_at(self.bids)),
            best_price(r.get_at(self.asks)),
        ) else {
            return Ok(());
        };
        let (ts, rts) = stamps(r);
        out.emit(
            ev.time,
            vec![ts, rts, Value::Float(2.0 * (b - a).abs() / (b + a))],
        );
        Ok(())
    }
}
