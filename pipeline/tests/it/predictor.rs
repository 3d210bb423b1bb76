//! Predictor output shapes, the MobileSAM configuration's tensor names, and f16 normalisation.

use crate::common::max_abs_diff;
use candle_core::{DType, Device, Tensor};
use d2h_pipeline::predictor::{EncoderKind, Predictor, PredictorConfig};
use d2h_pipeline::transfer::Gate;
use d2h_pipeline::Weights;

#[test]
fn compact_predictor_output_shapes() {
    let dev = Device::Cpu;
    let gate = Gate::new();
    let weights = Weights::seeded(3, &dev, &gate);
    let cfg = PredictorConfig::compact();
    let size = 64;
    let predictor = Predictor::new(&cfg, size, weights.var_builder(), &gate).unwrap();
    let frame = Tensor::rand(0f32, 1.0, (1, 3, size, size), &dev).unwrap();
    let boxes = Tensor::new(&[[4f32, 4., 30., 30.], [10., 20., 60., 50.], [0., 0., 64., 64.]], &dev).unwrap();
    let out = predictor.forward(&frame, &boxes).unwrap();
    assert_eq!(out.masks.dims(), [3, size, size]);
    assert_eq!(out.masks.dtype(), DType::U8);
    assert_eq!(out.iou_pred.dims(), [3, 1]);
    assert_eq!(out.low_res_logits.dims(), [3, 1, size / 4, size / 4]);
    assert_eq!(predictor.embed(&frame).unwrap().dims(), [1, 32, size / 16, size / 16]);
    // Masks are the low-res logits thresholded at 0 and upsampled.
    let low = out
        .low_res_logits
        .ge(0f32)
        .unwrap()
        .upsample_nearest2d(size, size)
        .unwrap()
        .squeeze(1)
        .unwrap();
    let diff = (low.to_dtype(DType::F32).unwrap() - out.masks.to_dtype(DType::F32).unwrap())
        .unwrap()
        .abs()
        .unwrap()
        .sum_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    assert_eq!(diff, 0.0);
}

#[test]
fn predictor_resizes_frames_to_its_input_size() {
    let dev = Device::Cpu;
    let gate = Gate::new();
    let weights = Weights::seeded(3, &dev, &gate);
    let cfg = PredictorConfig {
        image_size: Some(128),
        ..PredictorConfig::compact()
    };
    let predictor = Predictor::new(&cfg, 64, weights.var_builder(), &gate).unwrap();
    let frame = Tensor::rand(0f32, 1.0, (1, 3, 64, 64), &dev).unwrap();
    let boxes = Tensor::new(&[[4f32, 4., 30., 30.]], &dev).unwrap();
    let out = predictor.forward(&frame, &boxes).unwrap();
    assert_eq!(out.masks.dims(), [1, 64, 64]);
    assert_eq!(out.low_res_logits.dims(), [1, 1, 32, 32]);
}

#[test]
fn mobile_sam_configuration_uses_the_checkpoint_names() {
    let dev = Device::Cpu;
    let gate = Gate::new();
    let weights = Weights::seeded(3, &dev, &gate);
    let cfg = PredictorConfig::mobile_sam();
    assert_eq!(cfg.encoder, EncoderKind::TinyVit5m);
    Predictor::new(&cfg, 640, weights.var_builder(), &gate).unwrap();
    let names = weights.tensors();
    for name in [
        "image_encoder.patch_embed.seq.0.c.weight",
        "image_encoder.neck.0.weight",
        "image_encoder.neck.3.bias",
        "prompt_encoder.pe_layer.positional_encoding_gaussian_matrix",
        "prompt_encoder.point_embeddings.3.weight",
        "mask_decoder.iou_token.weight",
        "mask_decoder.transformer.layers.1.cross_attn_image_to_token.out_proj.weight",
        "mask_decoder.output_hypernetworks_mlps.3.layers.2.weight",
    ] {
        assert!(names.contains_key(name), "missing {name}");
    }
    let params: usize = names.values().map(|t| t.elem_count()).sum();
    // MobileSAM: TinyViT-5M encoder plus the SAM prompt encoder and mask decoder, ~10M.
    assert!((9_000_000..11_000_000).contains(&params), "{params} parameters");
}

#[test]
fn batched_box_embeddings_match_candles_prompt_encoder_box_by_box() {
    let dev = Device::Cpu;
    let gate = Gate::new();
    let weights = Weights::seeded(5, &dev, &gate);
    let cfg = PredictorConfig {
        image_size: Some(128),
        ..PredictorConfig::compact()
    };
    let predictor = Predictor::new(&cfg, 64, weights.var_builder(), &gate).unwrap();
    let boxes = Tensor::new(&[[4f32, 4., 30., 30.], [10., 20., 60., 50.]], &dev).unwrap();
    let batched = predictor.box_embeddings(&boxes).unwrap();
    assert_eq!(batched.dims(), [2, 2, 32]);
    for i in 0..2 {
        // candle's encoder takes boxes in encoder-input pixels, one at a time.
        let single = (boxes.narrow(0, i, 1).unwrap() * 2.0).unwrap();
        let (sparse, _) = predictor.prompt_encoder().forward(None, Some(&single), None).unwrap();
        // candle concatenates the two corners along the channels: (1, 2C).
        assert_eq!(sparse.dims(), [1, 64]);
        let diff = max_abs_diff(&sparse.reshape((2, 32)).unwrap(), &batched.get(i).unwrap());
        assert!(diff < 1e-4, "box {i}: {diff}");
    }
}

#[test]
fn layer_norm_2d_keeps_f16_inputs_beyond_256_finite() {
    use candle_core::Module;
    use d2h_pipeline::predictor::sam::LayerNorm2d;
    let dev = Device::Cpu;
    let weights = Weights::seeded(3, &dev, &Gate::new());
    let norm32 = LayerNorm2d::new(8, 1e-6, weights.var_builder().pp("ln")).unwrap();
    let norm16 = LayerNorm2d::new(8, 1e-6, weights.var_builder().set_dtype(DType::F16).pp("ln")).unwrap();
    // Channels around ±1000: their squares overflow f16 (max 65,504).
    let xs = (Tensor::randn(0f32, 1.0, (1, 8, 4, 4), &dev).unwrap() * 1000.0).unwrap();
    let want = norm32.forward(&xs).unwrap();
    let got = norm16.forward(&xs.to_dtype(DType::F16).unwrap()).unwrap();
    assert_eq!(got.dtype(), DType::F16);
    let diff = max_abs_diff(&got, &want);
    assert!(diff < 0.01, "{diff}");
    assert!(want.abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap() > 0.5);
}
