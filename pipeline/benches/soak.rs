//! CPU soak: many frames through one pipeline, to show that host memory stays
//! flat after warm-up and latency does not drift.
//!
//! `cargo bench -p d2h-pipeline --bench soak [-- SIZE FRAMES WINDOW WARMUP]`
//! (defaults: 64 × 64, 10,000 frames, windows of 1,000, 100 warm-up frames;
//! `legacy` anywhere in the arguments runs the legacy mode, `real` the
//! real-size preset instead of the small one). Not run in CI.
//!
//! Prints the counting allocator's live and peak bytes and the process RSS at
//! the end of warm-up and after each window, with the window's p50 / p99 / max
//! latency; then the growth of live bytes from the end of warm-up to the end
//! and its least-squares slope per 1,000 frames over the window ends.

use std::alloc::System;
use std::time::Instant;

use candle_core::Device;
use d2h_pipeline::alloc::{self, CountingAlloc};
use d2h_pipeline::{Mode, Phase, Pipeline, PipelineConfig, Preset, SyntheticVideo};

#[global_allocator]
static GLOBAL: CountingAlloc<System> = CountingAlloc::new(System);

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = (p / 100.0 * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Resident set size in bytes (Linux; 0 elsewhere).
fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|p| p.parse::<u64>().ok()))
        .map_or(0, |pages| pages * 4096)
}

fn mib(bytes: f64) -> f64 {
    bytes / (1024.0 * 1024.0)
}

/// Least-squares slope of `ys` over `xs`.
fn slope(xs: &[f64], ys: &[f64]) -> f64 {
    let n = xs.len() as f64;
    let (mx, my) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
    let num: f64 = xs.iter().zip(ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let den: f64 = xs.iter().map(|x| (x - mx) * (x - mx)).sum();
    if den == 0.0 {
        0.0
    } else {
        num / den
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let numbers: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let size = numbers.first().copied().unwrap_or(64);
    let frames = numbers.get(1).copied().unwrap_or(10_000);
    let window = numbers.get(2).copied().unwrap_or(1_000).max(1);
    let warmup = numbers.get(3).copied().unwrap_or(100);
    let mode = if args.iter().any(|a| a == "legacy") {
        Mode::Legacy
    } else {
        Mode::Resident
    };

    let preset = if args.iter().any(|a| a == "real") {
        Preset::Real
    } else {
        Preset::Small
    };
    let device = Device::Cpu;
    let mut cfg = PipelineConfig::preset(preset, size);
    cfg.mode = mode;
    let mut pipeline = Pipeline::new(cfg, &device)?;
    let video = SyntheticVideo::new(size, 6, 7, &device)?;
    println!(
        "soak: {size}x{size}, {preset} preset, {mode:?}, {warmup} warm-up + {frames} frames, windows of {window}, cpu, {} threads",
        candle_core::utils::get_num_threads()
    );

    let started = Instant::now();
    for t in 0..warmup as u64 {
        drop(pipeline.process_frame(&video.frame(t)?)?);
    }
    let _ = pipeline.take_logs();
    let base = alloc::snapshot();
    let base_rss = rss_bytes();
    println!(
        "warm-up end: live {:.2} MiB, peak {:.2} MiB, rss {:.1} MiB",
        mib(base.live_bytes as f64),
        mib(base.peak_bytes as f64),
        mib(base_rss as f64)
    );
    println!(
        "{:>13}  {:>9}  {:>9}  {:>9}  {:>11}  {:>11}  {:>9}",
        "frames", "p50 ms", "p99 ms", "max ms", "live MiB", "peak MiB", "rss MiB"
    );

    let mut times = Vec::with_capacity(window);
    let mut ends = Vec::new();
    let mut lives = Vec::new();
    let mut p99s = Vec::new();
    alloc::reset_peak();
    for i in 0..frames {
        let frame = video.frame((warmup + i) as u64)?;
        let start = Instant::now();
        let packet = pipeline.process_frame(&frame)?;
        times.push(start.elapsed().as_secs_f64() * 1e3);
        drop(packet);
        drop(frame);
        if times.len() == window || i + 1 == frames {
            // The pipeline keeps per-frame logs for the caller: drain them as the CLI's runner does.
            let _ = pipeline.take_logs();
            times.sort_by(f64::total_cmp);
            let snap = alloc::snapshot();
            let (p50, p99) = (percentile(&times, 50.0), percentile(&times, 99.0));
            println!(
                "{:>6}-{:<6}  {p50:>9.3}  {p99:>9.3}  {:>9.3}  {:>11.3}  {:>11.3}  {:>9.1}",
                i + 2 - times.len(),
                i + 1,
                times[times.len() - 1],
                mib(snap.live_bytes as f64),
                mib(snap.peak_bytes as f64),
                mib(rss_bytes() as f64)
            );
            ends.push((i + 1) as f64);
            lives.push(snap.live_bytes as f64);
            p99s.push(p99);
            alloc::reset_peak();
            times.clear();
        }
    }
    let end = alloc::snapshot();
    let per_1000 = slope(&ends, &lives) * 1000.0;
    println!(
        "live bytes: {} at warm-up end, {} at the end: {:+} bytes over {frames} frames \
         (slope over window ends {per_1000:+.1} bytes per 1,000 frames); rss {:+.1} MiB",
        base.live_bytes,
        end.live_bytes,
        end.live_bytes - base.live_bytes,
        mib(rss_bytes() as f64 - base_rss as f64)
    );
    let (lo, hi) = p99s
        .iter()
        .fold((f64::INFINITY, 0.0f64), |(lo, hi), &p| (lo.min(p), hi.max(p)));
    println!("p99 per window: from {lo:.3} to {hi:.3} ms");
    println!(
        "frame-phase transfers per frame: {:.2}; total wall {:.1} s",
        pipeline.gate().transfers_in(Phase::Frame) as f64 / pipeline.frames() as f64,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
