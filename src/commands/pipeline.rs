//! `d2h pipeline run`: run the reference pipeline on a synthetic video (or an
//! image), print latency, transfers per frame by rule and memory, and write
//! the runtime report in the shared schema.
//!
//! `--frames` and `--size` are checked before anything is built or allocated,
//! and `--dtype` against the device ([`ArgError`], exit 2, naming the flag and
//! the value). The model sizes are a preset (`--preset small|real`; the
//! default depends on the device and is printed, never chosen silently), and
//! the summary and the JSON report's `pipeline` section name it, with the
//! dtype and the work per frame in GFLOPs counted from the model sizes. The frame source
//! records its setup uploads in the pipeline's gate, so they are in the
//! report. With `--log-detailed` the text output ends with a summary of the
//! per-frame log the pipeline keeps (its last frames and a running aggregate).

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use d2h_pipeline::detector::{BackboneKind, DetectorConfig};
use d2h_pipeline::predictor::{EncoderKind, PredictorConfig};
use d2h_pipeline::report::{pipeline_info, runtime_report};
use d2h_pipeline::{
    DType, DeviceKind, FrameSource, GraphMode, Mode, Pipeline, PipelineConfig, PipelineError, Preset, RunOptions,
    RunOutcome, StillImage, SyntheticVideo, WeightSource,
};
use d2h_reports::{RenderOptions, Report, SourceCache, Timeline};
use d2h_rules::{RuleId, Severity};

use crate::args::{FormatArg, SeverityArg};
use crate::output::{self, use_color, write_report};

#[derive(Debug, Args)]
pub struct PipelineArgs {
    #[command(subcommand)]
    pub command: PipelineCommand,
}

#[derive(Debug, Subcommand)]
pub enum PipelineCommand {
    /// Run the pipeline, measure it and report its device-to-host transfers.
    Run(RunArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DeviceArg {
    Cpu,
    Cuda,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    Resident,
    Legacy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphArg {
    On,
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PresetArg {
    Small,
    Real,
}

impl From<PresetArg> for Preset {
    fn from(p: PresetArg) -> Preset {
        match p {
            PresetArg::Small => Preset::Small,
            PresetArg::Real => Preset::Real,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DtypeArg {
    F32,
    Bf16,
    F16,
}

impl From<DtypeArg> for DType {
    fn from(d: DtypeArg) -> DType {
        match d {
            DtypeArg::F32 => DType::F32,
            DtypeArg::Bf16 => DType::BF16,
            DtypeArg::F16 => DType::F16,
        }
    }
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Device to run on (`cuda` needs a build with the `cuda` feature).
    #[arg(long, value_enum, default_value_t = DeviceArg::Cpu)]
    pub device: DeviceArg,
    /// Frames to process (1 to 1000000).
    #[arg(long, default_value_t = 50)]
    pub frames: usize,
    /// Frame side in pixels (a multiple of 16, from 16 to 4096).
    #[arg(long, default_value_t = 640)]
    pub size: usize,
    /// Model sizes. `small`: compact models for CPU runs, tests and CI (a
    /// 4-convolution backbone, 2 decoder layers of width 64, 32 queries; a
    /// small CNN image encoder at the frame's size). `real`: a DETR-family
    /// detector (ResNet-18, 6 encoder and 6 decoder layers of width 256, 300
    /// queries) and MobileSAM's predictor (TinyViT-5M at 1024 × 1024, SAM's
    /// prompt encoder and mask decoder). Default: real with --device cuda,
    /// small with --device cpu. The summary and the report name the preset.
    #[arg(long, value_enum)]
    pub preset: Option<PresetArg>,
    /// The models' weights and activations. bf16 and f16 run on CUDA; on
    /// the CPU device f16 runs (slowly) and bf16 is refused (candle 0.11.1
    /// has no CPU bf16 convolution). The postprocess and tracker stay f32.
    #[arg(long, value_enum, default_value_t = DtypeArg::F32)]
    pub dtype: DtypeArg,
    /// `resident` keeps the frame path on the device; `legacy` reproduces the
    /// seed's pre-migration host copies.
    #[arg(long, value_enum, default_value_t = ModeArg::Resident)]
    pub mode: ModeArg,
    /// Capture the resident frame into a CUDA graph once and replay it every
    /// frame (`on`), or launch every kernel every frame (`off`). Default: on
    /// for a resident run on CUDA, off otherwise. On the CPU, `on` runs each
    /// frame eagerly under the capture guard (a transfer on the frame path is
    /// then an error naming its line).
    #[arg(long, value_enum)]
    pub graph: Option<GraphArg>,
    /// A safetensors file with weights for the preset's models: the
    /// predictor under candle-transformers' MobileSAM names (a MobileSAM
    /// checkpoint fits `--preset real`), the detector under `detector.*`;
    /// modules absent from the file are seeded. Without it, all weights are
    /// seeded random.
    #[arg(long, value_name = "FILE")]
    pub weights: Option<PathBuf>,
    /// Seed of the random weights and of the synthetic video.
    #[arg(long, default_value_t = d2h_pipeline::weights::DEFAULT_SEED)]
    pub seed: u64,
    /// Use this image (binary PPM/PGM) as every frame instead of the synthetic video.
    #[arg(long, value_name = "FILE")]
    pub image: Option<PathBuf>,
    /// Detailed logging: per-frame latency and detection counts read from the device.
    #[arg(long)]
    pub log_detailed: bool,
    /// Count each frame's device-to-host copies, syncs and kernel time at the
    /// CUDA driver (CUPTI) and hold them against the gate's records (needs
    /// `--device cuda`); adds a `driver` section to the report.
    #[arg(long)]
    pub driver_counts: bool,
    /// Report format.
    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    pub format: FormatArg,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Fail (exit 1) when a finding of this severity or worse exists.
    #[arg(long, value_enum)]
    pub fail_on: Option<SeverityArg>,
    /// Never colour the output (NO_COLOR is honoured too).
    #[arg(long)]
    pub no_color: bool,
}

/// A command-line value out of the range the pipeline accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgError {
    /// The flag, `--frames`.
    pub flag: &'static str,
    /// The value as given.
    pub value: String,
    /// What is accepted.
    pub expected: String,
}

impl fmt::Display for ArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid value {} for {}: expected {}",
            self.value, self.flag, self.expected
        )
    }
}

impl std::error::Error for ArgError {}

/// Checks `--frames` and `--size` before anything is built.
fn check_args(args: &RunArgs) -> Result<(), ArgError> {
    if !(1..=d2h_pipeline::MAX_FRAMES).contains(&args.frames) {
        return Err(ArgError {
            flag: "--frames",
            value: args.frames.to_string(),
            expected: format!("a frame count from 1 to {}", d2h_pipeline::MAX_FRAMES),
        });
    }
    if d2h_pipeline::check_size(args.size).is_err() {
        return Err(ArgError {
            flag: "--size",
            value: args.size.to_string(),
            expected: format!("a multiple of 16 from 16 to {}", d2h_pipeline::MAX_SIZE),
        });
    }
    Ok(())
}

/// A range error of the library, named by the flag that set the value.
fn flag_error(err: PipelineError) -> anyhow::Error {
    match err {
        PipelineError::OutOfRange { name, value, expected } => {
            let flag = match name {
                "frames" => "--frames",
                "frame size" | "video size" | "image frame size" => "--size",
                other => other,
            };
            anyhow::Error::new(ArgError {
                flag,
                value: value.to_string(),
                expected,
            })
        }
        other => anyhow::Error::new(other),
    }
}

pub fn run(args: PipelineArgs) -> Result<ExitCode> {
    match args.command {
        PipelineCommand::Run(args) => run_pipeline(args),
    }
}

/// The workspace root the report's paths are relative to (for code frames).
fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.canonicalize().unwrap_or_else(|_| manifest.to_path_buf())
}

/// The preset of a run: `--preset`, else the device's default.
fn preset(args: &RunArgs) -> Preset {
    match (args.preset, args.device) {
        (Some(p), _) => p.into(),
        (None, DeviceArg::Cuda) => Preset::Real,
        (None, DeviceArg::Cpu) => Preset::Small,
    }
}

fn config(args: &RunArgs) -> PipelineConfig {
    let mut cfg = PipelineConfig::preset(preset(args), args.size);
    cfg.dtype = args.dtype.into();
    cfg.mode = match args.mode {
        ModeArg::Resident => Mode::Resident,
        ModeArg::Legacy => Mode::Legacy,
    };
    cfg.graph = match (args.graph, args.device, args.mode) {
        (Some(GraphArg::On), ..) => GraphMode::On,
        (Some(GraphArg::Off), ..) => GraphMode::Off,
        (None, DeviceArg::Cuda, ModeArg::Resident) => GraphMode::On,
        (None, ..) => GraphMode::Off,
    };
    cfg.log_detailed = args.log_detailed;
    cfg.weights = match &args.weights {
        Some(path) => WeightSource::File(path.clone()),
        None => WeightSource::Seeded(args.seed),
    };
    cfg
}

fn run_pipeline(args: RunArgs) -> Result<ExitCode> {
    check_args(&args)?;
    // The memory figures: host allocations are counted from here on (`main` turns counting off).
    d2h_pipeline::alloc::set_counting(true);
    let device = match args.device {
        DeviceArg::Cpu => DeviceKind::Cpu,
        DeviceArg::Cuda => DeviceKind::Cuda,
    }
    .open()
    .map_err(|err| match err {
        PipelineError::CudaNotBuilt => {
            anyhow::anyhow!("--device cuda: this d2h was built without CUDA support (rebuild with `--features cuda`)")
        }
        other => anyhow::Error::new(other).context("cannot open the device"),
    })?;
    let cfg = config(&args);
    if let Err(reason) = d2h_pipeline::config::check_dtype(cfg.dtype, &device) {
        return Err(ArgError {
            flag: "--dtype",
            value: cfg.dtype.as_str().to_string(),
            expected: format!("a dtype the {} device runs: {reason}", device_arg_name(args.device)),
        }
        .into());
    }
    let small_preset = cfg.preset_of() == Some(Preset::Small);
    let mut pipeline = Pipeline::new(cfg, &device)
        .map_err(|err| match err {
            PipelineError::Weights { .. } if small_preset => anyhow::Error::new(err).context(
                "the weights do not fit the small preset's models (a MobileSAM checkpoint needs --preset real)",
            ),
            other => flag_error(other),
        })
        .context("cannot build the pipeline")?;
    // The source's uploads (a video's background and colours, an image) are
    // recorded in the pipeline's gate, in its setup phase: they are in the report.
    let gate = pipeline.gate().clone();
    let mut source: Box<dyn FrameSource> = match &args.image {
        Some(path) => Box::new(StillImage::open_with_gate(path, args.size, &device, &gate).map_err(flag_error)?),
        None => Box::new(SyntheticVideo::with_gate(args.size, 6, args.seed, &device, &gate).map_err(flag_error)?),
    };
    if args.driver_counts && args.device != DeviceArg::Cuda {
        anyhow::bail!("--driver-counts counts at the CUDA driver: it needs --device cuda");
    }
    let options = RunOptions {
        driver_counts: args.driver_counts,
        ..RunOptions::frames(args.frames)
    };
    let outcome = d2h_pipeline::run(&mut pipeline, source.as_mut(), options).map_err(flag_error)?;

    let root = workspace_root();
    let memory = outcome.memory(device.is_cpu());
    let mut report = runtime_report(
        &pipeline.gate().records(),
        pipeline.frames(),
        &root.display().to_string(),
        memory,
        Some(outcome.latency()),
    );
    report.pipeline = Some(pipeline_info(pipeline.config()));
    report.driver = d2h_pipeline::driver::driver_stats(&outcome);
    report.timeline = Some(timeline(&outcome));
    let sources = source_cache(&report, &root);
    let to_file = args.output.is_some();
    let options = RenderOptions {
        color: use_color(args.no_color, to_file),
    };
    write_report(&report, args.format.into(), options, &sources, args.output.as_deref())?;
    if args.format == FormatArg::Text && !to_file {
        let preset_note = match args.preset {
            Some(_) => "--preset".to_string(),
            None => format!("the default on {}", device_arg_name(args.device)),
        };
        output::write_to(None, |out| {
            print_summary(out, &pipeline, &report, &outcome)?;
            print_models(out, pipeline.config(), &preset_note, &report)
        })?;
    }
    for warning in pipeline.gate().warnings() {
        eprintln!("d2h: warning: {warning} ({} fallbacks)", pipeline.gate().fallbacks());
    }
    if !outcome.alloc_installed {
        eprintln!("d2h: note: the counting allocator is not installed; no memory figures");
    }
    if let Some(threshold) = args.fail_on.map(Severity::from) {
        let count: usize = Severity::DESCENDING
            .iter()
            .filter(|s| **s >= threshold)
            .map(|s| report.summary.count(*s))
            .sum();
        if count > 0 {
            eprintln!("d2h: gate failed: {count} finding(s) of severity {threshold} or worse (--fail-on {threshold})");
            return Ok(ExitCode::from(1));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The run frame by frame (the HTML report plots it). Device memory is the
/// driver's figure where every frame has one (CUDA), else the live host bytes
/// where the counting allocator ran (the CPU device's tensors are host
/// buffers), else not measured.
fn timeline(outcome: &RunOutcome) -> Timeline {
    let samples = &outcome.samples;
    let device_bytes = if !samples.is_empty() && samples.iter().all(|s| s.device_used_bytes.is_some()) {
        samples.iter().filter_map(|s| s.device_used_bytes).collect()
    } else if outcome.alloc_installed {
        samples
            .iter()
            .map(|s| u64::try_from(s.live_bytes).unwrap_or(0))
            .collect()
    } else {
        Vec::new()
    };
    Timeline {
        warmup: outcome.warmup as u64,
        latency_ms: samples.iter().map(|s| s.latency_ms).collect(),
        device_bytes,
        reads: samples.iter().map(|s| s.gate_reads).collect(),
    }
}

fn source_cache(report: &Report, root: &Path) -> SourceCache {
    let mut cache = SourceCache::new();
    for finding in &report.findings {
        if cache.contains(&finding.file) {
            continue;
        }
        if let Ok(text) = std::fs::read_to_string(root.join(&finding.file)) {
            cache.insert(finding.file.clone(), Arc::from(text));
        }
    }
    cache
}

fn human_bytes(bytes: f64) -> String {
    let units = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes;
    let mut unit = 0;
    while value.abs() >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{value:.0} {}", units[unit])
    } else {
        format!("{value:.1} {}", units[unit])
    }
}

/// How many of the logged frames the text output lists one by one.
const LOGGED_FRAMES_SHOWN: usize = 5;

/// The detailed log, read from the pipeline: the aggregate of every logged
/// frame and the last few entries.
fn print_detailed_log(out: &mut dyn Write, pipeline: &Pipeline) -> std::io::Result<()> {
    let summary = pipeline.log_summary();
    if summary.frames == 0 {
        return writeln!(out, "detailed log: no frames logged");
    }
    writeln!(
        out,
        "detailed log: {} frames, {:.2} valid detections per frame ({} to {}), device-synced latency mean {:.2} ms, min {:.2} ms, max {:.2} ms",
        summary.frames,
        summary.mean_detections(),
        summary.detections_min,
        summary.detections_max,
        summary.mean_latency_ms(),
        summary.latency_min_ms,
        summary.latency_max_ms
    )?;
    let recent = pipeline.recent_logs();
    let skip = recent.len().saturating_sub(LOGGED_FRAMES_SHOWN);
    for log in recent.skip(skip) {
        writeln!(
            out,
            "  frame {:>4}: {} detections, {:.2} ms",
            log.frame, log.detections, log.latency_ms
        )?;
    }
    Ok(())
}

/// The driver's view of the frames, next to the gate's.
fn print_driver(out: &mut dyn Write, d: &d2h_reports::DriverStats) -> std::io::Result<()> {
    writeln!(
        out,
        "driver (CUPTI, {} frames): {:.2} device-to-host calls and {:.2} executed copies per frame ({}), gate reads {:.2} per frame: {}",
        d.frames,
        d.dtoh_calls_per_frame,
        d.dtoh_copies_per_frame,
        human_bytes(d.dtoh_bytes_per_frame),
        d.gate_reads_per_frame,
        if d.agrees_with_gate { "equal in every frame" } else { "DIFFERENT" }
    )?;
    writeln!(
        out,
        "  per frame: {:.2} host-blocking syncs, {:.2} host-to-device copies ({}), {:.2} copies of unknown direction, {:.0} kernels ({:.2} ms GPU time, {:.0}% of the frame)",
        d.syncs_per_frame,
        d.htod_copies_per_frame,
        human_bytes(d.htod_bytes_per_frame),
        d.unclassified_copies_per_frame,
        d.kernels_per_frame,
        d.kernel_ms_per_frame,
        d.busy_fraction * 100.0
    )?;
    writeln!(
        out,
        "  after the warm-up: {:.2} host-to-device copies per frame ({})",
        d.htod_copies_after_warmup_per_frame,
        human_bytes(d.htod_bytes_after_warmup_per_frame)
    )?;
    if !d.top_kernels.is_empty() {
        writeln!(out, "  kernels with the most GPU time after the warm-up (per frame):")?;
        for k in &d.top_kernels {
            writeln!(
                out,
                "    {:>8.3} ms {:>5.1}% {:>8.1} launches  {}",
                k.ms_per_frame,
                k.share * 100.0,
                k.launches_per_frame,
                short_kernel_name(&k.name)
            )?;
        }
    }
    Ok(())
}

/// A kernel name cut to one line of a terminal: C++ names mangled by the
/// compiler run to hundreds of characters.
fn short_kernel_name(name: &str) -> String {
    const MAX: usize = 96;
    if name.chars().count() <= MAX {
        name.to_string()
    } else {
        let cut: String = name.chars().take(MAX - 1).collect();
        format!("{cut}…")
    }
}

fn device_arg_name(device: DeviceArg) -> &'static str {
    match device {
        DeviceArg::Cpu => "cpu",
        DeviceArg::Cuda => "cuda",
    }
}

/// The detector's sizes, in words.
fn describe_detector(d: &DetectorConfig) -> String {
    let backbone = match d.backbone {
        BackboneKind::Compact { width } => format!("compact CNN (width {width})"),
        BackboneKind::ResNet(depth) => depth.as_str().to_string(),
    };
    format!(
        "{backbone}, {} encoder + {} decoder layers of width {}, {} queries, {} classes, top {}",
        d.encoder_layers, d.decoder_layers, d.d_model, d.queries, d.classes, d.top_k
    )
}

/// The predictor's sizes, in words, for `size × size` frames.
fn describe_predictor(p: &PredictorConfig, size: usize) -> String {
    let input = p.input_size(size);
    match p.encoder {
        EncoderKind::TinyVit5m => format!("MobileSAM: TinyViT-5M at {input}x{input}, SAM prompt encoder and mask decoder"),
        EncoderKind::Compact(w) => format!(
            "compact CNN encoder (widths {}, {}, {}) at {input}x{input}, SAM prompt encoder and mask decoder of width {}",
            w[0], w[1], w[2], p.embed_dim
        ),
    }
}

/// Which models ran, in which dtype, and their work per frame beside the latency.
fn print_models(out: &mut dyn Write, cfg: &PipelineConfig, preset_note: &str, report: &Report) -> std::io::Result<()> {
    let preset = match cfg.preset_of() {
        Some(p) => format!("{p} preset ({preset_note})"),
        None => "custom sizes".to_string(),
    };
    writeln!(out, "models: {preset}, {}", cfg.dtype.as_str())?;
    writeln!(out, "  detector: {}", describe_detector(&cfg.detector))?;
    writeln!(out, "  predictor: {}", describe_predictor(&cfg.predictor, cfg.size))?;
    let flops = cfg.flops();
    let rate = match &report.latency {
        Some(l) if l.p50_ms > 0.0 => format!(
            "; {:.1} GFLOP/s at the p50 latency of {:.2} ms",
            flops.total().gflops() / (l.p50_ms / 1e3),
            l.p50_ms
        ),
        _ => String::new(),
    };
    writeln!(
        out,
        "work: {:.2} GFLOPs per frame (detector {:.2}, predictor {:.2}; convolutions, linear layers and attention, from the model sizes){rate}",
        flops.total().gflops(),
        flops.detector.gflops(),
        flops.predictor.gflops()
    )
}

/// What the text report does not show: the run itself and the frame-phase
/// transfers per frame by rule (latency and memory are in the report).
fn print_summary(
    out: &mut dyn Write,
    pipeline: &Pipeline,
    report: &Report,
    outcome: &RunOutcome,
) -> std::io::Result<()> {
    let cfg = pipeline.config();
    let mut per_rule: BTreeMap<RuleId, (f64, u64)> = BTreeMap::new();
    for finding in &report.findings {
        if let Some(stats) = finding.runtime.as_ref().filter(|s| s.phase == "frame") {
            let entry = per_rule.entry(finding.rule).or_default();
            entry.0 += stats.per_frame;
            entry.1 += stats.bytes;
        }
    }
    let frames = pipeline.frames().max(1) as f64;
    writeln!(out)?;
    writeln!(
        out,
        "pipeline: {} mode, {} frames of {}x{} on {}, {} tracks started",
        cfg.mode,
        pipeline.frames(),
        cfg.size,
        cfg.size,
        if pipeline.device().is_cpu() { "cpu" } else { "cuda" },
        outcome.teardown.tracks_started
    )?;
    if let Some(g) = pipeline.graph_stats() {
        let kind = g.kind.map_or("no", |k| k.as_str());
        writeln!(
            out,
            "graph: on ({kind} capture): {} warm-up frames, {} captured, {} graph launches",
            g.warmup_frames, g.captured_frames, g.launches
        )?;
    }
    if per_rule.is_empty() {
        writeln!(out, "transfers per frame: none")?;
    } else {
        writeln!(out, "transfers per frame:")?;
        for (rule, (per_frame, bytes)) in &per_rule {
            writeln!(
                out,
                "  {} {:<14} {:>6.2} per frame, {} per frame",
                rule.code(),
                rule.name(),
                per_frame,
                human_bytes(*bytes as f64 / frames)
            )?;
        }
    }
    writeln!(
        out,
        "findings: {} critical, {} medium, {} low",
        report.summary.critical, report.summary.medium, report.summary.low
    )?;
    if outcome.gpu_timed {
        let mut host: Vec<f64> = outcome.samples.iter().skip(outcome.warmup).map(|s| s.host_ms).collect();
        host.sort_by(f64::total_cmp);
        writeln!(
            out,
            "latency: GPU time between CUDA events around each frame; the host queued a frame in {:.2} ms (p50)",
            host.get(host.len() / 2).copied().unwrap_or(0.0)
        )?;
    }
    if let Some(driver) = &report.driver {
        print_driver(out, driver)?;
    }
    if cfg.log_detailed {
        print_detailed_log(out, pipeline)?;
    }
    Ok(())
}
