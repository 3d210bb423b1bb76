// uses dtype.cuh
// Adds a per-channel bias to a contiguous tensor, for d2h's pipeline (see
// bias.rs): out[i] = x[i] + bias[(i / inner) % channels] (`channels` the
// bias's size, which may span several dimensions), summed in f32 and
// rounded once. candle's broadcast add reaches the same values through its
// strided path, which spends two 64-bit divisions per dimension per element;
// here the index is one 32-bit division and one remainder (tensors below 2^32
// elements, which bias.rs checks).

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
