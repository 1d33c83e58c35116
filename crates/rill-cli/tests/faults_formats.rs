//! SIGINT, SIGTERM and SIGKILL at seeded random points of a 2 M-row run to JSON lines and
//! Parquet, over a previous output, through the real binary. Afterwards the file at the target
//! path is readable and is either the previous output (byte for byte) or a complete output of
//! the records read (rows `0..n` in order); no partial file is left beside it. (CSV:
//! `signals.rs`.)

use std::io::Write;
use std::path::Path;
use std::time::Duration;

mod common;

use common::{rill, signal, start, wait_for_partial};

const ROWS: usize = 2_000_000;

/// xorshift64: the same interruption points on every run and machine.
struct Points(u64);
impl Points {
    fn next_ms(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}

/// The 2 M-row input, and a pipeline writing it (with `c = 2a`) to `out.<ext>`.
fn setup(dir: &Path, ext: &str) -> String {
    let mut f = std::io::BufWriter::new(std::fs::File::create(dir.join("in.csv")).unwrap());
    writeln!(f, "a,b").unwrap();
    for i in 0..ROWS {
        writeln!(f, "{i},x{i}").unwrap();
    }
    f.flush().unwrap();
    let p = dir.join("p.yaml");
    let target = if ext == "jsonl" { "jsonl" } else { "parquet" };
    std::fs::write(
        &p,
        format!(
            "source: {{csv: {{path: in.csv, types: {{a: int, b: string}}}}}}\nsteps: [{{map: \"body + {{c: a * 2}}\"}}]\ntargets: [{{{target}: {{path: out.{ext}}}}}]\n"
        ),
    )
    .unwrap();
    p.display().to_string()
}

/// A previous output at the target path, written by rill itself (so it is a valid file of
/// the format): three rows of another pipeline.
fn write_previous(dir: &Path, ext: &str) -> Vec<u8> {
    std::fs::write(dir.join("prev.csv"), "a,b\n7,y\n8,z\n9,w\n").unwrap();
    let target = if ext == "jsonl" { "jsonl" } else { "parquet" };
    let yaml = dir.join("prev.yaml");
    std::fs::write(
        &yaml,
        format!(
            "source: {{csv: {{path: prev.csv}}}}\ntargets: [{{{target}: {{path: out.{ext}}}}}]\n"
        ),
    )
    .unwrap();
    let out = rill(dir, &["run", yaml.to_str().unwrap(), "-q"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(dir.join(format!("out.{ext}"))).unwrap()
}

/// The rows of the file at the target path, read back by `rill head` as JSON lines.
fn read_back(dir: &Path, ext: &str) -> Vec<serde_json::Value> {
    let path = dir.join(format!("out.{ext}"));
    let n = (ROWS + 10).to_string();
    let out = rill(
        dir,
        &[
            "head",
            path.to_str().unwrap(),
            "-n",
            &n,
            "--format",
            "jsonl",
        ],
    );
    assert!(
        out.status.success(),
        "the target is not readable: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The file holds exactly rows `0..n` of the new output, in order.
fn assert_complete(rows: &[serde_json::Value], n: usize) {
    assert_eq!(rows.len(), n, "rows in the committed output");
    for (i, r) in rows.iter().enumerate() {
        let want = serde_json::json!({"a": i, "b": format!("x{i}"), "c": 2 * i});
        assert_eq!(r, &want, "row {i}");
    }
}

/// Interrupts runs at `points` seeded random moments after writing starts, with each signal.
fn interrupt_at_random_points(ext: &str, seed: u64) {
    let dir = tempfile::tempdir().unwrap();
    let p = setup(dir.path(), ext);
    let mut points = Points(seed);
    // runs that a SIGINT or SIGTERM stopped midway (not after they had ended)
    let mut interrupted = 0;
    for (sig, name, code) in [
        ("-INT", "SIGINT", Some(130)),
        ("-TERM", "SIGTERM", Some(143)),
        ("-KILL", "SIGKILL", None),
    ] {
        for _ in 0..2 {
            let previous = write_previous(dir.path(), ext);
            let mut child = start(&p);
            wait_for_partial(dir.path(), &format!("out.{ext}"), 0, &mut child);
            std::thread::sleep(Duration::from_millis(points.next_ms(400)));
            signal(&child, sig);
            let out = child.wait_with_output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            let file = std::fs::read(dir.path().join(format!("out.{ext}"))).unwrap();
            let partial = dir.path().join(format!(".out.{ext}.rill-partial"));
            match code {
                // SIGKILL: nothing could be committed; the previous output is untouched
                None => {
                    assert_eq!(out.status.code(), None, "killed by a signal");
                    assert_eq!(file, previous, "{ext} after {name}: the previous output");
                    // the killed run's partial file is left, under its own name only
                    let _ = std::fs::remove_file(&partial);
                }
                Some(code) => {
                    let rows = read_back(dir.path(), ext);
                    if out.status.code() == Some(0) {
                        // the run ended before the signal: a complete output of every row
                        assert_complete(&rows, ROWS);
                        continue;
                    }
                    assert_eq!(out.status.code(), Some(code), "{err}");
                    let read: usize = err
                        .lines()
                        .next()
                        .and_then(|l| {
                            l.strip_prefix(&format!(
                                "interrupted by {name}: stopped reading; the outputs hold the "
                            ))
                        })
                        .and_then(|r| r.strip_suffix(" records read so far"))
                        .unwrap_or_else(|| panic!("{err}"))
                        .parse()
                        .unwrap();
                    assert!(err.contains(&format!("rows_written {read}")), "{err}");
                    // records read = written: the committed file holds exactly those rows
                    assert_complete(&rows, read);
                    assert!(read < ROWS, "{read}");
                    assert!(!partial.exists(), "no partial file after {name}");
                    interrupted += 1;
                }
            }
        }
    }
    assert!(
        interrupted >= 3,
        "only {interrupted} of 4 runs were stopped midway"
    );
}

#[test]
fn jsonl_target_is_previous_or_complete_whatever_the_signal() {
    interrupt_at_random_points("jsonl", 0x2545_F491_4F6C_DD1D);
}

#[test]
fn parquet_target_is_previous_or_complete_whatever_the_signal() {
    interrupt_at_random_points("parquet", 0x9E37_79B9_7F4A_7C15);
}
