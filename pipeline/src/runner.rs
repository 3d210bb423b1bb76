//! Runs a pipeline over frames and measures it: per-frame wall-clock latency
//! and, when a [`crate::alloc::CountingAlloc`] is installed, host allocations
//! and the live/peak byte tally per frame.
//!
//! Frames are drawn outside the measured section (the source's work is not
//! the pipeline's). The packet of each frame is dropped before the frame's
//! memory is read, so "live bytes after a frame" is the steady state the next
//! frame starts from; growth is measured from the end of the warm-up to the
//! last frame.

use std::time::Instant;

use d2h_reports::{LatencyStats, MemoryStats};

use crate::alloc;
use crate::error::{PipelineError, Result};
use crate::orchestrator::{Pipeline, Teardown};
use crate::phase::Phase;
use crate::source::FrameSource;
use crate::MAX_FRAMES;

/// How many frames, and how many of them are warm-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunOptions {
    pub frames: usize,
    /// Frames excluded from latency percentiles and from the memory baseline.
    pub warmup: usize,
}

impl RunOptions {
    /// `frames` frames with a warm-up of a tenth of them (at least 1, at most 10).
    pub fn frames(frames: usize) -> Self {
        RunOptions {
            frames,
            warmup: (frames / 10).clamp(1, 10).min(frames.saturating_sub(1)),
        }
    }

    /// Checks the frame count: `1..=MAX_FRAMES`, with a warm-up below it.
    pub fn validate(&self) -> Result<()> {
        if !(1..=MAX_FRAMES).contains(&self.frames) {
            return Err(PipelineError::OutOfRange {
                name: "frames",
                value: self.frames,
                expected: format!("from 1 to {MAX_FRAMES}"),
            });
        }
        if self.warmup >= self.frames {
            return Err(PipelineError::OutOfRange {
                name: "warm-up frames",
                value: self.warmup,
                expected: format!("below the {} frames of the run", self.frames),
            });
        }
        Ok(())
    }
}

/// One frame's measurements.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FrameSample {
    pub latency_ms: f64,
    /// Host allocations made inside `process_frame`.
    pub host_allocations: u64,
    /// Host bytes allocated inside `process_frame`.
    pub host_bytes: u64,
    /// Bytes live after the frame (its packet dropped).
    pub live_bytes: i64,
    /// The most bytes live during the frame.
    pub peak_bytes: i64,
}

/// A whole run's measurements.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutcome {
    pub samples: Vec<FrameSample>,
    pub warmup: usize,
    /// Whether the allocator counters were live (else memory figures are zeros).
    pub alloc_installed: bool,
    /// Allocations ≥ 4 KiB inside frames, all of them.
    pub large_in_frames: u64,
    /// Of those, the ones made by transfers' staging copies.
    pub staging_large_in_frames: u64,
    pub teardown: Teardown,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p / 100.0 * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

impl RunOutcome {
    fn measured(&self) -> &[FrameSample] {
        &self.samples[self.warmup.min(self.samples.len())..]
    }

    /// Latency percentiles over the frames after the warm-up.
    pub fn latency(&self) -> LatencyStats {
        let mut ms: Vec<f64> = self.measured().iter().map(|s| s.latency_ms).collect();
        ms.sort_by(f64::total_cmp);
        let mean = if ms.is_empty() {
            0.0
        } else {
            ms.iter().sum::<f64>() / ms.len() as f64
        };
        LatencyStats {
            frames: ms.len() as u64,
            p50_ms: percentile(&ms, 50.0),
            p95_ms: percentile(&ms, 95.0),
            p99_ms: percentile(&ms, 99.0),
            mean_ms: mean,
        }
    }

    /// Growth of live bytes from the end of the warm-up to the last frame.
    pub fn growth_bytes(&self) -> i64 {
        let base = self.warmup.min(self.samples.len()).saturating_sub(1);
        match (self.samples.get(base), self.samples.last()) {
            (Some(first), Some(last)) => last.live_bytes - first.live_bytes,
            _ => 0,
        }
    }

    /// The report's memory section, `None` without the counting allocator.
    ///
    /// `large_host_buffers_in_frames` counts staging copies on the CPU device
    /// (where every tensor is a host buffer) and every large host buffer on a GPU.
    pub fn memory(&self, host_is_device: bool) -> Option<MemoryStats> {
        if !self.alloc_installed {
            return None;
        }
        let measured = self.measured();
        let n = measured.len().max(1) as f64;
        Some(MemoryStats {
            host_allocations_per_frame: measured.iter().map(|s| s.host_allocations as f64).sum::<f64>() / n,
            host_bytes_per_frame: measured.iter().map(|s| s.host_bytes as f64).sum::<f64>() / n,
            large_host_buffers_in_frames: if host_is_device {
                self.staging_large_in_frames
            } else {
                self.large_in_frames
            },
            device_peak_bytes: self.samples.iter().map(|s| s.peak_bytes).max().unwrap_or(0).max(0) as u64,
            device_growth_bytes: self.growth_bytes(),
        })
    }
}

/// Runs `options.frames` frames of `source` through `pipeline`, then its
/// teardown. Fails with [`PipelineError::OutOfRange`] before any frame when
/// the frame count is not in `1..=MAX_FRAMES`.
pub fn run(pipeline: &mut Pipeline, source: &mut dyn FrameSource, options: RunOptions) -> Result<RunOutcome> {
    options.validate()?;
    let mut samples = Vec::with_capacity(options.frames);
    let before = alloc::snapshot();
    for _ in 0..options.frames {
        let frame = source.next_frame()?;
        let start_counts = alloc::snapshot();
        alloc::reset_peak();
        let start = Instant::now();
        let packet = pipeline.process_frame(&frame)?;
        let latency_ms = start.elapsed().as_secs_f64() * 1e3;
        let peak = alloc::snapshot().peak_bytes;
        drop(packet);
        drop(frame);
        let end_counts = alloc::snapshot();
        samples.push(FrameSample {
            latency_ms,
            host_allocations: end_counts.allocations_in(Phase::Frame) - start_counts.allocations_in(Phase::Frame),
            host_bytes: end_counts.bytes_in(Phase::Frame) - start_counts.bytes_in(Phase::Frame),
            live_bytes: end_counts.live_bytes,
            peak_bytes: peak,
        });
    }
    let after = alloc::snapshot();
    let teardown = pipeline.teardown()?;
    Ok(RunOutcome {
        samples,
        warmup: options.warmup,
        alloc_installed: after.installed,
        large_in_frames: after.large_in_frame - before.large_in_frame,
        staging_large_in_frames: after.staging_large_in_frame - before.staging_large_in_frame,
        teardown,
    })
}
