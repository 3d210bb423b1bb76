// The fused tracker of d2h's pipeline (see fused.rs): the gated cost matrix
// and the track update, each one kernel. Layouts (f32):
//   detection row (7): x1, y1, x2, y2, score, label, valid (0/1)
//   track state: T slot rows (8): x1, y1, x2, y2, label, id, alive (0/1),
//                misses; then the next id
//   step output: the new state (T * 8 + 1), then each detection's track id
//                (-1 for none)

#define DET_WIDTH 7
#define SLOT_WIDTH 8

__device__ __forceinline__ float relu(float v) { return v > 0.0f ? v : 0.0f; }

// One thread per (detection, slot) pair: 1 - IoU, plus class_weight when the
// classes differ; `forbidden` unless the detection is valid, the slot alive
// and the IoU at least the gate.
extern "C" __global__ void track_cost(
    const float* __restrict__ dets,
    const float* __restrict__ state,
    float* __restrict__ cost,
    int k,
    int slots,
    float iou_gate,
    float class_weight,
    float forbidden) {
    const int pair = blockIdx.x * blockDim.x + threadIdx.x;
    if (pair >= k * slots) return;
    const int d = pair / slots;
    const int t = pair - d * slots;
    const float* a = dets + (size_t)d * DET_WIDTH;
    const float* b = state + (size_t)t * SLOT_WIDTH;
    const float iw = relu(fminf(a[2], b[2]) - fmaxf(a[0], b[0]));
    const float ih = relu(fminf(a[3], b[3]) - fmaxf(a[1], b[1]));
    const float inter = iw * ih;
    const float area_a = relu(a[2] - a[0]) * relu(a[3] - a[1]);
    const float area_b = relu(b[2] - b[0]) * relu(b[3] - b[1]);
    const float uni = (area_a + area_b) - inter;
    const float iou = inter / (uni + 1e-9f);
    const float mismatch = a[5] != b[4] ? 1.0f : 0.0f;
    const float c = (1.0f - iou) + mismatch * class_weight;
    const bool allowed = a[6] != 0.0f && b[6] != 0.0f && iou >= iou_gate;
    cost[pair] = allowed ? c : forbidden;
}

// One block; thread t updates slot t, thread d finds detection d's id.
// Matched slots take their detection's box and class and reset their misses;
// the others age, and die past max_age; the r-th unmatched valid detection
// is born into the r-th free slot with id next_id + r.
extern "C" __global__ void track_step(
    const float* __restrict__ state,
    const float* __restrict__ dets,
    const long long* __restrict__ assignment,
    float* __restrict__ out,
    int k,
    int slots,
    float max_age) {
    extern __shared__ int shared[];
    int* free_rank = shared;          // slots: rank among free slots, or -1
    int* det_rank = shared + slots;   // k: rank among unborn detections, or -1
    const int tid = threadIdx.x;
    const float next_id = state[slots * SLOT_WIDTH];

    // Phase 1: matches, ageing, deaths; which slots are free and which
    // detections wait to be born (flags first, ranks after the barrier).
    float row[SLOT_WIDTH];
    if (tid < slots) {
        const float* old = state + (size_t)tid * SLOT_WIDTH;
        for (int j = 0; j < SLOT_WIDTH; ++j) row[j] = old[j];
        int matched = -1;
        for (int d = 0; d < k; ++d) {
            if (assignment[d] == tid) {
                matched = d;
                break;
            }
        }
        if (matched >= 0) {
            const float* det = dets + (size_t)matched * DET_WIDTH;
            for (int j = 0; j < 4; ++j) row[j] = det[j];
            row[4] = det[5];
            row[7] = 0.0f;
        } else {
            row[7] = row[7] + 1.0f;
        }
        row[6] = (row[6] != 0.0f && row[7] <= max_age) ? 1.0f : 0.0f;
        free_rank[tid] = row[6] == 0.0f ? 1 : 0;
    }
    if (tid < k) {
        const long long a = assignment[tid];
        const bool matched = a >= 0 && a < slots;
        det_rank[tid] = (!matched && dets[(size_t)tid * DET_WIDTH + 6] != 0.0f) ? 1 : 0;
    }
    __syncthreads();
    int my_free = 0, my_unborn = 0;
    if (tid < slots && free_rank[tid]) {
        for (int t = 0; t < tid; ++t) my_free += free_rank[t];
    }
    if (tid < k && det_rank[tid]) {
        for (int d = 0; d < tid; ++d) my_unborn += det_rank[d];
    }
    int free_total = 0, unborn_total = 0;
    for (int t = 0; t < slots; ++t) free_total += free_rank[t];
    for (int d = 0; d < k; ++d) unborn_total += det_rank[d];
    const bool slot_free = tid < slots && free_rank[tid];
    const bool det_unborn = tid < k && det_rank[tid];
    __syncthreads();
    if (tid < slots) free_rank[tid] = slot_free ? my_free : -1;
    if (tid < k) det_rank[tid] = det_unborn ? my_unborn : -1;
    __syncthreads();

    // Phase 2: births, and the new state.
    if (tid < slots) {
        if (free_rank[tid] >= 0) {
            for (int d = 0; d < k; ++d) {
                if (det_rank[d] == free_rank[tid]) {
                    const float* det = dets + (size_t)d * DET_WIDTH;
                    for (int j = 0; j < 4; ++j) row[j] = det[j];
                    row[4] = det[5];
                    row[5] = (float)free_rank[tid] + next_id;
                    row[6] = 1.0f;
                    row[7] = 0.0f;
                    break;
                }
            }
        }
        float* dst = out + (size_t)tid * SLOT_WIDTH;
        for (int j = 0; j < SLOT_WIDTH; ++j) dst[j] = row[j];
    }
    if (tid == 0) {
        const int births = free_total < unborn_total ? free_total : unborn_total;
        out[slots * SLOT_WIDTH] = next_id + (float)births;
    }
    __syncthreads();

    // Phase 3: each detection's track id, read from the new state.
    if (tid < k) {
        const long long a = assignment[tid];
        float id = -1.0f;
        if (a >= 0 && a < slots) {
            id = out[(size_t)a * SLOT_WIDTH + 5];
        } else if (det_rank[tid] >= 0 && det_rank[tid] < free_total) {
            id = (float)det_rank[tid] + next_id;
        }
        out[slots * SLOT_WIDTH + 1 + tid] = id;
    }
}
