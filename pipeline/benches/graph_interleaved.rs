//! Resident (graph), resident (eager) and legacy, interleaved frame by frame
//! (issue 15, item 5).
//!
//! `graph_interleaved [--device cpu|cuda] [--preset small|real] [--dtype f32|bf16|f16]
//! [--size S] [--frames N] [--soak M] [--counted C]`
//! (defaults: cuda, the device's preset as `d2h pipeline run` chooses it
//! (real on CUDA, small on the CPU), f32, 640, 1000, 10000, 200). The header
//! names the preset, the dtype and the work per frame. The three pipelines share the
//! seed (same weights, same synthetic frames) and see every frame in a
//! rotating order, so machine noise hits all three alike. Passes:
//!
//! 1. check: the first 30 frames, whose packets must agree value for value
//!    between graph and eager (and with legacy, up to float noise);
//! 2. timed: `N` frames each; a frame's latency is host wall time from the
//!    call until the device is idle again (one synchronisation after the
//!    call, outside the pipeline); the host time is the call alone (queuing,
//!    for a resident frame: host work not spent waiting). p50/p99, and a
//!    paired bootstrap (2,000 resamples of frame indices) 95 % interval of
//!    the p50 speedups over legacy;
//! 3. counted (CUDA): `C` more frames each under CUPTI: API-level launches
//!    (driver and runtime), executed kernels, host↔device copies and kernel
//!    time per frame (GPU busy = kernel time / timed p50);
//! 4. soak (CUDA): `M` graph frames, device memory (`cuMemGetInfo`) after
//!    frame 100 and at the end, and its peak.
//!
//! Prints one table; writes nothing else. The numbers belong in BENCHMARKS.md
//! with the date, the GPU and the command.

use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use d2h_pipeline::{DeviceKind, GraphMode, Mode, Pipeline, PipelineConfig, Preset, ResultPacket, SyntheticVideo};

type BoxError = Box<dyn std::error::Error>;

const NAMES: [&str; 3] = ["graph", "eager", "legacy"];

struct Args {
    device: DeviceKind,
    /// `None`: the device's default.
    preset: Option<Preset>,
    dtype: DType,
    size: usize,
    frames: usize,
    soak: usize,
    counted: usize,
}

fn args() -> Result<Args, BoxError> {
    let mut a = Args {
        device: DeviceKind::Cuda,
        preset: None,
        dtype: DType::F32,
        size: 640,
        frames: 1000,
        soak: 10_000,
        counted: 200,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < argv.len() {
        let value = || argv.get(i + 1).ok_or_else(|| format!("{} needs a value", argv[i]));
        match argv[i].as_str() {
            "--device" => {
                a.device = match value()?.as_str() {
                    "cpu" => DeviceKind::Cpu,
                    "cuda" => DeviceKind::Cuda,
                    other => return Err(format!("--device {other}: expected cpu or cuda").into()),
                }
            }
            "--preset" => a.preset = Some(value()?.parse::<Preset>()?),
            "--dtype" => {
                a.dtype = match value()?.as_str() {
                    "f32" => DType::F32,
                    "bf16" => DType::BF16,
                    "f16" => DType::F16,
                    other => return Err(format!("--dtype {other}: expected f32, bf16 or f16").into()),
                }
            }
            "--size" => a.size = value()?.parse()?,
            "--frames" => a.frames = value()?.parse()?,
            "--soak" => a.soak = value()?.parse()?,
            "--counted" => a.counted = value()?.parse()?,
            // `cargo bench` passes `--bench`.
            "--bench" => {
                i += 1;
                continue;
            }
            other => return Err(format!("unknown argument {other}").into()),
        }
        i += 2;
    }
    if a.frames < 10 {
        return Err("--frames must be at least 10".into());
    }
    Ok(a)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = (p / 100.0 * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn p(values: &[f64], q: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    percentile(&v, q)
}

/// A small deterministic generator for the bootstrap (xorshift64*).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
    }
}

/// The 95 % interval of p50(base) / p50(x) over paired resamples of frame indices.
fn bootstrap_speedup(x: &[f64], base: &[f64], rng: &mut Rng) -> (f64, f64) {
    let n = x.len();
    let mut ratios = Vec::with_capacity(2000);
    let (mut xs, mut bs) = (vec![0.0; n], vec![0.0; n]);
    for _ in 0..2000 {
        for j in 0..n {
            let k = rng.below(n);
            xs[j] = x[k];
            bs[j] = base[k];
        }
        xs.sort_by(f64::total_cmp);
        bs.sort_by(f64::total_cmp);
        ratios.push(percentile(&bs, 50.0) / percentile(&xs, 50.0));
    }
    ratios.sort_by(f64::total_cmp);
    (percentile(&ratios, 2.5), percentile(&ratios, 97.5))
}

fn config(a: &Args, device: &Device) -> PipelineConfig {
    let preset = a.preset.unwrap_or_else(|| Preset::default_for(device));
    let mut cfg = PipelineConfig::preset(preset, a.size);
    cfg.dtype = a.dtype;
    cfg
}

fn build(a: &Args, device: &Device, mode: Mode, graph: GraphMode) -> Result<Pipeline, BoxError> {
    let mut cfg = config(a, device);
    cfg.mode = mode;
    cfg.graph = graph;
    Ok(Pipeline::new(cfg, device)?)
}

/// Every value of a packet as f64 (the bench's own read, in the check pass only).
fn values(packet: &ResultPacket) -> Result<Vec<Vec<f64>>, BoxError> {
    let mut out = Vec::new();
    for (_, t) in packet.tensors() {
        out.push(t.flatten_all()?.to_dtype(DType::F64)?.to_vec1::<f64>()?);
    }
    Ok(out)
}

fn max_abs_diff(a: &[Vec<f64>], b: &[Vec<f64>]) -> f64 {
    a.iter()
        .flatten()
        .zip(b.iter().flatten())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

fn sync(device: &Device) -> Result<(), BoxError> {
    device.synchronize()?;
    Ok(())
}

fn main() -> Result<(), BoxError> {
    let a = args()?;
    let device = a.device.open()?;
    let mut pipelines = [
        build(&a, &device, Mode::Resident, GraphMode::On)?,
        build(&a, &device, Mode::Resident, GraphMode::Off)?,
        build(&a, &device, Mode::Legacy, GraphMode::Off)?,
    ];
    let video = SyntheticVideo::new(a.size, 6, 7, &device)?;
    let mut t = 0u64;
    let mut next_frame = || -> Result<Tensor, BoxError> {
        t += 1;
        Ok(video.frame(t)?)
    };

    // 1. check
    let (mut graph_vs_eager, mut legacy_vs_eager) = (0.0f64, 0.0f64);
    let mut tracks_differ = 0;
    for _ in 0..30 {
        let frame = next_frame()?;
        let mut v = Vec::new();
        for p in pipelines.iter_mut() {
            v.push(values(&p.process_frame(&frame)?)?);
        }
        graph_vs_eager = graph_vs_eager.max(max_abs_diff(&v[0], &v[1]));
        legacy_vs_eager = legacy_vs_eager.max(max_abs_diff(&v[2], &v[1]));
        tracks_differ += usize::from(v[0][4] != v[1][4]);
    }
    if let Some(stats) = pipelines[0].graph_stats() {
        println!(
            "check: 30 frames; max |graph - eager| {graph_vs_eager:.3e}, max |legacy - eager| {legacy_vs_eager:.3e}, \
             frames whose track ids differ (graph vs eager): {tracks_differ}; graph {stats:?}"
        );
    }

    // 2. timed
    let mut latency: [Vec<f64>; 3] = Default::default();
    let mut host: [Vec<f64>; 3] = Default::default();
    for i in 0..a.frames {
        let frame = next_frame()?;
        sync(&device)?;
        for k in 0..3 {
            let which = (i + k) % 3;
            let start = Instant::now();
            let packet = pipelines[which].process_frame(&frame)?;
            let queued = start.elapsed();
            sync(&device)?;
            let done = start.elapsed();
            drop(packet);
            latency[which].push(done.as_secs_f64() * 1e3);
            host[which].push(queued.as_secs_f64() * 1e3);
        }
    }
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let p50_legacy = p(&latency[2], 50.0);
    let cfg = config(&a, &device);
    let flops = cfg.flops();
    println!(
        "\ngraph_interleaved: {}x{}, {} preset, {}, {:.2} GFLOPs per frame (detector {:.2}, predictor {:.2}), {} frames per mode, interleaved, on {}",
        a.size,
        a.size,
        cfg.preset_of().map_or("custom", |p| p.as_str()),
        cfg.dtype.as_str(),
        flops.total().gflops(),
        flops.detector.gflops(),
        flops.predictor.gflops(),
        a.frames,
        if device.is_cuda() { "cuda" } else { "cpu" }
    );
    println!(
        "{:<7} {:>9} {:>9} {:>9} {:>11} {:>22}",
        "mode", "p50 ms", "p99 ms", "host ms", "speedup", "95% CI (bootstrap)"
    );
    for k in 0..3 {
        let p50 = p(&latency[k], 50.0);
        let (lo, hi) = bootstrap_speedup(&latency[k], &latency[2], &mut rng);
        println!(
            "{:<7} {:>9.3} {:>9.3} {:>9.3} {:>10.2}x {:>10.2}x..{:>6.2}x",
            NAMES[k],
            p50,
            p(&latency[k], 99.0),
            p(&host[k], 50.0),
            p50_legacy / p50,
            lo,
            hi
        );
    }
    println!(
        "host share of the frame (p50 host / p50 latency): graph {:.1} %, eager {:.1} %",
        p(&host[0], 50.0) / p(&latency[0], 50.0) * 100.0,
        p(&host[1], 50.0) / p(&latency[1], 50.0) * 100.0
    );
    let p50s = [p(&latency[0], 50.0), p(&latency[1], 50.0), p50_legacy];
    gpu::counted_and_soak(&a, &device, &mut pipelines, &mut next_frame, p50s)?;
    Ok(())
}

#[cfg(not(feature = "cuda"))]
mod gpu {
    use super::*;

    pub fn counted_and_soak(
        _a: &Args,
        _device: &Device,
        _pipelines: &mut [Pipeline; 3],
        _next_frame: &mut dyn FnMut() -> Result<Tensor, BoxError>,
        _p50s: [f64; 3],
    ) -> Result<(), BoxError> {
        println!("(no CUDA in this build: no driver counts, no device-memory soak)");
        Ok(())
    }
}

#[cfg(feature = "cuda")]
mod gpu {
    use super::*;
    use candle_core::cuda_backend::cudarc::driver::result;
    use d2h_pipeline::driver::{DriverProbe, FrameWindow};

    fn used_bytes() -> Result<u64, BoxError> {
        let (free, total) = result::mem_get_info().map_err(|e| format!("cuMemGetInfo: {e:?}"))?;
        Ok((total - free) as u64)
    }

    pub fn counted_and_soak(
        a: &Args,
        device: &Device,
        pipelines: &mut [Pipeline; 3],
        next_frame: &mut dyn FnMut() -> Result<Tensor, BoxError>,
        p50s: [f64; 3],
    ) -> Result<(), BoxError> {
        if !device.is_cuda() {
            return Ok(());
        }
        // 3. counted
        let probe = DriverProbe::start()?;
        let mut windows: [Vec<(d2h_pipeline::driver::ApiCounts, FrameWindow)>; 3] = Default::default();
        for i in 0..a.counted {
            let frame = next_frame()?;
            sync(device)?;
            for k in 0..3 {
                let which = (i + k) % 3;
                let before = probe.counts();
                let packet = pipelines[which].process_frame(&frame)?;
                let after = probe.counts();
                drop(packet);
                sync(device)?;
                windows[which].push((
                    after.since(&before),
                    FrameWindow {
                        after: before.correlation,
                        through: after.correlation,
                    },
                ));
            }
        }
        let log = probe.activity()?;
        println!(
            "\ncounted: {} frames per mode under CUPTI (per frame: API launches driver+runtime, executed kernels, \
             kernel ms, GPU busy vs timed p50, h2d/d2h API calls, executed h2d/d2h copies, syncs)",
            a.counted
        );
        for k in 0..3 {
            let n = windows[k].len().max(1) as f64;
            let mut sums = [0f64; 9];
            for (api, window) in &windows[k] {
                let ex = log.window(*window);
                let row = [
                    api.launches as f64,
                    api.runtime_launches as f64,
                    ex.kernels as f64,
                    ex.kernel_ns as f64 / 1e6,
                    api.htod_calls as f64,
                    api.dtoh_calls as f64,
                    ex.htod_copies as f64,
                    ex.dtoh_copies as f64,
                    api.syncs as f64,
                ];
                for (s, v) in sums.iter_mut().zip(row) {
                    *s += v;
                }
            }
            let m: Vec<f64> = sums.iter().map(|s| s / n).collect();
            println!(
                "{:<7} launches {:>6.1}+{:<6.1} kernels {:>6.1} kernel {:>7.3} ms busy {:>5.1} % h2d {:.2}/{:.2} d2h {:.2}/{:.2} syncs {:.2}",
                NAMES[k],
                m[0],
                m[1],
                m[2],
                m[3],
                m[3] / p50s[k] * 100.0,
                m[4],
                m[6],
                m[5],
                m[7],
                m[8]
            );
        }
        drop(probe);

        // 4. soak
        let graph = &mut pipelines[0];
        let mut base = 0u64;
        let mut peak = 0u64;
        let start = Instant::now();
        for i in 0..a.soak {
            let frame = next_frame()?;
            drop(graph.process_frame(&frame)?);
            if i % 100 == 99 {
                sync(device)?;
                let used = used_bytes()?;
                if i == 99 {
                    base = used;
                }
                peak = peak.max(used);
            }
        }
        sync(device)?;
        let end = used_bytes()?;
        println!(
            "\nsoak: {} graph frames in {:.1} s; device memory {:.1} MiB after frame 100, {:.1} MiB at the end \
             (growth {} bytes), peak {:.1} MiB (the whole process: three pipelines and candle's caches)",
            a.soak,
            start.elapsed().as_secs_f64(),
            base as f64 / 1048576.0,
            end as f64 / 1048576.0,
            end as i64 - base as i64,
            peak as f64 / 1048576.0
        );
        Ok(())
    }
}
