//! Random weights written to safetensors and read back give identical outputs.

use crate::common;

use candle_core::{DType, Device};
use d2h_pipeline::{Phase, Pipeline, PipelineConfig, WeightSource};
use d2h_rules::RuleId;

#[test]
fn safetensors_round_trip_gives_identical_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("weights.safetensors");
    let mut cfg = PipelineConfig::tiny();
    cfg.weights = WeightSource::Seeded(1234);
    let mut original = Pipeline::new(cfg.clone(), &Device::Cpu).unwrap();
    original.save_weights(&path).unwrap();
    // Saving went through the gate, in the teardown phase (the other records
    // are the setup's uploads).
    let records = original.gate().records();
    let teardown: Vec<_> = records.iter().filter(|r| r.phase == Phase::Teardown).collect();
    assert_eq!(teardown.len(), 1);
    assert_eq!(teardown[0].rule, RuleId::ExplicitCopy);
    assert!(records
        .iter()
        .all(|r| r.phase == Phase::Teardown || r.rule == RuleId::BlockingUpload));

    let mut other_seed = cfg.clone();
    other_seed.weights = WeightSource::Seeded(99);
    let mut different = Pipeline::new(other_seed, &Device::Cpu).unwrap();
    cfg.weights = WeightSource::File(path);
    let mut reloaded = Pipeline::new(cfg, &Device::Cpu).unwrap();
    assert!(reloaded.weights().from_file());

    let video = common::video();
    for t in 0..3 {
        let frame = video.frame(t).unwrap();
        let a = original.process_frame(&frame).unwrap();
        let b = reloaded.process_frame(&frame).unwrap();
        let c = different.process_frame(&frame).unwrap();
        let mut any_difference = false;
        for (((name, x), (_, y)), (_, z)) in a.tensors().into_iter().zip(b.tensors()).zip(c.tensors()) {
            let d = |p: &candle_core::Tensor, q: &candle_core::Tensor| {
                (p.to_dtype(DType::F64).unwrap() - q.to_dtype(DType::F64).unwrap())
                    .unwrap()
                    .abs()
                    .unwrap()
                    .sum_all()
                    .unwrap()
                    .to_scalar::<f64>()
                    .unwrap()
            };
            assert_eq!(d(x, y), 0.0, "{name} differs after the round trip");
            any_difference |= d(x, z) > 0.0;
        }
        assert!(any_difference, "another seed should change the outputs");
    }
}

#[test]
fn a_file_with_a_wrong_shape_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("weights.safetensors");
    let small = Pipeline::new(PipelineConfig::tiny(), &Device::Cpu).unwrap();
    small.save_weights(&path).unwrap();
    // The small preset's detector is wider than the tiny one the file holds.
    let mut cfg = PipelineConfig::tiny();
    cfg.detector = d2h_pipeline::detector::DetectorConfig::small();
    cfg.weights = WeightSource::File(path);
    let err = Pipeline::new(cfg, &Device::Cpu).unwrap_err();
    assert!(err.to_string().contains("shape"), "{err}");
}
