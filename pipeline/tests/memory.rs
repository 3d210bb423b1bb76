//! A 200-frame run shows no host or device memory growth after warm-up.
//!
//! This binary installs the counting allocator; it holds one test so that
//! nothing else allocates concurrently.

use std::alloc::System;

use candle_core::Device;
use d2h_pipeline::alloc::{self, CountingAlloc};
use d2h_pipeline::{run, Mode, Pipeline, PipelineConfig, RunOptions, SyntheticVideo};

#[global_allocator]
static GLOBAL: CountingAlloc<System> = CountingAlloc::new(System);

fn steady(mode: Mode, frames: usize) -> d2h_pipeline::RunOutcome {
    let mut cfg = PipelineConfig::tiny();
    cfg.mode = mode;
    let mut pipeline = Pipeline::new(cfg, &Device::Cpu).unwrap();
    let mut video = SyntheticVideo::new(64, 4, 5, &Device::Cpu).unwrap();
    run(&mut pipeline, &mut video, RunOptions { frames, warmup: 20 }).unwrap()
}

#[test]
fn two_hundred_frames_without_memory_growth() {
    assert!(alloc::installed());
    let outcome = steady(Mode::Resident, 200);
    assert!(outcome.alloc_installed);
    let after_warmup = &outcome.samples[20..];
    // Live bytes after every frame stay within a small band of the warm-up's.
    let base = outcome.samples[19].live_bytes;
    for (i, s) in after_warmup.iter().enumerate() {
        assert!(
            (s.live_bytes - base).abs() <= 16 * 1024,
            "frame {}: live bytes {} vs {} after warm-up",
            i + 20,
            s.live_bytes,
            base
        );
    }
    assert!(
        outcome.growth_bytes().abs() <= 16 * 1024,
        "growth {}",
        outcome.growth_bytes()
    );
    // The peak per frame does not creep up either.
    let first_peak = after_warmup[0].peak_bytes;
    let last_peak = after_warmup.last().unwrap().peak_bytes;
    assert!(
        (last_peak - first_peak).abs() <= 64 * 1024,
        "{first_peak} → {last_peak}"
    );
    // Host allocations per frame are steady (same work every frame).
    let allocs: Vec<u64> = after_warmup.iter().map(|s| s.host_allocations).collect();
    let (min, max) = (allocs.iter().min().unwrap(), allocs.iter().max().unwrap());
    assert!(max - min <= max / 10 + 16, "allocations per frame vary: {min}..{max}");
    // Resident frames make no staging copies.
    assert_eq!(outcome.staging_large_in_frames, 0);
    let memory = outcome.memory(true).unwrap();
    assert_eq!(memory.large_host_buffers_in_frames, 0);
    assert!(memory.device_peak_bytes > 0);

    // Legacy frames do: the seed's host copies show up as large staging buffers.
    let legacy = steady(Mode::Legacy, 30);
    assert!(legacy.staging_large_in_frames > 0);
}
