//! The tracker's cost and update written op by op in candle, as they ran
//! before [`super::fused`]: about a hundred small kernels a frame on CUDA.
//! Kept as the specification the fused ops are tested against; the frame
//! path does not use it.
//!
//! Both take the packed state of [`super::fused`] and answer in its layout,
//! so their results compare with the fused ops' directly.

use candle_core::{DType, Result, Tensor, D};

use super::cost::cost_matrix;
use super::fused::{state_len, SLOT_WIDTH};
use super::TrackerConfig;
use crate::detector::Detections;
use crate::device_ops::{arange_on_device, cumsum_1d, le_const};

/// The columns of a packed state: `(T, 4)` boxes, then `(T,)` labels, ids,
/// alive and misses, and the `(1,)` next id.
struct Columns {
    boxes: Tensor,
    labels: Tensor,
    ids: Tensor,
    alive: Tensor,
    misses: Tensor,
    next_id: Tensor,
}

fn columns(state: &Tensor, slots: usize) -> Result<Columns> {
    if state.dims() != [state_len(slots)] {
        candle_core::bail!(
            "a packed state of {slots} slots has {} floats, got {:?}",
            state_len(slots),
            state.shape()
        )
    }
    let rows = state.narrow(0, 0, slots * SLOT_WIDTH)?.reshape((slots, SLOT_WIDTH))?;
    let column = |i: usize| rows.narrow(1, i, 1)?.squeeze(1)?.contiguous();
    Ok(Columns {
        boxes: rows.narrow(1, 0, 4)?.contiguous()?,
        labels: column(4)?,
        ids: column(5)?,
        alive: column(6)?,
        misses: column(7)?,
        next_id: state.narrow(0, slots * SLOT_WIDTH, 1)?,
    })
}

/// The gated cost matrix `(K, T)` between `dets` and the slots of `state`.
pub fn cost(dets: &Detections, state: &Tensor, cfg: &TrackerConfig) -> Result<Tensor> {
    let s = columns(state, cfg.max_tracks)?;
    cost_matrix(
        &dets.boxes,
        &dets.labels.to_dtype(DType::F32)?,
        &dets.valid.to_dtype(DType::F32)?,
        &s.boxes,
        &s.labels,
        &s.alive,
        cfg.iou_gate,
        cfg.class_weight,
    )
}

/// `w * new + (1 - w) * old`, `w: (T,)` broadcast over `new`'s trailing dims.
fn blend(w: &Tensor, new: &Tensor, old: &Tensor) -> Result<Tensor> {
    let w = if new.rank() == 2 { w.unsqueeze(1)? } else { w.clone() };
    new.broadcast_mul(&w)?.add(&old.broadcast_mul(&(1.0 - &w)?)?)
}

/// The track update for `assignment: (K,)` i64 (slot or −1): the new packed
/// state and each detection's track id, `(K,)` i64 (−1 for none).
pub fn step(state: &Tensor, dets: &Detections, assignment: &Tensor, cfg: &TrackerConfig) -> Result<(Tensor, Tensor)> {
    let s = columns(state, cfg.max_tracks)?;
    let slot_index = arange_on_device(cfg.max_tracks, DType::I64, state.device())?.unsqueeze(0)?;
    let det_labels = dets.labels.to_dtype(DType::F32)?;
    let det_valid = dets.valid.to_dtype(DType::F32)?;
    // Matches: m[k, t] = 1 when detection k took slot t.
    let m = assignment
        .unsqueeze(1)?
        .broadcast_eq(&slot_index)?
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
    let alive = (&s.alive * le_const(&misses, f64::from(cfg.max_age))?.to_dtype(DType::F32)?)?;
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
    let column = |t: &Tensor| t.unsqueeze(1);
    let rows = Tensor::cat(
        &[
            boxes,
            column(&labels)?,
            column(&ids)?,
            column(&alive)?,
            column(&misses)?,
        ],
        D::Minus1,
    )?;
    let state = Tensor::cat(&[rows.flatten_all()?, next_id], 0)?;
    Ok((state, det_ids.to_dtype(DType::I64)?))
}
