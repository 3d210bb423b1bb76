// The fused postprocess of d2h's detector (see select.rs): NaN-cleaned
// sigmoid scores over queries x classes, the top K by (score descending,
// index ascending), each kept index decoded into its query's box (cxcywh in
// [0, 1] -> xyxy in pixels), its class and its validity. One thread block:
// K rounds of a block-wide arg-max over the scores not yet taken. A score is
// taken when its key is at or above the last kept key, so no mark is stored.
//
// Output rows (7 floats): x1, y1, x2, y2, score, label, valid (0/1).

#define SELECT_MAX_WARPS 32
// NVRTC compiles without math.h: no INFINITY macro.
#define SELECT_INF __int_as_float(0x7f800000)

__device__ __forceinline__ float clean_score(float logit) {
    // A NaN logit ranks last: sigmoid(-inf) = 0.
    float x = isnan(logit) ? -SELECT_INF : logit;
    return 1.0f / (1.0f + expf(-x));
}

__device__ __forceinline__ float clean_coord(float v) {
    return isfinite(v) ? v : 0.0f;
}

// Whether (s, i) ranks before (best_s, best_i).
__device__ __forceinline__ bool ranks_before(float s, int i, float best_s, int best_i) {
    return s > best_s || (s == best_s && i < best_i);
}

// The warp's first (score, index) by ranks_before, left in lane 0.
__device__ __forceinline__ void warp_best(float& best_s, int& best_i) {
    for (int offset = 16; offset > 0; offset >>= 1) {
        const float s = __shfl_down_sync(0xffffffffu, best_s, offset);
        const int i = __shfl_down_sync(0xffffffffu, best_i, offset);
        if (ranks_before(s, i, best_s, best_i)) {
            best_s = s;
            best_i = i;
        }
    }
}

extern "C" __global__ void select_detections(
    const float* __restrict__ logits,  // (queries * classes), row-major by query
    const float* __restrict__ boxes,   // (queries, 4) cxcywh
    float* __restrict__ out,           // (k, 7)
    int n,
    int classes,
    int k,
    float threshold,
    float width,
    float height) {
    __shared__ float warp_score[SELECT_MAX_WARPS];
    __shared__ int warp_index[SELECT_MAX_WARPS];
    __shared__ float last_score;
    __shared__ int last_index;
    const int tid = threadIdx.x;
    const int lane = tid & 31;
    const int warp = tid >> 5;
    const int warps = (blockDim.x + 31) >> 5;
    if (tid == 0) {
        last_score = SELECT_INF;
        last_index = -1;
    }
    __syncthreads();
    for (int round = 0; round < k; ++round) {
        const float taken_s = last_score;
        const int taken_i = last_index;
        float best_s = -1.0f;  // below every sigmoid score
        int best_i = 0x7fffffff;
        for (int i = tid; i < n; i += blockDim.x) {
            const float s = clean_score(logits[i]);
            // Taken already: at or above the last kept key.
            if (s > taken_s || (s == taken_s && i <= taken_i)) continue;
            if (ranks_before(s, i, best_s, best_i)) {
                best_s = s;
                best_i = i;
            }
        }
        warp_best(best_s, best_i);
        if (lane == 0) {
            warp_score[warp] = best_s;
            warp_index[warp] = best_i;
        }
        __syncthreads();
        if (warp == 0) {
            best_s = lane < warps ? warp_score[lane] : -1.0f;
            best_i = lane < warps ? warp_index[lane] : 0x7fffffff;
            warp_best(best_s, best_i);
            if (lane == 0) {
                const int query = best_i / classes;
                const int label = best_i - query * classes;
                const float cx = clean_coord(boxes[query * 4 + 0]);
                const float cy = clean_coord(boxes[query * 4 + 1]);
                const float half_w = clean_coord(boxes[query * 4 + 2]) * 0.5f;
                const float half_h = clean_coord(boxes[query * 4 + 3]) * 0.5f;
                float* row = out + (size_t)round * 7;
                row[0] = (cx - half_w) * width;
                row[1] = (cy - half_h) * height;
                row[2] = (cx + half_w) * width;
                row[3] = (cy + half_h) * height;
                row[4] = best_s;
                row[5] = (float)label;
                row[6] = best_s >= threshold ? 1.0f : 0.0f;
                last_score = best_s;
                last_index = best_i;
            }
        }
        __syncthreads();
    }
}
