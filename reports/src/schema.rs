//! The `d2h-report/1` schema, documented in `docs/report-schema.md`.

use d2h_rules::{Confidence, RuleId, Severity};
use serde::{Deserialize, Serialize};

/// The schema identifier written in every report.
pub const SCHEMA: &str = "d2h-report/1";

/// Where a report's findings come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// The static auditor: sites where a transfer can happen.
    Static,
    /// The runtime hooks: transfers that did happen, with counts.
    Runtime,
}

/// The program that wrote the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

impl Tool {
    /// This build of d2h.
    pub fn d2h() -> Tool {
        Tool {
            name: "d2h".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
}

/// Counts over the whole report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub total: usize,
    pub critical: usize,
    pub medium: usize,
    pub low: usize,
    pub files_scanned: usize,
    pub files_with_errors: usize,
    /// Findings suppressed in the source (listed under `suppressed`, not
    /// counted above and not gated); absent when there are none.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub suppressed: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Summary {
    pub fn count(&self, severity: Severity) -> usize {
        match severity {
            Severity::Critical => self.critical,
            Severity::Medium => self.medium,
            Severity::Low => self.low,
        }
    }
}

/// Runtime figures of one site (runtime reports only).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RuntimeStats {
    /// How many times the site transferred.
    pub count: u64,
    /// Bytes moved in total.
    pub bytes: u64,
    /// Average count per frame over the frame phase (0 outside it).
    pub per_frame: f64,
    /// `setup`, `frame` or `teardown`.
    pub phase: String,
    /// Whether a logging guard was on when the transfer happened.
    pub guarded: bool,
}

/// One site: a rule, a place, a severity and the reason for that severity,
/// and how sure d2h is that the site transfers at all.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub rule: RuleId,
    /// The rule's name, for readers of the JSON.
    pub name: String,
    /// How often the site runs on the work path (never lowered by doubt).
    pub severity: Severity,
    /// How sure d2h is that the site transfers (`certain` when absent, as in
    /// reports written before the field, and in runtime reports).
    #[serde(default = "certain")]
    pub confidence: Confidence,
    /// Relative to the report's root, `/`-separated.
    pub file: String,
    /// 1-based.
    pub line: u32,
    /// 1-based, in characters.
    pub column: u32,
    pub end_line: u32,
    pub end_column: u32,
    /// The enclosing function (`Class.method`), or `<module>`.
    pub symbol: String,
    /// The source of the site, on one line.
    pub code: String,
    /// Why this severity, in words.
    pub reason: String,
    /// Stable across edits that move the site; see [`crate::fingerprint`].
    pub fingerprint: String,
    /// Where the work path enters the chain of calls that reaches the site
    /// (static reports only): the call in a frame loop or a hot root. Absent
    /// when the site is not critical through such a chain, and in reports
    /// written before the field. Not part of the fingerprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<Via>,
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<RuntimeStats>,
}

/// The call where a hot path enters the chain that leads to a site: the call
/// a frame loop or a hot root makes, whose callee reaches the site's function.
/// One finding still counts its site once; `via` only says how the work path
/// gets there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Via {
    /// The file of the call, relative to the report's root like [`Finding::file`].
    pub file: String,
    /// 1-based line of the call.
    pub line: u32,
    /// 1-based column of the call, in characters.
    pub column: u32,
    /// The qualified name of the function the call enters (`postprocess`, `Tracker.update`).
    pub calls: String,
}

fn certain() -> Confidence {
    Confidence::Certain
}

/// How a finding was suppressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SuppressionKind {
    /// A `d2h: ignore[...]`, `d2h: ignore-file[...]` or `noqa` comment in the source.
    InSource,
}

/// The suppression that covers a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppression {
    pub kind: SuppressionKind,
    /// The comment's reason (the free text after its codes); absent when it gives none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
    /// 1-based line of the suppression comment.
    pub line: u32,
}

/// A finding that a suppression covers: still a site with its real severity,
/// kept in static reports so readers (and `d2h compare`) see it, but neither
/// counted in the summary's severities nor gated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuppressedFinding {
    #[serde(flatten)]
    pub finding: Finding,
    pub suppression: Suppression,
}

/// A file that could not be audited, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileError {
    pub file: String,
    pub message: String,
}

/// Host and device memory over the frames of a run (runtime reports only).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MemoryStats {
    pub host_allocations_per_frame: f64,
    pub host_bytes_per_frame: f64,
    pub large_host_buffers_in_frames: u64,
    pub device_peak_bytes: u64,
    pub device_growth_bytes: i64,
}

/// Per-frame latency percentiles in milliseconds (runtime reports only).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencyStats {
    pub frames: u64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub mean_ms: f64,
}

/// What ran (runtime reports of `d2h pipeline run` only): the models'
/// preset and dtype, and their work per frame counted analytically from their
/// sizes, next to `latency`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PipelineInfo {
    /// `small`, `real`, or `custom` (sizes of no preset).
    pub preset: String,
    /// The models' weights and activations: `f32`, `bf16` or `f16`.
    pub dtype: String,
    /// Frames are `size × size`.
    pub size: u64,
    /// GFLOPs (10⁹, a multiply–add counted as 2) per frame: convolutions,
    /// linear layers and attention products of the detector and predictor.
    pub gflops_per_frame: f64,
    pub detector_gflops: f64,
    pub predictor_gflops: f64,
}

/// What the CUDA driver saw during the frames of a GPU run (runtime reports
/// of `d2h pipeline run --device cuda --driver-counts` only), next to what the
/// transfer gate recorded. Counts are per frame, over every frame of the run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DriverStats {
    /// Frames counted.
    pub frames: u64,
    /// Device-to-host reads the gate recorded (D2H001 and D2H002 sites, frame phase).
    pub gate_reads_per_frame: f64,
    /// `cuMemcpyDtoH*` calls the driver saw (CUPTI callback API).
    pub dtoh_calls_per_frame: f64,
    /// Device-to-host copies the device executed (CUPTI activity records).
    pub dtoh_copies_per_frame: f64,
    pub dtoh_bytes_per_frame: f64,
    /// Host-to-device copies the device executed (including candle's own
    /// uploads of layouts, which the gate does not see).
    pub htod_copies_per_frame: f64,
    pub htod_bytes_per_frame: f64,
    /// Copies whose direction the API name does not tell (`cuMemcpyAsync`, ...).
    pub unclassified_copies_per_frame: f64,
    /// Host-blocking synchronisations (`cu*Synchronize`, `cuda*Synchronize`).
    pub syncs_per_frame: f64,
    /// Kernels executed per frame, and their summed GPU time.
    pub kernels_per_frame: f64,
    pub kernel_ms_per_frame: f64,
    /// Summed kernel time over the frames' latency (after the warm-up).
    pub busy_fraction: f64,
    /// Whether the driver's device-to-host calls and executed copies both
    /// equal the gate's reads, frame by frame.
    pub agrees_with_gate: bool,
    /// Host-to-device copies the device executed per frame after the
    /// warm-up (the warm-up frames upload layouts into candle's caches).
    #[serde(default)]
    pub htod_copies_after_warmup_per_frame: f64,
    #[serde(default)]
    pub htod_bytes_after_warmup_per_frame: f64,
    /// The kernel functions with the most GPU time after the warm-up,
    /// longest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub top_kernels: Vec<KernelShare>,
}

/// One kernel function's GPU time per frame (after the warm-up).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KernelShare {
    /// The function's name as CUPTI reports it (mangled for C++ kernels).
    pub name: String,
    pub launches_per_frame: f64,
    pub ms_per_frame: f64,
    /// Its part of all kernel time after the warm-up, in 0..=1.
    pub share: f64,
}

/// Per-frame figures of a run, frame by frame in run order, warm-up included
/// (runtime reports of `d2h pipeline run` only): what the HTML report plots
/// over time. Every list has one entry per frame, except `device_bytes`, which
/// is empty when device memory was not measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    /// The first frames, excluded from `latency` and from the memory baseline.
    pub warmup: u64,
    /// Each frame's latency in milliseconds, on the clock of `latency`.
    pub latency_ms: Vec<f64>,
    /// Device memory in use after each frame, in bytes: the driver's figure on
    /// CUDA, the live host bytes on the CPU device (whose tensors are host buffers).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub device_bytes: Vec<u64>,
    /// Device-to-host reads (D2H001 and D2H002 sites) the gate recorded in each frame.
    pub reads: Vec<u64>,
}

/// A whole report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema: String,
    pub origin: Origin,
    pub tool: Tool,
    /// The audited root (static) or the program's crate root (runtime).
    pub root: String,
    pub summary: Summary,
    pub findings: Vec<Finding>,
    pub errors: Vec<FileError>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<MemoryStats>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<LatencyStats>,
    /// The models that ran and their work per frame (`d2h pipeline run` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<PipelineInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<DriverStats>,
    /// Frame-by-frame figures of the run (`d2h pipeline run` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeline: Option<Timeline>,
    /// What a baseline hid (static reports audited with `--baseline` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineInfo>,
    /// Findings covered by a suppression in the source, sorted like
    /// `findings` (static reports only; absent when there are none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suppressed: Vec<SuppressedFinding>,
}

/// A finding as a baseline file records it: its fingerprint, and the rule,
/// file, symbol and code for the humans who read the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineEntry {
    pub fingerprint: String,
    pub rule: RuleId,
    pub file: String,
    pub symbol: String,
    pub code: String,
}

/// What `--baseline` did to a report: the findings it hid, and the entries
/// of the baseline whose finding is gone (fixed) from the audited files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineInfo {
    /// The baseline file, as given.
    pub file: String,
    /// Findings of the audit that the baseline lists (not reported, not gated).
    pub suppressed: usize,
    /// Baseline entries with no finding any more, in baseline order.
    pub fixed: Vec<BaselineEntry>,
}

impl Report {
    /// Builds a report: sorts findings (file, line, column, rule) and errors
    /// (file), and computes the summary so it can never disagree with them.
    pub fn new(
        origin: Origin,
        root: impl Into<String>,
        mut findings: Vec<Finding>,
        mut errors: Vec<FileError>,
        files_scanned: usize,
    ) -> Report {
        findings.sort_by(finding_order);
        errors.sort_by(|a, b| (&a.file, &a.message).cmp(&(&b.file, &b.message)));
        let mut files_with_errors: Vec<&str> = errors.iter().map(|e| e.file.as_str()).collect();
        files_with_errors.dedup();
        let summary = Summary {
            total: findings.len(),
            critical: findings.iter().filter(|f| f.severity == Severity::Critical).count(),
            medium: findings.iter().filter(|f| f.severity == Severity::Medium).count(),
            low: findings.iter().filter(|f| f.severity == Severity::Low).count(),
            files_scanned,
            files_with_errors: files_with_errors.len(),
            suppressed: 0,
        };
        Report {
            schema: SCHEMA.to_string(),
            origin,
            tool: Tool::d2h(),
            root: root.into(),
            summary,
            findings,
            errors,
            memory: None,
            latency: None,
            pipeline: None,
            driver: None,
            timeline: None,
            baseline: None,
            suppressed: Vec::new(),
        }
    }

    /// The report with `suppressed` as its suppressed findings (sorted like
    /// `findings`), counted in `summary.suppressed`.
    pub fn with_suppressed(mut self, mut suppressed: Vec<SuppressedFinding>) -> Report {
        suppressed.sort_by(|a, b| finding_order(&a.finding, &b.finding));
        self.summary.suppressed = suppressed.len();
        self.suppressed = suppressed;
        self
    }

    /// Every site of the report, suppressed or not, with its suppression.
    pub fn all_sites(&self) -> impl Iterator<Item = (&Finding, Option<&Suppression>)> {
        self.findings
            .iter()
            .map(|f| (f, None))
            .chain(self.suppressed.iter().map(|s| (&s.finding, Some(&s.suppression))))
    }
}

/// Findings in report order: file, line, column, rule, then the end.
fn finding_order(a: &Finding, b: &Finding) -> std::cmp::Ordering {
    (&a.file, a.line, a.column, a.rule, a.end_line, a.end_column).cmp(&(
        &b.file,
        b.line,
        b.column,
        b.rule,
        b.end_line,
        b.end_column,
    ))
}
