// uses dtype.cuh
// SAM's LayerNorm2d (a layer norm over the channels of an NCHW tensor) as one
// kernel, for d2h's pipeline (see channel_norm.rs): one thread per pixel,
// the mean and the variance over the channels in f32, then
//   y = (x - mean) / sqrt(var + eps), rounded to the dtype,
//   out = y * weight + bias, each product and sum rounded to the dtype,
// the roundings of the op-by-op form it replaces.

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
