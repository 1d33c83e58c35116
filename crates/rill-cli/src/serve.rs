//! `rill query`, `rill serve` and `rill run --serve`: features of keys read from a table's
//! store (storey's serving function), by another process or by the run that writes it.
//!
//! Keys are given as text: a key is looked up as that string first and, when the table has
//! nothing under it and the text is a JSON number (or `true`/`false`), as that value (CSV keys
//! are strings; keys from JSON lines may be numbers).

use anyhow::{Context, Result};
use rill::core::{Timestamp, Value};
use rill::table::{KeyView, Table, TableOptions, Tables};
use std::path::Path;
use std::sync::Arc;

/// Opens `name` at `url` for reading (relative directories from the working directory).
/// A table nothing was ever flushed to is refused: a misspelt name would only answer "not
/// found" for every key.
pub fn open_table(url: &str, name: &str) -> Result<Arc<Table>> {
    let t = Table::open(name, url, Path::new(""), TableOptions::default())?;
    if t.is_persistent() && t.resumed_from().is_none() && t.agg_stores().is_empty() {
        anyhow::bail!(
            "the store at {} holds no table '{name}' (no run has flushed state under that name)",
            t.url()
        );
    }
    Ok(t)
}

/// The time features are computed at: `--at` (RFC 3339), else now.
pub fn parse_at(at: Option<&str>) -> Result<Timestamp> {
    match at {
        None => Ok(Timestamp::now()),
        Some(s) => Timestamp::parse_iso(s)
            .map_err(|e| anyhow::anyhow!("at '{s}': not an RFC 3339 time ({e})")),
    }
}

/// The key's view, trying the text as a string, then as the JSON scalar it spells.
pub fn read(table: &Table, key: &str, at: Timestamp) -> Result<Option<KeyView>> {
    if let Some(v) = table.read_key(&Value::from(key), at)? {
        return Ok(Some(v));
    }
    match serde_json::from_str::<serde_json::Value>(key) {
        Ok(j @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_))) => {
            Ok(table.read_key(&rill::core::json::from_json(&j), at)?)
        }
        _ => Ok(None),
    }
}

/// The JSON line of a key `rill query` prints (`found: false` and no features when unknown).
pub fn key_json(key: &str, view: Option<&KeyView>) -> serde_json::Value {
    match view {
        Some(v) => {
            let mut j = v.to_json();
            j["found"] = serde_json::Value::Bool(true);
            j
        }
        None => serde_json::json!({"key": key, "found": false}),
    }
}

/// `rill query`: one JSON line per key on stdout.
pub fn query(url: &str, table: &str, keys: &[String], at: Option<&str>) -> Result<()> {
    let t = open_table(url, table)?;
    let at = parse_at(at)?;
    for k in keys {
        let v = read(&t, k, at)?;
        println!("{}", key_json(k, v.as_ref()));
    }
    Ok(())
}

/// `rill serve`: an HTTP server over the tables (blocking until SIGINT/SIGTERM).
pub fn serve(url: &str, tables: &[String], listen: &str) -> Result<()> {
    let open = Tables::default();
    for name in tables {
        open.insert(open_table(url, name)?);
    }
    let served = Served {
        tables: open,
        split_memory: false,
    };
    let (listener, addr) = bind(listen)?;
    eprintln!("serving {} on http://{addr}", tables.join(", "));
    runtime()?.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        axum::serve(listener, routes(Arc::new(served)))
            .with_graceful_shutdown(shutdown())
            .await
            .context("serving")
    })
}

/// What the server answers from.
struct Served {
    /// The tables, by name (a run's, which opens them as it starts).
    tables: Tables,
    /// True when a sharded run holds memory tables' keys in its workers: such a table is not
    /// served (it would miss keys), persistent ones are (from their store).
    split_memory: bool,
}

/// A server answering from a running pipeline's tables (`rill run --serve`), on a thread of its
/// own; it stops when [`RunServer::stop`] is called (the run has ended).
pub struct RunServer {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<()>>>,
}

impl RunServer {
    /// Binds `listen` now (an address in use is an error before the run starts) and serves
    /// `tables` from then on. `workers`: the run's worker count.
    pub fn start(tables: Tables, listen: &str, workers: usize) -> Result<RunServer> {
        let (listener, addr) = bind(listen)?;
        eprintln!("serving the run's tables on http://{addr}");
        let served = Arc::new(Served {
            tables,
            split_memory: workers > 1,
        });
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let rt = runtime()?;
        let thread = std::thread::Builder::new()
            .name("rill-serve".into())
            .spawn(move || {
                rt.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener)?;
                    axum::serve(listener, routes(served))
                        .with_graceful_shutdown(async {
                            let _ = stopped.await;
                        })
                        .await
                        .context("serving")
                })
            })
            .context("starting the server thread")?;
        Ok(RunServer {
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Stops serving (requests in progress finish) and waits for the server thread.
    pub fn stop(mut self) -> Result<()> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        match self.thread.take().map(|t| t.join()) {
            Some(Ok(r)) => r,
            Some(Err(_)) => anyhow::bail!("the server thread panicked"),
            None => Ok(()),
        }
    }
}

/// A listening socket on `listen`, and the address it got (`:0` picks a free port).
fn bind(listen: &str) -> Result<(std::net::TcpListener, std::net::SocketAddr)> {
    let listener = std::net::TcpListener::bind(listen)
        .with_context(|| format!("cannot listen on {listen}"))?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    Ok((listener, addr))
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the server's runtime")
}

async fn shutdown() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing the SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

type Shared = Arc<Served>;

fn routes(state: Shared) -> axum::Router {
    use axum::routing::get;
    axum::Router::new()
        .route(
            "/health",
            get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }),
        )
        .route("/tables", get(list_tables))
        .route("/tables/{table}/keys/{key}", get(get_key))
        .with_state(state)
}

async fn list_tables(
    axum::extract::State(state): axum::extract::State<Shared>,
) -> axum::Json<serde_json::Value> {
    let mut all = state.tables.all();
    all.sort_by(|a, b| a.name().cmp(b.name()));
    let tables: Vec<serde_json::Value> = all
        .iter()
        .map(|t| serde_json::json!({"name": t.name(), "url": t.url()}))
        .collect();
    axum::Json(serde_json::json!({ "tables": tables }))
}

#[derive(serde::Deserialize)]
struct AtQuery {
    /// RFC 3339 time to compute features at; default now.
    at: Option<String>,
}

async fn get_key(
    axum::extract::State(state): axum::extract::State<Shared>,
    axum::extract::Path((table, key)): axum::extract::Path<(String, String)>,
    axum::extract::Query(q): axum::extract::Query<AtQuery>,
) -> (axum::http::StatusCode, axum::Json<serde_json::Value>) {
    use axum::http::StatusCode;
    let error =
        |code: StatusCode, msg: String| (code, axum::Json(serde_json::json!({"error": msg})));
    let Some(t) = state.tables.get(&table) else {
        let mut known: Vec<String> = state.tables.all().iter().map(|t| t.name().into()).collect();
        known.sort();
        return error(
            StatusCode::NOT_FOUND,
            format!("no table '{table}' (served: {known:?})"),
        );
    };
    if state.split_memory && !t.is_persistent() {
        return error(
            StatusCode::CONFLICT,
            format!(
                "table '{table}' is a memory table, and the run's workers each hold a part of \
                 its keys: give it a persistent url (served from its store), or run with \
                 workers: 1"
            ),
        );
    }
    // a `+` of a zone offset not percent-encoded in the URL arrives as a space
    let at = q.at.map(|a| a.replace(' ', "+"));
    let at = match parse_at(at.as_deref()) {
        Ok(at) => at,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.to_string()),
    };
    // store reads block: off the reactor thread
    let k = key.clone();
    let got = tokio::task::spawn_blocking(move || read(&t, &k, at)).await;
    match got {
        Ok(Ok(Some(v))) => (StatusCode::OK, axum::Json(key_json(&key, Some(&v)))),
        Ok(Ok(None)) => (StatusCode::NOT_FOUND, axum::Json(key_json(&key, None))),
        Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}")),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}
