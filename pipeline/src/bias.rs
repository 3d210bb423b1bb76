//! [`BiasAdd`]: a per-channel bias added to a contiguous tensor as one
//! custom op (`bias.cu` on CUDA, compiled by NVRTC).
//!
//! candle-nn's layers add their bias with `broadcast_add`, whose CUDA kernel
//! takes a strided path for the broadcast operand: two 64-bit divisions per
//! dimension per element, so adding a bias to TinyViT's 1024 × 1024 feature
//! maps or to the mask decoder's per-prompt tensors cost about as much as
//! the matrix products before it (a third of the real preset's frame went to
//! `badd` kernels on an H200). The op computes the same values (the sum in
//! f32, rounded once, as candle's f16 and bf16 adds do) with one 32-bit
//! division per element. [`add_bias`] is what the layers call.

use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Tensor, WithDType};

use crate::op_layout::contiguous_part;
#[cfg(feature = "cuda")]
use crate::op_layout::contiguous_range;

/// `x + bias` with `bias` covering the dimensions of `x` from `axis` on
/// (`(C,)` along dimension `axis`, or several dimensions: an attention bias),
/// broadcast over the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BiasAdd {
    pub axis: usize,
}

/// `x + bias` along `axis` (`x` made contiguous first), through [`BiasAdd`].
pub fn add_bias(x: &Tensor, bias: &Tensor, axis: usize) -> Result<Tensor> {
    x.contiguous()?.apply_op2_no_bwd(&bias.contiguous()?, &BiasAdd { axis })
}

impl BiasAdd {
    /// `(numel, inner, channels)`: the element count, the elements per step
    /// of the bias's dimensions, and the bias's size. The bias spans the
    /// dimensions of `x` from `axis` on, as many as it has: `(C,)` a
    /// per-channel bias, `(H, N, N)` an attention bias over `(B, H, N, N)`.
    fn dims(&self, x: &Layout, bias: &Layout) -> Result<(usize, usize, usize)> {
        let dims = x.shape().dims();
        let span = bias.shape().dims();
        let end = self.axis + span.len();
        if span.is_empty() || end > dims.len() || dims[self.axis..end] != *span {
            candle_core::bail!(
                "bias-add expects a bias of dimension {} onwards of {:?}, got {:?}",
                self.axis,
                x.shape(),
                bias.shape()
            )
        }
        let numel = x.shape().elem_count();
        if numel > u32::MAX as usize {
            candle_core::bail!("bias-add takes tensors below 2^32 elements, got {numel}")
        }
        let inner = dims[end..].iter().product();
        Ok((numel, inner, bias.shape().elem_count()))
    }

    fn add<T: WithDType>(x: &[T], bias: &[T], inner: usize, channels: usize) -> Vec<T> {
        x.iter()
            .enumerate()
            .map(|(i, v)| {
                let sum = v.to_f64() as f32 + bias[(i / inner) % channels].to_f64() as f32;
                T::from_f64(f64::from(sum))
            })
            .collect()
    }
}

impl CustomOp2 for BiasAdd {
    fn name(&self) -> &'static str {
        "bias-add"
    }

    fn cpu_fwd(
        &self,
        x: &CpuStorage,
        x_layout: &Layout,
        bias: &CpuStorage,
        bias_layout: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (_, inner, channels) = self.dims(x_layout, bias_layout)?;
        macro_rules! run {
            ($variant:ident, $x:expr, $b:expr) => {
                CpuStorage::$variant(Self::add(
                    contiguous_part("bias-add", "input", $x, x_layout)?,
                    contiguous_part("bias-add", "bias", $b, bias_layout)?,
                    inner,
                    channels,
                ))
            };
        }
        let out = match (x, bias) {
            (CpuStorage::F32(x), CpuStorage::F32(b)) => run!(F32, x, b),
            (CpuStorage::F16(x), CpuStorage::F16(b)) => run!(F16, x, b),
            (CpuStorage::BF16(x), CpuStorage::BF16(b)) => run!(BF16, x, b),
            _ => candle_core::bail!("bias-add expects f32, f16 or bf16 tensors of one dtype"),
        };
        Ok((out, x_layout.shape().clone()))
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        x: &candle_core::CudaStorage,
        x_layout: &Layout,
        bias: &candle_core::CudaStorage,
        bias_layout: &Layout,
    ) -> Result<(candle_core::CudaStorage, Shape)> {
        use candle_core::cuda_backend::cudarc::driver::LaunchConfig;

        use crate::nvrtc::{launch_float_kernel, Scalar, Source};

        const SOURCE: Source = Source {
            module: "d2h_bias_add",
            code: include_str!("bias.cu"),
        };
        let (numel, inner, channels) = self.dims(x_layout, bias_layout)?;
        let inputs = [
            (x, contiguous_range("bias-add", "input", x_layout)?),
            (bias, contiguous_range("bias-add", "bias", bias_layout)?),
        ];
        let config = LaunchConfig {
            // A grid-stride loop over at most 65,536 blocks.
            grid_dim: (numel.div_ceil(256).max(1).min(1 << 16) as u32, 1, 1),
            block_dim: (256, 1, 1),
            shared_mem_bytes: 0,
        };
        let scalars = [numel, inner, channels].map(|v| Scalar::U32(v as u32));
        let out = launch_float_kernel(
            SOURCE,
            ["bias_add_f32", "bias_add_f16", "bias_add_bf16"],
            inputs,
            numel,
            config,
            &scalars,
        )?;
        Ok((out, x_layout.shape().clone()))
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Device, Tensor};

    use super::*;
    use crate::test_support::max_abs_diff;

    #[test]
    fn the_op_is_candles_broadcast_add() {
        let dev = Device::Cpu;
        let values: Vec<f32> = (0..120).map(|i| i as f32 * 0.37 - 11.0).collect();
        let x = Tensor::from_vec(values, (2, 3, 4, 5), &dev).unwrap();
        for (axis, channels) in [(1usize, 3usize), (3, 5), (0, 2)] {
            let bias: Vec<f32> = (0..channels).map(|c| c as f32 * 1.3 + 0.25).collect();
            let bias = Tensor::from_vec(bias, channels, &dev).unwrap();
            let mut shape = vec![1; 4];
            shape[axis] = channels;
            for dtype in [DType::F32, DType::F16, DType::BF16] {
                let (xd, bd) = (x.to_dtype(dtype).unwrap(), bias.to_dtype(dtype).unwrap());
                let got = add_bias(&xd, &bd, axis).unwrap();
                let want = xd.broadcast_add(&bd.reshape(shape.as_slice()).unwrap()).unwrap();
                assert_eq!(got.dtype(), dtype);
                let diff = max_abs_diff(&got, &want);
                assert_eq!(diff, 0.0, "axis {axis}, {dtype:?}");
            }
        }
        // A bias over several dimensions (an attention bias over the heads and
        // the token pairs), broadcast over the leading one.
        let ab = Tensor::from_vec((0..60).map(|i| i as f32 * 0.5).collect::<Vec<_>>(), (3, 4, 5), &dev).unwrap();
        let got = add_bias(&x, &ab, 1).unwrap();
        let want = x.broadcast_add(&ab).unwrap();
        assert_eq!(
            got.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            want.flatten_all().unwrap().to_vec1::<f32>().unwrap()
        );
        // A transposed input is made contiguous first.
        let xt = x.transpose(1, 3).unwrap();
        let bias = Tensor::ones(3, DType::F32, &dev).unwrap();
        let got = add_bias(&xt, &bias, 3).unwrap();
        let want = xt.broadcast_add(&bias).unwrap();
        assert_eq!(
            got.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            want.flatten_all().unwrap().to_vec1::<f32>().unwrap()
        );
    }

    #[test]
    fn the_op_checks_its_bias() {
        let dev = Device::Cpu;
        let x = Tensor::zeros((2, 3), DType::F32, &dev).unwrap();
        let err = add_bias(&x, &Tensor::zeros(2, DType::F32, &dev).unwrap(), 1)
            .unwrap_err()
            .to_string();
        assert!(err.contains("bias of dimension 1 onwards of [2, 3]"), "{err}");
        assert!(add_bias(&x, &Tensor::zeros(3, DType::F32, &dev).unwrap(), 2).is_err());
    }
}
