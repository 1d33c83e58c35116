//! `ticker.cryptofeed_ticker`: best bid and ask.
//!
//! Schema: `timestamp, receipt_timestamp, bid, ask`; stored rows are projected onto it.

use super::common::{ProjectRows, Projector, IDENTITY};
use crate::definition::{timed_schema, DataSourceDefinition, EventSchema, FieldType, Preprocess};
use crate::params::{ParamSpec, Params};
use rill_core::Schema;
use std::sync::Arc;

/// The ticker data source.
pub struct CryptofeedTicker;

impl DataSourceDefinition for CryptofeedTicker {
    fn name(&self) -> &'static str {
        "ticker.cryptofeed_ticker"
    }
    fn describe(&self) -> &'static str {
        "best bid/ask: timestamp, receipt_timestamp, bid, ask"
    }
    fn params(&self) -> &'static [ParamSpec] {
        &IDENTITY
    }
    fn schema(&self, _params: &Params) -> EventSchema {
        timed_schema(&[("bid", FieldType::Float), ("ask", FieldType::Float)])
    }
    fn preprocessor(&self, params: &Params, schema: Arc<Schema>) -> Box<dyn Preprocess> {
        Box::new(ProjectRows(Projector::new(schema, &self.schema(params))))
    }
}
