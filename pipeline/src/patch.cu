// uses dtype.cuh
// The second half of a transposed convolution whose kernel equals its stride
// (see patch.rs): the product Y = Wᵀ X has, for every input pixel (i, j),
// the k x k output patch of every output channel; this kernel writes each
// patch to its place and adds the channel's bias:
//   out[b, co, i*k + di, j*k + dj] = Y[b, (co*k + di)*k + dj, i*w + j] + bias[co]
// One thread per output value, 32-bit indices (patch.rs checks the size),
// the sum in f32 rounded once.

template <typename T>
__device__ void patch_scatter(const T* __restrict__ y, const T* __restrict__ bias, T* __restrict__ out,
                              unsigned int numel, unsigned int channels, unsigned int k, unsigned int h,
                              unsigned int w) {
    const unsigned int ow = w * k, oh = h * k;
    for (unsigned int o = blockIdx.x * blockDim.x + threadIdx.x; o < numel; o += blockDim.x * gridDim.x) {
        const unsigned int ox = o % ow;
        const unsigned int oy = (o / ow) % oh;
        const unsigned int plane = o / (ow * oh);  // b * channels + co
        const unsigned int co = plane % channels;
        const unsigned int b = plane / channels;
        const unsigned int i = oy / k, di = oy - i * k;
        const unsigned int j = ox / k, dj = ox - j * k;
        const unsigned int row = (co * k + di) * k + dj;
        const unsigned int src = (b * channels * k * k + row) * (h * w) + i * w + j;
        store(out, o, load(y, src) + load(bias, co));
    }
}

#define PATCH_SCATTER(NAME, T)                                                                  \
    extern "C" __global__ void NAME(const T* y, const T* bias, T* out, unsigned int numel,      \
                                    unsigned int channels, unsigned int k, unsigned int h,      \
                                    unsigned int w) {                                           \
        patch_scatter<T>(y, bias, out, numel, channels, k, h, w);                               \
    }

PATCH_SCATTER(patch_scatter_f32, float)
PATCH_SCATTER(patch_scatter_f16, F16)
PATCH_SCATTER(patch_scatter_bf16, BF16)
