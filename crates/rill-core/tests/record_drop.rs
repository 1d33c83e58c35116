//! `Record`'s hand-written drop frees exactly what its values own: heap strings, lists and
//! nested records, and nothing twice. Checked with a counting allocator (this test binary only).

use rill_core::{Record, Value};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

struct Counting;
static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator, only counting bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::SeqCst);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::SeqCst);
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static A: Counting = Counting;

fn mixed() -> Record {
    let long = "a string far too long to be stored inline in the value";
    let inner = Record::from_pairs([("s", Value::from(long)), ("n", Value::Int(1))]);
    Record::from_pairs([
        ("short", Value::from("ok")),
        ("long", Value::from(long)),
        ("x", Value::Float(1.5)),
        ("list", Value::List(vec![Value::from(long), Value::Int(2)])),
        ("nested", Value::Record(inner)),
        ("null", Value::Null),
    ])
}

#[test]
fn dropping_records_frees_everything_they_own_once() {
    // warm up anything lazily allocated once per process
    drop(mixed());
    let before = LIVE.load(Ordering::SeqCst);
    for _ in 0..100 {
        let r = mixed();
        assert_eq!(r.values().iter().filter(|v| v.owns_memory()).count(), 3);
        drop(r);
    }
    // a record split into its parts still frees everything
    let (schema, values) = mixed().into_parts();
    drop((schema, values));
    assert_eq!(LIVE.load(Ordering::SeqCst), before);
    assert!(!Value::from("ok").owns_memory());
    assert!(Value::from("a string far too long to be stored inline").owns_memory());
}
