//! The checks behind the fuzz tests of the YAML loader and the CSV and JSON lines decoders,
//! shared by `tests/fuzz_inputs.rs` (proptest mutations and the committed corpus, in every
//! `cargo nextest run`) and the cargo-fuzz targets under `fuzz/` (which include this file).
//!
//! Each `check_*` takes arbitrary bytes, runs them through rill's public API and returns
//! `Err(why)` when rill breaks a promise: a panic, an error or reject without a clear message
//! (non-empty, naming the file, and the record's line where there is one, of bounded length),
//! or records that are neither processed nor rejected.
#![allow(dead_code)]

use rill::Pipeline;
use std::path::Path;

/// The longest message accepted, beyond the file name it quotes: a message quoting a whole
/// megabyte of input is not a clear one. (The loader's messages show the lines around the
/// error, shortened, under the one-line reason.)
pub const MAX_MESSAGE: usize = 600;
pub const MAX_LOADER_MESSAGE: usize = 2000;

/// Runs `f`, turning a panic into `Err` with its message.
fn no_panic<T>(what: &str, f: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|p| {
        let msg = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        format!("{what} panicked: {msg}")
    })
}

/// A message is clear: non-empty, names `file`, not too long.
fn clear(msg: &str, file: &str, what: &str) -> Result<(), String> {
    clear_within(msg, file, what, MAX_MESSAGE)
}

fn clear_within(msg: &str, file: &str, what: &str, max: usize) -> Result<(), String> {
    if !msg.contains(file) {
        return Err(format!("{what} does not name {file}: {msg:?}"));
    }
    let rest = msg.replacen(file, "", 1);
    let reason = rest.trim_matches(|c: char| c == ':' || c.is_whitespace() || c == '\'');
    if reason.is_empty() {
        return Err(format!("{what} says nothing beyond the file name: {msg:?}"));
    }
    if msg.chars().count() > file.chars().count() + max {
        return Err(format!(
            "{what} is {} characters long: {}…",
            msg.chars().count(),
            msg.chars().take(300).collect::<String>()
        ));
    }
    if msg.contains("panicked") || msg.contains("RUST_BACKTRACE") {
        return Err(format!("{what} reads like a crash: {msg:?}"));
    }
    Ok(())
}

/// The line numbers a message names (`line 3`, `record 7`, or `file:3:7:` as placed
/// configuration errors are), for checking they exist.
fn named_lines(msg: &str) -> Vec<u64> {
    let mut out = Vec::new();
    // `:<line>:<column>:`
    for (i, _) in msg.match_indices(':') {
        let rest = &msg[i + 1..];
        let line: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let after = &rest[line.len()..];
        let col: String = after
            .strip_prefix(':')
            .map(|a| a.chars().take_while(char::is_ascii_digit).collect())
            .unwrap_or_default();
        let placed = !line.is_empty() && !col.is_empty() && after[1 + col.len()..].starts_with(':');
        if placed {
            if let Ok(n) = line.parse() {
                out.push(n);
            }
        }
    }
    for word in ["line ", "record "] {
        for (i, _) in msg.match_indices(word) {
            let digits: String = msg[i + word.len()..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if let Ok(n) = digits.parse() {
                out.push(n);
            }
        }
    }
    out
}

/// Lines of an input, counted as rill counts them (by `\n`; a last line without one counts).
fn line_count(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|b| **b == b'\n').count() as u64 + 1
}

/// JSON text with the bare tokens `NaN`, `Infinity`, `-Infinity` (which the JSON lines target
/// writes for non-finite floats) turned into strings, outside string literals.
pub fn quote_non_finite(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let (mut in_str, mut escaped) = (false, false);
    let mut rest = line;
    while let Some(c) = rest.chars().next() {
        if !in_str {
            if let Some(tok) = ["NaN", "-Infinity", "Infinity"]
                .into_iter()
                .find(|t| rest.starts_with(t))
            {
                out.push('"');
                out.push_str(tok);
                out.push('"');
                rest = &rest[tok.len()..];
                continue;
            }
        }
        match c {
            '"' if !escaped => in_str = !in_str,
            _ => {}
        }
        escaped = in_str && c == '\\' && !escaped;
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Fills `dir` with the files the seed pipelines read (`DIR/clicks.csv`, `DIR/orders_bad.csv`).
pub fn pipeline_dir(dir: &Path) {
    std::fs::write(
        dir.join("clicks.csv"),
        include_bytes!("../../../../examples/data/clicks.csv"),
    )
    .unwrap();
    std::fs::write(
        dir.join("orders_bad.csv"),
        include_bytes!("../../../../examples/data/orders_bad.csv"),
    )
    .unwrap();
}

/// A seed pipeline with `DIR` replaced by `dir` (bytes: a seed may hold invalid UTF-8).
pub fn with_dir(seed: &[u8], dir: &Path) -> Vec<u8> {
    let mut out = Vec::with_capacity(seed.len());
    let mut rest = seed;
    while let Some(i) = rest.windows(3).position(|w| w == b"DIR") {
        out.extend_from_slice(&rest[..i]);
        out.extend_from_slice(dir.display().to_string().as_bytes());
        rest = &rest[i + 3..];
    }
    out.extend_from_slice(rest);
    out
}

fn quote_yaml(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

// ---------------------------------------------------------------------------------------------
// YAML pipelines

/// Every string literal of a `{:?}` rendering (Rust's debug escapes).
fn debug_strings(debug: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = debug.chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            continue;
        }
        let mut s = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    if let Some(n) = chars.next() {
                        s.push(n);
                    }
                }
                '"' => break,
                c => s.push(c),
            }
        }
        out.push(s);
    }
    out
}

/// Loads `bytes` as a pipeline file in `dir`; when it loads, validates it (which compiles its
/// expressions and builds its steps and targets) if every path it names stays inside `dir`
/// (building a target creates its directory). Every error must name the file; errors of the
/// YAML itself (syntax, unknown or mistyped fields) also a line.
pub fn check_yaml(bytes: &[u8], dir: &Path) -> Result<(), String> {
    let path = dir.join("fuzz.yaml");
    std::fs::write(&path, bytes).unwrap();
    let file = path.display().to_string();
    let loaded = no_panic("Pipeline::from_file", || Pipeline::from_file(&path, &[]))?;
    let p = match loaded {
        Ok(p) => p,
        Err(e) => {
            let msg = e.to_string();
            clear_within(&msg, &file, "the loader's error", MAX_LOADER_MESSAGE)?;
            let utf8 = std::str::from_utf8(bytes).is_ok();
            if utf8 && named_lines(&msg).is_empty() {
                return Err(format!("the loader's error names no line: {msg:?}"));
            }
            if let Some(&n) = named_lines(&msg).iter().max() {
                if n > line_count(bytes) + 1 {
                    return Err(format!(
                        "the loader's error names line {n} of {}: {msg:?}",
                        line_count(bytes)
                    ));
                }
            }
            return Ok(());
        }
    };
    // only paths under `dir/` (a mutation can turn `dir/out` into `dirxxx/out`)
    let inside = format!("{}/", dir.display());
    let strings = debug_strings(&format!("{:?}", p.config));
    let safe = strings.iter().all(|s| {
        !(s.contains('/') || s.contains('\\')) || (s.starts_with(&inside) && !s.contains(".."))
    });
    if !safe {
        return Ok(());
    }
    match no_panic("Pipeline::validate", || p.validate())? {
        Ok(()) => Ok(()),
        Err(e) => clear_within(
            &e.to_string(),
            &file,
            "the validation error",
            MAX_LOADER_MESSAGE,
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// CSV and JSON lines

/// What one run of a source over fuzzed bytes produced.
pub struct SourceRun {
    /// Bodies written to the main target (JSON lines).
    pub events: Vec<serde_json::Value>,
    /// Dead letters: (record number, error message).
    pub rejects: Vec<(u64, String)>,
    pub records_read: u64,
    /// The run's error, if it failed.
    pub error: Option<String>,
}

/// Runs `source` (a YAML flow mapping naming `{input}`) over `bytes` with no steps, dead-letter
/// policy and a small batch size, and checks the promises every source keeps: no panic; every
/// record read is written or dead-lettered (`records_read` = events + dead letters); every
/// dead letter's message names the file and its record number, which is a line of the file
/// (and its `record` field says the same); a failed run's message names the file.
pub fn run_source(
    bytes: &[u8],
    dir: &Path,
    name: &str,
    source: &str,
    batch: usize,
) -> Result<SourceRun, String> {
    let input = dir.join(name);
    std::fs::write(&input, bytes).unwrap();
    let file = input.display().to_string();
    let out = dir.join("out.jsonl");
    let dead = dir.join("dead.jsonl");
    let _ = std::fs::remove_file(&out);
    let _ = std::fs::remove_file(&dead);
    let yaml = format!(
        "source: {}\ntargets: [{{jsonl: {{path: {}}}}}]\nerror_policy: dead_letter\ndead_letter: {{jsonl: {{path: {}}}}}\nbatch_size: {batch}\n",
        source.replace("{input}", &quote_yaml(&file)),
        quote_yaml(&out.display().to_string()),
        quote_yaml(&dead.display().to_string()),
    );
    let p = Pipeline::from_yaml(&yaml, "fuzz.yaml", &[])
        .map_err(|e| format!("the test's own pipeline does not load: {e}\n{yaml}"))?;
    let outcome = no_panic("the run", || p.run())?;
    let lines = line_count(bytes);
    let read_jsonl = |p: &Path| -> Result<Vec<serde_json::Value>, String> {
        let text = std::fs::read_to_string(p).unwrap_or_default();
        text.lines()
            .map(|l| {
                serde_json::from_str(&quote_non_finite(l))
                    .map_err(|e| format!("bad output line {l:?}: {e}"))
            })
            .collect()
    };
    match outcome {
        Ok(o) => {
            let events = read_jsonl(&out)?;
            let mut rejects = Vec::new();
            for d in read_jsonl(&dead)? {
                let msg = d["error"].as_str().unwrap_or_default().to_string();
                let record = d["record"].as_u64().unwrap_or(0);
                clear(&msg, &file, "a reject")?;
                if !msg.starts_with(&format!("{file}, record {record}: ")) {
                    return Err(format!(
                        "a reject does not start with its file and record {record}: {msg:?}"
                    ));
                }
                if record == 0 || record > lines {
                    return Err(format!("a reject names record {record} of {lines} lines"));
                }
                if d["error_kind"] != "bad_record" {
                    return Err(format!("a reject of kind {}: {msg:?}", d["error_kind"]));
                }
                rejects.push((record, msg));
            }
            let s = &o.summary;
            if s.records_read != (events.len() + rejects.len()) as u64
                || s.records_rejected != rejects.len() as u64
                || s.dead_lettered != rejects.len() as u64
            {
                return Err(format!(
                    "{} records read, {} rejected, {} dead-lettered, but {} written and {} dead letters",
                    s.records_read,
                    s.records_rejected,
                    s.dead_lettered,
                    events.len(),
                    rejects.len()
                ));
            }
            if rejects.windows(2).any(|w| w[0].0 > w[1].0) {
                return Err(format!("rejects out of order: {rejects:?}"));
            }
            Ok(SourceRun {
                events,
                rejects,
                records_read: s.records_read,
                error: None,
            })
        }
        Err(e) => {
            let msg = e.error.to_string();
            clear(&msg, &file, "the run's error")?;
            for n in named_lines(&msg) {
                if n == 0 || n > lines {
                    return Err(format!(
                        "the run's error names line {n} of {lines}: {msg:?}"
                    ));
                }
            }
            let s = &e.summary;
            if s.records_rejected > s.records_read {
                return Err(format!(
                    "{} rejected of {} read",
                    s.records_rejected, s.records_read
                ));
            }
            Ok(SourceRun {
                events: Vec::new(),
                rejects: Vec::new(),
                records_read: s.records_read,
                error: Some(msg),
            })
        }
    }
}

/// The CSV sources the fuzz tests read with (`preset` picks one).
pub const CSV_SOURCES: &[&str] = &[
    // inferred types, header
    "{csv: {path: {input}}}",
    // key, ISO time, declared types
    "{csv: {path: {input}, key: user, time: time, types: {click: int, amount: float, ok: bool}}}",
    // no header: named columns, another delimiter, epoch time
    "{csv: {path: {input}, header: false, columns: [a, b, c], delimiter: ';', time: c, time_format: epoch_ms}}",
    // a small field limit (a stray quote stops the read early)
    "{csv: {path: {input}, max_field_bytes: 64, key: [user, click]}}",
];

/// CSV rows as the `csv` crate splits them (no header, flexible): the count rill must read.
fn csv_crate_rows(bytes: &[u8], delimiter: u8) -> usize {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(bytes);
    let mut rec = csv::ByteRecord::new();
    let mut n = 0;
    while let Ok(true) = r.read_byte_record(&mut rec) {
        n += 1;
    }
    n
}

/// Checks one CSV input under CSV_SOURCES[preset]: [`run_source`]'s promises, and that the rows
/// read are the rows the `csv` crate finds (less the header), unless the run stopped early.
pub fn check_csv(bytes: &[u8], dir: &Path, preset: usize, batch: usize) -> Result<(), String> {
    let preset = preset % CSV_SOURCES.len();
    let r = run_source(bytes, dir, "fuzz.csv", CSV_SOURCES[preset], batch)?;
    let header = preset != 2;
    let rows = csv_crate_rows(bytes, if preset == 2 { b';' } else { b',' });
    let want = if header { rows.saturating_sub(1) } else { rows } as u64;
    match &r.error {
        None if r.records_read != want => Err(format!(
            "{} records read, the csv crate finds {want} rows",
            r.records_read
        )),
        Some(_) if r.records_read > want => Err(format!(
            "{} records read before failing, the csv crate finds {want} rows",
            r.records_read
        )),
        _ => Ok(()),
    }
}

/// The JSON lines sources the fuzz tests read with.
pub const JSONL_SOURCES: &[&str] = &[
    "{jsonl: {path: {input}}}",
    "{jsonl: {path: {input}, key: user, time: t}}",
    "{jsonl: {path: {input}, key: [user, dev], time: ts, time_format: epoch_ms, id: id}}",
];

/// A JSON value with numbers compared by value (an integer past i64 is a float in rill).
fn same_json(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    match (a, b) {
        (J::Number(x), J::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => x.as_f64() == y.as_f64(),
        },
        (J::Array(x), J::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_json(a, b))
        }
        (J::Object(x), J::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((ka, va), (kb, vb))| ka == kb && same_json(va, vb))
        }
        _ => a == b,
    }
}

/// Checks one JSON lines input under JSONL_SOURCES[preset]: [`run_source`]'s promises; every
/// non-blank line is one record; and (without key/time options) every line `serde_json` reads
/// as an object is an event with the same content, unless it repeats a key or nests deeper
/// than the documented limit, and every line it refuses is rejected, unless it uses the
/// `NaN`/`Infinity` tokens rill reads.
pub fn check_jsonl(bytes: &[u8], dir: &Path, preset: usize, batch: usize) -> Result<(), String> {
    let preset = preset % JSONL_SOURCES.len();
    let r = run_source(bytes, dir, "fuzz.jsonl", JSONL_SOURCES[preset], batch)?;
    if r.error.is_some() {
        return Ok(());
    }
    let lines: Vec<(u64, &[u8])> = bytes
        .split(|b| *b == b'\n')
        .enumerate()
        .map(|(i, l)| (i as u64 + 1, l))
        .filter(|(_, l)| !l.iter().all(u8::is_ascii_whitespace))
        .collect();
    if r.records_read != lines.len() as u64 {
        return Err(format!(
            "{} records read from {} non-blank lines",
            r.records_read,
            lines.len()
        ));
    }
    if preset != 0 {
        return Ok(());
    }
    let mut events = r.events.iter();
    let mut rejects = r.rejects.iter().peekable();
    for (n, line) in lines {
        let rejected = rejects.next_if(|(rn, _)| *rn == n);
        // rill ignores trailing ASCII whitespace (a form feed too), which JSON does not allow
        let serde: Option<serde_json::Value> = serde_json::from_slice(line.trim_ascii_end()).ok();
        match (serde, rejected) {
            (Some(v), None) if v.is_object() => {
                let got = events.next().ok_or_else(|| format!("line {n}: no event"))?;
                if !same_json(&v, got) {
                    return Err(format!("line {n}: read as {got}, serde_json reads {v}"));
                }
            }
            (Some(v), Some((_, msg))) if v.is_object() => {
                if !(msg.contains("duplicate field name") || msg.contains("recursion limit")) {
                    return Err(format!("line {n}: valid JSON object rejected: {msg}"));
                }
            }
            (_, Some(_)) => {}
            (_, None) => {
                let text = String::from_utf8_lossy(line);
                if !(text.contains("NaN") || text.contains("Infinity")) {
                    return Err(format!("line {n}: {text:?} is not a JSON object, yet read"));
                }
                events.next().ok_or_else(|| format!("line {n}: no event"))?;
            }
        }
    }
    Ok(())
}
