//! Fuzzing of the YAML loader and the CSV and JSON lines decoders, in bounded time inside the
//! normal test run: valid pipelines and data files, mutated (truncated, bytes flipped, quotes,
//! brackets and other syntax inserted, ranges deleted or repeated, huge fields, invalid UTF-8,
//! deep nesting), go through rill's public API; the checks (`fuzz_support`) demand no panic,
//! every error a clear message naming the file (and its line where there is one), and every
//! record read either processed or rejected. The committed corpus under `fuzz/corpus/` (the
//! seeds of the cargo-fuzz targets in `fuzz/`, and of the mutations here) is replayed too.

mod fuzz_support;

use fuzz_support::*;
use proptest::prelude::*;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Seeds: the committed corpus of the cargo-fuzz targets (`fuzz/corpus/<target>/`): valid
// pipelines (the examples, and one using every step and option the docs list) and data files,
// and the inputs that found bugs. In pipelines, `DIR` stands for the test's directory (which
// holds `clicks.csv` and `orders_bad.csv`).

/// The files of `fuzz/corpus/<target>/`, by name.
fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = repo().join("fuzz/corpus").join(target);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    files.sort();
    assert!(files.len() >= 3, "{}: too few seeds", dir.display());
    files
}

/// Pipelines of the corpus that are valid (the others are the regressions).
const VALID_PIPELINES: &[&str] = &[
    "quickstart.yaml",
    "aggregates.yaml",
    "routing.yaml",
    "dead_letter.yaml",
    "kitchen_sink.yaml",
];

/// Syntax worth inserting, per format: delimiters, quotes, escapes, invalid UTF-8, BOM, NUL.
const YAML_TOKENS: &[&[u8]] = &[
    b"\"",
    b"'",
    b":",
    b": ",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b"- ",
    b"\n",
    b"\n  ",
    b"\t",
    b"#",
    b"&a ",
    b"*a",
    b"!!str ",
    b"!!binary ",
    b"<<: *a\n",
    b"---\n",
    b"...\n",
    b"%YAML 1.2\n",
    b"? ",
    b"|\n",
    b">-\n",
    b"\\",
    b"\x00",
    b"\xff\xfe",
    b"\xc3",
    b"\xEF\xBB\xBF",
    b"~",
    b"null",
    b"true",
    b"1e999",
    b"-0",
    b"0x1F",
    b"99999999999999999999",
    b".inf",
    b".nan",
    b"${x}",
    b"\"\\u00\"",
    b"steps: ",
    b"ops: [",
    b"windows: {sliding: [",
    b"period: 0s",
    b"-1h",
    b"expr: \"",
    b"((((",
    b"body.",
    b"size(",
    b"1/0",
    b" ?? ",
];
const CSV_TOKENS: &[&[u8]] = &[
    b"\"",
    b"\"\"",
    b",",
    b";",
    b"\n",
    b"\r",
    b"\r\n",
    b"\"a,b\"",
    b"\"\n\"",
    b"\x00",
    b"\xff",
    b"\xc3\x28",
    b"\xEF\xBB\xBF",
    b" ",
    b"\t",
    b"-",
    b"1e999",
    b"NaN",
    b"inf",
    b"true",
    b"",
    b"99999999999999999999",
    b"2020-13-45T99:99:99Z",
    b"2021-03-28T02:30:00",
    b"+99:99",
];
const JSON_TOKENS: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b":",
    b",",
    b"\\",
    b"\\u",
    b"\\ud800",
    b"\\uDFFF\\ud800",
    b"NaN",
    b"Infinity",
    b"-Infinity",
    b"-",
    b"1e400",
    b"1e-400",
    b"-0",
    b"00",
    b".5",
    b"123456789012345678901234567890",
    b"null",
    b"true",
    b"\n",
    b"\r",
    b"\x00",
    b"\xff",
    b"\xc3\x28",
    b"\xed\xa0\x80",
    b"\"user\":",
    b"\"t\":",
    b"\"ts\":",
    b"\"id\":",
    b"{\"a\":1}",
    b"\"a\":1,\"a\":2",
    b" ",
];

// ---------------------------------------------------------------------------------------------
// Mutations

#[derive(Debug, Clone)]
enum Mutation {
    /// Cut the input at this position.
    Truncate(u32),
    /// Flip one bit of the byte at this position.
    Flip(u32, u8),
    /// Insert a token of the format.
    Insert(u32, usize),
    /// Delete this many bytes.
    Delete(u32, u16),
    /// Repeat a range of the input this many times.
    Repeat(u32, u16, u8),
    /// Insert a run of one byte (a huge field or name).
    Huge(u32, u8, u32),
    /// Insert deep nesting: `[` or `{"a":` repeated.
    Nest(u32, bool, u16),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        1 => any::<u32>().prop_map(Mutation::Truncate),
        4 => (any::<u32>(), 0u8..8).prop_map(|(p, b)| Mutation::Flip(p, b)),
        6 => (any::<u32>(), any::<usize>()).prop_map(|(p, t)| Mutation::Insert(p, t)),
        2 => (any::<u32>(), 1u16..40).prop_map(|(p, n)| Mutation::Delete(p, n)),
        1 => (any::<u32>(), 1u16..80, 2u8..50).prop_map(|(p, n, k)| Mutation::Repeat(p, n, k)),
        1 => (any::<u32>(), prop::sample::select(b"x\",{[ \n\xff".to_vec()), prop_oneof![1u32..300, 60_000u32..150_000])
            .prop_map(|(p, b, n)| Mutation::Huge(p, b, n)),
        1 => (any::<u32>(), any::<bool>(), prop_oneof![1u16..200, 1_000u16..20_000])
            .prop_map(|(p, o, n)| Mutation::Nest(p, o, n)),
    ]
}

fn mutate(seed: &[u8], muts: &[Mutation], tokens: &[&[u8]]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for m in muts {
        let at = |p: u32, len: usize| p as usize % (len + 1);
        match *m {
            Mutation::Truncate(p) => {
                let n = at(p, b.len());
                b.truncate(n)
            }
            Mutation::Flip(p, bit) if !b.is_empty() => {
                let i = p as usize % b.len();
                b[i] ^= 1 << bit;
            }
            Mutation::Flip(..) => {}
            Mutation::Insert(p, t) => {
                let i = at(p, b.len());
                let tok = tokens[t % tokens.len()];
                b.splice(i..i, tok.iter().copied());
            }
            Mutation::Delete(p, n) => {
                let i = at(p, b.len());
                let j = (i + n as usize).min(b.len());
                b.drain(i..j);
            }
            Mutation::Repeat(p, n, k) => {
                let i = at(p, b.len());
                let j = (i + n as usize).min(b.len());
                let piece = b[i..j].repeat(k as usize);
                b.splice(j..j, piece);
            }
            Mutation::Huge(p, byte, n) => {
                let i = at(p, b.len());
                b.splice(i..i, std::iter::repeat_n(byte, n as usize));
            }
            Mutation::Nest(p, object, n) => {
                let i = at(p, b.len());
                let unit: &[u8] = if object { b"{\"a\":" } else { b"[" };
                b.splice(i..i, unit.repeat(n as usize));
            }
        }
    }
    b
}

/// A directory holding what the pipelines read (`DIR`).
fn yaml_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    pipeline_dir(dir.path());
    dir
}

// ---------------------------------------------------------------------------------------------
// Tests

/// The valid seeds are valid (so mutations start from meaningful files).
#[test]
fn valid_seeds_are_valid() {
    let dir = yaml_dir();
    let seeds = corpus("yaml_loader");
    for name in VALID_PIPELINES {
        let (_, seed) = seeds
            .iter()
            .find(|(n, _)| n == name)
            .expect("in the corpus");
        let text = String::from_utf8(with_dir(seed, dir.path())).unwrap();
        let p = rill::Pipeline::from_yaml(&text, name, &[]).unwrap_or_else(|e| panic!("{e}"));
        p.validate().unwrap_or_else(|e| panic!("{e}"));
    }
}

/// Every corpus file passes the checks (under every source preset, at batch sizes 1 and 256):
/// the replay of the cargo-fuzz corpus, regressions included.
#[test]
fn the_corpus_passes_the_checks() {
    let dir = yaml_dir();
    for (name, seed) in corpus("yaml_loader") {
        check_yaml(&with_dir(&seed, dir.path()), dir.path())
            .unwrap_or_else(|e| panic!("yaml_loader/{name}: {e}"));
    }
    for batch in [1, 256] {
        for (name, seed) in corpus("csv_source") {
            for preset in 0..CSV_SOURCES.len() {
                check_csv(&seed, dir.path(), preset, batch)
                    .unwrap_or_else(|e| panic!("csv_source/{name}, preset {preset}: {e}"));
            }
        }
        for (name, seed) in corpus("jsonl_source") {
            for preset in 0..JSONL_SOURCES.len() {
                check_jsonl(&seed, dir.path(), preset, batch)
                    .unwrap_or_else(|e| panic!("jsonl_source/{name}, preset {preset}: {e}"));
            }
        }
    }
}

/// The fuzz tests' configuration: 256 cases from a fixed seed by default (a few seconds in
/// all, the same cases on every run, so CI is not flaky); a longer or another search with
/// `RILL_FUZZ_CASES` and `RILL_FUZZ_SEED` (e.g. `RILL_FUZZ_CASES=20000 RILL_FUZZ_SEED=7
/// cargo nextest run -p rill --test fuzz_inputs`). Failures are not written to a regressions
/// file: a case found is kept as a test below.
fn config() -> ProptestConfig {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    ProptestConfig {
        cases: env("RILL_FUZZ_CASES").map_or(256, |c| c as u32),
        rng_seed: prop::test_runner::RngSeed::Fixed(env("RILL_FUZZ_SEED").unwrap_or(0x5eed)),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn mutated_pipelines_load_or_fail_clearly(
        seed in any::<usize>(),
        muts in prop::collection::vec(mutation(), 1..5),
    ) {
        let dir = yaml_dir();
        let seeds = corpus("yaml_loader");
        let input = mutate(&with_dir(&seeds[seed % seeds.len()].1, dir.path()), &muts, YAML_TOKENS);
        if let Err(e) = check_yaml(&input, dir.path()) {
            prop_assert!(false, "{}\ninput: {:?}", e, String::from_utf8_lossy(&input[..input.len().min(3000)]));
        }
    }

    #[test]
    fn mutated_csv_is_read_or_rejected_clearly(
        seed in any::<usize>(),
        preset in 0usize..4,
        batch in prop::sample::select(vec![1usize, 2, 256]),
        muts in prop::collection::vec(mutation(), 1..5),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let seeds = corpus("csv_source");
        let input = mutate(&seeds[seed % seeds.len()].1, &muts, CSV_TOKENS);
        if let Err(e) = check_csv(&input, dir.path(), preset, batch) {
            prop_assert!(false, "{}\ninput: {:?}", e, String::from_utf8_lossy(&input[..input.len().min(3000)]));
        }
    }

    #[test]
    fn mutated_json_lines_are_read_or_rejected_clearly(
        seed in any::<usize>(),
        preset in 0usize..3,
        batch in prop::sample::select(vec![1usize, 2, 256]),
        muts in prop::collection::vec(mutation(), 1..5),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let seeds = corpus("jsonl_source");
        let input = mutate(&seeds[seed % seeds.len()].1, &muts, JSON_TOKENS);
        if let Err(e) = check_jsonl(&input, dir.path(), preset, batch) {
            prop_assert!(false, "{}\ninput: {:?}", e, String::from_utf8_lossy(&input[..input.len().min(3000)]));
        }
    }
}

/// Cases the fuzz tests found, kept as regression tests.
mod found {
    use super::*;

    fn validate(yaml: &str) -> String {
        let dir = yaml_dir();
        let text = String::from_utf8(with_dir(yaml.as_bytes(), dir.path())).unwrap();
        check_yaml(text.as_bytes(), dir.path()).unwrap();
        let p = rill::Pipeline::from_yaml(&text, "p.yaml", &[]).unwrap();
        p.validate().unwrap_err().to_string()
    }

    /// A step that does not build inside the second route of a `choice` (or a `recover` chain,
    /// or a `late_events` branch) panicked while the graph was put together, instead of
    /// reporting the step's error.
    #[test]
    fn a_bad_step_in_a_later_route_is_an_error() {
        let source = "source: {csv: {path: DIR/clicks.csv, key: user, time: time}}\n";
        let err = validate(&format!(
            "{source}steps:\n  - choice:\n      routes:\n        - {{name: a, when: \"true\", steps: [{{map: \"body\"}}]}}\n        - {{name: b, when: \"true\", steps: [{{map: \"{{{{x: 1}}\"}}]}}\n"
        ));
        assert!(
            err.starts_with(
                "p.yaml:6:49: steps.0.choice.routes.1.steps.0.map: expression `{{x: 1}`: "
            ),
            "{err}"
        );
        let err = validate(&format!(
            "{source}steps:\n  - map: \"body\"\n  - recover: {{steps: [{{filter: \"((\"}}]}}\n"
        ));
        assert!(
            err.starts_with("p.yaml:4:32: steps.1.recover.steps.0.filter: expression `((`: "),
            "{err}"
        );
        let err = validate(&format!(
            "{source}steps:\n  - aggregate_by_key:\n      aggregates: [{{name: c, field: click, ops: [count], windows: {{sliding: [1h]}}, late: side_output}}]\n      late_events: {{steps: [{{map: \"]\"}}]}}\n"
        ));
        assert!(
            err.starts_with(
                "p.yaml:5:35: steps.0.aggregate_by_key.late_events.steps.0.map: expression `]`: "
            ),
            "{err}"
        );
    }

    /// An unknown key of 60 000 characters was quoted whole in the loader's message (twice).
    /// (YAML limits a plain key to 1 024 characters: that long a key is a syntax error; a
    /// shorter one is an unknown target format, shortened.)
    #[test]
    fn a_huge_unknown_key_is_shortened_in_the_message() {
        let load = |key: &str| {
            let yaml =
                format!("source: {{csv: {{path: in.csv}}}}\ntargets:\n  - {key}: {{path: o}}\n");
            rill::Pipeline::from_yaml(&yaml, "p.yaml", &[])
                .unwrap_err()
                .to_string()
        };
        let err = load(&"x".repeat(60_000));
        assert_eq!(
            err,
            "p.yaml:3:60005: mapping values are not allowed in this context"
        );
        let err = load(&"x".repeat(1_000));
        assert!(err.len() < 300, "{} characters", err.len());
        assert!(
            err.starts_with("p.yaml:3:5: targets.0: unknown target format \"xxxxx"),
            "{err}"
        );
        assert!(err.contains("characters left out"), "{err}");
        assert!(
            err.ends_with("\"; expected one of csv, jsonl, parquet"),
            "{err}"
        );
    }

    /// A 2 000-character expression was quoted whole in its error.
    #[test]
    fn a_huge_expression_is_shortened_in_its_error() {
        let expr = format!("{}{{a: 1}}", "[".repeat(1875));
        let err = validate(&format!(
            "source: {{csv: {{path: DIR/clicks.csv}}}}\nsteps: [{{map: \"{expr}\"}}]\n"
        ));
        assert!(
            err.starts_with("p.yaml:2:15: steps.0.map: expression `[[[["),
            "{err}"
        );
        assert!(
            err.ends_with(
                "[[[{a: 1}`: column 97: expression is nested too deeply (more than 96 levels)"
            ),
            "{err}"
        );
        assert!(err.len() < 400, "{err}");
    }
}

/// An empty route, found by fuzzing: its error named neither the pipeline file nor what the
/// route lacks.
#[test]
fn an_empty_route_is_an_error_naming_the_file() {
    let dir = yaml_dir();
    let yaml = with_dir(
        b"source: {csv: {path: DIR/clicks.csv}}\nsteps:\n  - choice: {routes: [{name: big, when: \"true\"}]}\n",
        dir.path(),
    );
    let p = rill::Pipeline::from_yaml(std::str::from_utf8(&yaml).unwrap(), "p.yaml", &[]).unwrap();
    let want = "p.yaml:3:23: steps.0.choice.routes.0: this route has no steps and no targets: give it `steps` or `targets`";
    assert_eq!(p.validate().unwrap_err().to_string(), want);
    assert_eq!(p.run().unwrap_err().error.to_string(), want);
}
