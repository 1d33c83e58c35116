//! Arbitrary bytes as a csv file, read under every source preset of the checks (with and
//! without key, time, declared types…) through a whole pipeline with a dead-letter target.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

#[path = "../../crates/rill/tests/fuzz_support/mod.rs"]
mod fuzz_support;

static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let dir = DIR.get_or_init(|| tempfile::tempdir().unwrap()).path();
    for preset in 0..fuzz_support::CSV_SOURCES.len() {
        if let Err(e) = fuzz_support::check_csv(data, dir, preset, 7) {
            panic!("preset {preset}: {e}");
        }
    }
});
