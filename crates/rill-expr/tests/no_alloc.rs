//! Scalar expressions over fields and literals allocate nothing per evaluation (the performance
//! contract of the hot path), checked with a counting allocator.

use rill_core::{Record, Value};
use rill_expr::Expr;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.with(|a| a.set(a.get() + 1));
        // SAFETY: forwarding to the system allocator with the caller's layout.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: ptr was allocated by System.alloc with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations(f: impl Fn()) -> u64 {
    f(); // warm the field caches
    let before = ALLOCS.with(Cell::get);
    for _ in 0..100 {
        f();
    }
    ALLOCS.with(Cell::get) - before
}

#[test]
fn scalar_expressions_do_not_allocate() {
    let body = Value::Record(Record::from_pairs([
        ("activity_status", Value::from("fail")),
        ("x", Value::Int(7)),
        ("y", Value::Float(3.5)),
        ("user", Value::from("a-user-name-longer-than-24-bytes")),
        (
            "tags",
            Value::List(vec![Value::from("a"), Value::from("b")]),
        ),
    ]));
    let key = Value::from("k");
    for src in [
        "activity_status == 'fail'",
        "x * 2 + 1 > y",
        "has(x) && x >= 7 || y < 0.0",
        "x // 2 + x % 3 - abs(-x) / 2.0",
        "'a' in tags && size(tags) == 2 && user.startsWith('a-')",
        "coalesce(missing, x) > 1 ? max(x, y, 3) : min(x, 1)",
        "timestamp('2020-01-01') < timestamp('2021-01-01') && key == 'k'",
        "tags.exists(t, t == 'b')",
        "user",
    ] {
        let e = Expr::compile(src, &["key"]).unwrap();
        let n = allocations(|| {
            let v = e.eval_cow(&body, &[&key]).unwrap();
            std::hint::black_box(&v);
        });
        assert_eq!(n, 0, "`{src}` allocated {n} times in 100 evaluations");
        // (only the call that fits the result type: building an error message allocates)
        let n = match e.eval_cow(&body, &[&key]).unwrap().as_ref() {
            Value::Bool(_) => allocations(|| {
                std::hint::black_box(e.eval_bool(&body, &[&key]).unwrap());
            }),
            Value::Int(_) | Value::Float(_) => allocations(|| {
                std::hint::black_box(e.eval_f64(&body, &[&key]).unwrap());
            }),
            _ => 0,
        };
        assert_eq!(n, 0, "`{src}` allocated in eval_bool/eval_f64");
    }
}
