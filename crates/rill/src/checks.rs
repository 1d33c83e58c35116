//! Checks across the targets of a pipeline, before anything is written: no target writes
//! one of the run's inputs, and no two targets write the same file.

use crate::PipelineConfig;
use rill_core::{Error, Result};
use rill_io::TargetConfig;
use std::path::{Component, Path, PathBuf};

/// Every target (the dead-letter one too) with its path in the file (`targets.0`,
/// `steps.1.branch.targets.0`, `dead_letter`).
pub(crate) fn all_targets(c: &PipelineConfig) -> Vec<(String, &TargetConfig)> {
    let mut all = Vec::new();
    rill_flow::config::for_each_target(&c.steps, &c.targets, "", &mut |at, t| all.push((at, t)));
    if let Some(dl) = &c.dead_letter {
        all.push(("dead_letter".to_string(), dl));
    }
    all
}

/// Refuses a target that writes an input, and two targets that write the same file (they
/// would share their partial file, and the second rename would replace the first output).
pub(crate) fn check_targets(c: &PipelineConfig, inputs: &[PathBuf]) -> Result<()> {
    let mut seen: Vec<(PathBuf, String, &TargetConfig)> = Vec::new();
    for (at, t) in all_targets(c) {
        let path_at = format!("{at}.{}", t.kind());
        t.check_not_input(inputs).map_err(|e| e.at(&path_at))?;
        let same = same_file_key(t.path());
        if let Some((_, first_at, first)) = seen.iter().find(|(k, _, _)| *k == same) {
            let what = if t.is_stdout() {
                "standard output".to_string()
            } else {
                format!("'{}'", t.path())
            };
            return Err(Error::config(format!(
                "{what} is also written by {first_at} ({}:{}): two targets cannot write one file",
                first.kind(),
                first.path()
            ))
            .at(format!("{path_at}.path")));
        }
        seen.push((same, at, t));
    }
    Ok(())
}

/// A key equal for two paths of one file: absolute, `.` and `..` resolved, the directory's
/// links resolved when it exists.
fn same_file_key(path: &str) -> PathBuf {
    if path == rill_io::targets::STDOUT {
        return PathBuf::from(path);
    }
    let p = Path::new(path);
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(p)
    };
    let mut norm = PathBuf::new();
    for c in abs.components() {
        match c {
            Component::ParentDir => {
                norm.pop();
            }
            Component::CurDir => {}
            other => norm.push(other),
        }
    }
    match (norm.parent(), norm.file_name()) {
        (Some(dir), Some(name)) => std::fs::canonicalize(dir)
            .map(|d| d.join(name))
            .unwrap_or(norm),
        _ => norm,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_file_has_one_key_however_it_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        assert_eq!(
            same_file_key(&format!("{d}/sub/../out.csv")),
            same_file_key(&format!("{d}/./out.csv"))
        );
        assert_ne!(
            same_file_key(&format!("{d}/a.csv")),
            same_file_key(&format!("{d}/b.csv"))
        );
    }
}
