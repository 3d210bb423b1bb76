//! An instrumented global allocator.
//!
//! [`CountingAlloc`] wraps any [`GlobalAlloc`] (the `d2h` binary wraps
//! the system allocator, so do tests) and counts host allocations and bytes per
//! [`Phase`], live and peak bytes, and large (≥ [`LARGE_BUFFER`]) buffers
//! allocated inside a frame. The library only provides the type and the
//! counters: a program opts in by installing it as its `#[global_allocator]`;
//! without it every counter stays at zero and [`installed`] says so.
//!
//! On a GPU every host allocation is host memory and a large one inside a
//! frame is a sign of a staging copy. On the CPU device tensor storage is host
//! memory too, so the allocator's live/peak tally *is* the device tally, and
//! "large host buffers in a frame" counts only the buffers allocated while a
//! [`crate::transfer`] read was copying (the staging copies themselves).
//!
//! The counters are process-wide: tests that assert on them should run in a
//! test binary of their own. A program that installs the allocator but runs
//! the pipeline only sometimes switches the counting off ([`set_counting`]):
//! the `d2h` binary counts only during `d2h pipeline run`, and every other
//! allocation then costs one relaxed atomic load.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicU8, Ordering};

use crate::phase::Phase;

/// The size from which a host buffer allocated inside a frame is flagged.
pub const LARGE_BUFFER: usize = 4096;

/// Bit of [`STATE`]: a [`CountingAlloc`] has seen an allocation.
const INSTALLED: u8 = 1;
/// Bit of [`STATE`]: the counters count (the default; see [`set_counting`]).
const COUNTING: u8 = 2;
/// Both switches in one atomic, so that an allocation reads one.
static STATE: AtomicU8 = AtomicU8::new(COUNTING);
static PHASE: AtomicU8 = AtomicU8::new(0);
static ALLOCATIONS: [AtomicU64; 3] = [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)];
static BYTES: [AtomicU64; 3] = [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)];
static LIVE: AtomicI64 = AtomicI64::new(0);
static PEAK: AtomicI64 = AtomicI64::new(0);
static LARGE_IN_FRAME: AtomicU64 = AtomicU64::new(0);
static STAGING_LARGE_IN_FRAME: AtomicU64 = AtomicU64::new(0);
static STAGING_BYTES: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static STAGING: Cell<bool> = const { Cell::new(false) };
}

/// A [`GlobalAlloc`] that counts what goes through it, then defers to `A`.
#[derive(Debug, Default)]
pub struct CountingAlloc<A> {
    inner: A,
}

impl<A> CountingAlloc<A> {
    /// Wraps `inner`. `const`, so it can initialise a `#[global_allocator]` static.
    pub const fn new(inner: A) -> Self {
        CountingAlloc { inner }
    }
}

fn in_staging() -> bool {
    STAGING.try_with(Cell::get).unwrap_or(false)
}

/// Turns the counters on or off for the whole process (they start on). Off,
/// an allocation costs one relaxed load; the shared counters would cost every
/// allocation a contended atomic. Live bytes count from when counting is on,
/// so turn it on before what is measured.
pub fn set_counting(on: bool) {
    if on {
        STATE.fetch_or(COUNTING, Ordering::Relaxed);
    } else {
        STATE.fetch_and(!COUNTING, Ordering::Relaxed);
    }
}

fn on_alloc(size: usize) {
    let state = STATE.load(Ordering::Relaxed);
    if state & INSTALLED == 0 {
        STATE.fetch_or(INSTALLED, Ordering::Relaxed);
    }
    if state & COUNTING == 0 {
        return;
    }
    let phase = usize::from(PHASE.load(Ordering::Relaxed)).min(2);
    ALLOCATIONS[phase].fetch_add(1, Ordering::Relaxed);
    BYTES[phase].fetch_add(size as u64, Ordering::Relaxed);
    let live = LIVE.fetch_add(size as i64, Ordering::Relaxed) + size as i64;
    PEAK.fetch_max(live, Ordering::Relaxed);
    let staging = in_staging();
    if staging {
        STAGING_BYTES.fetch_add(size as u64, Ordering::Relaxed);
    }
    if phase == Phase::Frame.index() && size >= LARGE_BUFFER {
        LARGE_IN_FRAME.fetch_add(1, Ordering::Relaxed);
        if staging {
            STAGING_LARGE_IN_FRAME.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn on_dealloc(size: usize) {
    if STATE.load(Ordering::Relaxed) & COUNTING == 0 {
        return;
    }
    LIVE.fetch_sub(size as i64, Ordering::Relaxed);
}

// SAFETY: every method defers to `inner` with the caller's arguments and only
// updates atomics around the call; no allocation happens in the bookkeeping.
unsafe impl<A: GlobalAlloc> GlobalAlloc for CountingAlloc<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
        let ptr = unsafe { self.inner.alloc(layout) };
        if !ptr.is_null() {
            on_alloc(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `alloc`.
        let ptr = unsafe { self.inner.alloc_zeroed(layout) };
        if !ptr.is_null() {
            on_alloc(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        on_dealloc(layout.size());
        // SAFETY: forwarded unchanged; `ptr` came from `inner` through us.
        unsafe { self.inner.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `realloc`'s contract.
        let new = unsafe { self.inner.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            on_dealloc(layout.size());
            on_alloc(new_size);
        }
        new
    }
}

/// The counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AllocSnapshot {
    /// Whether a [`CountingAlloc`] is installed (it has seen an allocation).
    pub installed: bool,
    /// Allocations per phase, indexed like [`Phase::ALL`].
    pub allocations: [u64; 3],
    /// Bytes allocated per phase, indexed like [`Phase::ALL`].
    pub bytes: [u64; 3],
    /// Bytes currently allocated.
    pub live_bytes: i64,
    /// The most bytes allocated at once since the last [`reset_peak`].
    pub peak_bytes: i64,
    /// Allocations of at least [`LARGE_BUFFER`] bytes made in the frame phase.
    pub large_in_frame: u64,
    /// Of those, the ones made while a transfer was copying to the host.
    pub staging_large_in_frame: u64,
    /// Bytes allocated while a transfer was copying to the host.
    pub staging_bytes: u64,
}

impl AllocSnapshot {
    /// Allocations in `phase`.
    pub fn allocations_in(&self, phase: Phase) -> u64 {
        self.allocations[phase.index()]
    }

    /// Bytes allocated in `phase`.
    pub fn bytes_in(&self, phase: Phase) -> u64 {
        self.bytes[phase.index()]
    }
}

/// Whether a [`CountingAlloc`] is the global allocator.
pub fn installed() -> bool {
    STATE.load(Ordering::Relaxed) & INSTALLED != 0
}

/// Reads every counter.
pub fn snapshot() -> AllocSnapshot {
    let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
    AllocSnapshot {
        installed: installed(),
        allocations: [load(&ALLOCATIONS[0]), load(&ALLOCATIONS[1]), load(&ALLOCATIONS[2])],
        bytes: [load(&BYTES[0]), load(&BYTES[1]), load(&BYTES[2])],
        live_bytes: LIVE.load(Ordering::Relaxed),
        peak_bytes: PEAK.load(Ordering::Relaxed),
        large_in_frame: load(&LARGE_IN_FRAME),
        staging_large_in_frame: load(&STAGING_LARGE_IN_FRAME),
        staging_bytes: load(&STAGING_BYTES),
    }
}

/// The phase allocations are attributed to from now on (process-wide).
pub fn set_phase(phase: Phase) {
    PHASE.store(phase.index() as u8, Ordering::Relaxed);
}

/// The phase allocations are attributed to.
pub fn phase() -> Phase {
    Phase::from_index(PHASE.load(Ordering::Relaxed))
}

/// Starts a new peak measurement from the current live bytes.
pub fn reset_peak() {
    PEAK.store(LIVE.load(Ordering::Relaxed), Ordering::Relaxed);
}

/// Runs `f` with this thread's allocations marked as a transfer's staging copy.
pub(crate) fn staging<R>(f: impl FnOnce() -> R) -> R {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            let previous = self.0;
            let _ = STAGING.try_with(|s| s.set(previous));
        }
    }
    let previous = STAGING.try_with(|s| s.replace(true)).unwrap_or(false);
    let _reset = Reset(previous);
    f()
}
