// SAM's LayerNorm2d (a layer norm over the channels of an NCHW tensor) as one
// kernel, for d2h's pipeline (see channel_norm.rs): one thread per pixel,
// the mean and the variance over the channels in f32, then
//   y = (x - mean) / sqrt(var + eps), rounded to the dtype,
//   out = y * weight + bias, each product and sum rounded to the dtype,
// the roundings of the op-by-op form it replaces. f16 and bf16 travel as
// their bits.

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
__device__ __forceinline__ float round_to(float v) {
    T tmp[1];
    store(tmp, 0u, v);
    return load(tmp, 0u);
}

template <typename T>
__device__ void channel_norm(const T* __restrict__ x, const T* __restrict__ weight, const T* __restrict__ bias,
                             T* __restrict__ out, unsigned int pixels, unsigned int channels,
                             unsigned int plane, float eps) {
    for (unsigned int p = blockIdx.x * blockDim.x + threadIdx.x; p < pixels; p += blockDim.x * gridDim.x) {
        const unsigned int b = p / plane, at = p - b * plane;
        const unsigned int base = b * channels * plane + at;
        float sum = 0.0f;
        for (unsigned int c = 0; c < channels; ++c) sum += load(x, base + c * plane);
        const float mean = sum / (float)channels;
        float squares = 0.0f;
        for (unsigned int c = 0; c < channels; ++c) {
            const float d = load(x, base + c * plane) - mean;
            squares += d * d;
        }
        const float denom = sqrtf(squares / (float)channels + eps);
        for (unsigned int c = 0; c < channels; ++c) {
            const float y = round_to<T>((load(x, base + c * plane) - mean) / denom);
            const float scaled = round_to<T>(y * load(weight, c));
            store(out, base + c * plane, scaled + load(bias, c));
        }
    }
}

#define CHANNEL_NORM(NAME, T)                                                                      \
    extern "C" __global__ void NAME(const T* x, const T* weight, const T* bias, T* out,             \
                                    unsigned int pixels, unsigned int channels, unsigned int plane, \
                                    float eps) {                                                   \
        channel_norm<T>(x, weight, bias, out, pixels, channels, plane, eps);                       \
    }

CHANNEL_NORM(channel_norm_f32, float)
CHANNEL_NORM(channel_norm_f16, F16)
CHANNEL_NORM(channel_norm_bf16, BF16)
