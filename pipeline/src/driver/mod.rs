//! Driver-level transfer counts: what the CUDA driver saw, to hold against
//! what the [`crate::transfer`] gate recorded.
//!
//! The gate counts the transfers the pipeline routes through it; this module
//! proves nothing escapes it. With the `cuda` feature, [`DriverProbe`]
//! subscribes to CUPTI (the profiling interface of the CUDA driver):
//!
//! * its callback API sees every driver and runtime API call on the calling
//!   thread as it is made, so counts taken before and after `process_frame`
//!   are that frame's exactly: device-to-host and host-to-device copies by
//!   API name, host-blocking synchronisations (`cuStreamSynchronize`,
//!   `cuCtxSynchronize`, `cuEventSynchronize` and their runtime twins), and
//!   copies whose direction the name does not tell;
//! * its activity API records every memcpy the device executed (with its
//!   direction and size, whatever API issued it) and every kernel (with its
//!   start and end on the GPU clock). Records carry the correlation id of the
//!   API call that issued them; ids grow monotonically, so a frame's records
//!   are those whose id falls in the frame's window of ids ([`FrameWindow`]).
//!
//! Name classification ([`classify`]) and the windowing of activity records
//! ([`ActivityLog::window`]) are plain Rust, tested on the CPU; only the FFI
//! (`cupti.rs`) needs a GPU.

#[cfg(feature = "cuda")]
mod cupti;

#[cfg(feature = "cuda")]
pub use cupti::DriverProbe;

/// What a driver or runtime API call does, as far as transfers go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiClass {
    /// A device-to-host copy (`cuMemcpyDtoH*`).
    DeviceToHost,
    /// A host-to-device copy (`cuMemcpyHtoD*`).
    HostToDevice,
    /// A copy whose direction the name does not tell (`cuMemcpy`,
    /// `cuMemcpyAsync`, `cuMemcpy2D*`, `cudaMemcpy*`, ...).
    OtherCopy,
    /// A call that blocks the host until the device catches up.
    Synchronize,
    /// A kernel or graph launch at the driver (`cuLaunchKernel*`,
    /// `cuGraphLaunch*`).
    Launch,
    /// A kernel or graph launch through the runtime API (`cudaLaunchKernel*`,
    /// `cudaGraphLaunch*`: cuBLAS launches so). Counted apart from the
    /// driver's, since a runtime call may reach the driver's callback too.
    RuntimeLaunch,
    /// Anything else (launches, allocations, device-to-device copies, ...).
    Other,
}

/// Classifies a CUDA driver (`cu*`) or runtime (`cuda*`) API function by name.
pub fn classify(function: &str) -> ApiClass {
    const SYNCS: &[&str] = &[
        "cuStreamSynchronize",
        "cuCtxSynchronize",
        "cuCtxSynchronize_v2",
        "cuEventSynchronize",
        "cudaStreamSynchronize",
        "cudaDeviceSynchronize",
        "cudaEventSynchronize",
        "cudaThreadSynchronize",
    ];
    if SYNCS.contains(&function) {
        return ApiClass::Synchronize;
    }
    if function.starts_with("cuLaunch") || function.starts_with("cuGraphLaunch") {
        return ApiClass::Launch;
    }
    if function.starts_with("cudaLaunch") || function.starts_with("cudaGraphLaunch") {
        return ApiClass::RuntimeLaunch;
    }
    if let Some(rest) = function.strip_prefix("cuMemcpy") {
        return if rest.starts_with("DtoH") || rest.starts_with("AtoH") {
            ApiClass::DeviceToHost
        } else if rest.starts_with("HtoD") || rest.starts_with("HtoA") {
            ApiClass::HostToDevice
        } else if rest.starts_with("DtoD")
            || rest.starts_with("DtoA")
            || rest.starts_with("AtoD")
            || rest.starts_with("AtoA")
        {
            ApiClass::Other
        } else {
            ApiClass::OtherCopy
        };
    }
    if function.starts_with("cudaMemcpy") {
        return ApiClass::OtherCopy;
    }
    ApiClass::Other
}

/// Whether a `cuMemcpyDtoH*`/`cuMemcpyHtoD*` function's parameter struct
/// starts with `(pointer, pointer, size_t ByteCount, ...)`, so its byte count
/// can be read at offset 16 (the 1-D copies; the 2-D/3-D and array ones differ).
pub fn has_linear_byte_count(function: &str) -> bool {
    matches!(
        function,
        "cuMemcpyDtoH_v2" | "cuMemcpyDtoHAsync_v2" | "cuMemcpyHtoD_v2" | "cuMemcpyHtoDAsync_v2"
    )
}

/// Counts of API calls by class, as seen by the callback API so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApiCounts {
    pub dtoh_calls: u64,
    pub dtoh_bytes: u64,
    pub htod_calls: u64,
    pub htod_bytes: u64,
    pub other_copies: u64,
    pub syncs: u64,
    /// Kernel and graph launches at the driver API.
    pub launches: u64,
    /// Kernel and graph launches at the runtime API.
    pub runtime_launches: u64,
    /// The highest correlation id handed out so far.
    pub correlation: u32,
}

impl ApiCounts {
    /// The calls made between `earlier` and `self`.
    pub fn since(&self, earlier: &ApiCounts) -> ApiCounts {
        ApiCounts {
            dtoh_calls: self.dtoh_calls - earlier.dtoh_calls,
            dtoh_bytes: self.dtoh_bytes - earlier.dtoh_bytes,
            htod_calls: self.htod_calls - earlier.htod_calls,
            htod_bytes: self.htod_bytes - earlier.htod_bytes,
            other_copies: self.other_copies - earlier.other_copies,
            syncs: self.syncs - earlier.syncs,
            launches: self.launches - earlier.launches,
            runtime_launches: self.runtime_launches - earlier.runtime_launches,
            correlation: self.correlation,
        }
    }
}

/// The correlation ids of the API calls made during one frame: `(first, last]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FrameWindow {
    pub after: u32,
    pub through: u32,
}

impl FrameWindow {
    fn contains(&self, id: u32) -> bool {
        id > self.after && id <= self.through
    }
}

/// The direction of a copy the device executed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyKind {
    DeviceToHost,
    HostToDevice,
    Other,
}

/// One activity record, reduced to what the counts need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    Copy {
        correlation: u32,
        kind: CopyKind,
        bytes: u64,
    },
    Kernel {
        correlation: u32,
        start_ns: u64,
        end_ns: u64,
        /// Index of the kernel's function name in [`ActivityLog::kernel_names`].
        name: u32,
    },
}

/// Every activity record of a run, after the final flush.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActivityLog {
    pub records: Vec<Activity>,
    /// The kernels' function names, each once, as CUPTI reports them
    /// (C names for candle's kernels, mangled C++ names for cuBLAS's).
    pub kernel_names: Vec<String>,
}

/// One kernel function's share of the GPU time over some frames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelTime {
    pub name: String,
    pub launches: u64,
    pub total_ns: u64,
}

/// What the device executed for one frame's API calls.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct WindowStats {
    pub dtoh_copies: u64,
    pub dtoh_bytes: u64,
    pub htod_copies: u64,
    pub htod_bytes: u64,
    pub kernels: u64,
    /// Sum of kernel durations on the GPU clock.
    pub kernel_ns: u64,
}

impl ActivityLog {
    /// The records issued by the API calls of `window`.
    pub fn window(&self, window: FrameWindow) -> WindowStats {
        let mut stats = WindowStats::default();
        for record in &self.records {
            match *record {
                Activity::Copy {
                    correlation,
                    kind,
                    bytes,
                } if window.contains(correlation) => match kind {
                    CopyKind::DeviceToHost => {
                        stats.dtoh_copies += 1;
                        stats.dtoh_bytes += bytes;
                    }
                    CopyKind::HostToDevice => {
                        stats.htod_copies += 1;
                        stats.htod_bytes += bytes;
                    }
                    CopyKind::Other => {}
                },
                Activity::Kernel {
                    correlation,
                    start_ns,
                    end_ns,
                    ..
                } if window.contains(correlation) => {
                    stats.kernels += 1;
                    stats.kernel_ns += end_ns.saturating_sub(start_ns);
                }
                _ => {}
            }
        }
        stats
    }

    /// The kernels executed for the API calls of `windows` (in increasing,
    /// non-overlapping order, as frames are), grouped by function and sorted
    /// by their summed GPU time, longest first (then by name).
    pub fn kernel_times(&self, windows: &[FrameWindow]) -> Vec<KernelTime> {
        let mut per_name = vec![(0u64, 0u64); self.kernel_names.len()];
        for record in &self.records {
            let Activity::Kernel {
                correlation,
                start_ns,
                end_ns,
                name,
            } = *record
            else {
                continue;
            };
            let i = windows.partition_point(|w| w.through < correlation);
            let counted = windows.get(i).is_some_and(|w| w.contains(correlation));
            if let (true, Some(slot)) = (counted, per_name.get_mut(name as usize)) {
                slot.0 += 1;
                slot.1 += end_ns.saturating_sub(start_ns);
            }
        }
        let mut times: Vec<KernelTime> = per_name
            .into_iter()
            .zip(&self.kernel_names)
            .filter(|((launches, _), _)| *launches > 0)
            .map(|((launches, total_ns), name)| KernelTime {
                name: name.clone(),
                launches,
                total_ns,
            })
            .collect();
        times.sort_by(|a, b| b.total_ns.cmp(&a.total_ns).then_with(|| a.name.cmp(&b.name)));
        times
    }
}

/// One frame as the driver saw it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FrameDriverCounts {
    /// API calls made by the frame (callback API).
    pub api: ApiCounts,
    /// What the device executed for them (activity API).
    pub executed: WindowStats,
}

/// The report's driver section for a run counted with
/// [`crate::RunOptions::driver_counts`]; `None` when the run was not counted.
pub fn driver_stats(outcome: &crate::RunOutcome) -> Option<d2h_reports::DriverStats> {
    let counted: Vec<(&crate::runner::FrameSample, &FrameDriverCounts)> = outcome
        .samples
        .iter()
        .filter_map(|s| s.driver.as_ref().map(|d| (s, d)))
        .collect();
    if counted.is_empty() {
        return None;
    }
    let n = counted.len() as f64;
    let mean = |f: &dyn Fn(&FrameDriverCounts) -> u64| counted.iter().map(|(_, d)| f(d) as f64).sum::<f64>() / n;
    let agrees = counted
        .iter()
        .all(|(s, d)| d.api.dtoh_calls == s.gate_reads && d.executed.dtoh_copies == s.gate_reads);
    let measured = &counted[outcome.warmup.min(counted.len().saturating_sub(1))..];
    let measured_mean = |f: &dyn Fn(&FrameDriverCounts) -> u64| {
        measured.iter().map(|(_, d)| f(d) as f64).sum::<f64>() / measured.len() as f64
    };
    let kernel_ms: f64 = measured.iter().map(|(_, d)| d.executed.kernel_ns as f64 / 1e6).sum();
    let all_kernel_ns: u64 = outcome.kernel_times.iter().map(|k| k.total_ns).sum();
    let top_kernels = outcome
        .kernel_times
        .iter()
        .take(TOP_KERNELS)
        .map(|k| d2h_reports::KernelShare {
            name: k.name.clone(),
            launches_per_frame: k.launches as f64 / measured.len() as f64,
            ms_per_frame: k.total_ns as f64 / 1e6 / measured.len() as f64,
            share: k.total_ns as f64 / all_kernel_ns.max(1) as f64,
        })
        .collect();
    let latency_ms: f64 = measured.iter().map(|(s, _)| s.latency_ms).sum();
    Some(d2h_reports::DriverStats {
        frames: counted.len() as u64,
        gate_reads_per_frame: counted.iter().map(|(s, _)| s.gate_reads as f64).sum::<f64>() / n,
        dtoh_calls_per_frame: mean(&|d| d.api.dtoh_calls),
        dtoh_copies_per_frame: mean(&|d| d.executed.dtoh_copies),
        dtoh_bytes_per_frame: mean(&|d| d.executed.dtoh_bytes),
        htod_copies_per_frame: mean(&|d| d.executed.htod_copies),
        htod_bytes_per_frame: mean(&|d| d.executed.htod_bytes),
        unclassified_copies_per_frame: mean(&|d| d.api.other_copies),
        syncs_per_frame: mean(&|d| d.api.syncs),
        kernels_per_frame: mean(&|d| d.executed.kernels),
        kernel_ms_per_frame: mean(&|d| d.executed.kernel_ns) / 1e6,
        busy_fraction: if latency_ms > 0.0 { kernel_ms / latency_ms } else { 0.0 },
        agrees_with_gate: agrees,
        htod_copies_after_warmup_per_frame: measured_mean(&|d| d.executed.htod_copies),
        htod_bytes_after_warmup_per_frame: measured_mean(&|d| d.executed.htod_bytes),
        top_kernels,
    })
}

/// How many kernel functions the report's driver section lists.
pub const TOP_KERNELS: usize = 12;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_classify_by_direction() {
        assert_eq!(classify("cuMemcpyDtoHAsync_v2"), ApiClass::DeviceToHost);
        assert_eq!(classify("cuMemcpyDtoH_v2"), ApiClass::DeviceToHost);
        assert_eq!(classify("cuMemcpyAtoH_v2"), ApiClass::DeviceToHost);
        assert_eq!(classify("cuMemcpyHtoDAsync_v2"), ApiClass::HostToDevice);
        assert_eq!(classify("cuMemcpyDtoDAsync_v2"), ApiClass::Other);
        assert_eq!(classify("cuMemcpyAsync"), ApiClass::OtherCopy);
        assert_eq!(classify("cuMemcpy2DAsync_v2"), ApiClass::OtherCopy);
        assert_eq!(classify("cudaMemcpyAsync"), ApiClass::OtherCopy);
        assert_eq!(classify("cuStreamSynchronize"), ApiClass::Synchronize);
        assert_eq!(classify("cudaDeviceSynchronize"), ApiClass::Synchronize);
        assert_eq!(classify("cuStreamWaitEvent"), ApiClass::Other);
        assert_eq!(classify("cuLaunchKernel"), ApiClass::Launch);
        assert_eq!(classify("cuLaunchKernelEx_ptsz"), ApiClass::Launch);
        assert_eq!(classify("cuGraphLaunch_ptsz"), ApiClass::Launch);
        assert_eq!(classify("cuGraphInstantiateWithFlags"), ApiClass::Other);
        assert_eq!(classify("cudaLaunchKernel"), ApiClass::RuntimeLaunch);
        assert!(has_linear_byte_count("cuMemcpyDtoHAsync_v2"));
        assert!(!has_linear_byte_count("cuMemcpy2DAsync_v2"));
    }

    #[test]
    fn a_window_takes_the_records_of_its_calls_only() {
        let log = ActivityLog {
            records: vec![
                Activity::Kernel {
                    correlation: 10,
                    start_ns: 100,
                    end_ns: 150,
                    name: 0,
                },
                Activity::Copy {
                    correlation: 11,
                    kind: CopyKind::DeviceToHost,
                    bytes: 64,
                },
                Activity::Kernel {
                    correlation: 12,
                    start_ns: 200,
                    end_ns: 230,
                    name: 1,
                },
                Activity::Copy {
                    correlation: 13,
                    kind: CopyKind::HostToDevice,
                    bytes: 8,
                },
                Activity::Kernel {
                    correlation: 20,
                    start_ns: 400,
                    end_ns: 900,
                    name: 1,
                },
            ],
            kernel_names: vec!["gemm".into(), "ucopy_f32".into()],
        };
        let frame = log.window(FrameWindow { after: 10, through: 13 });
        assert_eq!(frame.kernels, 1);
        assert_eq!(frame.kernel_ns, 30);
        assert_eq!((frame.dtoh_copies, frame.dtoh_bytes), (1, 64));
        assert_eq!((frame.htod_copies, frame.htod_bytes), (1, 8));
        let next = log.window(FrameWindow { after: 13, through: 20 });
        assert_eq!((next.kernels, next.kernel_ns, next.dtoh_copies), (1, 500, 0));
    }

    #[test]
    fn kernel_times_group_the_windows_kernels_by_name_longest_first() {
        let kernel = |correlation, start_ns, end_ns, name| Activity::Kernel {
            correlation,
            start_ns,
            end_ns,
            name,
        };
        let log = ActivityLog {
            records: vec![
                kernel(3, 0, 900, 0),   // before the first window: not counted
                kernel(5, 0, 40, 0),    // window 1
                kernel(6, 100, 110, 1), // window 1
                kernel(9, 0, 5, 2),     // between the windows: not counted
                kernel(12, 0, 30, 1),   // window 2
                kernel(12, 50, 75, 1),  // window 2: a graph replays many kernels under one id
                kernel(30, 0, 1000, 2), // after the last window: not counted
            ],
            kernel_names: vec!["a".into(), "b".into(), "c".into()],
        };
        let windows = [
            FrameWindow { after: 4, through: 8 },
            FrameWindow { after: 10, through: 12 },
        ];
        let times = log.kernel_times(&windows);
        assert_eq!(
            times,
            vec![
                KernelTime {
                    name: "b".into(),
                    launches: 3,
                    total_ns: 65,
                },
                KernelTime {
                    name: "a".into(),
                    launches: 1,
                    total_ns: 40,
                },
            ]
        );
        assert!(log.kernel_times(&[]).is_empty());
    }

    fn sample(gate_reads: u64, dtoh_calls: u64, dtoh_copies: u64, latency_ms: f64) -> crate::runner::FrameSample {
        crate::runner::FrameSample {
            latency_ms,
            gate_reads,
            driver: Some(FrameDriverCounts {
                api: ApiCounts {
                    dtoh_calls,
                    syncs: 1,
                    ..ApiCounts::default()
                },
                executed: WindowStats {
                    dtoh_copies,
                    dtoh_bytes: 100 * dtoh_copies,
                    kernels: 10,
                    kernel_ns: 2_000_000,
                    ..WindowStats::default()
                },
            }),
            ..crate::runner::FrameSample::default()
        }
    }

    fn outcome(samples: Vec<crate::runner::FrameSample>) -> crate::RunOutcome {
        crate::RunOutcome {
            samples,
            warmup: 1,
            alloc_installed: false,
            large_in_frames: 0,
            staging_large_in_frames: 0,
            teardown: crate::Teardown { tracks_started: 0 },
            gpu_timed: true,
            kernel_times: vec![
                KernelTime {
                    name: "gemm".into(),
                    launches: 4,
                    total_ns: 3_000_000,
                },
                KernelTime {
                    name: "ucopy_f32".into(),
                    launches: 20,
                    total_ns: 1_000_000,
                },
            ],
        }
    }

    #[test]
    fn the_report_section_averages_frames_and_checks_each_against_the_gate() {
        let stats = driver_stats(&outcome(vec![
            sample(2, 2, 2, 8.0),
            sample(2, 2, 2, 4.0),
            sample(4, 4, 4, 4.0),
        ]))
        .unwrap();
        assert_eq!(stats.frames, 3);
        assert!((stats.gate_reads_per_frame - 8.0 / 3.0).abs() < 1e-9);
        assert!((stats.dtoh_copies_per_frame - 8.0 / 3.0).abs() < 1e-9);
        assert!((stats.syncs_per_frame - 1.0).abs() < 1e-9);
        assert!((stats.kernel_ms_per_frame - 2.0).abs() < 1e-9);
        // Busy time over the frames after the warm-up: 4 ms of kernels in 8 ms.
        assert!((stats.busy_fraction - 0.5).abs() < 1e-9);
        assert!(stats.agrees_with_gate);
        // The kernels after the warm-up, per measured frame (two of them).
        let names: Vec<&str> = stats.top_kernels.iter().map(|k| k.name.as_str()).collect();
        assert_eq!(names, ["gemm", "ucopy_f32"]);
        assert!((stats.top_kernels[0].ms_per_frame - 1.5).abs() < 1e-9);
        assert!((stats.top_kernels[1].launches_per_frame - 10.0).abs() < 1e-9);
        assert!((stats.top_kernels[0].share - 0.75).abs() < 1e-9);

        // Uploads in the warm-up frame only: counted in the run's mean, not after the warm-up.
        let mut warm = sample(2, 2, 2, 8.0);
        if let Some(d) = warm.driver.as_mut() {
            d.executed.htod_copies = 6;
            d.executed.htod_bytes = 600;
        }
        let stats = driver_stats(&outcome(vec![warm, sample(2, 2, 2, 4.0), sample(2, 2, 2, 4.0)])).unwrap();
        assert!((stats.htod_copies_per_frame - 2.0).abs() < 1e-9);
        assert_eq!(stats.htod_copies_after_warmup_per_frame, 0.0);
        assert_eq!(stats.htod_bytes_after_warmup_per_frame, 0.0);

        // One frame whose executed copies differ from the gate's reads: no agreement,
        // even though the totals over the run would match.
        let stats = driver_stats(&outcome(vec![sample(2, 2, 3, 4.0), sample(2, 2, 1, 4.0)])).unwrap();
        assert!(!stats.agrees_with_gate);

        // A run without driver counts has no section.
        let uncounted = crate::runner::FrameSample::default();
        assert_eq!(driver_stats(&outcome(vec![uncounted])), None);
    }

    #[test]
    fn api_counts_subtract_to_a_frame() {
        let before = ApiCounts {
            dtoh_calls: 2,
            syncs: 3,
            correlation: 40,
            ..ApiCounts::default()
        };
        let after = ApiCounts {
            dtoh_calls: 5,
            syncs: 3,
            correlation: 90,
            ..ApiCounts::default()
        };
        let frame = after.since(&before);
        assert_eq!((frame.dtoh_calls, frame.syncs, frame.correlation), (3, 0, 90));
    }
}
