//! Tracking by linear assignment between this frame's detections and a fixed
//! set of track slots, on the pipeline's device.
//!
//! The [`cost`] matrix and the track update (matched tracks take their
//! detection's box and class, unmatched ones age and die after `max_age`
//! frames, unmatched valid detections are born into free slots in order) are
//! candle ops over fixed-size tensors; the assignment itself is the exact
//! [`lsa::AssignOp`]. Nothing reads the device from the host.
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
pub mod lsa;
#[cfg(feature = "cuda")]
pub mod lsa_cuda;
pub mod reference;

use std::fmt;

use candle_core::{DType, Device, Tensor};

use crate::detector::Detections;
use crate::device_ops::{arange_on_device, cumsum_1d, le_const};
use crate::summary::TensorSummary;
use crate::symbol;
use crate::transfer::Gate;
use crate::Result;

pub use cost::FORBIDDEN;
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

/// The track slots, on the device. `Debug` prints shapes, not values.
#[derive(Clone)]
pub struct TrackState {
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
    /// Writes `new` into this state's buffers, in place: the buffers stay
    /// the ones allocated at setup, which is what a captured frame needs
    /// (memory allocated before a capture must not be freed inside it). A
    /// clone of the state shares the buffers and sees the update.
    fn assign(&self, new: &TrackState) -> candle_core::Result<()> {
        let pairs = [
            (&self.boxes, &new.boxes),
            (&self.labels, &new.labels),
            (&self.ids, &new.ids),
            (&self.alive, &new.alive),
            (&self.misses, &new.misses),
            (&self.next_id, &new.next_id),
        ];
        for (dst, src) in pairs {
            dst.slice_set(&src.contiguous()?, 0, 0)?;
        }
        Ok(())
    }

    fn empty(slots: usize, device: &Device) -> candle_core::Result<Self> {
        let zeros = || Tensor::zeros(slots, DType::F32, device);
        Ok(TrackState {
            boxes: Tensor::zeros((slots, 4), DType::F32, device)?,
            labels: zeros()?,
            ids: zeros()?,
            alive: zeros()?,
            misses: zeros()?,
            next_id: Tensor::zeros(1, DType::F32, device)?,
        })
    }
}

/// The tracker. Not `Clone`: its state is updated in place, so a clone would
/// share it.
pub struct Tracker {
    pub(crate) cfg: TrackerConfig,
    state: TrackState,
    /// `(1, T)` i64 slot indices, compared against assignments.
    slot_index: Tensor,
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

/// `w * new + (1 - w) * old`, `w: (T,)` broadcast over `new`'s trailing dims.
fn blend(w: &Tensor, new: &Tensor, old: &Tensor) -> candle_core::Result<Tensor> {
    let w = if new.rank() == 2 { w.unsqueeze(1)? } else { w.clone() };
    new.broadcast_mul(&w)?.add(&old.broadcast_mul(&(1.0 - &w)?)?)
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
            slot_index: arange_on_device(cfg.max_tracks, DType::I64, device)?.unsqueeze(0)?,
            device: device.clone(),
        })
    }

    /// The current track slots.
    pub fn state(&self) -> &TrackState {
        &self.state
    }

    /// The gated cost matrix between `dets` and the slots, `(K, T)`.
    pub fn cost(&self, dets: &Detections) -> candle_core::Result<Tensor> {
        cost::cost_matrix(
            &dets.boxes,
            &dets.labels.to_dtype(DType::F32)?,
            &dets.valid.to_dtype(DType::F32)?,
            &self.state.boxes,
            &self.state.labels,
            &self.state.alive,
            self.cfg.iou_gate,
            self.cfg.class_weight,
        )
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

    /// The track update for `assignment: (K,)` i64 (slot or -1), all device ops.
    pub(crate) fn apply(&mut self, dets: &Detections, assignment: &Tensor) -> candle_core::Result<Tensor> {
        let s = &self.state;
        let det_labels = dets.labels.to_dtype(DType::F32)?;
        let det_valid = dets.valid.to_dtype(DType::F32)?;
        // Matches: m[k, t] = 1 when detection k took slot t.
        let m = assignment
            .unsqueeze(1)?
            .broadcast_eq(&self.slot_index)?
            .to_dtype(DType::F32)?;
        let matched_t = m.sum(0)?;
        let matched_k = m.sum(1)?;
        let mt = m.t()?.contiguous()?;
        let boxes = blend(&matched_t, &mt.matmul(&dets.boxes)?, &s.boxes)?;
        let labels = blend(
            &matched_t,
            &mt.matmul(&det_labels.unsqueeze(1)?)?.squeeze(1)?,
            &s.labels,
        )?;
        let misses = ((&s.misses + 1.0)? * (1.0 - &matched_t)?)?;
        let alive = (&s.alive * le_const(&misses, f64::from(self.cfg.max_age))?.to_dtype(DType::F32)?)?;
        // Births: the r-th unmatched valid detection takes the r-th free slot.
        let unborn = (&det_valid * (1.0 - &matched_k)?)?;
        let free = (1.0 - &alive)?;
        let rank_k = (cumsum_1d(&unborn)? - 1.0)?;
        let rank_t = (cumsum_1d(&free)? - 1.0)?;
        let b = rank_k
            .unsqueeze(1)?
            .broadcast_eq(&rank_t.unsqueeze(0)?)?
            .to_dtype(DType::F32)?
            .broadcast_mul(&unborn.unsqueeze(1)?)?
            .broadcast_mul(&free.unsqueeze(0)?)?;
        let born_t = b.sum(0)?;
        let born_k = b.sum(1)?;
        let bt = b.t()?.contiguous()?;
        let new_ids = rank_k.broadcast_add(&s.next_id)?;
        let boxes = blend(&born_t, &bt.matmul(&dets.boxes)?, &boxes)?;
        let labels = blend(&born_t, &bt.matmul(&det_labels.unsqueeze(1)?)?.squeeze(1)?, &labels)?;
        let ids = blend(&born_t, &bt.matmul(&new_ids.unsqueeze(1)?)?.squeeze(1)?, &s.ids)?;
        let alive = (alive + &born_t)?;
        let misses = (misses * (1.0 - &born_t)?)?;
        let next_id = (&s.next_id + born_k.sum_keepdim(0)?)?;
        // Each detection's id: its matched or newborn slot's, else -1.
        let has = (&matched_k + &born_k)?;
        let det_ids = (&m + &b)?.matmul(&ids.unsqueeze(1)?)?.squeeze(1)?;
        let det_ids = ((det_ids * &has)? + (&has - 1.0)?)?;
        self.state.assign(&TrackState {
            boxes,
            labels,
            ids,
            alive,
            misses,
            next_id,
        })?;
        det_ids.to_dtype(DType::I64)
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
        let dets = Detections {
            boxes: Tensor::zeros((2, 4), DType::F32, &dev).unwrap(),
            scores: Tensor::zeros(2, DType::F32, &dev).unwrap(),
            labels: Tensor::zeros(2, DType::U32, &dev).unwrap(),
            valid: Tensor::zeros(2, DType::U8, &dev).unwrap(),
        };
        tracker.update(&gate, &dets).unwrap();
        assert_eq!(gate.fallbacks(), 0);
        assert!(gate.records().is_empty());
    }
}
