// uses dtype.cuh
// A depthwise k x k convolution (one filter per channel, NCHW, zero padding,
// any stride) for d2h's pipeline (see depthwise.rs): one thread per output
// value, the taps summed in f32 in row-major order, then the bias, then one
// rounding to the tensor's dtype.

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
