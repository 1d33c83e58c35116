//! Memory of the sketch ops: live heap bytes (counted by the global allocator, so allocator
//! requests of every structure are included, not only what `KeyState::heap_bytes` reports)
//! after feeding `SKETCH_MEM_EVENTS` events (default 2 M) over `SKETCH_MEM_KEYS` keys (default
//! 100 000) to `count_distinct, approx_count_distinct, p50, p95, p99` over sliding 1h/24h
//! windows (period 10m), gen_data.py-shaped (mean gap 100 ms). Prints bytes per key, both
//! measured and as reported by `heap_bytes`. Run: `cargo bench -p rill-agg --bench sketch_mem`.

use rill_agg::{Aggregations, AggregatorSpec, KeyState};
use rill_core::{Timestamp, Value};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call to the system allocator unchanged; only counts bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size(), Relaxed);
        // SAFETY: same layout contract as the caller's.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size(), Relaxed);
        // SAFETY: `p` was allocated by `alloc` above with layout `l`.
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static A: Counting = Counting;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let keys = env("SKETCH_MEM_KEYS", 100_000);
    let events = env("SKETCH_MEM_EVENTS", 2_000_000);
    let specs: Vec<AggregatorSpec> = serde_json::from_str(
        r#"[{"name":"amount","field":"purchase_amount",
             "ops":["count_distinct","approx_count_distinct","p50","p95","p99"],
             "windows":{"sliding":["1h","24h"],"period":"10m"}}]"#,
    )
    .expect("valid spec");
    let a = Aggregations::new(specs).expect("valid aggregations");
    let base = LIVE.load(Relaxed);
    let mut states: Vec<KeyState> = (0..keys).map(|_| a.new_state()).collect();
    let mut s: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let mut t = 1_595_367_600_000i64;
    let mut out = Vec::new();
    let mut peak = 0;
    for i in 0..events {
        let u = (next() >> 11) as f64 / (1u64 << 53) as f64;
        t += (-(1.0 - u).ln() * 100.0).round() as i64;
        let r = next();
        let st = &mut states[(r % keys as u64) as usize];
        let ts = Timestamp(t * 1_000_000);
        a.update(
            st,
            0,
            ts,
            &Value::Float((100 + (r >> 24) % 49_901) as f64 / 100.0),
        );
        out.clear();
        a.features_at(st, ts, &mut out);
        if i % 100_000 == 0 {
            peak = peak.max(LIVE.load(Relaxed) - base);
        }
    }
    let live = LIVE.load(Relaxed) - base;
    let reported: usize = states.iter().map(KeyState::heap_bytes).sum();
    println!(
        "{events} events, {keys} keys: live heap {:.1} MB ({:.0} bytes/key), peak sampled {:.1} MB, heap_bytes() {:.0} bytes/key",
        live as f64 / 1e6,
        live as f64 / keys as f64,
        peak.max(live) as f64 / 1e6,
        reported as f64 / keys as f64
    );
}
