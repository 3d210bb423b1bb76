//! The capture guard: while the frame path is being captured into a CUDA
//! graph, nothing on it may touch the host. A host copy or a synchronisation
//! inside a capture would either fail the capture (the driver invalidates it)
//! or, worse, be recorded once and never happen again on replay.
//!
//! The [`crate::transfer::Gate`] knows when a capture is in progress
//! ([`Gate::begin_capture`](crate::transfer::Gate::begin_capture) returns a
//! [`CaptureScope`]): every transfer through it then fails before it touches
//! the device, with a [`CaptureViolation`] naming the call site (file and line
//! from `#[track_caller]`) and the function, and the gate keeps the first
//! violation so the pipeline can return it typed even when candle wrapped the
//! error on the way out. The capture is [`CaptureKind::Cuda`] for a real stream
//! capture and [`CaptureKind::Simulated`] on the CPU device, where the same
//! frame path runs under the same guard each frame, so CI exercises the
//! guard's logic without a GPU.
//!
//! Host copies candle makes by itself (a `to_cpu_storage`, an upload of
//! dims and strides that its cache has not seen) are not the gate's: on CUDA,
//! with candle's htod cache held, candle refuses them during a capture; the
//! pipeline reports such an error as a capture failure with candle's message.

use std::fmt;

use crate::site::Site;

/// What kind of capture is in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaptureKind {
    /// The CPU device's stand-in: the frame runs eagerly under the guard.
    Simulated,
    /// A real CUDA stream capture on candle's stream.
    Cuda,
}

impl CaptureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CaptureKind::Simulated => "simulated",
            CaptureKind::Cuda => "CUDA graph",
        }
    }
}

impl fmt::Display for CaptureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A transfer asked for during a capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureViolation {
    /// The candle operation (`to_vec2`, `synchronize`, `from_vec`, ...).
    pub op: &'static str,
    /// What was to be moved, as the caller named it.
    pub what: String,
    /// The line that asked for it.
    pub site: Site,
    /// The function that line is in.
    pub symbol: String,
    pub kind: CaptureKind,
}

impl fmt::Display for CaptureViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} of {} at {}:{} (in {}) during a {} capture: the captured frame path must not touch the host",
            self.op,
            self.what,
            self.site.path(),
            self.site.line,
            self.symbol,
            self.kind
        )
    }
}

impl std::error::Error for CaptureViolation {}

/// Ends the gate's capture state when dropped (also when the captured code
/// returned early with an error).
#[derive(Debug)]
pub struct CaptureScope {
    pub(crate) gate: crate::transfer::Gate,
}

impl Drop for CaptureScope {
    fn drop(&mut self) {
        self.gate.end_capture();
    }
}
