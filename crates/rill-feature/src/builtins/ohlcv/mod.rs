//! `ohlcv.ohlcv`: open/high/low/close bars of trades (role `trades`, a
//! `trades.cryptofeed_trades`), re-specified as the gaps doc asks (svoe's OHLCVFD read fields
//! the trade schema no longer has, and stamped a bar with its first trade although it holds
//! later data).
//!
//! Bars are UTC-aligned buckets `[b, b + window)`. A bar is emitted when the first trade of a
//! later bucket arrives, stamped with its bucket's **end** `b + window` (`timestamp` and the
//! event time; `receipt_timestamp` is that of the bar's last trade), so a bar never carries data
//! from after its stamp. The first bucket is skipped (it is partial: the stream started inside
//! it, as svoe did); a bucket without trades has no bar; the last bar is emitted only when a
//! trade of a later bucket arrives. `volume = Σ amount`, `vwap = Σ price·amount / volume`,
//! `num_trades` = the trades in the bar. Output: `timestamp, receipt_timestamp, open, high,
//! low, close, volume, vwap, num_trades`.

use super::common::{bucket_start, check_timed, field_index, float_at, record};
use crate::definition::{
    timed_schema, DepSpec, EventSchema, FeatureDefinition, FeatureLogic, FieldType, Output,
};
use crate::params::{ParamDefault, ParamSpec, ParamType, Params};
use rill_core::{Duration, Error, Event, Timestamp, Value};

static PARAMS: [ParamSpec; 1] = [ParamSpec::new(
    "window",
    ParamType::Duration,
    ParamDefault::Text("1m"),
    "bar length (buckets aligned to UTC)",
)];

/// The OHLCV feature.
pub struct Ohlcv;

impl FeatureDefinition for Ohlcv {
    fn name(&self) -> &'static str {
        "ohlcv.ohlcv"
    }
    fn describe(&self) -> &'static str {
        "OHLCV bars of trades in UTC-aligned buckets, stamped at the bucket end"
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
            ("open", FieldType::Float),
            ("high", FieldType::Float),
            ("low", FieldType::Float),
            ("close", FieldType::Float),
            ("volume", FieldType::Float),
            ("vwap", FieldType::Float),
            ("num_trades", FieldType::Int),
        ]))
    }
    fn instantiate(
        &self,
        params: &Params,
        inputs: &[&EventSchema],
    ) -> Result<Box<dyn FeatureLogic>, String> {
        check_timed(inputs[0])?;
        Ok(Box::new(Bars {
            amount: field_index(inputs[0], "amount", FieldType::Float)?,
            price: field_index(inputs[0], "price", FieldType::Float)?,
            window: params.duration("window"),
            first_bucket: None,
            bar: None,
        }))
    }
}

struct Bar {
    bucket: Timestamp,
    rts: Value,
    open: f64,
    high: f64,
    low: f64,
    close: f64,
    volume: f64,
    value: f64,
    n: i64,
}

struct Bars {
    amount: usize,
    price: usize,
    window: Duration,
    first_bucket: Option<Timestamp>,
    bar: Option<Bar>,
}

impl FeatureLogic for Bars {
    fn on_event(&mut self, _: usize, ev: &Event, out: &mut Output<'_>) -> Result<(), Error> {
        let r = record(ev)?;
        let bucket = bucket_start(ev.time, self.window);
        if *self.first_bucket.get_or_insert(bucket) == bucket {
            return Ok(());
        }
        if self.bar.as_ref().is_some_and(|b| b.bucket != bucket) {
            let b = self.bar.take().expect("checked");
            let end = b.bucket.add(self.window);
            out.emit(
                end,
                vec![
                    Value::Float(end.secs_f64()),
                    b.rts,
                    Value::Float(b.open),
                    Value::Float(b.high),
                    Value::Float(b.low),
                    Value::Float(b.close),
                    Value::Float(b.volume),
                    Value::Float(b.value / b.volume),
                    Value::Int(b.n),
                ],
            );
        }
        let (p, q) = (float_at(r, self.price)?, float_at(r, self.amount)?);
        let b = self.bar.get_or_insert(Bar {
            bucket,
            rts: Value::Null,
            open: p,
            high: p,
            low: p,
            close: p,
            volume: 0.0,
            value: 0.0,
            n: 0,
        });
        b.rts = r.get_at(1).clone();
        b.high = b.high.max(p);
        b.low = b.low.min(p);
        b.close = p;
        b.volume += q;
        b.value += p * q;
        b.n += 1;
        Ok(())
    }
}
