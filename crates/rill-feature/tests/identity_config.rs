//! Identity (content hashes), dedup, and the YAML config's errors.

mod common;
use rill_core::{Event, Record, Value};
use rill_feature::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

const VOL: &str = r#"
feature_configs:
  - feature_definition: volatility.volatility_stddev
    name: vol
    params:
      window: 1m
      mid_price: {dep_schema: ticker, ticker: {name: tick, exchange: BINANCE, symbol: NEO-USDT}}
"#;

#[test]
fn hash_is_a_pinned_constant() {
    // the same in every process and on every platform: a change of this value is a change of
    // every stored feature key, and must come with a new encoding domain
    let fs = common::features(VOL);
    assert_eq!(
        fs[0].id().hex(),
        "da443beaed2838c685efcb805b0bda7ded05789cfe20aa53f2ac48d9b2f3f3f0",
        "recompute only if the canonical encoding changed on purpose"
    );
}

#[test]
fn map_order_names_and_explicit_defaults_do_not_change_the_hash() {
    let a = common::features(VOL);
    let swapped = r#"
feature_configs:
  - name: other_name
    params:
      mid_price: {ticker: {symbol: NEO-USDT, exchange: BINANCE}, dep_schema: ticker}
      precision: f64
      window: 60s
    feature_definition: volatility.volatility_stddev
"#;
    let b = common::features(swapped);
    assert_eq!(a[0].id(), b[0].id());
    assert_eq!(a[0].id().short().len(), 8);
}

#[test]
fn different_params_types_versions_or_labels_change_the_hash() {
    let base = common::features(VOL)[0].id();
    let other = VOL.replace("window: 1m", "window: 2m");
    assert_ne!(common::features(&other)[0].id(), base);
    let src = other.replace("NEO-USDT", "BTC-USDT");
    assert_ne!(
        common::features(&src)[0].id(),
        common::features(&other)[0].id()
    );
    // the same text as another type: a synthetic source's float `step` vs an int `num_splits`
    let reg = Registry::builtin();
    let p = |k: &str| {
        let mut m = serde_json::Map::new();
        for (n, v) in [("amplitude", 1), ("mean", 1), ("freq", 1)] {
            m.insert(n.into(), v.into());
        }
        m.insert(k.into(), 2.into());
        Feature::build(&reg, "synthetic.synthetic_sine_mid_price", &m, None).unwrap()
    };
    assert_ne!(p("step").id(), p("num_splits").id());
    let f = &common::features(VOL)[0];
    assert_ne!(f.as_label().id(), f.id());
    assert_eq!(f.as_label().name(), Some("label_vol"));
    assert_eq!(f.with_name("x").id(), f.id());
}

/// A definition counting how often its logic is instantiated.
struct Counting(Arc<AtomicUsize>);
struct Pass;
impl FeatureLogic for Pass {
    fn on_event(
        &mut self,
        _: usize,
        ev: &Event,
        out: &mut Output<'_>,
    ) -> Result<(), rill_core::Error> {
        let r = ev.body.as_record().unwrap();
        out.emit(ev.time, r.values().to_vec());
        Ok(())
    }
}
impl FeatureDefinition for Counting {
    fn name(&self) -> &'static str {
        "test.counting"
    }
    fn describe(&self) -> &'static str {
        "passes its input on"
    }
    fn params(&self) -> &'static [ParamSpec] {
        &[]
    }
    fn deps(&self, _: &Params) -> Result<Vec<DepSpec>, String> {
        Ok(vec![DepSpec::definition(
            "ticker",
            "ticker.cryptofeed_ticker",
        )])
    }
    fn output_schema(&self, _: &Params, inputs: &[&EventSchema]) -> Result<EventSchema, String> {
        Ok(inputs[0].clone())
    }
    fn instantiate(&self, _: &Params, _: &[&EventSchema]) -> Result<Box<dyn FeatureLogic>, String> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(Box::new(Pass))
    }
}

#[test]
fn shared_sub_graphs_are_instantiated_once() {
    let n = Arc::new(AtomicUsize::new(0));
    let mut reg = Registry::builtin();
    reg.register(Definition::Feature(Arc::new(Counting(n.clone()))))
        .unwrap();
    let cfg = FeaturizerConfig::from_yaml(
        r#"
feature_configs:
  - {feature_definition: test.counting, name: a, params: {ticker: {name: t}}}
  - {feature_definition: test.counting, name: b}
"#,
    )
    .unwrap();
    let fs = cfg.build(&reg).unwrap();
    // a and b are one node (names are aliases); the ticker under them once
    let graph = CompiledGraph::new(&fs).unwrap();
    assert_eq!(graph.node_count(), 2);
    assert_eq!(graph.source_names(), vec!["t"]);
    let mut fsg = FeatureStreamGraph::without_callback(&fs).unwrap();
    assert_eq!(n.load(Ordering::SeqCst), 1);
    let tick = Record::from_pairs([
        ("timestamp", Value::Float(1.0)),
        ("receipt_timestamp", Value::Float(1.0)),
        ("bid", Value::Float(1.0)),
        ("ask", Value::Float(3.0)),
    ]);
    fsg.emit_named_data_event(("t", Event::new(tick))).unwrap();
    let g = fsg.latest();
    assert_eq!(g.names(), &["a"]);
    assert_eq!(g.value("a", "ask"), Some(&Value::Float(3.0)));
    assert_eq!(n.load(Ordering::SeqCst), 1);
}

fn err(yaml: &str) -> String {
    match FeaturizerConfig::from_yaml(yaml) {
        Err(e) => e.to_string(),
        Ok(c) => c
            .build(&Registry::builtin())
            .map(|_| ())
            .unwrap_err()
            .to_string(),
    }
}

#[test]
fn bad_configs_name_the_path() {
    let e = err("feature_configs:\n  - {feature_definition: price.mid_prise}");
    assert!(e.starts_with("feature_configs[0].feature_definition: unknown definition 'price.mid_prise' (did you mean 'price.mid_price'?)"), "{e}");
    let e = err("feature_configs:\n  - {feature_definition: price.mid_price, params: {dep_schema: ticker, ticker: {symbl: X}}}");
    assert!(
        e.starts_with(
            "feature_configs[0].params.ticker.symbl: unknown param (did you mean 'symbol'?)"
        ),
        "{e}"
    );
    let e = err("feature_configs:\n  - {feature_definition: volatility.volatility_stddev, params: {window: 10}}");
    assert_eq!(
        e,
        "feature_configs[0].params.window: expected a duration such as 1s or 1m, found 10"
    );
    let e = err(
        "feature_configs:\n  - {feature_definition: l2_book.l2_snapshot, params: {depth: 2.5}}",
    );
    assert_eq!(
        e,
        "feature_configs[0].params.depth: expected an integer, found 2.5"
    );
    let e =
        err("feature_configs:\n  - {feature_definition: transforms.diff, name: d, deps: [nope]}");
    assert_eq!(e, "feature_configs[0].deps[0]: no feature named 'nope'");
    let e = err("feature_configs:\n  - {feature_definition: transforms.diff, name: a, deps: [b]}\n  - {feature_definition: transforms.ewma, name: b, params: {alpha: 0.5}, deps: [a]}");
    assert_eq!(e, "feature_configs[0].deps: dependency cycle: a -> b -> a");
    let e = err("feature_configs:\n  - {feature_definition: transforms.diff}");
    assert!(
        e.starts_with("feature_configs[0].deps: transforms.diff is a transform"),
        "{e}"
    );
    let e = err("feature_configs:\n  - {feature_definition: price.mid_price, params: {dep_schema: ticker, ticker: {name: t}}}\n  - {feature_definition: transforms.diff, deps: [t]}");
    assert!(e.starts_with("feature_configs[1].deps: transforms.diff: it needs an input with exactly one value field"), "{e}");
    let e = err("feature_configs:\n  - {feature_definition: price.mid_price, nmae: x}");
    assert!(e.contains("unknown field `nmae`"), "{e}");
    let e = err(
        "feature_configs:\n  - {feature_definition: price.mid_price, name: m}\nlabel_feature: x",
    );
    assert_eq!(e, "label_feature: no feature named 'x'");
}

#[test]
fn building_does_not_touch_the_config() {
    let cfg = FeaturizerConfig::from_yaml(VOL).unwrap();
    let copy = cfg.clone();
    let a = cfg.build(&Registry::builtin()).unwrap();
    let b = cfg.build(&Registry::builtin()).unwrap();
    assert_eq!(cfg, copy);
    assert_eq!(a[0].id(), b[0].id());
}
