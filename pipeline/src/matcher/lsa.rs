//! Exact linear assignment (the Hungarian method in its shortest augmenting
//! path form, as in Jonker-Volgenant), and [`AssignOp`], the candle custom op
//! that runs it on the pipeline's device.
//!
//! The op's CPU kernel works on the cost matrix's storage in place, like a
//! device kernel would: no host copy, nothing through the transfer gate. With
//! the `cuda` feature the op has a CUDA kernel (`lsa.cu`, compiled by NVRTC on
//! first use); on a device without a kernel the op fails and the tracker takes
//! its emergency fallback.
//!
//! Semantics (those of `scipy.optimize.linear_sum_assignment`): with `R` rows
//! and `C` columns, `min(R, C)` pairs are assigned, minimising the total cost.
//! Forbidden pairs carry a cost ≥ the op's `forbidden` threshold (far above any
//! sum of allowed costs), so the solution uses as few of them as possible and
//! they are reported as unassigned.

use candle_core::{CpuStorage, CustomOp1, Layout, Shape};

/// The minimum-cost assignment of a row-major `rows × cols` matrix:
/// `result[r]` is row `r`'s column, `None` for the `rows - cols` rows left
/// over when there are more rows than columns. Non-finite costs are treated as
/// `f32::MAX / 4`.
pub fn solve(cost: &[f32], rows: usize, cols: usize) -> Vec<Option<usize>> {
    debug_assert_eq!(cost.len(), rows * cols);
    if rows == 0 || cols == 0 {
        return vec![None; rows];
    }
    if rows > cols {
        // Solve the transpose and invert it.
        let transposed: Vec<f32> = (0..cols)
            .flat_map(|c| (0..rows).map(move |r| (r, c)))
            .map(|(r, c)| cost[r * cols + c])
            .collect();
        let by_col = solve(&transposed, cols, rows);
        let mut by_row = vec![None; rows];
        for (c, r) in by_col.into_iter().enumerate() {
            if let Some(r) = r {
                by_row[r] = Some(c);
            }
        }
        return by_row;
    }
    let at = |r: usize, c: usize| -> f64 {
        let v = cost[r * cols + c];
        if v.is_finite() {
            f64::from(v)
        } else {
            f64::from(f32::MAX / 4.0)
        }
    };
    // 1-based potentials and matching; column 0 is the virtual start.
    let (n, m) = (rows, cols);
    let mut u = vec![0f64; n + 1];
    let mut v = vec![0f64; m + 1];
    let mut row_of = vec![0usize; m + 1];
    let mut way = vec![0usize; m + 1];
    let mut min_slack = vec![0f64; m + 1];
    let mut used = vec![false; m + 1];
    for i in 1..=n {
        row_of[0] = i;
        let mut j0 = 0;
        min_slack.fill(f64::INFINITY);
        used.fill(false);
        loop {
            used[j0] = true;
            let i0 = row_of[j0];
            let mut delta = f64::INFINITY;
            let mut j1 = 0;
            for j in 1..=m {
                if used[j] {
                    continue;
                }
                let slack = at(i0 - 1, j - 1) - u[i0] - v[j];
                if slack < min_slack[j] {
                    min_slack[j] = slack;
                    way[j] = j0;
                }
                if min_slack[j] < delta {
                    delta = min_slack[j];
                    j1 = j;
                }
            }
            for j in 0..=m {
                if used[j] {
                    u[row_of[j]] += delta;
                    v[j] -= delta;
                } else {
                    min_slack[j] -= delta;
                }
            }
            j0 = j1;
            if row_of[j0] == 0 {
                break;
            }
        }
        // Flip the augmenting path.
        loop {
            let j1 = way[j0];
            row_of[j0] = row_of[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut result = vec![None; rows];
    for j in 1..=m {
        if row_of[j] != 0 {
            result[row_of[j] - 1] = Some(j - 1);
        }
    }
    result
}

/// The total cost of an assignment.
pub fn assignment_cost(cost: &[f32], cols: usize, assignment: &[Option<usize>]) -> f64 {
    assignment
        .iter()
        .enumerate()
        .filter_map(|(r, c)| c.map(|c| f64::from(cost[r * cols + c])))
        .sum()
}

/// `(R, C)` f32 cost → `(R,)` i64, or a batch `(B, R, C)` → `(B, R)`: each
/// row's column, or -1 when the row is unassigned or only got a forbidden pair.
///
/// On the CPU each problem is [`solve`]d in place on the storage; on CUDA
/// (feature `cuda`) the batch is one launch of the kernel in `lsa.cu`, one
/// thread block per problem, on candle's stream (see [`super::lsa_cuda`]).
#[derive(Debug, Clone, Copy)]
pub struct AssignOp {
    /// Costs at or above this are forbidden pairs.
    pub forbidden: f32,
}

/// `(batch, rows, cols)` of a rank-2 or rank-3 cost tensor.
pub(crate) fn problem_dims(shape: &Shape) -> candle_core::Result<(usize, usize, usize)> {
    match *shape.dims() {
        [rows, cols] => Ok((1, rows, cols)),
        [batch, rows, cols] => Ok((batch, rows, cols)),
        _ => candle_core::bail!("linear-assignment expects an (R, C) or (B, R, C) cost tensor, got {shape:?}"),
    }
}

/// The output shape for a cost tensor of `shape`: the cost's dims without the last.
pub(crate) fn output_shape(shape: &Shape) -> Shape {
    let dims = shape.dims();
    Shape::from(&dims[..dims.len() - 1])
}

impl CustomOp1 for AssignOp {
    fn name(&self) -> &'static str {
        "linear-assignment"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let (batch, rows, cols) = problem_dims(layout.shape())?;
        let CpuStorage::F32(data) = storage else {
            candle_core::bail!("linear-assignment expects an f32 cost matrix")
        };
        let Some((start, end)) = layout.contiguous_offsets() else {
            candle_core::bail!("linear-assignment expects a contiguous cost matrix")
        };
        let data = &data[start..end];
        let mut out = Vec::with_capacity(batch * rows);
        for b in 0..batch {
            let cost = &data[b * rows * cols..(b + 1) * rows * cols];
            let assignment = solve(cost, rows, cols);
            out.extend(assignment.iter().enumerate().map(|(r, c)| match c {
                Some(c) if cost[r * cols + c] < self.forbidden => *c as i64,
                _ => -1,
            }));
        }
        Ok((CpuStorage::I64(out), output_shape(layout.shape())))
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        storage: &candle_core::CudaStorage,
        layout: &Layout,
    ) -> candle_core::Result<(candle_core::CudaStorage, Shape)> {
        let dims = problem_dims(layout.shape())?;
        let Some((start, end)) = layout.contiguous_offsets() else {
            candle_core::bail!("linear-assignment expects a contiguous cost matrix")
        };
        let device = storage.device.clone();
        let costs = storage.as_cuda_slice::<f32>()?.slice(start..end);
        let mut out = device.alloc_zeros::<i64>(dims.0 * dims.1)?;
        super::lsa_cuda::launch(&device, &costs, &mut out, dims, self.forbidden)?;
        Ok((
            candle_core::CudaStorage::wrap_cuda_slice(out, device),
            output_shape(layout.shape()),
        ))
    }
}
