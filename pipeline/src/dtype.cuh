// Element access for the pipeline's kernels that take f32, f16 and bf16
// tensors (see nvrtc.rs): `load` widens an element to f32, `store` rounds an
// f32 to the element's type, to nearest with ties to even. f16 and bf16
// travel as their bits (NVRTC compiles without headers, so without
// cuda_fp16.h and cuda_bf16.h). nvrtc.rs puts this file before each kernel
// source that starts with `// uses dtype.cuh`.

__device__ __forceinline__ float load(const float* p, size_t i) { return p[i]; }
__device__ __forceinline__ void store(float* p, size_t i, float v) { p[i] = v; }

struct F16 { unsigned short bits; };
struct BF16 { unsigned short bits; };

__device__ __forceinline__ float load(const F16* p, size_t i) {
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(p[i].bits));
    return f;
}
__device__ __forceinline__ void store(F16* p, size_t i, float v) {
    unsigned short h;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(v));
    p[i].bits = h;
}
__device__ __forceinline__ float load(const BF16* p, size_t i) {
    return __uint_as_float(((unsigned int)p[i].bits) << 16);
}
// Round to nearest, ties to even; NaN stays NaN (the half crate's rule).
__device__ __forceinline__ void store(BF16* p, size_t i, float v) {
    unsigned int u = __float_as_uint(v);
    unsigned short r;
    if ((u & 0x7fffffffu) > 0x7f800000u) {
        r = (unsigned short)((u >> 16) | 0x0040u);
    } else {
        u += 0x7fffu + ((u >> 16) & 1u);
        r = (unsigned short)(u >> 16);
    }
    p[i].bits = r;
}
