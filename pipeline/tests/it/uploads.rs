//! Host-to-device uploads go through the transfer gate as D2H007: resident
//! frames upload nothing, legacy frames upload their host results back at the
//! marked sites, and setup uploads (weights, constants, a source's image) are
//! low.

use candle_core::Device;
use d2h_pipeline::report::runtime_report;
use d2h_pipeline::transfer::{Context, Gate};
use d2h_pipeline::{FrameSource, Mode, Phase, Pipeline, PipelineConfig, StillImage, SyntheticVideo, WeightSource};
use d2h_reports::{Finding, Report};
use d2h_rules::{RuleId, Severity};

use crate::common::{marker_line, tiny, video};

/// The finding of `report` at the `// d2h-site: <marker>` line of `pipeline/<file>`.
fn at<'r>(report: &'r Report, file: &str, marker: &str) -> &'r Finding {
    let path = format!("pipeline/{file}");
    let line = marker_line(file, marker);
    let hits: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.file == path && f.line == line)
        .collect();
    assert_eq!(hits.len(), 1, "findings at {path}:{line} ({marker}): {hits:#?}");
    hits[0]
}

fn uploads(report: &Report) -> Vec<&Finding> {
    report
        .findings
        .iter()
        .filter(|f| f.rule == RuleId::BlockingUpload)
        .collect()
}

fn assert_setup_low(finding: &Finding, marker: &str) {
    assert_eq!(finding.rule, RuleId::BlockingUpload, "{marker}");
    assert_eq!(finding.name, "blocking-upload", "{marker}");
    assert_eq!(finding.severity, Severity::Low, "{marker}");
    assert_eq!(finding.reason, "setup phase", "{marker}");
    let stats = finding.runtime.as_ref().unwrap();
    assert_eq!(stats.phase, "setup", "{marker}");
    assert_eq!(stats.per_frame, 0.0, "{marker}");
    assert!(!stats.guarded, "{marker}");
}

#[test]
fn resident_frames_upload_nothing_and_setup_uploads_are_low() {
    let frames = 10;
    let mut pipeline = tiny(Mode::Resident);
    let mut source = video();
    for _ in 0..frames {
        let frame = source.next_frame().unwrap();
        pipeline.process_frame(&frame).unwrap();
    }
    let gate = pipeline.gate();
    assert_eq!(gate.uploads_in(Phase::Frame), 0);
    assert_eq!(gate.transfers_in(Phase::Frame), 0);
    assert!(gate.uploads_in(Phase::Setup) > 0);
    let report = runtime_report(&gate.records(), frames, ".", None, None);
    assert_eq!(report.summary.critical, 0);

    // Exactly the setup sites: seeded weights, the detector's position
    // encoding and the predictor's pixel constants.
    let cfg = pipeline.config();
    let weights = pipeline.weights().tensors();
    let weight_bytes: u64 = weights.values().map(|t| (t.elem_count() * 4) as u64).sum();
    let grid = cfg.size / 16;
    let sites: [(&str, &str, u64, u64); 4] = [
        (
            "src/weights.rs",
            "setup-weights-seeded",
            weights.len() as u64,
            weight_bytes,
        ),
        (
            "src/detector/decoder.rs",
            "setup-position-encoding",
            1,
            (grid * grid * cfg.detector.d_model * 4) as u64,
        ),
        ("src/predictor/mod.rs", "setup-pixel-mean", 1, 12),
        ("src/predictor/mod.rs", "setup-pixel-std", 1, 12),
    ];
    assert_eq!(uploads(&report).len(), sites.len(), "{:#?}", uploads(&report));
    for (file, marker, count, bytes) in sites {
        let finding = at(&report, file, marker);
        assert_setup_low(finding, marker);
        let stats = finding.runtime.as_ref().unwrap();
        assert_eq!((stats.count, stats.bytes), (count, bytes), "{marker}");
    }
}

#[test]
fn legacy_frames_upload_their_host_results_back_at_the_marked_sites() {
    let frames = 3u64;
    let mut pipeline = tiny(Mode::Legacy);
    let mut source = video();
    for _ in 0..frames {
        let frame = source.next_frame().unwrap();
        pipeline.process_frame(&frame).unwrap();
    }
    let report = runtime_report(&pipeline.gate().records(), frames, ".", None, None);
    let cfg = pipeline.config();
    let k = cfg.detector.top_k as u64;
    // Each upload of a host result, with the read it undoes (the same bytes
    // come back) or, for results made on the host, their size.
    let post = "src/legacy.rs";
    let pred = "src/legacy.rs";
    let matcher = "src/legacy.rs";
    let round_trips: [(&str, &str, &str, Option<u64>); 13] = [
        (post, "legacy-upload-boxes", "legacy-postprocess-boxes", None),
        (post, "legacy-upload-scores", "legacy-postprocess-scores", None),
        (post, "legacy-upload-labels", "legacy-postprocess-labels", None),
        // Thresholded on the host: one u8 per detection.
        (post, "legacy-upload-valid", "", Some(k)),
        (pred, "legacy-upload-prompt-pe", "legacy-predictor-prompt-pe", None),
        (pred, "legacy-upload-dense", "legacy-predictor-dense", None),
        (pred, "legacy-upload-sparse", "legacy-predictor-sparse", None),
        (pred, "legacy-upload-embedding", "legacy-predictor-embedding", None),
        (pred, "legacy-upload-masks", "legacy-predictor-masks", None),
        (pred, "legacy-upload-iou", "legacy-predictor-iou", None),
        (pred, "legacy-upload-logits", "legacy-predictor-logits", None),
        // Solved on the host: one i64 slot per detection.
        (matcher, "legacy-upload-assignment", "", Some(8 * k)),
        (matcher, "legacy-upload-track-ids", "legacy-matcher-ids", None),
    ];
    let frame_uploads: Vec<&Finding> = uploads(&report)
        .into_iter()
        .filter(|f| f.runtime.as_ref().unwrap().phase == "frame")
        .collect();
    assert_eq!(frame_uploads.len(), round_trips.len(), "{frame_uploads:#?}");
    assert_eq!(
        pipeline.gate().uploads_in(Phase::Frame),
        round_trips.len() as u64 * frames
    );
    for (file, marker, read, bytes_per_frame) in round_trips {
        let finding = at(&report, file, marker);
        assert_eq!(finding.rule, RuleId::BlockingUpload, "{marker}");
        assert_eq!(finding.severity, Severity::Critical, "{marker}");
        assert_eq!(finding.reason, "frame phase, unguarded", "{marker}");
        let stats = finding.runtime.as_ref().unwrap();
        assert_eq!((stats.count, stats.per_frame), (frames, 1.0), "{marker}");
        let expected = match bytes_per_frame {
            Some(bytes) => bytes * frames,
            None => {
                let read = at(&report, file, read);
                assert_eq!(read.rule, RuleId::ExplicitCopy, "{read:?}");
                read.runtime.as_ref().unwrap().bytes
            }
        };
        assert!(expected > 0, "{marker}");
        assert_eq!(stats.bytes, expected, "{marker}");
    }
    // The setup uploads are the resident pipeline's, and low.
    for finding in uploads(&report) {
        if finding.runtime.as_ref().unwrap().phase != "frame" {
            assert_setup_low(finding, &finding.code);
        }
    }
}

#[test]
fn the_report_keeps_reads_and_uploads_apart() {
    let frames = 2u64;
    let mut pipeline = tiny(Mode::Legacy);
    let source = video();
    for t in 0..frames {
        pipeline.process_frame(&source.frame(t).unwrap()).unwrap();
    }
    let records = pipeline.gate().records();
    // Uploads are their own records, under their own rule, never merged with
    // a read (a record is per rule, site, phase and context).
    for record in &records {
        let is_upload = record.rule == RuleId::BlockingUpload;
        let op = record.code.split(' ').next().unwrap();
        assert_eq!(
            ["from_vec", "from_slice", "to_device"].contains(&op),
            is_upload,
            "{record:?}"
        );
        assert_eq!(record.context, Context::Plain);
    }
    let report = runtime_report(&records, frames, ".", None, None);
    let json = serde_json::to_value(&report).unwrap();
    let findings = json["findings"].as_array().unwrap();
    let upload_json: Vec<_> = findings.iter().filter(|f| f["rule"] == "D2H007").collect();
    assert_eq!(upload_json.len(), uploads(&report).len());
    assert!(upload_json.iter().all(|f| f["name"] == "blocking-upload"));
    assert!(findings.iter().any(|f| f["rule"] == "D2H001"));
    let mut fingerprints: Vec<&str> = findings.iter().map(|f| f["fingerprint"].as_str().unwrap()).collect();
    fingerprints.sort_unstable();
    fingerprints.dedup();
    assert_eq!(fingerprints.len(), findings.len());
}

#[test]
fn weights_from_a_file_are_uploaded_at_setup() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("weights.safetensors");
    tiny(Mode::Resident).save_weights(&path).unwrap();
    let mut cfg = PipelineConfig::tiny();
    cfg.weights = WeightSource::File(path);
    let pipeline = Pipeline::new(cfg, &Device::Cpu).unwrap();
    let weights = pipeline.weights().tensors();
    let report = runtime_report(&pipeline.gate().records(), 0, ".", None, None);
    let finding = at(&report, "src/weights.rs", "setup-weights-file");
    assert_setup_low(finding, "setup-weights-file");
    let stats = finding.runtime.as_ref().unwrap();
    assert_eq!(stats.count, weights.len() as u64);
    assert_eq!(
        stats.bytes,
        weights.values().map(|t| (t.elem_count() * 4) as u64).sum::<u64>()
    );
    // Every module was in the file: nothing was seeded.
    let seeded = marker_line("src/weights.rs", "setup-weights-seeded");
    assert!(!report
        .findings
        .iter()
        .any(|f| f.line == seeded && f.file == "pipeline/src/weights.rs"));
}

#[test]
fn sources_upload_once_when_built_and_never_per_frame() {
    let gate = Gate::new();
    let shapes = 4;
    let size = 64;
    let video = SyntheticVideo::with_gate(size, shapes, 11, &Device::Cpu, &gate).unwrap();
    // A video built without a gate records in its own.
    let own = SyntheticVideo::new(size, shapes, 11, &Device::Cpu).unwrap();
    assert_eq!(own.gate().uploads_in(Phase::Setup), 1 + shapes as u64);

    let dir = tempfile::tempdir().unwrap();
    let ppm = dir.path().join("image.ppm");
    let (w, h) = (5usize, 3usize);
    let mut bytes = format!("P6\n# test\n{w} {h}\n255\n").into_bytes();
    bytes.extend((0..w * h * 3).map(|i| (i * 17 % 256) as u8));
    std::fs::write(&ppm, bytes).unwrap();
    let mut still = StillImage::open_with_gate(&ppm, size, &Device::Cpu, &gate).unwrap();
    assert_eq!(still.frame().dims(), [1, 3, size, size]);
    let setup = gate.records();
    {
        let _frame = gate.enter(Phase::Frame);
        for t in 0..5 {
            video.frame(t).unwrap();
            still.next_frame().unwrap();
        }
    }
    assert_eq!(gate.records(), setup, "drawing frames transfers nothing");

    let report = runtime_report(&setup, 0, ".", None, None);
    assert_eq!(report.findings.len(), 3, "{:#?}", report.findings);
    let sites = [
        ("setup-video-background", 1, (3 * size * size * 4) as u64),
        ("setup-video-colour", shapes as u64, (shapes * 3 * 4) as u64),
        ("setup-still-image", 1, (w * h * 3) as u64),
    ];
    for (marker, count, bytes) in sites {
        let finding = at(&report, "src/source.rs", marker);
        assert_setup_low(finding, marker);
        let stats = finding.runtime.as_ref().unwrap();
        assert_eq!((stats.count, stats.bytes), (count, bytes), "{marker}");
    }
}
