//! A DETR-style transformer decoder: `N` learned queries attend to each other
//! and to the memory tokens (the backbone's feature map, after the encoder
//! when there is one; keys carry a fixed sine position encoding), then two
//! heads give class logits and `cxcywh` boxes in `[0, 1]`.

use std::fmt;

use candle_core::{Device, Module, Result, Tensor};
use candle_nn::{layer_norm, LayerNorm, VarBuilder};

use crate::layers::{linear, Linear};

use crate::flops::Flops;
use crate::summary::TensorSummary;
use crate::symbol;
use crate::transfer::Gate;

/// Multi-head attention with separate q/k/v/out projections.
#[derive(Clone)]
pub struct Attention {
    q: Linear,
    k: Linear,
    v: Linear,
    out: Linear,
    heads: usize,
}

impl fmt::Debug for Attention {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attention")
            .field("q", &TensorSummary(self.q.weight()))
            .field("heads", &self.heads)
            .finish_non_exhaustive()
    }
}

impl Attention {
    pub fn new(dim: usize, heads: usize, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            q: linear(dim, dim, vb.pp("q_proj"))?,
            k: linear(dim, dim, vb.pp("k_proj"))?,
            v: linear(dim, dim, vb.pp("v_proj"))?,
            out: linear(dim, dim, vb.pp("out_proj"))?,
            heads,
        })
    }

    fn split(&self, xs: &Tensor) -> Result<Tensor> {
        let (b, n, c) = xs.dims3()?;
        xs.reshape((b, n, self.heads, c / self.heads))?
            .transpose(1, 2)?
            .contiguous()
    }

    /// `q: (B, Nq, C)`, `k, v: (B, Nk, C)` → `(B, Nq, C)`.
    pub fn forward(&self, q: &Tensor, k: &Tensor, v: &Tensor) -> Result<Tensor> {
        let q = self.split(&self.q.forward(q)?)?;
        let k = self.split(&self.k.forward(k)?)?;
        let v = self.split(&self.v.forward(v)?)?;
        let (b, h, n, c) = q.dims4()?;
        let attn = (q.matmul(&k.t()?)? / (c as f64).sqrt())?;
        let attn = candle_nn::ops::softmax_last_dim(&attn)?;
        attn.matmul(&v)?
            .transpose(1, 2)?
            .reshape((b, n, h * c))?
            .apply(&self.out)
    }
}

/// Self-attention, cross-attention and an MLP, each with a residual and a post-norm.
#[derive(Clone)]
pub struct DecoderLayer {
    self_attn: Attention,
    norm1: LayerNorm,
    cross_attn: Attention,
    norm2: LayerNorm,
    fc1: Linear,
    fc2: Linear,
    norm3: LayerNorm,
}

impl fmt::Debug for DecoderLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecoderLayer")
            .field("self_attn", &self.self_attn)
            .field("cross_attn", &self.cross_attn)
            .field("fc1", &TensorSummary(self.fc1.weight()))
            .finish_non_exhaustive()
    }
}

impl DecoderLayer {
    pub fn new(dim: usize, heads: usize, ffn_dim: usize, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            self_attn: Attention::new(dim, heads, vb.pp("self_attn"))?,
            norm1: layer_norm(dim, 1e-5, vb.pp("norm1"))?,
            cross_attn: Attention::new(dim, heads, vb.pp("cross_attn"))?,
            norm2: layer_norm(dim, 1e-5, vb.pp("norm2"))?,
            fc1: linear(dim, ffn_dim, vb.pp("fc1"))?,
            fc2: linear(ffn_dim, dim, vb.pp("fc2"))?,
            norm3: layer_norm(dim, 1e-5, vb.pp("norm3"))?,
        })
    }

    /// `queries: (1, N, C)`, `memory`/`memory_pos: (1, HW, C)`.
    pub fn forward(&self, queries: &Tensor, memory: &Tensor, memory_pos: &Tensor) -> Result<Tensor> {
        let x = queries;
        let x = self.norm1.forward(&(x + self.self_attn.forward(x, x, x)?)?)?;
        let keys = (memory + memory_pos)?;
        let x = self
            .norm2
            .forward(&(&x + self.cross_attn.forward(&x, &keys, memory)?)?)?;
        let mlp = self.fc2.forward(&self.fc1.forward(&x)?.relu()?)?;
        self.norm3.forward(&(x + mlp)?)
    }

    /// One layer's work: `queries` queries over `memory` memory tokens.
    pub fn flops(dim: usize, heads: usize, ffn_dim: usize, queries: usize, memory: usize) -> Flops {
        let head = dim / heads;
        // Self-attention: q, k, v and out projections of the queries.
        Flops::linear(queries, dim, dim) * 4
            + Flops::attention(heads, queries, queries, head, head)
            // Cross-attention: q and out over the queries, k and v over the memory.
            + Flops::linear(queries, dim, dim) * 2
            + Flops::linear(memory, dim, dim) * 2
            + Flops::attention(heads, queries, memory, head, head)
            + Flops::linear(queries, dim, ffn_dim)
            + Flops::linear(queries, ffn_dim, dim)
    }
}

/// The decoder: learned queries, layers, class and box heads.
#[derive(Clone)]
pub struct Decoder {
    queries: Tensor,
    layers: Vec<DecoderLayer>,
    class_head: Linear,
    box_fc1: Linear,
    box_fc2: Linear,
    memory_pos: Tensor,
}

impl fmt::Debug for Decoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decoder")
            .field("queries", &TensorSummary(&self.queries))
            .field("layers", &self.layers)
            .field("class_head", &TensorSummary(self.class_head.weight()))
            .field("memory_pos", &TensorSummary(&self.memory_pos))
            .finish_non_exhaustive()
    }
}

impl Decoder {
    /// `grid` is the side of the feature map; the position encoding is
    /// uploaded through `gate` (f32) and cast to the weights' dtype.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        d_model: usize,
        heads: usize,
        ffn_dim: usize,
        layers: usize,
        queries: usize,
        classes: usize,
        grid: usize,
        vb: VarBuilder,
        gate: &Gate,
    ) -> Result<Self> {
        let query_embed = vb.get_with_hints(
            (queries, d_model),
            "query_embed",
            candle_nn::Init::Randn { mean: 0.0, stdev: 1.0 },
        )?;
        let layers = (0..layers)
            .map(|i| DecoderLayer::new(d_model, heads, ffn_dim, vb.pp(format!("layers.{i}"))))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            queries: query_embed.unsqueeze(0)?,
            layers,
            class_head: linear(d_model, classes, vb.pp("class_head"))?,
            box_fc1: linear(d_model, d_model, vb.pp("box_head.0"))?,
            box_fc2: linear(d_model, 4, vb.pp("box_head.1"))?,
            memory_pos: sine_position_encoding(grid, d_model, vb.device(), gate)?
                .to_dtype(vb.dtype())?
                .unsqueeze(0)?,
        })
    }

    /// The memory tokens' position encoding, `(1, g², C)`.
    pub fn memory_pos(&self) -> &Tensor {
        &self.memory_pos
    }

    /// `memory: (1, g², C)` → `(logits (1, N, classes), boxes (1, N, 4) cxcywh in [0, 1])`.
    pub fn forward(&self, memory: &Tensor) -> Result<(Tensor, Tensor)> {
        let mut x = self.queries.clone();
        for layer in &self.layers {
            x = layer.forward(&x, memory, &self.memory_pos)?;
        }
        let logits = self.class_head.forward(&x)?;
        let boxes = candle_nn::ops::sigmoid(&self.box_fc2.forward(&self.box_fc1.forward(&x)?.relu()?)?)?;
        Ok((logits, boxes))
    }
}

/// The 2-D sine position encoding of DETR for a `grid × grid` map, `(grid², dim)`.
/// Computed once on the host at setup and uploaded through `gate`.
pub fn sine_position_encoding(grid: usize, dim: usize, device: &Device, gate: &Gate) -> Result<Tensor> {
    // The pipeline's configuration bounds the grid (`MAX_SIZE / 16`); a
    // direct caller with an absurd one gets an error, not a capacity overflow.
    let Some(len) = grid.checked_mul(grid).and_then(|n| n.checked_mul(dim)) else {
        candle_core::bail!("position encoding of a {grid} x {grid} grid of width {dim} is too large")
    };
    let half = dim / 2;
    let mut values = Vec::with_capacity(len);
    for y in 0..grid {
        for x in 0..grid {
            for (pos, width) in [(y, half), (x, dim - half)] {
                for i in 0..width {
                    let freq = 10000f64.powf((2 * (i / 2)) as f64 / width.max(1) as f64);
                    let angle = (pos as f64 + 0.5) / grid as f64 * 2.0 * std::f64::consts::PI / freq;
                    values.push(if i % 2 == 0 { angle.sin() } else { angle.cos() } as f32);
                }
            }
        }
    }
    let shape = (grid * grid, dim);
    let encoding = gate.upload_vec(values, shape, device, symbol!(), "position encoding")?; // d2h-site: setup-position-encoding
    Ok(encoding)
}
