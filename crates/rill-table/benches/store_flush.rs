//! The embedded store's choice, measured on W1's state: a flush of 10 000 dirty keys (each the
//! encoded state of W1's three aggregators after a day of 20 events per key) as one durable
//! batch, and a load of all of them by key, for fjall (rill's embedded store) and redb.
//!
//! `cargo bench -p rill-table --bench store_flush`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use redb::ReadableDatabase;
use rill_agg::{Aggregations, AggregatorSpec};
use rill_core::{Timestamp, Value};
use rill_table::backend::{embedded::Embedded, Backend, Write};
use std::hint::black_box;

const KEYS: usize = 10_000;

fn aggs() -> Aggregations {
    let specs: Vec<AggregatorSpec> = serde_json::from_str(
        r#"[
        {"name":"number_of_clicks","field":"click","ops":["count"],"windows":{"sliding":["1h","2h","24h"],"period":"10m"}},
        {"name":"purchases","field":"purchase_amount","ops":["avg","min","max"],"windows":{"sliding":["1h","2h","24h"],"period":"10m"}},
        {"name":"failed_activities","field":"activity","ops":["count"],"windows":{"sliding":["1h"],"period":"10m"}}]"#,
    )
    .expect("valid W1 specs");
    Aggregations::new(specs).expect("valid W1 aggregations")
}

/// `(key, encoded state)` of every key, as a flush writes them.
fn entries() -> Vec<(Vec<u8>, Vec<u8>)> {
    let aggs = aggs();
    let mut s: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    (0..KEYS)
        .map(|k| {
            let mut st = aggs.new_state();
            for e in 0..20i64 {
                let t = Timestamp(
                    1_595_368_800_000_000_000
                        + e * 4_320_000_000_000
                        + (next() % 1_000_000_000) as i64,
                );
                aggs.update(&mut st, 0, t, &Value::Int((next() % 2) as i64));
                aggs.update(
                    &mut st,
                    1,
                    t,
                    &Value::Float((next() % 20_000) as f64 / 100.0),
                );
                aggs.update(&mut st, 2, t, &Value::Int(1));
            }
            let mut v = Vec::new();
            aggs.encode_state(&st, &mut v);
            (format!("\"u{k}\"").into_bytes(), v)
        })
        .collect()
}

const REDB_TABLE: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new("state");

fn bench(c: &mut Criterion) {
    let entries = entries();
    let bytes: usize = entries.iter().map(|(k, v)| k.len() + v.len()).sum();
    let mut g = c.benchmark_group("flush_w1_state");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(bytes as u64));

    let dir = tempfile::tempdir().unwrap();
    let fjall = Embedded::open(&dir.path().join("fjall")).unwrap();
    let writes: Vec<Write<'_>> = entries
        .iter()
        .map(|(k, v)| Write::Put {
            space: "agg.w1",
            key: k,
            value: v,
        })
        .collect();
    g.bench_function("fjall_flush_10k_keys", |b| {
        b.iter(|| {
            fjall.write("w1", &writes).unwrap();
            fjall.sync().unwrap();
        })
    });
    let keys: Vec<&[u8]> = entries.iter().map(|(k, _)| k.as_slice()).collect();
    g.bench_function("fjall_load_10k_keys", |b| {
        b.iter(|| black_box(fjall.get_many("w1", "agg.w1", &keys).unwrap()))
    });

    let db = redb::Database::create(dir.path().join("redb")).unwrap();
    g.bench_function("redb_flush_10k_keys", |b| {
        b.iter(|| {
            let tx = db.begin_write().unwrap();
            {
                let mut t = tx.open_table(REDB_TABLE).unwrap();
                for (k, v) in &entries {
                    t.insert(k.as_slice(), v.as_slice()).unwrap();
                }
            }
            tx.commit().unwrap();
        })
    });
    g.bench_function("redb_load_10k_keys", |b| {
        b.iter(|| {
            let tx = db.begin_read().unwrap();
            let t = tx.open_table(REDB_TABLE).unwrap();
            for k in &keys {
                black_box(t.get(*k).unwrap().map(|v| v.value().len()));
            }
        })
    });
    g.finish();
    println!(
        "W1 state: {KEYS} keys, {bytes} bytes; on disk after the runs: fjall {} bytes, redb {} bytes",
        dir_size(&dir.path().join("fjall")),
        dir_size(&dir.path().join("redb"))
    );
}

fn dir_size(p: &std::path::Path) -> u64 {
    if p.is_file() {
        return std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    }
    std::fs::read_dir(p)
        .map(|d| d.flatten().map(|e| dir_size(&e.path())).sum())
        .unwrap_or(0)
}

criterion_group!(benches, bench);
criterion_main!(benches);
