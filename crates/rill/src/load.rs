//! Loading a pipeline: YAML text → tree (with places) → overrides → typed configuration →
//! relative paths resolved. Every error is placed (see [`crate::yaml`]).

use crate::yaml::{self, Node, Origin};
use crate::{Override, PipelineConfig};
use rill_core::{Error, Result};
use std::path::Path;

/// Reads `text` (named `file` in messages), applies `overrides` and resolves relative paths
/// against `dir`. Returns the configuration and the tree it was read from.
pub(crate) fn load(
    text: &str,
    file: &str,
    dir: &Path,
    overrides: &[Override],
) -> Result<(PipelineConfig, Node)> {
    let base = Node::parse(text).map_err(|(msg, at)| Error::Located {
        place: match at {
            Some((line, column)) => format!("{file}:{line}:{column}"),
            None => file.to_string(),
        },
        path: None,
        inner: Box::new(Error::config(yaml::shorten_quoted(&msg))),
    })?;
    // an override is first read as YAML; when the value it gives does not fit, it is taken
    // verbatim as text (an expression), and if that fails too the first error is reported
    let mut verbatim = vec![false; overrides.len()];
    let mut first_error: Vec<Option<Error>> = vec![None; overrides.len()];
    loop {
        let mut tree = base.clone();
        for (o, v) in overrides.iter().zip(&verbatim) {
            o.apply(&mut tree, *v)?;
        }
        let e = match yaml::deserialize::<PipelineConfig>(&tree) {
            Ok(mut config) => {
                crate::paths::resolve(&mut config, &tree, dir);
                return Ok((config, tree));
            }
            Err(e) => e,
        };
        let path = e.path.clone().unwrap_or_default();
        let located = locate_de(e, file);
        match overrides.iter().rposition(|o| o.covers(&path)) {
            Some(k) if !verbatim[k] && overrides[k].is_read_as_yaml() => {
                verbatim[k] = true;
                first_error[k] = Some(located);
            }
            Some(k) => return Err(first_error[k].take().unwrap_or(located)),
            None => return Err(located),
        }
    }
}

/// A deserialization error as a placed configuration error.
fn locate_de(e: yaml::DeError, file: &str) -> Error {
    let message = e.message();
    let origin = e
        .origin
        .map(|o| *o)
        .unwrap_or(Origin::File { line: 1, column: 1 });
    placed(
        &origin,
        file,
        e.path.as_deref().unwrap_or(""),
        Error::config(message),
    )
}

/// `inner` placed at `origin`, at `path` (not repeated when the place is the `--set` of that
/// very path).
pub(crate) fn placed(origin: &Origin, file: &str, path: &str, inner: Error) -> Error {
    let shown = match origin {
        _ if path.is_empty() => None,
        Origin::Arg { path: p, .. } if **p == *path => None,
        _ => Some(yaml::short_path(path)),
    };
    Error::Located {
        place: origin.place(file),
        path: shown,
        inner: Box::new(inner),
    }
}
