//! The on-device postprocess against a straightforward host reference.

use candle_core::{Device, Tensor};
use d2h_pipeline::detector::PostProcess;
use d2h_pipeline::transfer::Gate;

/// Reproducible inputs: xorshift64, one stream per seed.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    /// Uniform in `[lo, hi)`.
    fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        lo + (hi - lo) * ((self.0 >> 40) as f32 / (1u64 << 24) as f32)
    }

    /// A `(1, rows, cols)` tensor of uniform values.
    fn tensor(&mut self, rows: usize, cols: usize, lo: f32, hi: f32) -> Tensor {
        let values: Vec<f32> = (0..rows * cols).map(|_| self.uniform(lo, hi)).collect();
        Tensor::from_vec(values, (1, rows, cols), &Device::Cpu).unwrap()
    }
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// (score, query, class) sorted by score, then the top k.
fn reference(logits: &[Vec<f32>], k: usize) -> Vec<(f32, usize, usize)> {
    let mut all: Vec<(f32, usize, usize)> = logits
        .iter()
        .enumerate()
        .flat_map(|(q, row)| row.iter().enumerate().map(move |(c, &l)| (sigmoid(l), q, c)))
        .collect();
    all.sort_by(|a, b| b.0.total_cmp(&a.0));
    all.truncate(k);
    all
}

#[test]
fn postprocess_matches_the_reference() {
    for (queries, classes, k, seed) in [(8, 3, 4, 1u64), (20, 5, 10, 2), (6, 1, 6, 3)] {
        let mut rng = Rng::new(seed);
        let logits = rng.tensor(queries, classes, -4.0, 4.0);
        let boxes = rng.tensor(queries, 4, 0.1, 0.6);
        let pp = PostProcess {
            top_k: k,
            score_threshold: 0.5,
            width: 80,
            height: 40,
        };
        let dets = pp.forward(&logits, &boxes).unwrap();
        let host_logits = logits.squeeze(0).unwrap().to_vec2::<f32>().unwrap();
        let host_boxes = boxes.squeeze(0).unwrap().to_vec2::<f32>().unwrap();
        let expected = reference(&host_logits, k);
        let scores = dets.scores.to_vec1::<f32>().unwrap();
        let labels = dets.labels.to_vec1::<u32>().unwrap();
        let out_boxes = dets.boxes.to_vec2::<f32>().unwrap();
        let valid = dets.valid.to_vec1::<u8>().unwrap();
        assert_eq!(scores.len(), k);
        for (i, &(score, q, c)) in expected.iter().enumerate() {
            assert!((scores[i] - score).abs() < 1e-6, "score {i}");
            assert_eq!(labels[i], c as u32, "label {i}");
            let [cx, cy, w, h] = [host_boxes[q][0], host_boxes[q][1], host_boxes[q][2], host_boxes[q][3]];
            let want = [
                (cx - w / 2.0) * 80.0,
                (cy - h / 2.0) * 40.0,
                (cx + w / 2.0) * 80.0,
                (cy + h / 2.0) * 40.0,
            ];
            for j in 0..4 {
                assert!((out_boxes[i][j] - want[j]).abs() < 1e-4, "box {i}.{j}");
            }
            assert_eq!(valid[i], u8::from(score >= 0.5), "valid {i}");
        }
    }
}

#[test]
fn legacy_postprocess_returns_the_same_values_on_the_host() {
    let mut rng = Rng::new(4);
    let logits = rng.tensor(10, 4, -4.0, 4.0);
    let boxes = rng.tensor(10, 4, 0.1, 0.6);
    let pp = PostProcess {
        top_k: 6,
        score_threshold: 0.5,
        width: 64,
        height: 64,
    };
    let gate = Gate::new();
    let host = pp.forward_to_host(&gate, &logits, &boxes).unwrap();
    let dets = pp.forward(&logits, &boxes).unwrap();
    assert_eq!(host.scores, dets.scores.to_vec1::<f32>().unwrap());
    assert_eq!(host.labels, dets.labels.to_vec1::<u32>().unwrap());
    assert_eq!(host.valid, dets.valid.to_vec1::<u8>().unwrap());
    assert_eq!(gate.records().len(), 3);
}

#[test]
fn top_k_larger_than_the_candidates_is_an_error() {
    let dev = Device::Cpu;
    let logits = Tensor::zeros((1, 2, 2), candle_core::DType::F32, &dev).unwrap();
    let boxes = Tensor::zeros((1, 2, 4), candle_core::DType::F32, &dev).unwrap();
    let pp = PostProcess {
        top_k: 5,
        score_threshold: 0.5,
        width: 64,
        height: 64,
    };
    assert!(pp.forward(&logits, &boxes).is_err());
}
