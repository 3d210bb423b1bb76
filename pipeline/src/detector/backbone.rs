//! A small convolutional backbone (the small preset's): four stride-2 3×3
//! convolutions with SiLU, taking a `(1, 3, S, S)` frame to a
//! `(1, d_model, S/16, S/16)` feature map.

use candle_core::{Module, Result, Tensor};
use candle_nn::{Conv2d, Conv2dConfig, VarBuilder};

use crate::flops::Flops;

/// The backbone's four stages.
#[derive(Clone)]
pub struct Backbone {
    stages: Vec<Conv2d>,
}

impl std::fmt::Debug for Backbone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backbone")
            .field("stages", &self.stages.len())
            .finish_non_exhaustive()
    }
}

impl Backbone {
    /// Widths `w, 2w, 4w, d_model`.
    pub fn new(width: usize, d_model: usize, vb: VarBuilder) -> Result<Self> {
        let cfg = Conv2dConfig {
            padding: 1,
            stride: 2,
            ..Default::default()
        };
        let channels = [3, width, 2 * width, 4 * width, d_model];
        let stages = channels
            .windows(2)
            .enumerate()
            .map(|(i, c)| candle_nn::conv2d(c[0], c[1], 3, cfg, vb.pp(format!("stages.{i}"))))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { stages })
    }

    /// The four convolutions' work on a `size × size` frame.
    pub fn flops(width: usize, d_model: usize, size: usize) -> Flops {
        Flops::stride2_conv_stack(&[3, width, 2 * width, 4 * width, d_model], size)
    }
}

impl Module for Backbone {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let mut xs = xs.clone();
        for stage in &self.stages {
            xs = stage.forward(&xs)?.silu()?;
        }
        Ok(xs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flops_of_the_four_convolutions_by_hand() {
        // width 4, d_model 16, 64 × 64: 3→4 at 32², 4→8 at 16², 8→16 at 8², 16→16 at 4².
        let expected = 2 * 9 * (4 * 3 * 32 * 32 + 8 * 4 * 16 * 16 + 16 * 8 * 8 * 8 + 16 * 16 * 4 * 4);
        assert_eq!(Backbone::flops(4, 16, 64).total(), expected);
    }
}
