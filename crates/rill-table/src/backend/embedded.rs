//! The embedded on-disk store: a [fjall](https://docs.rs/fjall) LSM tree in a directory, no
//! server. The default persistent driver (`tables: {features: {url: ./state}}`).
//!
//! Layout: one keyspace `rill` whose keys are `len(table) table len(space) space key` (lengths
//! one byte each), so a table's space is one prefix scan and a flush of every table and space is
//! one atomic batch. [`Backend::sync`] persists the journal with fsync: after a crash the store
//! reopens at the last completed flush (fjall replays its journal; a batch is all or nothing).
//!
//! Why fjall and not redb: aggregation state is write-heavy — every flush rewrites the state of
//! every key touched since the last one — and an LSM tree takes such batches sequentially,
//! where a copy-on-write B-tree rewrites its pages (see the "State and tables" docs page for the
//! measurement on W1's state).
//!
//! One process at a time: fjall locks the directory. Within a process every table on the same
//! directory shares one open store.

use super::{Backend, BackendError, Write};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock, Weak};

/// The embedded store of one directory.
pub struct Embedded {
    url: String,
    db: fjall::Database,
    ks: fjall::Keyspace,
}

impl std::fmt::Debug for Embedded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedded").field("url", &self.url).finish()
    }
}

/// The stores this process has open, by directory, so that two tables (or two flows) on one
/// directory share the single handle fjall's lock allows.
fn open_stores() -> &'static Mutex<HashMap<PathBuf, Weak<Embedded>>> {
    static STORES: OnceLock<Mutex<HashMap<PathBuf, Weak<Embedded>>>> = OnceLock::new();
    STORES.get_or_init(Default::default)
}

impl Embedded {
    /// Opens (creating) the store in `dir`, or returns the handle this process already has.
    pub fn open(dir: &Path) -> Result<Arc<Embedded>, BackendError> {
        let url = dir.display().to_string();
        let err = |what: &str, e: fjall::Error| BackendError::new(url.clone(), what, e);
        std::fs::create_dir_all(dir).map_err(|e| {
            BackendError::new(url.clone(), "cannot create the store's directory", e)
        })?;
        let canonical = dir.canonicalize().map_err(|e| {
            BackendError::new(url.clone(), "cannot resolve the store's directory", e)
        })?;
        let mut stores = open_stores().lock();
        if let Some(s) = stores.get(&canonical).and_then(Weak::upgrade) {
            return Ok(s);
        }
        if canonical.read_dir().is_ok_and(|mut d| d.next().is_some())
            && !canonical.join("version").exists()
            && !canonical.join("lock").exists()
        {
            return Err(BackendError {
                url,
                what: "the directory exists and is not a rill store (it has files but no store \
                       metadata); point the table at an empty or new directory"
                    .into(),
                source: None,
            });
        }
        let db = fjall::Database::builder(&canonical)
            .worker_threads(1)
            .open()
            .map_err(|e| match e {
                fjall::Error::Locked => BackendError::new(
                    url.clone(),
                    "the store is in use by another process (one process at a time opens an \
                     embedded store)",
                    e,
                ),
                e => err("cannot open the store (is the directory damaged?)", e),
            })?;
        let ks = db
            .keyspace("rill", fjall::KeyspaceCreateOptions::default)
            .map_err(|e| err("cannot open the store's keyspace", e))?;
        let store = Arc::new(Embedded { url, db, ks });
        stores.retain(|_, w| w.strong_count() > 0);
        stores.insert(canonical, Arc::downgrade(&store));
        Ok(store)
    }
}

/// `len(table) table len(space) space`, the prefix of every key of a table's space.
fn prefix(table: &str, space: &str) -> Vec<u8> {
    let (t, s) = (table.as_bytes(), space.as_bytes());
    let mut p = Vec::with_capacity(2 + t.len() + s.len());
    // names are YAML identifiers and space ids: well under 256 bytes; longer ones are cut
    // to keep the framing unambiguous (the length byte says how much follows)
    let t = &t[..t.len().min(255)];
    let s = &s[..s.len().min(255)];
    p.push(t.len() as u8);
    p.extend_from_slice(t);
    p.push(s.len() as u8);
    p.extend_from_slice(s);
    p
}

impl Backend for Embedded {
    fn url(&self) -> &str {
        &self.url
    }

    fn get_many(
        &self,
        table: &str,
        space: &str,
        keys: &[&[u8]],
    ) -> Result<Vec<Option<Vec<u8>>>, BackendError> {
        let mut full = prefix(table, space);
        let base = full.len();
        keys.iter()
            .map(|k| {
                full.truncate(base);
                full.extend_from_slice(k);
                self.ks
                    .get(&full)
                    .map(|v| v.map(|v| v.to_vec()))
                    .map_err(|e| BackendError::new(self.url.clone(), "reading a key", e))
            })
            .collect()
    }

    fn write(&self, table: &str, writes: &[Write<'_>]) -> Result<(), BackendError> {
        if writes.is_empty() {
            return Ok(());
        }
        let mut batch = self.db.batch();
        for w in writes {
            match *w {
                Write::Put { space, key, value } => {
                    let mut k = prefix(table, space);
                    k.extend_from_slice(key);
                    batch.insert(&self.ks, k, value);
                }
                Write::Delete { space, key } => {
                    let mut k = prefix(table, space);
                    k.extend_from_slice(key);
                    batch.remove(&self.ks, k);
                }
            }
        }
        batch.commit().map_err(|e| {
            BackendError::new(
                self.url.clone(),
                format!("writing {} keys", writes.len()),
                e,
            )
        })
    }

    fn scan(&self, table: &str, space: &str) -> Result<Vec<(Vec<u8>, Vec<u8>)>, BackendError> {
        let p = prefix(table, space);
        self.ks
            .prefix(&p)
            .map(|g| {
                let (k, v) = g
                    .into_inner()
                    .map_err(|e| BackendError::new(self.url.clone(), "scanning keys", e))?;
                Ok((k[p.len()..].to_vec(), v.to_vec()))
            })
            .collect()
    }

    fn sync(&self) -> Result<(), BackendError> {
        self.db
            .persist(fjall::PersistMode::SyncAll)
            .map_err(|e| BackendError::new(self.url.clone(), "syncing the journal to disk", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_tables_and_spaces_apart_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = Embedded::open(dir.path()).unwrap();
            s.write(
                "t",
                &[
                    Write::Put {
                        space: "attrs",
                        key: b"\"a\"",
                        value: b"1",
                    },
                    Write::Put {
                        space: "attrs",
                        key: b"\"b\"",
                        value: b"\x00\xff",
                    },
                    Write::Put {
                        space: "meta",
                        key: b"\"a\"",
                        value: b"m",
                    },
                ],
            )
            .unwrap();
            s.write(
                "t2",
                &[Write::Put {
                    space: "attrs",
                    key: b"\"a\"",
                    value: b"other",
                }],
            )
            .unwrap();
            s.write(
                "t",
                &[Write::Delete {
                    space: "attrs",
                    key: b"\"b\"",
                }],
            )
            .unwrap();
            s.sync().unwrap();
            // a second open in the process shares the handle (fjall's lock allows one)
            let again = Embedded::open(dir.path()).unwrap();
            assert!(Arc::ptr_eq(&s, &again));
        }
        let s = Embedded::open(dir.path()).unwrap();
        assert_eq!(
            s.get_many("t", "attrs", &[b"\"a\"", b"\"b\"", b"\"c\""])
                .unwrap(),
            vec![Some(b"1".to_vec()), None, None]
        );
        assert_eq!(
            s.scan("t", "meta").unwrap(),
            vec![(b"\"a\"".to_vec(), b"m".to_vec())]
        );
        assert_eq!(
            s.scan("t2", "attrs").unwrap(),
            vec![(b"\"a\"".to_vec(), b"other".to_vec())]
        );
    }

    #[test]
    fn passes_the_conformance_checks() {
        let dir = tempfile::tempdir().unwrap();
        super::super::conformance(&*Embedded::open(dir.path()).unwrap());
    }

    #[test]
    fn refuses_a_directory_of_other_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("notes.txt"), "mine").unwrap();
        let e = Embedded::open(dir.path()).unwrap_err();
        assert!(e.what.contains("not a rill store"), "{e}");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("notes.txt")).unwrap(),
            "mine"
        );
    }
}
