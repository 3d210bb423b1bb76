//! The pipeline's own CUDA kernels (feature `cuda`): each `.cu` source is
//! compiled once per process with NVRTC, loaded once per device into candle's
//! custom-module cache, and launched on candle's stream, so a kernel queues
//! behind candle's work and is captured into a CUDA graph like it.
//!
//! Sources compile with `--fmad=false`: the fused ops promise the same
//! values as their CPU implementations, and a contracted multiply–add rounds
//! once where the CPU rounds twice.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use candle_core::cuda_backend::cudarc::nvrtc::{self, CompileOptions};

/// One `.cu` source and the module name candle caches it under.
#[derive(Debug, Clone, Copy)]
pub struct Source {
    pub module: &'static str,
    pub code: &'static str,
}

/// `load`/`store` of f32, f16 and bf16 elements, compiled before every source
/// whose first line is [`USES_DTYPE`] (NVRTC has no `cuda_fp16.h` here).
const DTYPE_PRELUDE: &str = include_str!("dtype.cuh");

/// The first line of a source that needs [`DTYPE_PRELUDE`] (also read by
/// `scripts/check-kernels.py`).
const USES_DTYPE: &str = "// uses dtype.cuh";

/// The PTX of `source`, compiled on first use (tens of milliseconds) and kept
/// for the process (each source's text is leaked once, so a launch allocates
/// nothing on the host). A compile error is kept too, so every launch reports
/// it. Load it with `CudaDevice::get_or_load_custom_func(name, source.module,
/// ptx)`, which caches the module per device.
pub fn ptx(source: Source) -> candle_core::Result<&'static str> {
    static CACHE: OnceLock<Mutex<HashMap<&'static str, Result<&'static str, String>>>> = OnceLock::new();
    let mut cache = CACHE
        .get_or_init(|| Mutex::new(HashMap::new()))
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    let compiled = cache.entry(source.module).or_insert_with(|| {
        let options = CompileOptions {
            fmad: Some(false),
            ..CompileOptions::default()
        };
        let code = if source.code.starts_with(USES_DTYPE) {
            format!("{DTYPE_PRELUDE}\n{}", source.code)
        } else {
            source.code.to_string()
        };
        nvrtc::compile_ptx_with_opts(code, options)
            .map(|ptx| &*Box::leak(ptx.to_src().into_boxed_str()))
            .map_err(|e| format!("compiling {} with NVRTC: {e}", source.module))
    });
    compiled.clone().map_err(|e| candle_core::Error::Cuda(e.into()))
}

/// A scalar kernel argument, passed by value after the buffers.
#[derive(Debug, Clone, Copy)]
pub enum Scalar {
    U32(u32),
    I32(i32),
    F32(f32),
}

/// Launches one of `names` (the kernel's f32, f16 and bf16 variants, in that
/// order) of `source`, by the dtype of `inputs`, on their device's stream:
/// the kernel takes the input buffers (each the given range of its storage),
/// then a new output buffer of `out_len` elements of the same dtype, then
/// `scalars`. The kernel must write every output element (the buffer is not
/// zeroed). Nothing is allocated on the host: eager frames call this per
/// layer.
pub fn launch_float_kernel<const N: usize>(
    source: Source,
    names: [&'static str; 3],
    inputs: [(&candle_core::CudaStorage, std::ops::Range<usize>); N],
    out_len: usize,
    config: candle_core::cuda_backend::cudarc::driver::LaunchConfig,
    scalars: &[Scalar],
) -> candle_core::Result<candle_core::CudaStorage> {
    use candle_core::backend::BackendStorage;
    use candle_core::DType;

    let [f32_name, f16_name, bf16_name] = names;
    let Some((first, _)) = inputs.first() else {
        candle_core::bail!("{f32_name}: a kernel launch without inputs")
    };
    let dtype = first.dtype();
    let launch = Launch {
        source,
        inputs,
        out_len,
        config,
        scalars,
    };
    match dtype {
        DType::F32 => launch.run::<f32>(f32_name),
        DType::F16 => launch.run::<half::f16>(f16_name),
        DType::BF16 => launch.run::<half::bf16>(bf16_name),
        other => candle_core::bail!("{f32_name} and its variants take f32, f16 or bf16, got {other:?}"),
    }
}

/// The arguments of [`launch_float_kernel`], typed once the dtype is known.
struct Launch<'a, const N: usize> {
    source: Source,
    inputs: [(&'a candle_core::CudaStorage, std::ops::Range<usize>); N],
    out_len: usize,
    config: candle_core::cuda_backend::cudarc::driver::LaunchConfig,
    scalars: &'a [Scalar],
}

impl<const N: usize> Launch<'_, N> {
    fn run<T>(self, name: &str) -> candle_core::Result<candle_core::CudaStorage>
    where
        T: candle_core::cuda_backend::CudaDType + candle_core::cuda_backend::cudarc::driver::DeviceRepr,
    {
        use candle_core::cuda_backend::cudarc::driver::PushKernelArg;
        use candle_core::cuda_backend::WrapErr;

        let device = self.inputs[0].0.device.clone();
        let mut views: [Option<_>; N] = std::array::from_fn(|_| None);
        for (view, (storage, range)) in views.iter_mut().zip(&self.inputs) {
            *view = Some(storage.as_cuda_slice::<T>()?.slice(range.clone()));
        }
        // SAFETY: the kernel writes every one of the `out_len` outputs (this
        // function's contract with its callers).
        let mut out = unsafe { device.alloc::<T>(self.out_len) }?;
        if self.out_len > 0 {
            let func = device.get_or_load_custom_func(name, self.source.module, ptx(self.source)?)?;
            let mut builder = func.builder();
            for view in views.iter().flatten() {
                builder.arg(view);
            }
            builder.arg(&mut out);
            for scalar in self.scalars {
                match scalar {
                    Scalar::U32(v) => builder.arg(v),
                    Scalar::I32(v) => builder.arg(v),
                    Scalar::F32(v) => builder.arg(v),
                };
            }
            // SAFETY: the callers pass the buffers and scalars in the order
            // and of the types of the kernel's signature, with ranges their
            // layouts checked.
            unsafe { builder.launch(self.config) }.w()?;
        }
        Ok(candle_core::CudaStorage::wrap_cuda_slice(out, device))
    }
}
