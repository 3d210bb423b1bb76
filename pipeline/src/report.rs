//! Builds the runtime [`Report`] (`"origin": "runtime"`) from the gate's
//! records, with the same rule ids and severity scale as the static auditor.
//!
//! Severity follows the static policy, for reads and uploads (D2H007) alike:
//! a transfer in the frame phase with no logging guard is critical; one under
//! the detailed-logging guard is low; an emergency fallback is low (and warned
//! about by the CLI); setup and teardown transfers are low. One finding per site, phase and context, carrying
//! its count, bytes and count per frame. `files_scanned` is the number of
//! distinct source files with a recorded transfer.

use std::collections::BTreeSet;

use d2h_reports::{Finding, Fingerprinter, LatencyStats, MemoryStats, Origin, PipelineInfo, Report, RuntimeStats};
use d2h_rules::{Confidence, Severity};

use crate::config::PipelineConfig;
use crate::phase::Phase;
use crate::transfer::{Context, TransferRecord};

/// The severity of a record, and why.
pub fn severity(record: &TransferRecord) -> (Severity, &'static str) {
    match (record.context, record.phase) {
        (Context::Fallback, _) => (Severity::Low, "fallback path"),
        (_, Phase::Setup) => (Severity::Low, "setup phase"),
        (_, Phase::Teardown) => (Severity::Low, "teardown phase"),
        (Context::Logging, Phase::Frame) => (Severity::Low, "guarded by detailed logging"),
        (Context::Plain, Phase::Frame) => (Severity::Critical, "frame phase, unguarded"),
    }
}

/// The runtime report of `frames` frames.
pub fn runtime_report(
    records: &[TransferRecord],
    frames: u64,
    root: &str,
    memory: Option<MemoryStats>,
    latency: Option<LatencyStats>,
) -> Report {
    let mut sorted: Vec<&TransferRecord> = records.iter().collect();
    sorted.sort_by_key(|r| (r.site.path(), r.site.line, r.site.column, r.rule, r.phase, r.context));
    let mut fingerprints = Fingerprinter::new();
    let findings: Vec<Finding> = sorted
        .into_iter()
        .map(|record| {
            let file = record.site.path();
            let (severity, reason) = severity(record);
            let per_frame = if record.phase == Phase::Frame && frames > 0 {
                record.count as f64 / frames as f64
            } else {
                0.0
            };
            Finding {
                rule: record.rule,
                name: record.rule.name().to_string(),
                severity,
                // It did happen.
                confidence: Confidence::Certain,
                fingerprint: fingerprints.next(record.rule, &file, &record.symbol, &record.code),
                file,
                line: record.site.line,
                column: record.site.column,
                end_line: record.site.line,
                end_column: record.site.column,
                symbol: record.symbol.clone(),
                code: record.code.clone(),
                reason: reason.to_string(),
                via: None,
                runtime: Some(RuntimeStats {
                    count: record.count,
                    bytes: record.bytes,
                    per_frame,
                    phase: record.phase.as_str().to_string(),
                    guarded: record.context == Context::Logging,
                }),
            }
        })
        .collect();
    let files: BTreeSet<&str> = findings.iter().map(|f| f.file.as_str()).collect();
    let files_scanned = files.len();
    let mut report = Report::new(Origin::Runtime, root, findings, Vec::new(), files_scanned);
    report.memory = memory;
    report.latency = latency;
    report
}

/// The report's `pipeline` section for `cfg`: its preset (or `custom`), its
/// dtype and its work per frame ([`PipelineConfig::flops`]).
pub fn pipeline_info(cfg: &PipelineConfig) -> PipelineInfo {
    let flops = cfg.flops();
    PipelineInfo {
        preset: cfg.preset_of().map_or("custom", |p| p.as_str()).to_string(),
        dtype: cfg.dtype.as_str().to_string(),
        size: cfg.size as u64,
        gflops_per_frame: flops.total().gflops(),
        detector_gflops: flops.detector.gflops(),
        predictor_gflops: flops.predictor.gflops(),
    }
}
