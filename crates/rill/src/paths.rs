//! Relative paths in a pipeline file are relative to the file's directory, so a pipeline
//! runs the same from any working directory (`rill run examples/quickstart.yaml` from the
//! repository, or `rill run quickstart.yaml` from `examples/`). Paths given on the command
//! line (`--input`, `--set`) are relative to the working directory, as every command-line
//! path is. `-` (standard input or output) and absolute paths are kept as they are.

use crate::yaml::{Node, Origin};
use crate::PipelineConfig;
use rill_io::OneOrMany;
use std::path::Path;

/// Rewrites the relative source and target paths that come from the file as `dir`/path
/// (`dir` is the pipeline file's directory; `""` keeps them relative to the working directory).
pub(crate) fn resolve(config: &mut PipelineConfig, tree: &Node, dir: &Path) {
    if dir.as_os_str().is_empty() {
        return;
    }
    let from_file = |path: &str| {
        tree.get(path)
            .is_some_and(|n| matches!(n.origin, Origin::File { .. }))
    };
    for (name, t) in config.tables.iter_mut() {
        if !from_file(&format!("tables.{name}.url")) {
            continue;
        }
        match t.url.split_once("://") {
            None => t.url = join(dir, &t.url),
            Some(("file", p)) => t.url = format!("file://{}", join(dir, p)),
            Some(_) => {}
        }
    }
    let kind = config.source.kind();
    let at = format!("source.{kind}.path");
    match config.source.path_mut() {
        OneOrMany::One(p) => {
            if from_file(&at) {
                *p = join(dir, p);
            }
        }
        OneOrMany::Many(ps) => {
            for (i, p) in ps.iter_mut().enumerate() {
                if from_file(&format!("{at}.{i}")) {
                    *p = join(dir, p);
                }
            }
        }
    }
    let mut target = |at: String, t: &mut rill_io::TargetConfig| {
        if from_file(&format!("{at}.{}.path", t.kind())) {
            let p = t.path_mut();
            *p = join(dir, p);
        }
    };
    rill_flow::config::for_each_target_mut(&mut config.steps, &mut config.targets, "", &mut target);
    if let Some(dl) = &mut config.dead_letter {
        target("dead_letter".into(), dl);
    }
}

/// `dir/p` for a relative `p` (without its leading `./`); `p` itself when absolute or `-`.
fn join(dir: &Path, p: &str) -> String {
    if p == "-" || Path::new(p).is_absolute() {
        return p.to_string();
    }
    let mut rest = p;
    while let Some(r) = rest.strip_prefix("./") {
        rest = r.trim_start_matches('/');
    }
    if rest.is_empty() || rest == "." {
        return dir.display().to_string();
    }
    dir.join(rest).display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_join_the_directory() {
        let d = Path::new("examples");
        assert_eq!(join(d, "data/x.csv"), "examples/data/x.csv");
        assert_eq!(join(d, "./data/*.csv"), "examples/data/*.csv");
        assert_eq!(join(d, "../out/x.csv"), "examples/../out/x.csv");
        assert_eq!(join(d, "/abs/x.csv"), "/abs/x.csv");
        assert_eq!(join(d, "-"), "-");
    }
}
