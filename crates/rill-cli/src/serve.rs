//! `rill query` and `rill serve`: features of keys read from a table's store by another
//! process (storey's serving function).
//!
//! Keys are given as text: a key is looked up as that string first and, when the table has
//! nothing under it and the text is a JSON number (or `true`/`false`), as that value (CSV keys
//! are strings; keys from JSON lines may be numbers).

use anyhow::{Context, Result};
use rill::core::{Timestamp, Value};
use rill::table::{KeyView, Table, TableOptions};
use std::collections::BTreeMap;
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
    let mut open = BTreeMap::new();
    for name in tables {
        open.insert(name.clone(), open_table(url, name)?);
    }
    let state = Arc::new(open);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the server's runtime")?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let addr = listener.local_addr()?;
        // the address on stderr, so scripts and tests started with port 0 learn it
        eprintln!("serving {} on http://{addr}", tables.join(", "));
        axum::serve(listener, routes(state))
            .with_graceful_shutdown(shutdown())
            .await
            .context("serving")
    })
}

async fn shutdown() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing the SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

type Shared = Arc<BTreeMap<String, Arc<Table>>>;

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
    let tables: Vec<serde_json::Value> = state
        .iter()
        .map(|(n, t)| serde_json::json!({"name": n, "url": t.url()}))
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
    let Some(t) = state.get(&table).cloned() else {
        let known: Vec<&String> = state.keys().collect();
        return error(
            StatusCode::NOT_FOUND,
            format!("no table '{table}' (served: {known:?})"),
        );
    };
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
