//! Sources and targets inside a real flow: chained targets, rejects to a dead-letter target.

use rill_core::Value;
use rill_flow::{ErrorPolicy, Flow};
use rill_io::{
    CsvSourceConfig, CsvTargetConfig, JsonlTargetConfig, ParquetSourceConfig, ParquetTargetConfig,
    SourceConfig, TargetConfig,
};

#[test]
fn csv_to_chained_targets_with_dead_letters() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    std::fs::write(
        &input,
        "time,user,click\n2020-07-21T21:40:00Z,u1,1\n2020-07-21T21:41:00Z,,2\n2020-07-21T21:42:00Z,u2,3\n",
    )
    .unwrap();
    let out = |name: &str| dir.path().join("out").join(name).display().to_string();
    let mut src_cfg = CsvSourceConfig::new(input.display().to_string());
    src_cfg.key = Some("user".into());
    src_cfg.time = Some("time".into());
    let mut source = SourceConfig::Csv(src_cfg).build().unwrap();

    let target = |cfg: TargetConfig| cfg.factory();
    let mut csv_cfg = CsvTargetConfig::new(out("a.csv"));
    csv_cfg.columns = Some(vec!["user=$key".into(), "$time".into(), "click".into()]);
    let mut flow = Flow::new();
    flow.then_factory("csv", target(TargetConfig::Csv(csv_cfg)));
    flow.then_factory(
        "jsonl",
        target(TargetConfig::Jsonl(JsonlTargetConfig::new(out("b.jsonl")))),
    );
    flow.then_factory(
        "parquet",
        target(TargetConfig::Parquet(ParquetTargetConfig::new(out(
            "c.parquet",
        )))),
    );
    flow.set_dead_letter(target(TargetConfig::Jsonl(JsonlTargetConfig::new(out(
        "dead.jsonl",
    )))));
    let outcome = flow
        .error_policy(ErrorPolicy::DeadLetter)
        .run(source.as_mut())
        .unwrap();

    assert_eq!(outcome.summary.records_read, 3);
    assert_eq!(outcome.summary.records_rejected, 1);
    assert_eq!(
        std::fs::read_to_string(out("a.csv")).unwrap(),
        "user,time,click\nu1,2020-07-21T21:40:00+00:00,1\nu2,2020-07-21T21:42:00+00:00,3\n"
    );
    // the jsonl and parquet targets got the events the csv target passed on
    assert_eq!(
        std::fs::read_to_string(out("b.jsonl"))
            .unwrap()
            .lines()
            .count(),
        2
    );
    let mut pq = SourceConfig::Parquet(ParquetSourceConfig::new(out("c.parquet")))
        .build()
        .unwrap();
    let mut batch = rill_flow::SourceBatch::default();
    while pq.next_batch(&mut batch, 100).unwrap() {}
    let clicks: Vec<Value> = batch
        .events
        .iter()
        .map(|e| e.body.get("click").unwrap().clone())
        .collect();
    assert_eq!(clicks, [Value::Int(1), Value::Int(3)]);
    // the rejected row is kept, with its raw text and the reason
    let dead = std::fs::read_to_string(out("dead.jsonl")).unwrap();
    let dead: serde_json::Value = serde_json::from_str(&dead).unwrap();
    assert_eq!(
        dead["error"],
        format!("{}, record 3: field 'user': key is empty", input.display())
    );
    assert_eq!(dead["record"], 3);
    assert_eq!(dead["body"], "2020-07-21T21:41:00Z,,2");
}
