//! The definition of docs/features.md ("Defining a feature in Rust"), registered and run.

use rill_core::{Error, Event, Record, Value};
use rill_feature::*;
use std::sync::{Arc, Mutex};

/// `price.spread_bps`: (ask − bid) / mid in basis points, from a ticker.
struct SpreadBps;

static PARAMS: [ParamSpec; 1] = [ParamSpec::new(
    "scale",
    ParamType::Float,
    ParamDefault::Float(10_000.0),
    "multiplier (1e4 = bps)",
)];

impl FeatureDefinition for SpreadBps {
    fn name(&self) -> &'static str {
        "price.spread_bps"
    }
    fn version(&self) -> u32 {
        1
    }
    fn describe(&self) -> &'static str {
        "ticker spread in basis points"
    }
    fn params(&self) -> &'static [ParamSpec] {
        &PARAMS
    }
    fn deps(&self, _: &Params) -> Result<Vec<DepSpec>, String> {
        Ok(vec![DepSpec::definition(
            "ticker",
            "ticker.cryptofeed_ticker",
        )])
    }
    fn output_schema(&self, _: &Params, _: &[&EventSchema]) -> Result<EventSchema, String> {
        Ok(timed_schema(&[("spread_bps", FieldType::Float)]))
    }
    fn instantiate(
        &self,
        p: &Params,
        inputs: &[&EventSchema],
    ) -> Result<Box<dyn FeatureLogic>, String> {
        let pos = |n: &str| {
            inputs[0]
                .iter()
                .position(|f| f.name == n)
                .ok_or(format!("no field {n}"))
        };
        Ok(Box::new(Logic {
            bid: pos("bid")?,
            ask: pos("ask")?,
            scale: p.float("scale"),
        }))
    }
}

struct Logic {
    bid: usize,
    ask: usize,
    scale: f64,
}

impl FeatureLogic for Logic {
    fn on_event(&mut self, _input: usize, ev: &Event, out: &mut Output<'_>) -> Result<(), Error> {
        let r = ev.body.as_record().unwrap();
        let (b, a) = (
            r.get_at(self.bid).as_f64().unwrap(),
            r.get_at(self.ask).as_f64().unwrap(),
        );
        let v = (a - b) / ((a + b) / 2.0) * self.scale;
        out.emit(
            ev.time,
            vec![r.get_at(0).clone(), r.get_at(1).clone(), Value::Float(v)],
        );
        Ok(())
    }
}

#[test]
fn a_definition_written_in_rust_runs_from_a_config() {
    let mut registry = Registry::builtin();
    registry
        .register(Definition::Feature(Arc::new(SpreadBps)))
        .unwrap();
    let cfg = FeaturizerConfig::from_yaml(
        "feature_configs:\n  - {feature_definition: price.spread_bps, name: bps, params: {ticker: {name: t}}}",
    )
    .unwrap();
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink = got.clone();
    let mut fsg = FeatureStreamGraph::from_config(&cfg, &registry, move |g| {
        sink.lock()
            .unwrap()
            .push(g.value("bps", "spread_bps").unwrap().as_f64().unwrap())
    })
    .unwrap();
    let tick = Record::from_pairs([
        ("timestamp", Value::Float(1.0)),
        ("receipt_timestamp", Value::Float(1.0)),
        ("bid", Value::Float(99.0)),
        ("ask", Value::Float(101.0)),
    ]);
    fsg.emit_named_data_event(("t", Event::new(tick))).unwrap();
    assert_eq!(*got.lock().unwrap(), vec![200.0]);
    // a second registration of the same name is refused
    let e = registry
        .register(Definition::Feature(Arc::new(SpreadBps)))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "registry: a definition named 'price.spread_bps' is already registered"
    );
}
