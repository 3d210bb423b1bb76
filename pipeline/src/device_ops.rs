//! Device ops for the frame path that candle would otherwise implement with a
//! hidden upload of host data.
//!
//! candle 0.11 turns a comparison with a host scalar (`t.ge(0.5)`,
//! `t.le(max_age)`) into `Tensor::new(scalar, &Device::Cpu)` followed by
//! `to_device(t.device())`: one upload per call, past the transfer gate. Its
//! `cumsum` multiplies by a triangular matrix built from `Tensor::arange`,
//! which candle fills on the host and uploads, again on every call. On a GPU
//! each is a synchronous copy from pageable memory. `Tensor::arange` fills a
//! host vector and uploads it too. The functions here compute the same values
//! from device-made tensors only (`Tensor::full`, which fills on the device,
//! `Tensor::zeros` and `Tensor::ones`), and a test keeps the scalar forms,
//! `cumsum` and `arange` out of `pipeline/src`.

use candle_core::op::CmpOp;
use candle_core::{DType, Device, Result, Tensor};

/// `t op value` elementwise (u8 0/1), with `value` filled on the device and
/// converted to `t`'s dtype exactly as candle converts a host scalar.
pub fn cmp_const(t: &Tensor, op: CmpOp, value: f64) -> Result<Tensor> {
    let scalar = device_scalar(t, value)?;
    t.cmp(&scalar.broadcast_as(t.shape())?, op)
}

/// `t >= value`.
pub fn ge_const(t: &Tensor, value: f64) -> Result<Tensor> {
    cmp_const(t, CmpOp::Ge, value)
}

/// `t <= value`.
pub fn le_const(t: &Tensor, value: f64) -> Result<Tensor> {
    cmp_const(t, CmpOp::Le, value)
}

/// `t != value`.
pub fn ne_const(t: &Tensor, value: f64) -> Result<Tensor> {
    cmp_const(t, CmpOp::Ne, value)
}

/// `value` as a 0-d tensor of `t`'s dtype on `t`'s device, filled there.
fn device_scalar(t: &Tensor, value: f64) -> Result<Tensor> {
    let device = t.device();
    match t.dtype() {
        DType::F32 => Tensor::full(value as f32, (), device),
        DType::F64 => Tensor::full(value, (), device),
        other => Tensor::full(value, (), device)?.to_dtype(other),
    }
}

/// `t` with every NaN replaced by `value`, on the device (`t != t` holds
/// exactly at NaN). Sorting NaN is not a total order: candle's CPU
/// `arg_sort` panics on it, so scores are cleaned before any top-k.
pub fn replace_nan(t: &Tensor, value: f64) -> Result<Tensor> {
    let is_nan = t.broadcast_ne(t)?;
    let fill = device_scalar(t, value)?.broadcast_as(t.shape())?;
    is_nan.where_cond(&fill, t)
}

/// `t` with every NaN and ±∞ replaced by `value`, on the device (`t - t`
/// is 0 exactly where `t` is finite).
pub fn replace_non_finite(t: &Tensor, value: f64) -> Result<Tensor> {
    let diff = t.broadcast_sub(t)?; // NaN where `t` is NaN or ±∞, else 0
    let finite = diff.broadcast_eq(&diff.zeros_like()?)?;
    let fill = device_scalar(t, value)?.broadcast_as(t.shape())?;
    finite.where_cond(t, &fill)
}

/// The inclusive prefix sum of a 1-D tensor: `⌈log2 n⌉` shifted adds
/// (Hillis–Steele), the shift's head filled with device zeros. Exact for the
/// small integer counts the tracker sums.
pub fn cumsum_1d(x: &Tensor) -> Result<Tensor> {
    let n = x.dims1()?;
    let mut acc = x.clone();
    let mut shift = 1;
    while shift < n {
        let head = Tensor::zeros(shift, acc.dtype(), acc.device())?;
        let shifted = Tensor::cat(&[&head, &acc.narrow(0, 0, n - shift)?], 0)?;
        acc = (&acc + &shifted)?;
        shift *= 2;
    }
    Ok(acc)
}

/// `[0, 1, …, n - 1]` as `dtype` on `device`, made there: a zero followed by
/// the prefix sums of `n - 1` ones. Exact in integer dtypes, and in f32 up
/// to 2^24.
pub fn arange_on_device(n: usize, dtype: DType, device: &Device) -> Result<Tensor> {
    let zero = Tensor::zeros(1, dtype, device)?;
    match n {
        0 => Tensor::zeros(0, dtype, device),
        1 => Ok(zero),
        _ => Tensor::cat(&[&zero, &cumsum_1d(&Tensor::ones(n - 1, dtype, device)?)?], 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons_match_candles_scalar_forms() {
        let dev = Device::Cpu;
        let t = Tensor::new(&[0.25f32, 0.5, 0.75, -1.0, 0.0], &dev).unwrap();
        let v = |x: Tensor| x.to_vec1::<u8>().unwrap();
        assert_eq!(v(ge_const(&t, 0.5).unwrap()), v(t.ge(0.5f32).unwrap()));
        assert_eq!(v(le_const(&t, 0.25).unwrap()), v(t.le(0.25f64).unwrap()));
        assert_eq!(v(ne_const(&t, 0.0).unwrap()), v(t.ne(0f32).unwrap()));
        let m = Tensor::new(&[[0u32, 3], [5, 7]], &dev).unwrap();
        assert_eq!(
            le_const(&m, 5.0).unwrap().to_vec2::<u8>().unwrap(),
            m.le(5u32).unwrap().to_vec2::<u8>().unwrap()
        );
    }

    #[test]
    fn non_finite_values_are_replaced_on_the_device() {
        let dev = Device::Cpu;
        let t = Tensor::new(&[1f32, f32::NAN, f32::INFINITY, -2.0, f32::NEG_INFINITY], &dev).unwrap();
        let nan = replace_nan(&t, f64::NEG_INFINITY).unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(
            nan,
            vec![1.0, f32::NEG_INFINITY, f32::INFINITY, -2.0, f32::NEG_INFINITY]
        );
        let finite = replace_non_finite(&t, 0.0).unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(finite, vec![1.0, 0.0, 0.0, -2.0, 0.0]);
    }

    #[test]
    fn arange_matches_candles() {
        let dev = Device::Cpu;
        for n in [0usize, 1, 2, 5, 16, 33, 640] {
            let f = arange_on_device(n, DType::F32, &dev).unwrap();
            assert_eq!(f.dtype(), DType::F32);
            assert_eq!(
                f.to_vec1::<f32>().unwrap(),
                Tensor::arange(0f32, n as f32, &dev).unwrap().to_vec1::<f32>().unwrap()
            );
            let i = arange_on_device(n, DType::I64, &dev).unwrap();
            assert_eq!(
                i.to_vec1::<i64>().unwrap(),
                Tensor::arange(0i64, n as i64, &dev).unwrap().to_vec1::<i64>().unwrap()
            );
            let u = arange_on_device(n, DType::U32, &dev).unwrap();
            assert_eq!(u.to_vec1::<u32>().unwrap(), (0..n as u32).collect::<Vec<_>>());
        }
    }

    #[test]
    fn cumsum_matches_candles() {
        let dev = Device::Cpu;
        for n in [1usize, 2, 3, 4, 5, 8, 9, 33, 300] {
            let values: Vec<f32> = (0..n).map(|i| ((i * 7 + 3) % 5 == 0) as u8 as f32).collect();
            let x = Tensor::new(values.as_slice(), &dev).unwrap();
            assert_eq!(
                cumsum_1d(&x).unwrap().to_vec1::<f32>().unwrap(),
                x.cumsum(0).unwrap().to_vec1::<f32>().unwrap(),
                "n = {n}"
            );
        }
    }
}
