//! DETR's transformer encoder: post-norm layers of self-attention over the
//! backbone's feature tokens (the fixed sine position encoding added to the
//! queries and keys, not the values) and a ReLU MLP. The real-size detector
//! has six; the small one none.

use std::fmt;

use candle_core::{Module, Result, Tensor};
use candle_nn::{layer_norm, LayerNorm, VarBuilder};

use crate::layers::{linear, Linear};

use super::decoder::Attention;
use crate::flops::Flops;
use crate::summary::TensorSummary;

/// Self-attention and an MLP, each with a residual and a post-norm.
#[derive(Clone)]
pub struct EncoderLayer {
    self_attn: Attention,
    norm1: LayerNorm,
    fc1: Linear,
    fc2: Linear,
    norm2: LayerNorm,
}

impl fmt::Debug for EncoderLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncoderLayer")
            .field("self_attn", &self.self_attn)
            .field("fc1", &TensorSummary(self.fc1.weight()))
            .finish_non_exhaustive()
    }
}

impl EncoderLayer {
    pub fn new(dim: usize, heads: usize, ffn_dim: usize, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            self_attn: Attention::new(dim, heads, vb.pp("self_attn"))?,
            norm1: layer_norm(dim, 1e-5, vb.pp("norm1"))?,
            fc1: linear(dim, ffn_dim, vb.pp("fc1"))?,
            fc2: linear(ffn_dim, dim, vb.pp("fc2"))?,
            norm2: layer_norm(dim, 1e-5, vb.pp("norm2"))?,
        })
    }

    /// `tokens`, `pos`: `(1, HW, C)`.
    pub fn forward(&self, tokens: &Tensor, pos: &Tensor) -> Result<Tensor> {
        let qk = (tokens + pos)?;
        let x = self
            .norm1
            .forward(&(tokens + self.self_attn.forward(&qk, &qk, tokens)?)?)?;
        let mlp = self.fc2.forward(&self.fc1.forward(&x)?.relu()?)?;
        self.norm2.forward(&(x + mlp)?)
    }

    /// One layer's work over `tokens` tokens.
    pub fn flops(dim: usize, heads: usize, ffn_dim: usize, tokens: usize) -> Flops {
        Flops::linear(tokens, dim, dim) * 4
            + Flops::attention(heads, tokens, tokens, dim / heads, dim / heads)
            + Flops::linear(tokens, dim, ffn_dim)
            + Flops::linear(tokens, ffn_dim, dim)
    }
}

/// The encoder's layers.
#[derive(Debug, Clone)]
pub struct Encoder {
    layers: Vec<EncoderLayer>,
}

impl Encoder {
    pub fn new(dim: usize, heads: usize, ffn_dim: usize, layers: usize, vb: VarBuilder) -> Result<Self> {
        let layers = (0..layers)
            .map(|i| EncoderLayer::new(dim, heads, ffn_dim, vb.pp(format!("layers.{i}"))))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { layers })
    }

    /// `tokens`, `pos`: `(1, HW, C)` → `(1, HW, C)`.
    pub fn forward(&self, tokens: &Tensor, pos: &Tensor) -> Result<Tensor> {
        let mut x = tokens.clone();
        for layer in &self.layers {
            x = layer.forward(&x, pos)?;
        }
        Ok(x)
    }
}
