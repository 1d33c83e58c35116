//! Helpers shared by the tests that run the real `rill` binary.
// Each test file compiles this module on its own and uses part of it.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs `rill args…` in `dir` (stdin closed), capturing its output.
pub fn rill(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rill"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run rill")
}

/// Starts `rill run pipeline` with stderr captured and stdout discarded.
pub fn start(pipeline: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_rill"))
        .args(["run", pipeline])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

/// Waits until the run has started writing target `name` in `dir`: its partial file
/// `.<name>.rill-partial` exists and holds at least `min_len` bytes.
pub fn wait_for_partial(dir: &Path, name: &str, min_len: u64, child: &mut Child) {
    let partial = dir.join(format!(".{name}.rill-partial"));
    let t0 = Instant::now();
    while std::fs::metadata(&partial).map_or(true, |m| m.len() < min_len) {
        assert!(child.try_wait().unwrap().is_none(), "rill ended too early");
        assert!(t0.elapsed() < Duration::from_secs(60), "no partial file");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Sends signal `sig` (`-INT`, `-TERM`, `-KILL`) to the child.
pub fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

/// The first line `r` gives (without its newline), read a byte at a time so nothing after it
/// is consumed (a server's banner on stderr).
pub fn first_line(r: &mut impl std::io::Read) -> String {
    let mut line = Vec::new();
    let mut byte = [0u8];
    while r.read(&mut byte).unwrap() == 1 && byte[0] != b'\n' {
        line.push(byte[0]);
    }
    String::from_utf8(line).unwrap()
}

/// The names of the entries of `dir`, sorted.
pub fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
