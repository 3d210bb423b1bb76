//! The parts of candle-transformers' Segment Anything model the predictor is
//! built from, vendored from candle-transformers 0.11.1 (MIT OR Apache-2.0,
//! <https://github.com/huggingface/candle>), `src/models/segment_anything/`,
//! so that the pipeline does not depend on the whole of candle-transformers
//! (one of the largest crates of the build) for five types. The code is
//! upstream's; what changed is said at the top of each file. Here, from
//! `mod.rs`: only the modules the predictor uses are declared (no
//! `image_encoder`, no `sam`; upstream's `mask_decoder`, which the pipeline
//! replaces by its own port, only for the test that compares the two), the
//! module documentation is this text, `Linear` is candle-nn's own
//! (upstream re-exports `with_tracing::Linear`, a wrapper that opens a tracing
//! span around the same forward), `linear` builds it with candle-nn's
//! `linear`/`linear_no_bias` (what `with_tracing`'s functions call),
//! `MlpBlock` has no tracing span, and `LayerNorm2d` computes its statistics
//! in f32 when its input is f16 or bf16 (as candle-nn's `LayerNorm` does;
//! upstream's squares overflow f16 and zero TinyViT's f16 embedding).
//!
//! Unlike the rest of `pipeline/src`, this code keeps upstream's derived
//! `Debug`s (they print weights; the pipeline's own `Debug`s leave these
//! types out) and its own host-to-device copies, none of them per frame:
//! `Tensor::new` of TinyViT's attention-bias index (`tiny_vit::Attention::new`,
//! at model construction; a low D2H007 of `d2h audit`), `Tensor::arange` in the
//! prompt encoder's dense positional encoding (computed once, in
//! `Predictor::new`), and host-scalar comparisons in
//! `PromptEncoder::embed_points` (point prompts, which the pipeline does not
//! use: it embeds its boxes itself). `tests/it/no_forbidden_api.rs` exempts
//! this directory for that reason.

pub use crate::layers::Linear;
use candle_core::{DType, Result, Tensor};
use candle_nn::{Module, VarBuilder};

#[cfg(test)]
pub mod mask_decoder;
pub mod prompt_encoder;
pub mod tiny_vit;
pub mod transformer;

pub fn linear(vb: VarBuilder, in_dim: usize, out_dim: usize, bias: bool) -> Result<Linear> {
    if bias {
        crate::layers::linear(in_dim, out_dim, vb)
    } else {
        crate::layers::linear_no_bias(in_dim, out_dim, vb)
    }
}

#[derive(Debug)]
pub struct LayerNorm2d {
    weight: Tensor,
    bias: Tensor,
    num_channels: usize,
    eps: f64,
}

impl LayerNorm2d {
    /// A norm with the given `(C,)` scale and shift.
    pub fn from_parts(weight: Tensor, bias: Tensor, eps: f64) -> Self {
        let num_channels = weight.dims().first().copied().unwrap_or(0);
        Self {
            weight,
            bias,
            num_channels,
            eps,
        }
    }

    /// The same norm with its scale and shift in `dtype`.
    pub fn to_dtype(&self, dtype: DType) -> Result<Self> {
        Ok(Self::from_parts(
            self.weight.to_dtype(dtype)?,
            self.bias.to_dtype(dtype)?,
            self.eps,
        ))
    }

    pub fn new(num_channels: usize, eps: f64, vb: VarBuilder) -> Result<Self> {
        let weight = vb.get(num_channels, "weight")?.contiguous()?;
        let bias = vb.get(num_channels, "bias")?.contiguous()?;
        Ok(Self {
            weight,
            bias,
            num_channels,
            eps,
        })
    }
}

impl Module for LayerNorm2d {
    /// One [`crate::channel_norm::ChannelNorm`] op: the arithmetic of
    /// [`LayerNorm2d::forward_unfused`] in one kernel.
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let op = crate::channel_norm::ChannelNorm { eps: self.eps as f32 };
        xs.contiguous()?.apply_op3_no_bwd(&self.weight, &self.bias, &op)
    }
}

impl LayerNorm2d {
    /// The layer op by op (upstream's form, statistics in f32): the
    /// specification [`Module::forward`] is tested against.
    pub fn forward_unfused(&self, xs: &Tensor) -> Result<Tensor> {
        // Statistics in f32 for f16/bf16 inputs, as candle-nn's `LayerNorm`
        // does: the squares overflow f16 beyond 256.
        let dtype = xs.dtype();
        let internal = match dtype {
            DType::F16 | DType::BF16 => DType::F32,
            other => other,
        };
        let xs = xs.to_dtype(internal)?;
        let u = xs.mean_keepdim(1)?;
        let xs = xs.broadcast_sub(&u)?;
        let s = xs.sqr()?.mean_keepdim(1)?;
        let xs = xs.broadcast_div(&(s + self.eps)?.sqrt()?)?.to_dtype(dtype)?;
        xs.broadcast_mul(&self.weight.reshape((1, self.num_channels, 1, 1))?)?
            .broadcast_add(&self.bias.reshape((1, self.num_channels, 1, 1))?)
    }
}

#[derive(Debug)]
pub struct MlpBlock {
    lin1: Linear,
    lin2: Linear,
    activation: candle_nn::Activation,
}

impl MlpBlock {
    pub fn new(
        embedding_dim: usize,
        mlp_dim: usize,
        activation: candle_nn::Activation,
        vb: VarBuilder,
    ) -> Result<Self> {
        let lin1 = linear(vb.pp("lin1"), embedding_dim, mlp_dim, true)?;
        let lin2 = linear(vb.pp("lin2"), mlp_dim, embedding_dim, true)?;
        Ok(Self {
            lin1,
            lin2,
            activation,
        })
    }
}

impl Module for MlpBlock {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        xs.apply(&self.lin1)?
            .apply(&self.activation)?
            .apply(&self.lin2)
    }
}
