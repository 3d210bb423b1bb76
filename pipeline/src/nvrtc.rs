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
