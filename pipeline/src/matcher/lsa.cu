// Exact batched linear assignment on the GPU: the shortest augmenting path
// method (Jonker-Volgenant as formulated by Crouse, the algorithm behind
// scipy.optimize.linear_sum_assignment), one thread block per problem.
//
// Each problem is a row-major R x C f32 cost matrix. When R > C the kernel
// solves the transpose (so the short side is always the one augmented) by
// indexing, without a copy. Every row of the short side is augmented in turn;
// one Dijkstra step scans the unvisited long-side columns in parallel (each
// thread a strided subset, so a row of the matrix is read coalesced), reduces
// the minimum reduced cost over the block, and lets thread 0 extend the tree.
// Dual variables and path costs are f64, so sums of f32 costs are exact enough
// for the optimum to match a CPU solver's.
//
// Non-finite costs are treated as FLT_MAX / 4 (as the CPU solver does), so a
// complete assignment of the short side always exists. out[b * R + r] is row
// r's column, or -1 when the row is left over (R > C) or took a pair whose cost
// is >= `forbidden`.
//
// Shared memory (dynamic), with n = max(R, C) and m = min(R, C):
//   f64 v[n], shortest[n], u[m]; i32 path[n], row4col[n], col4row[m];
//   u8 visited_col[n], visited_row[m]; plus the per-warp reduction slots.

#define LSA_INF __longlong_as_double(0x7ff0000000000000LL)
#define LSA_MAX_WARPS 32

struct Best {
    double value;
    int is_free;  // 1 when the column is unassigned: preferred on ties
    int col;      // -1: none
};

__device__ __forceinline__ bool better(const Best& a, const Best& b) {
    if (a.col < 0) return false;
    if (b.col < 0) return true;
    if (a.value != b.value) return a.value < b.value;
    if (a.is_free != b.is_free) return a.is_free > b.is_free;
    return a.col < b.col;
}

__device__ __forceinline__ Best warp_min(Best x) {
    for (int offset = 16; offset > 0; offset >>= 1) {
        Best y;
        y.value = __shfl_down_sync(0xffffffffu, x.value, offset);
        y.is_free = __shfl_down_sync(0xffffffffu, x.is_free, offset);
        y.col = __shfl_down_sync(0xffffffffu, x.col, offset);
        if (better(y, x)) x = y;
    }
    return x;
}

__device__ __forceinline__ double clamp_cost(float c) {
    // isfinite without <cmath>: NaN and +-inf fail this test.
    const float big = 3.4028234663852886e38f / 4.0f;
    return (c == c && c <= 3.4028234663852886e38f && c >= -3.4028234663852886e38f) ? (double)c : (double)big;
}

extern "C" __global__ void lsa_batched(
    const float* __restrict__ costs,
    long long* __restrict__ out,
    int rows,
    int cols,
    float forbidden
) {
    extern __shared__ unsigned char smem[];
    const int b = blockIdx.x;
    const int tid = threadIdx.x;
    const int threads = blockDim.x;
    const int warps = (threads + 31) / 32;
    const bool transposed = rows > cols;
    const int m = transposed ? cols : rows;  // the augmented (short) side
    const int n = transposed ? rows : cols;  // the long side
    const float* cost = costs + (size_t)b * rows * cols;
    long long* result = out + (size_t)b * rows;

    double* v = (double*)smem;
    double* shortest = v + n;
    double* u = shortest + n;
    int* path = (int*)(u + m);
    int* row4col = path + n;
    int* col4row = row4col + n;
    Best* partial = (Best*)(col4row + m + (m & 1));  // 2n + m ints, padded to 8-byte alignment
    unsigned char* visited_col = (unsigned char*)(partial + LSA_MAX_WARPS);
    unsigned char* visited_row = visited_col + n;
    __shared__ double min_val;
    __shared__ int current_row;
    __shared__ int sink;

    for (int j = tid; j < n; j += threads) {
        v[j] = 0.0;
        row4col[j] = -1;
    }
    for (int i = tid; i < m; i += threads) {
        u[i] = 0.0;
        col4row[i] = -1;
    }
    __syncthreads();

    for (int start = 0; start < m; ++start) {
        for (int j = tid; j < n; j += threads) {
            shortest[j] = LSA_INF;
            visited_col[j] = 0;
        }
        for (int i = tid; i < m; i += threads) visited_row[i] = 0;
        if (tid == 0) {
            min_val = 0.0;
            current_row = start;
            sink = -1;
        }
        __syncthreads();

        while (sink < 0) {
            const int i = current_row;
            const double base = min_val - u[i];
            if (tid == 0) visited_row[i] = 1;
            Best best = {LSA_INF, 0, -1};
            for (int j = tid; j < n; j += threads) {
                if (visited_col[j]) continue;
                const float c = transposed ? cost[(size_t)j * cols + i] : cost[(size_t)i * cols + j];
                const double reduced = base + clamp_cost(c) - v[j];
                if (reduced < shortest[j]) {
                    path[j] = i;
                    shortest[j] = reduced;
                }
                const Best candidate = {shortest[j], row4col[j] < 0 ? 1 : 0, j};
                if (better(candidate, best)) best = candidate;
            }
            best = warp_min(best);
            if ((tid & 31) == 0) partial[tid / 32] = best;
            __syncthreads();
            if (tid == 0) {
                Best total = partial[0];
                for (int w = 1; w < warps; ++w) {
                    if (better(partial[w], total)) total = partial[w];
                }
                // All costs are finite, so an unvisited column always exists here.
                const int j = total.col;
                min_val = total.value;
                visited_col[j] = 1;
                if (row4col[j] < 0) {
                    sink = j;
                } else {
                    current_row = row4col[j];
                }
            }
            __syncthreads();
        }

        // Update the duals of the tree, then flip the augmenting path.
        const double delta = min_val;
        for (int i = tid; i < m; i += threads) {
            if (i == start) {
                u[i] += delta;
            } else if (visited_row[i]) {
                u[i] += delta - shortest[col4row[i]];
            }
        }
        for (int j = tid; j < n; j += threads) {
            if (visited_col[j]) v[j] -= delta - shortest[j];
        }
        __syncthreads();
        if (tid == 0) {
            int j = sink;
            while (true) {
                const int i = path[j];
                row4col[j] = i;
                const int previous = col4row[i];
                col4row[i] = j;
                j = previous;
                if (i == start) break;
            }
        }
        __syncthreads();
    }

    // Report in the original orientation; forbidden pairs are unassigned.
    if (!transposed) {
        for (int r = tid; r < rows; r += threads) {
            const int c = col4row[r];
            result[r] = (c >= 0 && cost[(size_t)r * cols + c] < forbidden) ? (long long)c : -1LL;
        }
    } else {
        // Here the long side is the original rows: row4col[r] is row r's original column.
        for (int r = tid; r < rows; r += threads) {
            const int c = row4col[r];
            result[r] = (c >= 0 && cost[(size_t)r * cols + c] < forbidden) ? (long long)c : -1LL;
        }
    }
}
