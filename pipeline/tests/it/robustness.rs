//! Inputs that must not panic, and formatting that must not read the device:
//! `Debug` of the pipeline's types, non-finite weights and frames, bounded
//! sizes and counts, and image files with odd headers.

use std::collections::HashMap;

use candle_core::{DType, Device, IndexOp, Tensor};
use d2h_pipeline::detector::{Detections, PostProcess};
use d2h_pipeline::predictor::{Predictor, PredictorConfig};
use d2h_pipeline::transfer::Gate;
use d2h_pipeline::{
    FrameSource, Mode, Phase, Pipeline, PipelineConfig, PipelineError, ResultPacket, RunOptions, StillImage,
    SyntheticVideo, WeightSource, Weights,
};

use crate::common::{tiny, video};

/// A value no shape, dtype or device name contains.
const MARK: f32 = 7777.25;

fn marked(shape: &[usize], dtype: DType) -> Tensor {
    Tensor::full(MARK, shape, &Device::Cpu)
        .unwrap()
        .to_dtype(dtype)
        .unwrap()
}

/// `{:?}` and `{:#?}` of `value` show no tensor values: no candle tensor
/// `Debug` (which ends in `Tensor[dims, dtype]` after the values) and, where
/// the tensors hold [`MARK`], not its digits.
fn assert_no_values(what: &str, value: &dyn std::fmt::Debug) -> String {
    let plain = format!("{value:?}");
    let pretty = format!("{value:#?}");
    for out in [&plain, &pretty] {
        assert!(!out.contains("Tensor["), "{what} formats a tensor's values: {out}");
        assert!(!out.contains("7777"), "{what} shows a value: {out}");
        assert!(out.len() < 4000, "{what}: {} characters", out.len());
    }
    plain
}

#[test]
fn debug_prints_shapes_not_values_and_records_nothing() {
    let mut pipeline = tiny(Mode::Resident);
    let source = video();
    let packet = pipeline.process_frame(&source.frame(0).unwrap()).unwrap();
    let before = pipeline.gate().records();
    let k = pipeline.config().detector.top_k;

    let marked_packet = ResultPacket {
        boxes: marked(&[k, 4], DType::F32),
        scores: marked(&[k], DType::F32),
        labels: marked(&[k], DType::U32),
        masks: marked(&[k, 64, 64], DType::U32),
        track_ids: marked(&[k], DType::I64),
        valid: marked(&[k], DType::F32),
    };
    let out = assert_no_values("ResultPacket", &marked_packet);
    assert!(out.contains("boxes: f32[4, 4] on cpu"), "{out}");
    assert!(out.contains("masks: u32[4, 64, 64] on cpu"), "{out}");
    let dets = Detections {
        boxes: marked(&[k, 4], DType::F32),
        scores: marked(&[k], DType::F32),
        labels: marked(&[k], DType::U32),
        valid: marked(&[k], DType::U8),
        packed: marked(&[k, 7], DType::F32),
    };
    let out = assert_no_values("Detections", &dets);
    assert!(out.contains("valid: u8[4] on cpu"), "{out}");

    assert_no_values("a real packet", &packet);
    assert_no_values("TrackState", pipeline.tracker().state());
    assert_no_values("Tracker", pipeline.tracker());
    assert_no_values("Weights", pipeline.weights());
    assert_no_values("SyntheticVideo", &source);
    let out = assert_no_values("Pipeline", &pipeline);
    assert!(
        out.contains("Detector") && out.contains("Predictor") && out.contains("Tracker"),
        "{out}"
    );

    let gate = Gate::new();
    let weights = Weights::seeded(3, &Device::Cpu, &gate);
    let predictor = Predictor::new(&PredictorConfig::compact(), 64, weights.var_builder(), &gate).unwrap();
    let boxes = Tensor::new(&[[4f32, 4., 30., 30.]], &Device::Cpu).unwrap();
    let predictions = predictor.forward(&source.frame(1).unwrap(), &boxes).unwrap();
    assert_no_values("Predictor", &predictor);
    assert_no_values("Predictions", &predictions);
    let host = predictor
        .forward_to_host(&gate, &source.frame(1).unwrap(), &boxes)
        .unwrap();
    assert_no_values("HostPredictions", &host);

    // Formatting went through no transfer.
    assert_eq!(pipeline.gate().records(), before);
}

/// A reproducible stream of f32 in [0, 1) (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 24) as f32
    }
}

#[test]
fn nan_logits_rank_last_and_nan_boxes_become_zero() {
    let (queries, classes, k) = (16, 4, 12);
    let mut rng = Rng(0x0dd5);
    let mut logits: Vec<f32> = (0..queries * classes).map(|_| 8.0 * rng.next() - 4.0).collect();
    // Every third logit is NaN, and query 0's box is NaN and infinite.
    for (i, l) in logits.iter_mut().enumerate() {
        if i % 3 == 0 {
            *l = f32::NAN;
        }
    }
    let mut boxes: Vec<f32> = (0..queries * 4).map(|_| 0.1 + 0.5 * rng.next()).collect();
    boxes[0] = f32::NAN;
    boxes[2] = f32::INFINITY;
    let dev = Device::Cpu;
    let logits_t = Tensor::from_vec(logits.clone(), (1, queries, classes), &dev).unwrap();
    let boxes_t = Tensor::from_vec(boxes, (1, queries, 4), &dev).unwrap();
    let pp = PostProcess {
        top_k: k,
        score_threshold: 0.5,
        width: 64,
        height: 64,
    };
    let dets = pp.forward(&logits_t, &boxes_t).unwrap();
    let scores = dets.scores.to_vec1::<f32>().unwrap();
    // The finite logits come first, in order; the NaN ones after, scored 0.
    let mut finite: Vec<f32> = logits
        .iter()
        .filter(|l| !l.is_nan())
        .map(|&l| 1.0 / (1.0 + (-l).exp()))
        .collect();
    finite.sort_by(|a, b| b.total_cmp(a));
    for (i, &score) in scores.iter().enumerate() {
        let want = finite.get(i).copied().unwrap_or(0.0);
        assert!((score - want).abs() < 1e-6, "score {i}: {score} vs {want}");
    }
    assert!(dets
        .boxes
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap()
        .iter()
        .all(|v| v.is_finite()));

    // All NaN: a defined result, nothing valid.
    let all_nan = Tensor::full(f32::NAN, (1, queries, classes), &dev).unwrap();
    let dets = pp.forward(&all_nan, &boxes_t).unwrap();
    assert_eq!(dets.scores.to_vec1::<f32>().unwrap(), vec![0.0; k]);
    assert_eq!(dets.valid.to_vec1::<u8>().unwrap(), vec![0; k]);
}

fn assert_defined(packet: &ResultPacket, what: &str) {
    let boxes = packet.boxes.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    assert!(boxes.iter().all(|v| v.is_finite()), "{what}: {boxes:?}");
    let scores = packet.scores.to_vec1::<f32>().unwrap();
    assert!(scores.iter().all(|s| (0.0..=1.0).contains(s)), "{what}: {scores:?}");
}

#[test]
fn nan_frames_give_a_defined_result_in_both_modes() {
    let dev = Device::Cpu;
    let source = video();
    let one_nan = {
        let frame = source.frame(0).unwrap();
        let mask = Tensor::zeros((1, 3, 64, 64), DType::U8, &dev)
            .unwrap()
            .slice_assign(
                &[0..1, 0..1, 10..11, 10..11],
                &Tensor::ones((1, 1, 1, 1), DType::U8, &dev).unwrap(),
            )
            .unwrap();
        let nan = Tensor::full(f32::NAN, (1, 3, 64, 64), &dev).unwrap();
        mask.where_cond(&nan, &frame).unwrap()
    };
    let all_nan = Tensor::full(f32::NAN, (1, 3, 64, 64), &dev).unwrap();
    let mut resident = tiny(Mode::Resident);
    let mut legacy = tiny(Mode::Legacy);
    for (name, frame) in [("one NaN pixel", &one_nan), ("all NaN", &all_nan)] {
        let a = resident.process_frame(frame).unwrap();
        let b = legacy.process_frame(frame).unwrap();
        assert_defined(&a, name);
        assert_defined(&b, name);
        // Every logit is NaN after the decoder's attention: nothing is valid,
        // so no track is matched or born.
        assert_eq!(a.valid.to_vec1::<u8>().unwrap(), vec![0; 4], "{name}");
        assert_eq!(a.track_ids.to_vec1::<i64>().unwrap(), vec![-1; 4], "{name}");
        assert_eq!(
            a.track_ids.to_vec1::<i64>().unwrap(),
            b.track_ids.to_vec1::<i64>().unwrap()
        );
    }
    // The tracks are not poisoned: a clean frame afterwards works as usual.
    let mut fresh = tiny(Mode::Resident);
    let clean = source.frame(1).unwrap();
    let after = resident.process_frame(&clean).unwrap();
    let reference = fresh.process_frame(&clean).unwrap();
    assert_eq!(
        after.track_ids.to_vec1::<i64>().unwrap(),
        reference.track_ids.to_vec1::<i64>().unwrap()
    );
}

#[test]
fn nan_rows_in_a_weights_file_give_a_defined_result() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("weights.safetensors");
    tiny(Mode::Resident).save_weights(&path).unwrap();
    let mut tensors: HashMap<String, Tensor> = candle_core::safetensors::load(&path, &Device::Cpu).unwrap();
    // Class 0's logit row and the box head's cx row become NaN.
    let nan_row = |name: &str, tensors: &mut HashMap<String, Tensor>| {
        let w = &tensors[name];
        let cols = w.dim(1).unwrap();
        let row = Tensor::full(f32::NAN, (1, cols), &Device::Cpu).unwrap();
        let patched = Tensor::cat(&[&row, &w.i(1..).unwrap()], 0).unwrap();
        tensors.insert(name.to_string(), patched);
    };
    nan_row("detector.decoder.class_head.weight", &mut tensors);
    nan_row("detector.decoder.box_head.1.weight", &mut tensors);
    candle_core::safetensors::save(&tensors, &path).unwrap();

    let source = video();
    for mode in [Mode::Resident, Mode::Legacy] {
        let mut cfg = PipelineConfig::tiny();
        cfg.mode = mode;
        cfg.weights = WeightSource::File(path.clone());
        let mut pipeline = Pipeline::new(cfg, &Device::Cpu).unwrap();
        for t in 0..4 {
            let packet = pipeline.process_frame(&source.frame(t).unwrap()).unwrap();
            assert_defined(&packet, mode.as_str());
            let valid = packet.valid.to_vec1::<u8>().unwrap();
            let labels = packet.labels.to_vec1::<u32>().unwrap();
            let scores = packet.scores.to_vec1::<f32>().unwrap();
            for i in 0..valid.len() {
                // Class 0 scores 0: never a valid detection.
                if labels[i] == 0 {
                    assert_eq!((scores[i], valid[i]), (0.0, 0), "{mode} frame {t}");
                }
            }
        }
    }
}

#[test]
fn frame_counts_and_sizes_are_bounded_before_allocating() {
    let mut pipeline = tiny(Mode::Resident);
    let mut source = video();
    for frames in [0, d2h_pipeline::MAX_FRAMES + 1, usize::MAX] {
        let err = d2h_pipeline::run(&mut pipeline, &mut source, RunOptions::frames(frames)).unwrap_err();
        assert!(
            matches!(err, PipelineError::OutOfRange { name: "frames", value, .. } if value == frames),
            "{err}"
        );
        assert!(err.to_string().contains(&frames.to_string()), "{err}");
    }
    assert_eq!(pipeline.frames(), 0);
    for size in [0, 8, d2h_pipeline::MAX_SIZE + 1, usize::MAX / 2] {
        let err = SyntheticVideo::new(size, 2, 1, &Device::Cpu).unwrap_err();
        assert!(
            matches!(err, PipelineError::OutOfRange { value, .. } if value == size),
            "{err}"
        );
    }
    let gate = Gate::new();
    let err = d2h_pipeline::detector::decoder::sine_position_encoding(usize::MAX / 2, 64, &Device::Cpu, &gate);
    assert!(err.is_err());
    let mut cfg = PipelineConfig::tiny();
    cfg.log_frames = 0;
    assert!(matches!(
        Pipeline::new(cfg, &Device::Cpu),
        Err(PipelineError::OutOfRange { name: "log frames", .. })
    ));
}

fn write(dir: &std::path::Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn images_scale_by_their_maxval() {
    let dir = tempfile::tempdir().unwrap();
    let size = 16;
    // A 16 × 16 PGM with maxval 15: sample v is v / 15 (no resampling at
    // the same size).
    let pixels: Vec<u8> = (0..size * size).map(|i| (i % 16) as u8).collect();
    let mut bytes = format!("P5\n{size} {size}\n15\n").into_bytes();
    bytes.extend(&pixels);
    let path = write(dir.path(), "fifteen.pgm", &bytes);
    let mut image = StillImage::open(&path, size, &Device::Cpu).unwrap();
    let frame = image.next_frame().unwrap();
    assert_eq!(frame.dims(), [1, 3, size, size]);
    let values = frame
        .i((0, 0))
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    for (v, p) in values.iter().zip(&pixels) {
        assert!((v - f32::from(*p) / 15.0).abs() < 1e-6, "{v} for {p}");
    }
    let max = frame
        .max_keepdim(3)
        .unwrap()
        .max_keepdim(2)
        .unwrap()
        .flatten_all()
        .unwrap();
    assert_eq!(max.to_vec1::<f32>().unwrap(), vec![1.0; 3]);
    // The same image at maxval 255 is darker.
    let mut bytes = format!("P5\n{size} {size}\n255\n").into_bytes();
    bytes.extend(&pixels);
    let path = write(dir.path(), "dark.pgm", &bytes);
    let dark = StillImage::open(&path, size, &Device::Cpu).unwrap();
    let top = dark
        .frame()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    assert!((top - 15.0 / 255.0).abs() < 1e-6, "{top}");
}

#[test]
fn crafted_image_headers_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let max = usize::MAX;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        // width × height × channels fits, the offset of its end does not.
        ("end.pgm", format!("P5\n{max} 1\n255\n").into_bytes(), "too large"),
        ("end2.ppm", format!("P6 {} 1 255\n", max / 3).into_bytes(), "too large"),
        ("mul.pgm", b"P5 4294967296 4294967296 255\n".to_vec(), "too large"),
        ("truncated.ppm", b"P6 4 4 255\n\x01\x02\x03".to_vec(), "truncated"),
        ("maxval.pgm", b"P5 1 1 256\n\x00\x00".to_vec(), "maxval 256"),
        ("zero.pgm", b"P5 1 1 0\n\x00".to_vec(), "maxval 0"),
        ("glued.pgm", b"P5 1 1 255x\x00".to_vec(), "malformed"),
        ("empty.pgm", b"P5 0 4 255\n".to_vec(), "empty"),
        ("text.ppm", b"P3 1 1 255\n0 0 0\n".to_vec(), "not a binary"),
        ("short.pgm", b"P5 12".to_vec(), "malformed"),
    ];
    for (name, bytes, expect) in cases {
        let path = write(dir.path(), name, &bytes);
        let err = StillImage::open(&path, 16, &Device::Cpu).unwrap_err();
        assert!(matches!(err, PipelineError::Image { .. }), "{name}: {err}");
        assert!(err.to_string().contains(expect), "{name}: {err}");
    }
    // The output size is bounded like a pipeline's.
    let path = write(dir.path(), "ok.pgm", b"P5 1 1 255\n\x80");
    let gate = Gate::new();
    let err = StillImage::open_with_gate(&path, d2h_pipeline::MAX_SIZE * 2, &Device::Cpu, &gate).unwrap_err();
    assert!(matches!(err, PipelineError::OutOfRange { .. }), "{err}");
    assert_eq!(gate.uploads_in(Phase::Setup), 0, "rejected before the upload");
}
