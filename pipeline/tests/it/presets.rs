//! The presets and dtypes: the real-size models' forward once each on the
//! CPU (slow by design: every layer of ResNet-18 DETR and of TinyViT-5M runs),
//! what each preset holds, the dtypes each device accepts, and the small
//! preset in f16 end to end (the dtype plumbing a bf16 CUDA run also takes).

use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use d2h_pipeline::detector::{BackboneKind, Detector, DetectorConfig, ResNetDepth};
use d2h_pipeline::predictor::{EncoderKind, Predictor, PredictorConfig};
use d2h_pipeline::transfer::Gate;
use d2h_pipeline::{Pipeline, PipelineConfig, PipelineError, Preset, SyntheticVideo, Weights};

/// Whether every value of `t` is finite (read in the test, on the CPU).
fn all_finite(t: &Tensor) -> bool {
    t.to_dtype(DType::F32)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap()
        .iter()
        .all(|v| v.is_finite())
}

fn frame(size: usize) -> Tensor {
    Tensor::rand(0f32, 1.0, (1, 3, size, size), &Device::Cpu).unwrap()
}

#[test]
fn detector_forward_real_size_slow() {
    let dev = Device::Cpu;
    let gate = Gate::new();
    let cfg = DetectorConfig::real();
    let size = 640;
    let start = Instant::now();
    let weights = Weights::seeded(7, &dev, &gate);
    let detector = Detector::new(&cfg, size, weights.var_builder().pp("detector"), &gate).unwrap();
    let built = start.elapsed();
    let (logits, boxes) = detector.forward(&frame(size)).unwrap();
    let forward = start.elapsed() - built;
    assert_eq!(logits.dims(), [1, 300, 80]);
    assert_eq!(boxes.dims(), [1, 300, 4]);
    assert_eq!((logits.dtype(), boxes.dtype()), (DType::F32, DType::F32));
    assert!(all_finite(&logits) && all_finite(&boxes));
    // The postprocess's two-stage top-k over 300 × 80 scores (rows of 4,096).
    let dets = detector.postprocess().forward(&logits, &boxes).unwrap();
    assert_eq!(dets.boxes.dims(), [20, 4]);
    assert_eq!(dets.labels.dims(), [20]);
    let scores = dets.scores.to_vec1::<f32>().unwrap();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    let params: usize = weights.tensors().values().map(|t| t.elem_count()).sum();
    // ResNet-18 without its classifier (11.2M), 6 encoder layers (0.79M each),
    // 6 decoder layers (1.05M each), queries and heads.
    assert!((21_000_000..24_000_000).contains(&params), "{params} parameters");
    eprintln!("real-size detector: {params} parameters, built in {built:.2?}, forward in {forward:.2?}");
}

#[test]
fn predictor_forward_real_size_slow() {
    let dev = Device::Cpu;
    let gate = Gate::new();
    let cfg = PredictorConfig::mobile_sam();
    let size = 640;
    let start = Instant::now();
    let weights = Weights::seeded(7, &dev, &gate);
    let predictor = Predictor::new(&cfg, size, weights.var_builder(), &gate).unwrap();
    let built = start.elapsed();
    let boxes = Tensor::new(&[[40f32, 60., 300., 420.], [0., 0., 640., 640.]], &dev).unwrap();
    let frame = frame(size);
    let embedding = predictor.embed(&frame).unwrap();
    assert_eq!(embedding.dims(), [1, 256, 64, 64]);
    assert!(all_finite(&embedding));
    let out = predictor.decode_boxes(&embedding, &boxes).unwrap();
    let forward = start.elapsed() - built;
    assert_eq!(out.masks.dims(), [2, size, size]);
    assert_eq!(out.masks.dtype(), DType::U8);
    assert_eq!(out.iou_pred.dims(), [2, 1]);
    assert_eq!(out.low_res_logits.dims(), [2, 1, 256, 256]);
    assert!(all_finite(&out.iou_pred) && all_finite(&out.low_res_logits));
    eprintln!("real-size predictor (TinyViT-5M at 1024, 2 prompts): built in {built:.2?}, forward in {forward:.2?}");
}

#[test]
fn the_presets_hold_what_their_names_say() {
    let small = PipelineConfig::preset(Preset::Small, 640);
    assert_eq!(small, PipelineConfig::standard(640));
    assert_eq!(small.detector, DetectorConfig::small());
    assert_eq!(small.predictor, PredictorConfig::compact());
    assert_eq!(small.preset_of(), Some(Preset::Small));
    let real = PipelineConfig::preset(Preset::Real, 640);
    assert_eq!(real.preset_of(), Some(Preset::Real));
    let d = real.detector;
    assert_eq!(d.backbone, BackboneKind::ResNet(ResNetDepth::R18));
    assert_eq!(
        (d.d_model, d.encoder_layers, d.decoder_layers, d.queries),
        (256, 6, 6, 300)
    );
    assert_eq!(real.predictor.encoder, EncoderKind::TinyVit5m);
    assert_eq!(real.predictor.input_size(640), 1024);
    real.validate().unwrap();
    assert_eq!(PipelineConfig::tiny().preset_of(), None);
    assert_eq!(Preset::default_for(&Device::Cpu), Preset::Small);
    assert_eq!("real".parse::<Preset>(), Ok(Preset::Real));
    assert!("huge".parse::<Preset>().is_err());
    // Work per frame: the real models are far heavier, and the predictor's
    // share grows with the prompts it decodes.
    let (fs, fr) = (small.flops(), real.flops());
    assert!(fs.total().total() > 0 && fr.detector.total() > 10 * fs.detector.total());
    assert!(fr.predictor.total() > 10 * fs.predictor.total());
    assert!(real.predictor.flops(640, 2).total() < real.predictor.flops(640, 20).total());
}

#[test]
fn bf16_is_refused_on_the_cpu_and_f16_runs_the_small_preset() {
    let dev = Device::Cpu;
    let mut cfg = PipelineConfig::preset(Preset::Small, 64);
    cfg.dtype = DType::BF16;
    let err = Pipeline::new(cfg.clone(), &dev).unwrap_err();
    assert!(
        matches!(err, PipelineError::UnsupportedDType { dtype: "bf16", .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains("bf16") && err.to_string().contains("cpu"),
        "{err}"
    );
    cfg.dtype = DType::U8;
    assert!(matches!(
        Pipeline::new(cfg.clone(), &dev),
        Err(PipelineError::Config(_))
    ));
    // f16: the models in f16, the frame, postprocess and tracker in f32.
    cfg.dtype = DType::F16;
    let mut pipeline = Pipeline::new(cfg, &dev).unwrap();
    let video = SyntheticVideo::new(64, 4, 3, &dev).unwrap();
    for t in 0..3 {
        let packet = pipeline.process_frame(&video.frame(t).unwrap()).unwrap();
        assert_eq!(packet.boxes.dims(), [8, 4]);
        assert_eq!(packet.boxes.dtype(), DType::F32);
        assert_eq!(packet.scores.dtype(), DType::F32);
        assert_eq!(packet.masks.dims(), [8, 64, 64]);
        assert_eq!(packet.track_ids.dims(), [8]);
    }
    let f16_weights = pipeline.weights().tensors();
    assert!(f16_weights
        .iter()
        .filter(|(name, _)| name.starts_with("detector.") || name.starts_with("image_encoder."))
        .all(|(_, t)| t.dtype() == DType::F16));
}
