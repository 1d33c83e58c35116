//! Memory of the sketch ops per key is bounded by the retained buckets and the sketch sizes,
//! not by the number of events: feeding a key more and more events at a constant rate, its
//! `heap_bytes` (sketches included) stops growing once its windows are full.

use rill_agg::{Aggregations, AggregatorSpec};
use rill_core::{Timestamp, Value};

const MS: i64 = 1_000_000;

/// `heap_bytes` of one key after each of `days`, fed one value every `every_ms` (amounts in
/// cents, 0.00..499.00: at most 49 901 distinct values, as in the W1 data).
fn heap_after_days(every_ms: i64, days: &[i64]) -> Vec<usize> {
    let specs: Vec<AggregatorSpec> = serde_json::from_str(
        r#"[{"name":"s","ops":["count_distinct","approx_count_distinct","p50","p99"],
             "windows":{"sliding":["1h","24h"],"period":"10m"}}]"#,
    )
    .unwrap();
    let a = Aggregations::new(specs).unwrap();
    let mut st = a.new_state();
    let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
    let t0 = 1_595_367_600_000 * MS;
    let mut sizes = Vec::new();
    let mut i = 0i64;
    let mut out = Vec::new();
    for &d in days {
        while i * every_ms < d * 86_400_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let x = (seed % 49_901) as f64 / 100.0;
            let t = Timestamp(t0 + i * every_ms * MS);
            a.update(&mut st, 0, t, &Value::Float(x));
            i += 1;
        }
        out.clear();
        a.features_at(&st, Timestamp(t0 + i * every_ms * MS), &mut out);
        sizes.push(st.heap_bytes());
    }
    sizes
}

#[test]
fn heap_bytes_per_key_stop_growing_with_the_event_count() {
    // Sparse key: a value every 10 s (60 per bucket, 8 640 per 24 h window); days 3, 5, 8 hold
    // 1.5×, 2.5× and 4× the events of day 2. Dense key: 4 values a second (2 400 per bucket:
    // buckets and windows past every sparse size).
    let sparse = heap_after_days(10_000, &[2, 3, 5, 8]);
    let dense = heap_after_days(250, &[2, 3, 4]);
    for (name, sizes) in [("sparse", &sparse), ("dense", &dense)] {
        let first = sizes[0] as f64;
        for &b in &sizes[1..] {
            assert!(
                (b as f64) < first * 1.25,
                "{name}: heap grew from {first} to {b} bytes ({sizes:?})"
            );
        }
        assert!(
            sizes[0] > 10_000,
            "{name}: sketches are counted ({sizes:?})"
        );
    }
    // The dense key's bound: 287 retained buckets, each at most 4 KB of registers, a distinct
    // map of ≤ 2 400 values and a histogram, plus the two windows.
    assert!(dense[2] < 48 << 20, "{dense:?}");
}
