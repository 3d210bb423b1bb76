//! Linear assignment against brute force and an independent solver, the
//! device op against the host solver, and the tracker's birth/death rules.

use candle_core::{DType, Device, Tensor};
use d2h_pipeline::detector::Detections;
use d2h_pipeline::matcher::lsa::{assignment_cost, solve, AssignOp};
use d2h_pipeline::matcher::reference::solve_min_cost_flow;
use d2h_pipeline::matcher::{Tracker, TrackerConfig, FORBIDDEN};
use d2h_pipeline::transfer::Gate;
use d2h_pipeline::Phase;

use crate::common::rng::Rng;

/// The minimum total cost over every assignment of min(rows, cols) pairs.
fn brute_force(cost: &[f32], rows: usize, cols: usize) -> f64 {
    fn go(cost: &[f32], rows: usize, cols: usize, r: usize, used: &mut Vec<bool>, skips: usize) -> f64 {
        if r == rows {
            return 0.0;
        }
        let mut best = f64::INFINITY;
        for c in 0..cols {
            if !used[c] {
                used[c] = true;
                let rest = go(cost, rows, cols, r + 1, used, skips);
                used[c] = false;
                best = best.min(f64::from(cost[r * cols + c]) + rest);
            }
        }
        // With more rows than columns, some rows stay unassigned.
        if skips > 0 {
            best = best.min(go(cost, rows, cols, r + 1, used, skips - 1));
        }
        best
    }
    go(cost, rows, cols, 0, &mut vec![false; cols], rows.saturating_sub(cols))
}

fn check_valid(assignment: &[Option<usize>], rows: usize, cols: usize) {
    assert_eq!(assignment.len(), rows);
    let mut seen = vec![false; cols];
    for c in assignment.iter().flatten() {
        assert!(!seen[*c], "column {c} assigned twice");
        seen[*c] = true;
    }
    assert_eq!(assignment.iter().flatten().count(), rows.min(cols));
}

/// Random instances: continuous costs, small integer costs (many ties) and
/// forbidden pairs, square and rectangular both ways.
fn instances() -> Vec<(usize, usize, Vec<f32>)> {
    let mut rng = Rng(0x5eed);
    let mut out = Vec::new();
    for i in 0..300 {
        let rows = 1 + rng.below(6) as usize;
        let cols = 1 + rng.below(6) as usize;
        let cost = (0..rows * cols)
            .map(|_| match i % 3 {
                0 => (rng.below(10_000) as f32) / 1000.0,
                1 => rng.below(3) as f32,
                _ => {
                    if rng.below(3) == 0 {
                        FORBIDDEN
                    } else {
                        (rng.below(100) as f32) / 50.0
                    }
                }
            })
            .collect();
        out.push((rows, cols, cost));
    }
    out
}

#[test]
fn hungarian_is_optimal_against_brute_force() {
    for (rows, cols, cost) in instances() {
        let assignment = solve(&cost, rows, cols);
        check_valid(&assignment, rows, cols);
        let got = assignment_cost(&cost, cols, &assignment);
        let best = brute_force(&cost, rows, cols);
        assert!((got - best).abs() < 1e-3, "{rows}x{cols}: {got} vs {best} for {cost:?}");
    }
}

#[test]
fn reference_solver_agrees_with_brute_force_and_hungarian() {
    for (rows, cols, cost) in instances() {
        let reference = solve_min_cost_flow(&cost, rows, cols);
        check_valid(&reference, rows, cols);
        let best = brute_force(&cost, rows, cols);
        let got = assignment_cost(&cost, cols, &reference);
        assert!((got - best).abs() < 1e-3, "{rows}x{cols}: {got} vs {best}");
    }
    // Larger instances, beyond brute force: the two solvers must agree on the cost.
    let mut rng = Rng(42);
    for _ in 0..30 {
        let rows = 5 + rng.below(20) as usize;
        let cols = 5 + rng.below(20) as usize;
        let cost: Vec<f32> = (0..rows * cols).map(|_| rng.below(1000) as f32 / 100.0).collect();
        let a = assignment_cost(&cost, cols, &solve(&cost, rows, cols));
        let b = assignment_cost(&cost, cols, &solve_min_cost_flow(&cost, rows, cols));
        assert!((a - b).abs() < 1e-3, "{rows}x{cols}: {a} vs {b}");
    }
}

#[test]
fn empty_instances() {
    assert_eq!(solve(&[], 0, 3), Vec::<Option<usize>>::new());
    assert_eq!(solve(&[], 2, 0), vec![None, None]);
}

#[test]
fn device_op_matches_the_host_solver_and_drops_forbidden_pairs() {
    let dev = Device::Cpu;
    for (rows, cols, cost) in instances().into_iter().take(60) {
        let t = Tensor::from_vec(cost.clone(), (rows, cols), &dev).unwrap();
        let out = t.apply_op1_no_bwd(&AssignOp { forbidden: FORBIDDEN }).unwrap();
        assert_eq!(out.dtype(), DType::I64);
        let out = out.to_vec1::<i64>().unwrap();
        let host = solve(&cost, rows, cols);
        for (r, (&o, h)) in out.iter().zip(&host).enumerate() {
            match h {
                Some(c) if cost[r * cols + c] < FORBIDDEN => assert_eq!(o, *c as i64),
                _ => assert_eq!(o, -1),
            }
        }
    }
}

fn dets(boxes: &[[f32; 4]], labels: &[u32], valid: &[u8]) -> Detections {
    let dev = Device::Cpu;
    let k = boxes.len();
    Detections::from_parts(
        Tensor::from_vec(boxes.iter().flatten().copied().collect::<Vec<_>>(), (k, 4), &dev).unwrap(),
        Tensor::ones(k, DType::F32, &dev).unwrap(),
        Tensor::from_slice(labels, k, &dev).unwrap(),
        Tensor::from_slice(valid, k, &dev).unwrap(),
    )
    .unwrap()
}

#[test]
fn tracks_are_born_kept_and_die() {
    let gate = Gate::new();
    let _frame = gate.enter(Phase::Frame);
    let cfg = TrackerConfig {
        max_tracks: 3,
        iou_gate: 0.3,
        class_weight: 0.5,
        max_age: 1,
        force_host_fallback: false,
    };
    let mut tracker = Tracker::new(cfg, &Device::Cpu).unwrap();
    let a = [0f32, 0., 10., 10.];
    let b = [20f32, 20., 30., 30.];
    let c = [40f32, 40., 50., 50.];
    let ids = |t: Tensor| t.to_vec1::<i64>().unwrap();
    // Frame 0: two valid detections are born as 0 and 1; the invalid one gets none.
    let out = tracker
        .update(&gate, &dets(&[a, b, c], &[0, 1, 0], &[1, 1, 0]))
        .unwrap();
    assert_eq!(ids(out), vec![0, 1, -1]);
    // Frame 1: both move a little, in another order: same ids.
    let a1 = [1f32, 1., 11., 11.];
    let b1 = [21f32, 21., 31., 31.];
    let out = tracker
        .update(&gate, &dets(&[b1, a1, c], &[1, 0, 0], &[1, 1, 0]))
        .unwrap();
    assert_eq!(ids(out), vec![1, 0, -1]);
    // Frame 2: a1 is gone (track 0 missed once), c appears: born as 2.
    let out = tracker
        .update(&gate, &dets(&[b1, c, a1], &[1, 0, 0], &[1, 1, 0]))
        .unwrap();
    assert_eq!(ids(out), vec![1, 2, -1]);
    // Frame 3: track 0 misses a second time and dies (max_age 1); its slot is free.
    let d = [60f32, 0., 70., 10.];
    let out = tracker
        .update(&gate, &dets(&[b1, c, d], &[1, 0, 2], &[1, 1, 0]))
        .unwrap();
    assert_eq!(ids(out), vec![1, 2, -1]);
    let alive = tracker.state().alive.to_vec1::<f32>().unwrap();
    assert_eq!(alive, vec![0.0, 1.0, 1.0]);
    // Frame 4: d becomes valid and takes the free slot with a new id; a class
    // change on b's box is still matched (the class only adds cost).
    let out = tracker
        .update(&gate, &dets(&[b1, c, d], &[2, 0, 2], &[1, 1, 1]))
        .unwrap();
    assert_eq!(ids(out), vec![1, 2, 3]);
    // Frame 5: no slot left for a fourth track.
    let e = [80f32, 80., 90., 90.];
    let out = tracker
        .update(&gate, &dets(&[b1, c, d, e], &[2, 0, 2, 1], &[1, 1, 1, 1]))
        .unwrap();
    assert_eq!(ids(out), vec![1, 2, 3, -1]);
    assert_eq!(gate.transfers_in(Phase::Frame), 0);
}

#[test]
fn low_iou_pairs_are_gated() {
    let gate = Gate::new();
    let mut tracker = Tracker::new(TrackerConfig::with_slots(4), &Device::Cpu).unwrap();
    let out = tracker.update(&gate, &dets(&[[0., 0., 10., 10.]], &[0], &[1])).unwrap();
    assert_eq!(out.to_vec1::<i64>().unwrap(), vec![0]);
    // Far away: below the gate, so a new track rather than a match.
    let out = tracker
        .update(&gate, &dets(&[[50., 50., 60., 60.]], &[0], &[1]))
        .unwrap();
    assert_eq!(out.to_vec1::<i64>().unwrap(), vec![1]);
}

#[test]
fn a_batch_of_cost_matrices_is_solved_problem_by_problem() {
    let dev = Device::Cpu;
    let problems: Vec<(usize, usize, Vec<f32>)> =
        instances().into_iter().filter(|(r, c, _)| (*r, *c) == (3, 4)).collect();
    assert!(
        problems.len() >= 3,
        "the instance generator should give a few 3x4 problems"
    );
    let flat: Vec<f32> = problems.iter().flat_map(|(_, _, cost)| cost.iter().copied()).collect();
    let batch = Tensor::from_vec(flat, (problems.len(), 3, 4), &dev).unwrap();
    let out = batch.apply_op1_no_bwd(&AssignOp { forbidden: FORBIDDEN }).unwrap();
    assert_eq!(out.dims(), &[problems.len(), 3]);
    for (row, (rows, cols, cost)) in out.to_vec2::<i64>().unwrap().iter().zip(&problems) {
        let single = Tensor::from_vec(cost.clone(), (*rows, *cols), &dev).unwrap();
        let alone = single.apply_op1_no_bwd(&AssignOp { forbidden: FORBIDDEN }).unwrap();
        assert_eq!(row, &alone.to_vec1::<i64>().unwrap());
    }
    let rank_one = Tensor::zeros(4, DType::F32, &dev).unwrap();
    let err = rank_one
        .apply_op1_no_bwd(&AssignOp { forbidden: FORBIDDEN })
        .unwrap_err();
    assert!(err.to_string().contains("(R, C) or (B, R, C)"), "{err}");
}
