//! Per-frame latency of resident vs legacy mode on identical frames.
//!
//! `cargo bench -p d2h-pipeline --bench pipeline_latency [-- SIZE FRAMES] [real]`
//! (defaults: 640 × 640, 30 frames after 5 warm-up frames per mode, the small
//! preset; `real` anywhere in the arguments runs the real-size one). Both
//! pipelines use the same seed, so they hold the same weights and see the
//! same synthetic frames; the modes are interleaved frame by frame so that
//! machine noise hits both alike.

use std::time::Instant;

use candle_core::Device;
use d2h_pipeline::{Mode, Pipeline, PipelineConfig, Preset, SyntheticVideo};

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = (p / 100.0 * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // `cargo bench` passes `--bench`; keep only numeric arguments.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let numbers: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let preset = if args.iter().any(|a| a == "real") {
        Preset::Real
    } else {
        Preset::Small
    };
    let size = numbers.first().copied().unwrap_or(640);
    let frames = numbers.get(1).copied().unwrap_or(30);
    let warmup = 5;
    let device = Device::Cpu;
    let build = |mode| {
        let mut cfg = PipelineConfig::preset(preset, size);
        cfg.mode = mode;
        Pipeline::new(cfg, &device)
    };
    let mut resident = build(Mode::Resident)?;
    let mut legacy = build(Mode::Legacy)?;
    let video = SyntheticVideo::new(size, 6, 7, &device)?;
    let mut times = [Vec::new(), Vec::new()];
    for t in 0..(warmup + frames) as u64 {
        let frame = video.frame(t)?;
        for (i, pipeline) in [&mut resident, &mut legacy].into_iter().enumerate() {
            let start = Instant::now();
            let packet = pipeline.process_frame(&frame)?;
            let ms = start.elapsed().as_secs_f64() * 1e3;
            drop(packet);
            if t >= warmup as u64 {
                times[i].push(ms);
            }
        }
    }
    println!(
        "pipeline_latency: {size}x{size}, {preset} preset, {:.2} GFLOPs per frame, {frames} frames per mode after {warmup} warm-up, cpu, {} threads",
        PipelineConfig::preset(preset, size).flops().total().gflops(),
        candle_core::utils::get_num_threads()
    );
    let mut means = [0.0; 2];
    for (i, name) in ["resident", "legacy"].iter().enumerate() {
        let ms = &mut times[i];
        ms.sort_by(f64::total_cmp);
        means[i] = ms.iter().sum::<f64>() / ms.len() as f64;
        println!(
            "{name:>9}: p50 {:8.2} ms  p95 {:8.2} ms  mean {:8.2} ms",
            percentile(ms, 50.0),
            percentile(ms, 95.0),
            means[i]
        );
    }
    let p50 = |i: usize| percentile(&times[i], 50.0);
    println!(
        "resident vs legacy: p50 {:+.1} %, mean {:+.1} %",
        (p50(0) - p50(1)) / p50(1) * 100.0,
        (means[0] - means[1]) / means[1] * 100.0
    );
    let frame_transfers = |p: &Pipeline| p.gate().transfers_in(d2h_pipeline::Phase::Frame) as f64 / p.frames() as f64;
    println!(
        "frame-phase transfers per frame: resident {:.1}, legacy {:.1}",
        frame_transfers(&resident),
        frame_transfers(&legacy)
    );
    Ok(())
}
