//! Configuration errors through the real binary: each names the file, line and column, and the
//! path in the file, once, in plain words (`error: p.yaml:9:21: steps.0…: what is wrong`), and
//! exits 2 without reading input or creating anything.

mod common;

use common::rill;

const CSV: &str =
    "time,user,click,amount\n2020-01-01T00:00:00Z,u1,1,2.5\n2020-01-01T00:05:00Z,u2,0,1.0\n";

/// A directory holding `in.csv` and `p.yaml` with `yaml`.
fn setup(yaml: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.csv"), CSV).unwrap();
    std::fs::write(dir.path().join("p.yaml"), yaml).unwrap();
    dir
}

/// `rill validate p.yaml` (plus `extra` arguments) fails with exit 2 and exactly `message`,
/// and `rill run` fails the same way without creating its output directory.
fn fails(yaml: &str, extra: &[&str], message: &str) {
    let dir = setup(yaml);
    for cmd in ["validate", "run"] {
        let mut args = vec![cmd, "p.yaml"];
        args.extend(extra);
        let out = rill(dir.path(), &args);
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            format!("error: {message}\n"),
            "rill {cmd}"
        );
        assert_eq!(out.status.code(), Some(2), "rill {cmd}");
        assert!(out.stdout.is_empty(), "rill {cmd}");
        assert!(!dir.path().join("out").exists(), "rill {cmd} created out/");
    }
}

#[test]
fn an_unknown_option_is_placed_at_its_key_with_a_suggestion() {
    fails(
        "source:\n  csv: {path: in.csv, kye: user}\n",
        &[],
        "p.yaml:2:23: source.csv: unknown option \"kye\"; did you mean \"key\"?",
    );
    fails(
        "source: {csv: {path: in.csv}}\nstepz: []\n",
        &[],
        "p.yaml:2:1: unknown option \"stepz\"; did you mean \"steps\"?",
    );
    fails(
        "source: {csv: {path: in.csv, colour: red}}\n",
        &[],
        "p.yaml:1:30: source.csv: unknown option \"colour\"; expected one of path, header, columns, delimiter, key, time, time_format, timezone, id, types, max_field_bytes",
    );
}

#[test]
fn unknown_kinds_name_what_they_are() {
    fails(
        "source: {csv: {path: in.csv}}\nsteps:\n  - mapp: \"body\"\n",
        &[],
        "p.yaml:3:5: steps.0: unknown step \"mapp\"; did you mean \"map\"?",
    );
    fails(
        "source: {xml: {path: in.csv}}\n",
        &[],
        "p.yaml:1:10: source: unknown source format \"xml\"; expected one of csv, jsonl, parquet",
    );
    fails(
        "source: {csv: {path: in.csv}}\nerror_policy: dead_lettr\n",
        &[],
        "p.yaml:2:15: error_policy: unknown error policy \"dead_lettr\"; did you mean \"dead_letter\"?",
    );
}

const AGG: &str = "source:\n  csv: {path: in.csv, key: user, time: time}\nsteps:\n  - aggregate_by_key:\n      aggregates:\n        - name: clicks\n          field: click\n          ops: [count]\n";

#[test]
fn windows_durations_and_ops_are_placed_at_the_value_at_fault() {
    fails(
        &format!("{AGG}          windows: {{slidin: [1h]}}\n"),
        &[],
        "p.yaml:9:21: steps.0.aggregate_by_key.aggregates.0.windows: unknown option \"slidin\"; did you mean \"sliding\"?",
    );
    fails(
        &format!("{AGG}          windows: {{sliding: [1h, 2x], period: 10m}}\n"),
        &[],
        "p.yaml:9:35: steps.0.aggregate_by_key.aggregates.0.windows.sliding.1: '2x' is not a duration: use <integer><unit> with unit ms, s, m, h, d or w (e.g. 10m)",
    );
    fails(
        &format!("{AGG}          windows: {{sliding: [1h], period: 7m}}\n"),
        &[],
        "p.yaml:6:11: steps.0.aggregate_by_key.aggregates.0: aggregator 'clicks': period 7m does not divide window '1h' (each window must be a whole number of periods)",
    );
    fails(
        &format!("{AGG}          windows: {{sliding: [1h]}}\n          filter: \"click ==\"\n"),
        &[],
        "p.yaml:10:19: steps.0.aggregate_by_key.aggregates.0.filter: expression `click ==`: column 9: expected a value, name or '(', found end of input",
    );
    fails(
        &format!("{AGG}          windows: {{sliding: [1h]}}\n").replace("[count]", "[count, avgg]"),
        &[],
        "p.yaml:8:24: steps.0.aggregate_by_key.aggregates.0.ops.1: unknown aggregation 'avgg': use count, sum, sqr, min, max, first, last, avg, stdvar, stddev, count_distinct, approx_count_distinct, or a quantile such as p50, p99.9 or quantile_0.95",
    );
}

#[test]
fn expressions_are_compiled_and_placed() {
    fails(
        "source: {csv: {path: in.csv}}\nsteps:\n  - filter: \"click >\"\n",
        &[],
        "p.yaml:3:13: steps.0.filter: expression `click >`: column 8: expected a value, name or '(', found end of input",
    );
    fails(
        "source: {csv: {path: in.csv}}\nsteps:\n  - choice:\n      routes:\n        - {name: big, when: \"amount >>\", targets: [{csv: {path: b.csv}}]}\n",
        &[],
        "p.yaml:5:29: steps.0.choice.routes.0.when: expression `amount >>`: column 9: expected a value, name or '(', found '>'",
    );
}

#[test]
fn routes_and_recovery_chains_need_somewhere_to_go_and_their_own_names() {
    let choice = "source: {csv: {path: in.csv}}\nsteps:\n  - filter: \"true\"\n  - choice:\n      routes:\n        - {name: a, when: \"true\", targets: [{csv: {path: a.csv}}]}\n";
    fails(
        &format!("{choice}        - {{name: b, when: \"true\"}}\n"),
        &[],
        "p.yaml:7:11: steps.1.choice.routes.1: this route has no steps and no targets: give it `steps` or `targets`",
    );
    fails(
        &format!("{choice}        - {{name: filter, when: \"true\", targets: [{{csv: {{path: b.csv}}}}]}}\n"),
        &[],
        "p.yaml:7:18: steps.1.choice.routes.1.name: route name 'filter' is taken (by another route, a step, or `otherwise`): give each route its own name",
    );
    fails(
        "source: {csv: {path: in.csv}}\nsteps:\n  - filter: \"true\"\n  - recover: {}\n",
        &[],
        "p.yaml:4:14: steps.1.recover: this recovery chain has no steps and no targets: give it `steps` or `targets`",
    );
}

#[test]
fn wrong_shapes_and_missing_options_say_what_was_expected() {
    fails(
        "source:\n  csv: in.csv\n",
        &[],
        "p.yaml:2:8: source.csv: expected a map of options, found the text \"in.csv\"",
    );
    fails(
        "source:\n  csv: {key: user}\n",
        &[],
        "p.yaml:2:8: source.csv: required option \"path\" is missing",
    );
    fails(
        "source: {csv: {path: in.csv}}\nbatch_size: -3\n",
        &[],
        "p.yaml:2:13: batch_size: the number -3 is not a whole number, 0 or more",
    );
    fails(
        "source: {csv: {path: in.csv}}\nmax_rejects: lots\n",
        &[],
        "p.yaml:2:14: max_rejects: expected a count like 100 or a percentage like 1%, found \"lots\"",
    );
    fails(
        "source:\n  csv: {path: in.csv\nsteps: []\n",
        &[],
        "p.yaml:3:6: while parsing a flow mapping, did not find expected ',' or '}'",
    );
}

#[test]
fn inputs_must_exist_and_have_the_named_columns() {
    fails(
        "source: {csv: {path: [in.csv, missing.csv]}}\ntargets: [{csv: {path: out/x.csv}}]\n",
        &[],
        "p.yaml:1:31: source.csv.path.1: input file 'missing.csv' does not exist",
    );
    fails(
        "source: {csv: {path: in.csv, key: usr}}\ntargets: [{csv: {path: out/x.csv}}]\n",
        &[],
        "p.yaml:1:35: source.csv.key: field 'usr' is not a column of 'in.csv' (columns: time, user, click, amount); did you mean 'user'?",
    );
    fails(
        "source: {csv: {path: in.csv, types: {amout: float}}}\ntargets: [{csv: {path: out/x.csv}}]\n",
        &[],
        "p.yaml:1:45: source.csv.types.amout: field 'amout' is not a column of 'in.csv' (columns: time, user, click, amount); did you mean 'amount'?",
    );
    fails(
        &format!("{AGG}          windows: {{sliding: [1h]}}\n").replace("field: click", "field: clik"),
        &[],
        "p.yaml:7:18: steps.0.aggregate_by_key.aggregates.0.field: aggregator 'clicks': field 'clik' is not among the fields of in.csv here (time, user, click, amount); did you mean 'click'?",
    );
}

#[test]
fn targets_must_not_collide() {
    fails(
        "source: {csv: {path: in.csv}}\nsteps:\n  - branch:\n      targets: [{jsonl: {path: out/a.jsonl}}]\ntargets: [{csv: {path: ./out/a.jsonl}}]\n",
        &[],
        "p.yaml:4:32: steps.0.branch.targets.0.jsonl.path: 'out/a.jsonl' is also written by targets.0 (csv:./out/a.jsonl): two targets cannot write one file",
    );
    fails(
        "source: {csv: {path: in.csv}}\ntargets: [{jsonl: {path: \"-\"}}, {csv: {path: \"-\"}}]\n",
        &[],
        "p.yaml:2:46: targets.1.csv.path: standard output is also written by targets.0 (jsonl:-): two targets cannot write one file",
    );
    fails(
        "source: {csv: {path: in.csv}}\ntargets: [{parquet: {path: \"-\"}}]\n",
        &[],
        "p.yaml:2:28: targets.0.parquet.path: a parquet target cannot write to standard output (`-`): write a file, or use a csv or jsonl target",
    );
}

#[test]
fn set_errors_name_the_argument() {
    let agg = format!("{AGG}          windows: {{sliding: [1h]}}\n");
    fails(
        &agg,
        &["--set", "steps.3.filter=x > 1"],
        "--set steps.3.filter: steps has 1 item (0): there is no item 3 (1 adds one)",
    );
    fails(
        &agg,
        &["--set", "steps.0.aggregate_by_key.aggregates.0.windows={sliding: [1h, 2x]}"],
        "--set steps.0.aggregate_by_key.aggregates.0.windows: steps.0.aggregate_by_key.aggregates.0.windows.sliding.1: '2x' is not a duration: use <integer><unit> with unit ms, s, m, h, d or w (e.g. 10m)",
    );
    fails(
        "source: {csv: {path: in.csv}}\nsteps: [{filter: \"click > 0\"}]\n",
        &["--set", "steps.0.filter=click >"],
        "--set steps.0.filter: expression `click >`: column 8: expected a value, name or '(', found end of input",
    );
    fails(
        "source: {csv: {path: in.csv}}\n",
        &["--set", "batch_size"],
        "--set batch_size: expected PATH=VALUE, e.g. --set source.csv.path=data/other.csv",
    );
}

#[test]
fn a_missing_pipeline_or_a_data_file_is_a_usage_error() {
    let dir = setup("source: {csv: {path: in.csv}}\n");
    let out = rill(dir.path(), &["validate", "nope.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: cannot read the pipeline file nope.yaml: No such file or directory (os error 2)\n"
    );
    let out = rill(dir.path(), &["run", "in.csv"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: in.csv is a data file, not a pipeline: a pipeline is a YAML file naming a source, steps and targets (e.g. examples/quickstart.yaml); read this file with `source: {csv: {path: in.csv}}` or `--input in.csv`\n"
    );
}

#[test]
fn validate_creates_nothing_and_run_creates_the_output_directory_first() {
    let dir = setup("source: {csv: {path: in.csv}}\ntargets: [{csv: {path: out/deep/x.csv}}]\n");
    let out = rill(dir.path(), &["validate", "p.yaml"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "p.yaml: ok\n");
    assert!(out.stderr.is_empty());
    assert!(!dir.path().join("out").exists());
    // a target under a file cannot be created: validate says so without creating anything
    std::fs::write(dir.path().join("f"), "").unwrap();
    let out = rill(
        dir.path(),
        &["validate", "p.yaml", "--set", "targets.0.csv.path=f/x.csv"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: --set targets.0.csv.path: target path 'f/x.csv': 'f' is not a directory\n"
    );
    let out = rill(dir.path(), &["run", "-q", "p.yaml"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(dir.path().join("out/deep/x.csv").is_file());
}
