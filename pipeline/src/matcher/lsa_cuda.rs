//! The CUDA kernel of [`super::AssignOp`] (feature `cuda`): `lsa.cu`,
//! compiled once per process with NVRTC, loaded once per device into candle's
//! custom-module cache, and launched on candle's stream with one thread block
//! per problem of the batch. The cost tensor is read where it lies and the
//! `(B, R)` i64 result is a new device buffer: no host copy, no host sync.

use candle_core::cuda_backend::cudarc::driver::{CudaSlice, CudaView, LaunchConfig, PushKernelArg};
use candle_core::cuda_backend::WrapErr;
use candle_core::CudaDevice;

const SOURCE: crate::nvrtc::Source = crate::nvrtc::Source {
    module: "d2h_linear_assignment",
    code: include_str!("lsa.cu"),
};
const FUNCTION: &str = "lsa_batched";

/// The longest side the kernel accepts: its per-problem state lives in the
/// block's shared memory (about 39 bytes a column), within the default 48 KiB.
pub const MAX_SIDE: usize = 1024;

/// Per-warp reduction slots in shared memory, as `LSA_MAX_WARPS` in `lsa.cu`.
const MAX_WARPS: usize = 32;
/// `sizeof(Best)` in `lsa.cu`: a double and two ints.
const BEST_BYTES: usize = 16;

/// Threads per block for a problem whose long side is `n`: enough that each
/// thread scans a handful of columns per Dijkstra step, few enough that the
/// two block barriers per step stay cheap.
pub fn threads_for(n: usize) -> u32 {
    match n {
        0..=96 => 32,
        97..=256 => 64,
        257..=640 => 128,
        _ => 256,
    }
}

/// Dynamic shared memory for a problem with long side `n` and short side `m`,
/// laid out as in `lsa.cu`.
fn shared_bytes(n: usize, m: usize) -> usize {
    let doubles = 2 * n + m;
    let ints = 2 * n + m + (m & 1);
    8 * doubles + 4 * ints + BEST_BYTES * MAX_WARPS + n + m
}

/// Launches the kernel on `device`'s stream over `batch` problems of
/// `rows × cols` in `costs`, writing `batch * rows` answers to `out`. Called
/// by [`super::AssignOp`]'s `cuda_fwd`, which owns the storage.
pub(crate) fn launch(
    device: &CudaDevice,
    costs: &CudaView<'_, f32>,
    out: &mut CudaSlice<i64>,
    (batch, rows, cols): (usize, usize, usize),
    forbidden: f32,
) -> candle_core::Result<()> {
    let (n, m) = (rows.max(cols), rows.min(cols));
    if n > MAX_SIDE {
        candle_core::bail!("linear-assignment on CUDA supports sides up to {MAX_SIDE}, got {rows} x {cols}")
    }
    if batch * rows == 0 {
        return Ok(());
    }
    let func = device.get_or_load_custom_func(FUNCTION, SOURCE.module, crate::nvrtc::ptx(SOURCE)?)?;
    let config = LaunchConfig {
        grid_dim: (batch as u32, 1, 1),
        block_dim: (threads_for(n), 1, 1),
        shared_mem_bytes: shared_bytes(n, m) as u32,
    };
    let (rows_arg, cols_arg) = (rows as i32, cols as i32);
    let mut builder = func.builder();
    builder
        .arg(costs)
        .arg(out)
        .arg(&rows_arg)
        .arg(&cols_arg)
        .arg(&forbidden);
    // SAFETY: the arguments match `lsa_batched`'s signature; `costs` holds
    // batch * rows * cols f32 and `out` batch * rows i64, which is all the
    // kernel touches; the shared memory size follows the kernel's layout.
    unsafe { builder.launch(config) }.w()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shared_layout_fits_the_default_limit_up_to_the_largest_side() {
        assert!(shared_bytes(MAX_SIDE, MAX_SIDE) <= 48 * 1024);
        assert!(threads_for(MAX_SIDE) as usize <= 32 * MAX_WARPS);
    }
}
