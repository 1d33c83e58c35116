//! Cache prefetch hints: loads that overlap the waits for state that is not in cache.

/// Prefetches every cache line of a slice (a no-op on targets without a prefetch hint).
#[inline]
pub(crate) fn prefetch_slice<T>(s: &[T]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let bytes = std::mem::size_of_val(s);
        let base = s.as_ptr() as *const i8;
        let mut off = 0;
        while off < bytes {
            // SAFETY: `_mm_prefetch` needs SSE, which every x86_64 CPU has; a prefetch is a hint
            // that never faults or reads memory in the language's sense, and the pointer stays
            // inside the slice anyway.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(base.wrapping_add(off)) };
            off += 64;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = s;
}

/// Prefetches the cache line holding `x`.
#[inline]
pub(crate) fn prefetch_one<T>(x: &T) {
    prefetch_slice(std::slice::from_ref(x));
}
