//! Graph mode on the CPU device: the simulated capture runs the same frame
//! path as the eager one (same values, frame by frame), and the capture guard
//! turns a host transfer on the captured path into an error naming its line.

use candle_core::Tensor;
use d2h_pipeline::{
    CaptureKind, FrameSource, GraphMode, Mode, Phase, Pipeline, PipelineConfig, PipelineError, ResultPacket,
};

use crate::common::{marker_line, video};

fn pipeline(graph: GraphMode, cfg: impl FnOnce(&mut PipelineConfig)) -> Pipeline {
    let mut c = PipelineConfig::tiny();
    c.graph = graph;
    cfg(&mut c);
    Pipeline::new(c, &candle_core::Device::Cpu).expect("tiny pipeline builds")
}

/// Every value of a packet, as f64 (the test's own reads, not the pipeline's).
fn values(packet: &ResultPacket) -> Vec<Vec<f64>> {
    packet
        .tensors()
        .iter()
        .map(|(_, t)| {
            t.flatten_all()
                .and_then(|t| t.to_dtype(candle_core::DType::F64))
                .and_then(|t| t.to_vec1::<f64>())
                .expect("readable")
        })
        .collect()
}

#[test]
fn graph_mode_on_the_cpu_matches_the_eager_frames_value_for_value() {
    let mut eager = pipeline(GraphMode::Off, |_| {});
    let mut graph = pipeline(GraphMode::On, |_| {});
    let mut source = video();
    let frames = 8;
    let mut tracked = 0usize;
    for i in 0..frames {
        let frame = source.next_frame().unwrap();
        let a = values(&eager.process_frame(&frame).unwrap());
        let b = values(&graph.process_frame(&frame).unwrap());
        assert_eq!(a, b, "frame {i}");
        tracked += a[4].iter().filter(|&&id| id >= 0.0).count();
    }
    // The frames had tracks to carry over, so the in-place state update was exercised.
    assert!(tracked > 0, "no detection was tracked");
    assert_eq!(eager.teardown().unwrap(), graph.teardown().unwrap());
    let stats = graph.graph_stats().expect("graph mode on");
    assert_eq!(stats.kind, Some(CaptureKind::Simulated));
    assert_eq!(stats.warmup_frames, d2h_pipeline::graph::WARMUP_FRAMES);
    assert_eq!(stats.warmup_frames + stats.captured_frames, frames);
    assert_eq!(stats.launches, 0, "the CPU has no graph to launch");
    assert_eq!(graph.gate().transfers_in(Phase::Frame), 0);
    assert_eq!(graph.gate().capture(), None);
    assert!(eager.graph_stats().is_none());
}

#[test]
fn a_host_read_on_the_captured_path_is_an_error_naming_its_line() {
    let mut p = pipeline(GraphMode::On, |c| c.tracker.force_host_fallback = true);
    let mut source = video();
    // The warm-up frames run outside the capture: the fallback is counted, not refused.
    for _ in 0..d2h_pipeline::graph::WARMUP_FRAMES {
        p.process_frame(&source.next_frame().unwrap()).unwrap();
    }
    assert_eq!(p.gate().fallbacks(), d2h_pipeline::graph::WARMUP_FRAMES);
    let before = p.gate().transfers_in(Phase::Frame);
    let next_id = |p: &Pipeline| p.tracker().state().next_id.to_vec1::<f32>().unwrap();
    let ids_before = next_id(&p);
    for _ in 0..2 {
        let err = p.process_frame(&source.next_frame().unwrap()).unwrap_err();
        let PipelineError::Capture(v) = &err else {
            panic!("expected a capture violation, got {err}");
        };
        assert_eq!(v.site.path(), "pipeline/src/matcher/mod.rs");
        assert_eq!(v.site.line, marker_line("src/matcher/mod.rs", "fallback-matcher-cost"));
        assert_eq!(v.op, "to_vec2");
        assert_eq!(v.symbol, "Tracker::assign_on_host_fallback");
        assert_eq!(v.kind, CaptureKind::Simulated);
        let message = err.to_string();
        assert!(
            message.contains(&format!("pipeline/src/matcher/mod.rs:{}", v.site.line)),
            "{message}"
        );
        // The guard ends with the capture, and the refused read was not made.
        assert_eq!(p.gate().capture(), None);
        assert_eq!(p.gate().transfers_in(Phase::Frame), before);
    }
    // A failed capture leaves the track state as it was.
    assert_eq!(next_id(&p), ids_before);
}

#[test]
fn the_logging_reads_follow_the_captured_region() {
    let mut p = pipeline(GraphMode::On, |c| c.log_detailed = true);
    let mut source = video();
    for _ in 0..5 {
        p.process_frame(&source.next_frame().unwrap()).unwrap();
    }
    assert_eq!(p.log_summary().frames, 5);
    // Two guarded reads per frame (sync and count), none refused.
    assert_eq!(p.gate().transfers_in(Phase::Frame), 10);
    assert!(p.gate().take_violation().is_none());
}

#[test]
fn graph_mode_is_refused_for_the_legacy_mode_and_frames_are_still_checked() {
    let mut c = PipelineConfig::tiny();
    c.graph = GraphMode::On;
    c.mode = Mode::Legacy;
    let err = Pipeline::new(c, &candle_core::Device::Cpu).unwrap_err();
    assert!(matches!(err, PipelineError::Config(_)), "{err}");
    assert!(err.to_string().contains("legacy"), "{err}");
    let mut p = pipeline(GraphMode::On, |_| {});
    let wrong = Tensor::zeros((1, 3, 32, 32), candle_core::DType::F32, &candle_core::Device::Cpu).unwrap();
    assert!(matches!(p.process_frame(&wrong), Err(PipelineError::FrameShape { .. })));
}
