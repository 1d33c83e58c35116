//! Arbitrary bytes as a pipeline file: loads (and, when its paths stay in the scratch
//! directory, validates) it; `DIR` in the input stands for that directory, which holds the
//! examples' data files.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

#[path = "../../crates/rill/tests/fuzz_support/mod.rs"]
mod fuzz_support;

static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let dir = DIR
        .get_or_init(|| {
            let d = tempfile::tempdir().unwrap();
            fuzz_support::pipeline_dir(d.path());
            d
        })
        .path();
    let input = fuzz_support::with_dir(data, dir);
    if let Err(e) = fuzz_support::check_yaml(&input, dir) {
        panic!("{e}");
    }
});
