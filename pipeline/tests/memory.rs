//! A 200-frame run shows no host or device memory growth after warm-up, with
//! and without detailed logging.
//!
//! This binary installs the counting allocator; it holds one test so that
//! nothing else allocates concurrently.

use std::alloc::System;

use candle_core::Device;
use d2h_pipeline::alloc::{self, CountingAlloc};
use d2h_pipeline::{run, Mode, Pipeline, PipelineConfig, RunOptions, RunOutcome, SyntheticVideo};

#[global_allocator]
static GLOBAL: CountingAlloc<System> = CountingAlloc::new(System);

const WARMUP: usize = 20;

fn steady(cfg: PipelineConfig, frames: usize) -> (Pipeline, RunOutcome) {
    let mut pipeline = Pipeline::new(cfg, &Device::Cpu).unwrap();
    let mut video = SyntheticVideo::new(64, 4, 5, &Device::Cpu).unwrap();
    let outcome = run(
        &mut pipeline,
        &mut video,
        RunOptions {
            warmup: WARMUP,
            ..RunOptions::frames(frames)
        },
    )
    .unwrap();
    (pipeline, outcome)
}

fn tiny(mode: Mode) -> PipelineConfig {
    let mut cfg = PipelineConfig::tiny();
    cfg.mode = mode;
    cfg
}

/// The least-squares slope of live bytes over frames, in bytes per frame.
fn slope(samples: &[d2h_pipeline::runner::FrameSample]) -> f64 {
    let n = samples.len() as f64;
    let mean_x = (n - 1.0) / 2.0;
    let mean_y = samples.iter().map(|s| s.live_bytes as f64).sum::<f64>() / n;
    let (mut num, mut den) = (0.0, 0.0);
    for (i, s) in samples.iter().enumerate() {
        let dx = i as f64 - mean_x;
        num += dx * (s.live_bytes as f64 - mean_y);
        den += dx * dx;
    }
    num / den
}

/// Live bytes over the last 150 frames stay within 1 KiB of the first of
/// them, and their trend is flat: a leak of a few bytes per frame (a log
/// entry, a record) fails one or the other.
fn assert_flat(outcome: &RunOutcome, what: &str) {
    let window = &outcome.samples[outcome.samples.len() - 150..];
    let base = window[0].live_bytes;
    for (i, s) in window.iter().enumerate() {
        assert!(
            (s.live_bytes - base).abs() < 1024,
            "{what}: live bytes {} at frame {} vs {base} at the window's start",
            s.live_bytes,
            outcome.samples.len() - 150 + i,
        );
    }
    let slope = slope(window);
    assert!(slope.abs() < 2.0, "{what}: live bytes grow by {slope:.2} B/frame");
    assert!(
        outcome.growth_bytes().abs() < 1024,
        "{what}: growth {} after the warm-up",
        outcome.growth_bytes()
    );
}

#[test]
fn two_hundred_frames_without_memory_growth() {
    assert!(alloc::installed());
    let (pipeline, outcome) = steady(tiny(Mode::Resident), 200);
    assert!(outcome.alloc_installed);
    assert_flat(&outcome, "resident");
    let after_warmup = &outcome.samples[WARMUP..];
    // The peak per frame does not creep up either.
    let first_peak = after_warmup[0].peak_bytes;
    let last_peak = after_warmup.last().unwrap().peak_bytes;
    assert!((last_peak - first_peak).abs() <= 4 * 1024, "{first_peak} → {last_peak}");
    // Each frame's peak is above the steady state by at least its packet's
    // masks (K × S × S bytes), which are dropped before the frame ends.
    let k = pipeline.config().detector.top_k as i64;
    for s in after_warmup {
        assert!(s.peak_bytes - s.live_bytes >= k * 64 * 64, "{s:?}");
    }
    // Host allocations per frame are steady (same work every frame).
    let allocs: Vec<u64> = after_warmup.iter().map(|s| s.host_allocations).collect();
    let (min, max) = (allocs.iter().min().unwrap(), allocs.iter().max().unwrap());
    assert!(max - min <= max / 10 + 16, "allocations per frame vary: {min}..{max}");
    // Resident frames make no staging copies; on the CPU device every
    // activation is a host buffer, which only the GPU figure counts.
    assert_eq!(outcome.staging_large_in_frames, 0);
    assert_eq!(outcome.memory(true).unwrap().large_host_buffers_in_frames, 0);
    assert!(outcome.memory(false).unwrap().large_host_buffers_in_frames > 0);

    // Detailed logging keeps the last `log_frames` entries in a buffer
    // allocated at setup: 200 frames through a 16-entry log do not grow it.
    let mut cfg = tiny(Mode::Resident);
    cfg.log_detailed = true;
    cfg.log_frames = 16;
    let (mut logged, outcome) = steady(cfg, 200);
    assert_flat(&outcome, "resident with detailed logging");
    assert_eq!(logged.log_summary().frames, 200);
    let logs = logged.take_logs();
    assert_eq!(logs.len(), 16);
    assert_eq!(logs.first().unwrap().frame, 184);
    assert_eq!(logs.last().unwrap().frame, 199);

    // Legacy frames do make staging copies: the seed's host copies show up
    // as large staging buffers.
    let (_, legacy) = steady(tiny(Mode::Legacy), 30);
    assert!(legacy.staging_large_in_frames > 0);
}
