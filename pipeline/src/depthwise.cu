// A depthwise k x k convolution (one filter per channel, NCHW, zero padding,
// any stride) for d2h's pipeline (see depthwise.rs): one thread per output
// value, the taps summed in f32 in row-major order, then the bias, then one
// rounding to the tensor's dtype. f16 and bf16 are carried as their bits and
// converted here (no headers: NVRTC compiles this file alone).

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

template <typename T>
__device__ void depthwise(
    const T* __restrict__ x, const T* __restrict__ w, const T* __restrict__ bias, T* __restrict__ y,
    int batch, int channels, int h, int wd, int h_out, int w_out, int k, int stride, int pad) {
    const size_t total = (size_t)batch * channels * h_out * w_out;
    for (size_t o = blockIdx.x * (size_t)blockDim.x + threadIdx.x; o < total;
         o += (size_t)gridDim.x * blockDim.x) {
        const int j = (int)(o % w_out);
        const int i = (int)((o / w_out) % h_out);
        const size_t plane = o / ((size_t)w_out * h_out);  // b * channels + c
        const int c = (int)(plane % channels);
        const size_t in_base = plane * h * wd;
        const size_t w_base = (size_t)c * k * k;
        float acc = 0.0f;
        bool first = true;
        for (int dy = 0; dy < k; ++dy) {
            const int yy = i * stride + dy - pad;
            for (int dx = 0; dx < k; ++dx) {
                const int xx = j * stride + dx - pad;
                float v = 0.0f;
                if (yy >= 0 && yy < h && xx >= 0 && xx < wd) v = load(x, in_base + (size_t)yy * wd + xx);
                const float term = v * load(w, w_base + dy * k + dx);
                acc = first ? term : acc + term;
                first = false;
            }
        }
        if (bias) acc = acc + load(bias, c);
        store(y, o, acc);
    }
}

#define DEPTHWISE(NAME, T)                                                                      \
    extern "C" __global__ void NAME(const T* x, const T* w, const T* bias, T* y, int batch,     \
                                    int channels, int h, int wd, int h_out, int w_out, int k,   \
                                    int stride, int pad) {                                      \
        depthwise<T>(x, w, bias, y, batch, channels, h, wd, h_out, w_out, k, stride, pad);      \
    }

DEPTHWISE(depthwise_f32, float)
DEPTHWISE(depthwise_f16, F16)
DEPTHWISE(depthwise_bf16, BF16)
