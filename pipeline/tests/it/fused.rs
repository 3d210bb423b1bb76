//! The fused ops' CPU kernels against the op-by-op form they replace, on
//! random inputs: the postprocess (`SelectDetections`), and the tracker's cost
//! and update (`TrackCost`, `TrackStep`) over sequences of frames. The CUDA
//! kernels are held to the same CPU kernels by the GPU tests.

use candle_core::{DType, Device, Tensor};
use d2h_pipeline::detector::{Detections, PostProcess};
use d2h_pipeline::matcher::{unfused, AssignOp, Tracker, TrackerConfig, FORBIDDEN};
use d2h_pipeline::transfer::Gate;
use d2h_pipeline::Phase;

use crate::common::rng::Rng;

fn tensor(values: Vec<f32>, shape: &[usize]) -> Tensor {
    Tensor::from_vec(values, shape, &Device::Cpu).unwrap()
}

fn assert_same(a: &Tensor, b: &Tensor, what: &str) {
    assert_eq!(a.dims(), b.dims(), "{what}: shapes");
    let (a, b) = (
        a.to_dtype(DType::F32)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap(),
        b.to_dtype(DType::F32)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap(),
    );
    // `==`: the same values, −0 and +0 alike (the op-by-op form adds zeros).
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        assert!(x == y, "{what}[{i}]: {x} vs {y}");
    }
}

#[test]
fn the_fused_postprocess_gives_the_op_by_op_detections() {
    let mut rng = Rng(0x5e1ec7);
    // The small preset's 32 × 8, the real preset's 300 × 80 (a two-stage sort
    // in the op-by-op form), and a top-k of every score.
    for (queries, classes, k) in [(32usize, 8usize, 8usize), (300, 80, 20), (4, 3, 12)] {
        for round in 0..3 {
            let n = queries * classes;
            let logits: Vec<f32> = (0..n)
                .map(|i| match (round, i % 97) {
                    (1, 0) => f32::NAN,
                    (2, _) => (rng.below(5) as f32) - 2.0, // many ties
                    _ => rng.unit() * 6.0 - 3.0,
                })
                .collect();
            let boxes: Vec<f32> = (0..queries * 4)
                .map(|i| {
                    if round == 1 && i % 13 == 0 {
                        f32::INFINITY
                    } else {
                        rng.unit()
                    }
                })
                .collect();
            let logits = tensor(logits, &[1, queries, classes]);
            let boxes = tensor(boxes, &[1, queries, 4]);
            let post = PostProcess {
                top_k: k,
                score_threshold: 0.5,
                width: 640,
                height: 480,
            };
            let fused = post.forward(&logits, &boxes).unwrap();
            let reference = post.forward_unfused(&logits, &boxes).unwrap();
            let what = format!("{queries} × {classes}, top {k}, round {round}");
            assert_same(&fused.scores, &reference.scores, &format!("{what}: scores"));
            assert_same(&fused.labels, &reference.labels, &format!("{what}: labels"));
            assert_same(&fused.boxes, &reference.boxes, &format!("{what}: boxes"));
            assert_same(&fused.valid, &reference.valid, &format!("{what}: valid"));
            assert_eq!(fused.labels.dtype(), DType::U32);
            assert_eq!(fused.valid.dtype(), DType::U8);
        }
    }
}

/// Detections of a few objects drifting across frames, some invalid, some
/// changing class, plus clutter: births, matches, misses and deaths.
fn frame_detections(rng: &mut Rng, frame: usize, k: usize) -> Detections {
    let mut boxes = Vec::with_capacity(k * 4);
    let (mut labels, mut valid, mut scores) = (Vec::new(), Vec::new(), Vec::new());
    for d in 0..k {
        let (x, y) = if d < k / 2 {
            // An object: steady drift, so consecutive frames overlap.
            (40.0 * d as f32 + 2.0 * frame as f32, 30.0 * d as f32 + frame as f32)
        } else {
            (rng.unit() * 300.0, rng.unit() * 300.0)
        };
        let (w, h) = (20.0 + rng.unit() * 10.0, 20.0 + rng.unit() * 10.0);
        boxes.extend_from_slice(&[x, y, x + w, y + h]);
        labels.push(if rng.below(8) == 0 { 2 } else { (d % 2) as u32 });
        valid.push(u8::from(rng.below(5) != 0));
        scores.push(rng.unit());
    }
    let dev = Device::Cpu;
    Detections::from_parts(
        tensor(boxes, &[k, 4]),
        Tensor::from_vec(scores, k, &dev).unwrap(),
        Tensor::from_vec(labels, k, &dev).unwrap(),
        Tensor::from_vec(valid, k, &dev).unwrap(),
    )
    .unwrap()
}

#[test]
fn the_fused_tracker_follows_the_op_by_op_tracker_frame_by_frame() {
    for (slots, k, seed) in [(4usize, 6usize, 1u64), (16, 8, 2), (3, 3, 3)] {
        let cfg = TrackerConfig {
            max_tracks: slots,
            iou_gate: 0.1,
            class_weight: 0.5,
            max_age: 2,
            force_host_fallback: false,
        };
        let mut tracker = Tracker::new(cfg, &Device::Cpu).unwrap();
        let mut reference = tracker.state().packed.copy().unwrap();
        let gate = Gate::new();
        let _frame = gate.enter(Phase::Frame);
        let mut rng = Rng(seed);
        let mut births = 0.0;
        for frame in 0..40 {
            let dets = frame_detections(&mut rng, frame, k);
            let what = format!("{slots} slots, {k} detections, frame {frame}");
            let cost = unfused::cost(&dets, &reference, &cfg).unwrap();
            assert_same(&tracker.cost(&dets).unwrap(), &cost, &format!("{what}: cost"));
            let assignment = cost.apply_op1_no_bwd(&AssignOp { forbidden: FORBIDDEN }).unwrap();
            let (state, ids) = unfused::step(&reference, &dets, &assignment, &cfg).unwrap();
            let fused_ids = tracker.update(&gate, &dets).unwrap();
            assert_eq!(fused_ids.dtype(), DType::I64);
            assert_same(&fused_ids, &ids, &format!("{what}: ids"));
            assert_same(&tracker.state().packed, &state, &format!("{what}: state"));
            reference = state;
            births = tracker.state().next_id.to_vec1::<f32>().unwrap()[0];
        }
        // The sequences did exercise births beyond the first frame's.
        assert!(births > slots as f32, "{slots} slots: {births} births");
        assert!(gate.records().is_empty(), "{:?}", gate.records());
    }
}
