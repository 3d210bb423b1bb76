//! SAM's mask decoder, as candle-transformers 0.11.1 writes it
//! (`segment_anything::mask_decoder`), with the same parameter names, made
//! runnable on CUDA for several prompts at once.
//!
//! candle-transformers feeds each hypernetwork MLP (and the IoU head) a slice
//! of the transformer's output tokens, `hs.i((.., i))`: with `K > 1` prompts
//! that is a `(K, C)` view whose rows are `tokens * C` apart. candle's CPU
//! matmul takes any strides, but its cuBLAS path accepts only a row stride
//! equal to the row length and fails with "matmul is only supported for
//! contiguous tensors". Here those slices are made contiguous first (a device
//! copy of a few KiB); everything else is the original's arithmetic.

use candle_core::{IndexOp, Result, Tensor};
use candle_nn::{Module, VarBuilder};

use super::sam::transformer::TwoWayTransformer;
use super::sam::{linear, LayerNorm2d, Linear};
use crate::flops::Flops;
use crate::patch::PatchConvTranspose2d;

/// The two-way transformer's constants, as [`MaskDecoder::new`] builds it.
const TRANSFORMER_DEPTH: usize = 2;
const TRANSFORMER_HEADS: usize = 8;
const TRANSFORMER_MLP_DIM: usize = 2048;
/// Multimask outputs; the decoder predicts one more mask (the single-mask one).
pub const MULTIMASK_OUTPUTS: usize = 3;
/// The IoU head's linear layers.
pub const IOU_HEAD_DEPTH: usize = 3;

/// An MLP of `num_layers` linear layers with ReLU between them.
struct Mlp {
    layers: Vec<Linear>,
}

impl Mlp {
    fn new(input_dim: usize, hidden_dim: usize, output_dim: usize, num_layers: usize, vb: VarBuilder) -> Result<Self> {
        let vb = vb.pp("layers");
        let layers = (0..num_layers)
            .map(|i| {
                let in_dim = if i == 0 { input_dim } else { hidden_dim };
                let out_dim = if i + 1 == num_layers { output_dim } else { hidden_dim };
                linear(vb.pp(i), in_dim, out_dim, true)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Mlp { layers })
    }
}

impl Module for Mlp {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let mut xs = xs.clone();
        for (i, layer) in self.layers.iter().enumerate() {
            xs = layer.forward(&xs)?;
            if i + 1 < self.layers.len() {
                xs = xs.relu()?;
            }
        }
        Ok(xs)
    }
}

/// The mask decoder: a two-way transformer over prompt and image tokens,
/// an upscaling of the image embedding, and one hypernetwork MLP per mask token.
/// `Debug` prints its shape, not its weights.
pub struct MaskDecoder {
    iou_token: candle_nn::Embedding,
    mask_tokens: candle_nn::Embedding,
    iou_prediction_head: Mlp,
    output_upscaling_conv1: PatchConvTranspose2d,
    output_upscaling_ln: LayerNorm2d,
    output_upscaling_conv2: PatchConvTranspose2d,
    num_mask_tokens: usize,
    output_hypernetworks_mlps: Vec<Mlp>,
    transformer: TwoWayTransformer,
}

impl std::fmt::Debug for MaskDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MaskDecoder")
            .field("num_mask_tokens", &self.num_mask_tokens)
            .finish_non_exhaustive()
    }
}

impl MaskDecoder {
    pub fn new(
        transformer_dim: usize,
        num_multimask_outputs: usize,
        iou_head_depth: usize,
        iou_head_hidden_dim: usize,
        vb: VarBuilder,
    ) -> Result<Self> {
        let num_mask_tokens = num_multimask_outputs + 1;
        let iou_prediction_head = Mlp::new(
            transformer_dim,
            iou_head_hidden_dim,
            num_mask_tokens,
            iou_head_depth,
            vb.pp("iou_prediction_head"),
        )?;
        let iou_token = candle_nn::embedding(1, transformer_dim, vb.pp("iou_token"))?;
        let mask_tokens = candle_nn::embedding(num_mask_tokens, transformer_dim, vb.pp("mask_tokens"))?;
        let cfg = candle_nn::ConvTranspose2dConfig {
            stride: 2,
            ..Default::default()
        };
        let output_upscaling_conv1 = candle_nn::conv_transpose2d(
            transformer_dim,
            transformer_dim / 4,
            2,
            cfg,
            vb.pp("output_upscaling.0"),
        )?;
        let output_upscaling_ln = LayerNorm2d::new(transformer_dim / 4, 1e-6, vb.pp("output_upscaling.1"))?;
        let output_upscaling_conv2 = candle_nn::conv_transpose2d(
            transformer_dim / 4,
            transformer_dim / 8,
            2,
            cfg,
            vb.pp("output_upscaling.3"),
        )?;
        let vb_o = vb.pp("output_hypernetworks_mlps");
        let output_hypernetworks_mlps = (0..num_mask_tokens)
            .map(|i| Mlp::new(transformer_dim, transformer_dim, transformer_dim / 8, 3, vb_o.pp(i)))
            .collect::<Result<Vec<_>>>()?;
        let transformer = TwoWayTransformer::new(
            TRANSFORMER_DEPTH,
            /* embedding_dim */ transformer_dim,
            TRANSFORMER_HEADS,
            TRANSFORMER_MLP_DIM,
            vb.pp("transformer"),
        )?;
        Ok(Self {
            iou_token,
            mask_tokens,
            iou_prediction_head,
            output_upscaling_conv1: PatchConvTranspose2d::from_candle(&output_upscaling_conv1)?,
            output_upscaling_ln,
            output_upscaling_conv2: PatchConvTranspose2d::from_candle(&output_upscaling_conv2)?,
            num_mask_tokens,
            output_hypernetworks_mlps,
            transformer,
        })
    }

    /// `(masks, iou_pred)`: `(K, 1, 4g, 4g)` low-resolution logits and `(K, 1)`
    /// (or the three multimask outputs with `multimask_output`).
    pub fn forward(
        &self,
        image_embeddings: &Tensor,
        image_pe: &Tensor,
        sparse_prompt_embeddings: &Tensor,
        dense_prompt_embeddings: &Tensor,
        multimask_output: bool,
    ) -> Result<(Tensor, Tensor)> {
        let (masks, iou_pred) = self.predict_masks(
            image_embeddings,
            image_pe,
            sparse_prompt_embeddings,
            dense_prompt_embeddings,
        )?;
        if multimask_output {
            Ok((masks.i((.., 1..))?, iou_pred.i((.., 1..))?))
        } else {
            Ok((masks.i((.., 0..1))?, iou_pred.i((.., 0..1))?))
        }
    }

    fn predict_masks(
        &self,
        image_embeddings: &Tensor,
        image_pe: &Tensor,
        sparse_prompt_embeddings: &Tensor,
        dense_prompt_embeddings: &Tensor,
    ) -> Result<(Tensor, Tensor)> {
        let output_tokens = Tensor::cat(&[self.iou_token.embeddings(), self.mask_tokens.embeddings()], 0)?;
        let (d1, d2) = output_tokens.dims2()?;
        let output_tokens = output_tokens
            .unsqueeze(0)?
            .expand((sparse_prompt_embeddings.dim(0)?, d1, d2))?;
        let tokens = Tensor::cat(&[&output_tokens, sparse_prompt_embeddings], 1)?;

        // One dense embedding for every prompt (no mask prompts): added once,
        // before the repetition, rather than broadcast over the repeated
        // tokens (candle's strided add over `(K, C, 64, 64)`); the same sums.
        let prompts = tokens.dim(0)?;
        let src = if dense_prompt_embeddings.dim(0)? == 1 && image_embeddings.dim(0)? == 1 {
            repeat_interleave(&(image_embeddings + dense_prompt_embeddings)?, prompts, 0)?
        } else {
            repeat_interleave(image_embeddings, prompts, 0)?.broadcast_add(dense_prompt_embeddings)?
        };
        let pos_src = repeat_interleave(image_pe, prompts, 0)?;
        let (b, c, h, w) = src.dims4()?;

        let (hs, src) = self.transformer.forward(&src, &pos_src, &tokens)?;
        // The token slices the MLPs read, contiguous for cuBLAS (see the module doc).
        let iou_token_out = hs.i((.., 0))?.contiguous()?;
        let mask_tokens_out = hs.i((.., 1..1 + self.num_mask_tokens))?;

        let src = src.transpose(1, 2)?.reshape((b, c, h, w))?;
        let upscaled_embedding = self
            .output_upscaling_conv1
            .forward(&src)?
            .apply(&self.output_upscaling_ln)?
            .gelu()?
            .apply(&self.output_upscaling_conv2)?
            .gelu()?;
        let hyper_in_list = self
            .output_hypernetworks_mlps
            .iter()
            .enumerate()
            .map(|(i, mlp)| mlp.forward(&mask_tokens_out.i((.., i))?.contiguous()?))
            .collect::<Result<Vec<_>>>()?;
        let hyper_in = Tensor::stack(hyper_in_list.as_slice(), 1)?.contiguous()?;
        let (b, c, h, w) = upscaled_embedding.dims4()?;
        let masks = hyper_in.matmul(&upscaled_embedding.reshape((b, c, h * w))?)?;
        let masks = masks.reshape((b, (), h, w))?;
        let iou_pred = self.iou_prediction_head.forward(&iou_token_out)?;
        Ok((masks, iou_pred))
    }
}

impl MaskDecoder {
    /// The work of one frame's decode: `prompts` box prompts (two sparse
    /// tokens each) on a `grid × grid` image embedding of width `dim`. SAM
    /// repeats the image tokens for every prompt, so nearly all of it scales
    /// with the prompts: the projections of the image tokens in the
    /// cross-attentions and the two transposed convolutions of the upscaling.
    pub fn flops(dim: usize, grid: usize, prompts: usize, iou_head_hidden_dim: usize) -> Flops {
        let masks = MULTIMASK_OUTPUTS + 1;
        let tokens = 1 + masks + 2;
        let image = grid * grid;
        let half = dim / 2;
        let heads = TRANSFORMER_HEADS;
        // Cross-attention from the tokens to the image at half width.
        let token_to_image = Flops::linear(tokens, dim, half)
            + Flops::linear(image, dim, half) * 2
            + Flops::attention(heads, tokens, image, half / heads, half / heads)
            + Flops::linear(tokens, half, dim);
        let block = Flops::linear(tokens, dim, dim) * 4
            + Flops::attention(heads, tokens, tokens, dim / heads, dim / heads)
            + token_to_image
            + Flops::linear(tokens, dim, TRANSFORMER_MLP_DIM)
            + Flops::linear(tokens, TRANSFORMER_MLP_DIM, dim)
            // The image attending to the tokens: q and out over the image, k and v over the tokens.
            + Flops::linear(image, dim, half)
            + Flops::linear(tokens, dim, half) * 2
            + Flops::attention(heads, image, tokens, half / heads, half / heads)
            + Flops::linear(image, half, dim);
        let transformer = block * TRANSFORMER_DEPTH + token_to_image;
        let upscaling = Flops::conv_transpose2d(dim, dim / 4, 2, grid, grid)
            + Flops::conv_transpose2d(dim / 4, dim / 8, 2, 2 * grid, 2 * grid);
        let hypernetworks = (Flops::linear(1, dim, dim) * 2 + Flops::linear(1, dim, dim / 8)) * masks;
        let mask_product = Flops::linear(masks, dim / 8, 16 * image);
        let mut iou_head = Flops::linear(1, dim, iou_head_hidden_dim) + Flops::linear(1, iou_head_hidden_dim, masks);
        iou_head += Flops::linear(1, iou_head_hidden_dim, iou_head_hidden_dim) * (IOU_HEAD_DEPTH - 2);
        (transformer + upscaling + hypernetworks + mask_product + iou_head) * prompts
    }
}

/// `torch.repeat_interleave` along `dim`. A dimension of size 1 is repeated
/// by concatenating contiguous copies (block copies on CUDA, where the
/// broadcast-and-flatten form copies element by element on candle's strided
/// path).
fn repeat_interleave(img: &Tensor, repeats: usize, dim: usize) -> Result<Tensor> {
    if img.dim(dim)? == 1 && repeats > 1 {
        let img = img.contiguous()?;
        return Tensor::cat(&vec![&img; repeats], dim);
    }
    let img = img.unsqueeze(dim + 1)?;
    let mut dims = img.dims().to_vec();
    dims[dim + 1] = repeats;
    img.broadcast_as(dims)?.flatten(dim, dim + 1)
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Device};
    use candle_nn::VarMap;

    use super::*;
    use crate::predictor::sam::mask_decoder::MaskDecoder as Original;

    /// The port computes what candle-transformers' decoder computes, on the
    /// same weights (one VarMap hands both the same tensors), for several prompts.
    #[test]
    fn the_port_matches_candle_transformers_on_several_prompts() {
        let dev = Device::Cpu;
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &dev);
        let (dim, grid, prompts) = (32, 4, 3);
        let ours = MaskDecoder::new(dim, 3, 3, 64, vb.pp("mask_decoder")).unwrap();
        let original = Original::new(dim, 3, 3, 64, vb.pp("mask_decoder")).unwrap();
        let embedding = Tensor::randn(0f32, 1.0, (1, dim, grid, grid), &dev).unwrap();
        let pe = Tensor::randn(0f32, 1.0, (1, dim, grid, grid), &dev).unwrap();
        let sparse = Tensor::randn(0f32, 1.0, (prompts, 2, dim), &dev).unwrap();
        let dense = Tensor::randn(0f32, 1.0, (1, dim, grid, grid), &dev).unwrap();
        for multimask in [false, true] {
            let (m1, i1) = ours.forward(&embedding, &pe, &sparse, &dense, multimask).unwrap();
            let (m2, i2) = original.forward(&embedding, &pe, &sparse, &dense, multimask).unwrap();
            assert_eq!(m1.dims(), m2.dims());
            assert_eq!(i1.dims(), i2.dims());
            let diff = crate::test_support::max_abs_diff;
            assert!(diff(&m1, &m2) < 1e-5, "masks differ by {}", diff(&m1, &m2));
            assert!(diff(&i1, &i2) < 1e-5, "IoU predictions differ by {}", diff(&i1, &i2));
        }
    }
}
