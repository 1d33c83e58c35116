//! `trades.cryptofeed_trades`: one event per trade (cryptofeed's and Cryptotick's stored
//! trades share this schema).
//!
//! Schema: `timestamp, receipt_timestamp, side, amount, price, id`. Stored rows are projected
//! onto it (svoe defined no preprocessing for trades, so its batch path failed on them); `side`
//! is kept as stored (`buy`/`sell` or `BUY`/`SELL`), definitions read it case-insensitively.

use super::common::{ProjectRows, Projector, IDENTITY};
use crate::definition::{timed_schema, DataSourceDefinition, EventSchema, FieldType, Preprocess};
use crate::params::{ParamSpec, Params};
use rill_core::Schema;
use std::sync::Arc;

/// The trades data source.
pub struct CryptofeedTrades;

impl DataSourceDefinition for CryptofeedTrades {
    fn name(&self) -> &'static str {
        "trades.cryptofeed_trades"
    }
    fn describe(&self) -> &'static str {
        "trades: timestamp, receipt_timestamp, side, amount, price, id"
    }
    fn params(&self) -> &'static [ParamSpec] {
        &IDENTITY
    }
    fn schema(&self, _params: &Params) -> EventSchema {
        timed_schema(&[
            ("side", FieldType::Str),
            ("amount", FieldType::Float),
            ("price", FieldType::Float),
            ("id", FieldType::Str),
        ])
    }
    fn preprocessor(&self, params: &Params, schema: Arc<Schema>) -> Box<dyn Preprocess> {
        Box::new(ProjectRows(Projector::new(schema, &self.schema(params))))
    }
}
