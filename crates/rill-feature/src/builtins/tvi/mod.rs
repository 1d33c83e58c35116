//! `tvi.trade_volume_imb`: trade volume imbalance over the trailing window (role `trades`, a
//! `trades.cryptofeed_trades`).
//!
//! Each trade enters the window `[now − window, now]`; `buy` and `sell` are the running sums
//! of `price · amount` of the buy and sell trades in it (incremental, in svoe's order of
//! operations, so the floating-point values are svoe's); `tvi = 2·(buy − sell)/(buy + sell)`,
//! in `[−2, 2]`, and `0` when both are 0 (svoe divided by zero). Sides are read
//! case-insensitively (`buy`/`BUY`, `sell`/`SELL`; svoe counted lower-case `buy` as a sell);
//! another side is an error. State is per instance (svoe shared one queue between all
//! instances of a process, gaps B13).
//!
//! `sampling`: `raw` (default) emits for every trade with `dt_ts = -1` (svoe's value);
//! a duration `S` emits for the **first** trade of each UTC-aligned bucket of length `S`, with
//! `dt_ts` = the bucket start; `skip_all` never. An output equal to the previous one is
//! dropped. Output: `timestamp, receipt_timestamp, tvi, dt_ts`.

use super::common::{bucket_start, check_timed, field_index, float_at, record, stamps};
use super::common::{DedupConsecutive, Lookback};
use crate::definition::{
    timed_schema, DepSpec, EventSchema, FeatureDefinition, FeatureLogic, FieldType, Output,
};
use crate::params::{ParamDefault, ParamSpec, ParamType, Params, Sampling};
use rill_core::{Error, Event, Timestamp, Value};

static PARAMS: [ParamSpec; 2] = [
    ParamSpec::new(
        "window",
        ParamType::Duration,
        ParamDefault::Text("1m"),
        "look-back window",
    ),
    ParamSpec::new(
        "sampling",
        ParamType::Sampling,
        ParamDefault::Text("raw"),
        "raw, skip_all or a bucket size",
    ),
];

/// The trade volume imbalance feature.
pub struct TradeVolumeImbalance;

impl FeatureDefinition for TradeVolumeImbalance {
    fn name(&self) -> &'static str {
        "tvi.trade_volume_imb"
    }
    fn describe(&self) -> &'static str {
        "trade volume imbalance 2·(buy − sell)/(buy + sell) of the traded value in a trailing window"
    }
    fn params(&self) -> &'static [ParamSpec] {
        &PARAMS
    }
    fn deps(&self, _: &Params) -> Result<Vec<DepSpec>, String> {
        Ok(vec![DepSpec::definition(
            "trades",
            "trades.cryptofeed_trades",
        )])
    }
    fn output_schema(
        &self,
        params: &Params,
        inputs: &[&EventSchema],
    ) -> Result<EventSchema, String> {
        self.instantiate(params, inputs)?;
        Ok(timed_schema(&[
            ("tvi", FieldType::Float),
            ("dt_ts", FieldType::Float),
        ]))
    }
    fn instantiate(
        &self,
        params: &Params,
        inputs: &[&EventSchema],
    ) -> Result<Box<dyn FeatureLogic>, String> {
        let input = inputs[0];
        check_timed(input)?;
        Ok(Box::new(Tvi {
            side: field_index(input, "side", FieldType::Str)?,
            amount: field_index(input, "amount", FieldType::Float)?,
            price: field_index(input, "price", FieldType::Float)?,
            window: Lookback::new(params.duration("window")),
            sampling: params.sampling("sampling"),
            buy: 0.0,
            sell: 0.0,
            last_bucket: None,
            dedup: DedupConsecutive::default(),
            values: Vec::with_capacity(4),
        }))
    }
}

struct Tvi {
    side: usize,
    amount: usize,
    price: usize,
    /// (is a buy, traded value) per trade in the window.
    window: Lookback<(bool, f64)>,
    sampling: Sampling,
    buy: f64,
    sell: f64,
    last_bucket: Option<Timestamp>,
    dedup: DedupConsecutive,
    values: Vec<Value>,
}

fn is_buy(side: &Value) -> Result<bool, Error> {
    match side.as_str() {
        Some(s) if s.eq_ignore_ascii_case("buy") => Ok(true),
        Some(s) if s.eq_ignore_ascii_case("sell") => Ok(false),
        _ => Err(Error::field(
            "side",
            format!("expected buy or sell, got {side}"),
        )),
    }
}

impl FeatureLogic for Tvi {
    fn on_event(&mut self, _: usize, ev: &Event, out: &mut Output<'_>) -> Result<(), Error> {
        let r = record(ev)?;
        let buy = is_buy(r.get_at(self.side))?;
        let value = float_at(r, self.price)? * float_at(r, self.amount)?;
        let (b, s) = (&mut self.buy, &mut self.sell);
        self.window.push(ev.time, (buy, value), |(was_buy, v)| {
            if was_buy {
                *b -= v
            } else {
                *s -= v
            }
        });
        if buy {
            self.buy += value
        } else {
            self.sell += value
        }
        let total = self.buy + self.sell;
        let tvi = if total == 0.0 {
            0.0
        } else {
            2.0 * (self.buy - self.sell) / total
        };
        let dt = match self.sampling {
            Sampling::SkipAll => return Ok(()),
            Sampling::Raw => -1.0,
            Sampling::Every(size) => {
                let bucket = bucket_start(ev.time, size);
                if self.last_bucket == Some(bucket) {
                    return Ok(());
                }
                self.last_bucket = Some(bucket);
                bucket.secs_f64()
            }
        };
        let (ts, rts) = stamps(r);
        self.values.clear();
        self.values
            .extend([ts, rts, Value::Float(tvi), Value::Float(dt)]);
        if self.dedup.fresh(&self.values) {
            out.emit(ev.time, self.values.clone());
        }
        Ok(())
    }
}
