//! The PostgreSQL driver: `postgres://user[:password]@host[:port]/database[?schema=NAME]`.
//!
//! # Layout
//!
//! One table in the schema `schema` (default `public`; created if missing, like the table),
//! holding every table and space of the URL:
//!
//! ```sql
//! CREATE TABLE "{schema}".rill_state (
//!     tbl   text  NOT NULL,   -- the rill table's name
//!     space text  NOT NULL,   -- meta, attrs, agg.<id>
//!     key   bytea NOT NULL,   -- the table key's JSON text, as bytes
//!     value bytea NOT NULL,   -- the stored bytes (JSON for attrs, binary for agg.<id>)
//!     PRIMARY KEY (tbl, space, key)
//! );
//! ```
//!
//! The schema's name takes letters, digits and `_` and is quoted in SQL, so its case counts
//! (`schema=Rill` is `"Rill"`, not `rill`). With `psql`, for `?schema=rill`:
//!
//! ```sql
//! SELECT tbl, space, count(*) FROM rill.rill_state GROUP BY 1, 2;
//! SELECT convert_from(value, 'UTF8') FROM rill.rill_state
//!  WHERE tbl = 'users' AND space = 'attrs' AND key = convert_to('"u1"', 'UTF8');
//! DELETE FROM rill.rill_state WHERE tbl = 'users';   -- drop a table's state
//! ```
//!
//! # Operations
//!
//! [`get_many`](Backend::get_many) is one `SELECT … WHERE key = ANY($3)`.
//! [`write`](Backend::write) is one transaction: per space, upserts
//! (`INSERT … SELECT … FROM unnest($3::bytea[], $4::bytea[]) ON CONFLICT (tbl, space, key) DO
//! UPDATE SET value = excluded.value`) of at most [`CHUNK_ROWS`] rows and [`CHUNK_BYTES`]
//! bytes each, and `DELETE … WHERE key = ANY($3)` of at most [`CHUNK_ROWS`]
//! keys each. [`scan`](Backend::scan) is one `SELECT … ORDER BY key` (bytea orders by bytes).
//!
//! The other query parameters (e.g. `connect_timeout`, `application_name`) go to the
//! `postgres` crate; without them the connection waits at most 5 s for the server and names
//! itself `rill` (see `pg_stat_activity`). TLS is not built in (`sslmode=require` fails).
//! `connect` connects and sets up the schema and table (refusing a `rill_state` of other
//! columns), so a wrong address, user, password or database fails at once. One connection
//! serves every call, one at a time; if it is lost (server restarted, backend terminated), the
//! call reconnects and runs once more, which is safe because a write sets final values and so
//! can be applied twice.

use std::str::FromStr;
use std::time::Duration;

use ::postgres::error::SqlState;
use ::postgres::{Client, Config, NoTls, Statement};
use parking_lot::Mutex;

use super::{last_writes, put_chunks, redact, take_param, Backend, BackendError, Entries, Write};

/// The most rows one upsert or delete statement of a write names.
pub const CHUNK_ROWS: usize = 1000;

/// The most key and value bytes one upsert statement of a write carries (a single larger
/// entry goes alone).
pub const CHUNK_BYTES: usize = 8 << 20;

/// The columns of `rill_state`, as `format_type` names them.
const COLUMNS: &str = "tbl text, space text, key bytea, value bytea";

/// How long connecting waits for the server unless the URL sets `connect_timeout`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A [`Backend`] over one table `{schema}.rill_state` of a PostgreSQL database (see the module
/// doc).
pub struct PostgresBackend {
    /// The URL as given, password hidden.
    url: String,
    /// The schema (unquoted).
    schema: String,
    /// How to connect (the URL without `schema`, plus the defaults).
    config: Config,
    /// The connection and its prepared statements; `None` after it was lost and reconnecting
    /// failed.
    conn: Mutex<Option<Conn>>,
}

/// A connection with the statements prepared on it.
struct Conn {
    client: Client,
    /// `$1` tbl, `$2` space, `$3` keys → (key, value) rows.
    get: Statement,
    /// `$1` tbl, `$2` space → (key, value) rows ordered by key.
    scan: Statement,
    /// `$1` tbl, `$2` space, `$3` keys, `$4` values.
    upsert: Statement,
    /// `$1` tbl, `$2` space, `$3` keys.
    delete: Statement,
}

impl std::fmt::Debug for PostgresBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresBackend")
            .field("url", &self.url)
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl PostgresBackend {
    /// Connects to the database `url` names (`postgres://user@host:port/db?schema=NAME`,
    /// `schema` defaulting to `public`) and creates the schema and its `rill_state` table if
    /// missing. An unreachable server, a refused user or password, a missing database or a
    /// malformed URL is an error here, naming the URL with its password hidden.
    pub fn connect(url: &str) -> Result<PostgresBackend, BackendError> {
        let shown = redact(url);
        let (server_url, schema) = take_param(url, "schema");
        let schema = schema.unwrap_or_else(|| "public".to_string());
        if schema.is_empty()
            || schema.len() > 63
            || !schema
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(BackendError {
                url: shown,
                what: format!("schema '{schema}' must be 1 to 63 letters, digits or '_'"),
                source: None,
            });
        }
        let mut config = Config::from_str(&server_url)
            .map_err(|e| BackendError::new(&shown, "invalid PostgreSQL URL", e))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("rill");
        }
        let backend = PostgresBackend {
            url: shown,
            schema,
            config,
            conn: Mutex::new(None),
        };
        let conn = backend.open_connection()?;
        *backend.conn.lock() = Some(conn);
        Ok(backend)
    }

    /// The schema holding `rill_state`.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// `"{schema}".rill_state`, for SQL.
    fn table_sql(&self) -> String {
        format!("\"{}\".rill_state", self.schema)
    }

    /// A new connection: connected, schema and table in place, statements prepared.
    fn open_connection(&self) -> Result<Conn, BackendError> {
        let mut client = self
            .config
            .connect(NoTls)
            .map_err(|e| BackendError::new(&self.url, connect_failure(&e), e))?;
        let t = self.table_sql();
        // The columns of an existing table, when they are not this driver's.
        let setup = |client: &mut Client| -> Result<Option<String>, ::postgres::Error> {
            // Checked before creating: CREATE … IF NOT EXISTS wants the privilege to create even
            // when the object exists. The advisory lock keeps two processes that set up one
            // schema at once from colliding.
            let mut tx = client.transaction()?;
            tx.execute(
                "SELECT pg_advisory_xact_lock(hashtext('rill_state:' || $1::text))",
                &[&self.schema],
            )?;
            let has_schema = tx
                .query_opt(
                    "SELECT 1 FROM pg_namespace WHERE nspname = $1",
                    &[&self.schema],
                )?
                .is_some();
            if !has_schema {
                tx.batch_execute(&format!("CREATE SCHEMA \"{}\"", self.schema))?;
            }
            let columns: Option<String> = tx
                .query_one(
                    "SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' \
                     ORDER BY attnum) FROM pg_attribute \
                     WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped",
                    &[&t],
                )?
                .try_get(0)?;
            let wrong = match columns {
                None => {
                    tx.batch_execute(&format!(
                        "CREATE TABLE {t} (tbl text NOT NULL, space text NOT NULL, \
                         key bytea NOT NULL, value bytea NOT NULL, PRIMARY KEY (tbl, space, key))"
                    ))?;
                    None
                }
                Some(c) if c == COLUMNS => None,
                Some(c) => Some(c),
            };
            tx.commit()?;
            Ok(wrong)
        };
        let wrong = setup(&mut client).map_err(|e| {
            BackendError::new(
                &self.url,
                format!("setting up table {t} (schema and table are created if missing)"),
                e,
            )
        })?;
        if let Some(found) = wrong {
            return Err(BackendError {
                url: self.url.clone(),
                what: format!(
                    "table {t} exists with other columns ({found}; this driver keeps {COLUMNS})"
                ),
                source: None,
            });
        }
        let mut prepare = |sql: String| {
            client.prepare(&sql).map_err(|e| {
                BackendError::new(&self.url, format!("preparing statements on {t}"), e)
            })
        };
        let get = prepare(format!(
            "SELECT key, value FROM {t} WHERE tbl = $1 AND space = $2 AND key = ANY($3)"
        ))?;
        let scan = prepare(format!(
            "SELECT key, value FROM {t} WHERE tbl = $1 AND space = $2 ORDER BY key"
        ))?;
        let upsert = prepare(format!(
            "INSERT INTO {t} (tbl, space, key, value) \
             SELECT $1, $2, k, v FROM unnest($3::bytea[], $4::bytea[]) AS u(k, v) \
             ON CONFLICT (tbl, space, key) DO UPDATE SET value = excluded.value"
        ))?;
        let delete = prepare(format!(
            "DELETE FROM {t} WHERE tbl = $1 AND space = $2 AND key = ANY($3)"
        ))?;
        Ok(Conn {
            client,
            get,
            scan,
            upsert,
            delete,
        })
    }

    /// Runs `op` on the connection; if the connection turns out lost, runs it once more on a
    /// new one. `what` names the operation for errors.
    fn run<T>(
        &self,
        what: impl Fn() -> String,
        mut op: impl FnMut(&mut Conn) -> Result<T, ::postgres::Error>,
    ) -> Result<T, BackendError> {
        let mut slot = self.conn.lock();
        if let Some(conn) = slot.as_mut() {
            match op(conn) {
                Ok(v) => return Ok(v),
                Err(e) if e.is_closed() || conn.client.is_closed() => *slot = None,
                Err(e) => return Err(BackendError::new(&self.url, what(), e)),
            }
        }
        let conn = slot.insert(self.open_connection()?);
        match op(conn) {
            Ok(v) => Ok(v),
            Err(e) => {
                if e.is_closed() || conn.client.is_closed() {
                    *slot = None;
                }
                Err(BackendError::new(&self.url, what(), e))
            }
        }
    }
}

/// What failed, in plain words, when connecting fails with `e`.
fn connect_failure(e: &::postgres::Error) -> &'static str {
    match e.code() {
        Some(c) if *c == SqlState::INVALID_CATALOG_NAME => "database does not exist",
        Some(c)
            if *c == SqlState::INVALID_PASSWORD
                || *c == SqlState::INVALID_AUTHORIZATION_SPECIFICATION =>
        {
            "authentication failed"
        }
        _ => "cannot connect",
    }
}

/// The `(key, value)` of each row (an error, not a panic, if a table of that name made by
/// someone else has other column types).
fn entries(rows: Vec<::postgres::Row>) -> Result<Entries, ::postgres::Error> {
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

/// One upsert statement of a write: `values[i]` goes to `keys[i]` in `space`.
struct Upsert<'a> {
    space: &'a str,
    keys: Vec<&'a [u8]>,
    values: Vec<&'a [u8]>,
}

impl Backend for PostgresBackend {
    fn url(&self) -> &str {
        &self.url
    }

    fn get_many(
        &self,
        table: &str,
        space: &str,
        keys: &[&[u8]],
    ) -> Result<Vec<Option<Vec<u8>>>, BackendError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let rows = self.run(
            || {
                format!(
                    "reading {} keys of table '{table}', space '{space}'",
                    keys.len()
                )
            },
            |c| entries(c.client.query(&c.get, &[&table, &space, &keys])?),
        )?;
        // Where each key was asked (a key may be asked more than once).
        let mut at: ahash::AHashMap<&[u8], Vec<usize>> = ahash::AHashMap::with_capacity(keys.len());
        for (i, k) in keys.iter().enumerate() {
            at.entry(*k).or_default().push(i);
        }
        let mut out = vec![None; keys.len()];
        for (key, value) in rows {
            if let Some((last, rest)) = at.get(&key[..]).and_then(|p| p.split_last()) {
                for &i in rest {
                    out[i] = Some(value.clone());
                }
                out[*last] = Some(value);
            }
        }
        Ok(out)
    }

    fn write(&self, table: &str, writes: &[Write<'_>]) -> Result<(), BackendError> {
        if writes.is_empty() {
            return Ok(());
        }
        let mut upserts: Vec<Upsert<'_>> = Vec::new();
        let mut deletes: Vec<(&str, &[&[u8]])> = Vec::new();
        let changes = last_writes(writes);
        for c in &changes {
            for chunk in put_chunks(&c.puts, CHUNK_ROWS, CHUNK_BYTES) {
                let keys = chunk.iter().map(|(k, _)| *k).collect();
                let values = chunk.iter().map(|(_, v)| *v).collect();
                upserts.push(Upsert {
                    space: c.space,
                    keys,
                    values,
                });
            }
            for keys in c.deletes.chunks(CHUNK_ROWS) {
                deletes.push((c.space, keys));
            }
        }
        self.run(
            || format!("writing {} changes to table '{table}'", writes.len()),
            |c| {
                let mut tx = c.client.transaction()?;
                for u in &upserts {
                    tx.execute(&c.upsert, &[&table, &u.space, &u.keys, &u.values])?;
                }
                for (space, keys) in &deletes {
                    tx.execute(&c.delete, &[&table, space, keys])?;
                }
                tx.commit()
            },
        )
    }

    fn scan(&self, table: &str, space: &str) -> Result<Entries, BackendError> {
        self.run(
            || format!("reading table '{table}', space '{space}'"),
            |c| entries(c.client.query(&c.scan, &[&table, &space])?),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// The server under test (`RILL_TEST_POSTGRES_URL`, default the local one).
    fn server() -> String {
        std::env::var("RILL_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
    }

    /// `server()` with one more query parameter.
    fn with_param(param: &str) -> String {
        let s = server();
        let sep = if s.contains('?') { '&' } else { '?' };
        format!("{s}{sep}{param}")
    }

    /// A schema no other test (of this or another process) uses.
    fn unique_schema() -> String {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        format!(
            "rilltest_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// A plain connection of the test's own, to look at the database directly.
    fn direct() -> Client {
        Client::connect(&server(), NoTls).unwrap()
    }

    /// Drops its schema when dropped, also when the test fails.
    struct Cleanup(String);

    impl Drop for Cleanup {
        fn drop(&mut self) {
            direct()
                .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.0))
                .unwrap();
        }
    }

    /// A backend on a fresh schema, and the guard that drops it.
    fn fresh() -> (PostgresBackend, Cleanup) {
        let schema = unique_schema();
        drop(Cleanup(schema.clone())); // leftovers of an earlier process with this pid
        let guard = Cleanup(schema.clone());
        let b = PostgresBackend::connect(&with_param(&format!("schema={schema}"))).unwrap();
        (b, guard)
    }

    #[test]
    fn postgres_passes_the_conformance_checks() {
        let (b, guard) = fresh();
        assert_eq!(b.schema(), guard.0);
        super::super::conformance(&b);
        let counts: Vec<(String, String, i64)> = direct()
            .query(
                &format!(
                    "SELECT tbl, space, count(*) FROM \"{}\".rill_state GROUP BY 1, 2 ORDER BY 1, 2",
                    guard.0
                ),
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        let row = |t: &str, s: &str, n: i64| (t.to_string(), s.to_string(), n);
        assert_eq!(
            counts,
            [
                row("bulk", "agg.1", 10_000),
                row("bulk", "attrs", 5_000),
                row("t1", "agg.3f2a", 7),
                row("t1", "attrs", 3),
                row("t1", "meta", 3),
                row("t2", "agg.2", 1_000),
                row("t2", "attrs", 1),
                row("t2", "meta", 3),
            ]
        );
    }

    #[test]
    fn the_layout_is_one_table_of_bytea_keys_and_values() {
        let (b, guard) = fresh();
        b.write(
            "users",
            &[
                Write::Put {
                    space: "attrs",
                    key: br#""u1""#,
                    value: br#"{"color":"red"}"#,
                },
                Write::Put {
                    space: "agg.3f2a",
                    key: br#""u1""#,
                    value: b"\x01\x00\xff",
                },
            ],
        )
        .unwrap();
        let mut db = direct();
        let columns: Vec<(String, String, String)> = db
            .query(
                "SELECT column_name::text, data_type::text, is_nullable::text \
                 FROM information_schema.columns \
                 WHERE table_schema = $1 AND table_name = 'rill_state' ORDER BY ordinal_position",
                &[&guard.0],
            )
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        let col = |n: &str, t: &str| (n.to_string(), t.to_string(), "NO".to_string());
        assert_eq!(
            columns,
            [
                col("tbl", "text"),
                col("space", "text"),
                col("key", "bytea"),
                col("value", "bytea")
            ]
        );
        let pk: Vec<String> = db
            .query(
                "SELECT a.attname::text FROM pg_index i \
                 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
                 WHERE i.indrelid = to_regclass($1) AND i.indisprimary ORDER BY a.attnum",
                &[&format!("\"{}\".rill_state", guard.0)],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(pk, ["tbl", "space", "key"]);
        // The module doc's psql query.
        let row = db
            .query_one(
                &format!(
                    "SELECT convert_from(value, 'UTF8') FROM \"{}\".rill_state \
                     WHERE tbl = 'users' AND space = 'attrs' AND key = convert_to('\"u1\"', 'UTF8')",
                    guard.0
                ),
                &[],
            )
            .unwrap();
        assert_eq!(row.get::<_, String>(0), r#"{"color":"red"}"#);
        let row = db
            .query_one(
                &format!(
                    "SELECT value FROM \"{}\".rill_state WHERE tbl = 'users' AND space = 'agg.3f2a'",
                    guard.0
                ),
                &[],
            )
            .unwrap();
        assert_eq!(row.get::<_, Vec<u8>>(0), b"\x01\x00\xff");
    }

    #[test]
    fn an_existing_schema_and_table_are_reused() {
        let (a, guard) = fresh();
        a.write(
            "t",
            &[Write::Put {
                space: "meta",
                key: b"k",
                value: b"kept",
            }],
        )
        .unwrap();
        // A second process on the same schema sees the first one's state.
        let b = PostgresBackend::connect(&with_param(&format!("schema={}", guard.0))).unwrap();
        assert_eq!(
            b.scan("t", "meta").unwrap(),
            [(b"k".to_vec(), b"kept".to_vec())]
        );
        // A schema made by hand, without the table: the table is added.
        let other = unique_schema();
        let _g2 = Cleanup(other.clone());
        direct()
            .batch_execute(&format!("CREATE SCHEMA \"{other}\""))
            .unwrap();
        let c = PostgresBackend::connect(&with_param(&format!("schema={other}"))).unwrap();
        assert_eq!(c.scan("t", "meta").unwrap(), []);
        let n: i64 = direct()
            .query_one(
                "SELECT count(*) FROM information_schema.tables \
                 WHERE table_schema = $1 AND table_name = 'rill_state'",
                &[&other],
            )
            .unwrap()
            .get(0);
        assert_eq!(n, 1);
    }

    #[test]
    fn a_rill_state_table_of_other_columns_is_an_error() {
        let schema = unique_schema();
        let _guard = Cleanup(schema.clone());
        direct()
            .batch_execute(&format!(
                "CREATE SCHEMA \"{schema}\"; CREATE TABLE \"{schema}\".rill_state \
                 (tbl text, space text, key text, value text, PRIMARY KEY (tbl, space, key))"
            ))
            .unwrap();
        let e = PostgresBackend::connect(&with_param(&format!("schema={schema}"))).unwrap_err();
        assert_eq!(
            e.what,
            format!(
                "table \"{schema}\".rill_state exists with other columns (tbl text, space text, \
                 key text, value text; this driver keeps tbl text, space text, key bytea, \
                 value bytea)"
            )
        );
        assert!(e.source.is_none());
    }

    #[test]
    fn a_failed_write_changes_nothing() {
        let (b, _guard) = fresh();
        b.write(
            "t",
            &[Write::Put {
                space: "meta",
                key: b"old",
                value: b"1",
            }],
        )
        .unwrap();
        // The second space's name holds a NUL byte, which PostgreSQL's text refuses: the
        // statements before it in the transaction are rolled back.
        let e = b
            .write(
                "t",
                &[
                    Write::Put {
                        space: "meta",
                        key: b"new",
                        value: b"2",
                    },
                    Write::Delete {
                        space: "meta",
                        key: b"old",
                    },
                    Write::Put {
                        space: "bad\0space",
                        key: b"k",
                        value: b"v",
                    },
                ],
            )
            .unwrap_err();
        assert_eq!(e.what, "writing 3 changes to table 't'");
        assert!(e.source.is_some());
        assert_eq!(
            b.scan("t", "meta").unwrap(),
            [(b"old".to_vec(), b"1".to_vec())]
        );
        // The connection is still good after the failure.
        assert_eq!(
            b.get_many("t", "meta", &[b"old"]).unwrap(),
            [Some(b"1".to_vec())]
        );
    }

    #[test]
    fn a_terminated_connection_is_replaced() {
        let (b, _guard) = fresh();
        let put = |v: &[u8]| {
            b.write(
                "t",
                &[Write::Put {
                    space: "meta",
                    key: b"k",
                    value: v,
                }],
            )
        };
        put(b"1").unwrap();
        let pid = |b: &PostgresBackend| -> i32 {
            b.conn
                .lock()
                .as_mut()
                .unwrap()
                .client
                .query_one("SELECT pg_backend_pid()", &[])
                .unwrap()
                .get(0)
        };
        let old = pid(&b);
        let ended: bool = direct()
            .query_one("SELECT pg_terminate_backend($1)", &[&old])
            .unwrap()
            .get(0);
        assert!(ended);
        put(b"2").unwrap();
        assert_eq!(
            b.get_many("t", "meta", &[b"k"]).unwrap(),
            [Some(b"2".to_vec())]
        );
        assert_ne!(pid(&b), old);
    }

    #[test]
    fn open_picks_the_postgres_driver() {
        let schema = unique_schema();
        let _guard = Cleanup(schema.clone());
        let url = with_param(&format!("schema={schema}"));
        let b = super::super::open(&url, std::path::Path::new("/"))
            .unwrap()
            .expect("a backend");
        assert_eq!(b.url(), super::super::redact(&url));
        b.write(
            "t",
            &[Write::Put {
                space: "meta",
                key: b"k",
                value: b"v",
            }],
        )
        .unwrap();
        let n: i64 = direct()
            .query_one(
                &format!("SELECT count(*) FROM \"{schema}\".rill_state WHERE tbl = 't'"),
                &[],
            )
            .unwrap()
            .get(0);
        assert_eq!(n, 1);
    }

    #[test]
    fn a_closed_port_fails_at_connect() {
        let e =
            PostgresBackend::connect("postgres://postgres@127.0.0.1:1/test?schema=x").unwrap_err();
        assert_eq!(e.url, "postgres://postgres@127.0.0.1:1/test?schema=x");
        assert_eq!(e.what, "cannot connect");
        assert!(e.source.is_some());
        let msg = e.chain();
        assert!(
            msg.starts_with("postgres://postgres@127.0.0.1:1/test?schema=x: cannot connect: "),
            "{msg}"
        );
    }

    #[test]
    fn a_missing_database_fails_at_connect() {
        let url = server().replace("/test", "/rill_no_such_database");
        let e = PostgresBackend::connect(&url).unwrap_err();
        assert_eq!(e.what, "database does not exist");
        assert_eq!(e.url, super::super::redact(&url));
        let msg = e.chain();
        assert!(msg.contains("rill_no_such_database"), "{msg}");
    }

    #[test]
    fn a_missing_user_fails_and_the_password_stays_hidden() {
        let e =
            PostgresBackend::connect("postgres://nobody:secret@127.0.0.1:5432/test").unwrap_err();
        assert_eq!(e.what, "authentication failed");
        assert_eq!(e.url, "postgres://nobody:***@127.0.0.1:5432/test");
        let msg = e.chain();
        assert!(msg.contains("***"), "{msg}");
        assert!(msg.contains("nobody"), "{msg}");
        assert!(!msg.contains("secret"), "{msg}");
        assert!(!format!("{e:?}").contains("secret"));
    }

    #[test]
    fn bad_urls_and_schemas_are_refused() {
        let e = PostgresBackend::connect("postgres://u@127.0.0.1/test?schema=a.b").unwrap_err();
        assert_eq!(
            e.what,
            "schema 'a.b' must be 1 to 63 letters, digits or '_'"
        );
        let e = PostgresBackend::connect("postgres://u@127.0.0.1/test?schema=").unwrap_err();
        assert!(e.what.starts_with("schema '' must be"), "{}", e.what);
        let e = PostgresBackend::connect(&format!(
            "postgres://u@127.0.0.1/test?schema={}",
            "s".repeat(64)
        ))
        .unwrap_err();
        assert!(e.what.contains("1 to 63"), "{}", e.what);
        let e = PostgresBackend::connect("postgres://u@127.0.0.1/test?bogus=1").unwrap_err();
        assert_eq!(e.what, "invalid PostgreSQL URL");
        assert!(e.source.is_some());
    }
}
