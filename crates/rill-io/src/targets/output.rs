//! Where a file target writes: a partial file beside the target path, renamed into place only
//! when the run ends well, so the target path always holds either the previous output or a
//! complete new one — never a half-written file. The path `-` is standard output, written
//! as the run goes (a stream has no previous output to keep).

use rill_core::{shorten, Error};
use std::fs::File;
use std::path::{Path, PathBuf};

/// The partial file of a target path: `.<name>.rill-partial` in the same directory (the same
/// file system, so the final rename is atomic; hidden, so a half-written file is not mistaken
/// for an output).
pub fn partial_path(path: &Path) -> PathBuf {
    sibling(path, "rill-partial")
}

/// `.<name>.<suffix>` in the directory of `path`.
pub(crate) fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{suffix}"))
}

/// The target path that means standard output.
pub const STDOUT: &str = "-";

/// A target's output file. Built with the target (creating the output directory and the
/// partial file, so an unwritable location fails before the first record is read); written
/// through [`Output::file`]; [`Output::commit`] renames it into place. Dropped uncommitted
/// (a failed run), it removes the partial file and leaves the target path as it was.
#[derive(Debug)]
pub(crate) struct Output {
    path: PathBuf,
    partial: PathBuf,
    /// The partial file, created when the target is built, until an encoder takes it.
    file: Option<File>,
    committed: bool,
    /// Writing to standard output: no partial file, nothing to rename.
    stdout: bool,
}

/// Checks, without creating anything, that `path` can be a target: it names a file, is not a
/// directory, and its nearest existing ancestor is a directory (the run creates the rest).
/// The error is at `path` in the target's options.
pub(crate) fn check(path: &str) -> Result<(), Error> {
    if path == STDOUT {
        return Ok(());
    }
    let p = Path::new(path);
    let bad = |msg: String| Err(Error::config(msg).at("path"));
    if p.file_name().is_none() {
        return bad(format!("target path '{path}' does not name a file"));
    }
    if p.is_dir() {
        return bad(format!("target path '{path}' is a directory"));
    }
    let mut dir = p.parent();
    while let Some(d) = dir.filter(|d| !d.as_os_str().is_empty()) {
        if d.exists() {
            if !d.is_dir() {
                return bad(format!(
                    "target path '{path}': '{}' is not a directory",
                    d.display()
                ));
            }
            break;
        }
        dir = d.parent();
    }
    Ok(())
}

impl Output {
    /// Creates the parent directories of `path` and the partial file beside it (for `-`,
    /// takes standard output).
    pub fn new(path: &str) -> Result<Output, Error> {
        if path == STDOUT {
            return Ok(Output {
                path: PathBuf::from(path),
                partial: PathBuf::new(),
                file: Some(stdout_file()?),
                committed: false,
                stdout: true,
            });
        }
        let path = PathBuf::from(path);
        if path.file_name().is_none() {
            return Err(Error::config(format!(
                "target path '{}' does not name a file",
                path.display()
            )));
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                // (a path the system refuses as too long is shown shortened)
                let dir = dir.display().to_string();
                Error::io(
                    format!("creating output directory '{}'", shorten(&dir, 300)),
                    e,
                )
            })?;
        }
        if path.is_dir() {
            return Err(Error::config(format!(
                "target path '{}' is a directory",
                path.display()
            )));
        }
        let partial = partial_path(&path);
        let file = File::create(&partial).map_err(|e| {
            let p = partial.display().to_string();
            Error::io(format!("creating '{}'", shorten(&p, 300)), e)
        })?;
        Ok(Output {
            path,
            partial,
            file: Some(file),
            committed: false,
            stdout: false,
        })
    }

    /// The partial file's path (what the encoder writes).
    pub fn partial(&self) -> &Path {
        &self.partial
    }

    /// The partial file, opened for writing: the one created at build the first time, a fresh
    /// (truncated) one afterwards (the Parquet target rewrites its file when a column widens).
    pub fn file(&mut self) -> Result<File, Error> {
        if self.stdout {
            return match self.file.take() {
                Some(f) => Ok(f),
                None => stdout_file(),
            };
        }
        match self.file.take() {
            Some(f) => Ok(f),
            None => File::create(&self.partial)
                .map_err(|e| Error::io(format!("creating '{}'", self.partial.display()), e)),
        }
    }

    /// Syncs the (closed) partial file to disk and renames it to the target path, then syncs
    /// the directory so the rename itself survives a crash.
    pub fn commit(&mut self) -> Result<(), Error> {
        if self.stdout {
            // the encoder has flushed its writer: every line is out
            self.committed = true;
            return Ok(());
        }
        let ctx = || format!("committing '{}'", self.path.display());
        let f = match self.file.take() {
            Some(f) => f,
            None => File::options()
                .write(true)
                .open(&self.partial)
                .map_err(|e| Error::io(ctx(), e))?,
        };
        f.sync_all().map_err(|e| Error::io(ctx(), e))?;
        drop(f);
        std::fs::rename(&self.partial, &self.path).map_err(|e| Error::io(ctx(), e))?;
        self.committed = true;
        let dir = match self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            Some(d) => d.to_path_buf(),
            None => PathBuf::from("."),
        };
        // best effort: some file systems cannot fsync a directory
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

/// A handle on standard output (a duplicate of its descriptor, so writers own it).
fn stdout_file() -> Result<File, Error> {
    use std::os::fd::AsFd;
    std::io::stdout()
        .as_fd()
        .try_clone_to_owned()
        .map(File::from)
        .map_err(|e| Error::io("opening standard output", e))
}

impl Drop for Output {
    fn drop(&mut self) {
        if !self.committed && !self.stdout {
            // a failed run: its half-written output is of no use, and must not be taken for one
            let _ = std::fs::remove_file(&self.partial);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_path_is_a_hidden_sibling() {
        assert_eq!(
            partial_path(Path::new("out/a.csv")),
            PathBuf::from("out/.a.csv.rill-partial")
        );
        assert_eq!(
            partial_path(Path::new("a.csv")),
            PathBuf::from(".a.csv.rill-partial")
        );
    }

    #[test]
    fn check_creates_nothing_and_refuses_what_cannot_be_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let new = d.join("new/dir/o.csv");
        check(new.to_str().unwrap()).unwrap();
        assert!(!d.join("new").exists());
        std::fs::write(d.join("f"), "").unwrap();
        let msg = |p: std::path::PathBuf| check(p.to_str().unwrap()).unwrap_err().to_string();
        assert_eq!(
            msg(d.join("f/o.csv")),
            format!(
                "path: target path '{}/f/o.csv': '{}/f' is not a directory",
                d.display(),
                d.display()
            )
        );
        assert_eq!(
            msg(d.to_path_buf()),
            format!("path: target path '{}' is a directory", d.display())
        );
        check("-").unwrap();
    }

    #[test]
    fn uncommitted_output_is_removed_and_the_old_file_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new/dir/o.txt");
        let out = Output::new(path.to_str().unwrap()).unwrap();
        assert!(dir.path().join("new/dir/.o.txt.rill-partial").exists());
        drop(out);
        assert!(!dir.path().join("new/dir/.o.txt.rill-partial").exists());
        assert!(!path.exists());
        std::fs::write(&path, "old").unwrap();
        let mut out = Output::new(path.to_str().unwrap()).unwrap();
        use std::io::Write;
        out.file().unwrap().write_all(b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        out.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert!(!dir.path().join("new/dir/.o.txt.rill-partial").exists());
    }
}
