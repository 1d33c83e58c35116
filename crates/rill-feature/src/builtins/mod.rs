//! The built-in definitions, one module each, registered in ONE list: [`all`].

pub mod common;
pub mod diff;
pub mod ewma;
pub mod l2_inc;
pub mod l2_snapshot;
pub mod mid_price;
pub mod min_max;
pub mod ohlcv;
pub mod spread;
pub mod synthetic_sine;
pub mod ticker;
pub mod trades;
pub mod tvi;
pub mod volatility;

use crate::definition::Definition;
use std::sync::Arc;

/// Every built-in definition. A new built-in is a module above and one line here.
pub fn all() -> Vec<Definition> {
    vec![
        // data sources
        Definition::Source(Arc::new(trades::CryptofeedTrades)),
        Definition::Source(Arc::new(ticker::CryptofeedTicker)),
        Definition::Source(Arc::new(l2_inc::CryptofeedL2Inc)),
        Definition::Source(Arc::new(synthetic_sine::SyntheticSine)),
        // features
        Definition::Feature(Arc::new(l2_snapshot::L2Snapshot)),
        Definition::Feature(Arc::new(mid_price::MidPrice)),
        Definition::Feature(Arc::new(volatility::VolatilityStddev)),
        Definition::Feature(Arc::new(spread::RelativeSpread)),
        Definition::Feature(Arc::new(tvi::TradeVolumeImbalance)),
        Definition::Feature(Arc::new(ohlcv::Ohlcv)),
        // transforms
        Definition::Feature(Arc::new(diff::Diff)),
        Definition::Feature(Arc::new(ewma::Ewma)),
        Definition::Feature(Arc::new(min_max::MinMaxScaling)),
    ]
}
