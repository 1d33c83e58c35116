//! Where a file target writes: a partial file beside the target path, renamed into place only
//! when the run ends well, so the target path always holds either the previous output or a
//! complete new one — never a half-written file.

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
}

impl Output {
    /// Creates the parent directories of `path` and the partial file beside it.
    pub fn new(path: &str) -> Result<Output, Error> {
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
        })
    }

    /// The partial file's path (what the encoder writes).
    pub fn partial(&self) -> &Path {
        &self.partial
    }

    /// The partial file, opened for writing: the one created at build the first time, a fresh
    /// (truncated) one afterwards (the Parquet target rewrites its file when a column widens).
    pub fn file(&mut self) -> Result<File, Error> {
        match self.file.take() {
            Some(f) => Ok(f),
            None => File::create(&self.partial)
                .map_err(|e| Error::io(format!("creating '{}'", self.partial.display()), e)),
        }
    }

    /// Syncs the (closed) partial file to disk and renames it to the target path, then syncs
    /// the directory so the rename itself survives a crash.
    pub fn commit(&mut self) -> Result<(), Error> {
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

impl Drop for Output {
    fn drop(&mut self) {
        if !self.committed {
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
