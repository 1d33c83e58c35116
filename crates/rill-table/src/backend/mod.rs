//! Where a table's state persists: a [`Backend`] stores byte values under `(table, space, key)`.
//!
//! A table writes three kinds of *space*: `meta` (what the table holds: the aggregators' schema,
//! the progress of the last flush), `attrs` (each key's static attributes as JSON) and one
//! `agg.<id>` space per set of aggregators (each key's windowed state, in `rill-agg`'s versioned
//! binary encoding). Keys are the table key's JSON text (`"u1"`, `42`, `["a",1]`), so a user can
//! find a key with `redis-cli` or `psql`.
//!
//! The URL decides the driver ([`open`]): `memory://` (no backend: the cache is the data), a
//! directory path or `file://DIR` (the embedded on-disk store), `redis://…`, `postgres://…`.

use std::sync::Arc;

/// One change of a flush.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write<'a> {
    /// Sets `key` in `space` to `value`.
    Put {
        /// The space (`meta`, `attrs`, `agg.<id>`).
        space: &'a str,
        /// The key's bytes.
        key: &'a [u8],
        /// The value's bytes.
        value: &'a [u8],
    },
    /// Removes `key` from `space` (absent keys are not an error).
    Delete {
        /// The space.
        space: &'a str,
        /// The key's bytes.
        key: &'a [u8],
    },
}

/// A failure of a backend, with the URL (password hidden) and what was being done.
#[derive(Debug, thiserror::Error)]
#[error("{url}: {what}")]
pub struct BackendError {
    /// The backend's URL with any password replaced by `***`.
    pub url: String,
    /// What failed, in plain words (e.g. "cannot connect", "writing 512 keys").
    pub what: String,
    /// The driver's own error.
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl BackendError {
    /// An error of `url` doing `what`, caused by `source`.
    pub fn new(
        url: impl Into<String>,
        what: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> BackendError {
        BackendError {
            url: url.into(),
            what: what.into(),
            source: Some(source.into()),
        }
    }

    /// The message with every cause, for errors that carry text only.
    pub fn chain(&self) -> String {
        let mut s = self.to_string();
        let mut cause = std::error::Error::source(self);
        while let Some(c) = cause {
            s.push_str(": ");
            s.push_str(&c.to_string());
            cause = c.source();
        }
        s
    }
}

/// The `(key, value)` pairs of a space, as [`Backend::scan`] returns them.
pub type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// A persistent key-value store under the tables. Implementations are blocking (a table calls
/// them at flushes, on first sight of a key and from `rill query`/`rill serve`), safe to share
/// between threads, and keep tables and spaces apart (two tables of one URL never see each
/// other's keys).
pub trait Backend: Send + Sync {
    /// The URL, password hidden, for messages.
    fn url(&self) -> &str;

    /// The values of `keys` in `space` of `table`: one entry per key, in order, `None` where
    /// absent. Batched (one round trip for a remote server).
    fn get_many(
        &self,
        table: &str,
        space: &str,
        keys: &[&[u8]],
    ) -> Result<Vec<Option<Vec<u8>>>, BackendError>;

    /// Applies `writes` to `table` as one atomic unit where the server allows it (embedded
    /// store: one batch; PostgreSQL: one transaction; Redis: one MULTI/EXEC). A later write of
    /// the same key wins.
    fn write(&self, table: &str, writes: &[Write<'_>]) -> Result<(), BackendError>;

    /// Every `(key, value)` of `space` in `table`, ordered by key bytes.
    fn scan(&self, table: &str, space: &str) -> Result<Entries, BackendError>;

    /// Makes every completed [`write`](Backend::write) durable (fsync for the embedded store;
    /// servers acknowledge writes durably or as configured, and return at once).
    fn sync(&self) -> Result<(), BackendError> {
        Ok(())
    }
}

/// The URL with the password of `user:password@` replaced by `***`.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (auth, host) = match rest.rsplit_once('@') {
        Some(x) => x,
        None => return url.to_string(),
    };
    match auth.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

/// What a table URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// `memory://`: no backend.
    Memory,
    /// The embedded on-disk store in this directory.
    Embedded(std::path::PathBuf),
    /// A Redis server.
    Redis(String),
    /// A PostgreSQL server.
    Postgres(String),
}

impl Location {
    /// Parses a table URL; a relative directory is taken relative to `base`.
    pub fn parse(url: &str, base: &std::path::Path) -> Result<Location, String> {
        let dir = |p: &str| {
            let p = std::path::Path::new(p);
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                base.join(p)
            }
        };
        match url.split_once("://") {
            Some(("memory", "")) => Ok(Location::Memory),
            Some(("memory", rest)) => {
                Err(format!("memory:// takes nothing after it (got '{rest}')"))
            }
            Some(("file", path)) if !path.is_empty() => Ok(Location::Embedded(dir(path))),
            Some(("redis" | "rediss", _)) => Ok(Location::Redis(url.to_string())),
            Some(("postgres" | "postgresql", _)) => Ok(Location::Postgres(url.to_string())),
            Some((scheme, _)) => Err(format!(
                "unknown scheme '{scheme}://' (known: memory://, file://DIR or a directory path, \
                 redis://, postgres://)"
            )),
            None if url.is_empty() => Err("empty url".into()),
            None => Ok(Location::Embedded(dir(url))),
        }
    }
}

/// Opens the backend a URL names (`None` for `memory://`), connecting to a server or opening
/// (creating) the embedded store's directory. `base` anchors a relative directory.
pub fn open(url: &str, base: &std::path::Path) -> Result<Option<Arc<dyn Backend>>, BackendError> {
    let loc = Location::parse(url, base).map_err(|what| BackendError {
        url: redact(url),
        what,
        source: None,
    })?;
    Ok(match loc {
        Location::Memory => None,
        Location::Embedded(_) | Location::Redis(_) | Location::Postgres(_) => {
            return Err(BackendError {
                url: redact(url),
                what: "this driver is not in this build yet".into(),
                source: None,
            });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_their_driver() {
        let base = std::path::Path::new("/p");
        assert_eq!(Location::parse("memory://", base), Ok(Location::Memory));
        assert_eq!(
            Location::parse("state", base),
            Ok(Location::Embedded("/p/state".into()))
        );
        assert_eq!(
            Location::parse("file:///abs/s", base),
            Ok(Location::Embedded("/abs/s".into()))
        );
        assert!(matches!(
            Location::parse("redis://127.0.0.1:6379/0", base),
            Ok(Location::Redis(_))
        ));
        assert!(matches!(
            Location::parse("postgres://u@h/db", base),
            Ok(Location::Postgres(_))
        ));
        let e = Location::parse("mysql://x", base).unwrap_err();
        assert!(e.contains("unknown scheme 'mysql://'"), "{e}");
        assert!(Location::parse("", base).is_err());
    }

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(
            redact("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
        assert_eq!(redact("redis://:pw@h"), "redis://:***@h");
    }
}
