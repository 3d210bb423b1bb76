//! The tracker's small ops fused into two candle custom ops, one kernel each
//! on CUDA (`track.cu`, compiled by NVRTC): [`TrackCost`], the gated cost
//! matrix, and [`TrackStep`], the track update. Together with the assignment
//! kernel ([`super::AssignOp`]) a frame's tracking is three kernels where the
//! op-by-op form ([`super::unfused`]) launched about a hundred.
//!
//! Both work on packed rows: a detection is [`DET_WIDTH`] floats (the fused
//! postprocess's output, [`crate::detector::select`]) and the track state one
//! f32 buffer of `T` slot rows of [`SLOT_WIDTH`] floats followed by the next
//! id ([`super::TrackState`]'s fields are views of it). The CPU kernels are
//! the specification: the op-by-op form's values (tests hold them together;
//! the GPU tests hold the CUDA kernels to them).

use candle_core::{CpuStorage, CustomOp2, CustomOp3, Layout, Shape};

use crate::op_layout::contiguous_part;
#[cfg(feature = "cuda")]
use crate::op_layout::contiguous_range;

pub use crate::detector::select::DET_WIDTH;

/// Floats per track slot: `x1, y1, x2, y2`, class id, track id, alive (0/1),
/// frames since last matched.
pub const SLOT_WIDTH: usize = 8;

/// The packed state's length for `slots` slots: the rows, then the next id.
pub fn state_len(slots: usize) -> usize {
    slots * SLOT_WIDTH + 1
}

#[cfg(feature = "cuda")]
const SOURCE: crate::nvrtc::Source = crate::nvrtc::Source {
    module: "d2h_track",
    code: include_str!("track.cu"),
};

/// The gated cost matrix: detections `(K, DET_WIDTH)` and a packed state →
/// `(K, T)` f32: `1 − IoU`, plus `class_weight` when the classes differ, and
/// `forbidden` unless the detection is valid, the slot alive and the IoU at
/// least `iou_gate`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackCost {
    pub slots: usize,
    pub iou_gate: f32,
    pub class_weight: f32,
    pub forbidden: f32,
}

/// The track update: a packed state, detections `(K, DET_WIDTH)` and their
/// assignment `(K,)` i64 (slot or −1) → `(T·SLOT_WIDTH + 1 + K,)` f32: the
/// new state, then each detection's track id (−1 for none). Matched slots
/// take their detection's box and class and reset their misses; the others
/// age and die past `max_age`; the r-th unmatched valid detection is born
/// into the r-th free slot with id `next_id + r`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackStep {
    pub slots: usize,
    pub max_age: f32,
}

fn relu(v: f32) -> f32 {
    if v > 0.0 {
        v
    } else {
        0.0
    }
}

impl TrackCost {
    /// The op on host slices.
    pub fn cost(&self, dets: &[f32], state: &[f32]) -> Vec<f32> {
        let k = dets.len() / DET_WIDTH;
        let mut out = Vec::with_capacity(k * self.slots);
        for a in dets.chunks_exact(DET_WIDTH) {
            for b in state.chunks_exact(SLOT_WIDTH).take(self.slots) {
                let iw = relu(a[2].min(b[2]) - a[0].max(b[0]));
                let ih = relu(a[3].min(b[3]) - a[1].max(b[1]));
                let inter = iw * ih;
                let area_a = relu(a[2] - a[0]) * relu(a[3] - a[1]);
                let area_b = relu(b[2] - b[0]) * relu(b[3] - b[1]);
                let union = (area_a + area_b) - inter;
                let iou = inter / (union + 1e-9);
                let mismatch = if a[5] != b[4] { 1.0 } else { 0.0 };
                let cost = (1.0 - iou) + mismatch * self.class_weight;
                let allowed = a[6] != 0.0 && b[6] != 0.0 && iou >= self.iou_gate;
                out.push(if allowed { cost } else { self.forbidden });
            }
        }
        out
    }
}

impl TrackStep {
    /// The op on host slices.
    pub fn step(&self, state: &[f32], dets: &[f32], assignment: &[i64]) -> Vec<f32> {
        let slots = self.slots;
        let next_id = state[slots * SLOT_WIDTH];
        let det = |d: usize| &dets[d * DET_WIDTH..(d + 1) * DET_WIDTH];
        let matched_slot = |d: usize| {
            let a = assignment[d];
            (0..slots as i64).contains(&a).then_some(a as usize)
        };
        let mut out: Vec<f32> = Vec::with_capacity(state.len() + assignment.len());
        // Matches, ageing, deaths.
        for (t, old) in state.chunks_exact(SLOT_WIDTH).take(slots).enumerate() {
            let mut row: [f32; SLOT_WIDTH] = old.try_into().expect("slot rows are SLOT_WIDTH long");
            match (0..assignment.len()).find(|&d| assignment[d] == t as i64) {
                Some(d) => {
                    row[..4].copy_from_slice(&det(d)[..4]);
                    row[4] = det(d)[5];
                    row[7] = 0.0;
                }
                None => row[7] += 1.0,
            }
            row[6] = if row[6] != 0.0 && row[7] <= self.max_age {
                1.0
            } else {
                0.0
            };
            out.extend_from_slice(&row);
        }
        // Births: the r-th unmatched valid detection into the r-th free slot.
        let unborn: Vec<usize> = (0..assignment.len())
            .filter(|&d| matched_slot(d).is_none() && det(d)[6] != 0.0)
            .collect();
        let free: Vec<usize> = (0..slots).filter(|&t| out[t * SLOT_WIDTH + 6] == 0.0).collect();
        let mut born_id = vec![-1.0f32; assignment.len()];
        for (rank, (&d, &t)) in unborn.iter().zip(&free).enumerate() {
            let id = rank as f32 + next_id;
            let row = &mut out[t * SLOT_WIDTH..(t + 1) * SLOT_WIDTH];
            row[..4].copy_from_slice(&det(d)[..4]);
            row[4] = det(d)[5];
            row[5] = id;
            row[6] = 1.0;
            row[7] = 0.0;
            born_id[d] = id;
        }
        out.push(next_id + unborn.len().min(free.len()) as f32);
        // Each detection's id, from the new state.
        for (d, born) in born_id.into_iter().enumerate() {
            let id = match matched_slot(d) {
                Some(t) => out[t * SLOT_WIDTH + 5],
                None => born,
            };
            out.push(id);
        }
        out
    }
}

/// `K` of a `(K, DET_WIDTH)` detections layout, checked.
fn det_count(op: &str, layout: &Layout) -> candle_core::Result<usize> {
    match *layout.shape().dims() {
        [k, DET_WIDTH] => Ok(k),
        _ => candle_core::bail!("{op} expects detections (K, {DET_WIDTH}), got {:?}", layout.shape()),
    }
}

fn check_state(op: &str, slots: usize, layout: &Layout) -> candle_core::Result<()> {
    if layout.shape().dims() != [state_len(slots)] {
        candle_core::bail!(
            "{op} expects a packed state of {} floats for {slots} slots, got {:?}",
            state_len(slots),
            layout.shape()
        )
    }
    Ok(())
}

impl CustomOp2 for TrackCost {
    fn name(&self) -> &'static str {
        "track-cost"
    }

    fn cpu_fwd(
        &self,
        dets: &CpuStorage,
        dets_layout: &Layout,
        state: &CpuStorage,
        state_layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let k = det_count(self.name(), dets_layout)?;
        check_state(self.name(), self.slots, state_layout)?;
        let (CpuStorage::F32(dets), CpuStorage::F32(state)) = (dets, state) else {
            candle_core::bail!("track-cost expects f32 detections and state")
        };
        let dets = contiguous_part(self.name(), "detections", dets, dets_layout)?;
        let state = contiguous_part(self.name(), "state", state, state_layout)?;
        Ok((CpuStorage::F32(self.cost(dets, state)), Shape::from((k, self.slots))))
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        dets: &candle_core::CudaStorage,
        dets_layout: &Layout,
        state: &candle_core::CudaStorage,
        state_layout: &Layout,
    ) -> candle_core::Result<(candle_core::CudaStorage, Shape)> {
        use candle_core::cuda_backend::cudarc::driver::{LaunchConfig, PushKernelArg};
        use candle_core::cuda_backend::WrapErr;

        let k = det_count(self.name(), dets_layout)?;
        check_state(self.name(), self.slots, state_layout)?;
        let device = dets.device.clone();
        let dets = dets
            .as_cuda_slice::<f32>()?
            .slice(contiguous_range(self.name(), "detections", dets_layout)?);
        let state = state
            .as_cuda_slice::<f32>()?
            .slice(contiguous_range(self.name(), "state", state_layout)?);
        let pairs = k * self.slots;
        let mut out = device.alloc_zeros::<f32>(pairs)?;
        if pairs > 0 {
            let func = device.get_or_load_custom_func("track_cost", SOURCE.module, crate::nvrtc::ptx(SOURCE)?)?;
            let config = LaunchConfig {
                grid_dim: (pairs.div_ceil(256) as u32, 1, 1),
                block_dim: (256, 1, 1),
                shared_mem_bytes: 0,
            };
            let (k, slots) = (k as i32, self.slots as i32);
            let mut builder = func.builder();
            builder
                .arg(&dets)
                .arg(&state)
                .arg(&mut out)
                .arg(&k)
                .arg(&slots)
                .arg(&self.iou_gate)
                .arg(&self.class_weight)
                .arg(&self.forbidden);
            // SAFETY: the arguments match `track_cost`'s signature; `dets`
            // holds k rows, `state` the slots' rows and `out` k × slots floats.
            unsafe { builder.launch(config) }.w()?;
        }
        Ok((
            candle_core::CudaStorage::wrap_cuda_slice(out, device),
            Shape::from((k, self.slots)),
        ))
    }
}

/// The most slots or detections [`TrackStep`]'s kernel takes: one thread
/// each, in one block.
pub const MAX_STEP_SIDE: usize = 1024;

impl CustomOp3 for TrackStep {
    fn name(&self) -> &'static str {
        "track-step"
    }

    fn cpu_fwd(
        &self,
        state: &CpuStorage,
        state_layout: &Layout,
        dets: &CpuStorage,
        dets_layout: &Layout,
        assignment: &CpuStorage,
        assignment_layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let k = det_count(self.name(), dets_layout)?;
        check_state(self.name(), self.slots, state_layout)?;
        if assignment_layout.shape().dims() != [k] {
            candle_core::bail!(
                "track-step expects an assignment of {k}, got {:?}",
                assignment_layout.shape()
            )
        }
        let (CpuStorage::F32(state), CpuStorage::F32(dets), CpuStorage::I64(assignment)) = (state, dets, assignment)
        else {
            candle_core::bail!("track-step expects an f32 state and detections and an i64 assignment")
        };
        let state = contiguous_part(self.name(), "state", state, state_layout)?;
        let dets = contiguous_part(self.name(), "detections", dets, dets_layout)?;
        let assignment = contiguous_part(self.name(), "assignment", assignment, assignment_layout)?;
        let out = self.step(state, dets, assignment);
        let len = out.len();
        Ok((CpuStorage::F32(out), Shape::from(len)))
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        state: &candle_core::CudaStorage,
        state_layout: &Layout,
        dets: &candle_core::CudaStorage,
        dets_layout: &Layout,
        assignment: &candle_core::CudaStorage,
        assignment_layout: &Layout,
    ) -> candle_core::Result<(candle_core::CudaStorage, Shape)> {
        use candle_core::cuda_backend::cudarc::driver::{LaunchConfig, PushKernelArg};
        use candle_core::cuda_backend::WrapErr;

        let k = det_count(self.name(), dets_layout)?;
        check_state(self.name(), self.slots, state_layout)?;
        if assignment_layout.shape().dims() != [k] {
            candle_core::bail!(
                "track-step expects an assignment of {k}, got {:?}",
                assignment_layout.shape()
            )
        }
        let side = k.max(self.slots);
        if side > MAX_STEP_SIDE {
            candle_core::bail!("track-step on CUDA takes up to {MAX_STEP_SIDE} slots and detections, got {side}")
        }
        let device = state.device.clone();
        let state = state
            .as_cuda_slice::<f32>()?
            .slice(contiguous_range(self.name(), "state", state_layout)?);
        let dets = dets
            .as_cuda_slice::<f32>()?
            .slice(contiguous_range(self.name(), "detections", dets_layout)?);
        let assignment =
            assignment
                .as_cuda_slice::<i64>()?
                .slice(contiguous_range(self.name(), "assignment", assignment_layout)?);
        let len = state_len(self.slots) + k;
        let mut out = device.alloc_zeros::<f32>(len)?;
        let func = device.get_or_load_custom_func("track_step", SOURCE.module, crate::nvrtc::ptx(SOURCE)?)?;
        let config = LaunchConfig {
            grid_dim: (1, 1, 1),
            block_dim: (side.max(1).next_multiple_of(32) as u32, 1, 1),
            shared_mem_bytes: ((self.slots + k) * std::mem::size_of::<i32>()) as u32,
        };
        let (k, slots) = (k as i32, self.slots as i32);
        let mut builder = func.builder();
        builder
            .arg(&state)
            .arg(&dets)
            .arg(&assignment)
            .arg(&mut out)
            .arg(&k)
            .arg(&slots)
            .arg(&self.max_age);
        // SAFETY: the arguments match `track_step`'s signature; the buffers
        // hold what the layouts above checked, `out` the new state and k ids,
        // and the shared memory one int per slot and per detection.
        unsafe { builder.launch(config) }.w()?;
        Ok((candle_core::CudaStorage::wrap_cuda_slice(out, device), Shape::from(len)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(b: [f32; 4], label: f32, id: f32, alive: f32, misses: f32) -> [f32; SLOT_WIDTH] {
        [b[0], b[1], b[2], b[3], label, id, alive, misses]
    }

    fn det(b: [f32; 4], label: f32, valid: f32) -> [f32; DET_WIDTH] {
        [b[0], b[1], b[2], b[3], 0.9, label, valid]
    }

    #[test]
    fn the_cost_gates_dead_slots_invalid_detections_and_low_overlap() {
        let op = TrackCost {
            slots: 2,
            iou_gate: 0.1,
            class_weight: 0.5,
            forbidden: 1e6,
        };
        let mut state = [
            slot([0.0, 0.0, 10.0, 10.0], 1.0, 0.0, 1.0, 0.0),
            slot([0.0, 0.0, 10.0, 10.0], 1.0, 1.0, 0.0, 0.0),
        ]
        .concat();
        state.push(2.0);
        let dets = [
            det([0.0, 0.0, 10.0, 5.0], 1.0, 1.0),    // IoU 0.5 with both slots
            det([0.0, 0.0, 10.0, 5.0], 2.0, 1.0),    // another class
            det([0.0, 0.0, 10.0, 5.0], 1.0, 0.0),    // invalid
            det([50.0, 50.0, 60.0, 60.0], 1.0, 1.0), // no overlap
        ]
        .concat();
        let cost = op.cost(&dets, &state);
        let iou = 50.0f32 / (100.0 + 1e-9);
        assert_eq!(cost, [1.0 - iou, 1e6, (1.0 - iou) + 0.5, 1e6, 1e6, 1e6, 1e6, 1e6]);
    }

    #[test]
    fn a_step_matches_ages_kills_and_gives_birth_in_order() {
        let op = TrackStep { slots: 3, max_age: 2.0 };
        let mut state = [
            slot([0.0, 0.0, 1.0, 1.0], 4.0, 7.0, 1.0, 1.0), // matched below
            slot([5.0, 5.0, 6.0, 6.0], 3.0, 8.0, 1.0, 2.0), // unmatched: misses 3 > 2, dies
            slot([0.0; 4], 0.0, 0.0, 0.0, 0.0),             // free
        ]
        .concat();
        state.push(9.0);
        let dets = [
            det([1.0, 1.0, 2.0, 2.0], 5.0, 1.0), // born first (rank 0) into slot 1
            det([0.0, 0.0, 1.5, 1.5], 6.0, 1.0), // matched to slot 0
            det([3.0, 3.0, 4.0, 4.0], 2.0, 0.0), // invalid: never born
            det([7.0, 7.0, 8.0, 8.0], 1.0, 1.0), // born second (rank 1) into slot 2
        ]
        .concat();
        let out = op.step(&state, &dets, &[-1, 0, -1, -1]);
        let rows: Vec<&[f32]> = out[..3 * SLOT_WIDTH].chunks(SLOT_WIDTH).collect();
        assert_eq!(rows[0], slot([0.0, 0.0, 1.5, 1.5], 6.0, 7.0, 1.0, 0.0));
        assert_eq!(rows[1], slot([1.0, 1.0, 2.0, 2.0], 5.0, 9.0, 1.0, 0.0));
        assert_eq!(rows[2], slot([7.0, 7.0, 8.0, 8.0], 1.0, 10.0, 1.0, 0.0));
        // Next id after two births, then each detection's id.
        assert_eq!(&out[3 * SLOT_WIDTH..], &[11.0, 9.0, 7.0, -1.0, 10.0]);

        // No free slot: valid unmatched detections get no id, and nothing ages past death.
        let full = [slot([0.0; 4], 1.0, 1.0, 1.0, 0.0)].concat();
        let op = TrackStep { slots: 1, max_age: 5.0 };
        let out = op.step(&[full.as_slice(), &[2.0]].concat(), &det([0.0; 4], 1.0, 1.0), &[-1]);
        assert_eq!(out, [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 2.0, -1.0]);
    }
}
