//! The seed's Test 1 and the legacy-mode site checks.

use candle_core::{DType, Device, Tensor};
use d2h_pipeline::report::runtime_report;
use d2h_pipeline::transfer::Context;
use d2h_pipeline::{FrameSource, Mode, Phase, PipelineConfig, PipelineError};
use d2h_reports::{render, Format, RenderOptions, SourceCache};
use d2h_rules::{RuleId, Severity};

use crate::common::{marker_line, tiny, video};

#[test]
fn resident_frame_in_packet_out_with_zero_frame_transfers() {
    let mut pipeline = tiny(Mode::Resident);
    let frame = Tensor::randn(0f32, 1.0, (1, 3, 64, 64), &Device::Cpu).unwrap();
    let packet = pipeline.process_frame(&frame).unwrap();
    assert!(packet.is_on(pipeline.device()));
    assert_eq!(pipeline.gate().transfers_in(Phase::Frame), 0);
    let k = pipeline.config().detector.top_k;
    assert_eq!(packet.boxes.dims(), [k, 4]);
    assert_eq!(packet.scores.dims(), [k]);
    assert_eq!(packet.labels.dims(), [k]);
    assert_eq!(packet.labels.dtype(), DType::U32);
    assert_eq!(packet.masks.dims(), [k, 64, 64]);
    assert_eq!(packet.masks.dtype(), DType::U8);
    assert_eq!(packet.track_ids.dims(), [k]);
    assert_eq!(packet.track_ids.dtype(), DType::I64);
    assert_eq!(packet.valid.dims(), [k]);
}

#[test]
fn resident_run_of_many_frames_records_nothing_in_frames() {
    let mut pipeline = tiny(Mode::Resident);
    let mut source = video();
    for _ in 0..10 {
        let frame = source.next_frame().unwrap();
        pipeline.process_frame(&frame).unwrap();
    }
    assert_eq!(pipeline.gate().transfers_in(Phase::Frame), 0);
    assert_eq!(pipeline.gate().fallbacks(), 0);
    let report = runtime_report(&pipeline.gate().records(), 10, ".", None, None);
    assert_eq!(report.summary.critical, 0);
}

/// (file, marker, rule) of every legacy host read, and of every upload of a
/// host result back to the device.
const LEGACY_SITES: &[(&str, &str, RuleId)] = &[
    ("src/legacy.rs", "legacy-postprocess-boxes", RuleId::ExplicitCopy),
    ("src/legacy.rs", "legacy-postprocess-scores", RuleId::ExplicitCopy),
    ("src/legacy.rs", "legacy-postprocess-labels", RuleId::ExplicitCopy),
    ("src/legacy.rs", "legacy-predictor-prompt-pe", RuleId::ExplicitCopy),
    ("src/legacy.rs", "legacy-predictor-dense", RuleId::ExplicitCopy),
    ("src/legacy.rs", "legacy-predictor-sparse", RuleId::ExplicitCopy),
    ("src/legacy.rs", "legacy-predictor-embedding", RuleId::ExplicitCopy),
    ("src/legacy.rs", "legacy-predictor-masks", RuleId::ExplicitCopy),
    ("src/legacy.rs", "legacy-predictor-iou", RuleId::ExplicitCopy),
    ("src/legacy.rs", "legacy-predictor-logits", RuleId::ExplicitCopy),
    ("src/legacy.rs", "legacy-matcher-cost", RuleId::ExplicitCopy),
    ("src/legacy.rs", "legacy-matcher-iou", RuleId::ExplicitCopy),
    ("src/legacy.rs", "legacy-matcher-ids", RuleId::ExplicitCopy),
    ("src/legacy.rs", "legacy-sync", RuleId::ExplicitSync),
    ("src/legacy.rs", "legacy-item", RuleId::ScalarRead),
    ("src/legacy.rs", "legacy-debug", RuleId::ExplicitCopy),
    ("src/legacy.rs", "legacy-upload-boxes", RuleId::BlockingUpload),
    ("src/legacy.rs", "legacy-upload-scores", RuleId::BlockingUpload),
    ("src/legacy.rs", "legacy-upload-labels", RuleId::BlockingUpload),
    ("src/legacy.rs", "legacy-upload-valid", RuleId::BlockingUpload),
    ("src/legacy.rs", "legacy-upload-prompt-pe", RuleId::BlockingUpload),
    ("src/legacy.rs", "legacy-upload-dense", RuleId::BlockingUpload),
    ("src/legacy.rs", "legacy-upload-sparse", RuleId::BlockingUpload),
    ("src/legacy.rs", "legacy-upload-embedding", RuleId::BlockingUpload),
    ("src/legacy.rs", "legacy-upload-masks", RuleId::BlockingUpload),
    ("src/legacy.rs", "legacy-upload-iou", RuleId::BlockingUpload),
    ("src/legacy.rs", "legacy-upload-logits", RuleId::BlockingUpload),
    ("src/legacy.rs", "legacy-upload-assignment", RuleId::BlockingUpload),
    ("src/legacy.rs", "legacy-upload-track-ids", RuleId::BlockingUpload),
];

/// Every legacy marker in `pipeline/src` is in [`LEGACY_SITES`], and the
/// mapping from the seed's sites (`legacy.rs`) names each of them.
#[test]
fn legacy_sites_are_listed_and_documented() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut markers = Vec::new();
    for file in [
        "legacy.rs",
        "detector/postprocess.rs",
        "predictor/mod.rs",
        "matcher/mod.rs",
        "orchestrator.rs",
    ] {
        let text = std::fs::read_to_string(src.join(file)).unwrap();
        for line in text.lines() {
            if let Some((_, marker)) = line.split_once("// d2h-site: ") {
                if marker.starts_with("legacy-") {
                    markers.push(marker.trim().to_string());
                }
            }
        }
    }
    let mut listed: Vec<String> = LEGACY_SITES.iter().map(|s| s.1.to_string()).collect();
    markers.sort();
    listed.sort();
    assert_eq!(markers, listed);
    let reads = LEGACY_SITES.iter().filter(|s| s.2 != RuleId::BlockingUpload).count();
    assert_eq!((reads, LEGACY_SITES.len() - reads), (16, 13));
    let table = std::fs::read_to_string(src.join("legacy.rs")).unwrap();
    for marker in &listed {
        assert!(
            table.contains(&format!("`{marker}`")),
            "legacy.rs does not map {marker}"
        );
    }
    assert!(table.contains("29 sites: 16 reads"));
}

#[test]
fn legacy_mode_records_the_seed_transfers_at_their_sites() {
    let frames = 3u64;
    let mut pipeline = tiny(Mode::Legacy);
    let mut source = video();
    for _ in 0..frames {
        let frame = source.next_frame().unwrap();
        let packet = pipeline.process_frame(&frame).unwrap();
        assert!(packet.is_on(pipeline.device()));
    }
    pipeline.teardown().unwrap();
    let report = runtime_report(&pipeline.gate().records(), frames, ".", None, None);
    let frame_findings: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.runtime.as_ref().unwrap().phase == "frame")
        .collect();
    assert_eq!(frame_findings.len(), LEGACY_SITES.len(), "{frame_findings:#?}");
    for &(file, marker, rule) in LEGACY_SITES {
        let path = format!("pipeline/{file}");
        let line = marker_line(file, marker);
        let finding = frame_findings
            .iter()
            .find(|f| f.file == path && f.line == line)
            .unwrap_or_else(|| panic!("no finding at {path}:{line} ({marker})"));
        assert_eq!(finding.rule, rule, "{marker}");
        assert_eq!(finding.severity, Severity::Critical, "{marker}");
        assert_eq!(finding.reason, "frame phase, unguarded");
        let stats = finding.runtime.as_ref().unwrap();
        assert_eq!(stats.count, frames, "{marker}");
        assert_eq!(stats.per_frame, 1.0, "{marker}");
        assert!(!stats.guarded);
        assert!(stats.bytes > 0 || rule == RuleId::ExplicitSync, "{marker}");
    }
    // The teardown read is low.
    let line = marker_line("src/orchestrator.rs", "teardown-tracks");
    let teardown = report
        .findings
        .iter()
        .find(|f| f.line == line && f.file == "pipeline/src/orchestrator.rs")
        .expect("teardown finding");
    assert_eq!(teardown.severity, Severity::Low);
    assert_eq!(teardown.reason, "teardown phase");
    assert_eq!(report.summary.critical, LEGACY_SITES.len());
}

#[test]
fn legacy_and_resident_produce_the_same_packet() {
    let mut resident = tiny(Mode::Resident);
    let mut legacy = tiny(Mode::Legacy);
    let source = video();
    for t in 0..4 {
        let frame = source.frame(t).unwrap();
        let a = resident.process_frame(&frame).unwrap();
        let b = legacy.process_frame(&frame).unwrap();
        for ((name, x), (_, y)) in a.tensors().into_iter().zip(b.tensors()) {
            assert_eq!(x.dims(), y.dims(), "{name}");
            let diff = (x.to_dtype(DType::F64).unwrap() - y.to_dtype(DType::F64).unwrap())
                .unwrap()
                .abs()
                .unwrap()
                .sum_all()
                .unwrap()
                .to_scalar::<f64>()
                .unwrap();
            assert_eq!(diff, 0.0, "{name} differs at frame {t}");
        }
    }
}

#[test]
fn detailed_logging_reads_are_guarded_and_low() {
    let mut cfg = PipelineConfig::tiny();
    cfg.log_detailed = true;
    let mut pipeline = d2h_pipeline::Pipeline::new(cfg, &Device::Cpu).unwrap();
    let mut source = video();
    let mut valid = Vec::new();
    let started = std::time::Instant::now();
    for _ in 0..3 {
        let frame = source.next_frame().unwrap();
        let packet = pipeline.process_frame(&frame).unwrap();
        valid.push(
            packet
                .valid
                .to_dtype(DType::U32)
                .unwrap()
                .sum_all()
                .unwrap()
                .to_scalar::<u32>()
                .unwrap(),
        );
    }
    let wall_ms = started.elapsed().as_secs_f64() * 1e3;
    let logs = pipeline.take_logs();
    // One entry per frame, in order, with the packet's detection count and
    // a latency inside the frame loop's wall-clock time.
    assert_eq!(logs.iter().map(|l| l.frame).collect::<Vec<_>>(), vec![0, 1, 2]);
    assert_eq!(logs.iter().map(|l| l.detections).collect::<Vec<_>>(), valid);
    assert!(logs.iter().all(|l| l.latency_ms > 0.0), "{logs:?}");
    assert!(
        logs.iter().map(|l| l.latency_ms).sum::<f64>() <= wall_ms,
        "{logs:?} vs {wall_ms} ms"
    );
    let summary = pipeline.log_summary();
    assert_eq!(summary.frames, 3);
    assert_eq!(
        summary.detections_total,
        valid.iter().map(|&v| u64::from(v)).sum::<u64>()
    );
    assert!(pipeline.take_logs().is_empty(), "drained");
    let records = pipeline.gate().records();
    let frame: Vec<_> = records.iter().filter(|r| r.phase == Phase::Frame).collect();
    assert_eq!(frame.len(), 2);
    assert!(frame.iter().all(|r| r.context == Context::Logging && r.count == 3));
    // Everything else is the setup's uploads.
    let setup = records.len() - frame.len();
    assert!(records
        .iter()
        .all(|r| r.phase == Phase::Frame || (r.phase == Phase::Setup && r.rule == RuleId::BlockingUpload)));
    let report = runtime_report(&records, 3, ".", None, None);
    assert_eq!(report.summary.critical, 0);
    assert_eq!(report.summary.low, 2 + setup);
    let sync_line = marker_line("src/orchestrator.rs", "guarded-sync");
    let sync = report.findings.iter().find(|f| f.line == sync_line).unwrap();
    assert_eq!(sync.rule, RuleId::ExplicitSync);
    assert_eq!(sync.reason, "guarded by detailed logging");
    assert!(sync.runtime.as_ref().unwrap().guarded);
}

#[test]
fn forced_fallback_is_counted_warned_and_low() {
    let mut cfg = PipelineConfig::tiny();
    cfg.tracker.force_host_fallback = true;
    let mut pipeline = d2h_pipeline::Pipeline::new(cfg, &Device::Cpu).unwrap();
    let mut reference = tiny(Mode::Resident);
    let source = video();
    for t in 0..3 {
        let frame = source.frame(t).unwrap();
        let a = pipeline.process_frame(&frame).unwrap();
        let b = reference.process_frame(&frame).unwrap();
        let ids = |p: &d2h_pipeline::ResultPacket| p.track_ids.to_vec1::<i64>().unwrap();
        assert_eq!(ids(&a), ids(&b), "fallback must give the same tracks");
    }
    assert_eq!(pipeline.gate().fallbacks(), 3);
    assert_eq!(pipeline.gate().warnings().len(), 1);
    let report = runtime_report(&pipeline.gate().records(), 3, ".", None, None);
    assert_eq!(report.summary.critical, 0);
    // The fallback's two transfers: the cost matrix out, the assignment back.
    let frame: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.runtime.as_ref().unwrap().phase == "frame")
        .collect();
    assert_eq!(frame.len(), 2, "{frame:#?}");
    for (marker, rule) in [
        ("fallback-matcher-cost", RuleId::ExplicitCopy),
        ("fallback-matcher-assign", RuleId::BlockingUpload),
    ] {
        let line = marker_line("src/matcher/mod.rs", marker);
        let finding = frame.iter().find(|f| f.line == line).expect(marker);
        assert_eq!(finding.rule, rule, "{marker}");
        assert_eq!(finding.severity, Severity::Low, "{marker}");
        assert_eq!(finding.reason, "fallback path", "{marker}");
        assert_eq!(finding.runtime.as_ref().unwrap().count, 3, "{marker}");
    }
}

#[test]
fn bad_frames_are_typed_errors() {
    let mut pipeline = tiny(Mode::Resident);
    let setup_records = pipeline.gate().records();
    let dev = Device::Cpu;
    let wrong_size = Tensor::zeros((1, 3, 32, 32), DType::F32, &dev).unwrap();
    assert!(matches!(
        pipeline.process_frame(&wrong_size),
        Err(PipelineError::FrameShape { size: 64, .. })
    ));
    let wrong_rank = Tensor::zeros((3, 64, 64), DType::F32, &dev).unwrap();
    assert!(matches!(
        pipeline.process_frame(&wrong_rank),
        Err(PipelineError::FrameShape { .. })
    ));
    let wrong_channels = Tensor::zeros((1, 1, 64, 64), DType::F32, &dev).unwrap();
    assert!(matches!(
        pipeline.process_frame(&wrong_channels),
        Err(PipelineError::FrameShape { .. })
    ));
    let wrong_dtype = Tensor::zeros((1, 3, 64, 64), DType::U8, &dev).unwrap();
    assert!(matches!(
        pipeline.process_frame(&wrong_dtype),
        Err(PipelineError::FrameDType(DType::U8))
    ));
    assert_eq!(pipeline.frames(), 0);
    // Nothing was recorded for the rejected frames.
    assert_eq!(pipeline.gate().records(), setup_records);
}

#[test]
fn bad_configurations_are_typed_errors() {
    for size in [0, 60, d2h_pipeline::MAX_SIZE + 16, usize::MAX - 15] {
        let mut cfg = PipelineConfig::tiny();
        cfg.size = size;
        assert!(
            matches!(
                d2h_pipeline::Pipeline::new(cfg, &Device::Cpu),
                Err(PipelineError::OutOfRange { name: "frame size", value, .. }) if value == size
            ),
            "{size}"
        );
    }
    let mut cfg = PipelineConfig::tiny();
    cfg.detector.top_k = 1000;
    assert!(matches!(
        d2h_pipeline::Pipeline::new(cfg, &Device::Cpu),
        Err(PipelineError::Config(_))
    ));
    let mut cfg = PipelineConfig::tiny();
    cfg.weights = d2h_pipeline::WeightSource::File("/nonexistent/w.safetensors".into());
    assert!(matches!(
        d2h_pipeline::Pipeline::new(cfg, &Device::Cpu),
        Err(PipelineError::Weights { .. })
    ));
}

// Which of the two tests runs depends on the build: each checks what
// `--device cuda` does in its own.
#[cfg(not(feature = "cuda"))]
#[test]
fn cuda_without_the_feature_is_a_typed_error() {
    const { assert!(!d2h_pipeline::CUDA_BUILT) };
    let result = d2h_pipeline::DeviceKind::Cuda.open();
    assert!(matches!(result, Err(PipelineError::CudaNotBuilt)));
}

#[cfg(feature = "cuda")]
#[test]
fn cuda_with_the_feature_opens_a_device_or_reports_candles_error() {
    const { assert!(d2h_pipeline::CUDA_BUILT) };
    match d2h_pipeline::DeviceKind::Cuda.open() {
        Ok(device) => assert!(device.is_cuda()),
        // No GPU on this machine: candle's own error, never "not built".
        Err(err) => assert!(matches!(err, PipelineError::Candle(_)), "{err}"),
    }
}

#[test]
fn the_runtime_report_renders_as_json_in_the_shared_schema() {
    let mut pipeline = tiny(Mode::Legacy);
    let mut source = video();
    let outcome = d2h_pipeline::run(&mut pipeline, &mut source, d2h_pipeline::RunOptions::frames(4)).unwrap();
    let report = runtime_report(
        &pipeline.gate().records(),
        pipeline.frames(),
        ".",
        outcome.memory(true),
        Some(outcome.latency()),
    );
    let mut out = Vec::new();
    render(
        &report,
        Format::Json,
        RenderOptions::default(),
        &SourceCache::new(),
        &mut out,
    )
    .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(json["schema"], "d2h-report/1");
    assert_eq!(json["origin"], "runtime");
    assert_eq!(json["latency"]["frames"], 3);
    let finding = &json["findings"][0];
    assert!(finding["count"].as_u64().unwrap() > 0);
    assert!(finding["per_frame"].is_number());
    assert!(finding["fingerprint"].as_str().unwrap().len() == 16);
}
