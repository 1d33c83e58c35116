//! What the table tests share: the generated click data, the pipeline that keeps every kind
//! of state, and small process and HTTP helpers.
// Each test file compiles this module on its own and uses part of it.
#![allow(dead_code)]

use crate::common::rill;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

/// A unique name per test and process (Redis prefixes, PostgreSQL schemas).
pub fn unique(what: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "rill_{what}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// `rows` click events over `keys` users, time ordered with some late ones, deterministic.
pub fn clicks(rows: usize, keys: u64) -> String {
    let mut s = String::from("time,user,click,amount,page\n");
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let t0 = 1_595_368_800i64; // 2020-07-21T22:00:00Z
    for i in 0..rows {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        // mostly increasing time, every 17th event 20 minutes late
        let late = if i % 17 == 0 { 1200 } else { 0 };
        let t = t0 + (i as i64) * 37 - late;
        let time = chrono_like(t);
        let user = format!("u{}", x % keys);
        let click = (x >> 8) % 2;
        let amount = ((x >> 16) % 20_000) as f64 / 100.0;
        let page = format!("p{}", (x >> 32) % 12);
        s.push_str(&format!("{time},{user},{click},{amount},{page}\n"));
    }
    s
}

/// Seconds since the epoch as RFC 3339 UTC (no date library in the tests).
pub fn chrono_like(t: i64) -> String {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    // civil-from-days (Howard Hinnant)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Aggregations (plain, quantile, distinct), attributes, per-key state and a query of the
/// same table: every kind of state a table keeps.
pub fn pipeline(url: &str, input: &str, out: &str) -> String {
    format!(
        r#"
tables:
  features: {{url: "{url}", flush_interval: 0s}}
source:
  csv: {{path: {input}, key: user, time: time}}
steps:
  - map_with_state:
      table: features
      initial: {{visits: 0}}
      state: "state + {{visits: state.visits + 1}}"
      output: "body + {{visits: new_state.visits}}"
  - aggregate_by_key:
      table: features
      aggregates:
        - {{name: clicks, field: click, ops: [count, sum], windows: {{sliding: [1h, 24h], period: 10m}}}}
        - {{name: amount, field: amount, ops: [avg, max, p50, p99], windows: {{sliding: [2h], period: 10m}}}}
        - {{name: pages, field: page, ops: [count_distinct], windows: {{sliding: [1h, 6h], period: 10m}}}}
  - write_to_table: {{table: features, columns: [page]}}
  - query_by_key:
      table: features
      features: [clicks_count_1h, pages_count_distinct_6h, page, visits]
      aliases: {{clicks_count_1h: q_clicks_1h, pages_count_distinct_6h: q_pages_6h, page: q_page, visits: q_visits}}
targets:
  - csv: {{path: {out}}}
"#
    )
}

pub fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

pub fn run_ok(dir: &Path, args: &[&str]) -> String {
    let o = rill(dir, args);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(o.status.success(), "rill {args:?} failed: {err}");
    err
}

/// A GET over a plain TCP connection (HTTP/1.1, `Connection: close`): (status, body).
pub fn get(addr: &str, path: &str) -> (u16, serde_json::Value) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status: u16 = text.split(' ').nth(1).unwrap().parse().unwrap();
    let body = text.split_once("\r\n\r\n").unwrap().1;
    (status, serde_json::from_str(body).unwrap())
}

/// Kills the server if the test fails before stopping it.
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
