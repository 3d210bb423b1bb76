//! [`DepthwiseConv`]: a depthwise convolution as one candle custom op, one
//! kernel on CUDA (`depthwise.cu`, compiled by NVRTC) for what candle 0.11.1
//! runs as one convolution per channel (about 12,000 kernels for TinyViT-5M's
//! image) and [`crate::layers::DepthwiseConv2d::forward_shifted`] as `k²`
//! shifted multiply–adds over the whole tensor (about 20 kernels, each a pass
//! over memory).
//!
//! Each output value sums its taps in f32, in row-major order, adds the bias
//! and is rounded once to the tensor's dtype: in f32 the same value as the
//! shifted form's; in f16 and bf16 more precise than it (which rounds after
//! every multiply and add). The CPU kernel computes the same way, and is what
//! the tests hold the shifted form and candle's grouped convolution to.

use candle_core::{CpuStorage, CustomOp3, Layout, Shape, WithDType};

use crate::flops::conv_out;
use crate::op_layout::contiguous_part;
#[cfg(feature = "cuda")]
use crate::op_layout::contiguous_range;

/// `y = depthwise_conv(x, weight) + bias`: `x: (B, C, H, W)`, `weight:
/// (C, 1, k, k)`, `bias: (C,)`, one dtype, contiguous → `(B, C, H', W')`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DepthwiseConv {
    pub stride: usize,
    pub padding: usize,
}

/// The sizes of one application.
#[derive(Debug, Clone, Copy)]
struct Dims {
    batch: usize,
    channels: usize,
    h: usize,
    w: usize,
    k: usize,
    h_out: usize,
    w_out: usize,
}

impl DepthwiseConv {
    fn dims(&self, x: &Layout, weight: &Layout, bias: &Layout) -> candle_core::Result<Dims> {
        let (batch, channels, h, w) = x.shape().dims4()?;
        let (wc, one, k, k2) = weight.shape().dims4()?;
        if wc != channels || one != 1 || k != k2 || k == 0 || bias.shape().dims() != [channels] {
            candle_core::bail!(
                "depthwise-conv expects x (B, C, H, W), weight (C, 1, k, k) and bias (C,), got {:?}, {:?} and {:?}",
                x.shape(),
                weight.shape(),
                bias.shape()
            )
        }
        if self.stride == 0 {
            candle_core::bail!("depthwise-conv needs a positive stride")
        }
        let (h_out, w_out) = (
            conv_out(h, k, self.stride, self.padding),
            conv_out(w, k, self.stride, self.padding),
        );
        if h_out == 0 || w_out == 0 {
            candle_core::bail!(
                "a {k} x {k} depthwise convolution does not fit a {h} x {w} input padded by {}",
                self.padding
            )
        }
        Ok(Dims {
            batch,
            channels,
            h,
            w,
            k,
            h_out,
            w_out,
        })
    }

    /// The op on host slices of one dtype.
    fn convolve<T: WithDType>(&self, d: Dims, x: &[T], weight: &[T], bias: &[T]) -> Vec<T> {
        let (s, p) = (self.stride as isize, self.padding as isize);
        let mut out = Vec::with_capacity(d.batch * d.channels * d.h_out * d.w_out);
        let f = |v: T| v.to_f64() as f32;
        for plane in 0..d.batch * d.channels {
            let c = plane % d.channels;
            let input = &x[plane * d.h * d.w..(plane + 1) * d.h * d.w];
            let taps = &weight[c * d.k * d.k..(c + 1) * d.k * d.k];
            for i in 0..d.h_out as isize {
                for j in 0..d.w_out as isize {
                    let mut acc: Option<f32> = None;
                    for dy in 0..d.k as isize {
                        let yy = i * s + dy - p;
                        for dx in 0..d.k as isize {
                            let xx = j * s + dx - p;
                            let inside = (0..d.h as isize).contains(&yy) && (0..d.w as isize).contains(&xx);
                            let v = if inside {
                                f(input[yy as usize * d.w + xx as usize])
                            } else {
                                0.0
                            };
                            let term = v * f(taps[dy as usize * d.k + dx as usize]);
                            acc = Some(acc.map_or(term, |a| a + term));
                        }
                    }
                    let value = acc.unwrap_or(0.0) + f(bias[c]);
                    out.push(T::from_f64(f64::from(value)));
                }
            }
        }
        out
    }
}

impl CustomOp3 for DepthwiseConv {
    fn name(&self) -> &'static str {
        "depthwise-conv"
    }

    fn cpu_fwd(
        &self,
        x: &CpuStorage,
        x_layout: &Layout,
        weight: &CpuStorage,
        weight_layout: &Layout,
        bias: &CpuStorage,
        bias_layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let d = self.dims(x_layout, weight_layout, bias_layout)?;
        let shape = Shape::from((d.batch, d.channels, d.h_out, d.w_out));
        macro_rules! run {
            ($variant:ident, $x:expr, $w:expr, $b:expr) => {
                CpuStorage::$variant(self.convolve(
                    d,
                    contiguous_part("depthwise-conv", "input", $x, x_layout)?,
                    contiguous_part("depthwise-conv", "weight", $w, weight_layout)?,
                    contiguous_part("depthwise-conv", "bias", $b, bias_layout)?,
                ))
            };
        }
        let out = match (x, weight, bias) {
            (CpuStorage::F32(x), CpuStorage::F32(w), CpuStorage::F32(b)) => run!(F32, x, w, b),
            (CpuStorage::F16(x), CpuStorage::F16(w), CpuStorage::F16(b)) => run!(F16, x, w, b),
            (CpuStorage::BF16(x), CpuStorage::BF16(w), CpuStorage::BF16(b)) => run!(BF16, x, w, b),
            _ => candle_core::bail!("depthwise-conv expects f32, f16 or bf16 tensors of one dtype"),
        };
        Ok((out, shape))
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        x: &candle_core::CudaStorage,
        x_layout: &Layout,
        weight: &candle_core::CudaStorage,
        weight_layout: &Layout,
        bias: &candle_core::CudaStorage,
        bias_layout: &Layout,
    ) -> candle_core::Result<(candle_core::CudaStorage, Shape)> {
        use candle_core::cuda_backend::cudarc::driver::LaunchConfig;

        use crate::nvrtc::{launch_float_kernel, Scalar, Source};

        const SOURCE: Source = Source {
            module: "d2h_depthwise",
            code: include_str!("depthwise.cu"),
        };
        let d = self.dims(x_layout, weight_layout, bias_layout)?;
        let inputs = [
            (x, contiguous_range("depthwise-conv", "input", x_layout)?),
            (weight, contiguous_range("depthwise-conv", "weight", weight_layout)?),
            (bias, contiguous_range("depthwise-conv", "bias", bias_layout)?),
        ];
        let total = d.batch * d.channels * d.h_out * d.w_out;
        let config = LaunchConfig {
            // A grid-stride loop: at most 512K blocks, each thread on one or more outputs.
            grid_dim: (total.div_ceil(256).min(1 << 19) as u32, 1, 1),
            block_dim: (256, 1, 1),
            shared_mem_bytes: 0,
        };
        let scalars = [
            d.batch,
            d.channels,
            d.h,
            d.w,
            d.h_out,
            d.w_out,
            d.k,
            self.stride,
            self.padding,
        ]
        .map(|v| Scalar::I32(v as i32));
        let out = launch_float_kernel(
            SOURCE,
            ["depthwise_f32", "depthwise_f16", "depthwise_bf16"],
            inputs,
            total,
            config,
            &scalars,
        )?;
        Ok((out, Shape::from((d.batch, d.channels, d.h_out, d.w_out))))
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Module, Tensor};
    use candle_nn::{Conv2d, Conv2dConfig};

    use super::*;
    use crate::layers::DepthwiseConv2d;
    use crate::test_support::{max_abs_diff, random};

    #[test]
    fn the_op_is_the_shifted_form_and_candles_grouped_convolution() {
        for (c, h, w, k, stride, padding) in [
            (3, 9, 7, 3, 1, 1),
            (4, 10, 10, 3, 2, 1),
            (2, 8, 11, 5, 1, 2),
            (5, 9, 9, 3, 2, 0),
            (1, 4, 4, 1, 1, 0),
        ] {
            let x = random(&[2, c, h, w], 3 + c as u64);
            let weight = random(&[c, 1, k, k], 7 + k as u64);
            let bias = random(&[c], 11);
            let what = format!("C {c}, {h} x {w}, k {k}, stride {stride}, padding {padding}");
            let layer = DepthwiseConv2d::new(weight.clone(), Some(bias.clone()), stride, padding).unwrap();
            let fused = layer.forward(&x).unwrap();
            // f32: the same sums in the same order as the shifted form.
            let shifted = layer.forward_shifted(&x).unwrap();
            assert_eq!(fused.dims(), shifted.dims(), "{what}");
            assert_eq!(max_abs_diff(&fused, &shifted), 0.0, "{what}");
            let cfg = Conv2dConfig {
                stride,
                padding,
                groups: c,
                ..Default::default()
            };
            let grouped = Conv2d::new(weight.clone(), Some(bias.clone()), cfg)
                .forward(&x)
                .unwrap();
            assert!(max_abs_diff(&fused, &grouped) < 1e-5, "{what}");
            // f16 and bf16: one rounding of the f32 sum.
            for dtype in [DType::F16, DType::BF16] {
                let cast = |t: &Tensor| t.to_dtype(dtype).unwrap();
                let half = cast(&x)
                    .apply_op3_no_bwd(&cast(&weight), &cast(&bias), &DepthwiseConv { stride, padding })
                    .unwrap();
                assert_eq!(half.dtype(), dtype);
                let exact = cast(&x)
                    .to_dtype(DType::F32)
                    .unwrap()
                    .apply_op3_no_bwd(
                        &cast(&weight).to_dtype(DType::F32).unwrap(),
                        &cast(&bias).to_dtype(DType::F32).unwrap(),
                        &DepthwiseConv { stride, padding },
                    )
                    .unwrap()
                    .to_dtype(dtype)
                    .unwrap();
                assert_eq!(max_abs_diff(&half, &exact), 0.0, "{what}, {dtype:?}");
            }
        }
    }

    #[test]
    fn the_op_checks_its_inputs() {
        let op = DepthwiseConv { stride: 1, padding: 0 };
        let x = random(&[1, 3, 4, 4], 1);
        let bias = random(&[3], 2);
        let wrong_channels = random(&[2, 1, 3, 3], 3);
        let err = x.apply_op3_no_bwd(&wrong_channels, &bias, &op).unwrap_err().to_string();
        assert!(err.contains("weight (C, 1, k, k)"), "{err}");
        let too_big = random(&[3, 1, 5, 5], 4);
        let err = x.apply_op3_no_bwd(&too_big, &bias, &op).unwrap_err().to_string();
        assert!(err.contains("does not fit"), "{err}");
        let zero_stride = DepthwiseConv { stride: 0, padding: 0 };
        assert!(x
            .apply_op3_no_bwd(&random(&[3, 1, 3, 3], 5), &bias, &zero_stride)
            .is_err());
    }
}
