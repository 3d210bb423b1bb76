//! Runs a pipeline over frames and measures it: per-frame latency and, when a
//! [`crate::alloc::CountingAlloc`] is installed, host allocations and the
//! live/peak byte tally per frame.
//!
//! Frames are drawn outside the measured section (the source's work is not
//! the pipeline's). The packet of each frame is dropped before the frame's
//! memory is read, so "live bytes after a frame" is the steady state the next
//! frame starts from; growth is measured from the end of the warm-up to the
//! last frame.
//!
//! On a CUDA device (feature `cuda`, see [`gpu`]) `process_frame` returns once
//! its work is queued, so the host clock would time the launches, not the
//! frame. There the latency is the time between two CUDA events recorded on
//! candle's stream around the frame, read after the last frame (one sync at
//! the end of the run, none per frame); device memory is the driver's
//! `cuMemGetInfo` after each frame; and with [`RunOptions::driver_counts`]
//! a [`crate::driver::DriverProbe`] counts each frame's copies and syncs at
//! the driver and its kernels' busy time.

use std::time::Instant;

use d2h_reports::{LatencyStats, MemoryStats};
use d2h_rules::RuleId;

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
    /// Count each frame's transfers at the CUDA driver (CUPTI); needs the
    /// `cuda` feature and a CUDA device.
    pub driver_counts: bool,
}

impl RunOptions {
    /// `frames` frames with a warm-up of a tenth of them (at least 1, at most 10).
    pub fn frames(frames: usize) -> Self {
        RunOptions {
            frames,
            warmup: (frames / 10).clamp(1, 10).min(frames.saturating_sub(1)),
            driver_counts: false,
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
    /// Host wall-clock on the CPU device; GPU time between events on CUDA.
    pub latency_ms: f64,
    /// Host wall-clock time of the `process_frame` call (on CUDA: queuing the work).
    pub host_ms: f64,
    /// Device memory in use after the frame (`cuMemGetInfo`), on CUDA.
    pub device_used_bytes: Option<u64>,
    /// The frame as the CUDA driver saw it, with [`RunOptions::driver_counts`].
    pub driver: Option<crate::driver::FrameDriverCounts>,
    /// Device-to-host reads (D2H001, D2H002) the gate recorded in the frame.
    pub gate_reads: u64,
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
    /// Whether the latencies are GPU event times (a CUDA device).
    pub gpu_timed: bool,
    /// With driver counts: the kernels of the frames after the warm-up, by
    /// function, longest first.
    pub kernel_times: Vec<crate::driver::KernelTime>,
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
            device_peak_bytes: self.device_peak_bytes(),
            device_growth_bytes: self.device_growth_bytes(),
        })
    }

    /// The most device memory in use after a frame: the driver's figure on
    /// CUDA, the host tally on the CPU device (where tensors are host buffers).
    pub fn device_peak_bytes(&self) -> u64 {
        match self.samples.iter().filter_map(|s| s.device_used_bytes).max() {
            Some(used) => used,
            None => self.samples.iter().map(|s| s.peak_bytes).max().unwrap_or(0).max(0) as u64,
        }
    }

    /// Device memory growth from the end of the warm-up to the last frame
    /// (the driver's figure on CUDA, the host tally otherwise).
    pub fn device_growth_bytes(&self) -> i64 {
        let base = self.warmup.min(self.samples.len()).saturating_sub(1);
        match (self.samples.get(base), self.samples.last()) {
            (Some(first), Some(last)) => match (first.device_used_bytes, last.device_used_bytes) {
                (Some(a), Some(b)) => b as i64 - a as i64,
                _ => self.growth_bytes(),
            },
            _ => 0,
        }
    }

    /// Per-frame driver counts of the frames after the warm-up, when counted.
    pub fn driver_frames(&self) -> Vec<crate::driver::FrameDriverCounts> {
        self.measured().iter().filter_map(|s| s.driver).collect()
    }
}

/// Runs `options.frames` frames of `source` through `pipeline`, then its
/// teardown. Fails with [`PipelineError::OutOfRange`] before any frame when
/// the frame count is not in `1..=MAX_FRAMES`.
pub fn run(pipeline: &mut Pipeline, source: &mut dyn FrameSource, options: RunOptions) -> Result<RunOutcome> {
    options.validate()?;
    let mut gpu = gpu::FrameTimer::new(pipeline.device(), options.driver_counts)?;
    let mut samples = Vec::with_capacity(options.frames);
    let before = alloc::snapshot();
    for _ in 0..options.frames {
        let frame = source.next_frame()?;
        let start_counts = alloc::snapshot();
        alloc::reset_peak();
        let reads_before = gate_reads(pipeline);
        gpu.frame_start()?;
        let start = Instant::now();
        let packet = pipeline.process_frame(&frame)?;
        let host_ms = start.elapsed().as_secs_f64() * 1e3;
        gpu.frame_end()?;
        let peak = alloc::snapshot().peak_bytes;
        drop(packet);
        drop(frame);
        let end_counts = alloc::snapshot();
        samples.push(FrameSample {
            latency_ms: host_ms,
            host_ms,
            device_used_bytes: gpu.device_used_bytes()?,
            driver: None,
            gate_reads: gate_reads(pipeline) - reads_before,
            host_allocations: end_counts.allocations_in(Phase::Frame) - start_counts.allocations_in(Phase::Frame),
            host_bytes: end_counts.bytes_in(Phase::Frame) - start_counts.bytes_in(Phase::Frame),
            live_bytes: end_counts.live_bytes,
            peak_bytes: peak,
        });
    }
    let (gpu_timed, kernel_times) = gpu.teardown(&mut samples, options.warmup, pipeline)?;
    let after = alloc::snapshot();
    let teardown = pipeline.teardown()?;
    Ok(RunOutcome {
        samples,
        warmup: options.warmup,
        alloc_installed: after.installed,
        large_in_frames: after.large_in_frame - before.large_in_frame,
        staging_large_in_frames: after.staging_large_in_frame - before.staging_large_in_frame,
        teardown,
        gpu_timed,
        kernel_times,
    })
}

/// Device-to-host reads (D2H001 copies, D2H002 scalar reads: one copy each)
/// the pipeline's gate has recorded in the frame phase so far.
pub fn gate_reads(pipeline: &Pipeline) -> u64 {
    pipeline
        .gate()
        .records()
        .iter()
        .filter(|r| r.phase == Phase::Frame && matches!(r.rule, RuleId::ExplicitCopy | RuleId::ScalarRead))
        .map(|r| r.count)
        .sum()
}

/// The CUDA side of the measurements; on other devices every step is a no-op.
mod gpu {
    #[cfg(not(feature = "cuda"))]
    use candle_core::Device;

    #[cfg(not(feature = "cuda"))]
    use super::FrameSample;
    #[cfg(not(feature = "cuda"))]
    use crate::error::{PipelineError, Result};

    #[cfg(not(feature = "cuda"))]
    pub(super) struct FrameTimer;

    #[cfg(not(feature = "cuda"))]
    impl FrameTimer {
        pub(super) fn new(_device: &Device, driver_counts: bool) -> Result<Self> {
            if driver_counts {
                return Err(PipelineError::CudaNotBuilt);
            }
            Ok(FrameTimer)
        }
        pub(super) fn frame_start(&mut self) -> Result<()> {
            Ok(())
        }
        pub(super) fn frame_end(&mut self) -> Result<()> {
            Ok(())
        }
        pub(super) fn device_used_bytes(&self) -> Result<Option<u64>> {
            Ok(None)
        }
        pub(super) fn teardown(
            self,
            _samples: &mut [FrameSample],
            _warmup: usize,
            _pipeline: &crate::Pipeline,
        ) -> Result<(bool, Vec<crate::driver::KernelTime>)> {
            Ok((false, Vec::new()))
        }
    }

    #[cfg(feature = "cuda")]
    pub(super) use cuda::FrameTimer;

    #[cfg(feature = "cuda")]
    mod cuda {
        use std::sync::Arc;

        use candle_core::cuda_backend::cudarc::driver::{result, sys::CUevent_flags, CudaEvent, CudaStream};
        use candle_core::Device;

        use super::super::FrameSample;
        use crate::driver::{ApiCounts, DriverProbe, FrameDriverCounts, FrameWindow, KernelTime};
        use crate::error::{PipelineError, Result};
        use crate::symbol;

        fn driver_error(what: &str, e: impl std::fmt::Debug) -> PipelineError {
            PipelineError::Driver(format!("{what}: {e:?}"))
        }

        /// Events around each frame on candle's stream, and the driver probe.
        pub(in super::super) struct FrameTimer {
            stream: Option<Arc<CudaStream>>,
            /// Events recorded before and after each frame.
            start_events: Vec<CudaEvent>,
            end_events: Vec<CudaEvent>,
            probe: Option<DriverProbe>,
            before: ApiCounts,
            /// Per frame: the API calls it made (with the last correlation id)...
            counts: Vec<ApiCounts>,
            /// ... and the last correlation id before it.
            starts: Vec<u32>,
        }

        impl FrameTimer {
            pub(in super::super) fn new(device: &Device, driver_counts: bool) -> Result<Self> {
                let stream = match device {
                    Device::Cuda(cuda) => Some(cuda.cuda_stream()),
                    _ => None,
                };
                if driver_counts && stream.is_none() {
                    return Err(PipelineError::Driver("driver counts need a CUDA device".into()));
                }
                let probe = if driver_counts {
                    Some(DriverProbe::start()?)
                } else {
                    None
                };
                Ok(FrameTimer {
                    stream,
                    start_events: Vec::new(),
                    end_events: Vec::new(),
                    probe,
                    before: ApiCounts::default(),
                    counts: Vec::new(),
                    starts: Vec::new(),
                })
            }

            fn record(&self) -> Result<Option<CudaEvent>> {
                match &self.stream {
                    Some(stream) => stream
                        .record_event(Some(CUevent_flags::CU_EVENT_DEFAULT))
                        .map(Some)
                        .map_err(|e| driver_error("recording a CUDA event", e)),
                    None => Ok(None),
                }
            }

            pub(in super::super) fn frame_start(&mut self) -> Result<()> {
                if let Some(probe) = &self.probe {
                    self.before = probe.counts();
                    self.starts.push(self.before.correlation);
                }
                if let Some(start) = self.record()? {
                    self.start_events.push(start);
                }
                Ok(())
            }

            pub(in super::super) fn frame_end(&mut self) -> Result<()> {
                if let Some(probe) = &self.probe {
                    self.counts.push(probe.counts().since(&self.before));
                }
                if let Some(end) = self.record()? {
                    self.end_events.push(end);
                }
                Ok(())
            }

            pub(in super::super) fn device_used_bytes(&self) -> Result<Option<u64>> {
                if self.stream.is_none() {
                    return Ok(None);
                }
                let (free, total) = result::mem_get_info().map_err(|e| driver_error("cuMemGetInfo", e))?;
                Ok(Some((total - free) as u64))
            }

            /// After the last frame: fills in the GPU latencies and driver
            /// counts; returns whether the latencies are GPU times, and with
            /// driver counts the kernel times of the frames after `warmup`.
            pub(in super::super) fn teardown(
                self,
                samples: &mut [FrameSample],
                warmup: usize,
                pipeline: &crate::Pipeline,
            ) -> Result<(bool, Vec<KernelTime>)> {
                if self.stream.is_none() {
                    return Ok((false, Vec::new()));
                }
                // One host-blocking sync for the whole run, through the gate
                // (a teardown-phase D2H004 in the report): the events and the
                // activity records are complete only once the device is idle.
                {
                    let gate = pipeline.gate();
                    let _teardown = gate.enter(crate::Phase::Teardown);
                    gate.synchronize(pipeline.device(), symbol!(), "end of run: frame timings")?;
                }
                for (sample, (start, end)) in samples.iter_mut().zip(self.start_events.iter().zip(&self.end_events)) {
                    let ms = start
                        .elapsed_ms(end)
                        .map_err(|e| driver_error("reading CUDA events", e))?;
                    sample.latency_ms = f64::from(ms);
                }
                let mut kernel_times = Vec::new();
                if let Some(probe) = &self.probe {
                    let log = probe.activity()?;
                    let windows: Vec<FrameWindow> = self
                        .counts
                        .iter()
                        .zip(&self.starts)
                        .map(|(api, &after)| FrameWindow {
                            after,
                            through: api.correlation,
                        })
                        .collect();
                    for ((sample, api), window) in samples.iter_mut().zip(&self.counts).zip(&windows) {
                        sample.driver = Some(FrameDriverCounts {
                            api: *api,
                            executed: log.window(*window),
                        });
                    }
                    kernel_times = log.kernel_times(&windows[warmup.min(windows.len())..]);
                }
                Ok((true, kernel_times))
            }
        }
    }
}
