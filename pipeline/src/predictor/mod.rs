//! MobileSAM assembled from candle-transformers' `segment_anything` parts
//! (vendored in [`sam`]): an image [`encoder`], the `PromptEncoder` and the
//! `MaskDecoder` (a port, [`mask_decoder`]), fed box prompts as device tensors
//! straight from the detector. (candle's `Sam::forward` takes host points, so
//! the parts are assembled here instead.)
//!
//! [`PredictorConfig::mobile_sam`] is the real MobileSAM (TinyViT-5M, 1024
//! input, 256-wide prompt embedding) that `--weights` checkpoints load into;
//! frames of any size are resized to 1024 and boxes scaled to match.
//! [`PredictorConfig::compact`] keeps the prompt encoder and mask decoder but
//! swaps the encoder for a small CNN at the frame's own size with a narrow
//! embedding, so that CPU runs stay fast: with `--size 640` it encodes the
//! 640 × 640 frame into a `(1, 32, 40, 40)` embedding and the low-res masks
//! are 160 × 160.
//!
//! The image encoder and the mask decoder run in the weights' dtype. The
//! frame's normalisation and resize, the prompt encoder's positional
//! encodings and the box embedding are computed in f32 and cast to it; the
//! mask logits and IoU predictions come back as f32 (all on the device).

pub mod encoder;
pub mod mask_decoder;
// Vendored code keeps upstream's formatting, so that it diffs cleanly against candle.
#[rustfmt::skip]
pub mod sam;

use std::fmt;

use candle_core::{DType, Module, Result, Tensor, D};
use candle_nn::VarBuilder;

pub use encoder::{CompactEncoder, ImageEncoder};

pub use crate::legacy::HostPredictions;

use crate::device_ops::ge_const;
use crate::flops::Flops;
use crate::summary::TensorSummary;
use crate::symbol;
use crate::transfer::Gate;
use mask_decoder::MaskDecoder;
use sam::prompt_encoder::PromptEncoder;

/// Which image encoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncoderKind {
    /// MobileSAM's TinyViT-5M; needs `image_size == 1024` and `embed_dim == 256`.
    TinyVit5m,
    /// [`CompactEncoder`] with these widths.
    Compact([usize; 3]),
}

/// The predictor's sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PredictorConfig {
    pub encoder: EncoderKind,
    /// The encoder's input side; `None` means the frame's own size.
    pub image_size: Option<usize>,
    /// The prompt embedding width (the mask decoder's transformer width).
    pub embed_dim: usize,
    /// Channels of the (unused) mask-prompt downscaler, kept for checkpoint compatibility.
    pub mask_in_chans: usize,
    pub iou_head_hidden_dim: usize,
}

impl PredictorConfig {
    /// MobileSAM as released (what `--weights` files hold).
    pub fn mobile_sam() -> Self {
        PredictorConfig {
            encoder: EncoderKind::TinyVit5m,
            image_size: Some(1024),
            embed_dim: 256,
            mask_in_chans: 16,
            iou_head_hidden_dim: 256,
        }
    }

    /// The compact default: CNN encoder at the frame's size, 32-wide prompts.
    pub fn compact() -> Self {
        PredictorConfig {
            encoder: EncoderKind::Compact([8, 16, 32]),
            image_size: None,
            embed_dim: 32,
            mask_in_chans: 16,
            iou_head_hidden_dim: 32,
        }
    }

    /// One frame's work on `frame_size × frame_size` frames with `prompts`
    /// box prompts ([`crate::flops`]): the image encoder, the box embedding
    /// and the mask decoder (whose cost grows with the prompts).
    pub fn flops(&self, frame_size: usize, prompts: usize) -> Flops {
        let size = self.input_size(frame_size);
        let grid = size / 16;
        let encoder = match self.encoder {
            EncoderKind::TinyVit5m => encoder::tiny_vit_5m_flops(),
            EncoderKind::Compact(widths) => CompactEncoder::flops(widths, self.embed_dim, size),
        };
        // Two corners per box through the 2 × C/2 random Fourier projection.
        let boxes = Flops::linear(2 * prompts, 2, self.embed_dim / 2);
        encoder + boxes + MaskDecoder::flops(self.embed_dim, grid, prompts, self.iou_head_hidden_dim)
    }

    /// The encoder input side for `frame_size` frames.
    pub fn input_size(&self, frame_size: usize) -> usize {
        self.image_size.unwrap_or(frame_size)
    }

    pub(crate) fn validate(&self, frame_size: usize) -> std::result::Result<(), String> {
        let size = self.input_size(frame_size);
        if !size.is_multiple_of(16) || size == 0 {
            return Err(format!("predictor input size {size} must be a positive multiple of 16"));
        }
        // The mask decoder's transformer has 8 heads and a cross-attention at half width.
        if !self.embed_dim.is_multiple_of(16) || self.embed_dim == 0 {
            return Err(format!(
                "predictor embed_dim {} must be a positive multiple of 16",
                self.embed_dim
            ));
        }
        if !self.mask_in_chans.is_multiple_of(4) || self.mask_in_chans == 0 {
            return Err("predictor mask_in_chans must be a positive multiple of 4".to_string());
        }
        if self.encoder == EncoderKind::TinyVit5m && (size != 1024 || self.embed_dim != 256) {
            return Err("TinyViT-5M needs a 1024 input and a 256-wide embedding".to_string());
        }
        Ok(())
    }
}

/// The predictor's outputs, on the device. `Debug` prints shapes, not values.
#[derive(Clone)]
pub struct Predictions {
    /// `(K, H, W)` u8: the mask at the frame's size, thresholded at 0.
    pub masks: Tensor,
    /// `(K, 1)` f32: predicted mask quality.
    pub iou_pred: Tensor,
    /// `(K, 1, s/4, s/4)` f32 logits, `s` the encoder input side.
    pub low_res_logits: Tensor,
}

impl fmt::Debug for Predictions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Predictions")
            .field("masks", &TensorSummary(&self.masks))
            .field("iou_pred", &TensorSummary(&self.iou_pred))
            .field("low_res_logits", &TensorSummary(&self.low_res_logits))
            .finish()
    }
}

/// SAM's pixel normalisation (0–255 scale), per RGB channel.
const PIXEL_MEAN: [f32; 3] = [123.675, 116.28, 103.53];
const PIXEL_STD: [f32; 3] = [58.395, 57.12, 57.375];

/// Encoder, prompt encoder and mask decoder.
pub struct Predictor {
    encoder: ImageEncoder,
    prompt_encoder: PromptEncoder,
    mask_decoder: MaskDecoder,
    pub(crate) image_pe: Tensor,
    /// `(1, C, g, g)`: the prompt encoder's "no mask" dense embedding.
    pub(crate) dense: Tensor,
    /// `(2, C/2)`: the random Fourier features of the prompt encoder.
    pe_gaussian: Tensor,
    /// `(2, C)`: the learned top-left / bottom-right corner embeddings.
    corner_embeddings: Tensor,
    pixel_mean: Tensor,
    pixel_std: Tensor,
    input_size: usize,
    frame_size: usize,
    /// The image encoder's and mask decoder's dtype.
    dtype: DType,
}

impl fmt::Debug for Predictor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Predictor")
            .field("encoder", &self.encoder)
            .field("image_pe", &TensorSummary(&self.image_pe))
            .field("dense", &TensorSummary(&self.dense))
            .field("input_size", &self.input_size)
            .field("frame_size", &self.frame_size)
            .field("dtype", &self.dtype)
            .finish_non_exhaustive()
    }
}

impl Predictor {
    /// Builds the predictor for `frame_size × frame_size` frames, its image
    /// encoder and mask decoder in `vb`'s dtype. The pixel normalisation
    /// constants are uploaded through `gate`.
    pub fn new(cfg: &PredictorConfig, frame_size: usize, vb: VarBuilder, gate: &Gate) -> Result<Self> {
        let dtype = vb.dtype();
        // The prompt side in f32: its positional encodings are computed from
        // f32 coordinates (once, here), and the boxes come as f32.
        let vb_f32 = vb.clone().set_dtype(DType::F32);
        let input_size = cfg.input_size(frame_size);
        let grid = input_size / 16;
        let encoder = match cfg.encoder {
            EncoderKind::TinyVit5m => ImageEncoder::tiny_vit_5m(vb.pp("image_encoder"))?,
            EncoderKind::Compact(widths) => {
                ImageEncoder::Compact(CompactEncoder::new(widths, cfg.embed_dim, vb.pp("image_encoder"))?)
            }
        };
        let prompt_encoder = PromptEncoder::new(
            cfg.embed_dim,
            (grid, grid),
            (input_size, input_size),
            cfg.mask_in_chans,
            vb_f32.pp("prompt_encoder"),
        )?;
        let mask_decoder = MaskDecoder::new(
            cfg.embed_dim,
            mask_decoder::MULTIMASK_OUTPUTS,
            mask_decoder::IOU_HEAD_DEPTH,
            cfg.iou_head_hidden_dim,
            vb.pp("mask_decoder"),
        )?;
        // The dense positional encoding and the no-mask dense embedding depend
        // only on the grid: computed once.
        let image_pe = prompt_encoder.get_dense_pe()?.to_dtype(dtype)?;
        let (_, dense) = prompt_encoder.forward(None, None, None)?;
        let dense = dense.to_dtype(dtype)?;
        // The same tensors the prompt encoder holds (the weights backend hands
        // out one tensor per name), for the batched box embedding.
        let vb_pe = vb_f32.pp("prompt_encoder");
        let half = cfg.embed_dim / 2;
        let pe_gaussian = vb_pe
            .pp("pe_layer")
            .get((2, half), "positional_encoding_gaussian_matrix")?;
        let corner = |i: usize| {
            vb_pe.pp("point_embeddings").pp(i).get_with_hints(
                (1, cfg.embed_dim),
                "weight",
                candle_nn::Init::Randn { mean: 0.0, stdev: 1.0 },
            )
        };
        let corner_embeddings = Tensor::cat(&[corner(2)?, corner(3)?], 0)?;
        let device = vb.device();
        let pixel_mean = gate.upload_slice(&PIXEL_MEAN, (1, 3, 1, 1), device, symbol!(), "pixel mean")?; // d2h-site: setup-pixel-mean
        let pixel_std = gate.upload_slice(&PIXEL_STD, (1, 3, 1, 1), device, symbol!(), "pixel std")?; // d2h-site: setup-pixel-std
        Ok(Self {
            encoder,
            prompt_encoder,
            mask_decoder,
            image_pe,
            dense,
            pe_gaussian,
            corner_embeddings,
            pixel_mean,
            pixel_std,
            input_size,
            frame_size,
            dtype,
        })
    }

    /// The image embedding of a `(1, 3, S, S)` f32 frame in `[0, 1]`, in the
    /// predictor's dtype.
    pub fn embed(&self, frame: &Tensor) -> Result<Tensor> {
        let x = (frame * 255.0)?
            .broadcast_sub(&self.pixel_mean)?
            .broadcast_div(&self.pixel_std)?;
        let x = if self.input_size != self.frame_size {
            x.upsample_bilinear2d(self.input_size, self.input_size, false)?
        } else {
            x
        };
        self.encoder.forward(&x.to_dtype(self.dtype)?)
    }

    /// The sparse prompt embeddings of `boxes: (K, 4)` f32 xyxy frame pixels,
    /// `(K, 2, C)` in the predictor's dtype.
    ///
    /// The batched equivalent of candle-transformers' `PromptEncoder` box
    /// embedding, which takes a single box (its corner-embedding addition does
    /// not broadcast) and returns the two corners concatenated as `(1, 2C)`
    /// rather than SAM's `(B, 2, C)` tokens: scale to the encoder input, shift
    /// to pixel centres, normalise, random Fourier features, plus the corner
    /// embeddings.
    pub fn box_embeddings(&self, boxes: &Tensor) -> Result<Tensor> {
        let scale = self.input_size as f64 / self.frame_size as f64;
        let corners = ((boxes * scale)? + 0.5)?.reshape(((), 2, 2))?;
        let normalised = (corners / self.input_size as f64)?.affine(2.0, -1.0)?;
        let projected = (normalised.broadcast_matmul(&self.pe_gaussian)? * (2.0 * std::f64::consts::PI))?;
        let features = Tensor::cat(&[projected.sin()?, projected.cos()?], D::Minus1)?;
        features
            .broadcast_add(&self.corner_embeddings.unsqueeze(0)?)?
            .to_dtype(self.dtype)
    }

    /// The prompt encoder (for its single-prompt API).
    pub fn prompt_encoder(&self) -> &PromptEncoder {
        &self.prompt_encoder
    }

    pub(crate) fn decode(
        &self,
        embedding: &Tensor,
        image_pe: &Tensor,
        sparse: &Tensor,
        dense: &Tensor,
    ) -> Result<Predictions> {
        let (low_res_logits, iou_pred) = self.mask_decoder.forward(embedding, image_pe, sparse, dense, false)?;
        let low_res_logits = low_res_logits.to_dtype(DType::F32)?;
        let iou_pred = iou_pred.to_dtype(DType::F32)?;
        let masks = ge_const(
            &low_res_logits.upsample_nearest2d(self.frame_size, self.frame_size)?,
            0.0,
        )?
        .squeeze(1)?;
        Ok(Predictions {
            masks,
            iou_pred,
            low_res_logits,
        })
    }

    /// Masks for `boxes: (K, 4)` xyxy pixel prompts on `frame`, all on the device.
    pub fn forward(&self, frame: &Tensor, boxes: &Tensor) -> Result<Predictions> {
        let embedding = self.embed(frame)?;
        self.decode_boxes(&embedding, boxes)
    }

    /// Masks for `boxes: (K, 4)` xyxy pixel prompts on an image `embedding`
    /// from [`Predictor::embed`].
    pub fn decode_boxes(&self, embedding: &Tensor, boxes: &Tensor) -> Result<Predictions> {
        let sparse = self.box_embeddings(boxes)?;
        self.decode(embedding, &self.image_pe, &sparse, &self.dense)
    }
}
