//! The Redis driver: `redis://[[user]:password@]host[:port][/db][?prefix=NAME]`.
//!
//! # Layout
//!
//! One Redis hash per table and space, under the key `{prefix}:{table}:{space}`; a field of the
//! hash is a table key's bytes (its JSON text), the field's value is the stored bytes. `prefix`
//! (default `rill`) keeps apart the tables of several runs or users of one database; it takes
//! letters, digits, `_`, `-` and `.`. A space's name may not hold `:` (such a call fails), so
//! a key's last `:` starts its space even when a table's name holds `:`. With `redis-cli`:
//!
//! ```text
//! redis-cli --scan --pattern 'rill:*'         # every hash: rill:users:attrs, rill:users:meta, …
//! redis-cli hget rill:users:attrs '"u1"'      # the attributes of key "u1" (JSON)
//! redis-cli hlen rill:users:attrs             # how many keys have attributes
//! redis-cli del rill:users:attrs rill:users:meta …   # drop a table's state
//! ```
//!
//! # Operations
//!
//! [`get_many`](Backend::get_many) is one `HMGET`. [`write`](Backend::write) is one
//! `MULTI`/`EXEC` transaction of `HSET`/`HDEL` commands, each of at most [`CHUNK_KEYS`] keys
//! and [`CHUNK_BYTES`] bytes (Redis reads one command whole into its query buffer), all
//! sent in one round trip. [`scan`](Backend::scan) is one `HGETALL`, sorted here by key bytes:
//! unlike `HSCAN`'s several calls it sees a hash as of one moment, so a reader never sees half
//! of a flush (the price: Redis serves nothing else while it answers a large hash).
//!
//! The other query parameters (e.g. `protocol=resp3`) go to the `redis` crate. `connect`
//! connects and sends `PING`, so a wrong address or password fails at once. One connection
//! serves every call, one at a time; if it breaks (server restarted, connection killed, a
//! timeout), the call reconnects and runs once more, which is safe because a write sets final
//! values and so can be applied twice.

use std::time::Duration;

use ::redis::{Client, Connection, ConnectionLike, ErrorKind, RedisError, RedisResult};
use parking_lot::Mutex;

use super::{last_writes, put_chunks, redact, take_param, Backend, BackendError, Entries, Write};

/// The most keys one `HSET` or `HDEL` of a write names.
pub const CHUNK_KEYS: usize = 1000;

/// The most key and value bytes one `HSET` of a write carries (a single larger entry goes
/// alone).
pub const CHUNK_BYTES: usize = 8 << 20;

/// How long `connect` (and a reconnection) waits for the server to accept.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long one call waits for the server's answer before giving up on the connection.
const IO_TIMEOUT: Duration = Duration::from_secs(60);

/// A [`Backend`] over one Redis database: one hash per `(table, space)` (see the module doc).
pub struct RedisBackend {
    /// The URL as given, password hidden.
    url: String,
    /// The namespace of every key this backend touches.
    prefix: String,
    /// Opens connections (the URL without `prefix`).
    client: Client,
    /// The connection, `None` after it broke and reconnecting failed.
    conn: Mutex<Option<Connection>>,
}

impl std::fmt::Debug for RedisBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBackend")
            .field("url", &self.url)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisBackend {
    /// Connects to the server `url` names (`redis://host:port/db?prefix=NAME`, `prefix`
    /// defaulting to `rill`) and checks it answers (`PING`). An unreachable server, a refused
    /// password or a malformed URL is an error here, naming the URL with its password hidden.
    pub fn connect(url: &str) -> Result<RedisBackend, BackendError> {
        let shown = redact(url);
        let (server_url, prefix) = take_param(url, "prefix");
        let prefix = prefix.unwrap_or_else(|| "rill".to_string());
        if prefix.is_empty()
            || !prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
        {
            return Err(BackendError {
                url: shown,
                what: format!(
                    "prefix '{prefix}' must be letters, digits, '_', '-' or '.' (not empty)"
                ),
                source: None,
            });
        }
        let client = Client::open(server_url.as_str())
            .map_err(|e| BackendError::new(&shown, "invalid Redis URL", e))?;
        let backend = RedisBackend {
            conn: Mutex::new(None),
            client,
            prefix,
            url: shown,
        };
        let conn = backend.open_connection()?;
        *backend.conn.lock() = Some(conn);
        Ok(backend)
    }

    /// The namespace of this backend's keys (`rill` unless the URL says otherwise).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The Redis key of the hash holding `space` of `table`.
    fn hash_key(&self, table: &str, space: &str) -> Result<String, BackendError> {
        if space.contains(':') {
            return Err(BackendError {
                url: self.url.clone(),
                what: format!("space name '{space}' of table '{table}' holds ':'"),
                source: None,
            });
        }
        Ok(format!("{}:{table}:{space}", self.prefix))
    }

    /// A new connection, checked with `PING`.
    fn open_connection(&self) -> Result<Connection, BackendError> {
        let fail = |e: RedisError| BackendError::new(&self.url, connect_failure(&e), e);
        let mut conn = self
            .client
            .get_connection_with_timeout(CONNECT_TIMEOUT)
            .map_err(fail)?;
        conn.set_read_timeout(Some(IO_TIMEOUT)).map_err(fail)?;
        conn.set_write_timeout(Some(IO_TIMEOUT)).map_err(fail)?;
        let pong: String = ::redis::cmd("PING").query(&mut conn).map_err(fail)?;
        if pong != "PONG" {
            return Err(BackendError {
                url: self.url.clone(),
                what: format!("cannot connect: the server answered PING with '{pong}'"),
                source: None,
            });
        }
        Ok(conn)
    }

    /// Runs `op` on the connection; if the connection turns out broken, runs it once more on a
    /// new one. `what` names the operation for errors.
    fn run<T>(
        &self,
        what: impl Fn() -> String,
        mut op: impl FnMut(&mut Connection) -> RedisResult<T>,
    ) -> Result<T, BackendError> {
        let mut slot = self.conn.lock();
        if let Some(conn) = slot.as_mut() {
            match op(conn) {
                Ok(v) => return Ok(v),
                Err(e) if broken(&e, conn) => *slot = None,
                Err(e) => return Err(BackendError::new(&self.url, what(), e)),
            }
        }
        let conn = slot.insert(self.open_connection()?);
        match op(conn) {
            Ok(v) => Ok(v),
            Err(e) => {
                if broken(&e, conn) {
                    *slot = None;
                }
                Err(BackendError::new(&self.url, what(), e))
            }
        }
    }
}

/// Whether `e` leaves `conn` unusable (I/O failure, timeout, closed by the server), so that
/// the next call must reconnect.
fn broken(e: &RedisError, conn: &Connection) -> bool {
    e.is_io_error() || e.is_connection_dropped() || e.is_timeout() || !conn.is_open()
}

/// What failed, in plain words, when connecting fails with `e`.
fn connect_failure(e: &RedisError) -> &'static str {
    if e.kind() == ErrorKind::AuthenticationFailed
        || matches!(e.code(), Some("NOAUTH" | "WRONGPASS" | "NOPERM"))
    {
        "authentication failed"
    } else if e.kind() == ErrorKind::InvalidClientConfig {
        "invalid Redis URL"
    } else {
        "cannot connect"
    }
}

impl Backend for RedisBackend {
    fn url(&self) -> &str {
        &self.url
    }

    fn get_many(
        &self,
        table: &str,
        space: &str,
        keys: &[&[u8]],
    ) -> Result<Vec<Option<Vec<u8>>>, BackendError> {
        let hash = self.hash_key(table, space)?;
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut cmd = ::redis::cmd("HMGET");
        cmd.arg(&hash).arg(keys);
        let values: Vec<Option<Vec<u8>>> = self.run(
            || format!("reading {} keys of {hash}", keys.len()),
            |conn| cmd.query(conn),
        )?;
        if values.len() != keys.len() {
            return Err(BackendError {
                url: self.url.clone(),
                what: format!(
                    "reading {} keys of {hash}: the server answered {} values",
                    keys.len(),
                    values.len()
                ),
                source: None,
            });
        }
        Ok(values)
    }

    fn write(&self, table: &str, writes: &[Write<'_>]) -> Result<(), BackendError> {
        if writes.is_empty() {
            return Ok(());
        }
        let mut pipe = ::redis::pipe();
        pipe.atomic();
        for changes in last_writes(writes) {
            let hash = self.hash_key(table, changes.space)?;
            for chunk in put_chunks(&changes.puts, CHUNK_KEYS, CHUNK_BYTES) {
                let mut cmd = ::redis::cmd("HSET");
                cmd.arg(&hash);
                for (k, v) in chunk {
                    cmd.arg(*k).arg(*v);
                }
                pipe.add_command(cmd).ignore();
            }
            for keys in changes.deletes.chunks(CHUNK_KEYS) {
                pipe.cmd("HDEL").arg(&hash).arg(keys).ignore();
            }
        }
        self.run(
            || format!("writing {} changes to table '{table}'", writes.len()),
            |conn| pipe.exec(conn),
        )
    }

    fn scan(&self, table: &str, space: &str) -> Result<Entries, BackendError> {
        let hash = self.hash_key(table, space)?;
        let mut cmd = ::redis::cmd("HGETALL");
        cmd.arg(&hash);
        let mut entries: Vec<(Vec<u8>, Vec<u8>)> =
            self.run(|| format!("reading {hash}"), |conn| cmd.query(conn))?;
        entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Ok(entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// The server under test (`RILL_TEST_REDIS_URL`, default the local one, database 0).
    fn server() -> String {
        std::env::var("RILL_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/0".into())
    }

    /// `server()` with one more query parameter.
    fn with_param(param: &str) -> String {
        let s = server();
        let sep = if s.contains('?') { '&' } else { '?' };
        format!("{s}{sep}{param}")
    }

    /// A prefix no other test (of this or another process) uses.
    fn unique_prefix() -> String {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        format!(
            "rilltest-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// A plain connection of the test's own, to look at the server directly.
    fn direct() -> Connection {
        Client::open(server().as_str())
            .unwrap()
            .get_connection()
            .unwrap()
    }

    /// Every key under `prefix`.
    fn keys_under(prefix: &str) -> Vec<String> {
        let mut conn = direct();
        let mut keys: Vec<String> = ::redis::cmd("KEYS")
            .arg(format!("{prefix}:*"))
            .query(&mut conn)
            .unwrap();
        keys.sort();
        keys
    }

    /// Deletes every key under its prefix when dropped, also when the test fails.
    struct Cleanup(String);

    impl Drop for Cleanup {
        fn drop(&mut self) {
            let keys = keys_under(&self.0);
            if !keys.is_empty() {
                let _: usize = ::redis::cmd("DEL").arg(&keys).query(&mut direct()).unwrap();
            }
        }
    }

    /// A backend on a fresh prefix, and the guard that removes its keys.
    fn fresh() -> (RedisBackend, Cleanup) {
        let prefix = unique_prefix();
        let guard = Cleanup(prefix.clone());
        drop(Cleanup(prefix.clone())); // leftovers of an earlier process with this pid
        let b = RedisBackend::connect(&with_param(&format!("prefix={prefix}"))).unwrap();
        (b, guard)
    }

    #[test]
    fn redis_passes_the_conformance_checks() {
        let (b, guard) = fresh();
        assert_eq!(b.prefix(), guard.0);
        super::super::conformance(&b);
        let p = &guard.0;
        assert_eq!(
            keys_under(p),
            [
                format!("{p}:bulk:agg.1"),
                format!("{p}:bulk:attrs"),
                format!("{p}:t1:agg.3f2a"),
                format!("{p}:t1:attrs"),
                format!("{p}:t1:meta"),
                format!("{p}:t2:agg.2"),
                format!("{p}:t2:attrs"),
                format!("{p}:t2:meta"),
            ]
        );
    }

    #[test]
    fn redis_over_resp3_passes_the_conformance_checks() {
        // RESP3 answers HGETALL with a map and absent HMGET fields with a null of its own.
        let prefix = unique_prefix();
        let _guard = Cleanup(prefix.clone());
        let url = with_param(&format!("protocol=resp3&prefix={prefix}"));
        let b = RedisBackend::connect(&url).unwrap();
        assert_eq!(b.url(), url);
        super::super::conformance(&b);
    }

    #[test]
    fn the_layout_is_one_hash_per_table_and_space() {
        let (b, guard) = fresh();
        let p = &guard.0;
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
        let mut conn = direct();
        let attrs: Vec<(Vec<u8>, Vec<u8>)> = ::redis::cmd("HGETALL")
            .arg(format!("{p}:users:attrs"))
            .query(&mut conn)
            .unwrap();
        assert_eq!(
            attrs,
            vec![(br#""u1""#.to_vec(), br#"{"color":"red"}"#.to_vec())]
        );
        let agg: Vec<u8> = ::redis::cmd("HGET")
            .arg(format!("{p}:users:agg.3f2a"))
            .arg(br#""u1""#)
            .query(&mut conn)
            .unwrap();
        assert_eq!(agg, b"\x01\x00\xff");

        // A table whose name holds ':' stays apart from the others.
        b.write(
            "a:b",
            &[Write::Put {
                space: "meta",
                key: b"k",
                value: b"v",
            }],
        )
        .unwrap();
        assert_eq!(
            keys_under(p),
            [
                format!("{p}:a:b:meta"),
                format!("{p}:users:agg.3f2a"),
                format!("{p}:users:attrs"),
            ]
        );
        assert_eq!(
            b.scan("a", "b:meta").unwrap_err().what,
            "space name 'b:meta' of table 'a' holds ':'"
        );
    }

    #[test]
    fn a_key_of_another_type_is_an_error() {
        let (b, guard) = fresh();
        let _: () = ::redis::cmd("SET")
            .arg(format!("{}:t:meta", guard.0))
            .arg("not a hash")
            .query(&mut direct())
            .unwrap();
        let put = |table: &str| {
            b.write(
                table,
                &[Write::Put {
                    space: "meta",
                    key: b"k",
                    value: b"v",
                }],
            )
        };
        // Inside MULTI/EXEC: the server's error comes back, it is not dropped.
        let e = put("t").unwrap_err();
        assert_eq!(e.what, "writing 1 changes to table 't'");
        assert!(e.chain().contains("WRONGTYPE"), "{}", e.chain());
        let e = b.get_many("t", "meta", &[b"k"]).unwrap_err();
        assert!(e.chain().contains("WRONGTYPE"), "{}", e.chain());
        let e = b.scan("t", "meta").unwrap_err();
        assert!(e.chain().contains("WRONGTYPE"), "{}", e.chain());
        // The connection stays in use.
        put("u").unwrap();
        assert_eq!(
            b.get_many("u", "meta", &[b"k"]).unwrap(),
            [Some(b"v".to_vec())]
        );
    }

    #[test]
    fn two_prefixes_on_one_database_are_apart() {
        let (a, _ga) = fresh();
        let (b, _gb) = fresh();
        let put = |be: &RedisBackend, v: &[u8]| {
            be.write(
                "t",
                &[Write::Put {
                    space: "meta",
                    key: b"k",
                    value: v,
                }],
            )
            .unwrap()
        };
        put(&a, b"from a");
        put(&b, b"from b");
        assert_eq!(
            a.get_many("t", "meta", &[b"k"]).unwrap(),
            [Some(b"from a".to_vec())]
        );
        assert_eq!(
            b.scan("t", "meta").unwrap(),
            [(b"k".to_vec(), b"from b".to_vec())]
        );
    }

    #[test]
    fn open_picks_the_redis_driver() {
        let prefix = unique_prefix();
        let _guard = Cleanup(prefix.clone());
        let url = with_param(&format!("prefix={prefix}"));
        let b = super::super::open(&url, std::path::Path::new("/"))
            .unwrap()
            .expect("a backend");
        assert_eq!(b.url(), url);
        b.write(
            "t",
            &[Write::Put {
                space: "meta",
                key: b"k",
                value: b"v",
            }],
        )
        .unwrap();
        assert_eq!(keys_under(&prefix), [format!("{prefix}:t:meta")]);
    }

    #[test]
    fn a_killed_connection_is_replaced() {
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
        let id: i64 = ::redis::cmd("CLIENT")
            .arg("ID")
            .query(b.conn.lock().as_mut().unwrap())
            .unwrap();
        let killed: i64 = ::redis::cmd("CLIENT")
            .arg("KILL")
            .arg("ID")
            .arg(id)
            .query(&mut direct())
            .unwrap();
        assert_eq!(killed, 1);
        put(b"2").unwrap();
        assert_eq!(
            b.get_many("t", "meta", &[b"k"]).unwrap(),
            [Some(b"2".to_vec())]
        );
        let new_id: i64 = ::redis::cmd("CLIENT")
            .arg("ID")
            .query(b.conn.lock().as_mut().unwrap())
            .unwrap();
        assert_ne!(new_id, id);
    }

    #[test]
    fn a_closed_port_fails_at_connect() {
        let e = RedisBackend::connect("redis://127.0.0.1:1/0?prefix=x").unwrap_err();
        assert_eq!(e.url, "redis://127.0.0.1:1/0?prefix=x");
        assert_eq!(e.what, "cannot connect");
        assert!(e.source.is_some());
        let msg = e.chain();
        assert!(
            msg.starts_with("redis://127.0.0.1:1/0?prefix=x: cannot connect: "),
            "{msg}"
        );
    }

    #[test]
    fn a_wrong_password_fails_at_connect_and_stays_hidden() {
        // An ACL user of this test's own, with a known password.
        let user = unique_prefix();
        let mut admin = direct();
        let _: () = ::redis::cmd("ACL")
            .arg("SETUSER")
            .arg(&user)
            .arg("on")
            .arg(">right-pw")
            .arg("~*")
            .arg("+@all")
            .query(&mut admin)
            .unwrap();
        struct DelUser(String);
        impl Drop for DelUser {
            fn drop(&mut self) {
                let _: i64 = ::redis::cmd("ACL")
                    .arg("DELUSER")
                    .arg(&self.0)
                    .query(&mut direct())
                    .unwrap();
            }
        }
        let _del = DelUser(user.clone());
        let hostpart = server()
            .split_once("://")
            .map(|(_, r)| r.rsplit_once('@').map_or(r, |(_, h)| h).to_string())
            .unwrap();

        let url = format!("redis://{user}:secret-pw@{hostpart}?prefix=x");
        let e = RedisBackend::connect(&url).unwrap_err();
        assert_eq!(e.what, "authentication failed");
        assert_eq!(e.url, format!("redis://{user}:***@{hostpart}?prefix=x"));
        let msg = e.chain();
        assert!(msg.contains("***"), "{msg}");
        assert!(!msg.contains("secret"), "{msg}");
        assert!(!format!("{e:?}").contains("secret"));

        // The right password works (the user is real), and the backend shows no password.
        let url = format!("redis://{user}:right-pw@{hostpart}?prefix=x");
        let b = RedisBackend::connect(&url).unwrap();
        assert_eq!(b.url(), format!("redis://{user}:***@{hostpart}?prefix=x"));
        assert!(!format!("{b:?}").contains("right-pw"));
    }

    #[test]
    fn bad_urls_and_prefixes_are_refused() {
        let e = RedisBackend::connect("redis://127.0.0.1:6379/0?prefix=a:b").unwrap_err();
        assert_eq!(
            e.what,
            "prefix 'a:b' must be letters, digits, '_', '-' or '.' (not empty)"
        );
        let e = RedisBackend::connect("redis://127.0.0.1:6379/0?prefix=").unwrap_err();
        assert!(e.what.starts_with("prefix '' must be"), "{}", e.what);
        let e = RedisBackend::connect("redis://127.0.0.1:notaport/0").unwrap_err();
        assert_eq!(e.what, "invalid Redis URL");
        assert!(e.source.is_some());
    }
}
