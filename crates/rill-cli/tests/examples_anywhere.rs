//! Every pipeline under `examples/` gives the same output whatever the working directory:
//! relative paths in a pipeline file are relative to the file's directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Copies `from` into `to` recursively (without any `out` directory).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if src.is_dir() {
            if e.file_name() != "out" {
                copy_dir(&src, &dst);
            }
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

/// `text` with every `from` replaced by `to`.
fn replace(text: &[u8], from: &str, to: &str) -> Vec<u8> {
    let (from, mut out, mut i) = (from.as_bytes(), Vec::new(), 0);
    while i < text.len() {
        if !from.is_empty() && text[i..].starts_with(from) {
            out.extend_from_slice(to.as_bytes());
            i += from.len();
        } else {
            out.push(text[i]);
            i += 1;
        }
    }
    out
}

/// Runs `rill run <pipeline>` in `cwd`; returns the files it wrote under `out` (name → bytes)
/// and its stdout, then removes `out`. Messages in the outputs (dead letters) name the input
/// as seen from `cwd`: `data_dir`, the data directory's path from there, is shown as `data/`.
fn run_from(
    cwd: &Path,
    pipeline: &str,
    out: &Path,
    data_dir: &str,
) -> (BTreeMap<String, Vec<u8>>, Vec<u8>) {
    let o = Command::new(env!("CARGO_BIN_EXE_rill"))
        .current_dir(cwd)
        .args(["run", "-q", pipeline])
        .output()
        .unwrap();
    // dead_letter.yaml exits 3 (it dead-letters its bad rows), the others 0
    assert!(
        matches!(o.status.code(), Some(0 | 3)),
        "{pipeline} from {}: {}",
        cwd.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    let mut files = BTreeMap::new();
    for e in std::fs::read_dir(out).unwrap() {
        let e = e.unwrap();
        // a table's store directory holds its own layout, not output
        if e.path().is_dir() {
            continue;
        }
        files.insert(
            e.file_name().to_string_lossy().into_owned(),
            replace(&std::fs::read(e.path()).unwrap(), data_dir, "data/"),
        );
    }
    std::fs::remove_dir_all(out).unwrap();
    (files, o.stdout)
}

#[test]
fn every_example_gives_the_same_output_from_any_working_directory() {
    let root = tempfile::tempdir().unwrap();
    let examples = root.path().join("examples");
    copy_dir(&repo().join("examples"), &examples);
    let elsewhere = tempfile::tempdir().unwrap();
    let out = examples.join("out");
    let mut names: Vec<String> = std::fs::read_dir(&examples)
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension()? == "yaml")
                .then(|| p.file_name().unwrap().to_string_lossy().into_owned())
        })
        .collect();
    names.sort();
    assert!(names.len() >= 4, "{names:?}");
    for name in names {
        // as the README runs them (from the repository), from the examples directory, and
        // from an unrelated directory with an absolute path
        let from_root = run_from(
            root.path(),
            &format!("examples/{name}"),
            &out,
            "examples/data/",
        );
        let from_dir = run_from(&examples, &name, &out, "data/");
        let abs = examples.join(&name).display().to_string();
        let from_elsewhere = run_from(
            elsewhere.path(),
            &abs,
            &out,
            &format!("{}/data/", examples.display()),
        );
        assert!(!from_root.0.is_empty(), "{name}: no output");
        assert_eq!(from_root, from_dir, "{name}");
        assert_eq!(from_root, from_elsewhere, "{name}");
        assert_eq!(
            std::fs::read_dir(elsewhere.path()).unwrap().count(),
            0,
            "{name} wrote into the working directory"
        );
    }
}
