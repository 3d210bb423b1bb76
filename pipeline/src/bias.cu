// Adds a per-channel bias to a contiguous tensor, for d2h's pipeline (see
// bias.rs): out[i] = x[i] + bias[(i / inner) % channels], summed in f32 and
// rounded once. candle's broadcast add reaches the same values through its
// strided path, which spends two 64-bit divisions per dimension per element;
// here the index is one 32-bit division and one remainder (tensors below 2^32
// elements, which bias.rs checks). f16 and bf16 travel as their bits.

__device__ __forceinline__ float load(const float* p, unsigned int i) { return p[i]; }
__device__ __forceinline__ void store(float* p, unsigned int i, float v) { p[i] = v; }

struct F16 { unsigned short bits; };
struct BF16 { unsigned short bits; };

__device__ __forceinline__ float load(const F16* p, unsigned int i) {
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(p[i].bits));
    return f;
}
__device__ __forceinline__ void store(F16* p, unsigned int i, float v) {
    unsigned short h;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(v));
    p[i].bits = h;
}
__device__ __forceinline__ float load(const BF16* p, unsigned int i) {
    return __uint_as_float(((unsigned int)p[i].bits) << 16);
}
// Round to nearest, ties to even; NaN stays NaN (the half crate's rule).
__device__ __forceinline__ void store(BF16* p, unsigned int i, float v) {
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

template <typename T>
__device__ void bias_add(const T* __restrict__ x, const T* __restrict__ bias, T* __restrict__ out,
                         unsigned int numel, unsigned int inner, unsigned int channels) {
    for (unsigned int i = blockIdx.x * blockDim.x + threadIdx.x; i < numel; i += blockDim.x * gridDim.x) {
        const unsigned int c = (i / inner) % channels;
        store(out, i, load(x, i) + load(bias, c));
    }
}

#define BIAS_ADD(NAME, T)                                                                  \
    extern "C" __global__ void NAME(const T* x, const T* bias, T* out, unsigned int numel, \
                                    unsigned int inner, unsigned int channels) {           \
        bias_add<T>(x, bias, out, numel, inner, channels);                                 \
    }

BIAS_ADD(bias_add_f32, float)
BIAS_ADD(bias_add_f16, F16)
BIAS_ADD(bias_add_bf16, BF16)
