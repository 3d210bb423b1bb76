//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod rng;

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use d2h_pipeline::{Mode, Pipeline, PipelineConfig, SyntheticVideo};

/// The tiny test pipeline in `mode`.
pub fn tiny(mode: Mode) -> Pipeline {
    let mut cfg = PipelineConfig::tiny();
    cfg.mode = mode;
    Pipeline::new(cfg, &Device::Cpu).expect("tiny pipeline builds")
}

/// The tiny pipeline's video.
pub fn video() -> SyntheticVideo {
    SyntheticVideo::new(64, 4, 11, &Device::Cpu).expect("video")
}

/// The 1-based line of `pipeline/<file>` holding `// d2h-site: <marker>`.
pub fn marker_line(file: &str, marker: &str) -> u32 {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let text = std::fs::read_to_string(&path).expect("source file");
    let needle = format!("// d2h-site: {marker}");
    let hits: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.trim_end().ends_with(&needle))
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(hits.len(), 1, "marker {marker} must appear once in {file}");
    hits[0] as u32
}

/// The largest absolute difference between two tensors of one shape, in f32.
pub fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    (a.to_dtype(DType::F32).unwrap() - b.to_dtype(DType::F32).unwrap())
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}
