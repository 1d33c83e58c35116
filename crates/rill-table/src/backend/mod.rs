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

pub mod embedded;
pub mod postgres;
pub mod redis;

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
            // drivers often repeat their cause in their own message: say each part once
            let text = c.to_string();
            if !s.contains(&text) {
                s.push_str(": ");
                s.push_str(&text);
            }
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
        Location::Embedded(dir) => Some(embedded::Embedded::open(&dir)? as Arc<dyn Backend>),
        Location::Redis(u) => Some(Arc::new(redis::RedisBackend::connect(&u)?)),
        Location::Postgres(u) => Some(Arc::new(postgres::PostgresBackend::connect(&u)?)),
    })
}

/// Splits the driver's own query parameter `name` off `url`: the URL without it (the other
/// parameters kept in order, for the server's client library) and its value (the last one if
/// given twice). Values are taken as written, not percent-decoded: the drivers take plain names.
pub(crate) fn take_param(url: &str, name: &str) -> (String, Option<String>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_string(), None);
    };
    let mut value = None;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some((k, v)) if k == name => value = Some(v.to_string()),
            None if pair == name => value = Some(String::new()),
            _ => kept.push(pair),
        }
    }
    let url = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    (url, value)
}

/// The changes of one space in a batch that take effect.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct SpaceChanges<'a> {
    /// The space.
    pub space: &'a str,
    /// `(key, value)` to set, each key once.
    pub puts: Vec<(&'a [u8], &'a [u8])>,
    /// Keys to remove, each once, none of them among `puts`.
    pub deletes: Vec<&'a [u8]>,
}

/// The writes of a batch that take effect, by space: only the last write of each
/// `(space, key)` is kept, so the changes of a space touch distinct keys and can be sent in any
/// order and in chunks (PostgreSQL also refuses an upsert that names one key twice). Spaces and
/// keys come in the order of their last write.
pub(crate) fn last_writes<'a>(writes: &[Write<'a>]) -> Vec<SpaceChanges<'a>> {
    let mut seen: ahash::AHashSet<(&str, &[u8])> = ahash::AHashSet::with_capacity(writes.len());
    let mut spaces: Vec<SpaceChanges<'a>> = Vec::new();
    let mut index: ahash::AHashMap<&str, usize> = ahash::AHashMap::new();
    for w in writes.iter().rev() {
        let (space, key) = match *w {
            Write::Put { space, key, .. } | Write::Delete { space, key } => (space, key),
        };
        if !seen.insert((space, key)) {
            continue;
        }
        let i = *index.entry(space).or_insert_with(|| {
            spaces.push(SpaceChanges {
                space,
                ..SpaceChanges::default()
            });
            spaces.len() - 1
        });
        match *w {
            Write::Put { value, .. } => spaces[i].puts.push((key, value)),
            Write::Delete { .. } => spaces[i].deletes.push(key),
        }
    }
    // Built from the end: put spaces and keys back into the batch's order.
    spaces.reverse();
    for s in &mut spaces {
        s.puts.reverse();
        s.deletes.reverse();
    }
    spaces
}

/// Splits `puts` into runs of at most `max_keys` entries and at most `max_bytes` key and value
/// bytes, for one statement or command each (an entry larger than `max_bytes` goes alone).
pub(crate) fn put_chunks<'p, 'a>(
    puts: &'p [(&'a [u8], &'a [u8])],
    max_keys: usize,
    max_bytes: usize,
) -> Vec<&'p [(&'a [u8], &'a [u8])]> {
    let mut chunks = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, (k, v)) in puts.iter().enumerate() {
        let size = k.len() + v.len();
        if i > start && (i - start == max_keys || bytes + size > max_bytes) {
            chunks.push(&puts[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes += size;
    }
    if start < puts.len() {
        chunks.push(&puts[start..]);
    }
    chunks
}

#[cfg(test)]
pub(crate) mod conformance;
#[cfg(test)]
pub(crate) use conformance::conformance;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_writes_of_a_key_win_in_a_batch() {
        use Write::{Delete, Put};
        let w = [
            Put {
                space: "a",
                key: b"1",
                value: b"x",
            },
            Delete {
                space: "b",
                key: b"1",
            },
            Put {
                space: "a",
                key: b"2",
                value: b"y",
            },
            Delete {
                space: "a",
                key: b"1",
            },
            Put {
                space: "b",
                key: b"1",
                value: b"z",
            },
            Put {
                space: "a",
                key: b"3",
                value: b"w",
            },
        ];
        assert_eq!(
            last_writes(&w),
            vec![
                SpaceChanges {
                    space: "b",
                    puts: vec![(&b"1"[..], &b"z"[..])],
                    deletes: vec![],
                },
                SpaceChanges {
                    space: "a",
                    puts: vec![(&b"2"[..], &b"y"[..]), (b"3", b"w")],
                    deletes: vec![b"1"],
                },
            ]
        );
        assert_eq!(last_writes(&[]), vec![]);
    }

    #[test]
    fn puts_are_chunked_by_count_and_bytes() {
        let v3 = [0u8; 3];
        let v9 = [0u8; 9];
        let puts: Vec<(&[u8], &[u8])> = vec![
            (b"a", &v3),
            (b"b", &v3),
            (b"c", &v3),
            (b"d", &v9),
            (b"e", &v3),
        ];
        let sizes = |c: Vec<&[(&[u8], &[u8])]>| c.iter().map(|c| c.len()).collect::<Vec<_>>();
        // By count.
        assert_eq!(sizes(put_chunks(&puts, 2, 1000)), [2, 2, 1]);
        assert_eq!(sizes(put_chunks(&puts, 5, 1000)), [5]);
        // By bytes (each entry is 4 bytes, "d" 10): 4 + 4 = 8 fits 9, "d" alone exceeds it.
        assert_eq!(sizes(put_chunks(&puts, 100, 9)), [2, 1, 1, 1]);
        assert_eq!(sizes(put_chunks(&puts, 100, 12)), [3, 1, 1]);
        assert_eq!(sizes(put_chunks(&puts, 100, 14)), [3, 2]);
        assert_eq!(sizes(put_chunks(&puts, 1, 1)), [1, 1, 1, 1, 1]);
        assert_eq!(sizes(put_chunks(&[], 10, 10)), Vec::<usize>::new());
        // Nothing lost, nothing reordered.
        let flat: Vec<_> = put_chunks(&puts, 2, 9).concat();
        assert_eq!(flat, puts);
    }

    #[test]
    fn driver_parameters_are_taken_off_the_url() {
        assert_eq!(
            take_param("redis://h:6379/0?prefix=abc", "prefix"),
            ("redis://h:6379/0".to_string(), Some("abc".to_string()))
        );
        assert_eq!(
            take_param(
                "postgres://u@h/db?sslmode=disable&schema=s1&application_name=x&schema=s2",
                "schema"
            ),
            (
                "postgres://u@h/db?sslmode=disable&application_name=x".to_string(),
                Some("s2".to_string())
            )
        );
        assert_eq!(
            take_param("redis://h?protocol=resp3", "prefix"),
            ("redis://h?protocol=resp3".to_string(), None)
        );
        assert_eq!(
            take_param("redis://h", "prefix"),
            ("redis://h".to_string(), None)
        );
        assert_eq!(
            take_param("redis://h?prefix", "prefix"),
            ("redis://h".to_string(), Some(String::new()))
        );
    }

    #[test]
    fn an_unreachable_server_fails_at_open() {
        let base = std::path::Path::new("/p");
        let e = open("redis://:secret@127.0.0.1:1/0", base)
            .err()
            .expect("port 1 is closed");
        assert_eq!(e.url, "redis://:***@127.0.0.1:1/0");
        assert!(!e.chain().contains("secret"), "{}", e.chain());
        let e = open("postgres://u:secret@127.0.0.1:1/test", base)
            .err()
            .expect("port 1 is closed");
        assert_eq!(e.url, "postgres://u:***@127.0.0.1:1/test");
        assert!(!e.chain().contains("secret"), "{}", e.chain());
        assert!(open("memory://", base).unwrap().is_none());
    }

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
