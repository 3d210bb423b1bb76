//! Tracking by linear assignment between this frame's detections and a fixed
//! set of track slots, on the pipeline's device.
//!
//! The cost matrix and the track update (matched tracks take their
//! detection's box and class, unmatched ones age and die after `max_age`
//! frames, unmatched valid detections are born into free slots in order) are
//! fused custom ops over fixed-size tensors ([`fused`]; [`unfused`] keeps
//! their op-by-op form as a specification); the assignment itself is the
//! exact [`lsa::AssignOp`]. A frame's tracking is three kernels on CUDA.
//! Nothing reads the device from the host.
//!
//! When the device has no kernel for the assignment (Metal) or the fallback
//! is forced, [`Tracker::update`] takes an emergency
//! fallback: the cost matrix is copied to the host through the gate's
//! fallback reader, solved there, and the assignment uploaded through the same
//! reader. It is counted and warned about. Any other error of the device op
//! is returned: the fallback is for a missing kernel ([`unsupported_on_device`]),
//! not a way to hide failures. [`Tracker::update_to_host`] is the
//! legacy (pre-migration) path: matching on the host every frame, with the
//! assignment and the track ids uploaded back.

pub mod cost;
pub mod fused;
pub mod lsa;
#[cfg(feature = "cuda")]
pub mod lsa_cuda;
pub mod reference;
pub mod unfused;

use std::fmt;

use candle_core::{DType, Device, Tensor};

use crate::detector::Detections;
use crate::summary::TensorSummary;
use crate::symbol;
use crate::transfer::Gate;
use crate::Result;

pub use cost::FORBIDDEN;
pub use fused::{TrackCost, TrackStep};
pub use lsa::AssignOp;

/// Tracking parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackerConfig {
    /// `T`: track slots.
    pub max_tracks: usize,
    /// Pairs with a lower IoU are never matched.
    pub iou_gate: f32,
    /// Added to the cost when the classes differ.
    pub class_weight: f32,
    /// Frames a track survives unmatched.
    pub max_age: u32,
    /// Always take the host fallback (for tests of that path).
    pub force_host_fallback: bool,
}

impl TrackerConfig {
    /// `max_tracks` slots with the default gate, class weight and age.
    pub fn with_slots(max_tracks: usize) -> Self {
        TrackerConfig {
            max_tracks,
            iou_gate: 0.1,
            class_weight: 0.5,
            max_age: 5,
            force_host_fallback: false,
        }
    }
}

/// The track slots, on the device: one packed f32 buffer ([`fused`]'s
/// layout) and views of its columns. `Debug` prints shapes, not values.
#[derive(Clone)]
pub struct TrackState {
    /// `(T · SLOT_WIDTH + 1,)` f32: each slot's row, then the next id. The
    /// fields below are views of it and see every update.
    pub packed: Tensor,
    /// `(T, 4)` f32 xyxy.
    pub boxes: Tensor,
    /// `(T,)` f32 class ids.
    pub labels: Tensor,
    /// `(T,)` f32 track ids (exact integers).
    pub ids: Tensor,
    /// `(T,)` f32 0/1.
    pub alive: Tensor,
    /// `(T,)` f32 frames since last matched.
    pub misses: Tensor,
    /// `(1,)` f32: the next id to hand out.
    pub next_id: Tensor,
}

impl fmt::Debug for TrackState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrackState")
            .field("packed", &TensorSummary(&self.packed))
            .field("boxes", &TensorSummary(&self.boxes))
            .field("labels", &TensorSummary(&self.labels))
            .field("ids", &TensorSummary(&self.ids))
            .field("alive", &TensorSummary(&self.alive))
            .field("misses", &TensorSummary(&self.misses))
            .field("next_id", &TensorSummary(&self.next_id))
            .finish()
    }
}

impl TrackState {
    /// `slots` empty slots (all zero: dead, ids from 0).
    fn empty(slots: usize, device: &Device) -> candle_core::Result<Self> {
        let packed = Tensor::zeros(fused::state_len(slots), DType::F32, device)?;
        let rows = packed
            .narrow(0, 0, slots * fused::SLOT_WIDTH)?
            .reshape((slots, fused::SLOT_WIDTH))?;
        let column = |i: usize| rows.narrow(1, i, 1)?.squeeze(1);
        Ok(TrackState {
            boxes: rows.narrow(1, 0, 4)?,
            labels: column(4)?,
            ids: column(5)?,
            alive: column(6)?,
            misses: column(7)?,
            next_id: packed.narrow(0, slots * fused::SLOT_WIDTH, 1)?,
            packed,
        })
    }

    /// Writes a new packed state into this one's buffer, in place: the buffer
    /// stays the one allocated at setup, which is what a captured frame
    /// needs (memory allocated before a capture must not be freed inside
    /// it), and the views see the update.
    fn assign(&self, new: &Tensor) -> candle_core::Result<()> {
        self.packed.slice_set(new, 0, 0)
    }
}

/// The tracker. Not `Clone`: its state is updated in place, so a clone would
/// share it.
pub struct Tracker {
    pub(crate) cfg: TrackerConfig,
    state: TrackState,
    pub(crate) device: Device,
}

impl fmt::Debug for Tracker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tracker")
            .field("cfg", &self.cfg)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// Whether `e` is candle's error for a custom op with no kernel on the
/// tensor's device (`CustomOp1::cuda_fwd`/`metal_fwd` left at their default:
/// "no cuda implementation for linear-assignment"), looking through the
/// context and backtrace wrappers candle adds. Only this error sends the
/// tracker to its host fallback.
pub fn unsupported_on_device(e: &candle_core::Error) -> bool {
    use candle_core::Error;
    match e {
        Error::WithBacktrace { inner, .. } | Error::Context { inner, .. } | Error::WithPath { inner, .. } => {
            unsupported_on_device(inner)
        }
        Error::Cuda(inner) => is_missing_kernel(&inner.to_string()),
        Error::Msg(message) => is_missing_kernel(message),
        other => {
            let message = other.to_string();
            message.contains("metal") && is_missing_kernel(&message)
        }
    }
}

fn is_missing_kernel(message: &str) -> bool {
    ["no cuda implementation for ", "no metal implementation for "]
        .iter()
        .any(|prefix| message.contains(prefix))
}

impl Tracker {
    pub fn new(cfg: TrackerConfig, device: &Device) -> Result<Self> {
        if cfg.max_tracks == 0 {
            return Err(crate::PipelineError::Config(
                "tracker needs at least one slot".to_string(),
            ));
        }
        Ok(Tracker {
            cfg,
            state: TrackState::empty(cfg.max_tracks, device)?,
            device: device.clone(),
        })
    }

    /// The current track slots.
    pub fn state(&self) -> &TrackState {
        &self.state
    }

    /// The gated cost matrix between `dets` and the slots, `(K, T)`.
    pub fn cost(&self, dets: &Detections) -> candle_core::Result<Tensor> {
        let op = TrackCost {
            slots: self.cfg.max_tracks,
            iou_gate: self.cfg.iou_gate,
            class_weight: self.cfg.class_weight,
            forbidden: FORBIDDEN,
        };
        dets.packed.contiguous()?.apply_op2_no_bwd(&self.state.packed, &op)
    }

    /// The assignment of a host cost matrix: each row's slot, -1 for none
    /// (or a forbidden pair).
    fn solve_host(cost: &[Vec<f32>]) -> Vec<i64> {
        Self::solve_host_gated(cost, |_, _| true)
    }

    /// [`Tracker::solve_host`], keeping only the pairs `keep(row, col)` accepts.
    pub(crate) fn solve_host_gated(cost: &[Vec<f32>], keep: impl Fn(usize, usize) -> bool) -> Vec<i64> {
        let rows = cost.len();
        let cols = cost.first().map_or(0, Vec::len);
        let flat: Vec<f32> = cost.iter().flatten().copied().collect();
        lsa::solve(&flat, rows, cols)
            .iter()
            .enumerate()
            .map(|(r, c)| match c {
                Some(c) if cost[r][*c] < FORBIDDEN && keep(r, *c) => *c as i64,
                _ => -1,
            })
            .collect()
    }

    /// Matches `dets` to the tracks on the device and updates them; returns
    /// each detection's track id, `(K,)` i64, -1 for none.
    ///
    /// The host fallback is taken only when it is forced or when the device
    /// has no kernel for the assignment ([`unsupported_on_device`]); any
    /// other error of the device op (a bad cost matrix, a device failure) is
    /// returned, not hidden behind a fallback.
    pub fn update(&mut self, gate: &Gate, dets: &Detections) -> Result<Tensor> {
        let cost = self.cost(dets)?;
        let assignment = if self.cfg.force_host_fallback {
            self.assign_on_host_fallback(gate, &cost, "host fallback forced by the configuration")?
        } else {
            let device_result = cost.apply_op1_no_bwd(&AssignOp { forbidden: FORBIDDEN });
            self.assignment_or_fallback(gate, &cost, device_result)?
        };
        Ok(self.apply(dets, &assignment)?)
    }

    /// The device op's assignment, or the host fallback when the op has no
    /// kernel on this device; other errors propagate.
    fn assignment_or_fallback(
        &self,
        gate: &Gate,
        cost: &Tensor,
        device_result: candle_core::Result<Tensor>,
    ) -> Result<Tensor> {
        match device_result {
            Ok(assignment) => Ok(assignment),
            Err(e) if unsupported_on_device(&e) => self.assign_on_host_fallback(gate, cost, &e.to_string()),
            Err(e) => Err(e.into()),
        }
    }

    /// The emergency fallback: the cost matrix out and the assignment back,
    /// through the gate's fallback reader.
    fn assign_on_host_fallback(&self, gate: &Gate, cost: &Tensor, why: &str) -> Result<Tensor> {
        let reader = gate.fallback(format!(
            "linear assignment fell back to the host ({why}); results are exact but each frame pays a copy"
        ));
        let host = reader.to_vec2::<f32>(cost, symbol!(), "cost matrix")?; // d2h-site: fallback-matcher-cost
        let values = Self::solve_host(&host);
        let n = values.len();
        let assignment = reader.upload_vec(values, n, &self.device, symbol!(), "assignment")?; // d2h-site: fallback-matcher-assign
        Ok(assignment)
    }

    /// The track update for `assignment: (K,)` i64 (slot or -1), one fused
    /// op: the state is updated in place; returns each detection's track id,
    /// `(K,)` i64, -1 for none.
    pub(crate) fn apply(&mut self, dets: &Detections, assignment: &Tensor) -> candle_core::Result<Tensor> {
        let op = TrackStep {
            slots: self.cfg.max_tracks,
            max_age: self.cfg.max_age as f32,
        };
        let k = dets.packed.dim(0)?;
        let out = self
            .state
            .packed
            .apply_op3_no_bwd(&dets.packed.contiguous()?, &assignment.contiguous()?, &op)?;
        let len = fused::state_len(self.cfg.max_tracks);
        self.state.assign(&out.narrow(0, 0, len)?)?;
        out.narrow(0, len, k)?.to_dtype(DType::I64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Phase;
    use candle_core::Error;

    fn tracker_and_cost() -> (Tracker, Tensor) {
        let dev = Device::Cpu;
        let tracker = Tracker::new(TrackerConfig::with_slots(3), &dev).unwrap();
        let cost = Tensor::full(FORBIDDEN, (2, 3), &dev).unwrap();
        (tracker, cost)
    }

    #[test]
    fn a_missing_device_kernel_takes_the_counted_fallback() {
        let (tracker, cost) = tracker_and_cost();
        let gate = Gate::new();
        let _frame = gate.enter(Phase::Frame);
        let missing = [
            Error::Cuda("no cuda implementation for linear-assignment".into()),
            Error::Msg("no metal implementation for linear-assignment".to_string()),
            Error::Context {
                inner: Box::new(Error::Cuda("no cuda implementation for linear-assignment".into())),
                context: Box::new("applying the op"),
            },
        ];
        for (i, e) in missing.into_iter().enumerate() {
            assert!(unsupported_on_device(&e), "{e}");
            let assignment = tracker.assignment_or_fallback(&gate, &cost, Err(e)).unwrap();
            // Every pair is forbidden: nothing assigned.
            assert_eq!(assignment.to_vec1::<i64>().unwrap(), vec![-1, -1]);
            assert_eq!(gate.fallbacks(), i as u64 + 1);
        }
        assert_eq!(gate.warnings().len(), 3, "{:?}", gate.warnings());
        assert!(gate.warnings()[0].contains("no cuda implementation"));
        // The cost matrix out and the assignment back, per fallback.
        assert_eq!(gate.transfers_in(Phase::Frame), 6);
    }

    #[test]
    fn other_device_errors_propagate_without_a_fallback() {
        let (tracker, cost) = tracker_and_cost();
        let gate = Gate::new();
        let others = [
            Error::Msg("linear-assignment expects an f32 cost matrix".to_string()),
            Error::Cuda("CUDA_ERROR_OUT_OF_MEMORY".into()),
            Error::UnexpectedDType {
                msg: "cost",
                expected: DType::F32,
                got: DType::F16,
            },
        ];
        for e in others {
            assert!(!unsupported_on_device(&e), "{e}");
            let message = e.to_string();
            let err = tracker.assignment_or_fallback(&gate, &cost, Err(e)).unwrap_err();
            assert!(err.to_string().contains(&message), "{err} vs {message}");
        }
        assert_eq!(gate.fallbacks(), 0);
        assert!(gate.warnings().is_empty());
        assert!(gate.records().is_empty());
    }

    #[test]
    fn the_cpu_kernel_needs_no_fallback() {
        let (mut tracker, _) = tracker_and_cost();
        let gate = Gate::new();
        let dev = Device::Cpu;
        let dets = Detections::from_parts(
            Tensor::zeros((2, 4), DType::F32, &dev).unwrap(),
            Tensor::zeros(2, DType::F32, &dev).unwrap(),
            Tensor::zeros(2, DType::U32, &dev).unwrap(),
            Tensor::zeros(2, DType::U8, &dev).unwrap(),
        )
        .unwrap();
        tracker.update(&gate, &dets).unwrap();
        assert_eq!(gate.fallbacks(), 0);
        assert!(gate.records().is_empty());
    }
}
