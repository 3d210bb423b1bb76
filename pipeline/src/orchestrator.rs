//! The orchestrator: [`Pipeline::process_frame`] runs detector →
//! postprocess → predictor → matcher and returns a [`ResultPacket`] of device
//! tensors.
//!
//! In resident mode nothing is read back unless detailed logging is on, and
//! then only through the gate's logging guard (a synchronisation for the
//! latency and one scalar for the detection count), and nothing is uploaded:
//! weights and constants go up once, in the setup phase. The emergency
//! fallback of the matcher is counted and warned about by the gate. In legacy
//! mode the seed's pre-migration host copies, and the uploads of their host
//! results back to the device, happen at their places (see [`crate::modes`]).

use std::collections::VecDeque;
use std::fmt;
use std::path::Path;
use std::time::Instant;

use candle_core::{DType, Device, Tensor};

use crate::capture::CaptureViolation;
use crate::config::PipelineConfig;
use crate::detector::{Detections, Detector};
use crate::error::{device_name, PipelineError, Result};
use crate::graph::{self, FrameGraph, GraphMode, GraphStats};
use crate::legacy;
use crate::matcher::Tracker;
use crate::modes::Mode;
use crate::phase::Phase;
use crate::predictor::{Predictions, Predictor};
use crate::summary::TensorSummary;
use crate::symbol;
use crate::transfer::Gate;
use crate::weights::Weights;

/// One frame's results, all on the pipeline's device. `K` rows, fixed.
///
/// `Debug` prints each tensor's dtype, shape and device, never its values
/// (that would read the device past the transfer gate).
#[derive(Clone)]
pub struct ResultPacket {
    /// `(K, 4)` f32 xyxy pixels.
    pub boxes: Tensor,
    /// `(K,)` f32.
    pub scores: Tensor,
    /// `(K,)` u32.
    pub labels: Tensor,
    /// `(K, H, W)` u8.
    pub masks: Tensor,
    /// `(K,)` i64, -1 where no track.
    pub track_ids: Tensor,
    /// `(K,)` u8, 1 for detections above the score threshold.
    pub valid: Tensor,
}

impl fmt::Debug for ResultPacket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("ResultPacket");
        for (name, t) in self.tensors() {
            s.field(name, &TensorSummary(t));
        }
        s.finish()
    }
}

impl ResultPacket {
    /// Every tensor with its field name.
    pub fn tensors(&self) -> [(&'static str, &Tensor); 6] {
        [
            ("boxes", &self.boxes),
            ("scores", &self.scores),
            ("labels", &self.labels),
            ("masks", &self.masks),
            ("track_ids", &self.track_ids),
            ("valid", &self.valid),
        ]
    }

    /// A packet with its own, contiguous buffers.
    fn deep_copy(&self) -> candle_core::Result<ResultPacket> {
        Ok(ResultPacket {
            boxes: self.boxes.contiguous()?.copy()?,
            scores: self.scores.contiguous()?.copy()?,
            labels: self.labels.contiguous()?.copy()?,
            masks: self.masks.contiguous()?.copy()?,
            track_ids: self.track_ids.contiguous()?.copy()?,
            valid: self.valid.contiguous()?.copy()?,
        })
    }

    /// Writes `src`'s values into this packet's buffers, in place.
    fn assign(&self, src: &ResultPacket) -> candle_core::Result<()> {
        for ((_, dst), (_, src)) in self.tensors().into_iter().zip(src.tensors()) {
            dst.slice_set(&src.contiguous()?, 0, 0)?;
        }
        Ok(())
    }

    /// Whether every tensor lives on `device`.
    pub fn is_on(&self, device: &Device) -> bool {
        self.tensors().iter().all(|(_, t)| t.device().same_device(device))
    }
}

/// A detailed-logging entry (only produced when detailed logging is on).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameLog {
    /// 0-based frame index.
    pub frame: u64,
    /// Wall-clock latency of the frame after synchronising the device.
    pub latency_ms: f64,
    /// Valid detections.
    pub detections: u32,
}

/// The running aggregate of every detailed-logging entry of a run (the ring
/// buffer keeps only the most recent ones).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LogSummary {
    /// Frames logged.
    pub frames: u64,
    pub detections_total: u64,
    pub detections_min: u32,
    pub detections_max: u32,
    pub latency_total_ms: f64,
    pub latency_min_ms: f64,
    pub latency_max_ms: f64,
}

impl LogSummary {
    fn add(&mut self, log: &FrameLog) {
        if self.frames == 0 {
            self.detections_min = log.detections;
            self.latency_min_ms = log.latency_ms;
        }
        self.frames += 1;
        self.detections_total += u64::from(log.detections);
        self.detections_min = self.detections_min.min(log.detections);
        self.detections_max = self.detections_max.max(log.detections);
        self.latency_total_ms += log.latency_ms;
        self.latency_min_ms = self.latency_min_ms.min(log.latency_ms);
        self.latency_max_ms = self.latency_max_ms.max(log.latency_ms);
    }

    /// Mean valid detections per logged frame (0 when nothing was logged).
    pub fn mean_detections(&self) -> f64 {
        if self.frames == 0 {
            0.0
        } else {
            self.detections_total as f64 / self.frames as f64
        }
    }

    /// Mean device-synchronised latency per logged frame, in ms.
    pub fn mean_latency_ms(&self) -> f64 {
        if self.frames == 0 {
            0.0
        } else {
            self.latency_total_ms / self.frames as f64
        }
    }
}

/// The detailed log: the last `capacity` entries and the aggregate of all.
/// The buffer is allocated when the pipeline is built, so logging a frame
/// allocates nothing and the log does not grow with the run.
#[derive(Debug)]
struct FrameLogs {
    recent: VecDeque<FrameLog>,
    capacity: usize,
    summary: LogSummary,
}

impl FrameLogs {
    fn new(capacity: usize) -> Self {
        FrameLogs {
            recent: VecDeque::with_capacity(capacity),
            capacity,
            summary: LogSummary::default(),
        }
    }

    fn push(&mut self, log: FrameLog) {
        self.summary.add(&log);
        if self.capacity == 0 {
            return;
        }
        if self.recent.len() == self.capacity {
            self.recent.pop_front();
        }
        self.recent.push_back(log);
    }
}

/// What the teardown reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Teardown {
    /// Track ids handed out over the run.
    pub tracks_started: u64,
}

/// The pipeline. `Debug` shows its configuration, device and counters, not
/// its weights.
pub struct Pipeline {
    cfg: PipelineConfig,
    device: Device,
    gate: Gate,
    weights: Weights,
    detector: Detector,
    predictor: Predictor,
    tracker: Tracker,
    /// Graph mode's persistent buffers and graph ([`PipelineConfig::graph`]).
    graph: Option<FrameGraph>,
    frames: u64,
    logs: FrameLogs,
}

impl fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline")
            .field("cfg", &self.cfg)
            .field("device", &device_name(&self.device))
            .field("detector", &self.detector)
            .field("predictor", &self.predictor)
            .field("tracker", &self.tracker)
            .field("frames", &self.frames)
            .finish_non_exhaustive()
    }
}

impl Pipeline {
    /// Builds the pipeline on `device` (the setup phase).
    pub fn new(cfg: PipelineConfig, device: &Device) -> Result<Pipeline> {
        cfg.validate()?;
        crate::config::check_dtype(cfg.dtype, device).map_err(|reason| PipelineError::UnsupportedDType {
            dtype: cfg.dtype.as_str(),
            device: device_name(device),
            reason,
        })?;
        let gate = Gate::new();
        gate.set_logging(cfg.log_detailed);
        let _setup = gate.enter(Phase::Setup);
        let weights = Weights::open(&cfg.weights, device, &gate)?;
        let vb = weights.var_builder().set_dtype(cfg.dtype);
        let detector = Detector::new(&cfg.detector, cfg.size, vb.pp("detector"), &gate)?;
        let predictor = Predictor::new(&cfg.predictor, cfg.size, vb.clone(), &gate)?;
        let tracker = Tracker::new(cfg.tracker, device)?;
        // Allocated whether or not logging is on: the gate's switch can turn
        // it on later, and a frame must not allocate the buffer.
        let logs = FrameLogs::new(cfg.log_frames);
        let graph = match cfg.graph {
            GraphMode::On => Some(FrameGraph::new(cfg.size, device)?),
            GraphMode::Off => None,
        };
        drop(_setup);
        Ok(Pipeline {
            cfg,
            device: device.clone(),
            gate,
            weights,
            detector,
            predictor,
            tracker,
            graph,
            frames: 0,
            logs,
        })
    }

    pub fn config(&self) -> &PipelineConfig {
        &self.cfg
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The transfer gate every read and upload of this pipeline goes through.
    pub fn gate(&self) -> &Gate {
        &self.gate
    }

    pub fn weights(&self) -> &Weights {
        &self.weights
    }

    pub fn tracker(&self) -> &Tracker {
        &self.tracker
    }

    /// What graph mode has done so far; `None` when it is off.
    pub fn graph_stats(&self) -> Option<GraphStats> {
        self.graph.as_ref().map(|g| g.stats)
    }

    /// Frames processed so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// The most recent detailed-logging entries (at most
    /// [`PipelineConfig::log_frames`]), oldest first, drained. The buffer
    /// keeps its capacity and the [`Pipeline::log_summary`] is not reset.
    pub fn take_logs(&mut self) -> Vec<FrameLog> {
        self.logs.recent.drain(..).collect()
    }

    /// The most recent detailed-logging entries, oldest first, not drained.
    pub fn recent_logs(&self) -> impl ExactSizeIterator<Item = &FrameLog> + '_ {
        self.logs.recent.iter()
    }

    /// The aggregate of every detailed-logging entry of the run.
    pub fn log_summary(&self) -> LogSummary {
        self.logs.summary
    }

    fn check_frame(&self, frame: &Tensor) -> Result<()> {
        let size = self.cfg.size;
        if frame.dims() != [1, 3, size, size] {
            return Err(PipelineError::FrameShape {
                size,
                got: frame.dims().to_vec(),
            });
        }
        if frame.dtype() != DType::F32 {
            return Err(PipelineError::FrameDType(frame.dtype()));
        }
        if !frame.device().same_device(&self.device) {
            return Err(PipelineError::FrameDevice {
                expected: device_name(&self.device),
                got: device_name(frame.device()),
            });
        }
        Ok(())
    }

    /// Runs one `(1, 3, S, S)` f32 frame through the pipeline.
    ///
    /// In graph mode ([`PipelineConfig::graph`]) the packet's tensors are the
    /// pipeline's persistent outputs: the next frame overwrites them, so copy
    /// what must outlive it.
    pub fn process_frame(&mut self, frame: &Tensor) -> Result<ResultPacket> {
        self.check_frame(frame)?;
        let _frame = self.gate.enter(Phase::Frame);
        let start = Instant::now();
        let packet = match self.cfg.mode {
            Mode::Resident if self.graph.is_some() => self.resident_graph(frame)?,
            Mode::Resident => {
                let device = self.device.clone();
                graph::with_htod_cache(&device, || self.resident(frame))?
            }
            Mode::Legacy => self.legacy(frame, start)?,
        };
        if self.cfg.mode == Mode::Resident {
            if let Some(log) = self.gate.logging() {
                log.synchronize(&self.device, symbol!(), "frame latency")?; // d2h-site: guarded-sync
                let latency_ms = start.elapsed().as_secs_f64() * 1e3;
                let count = packet.valid.to_dtype(DType::F32)?.sum_all()?;
                let detections = log.to_scalar::<f32>(&count, symbol!(), "valid detections")?; // d2h-site: guarded-count
                self.logs.push(FrameLog {
                    frame: self.frames,
                    latency_ms,
                    detections: detections as u32,
                });
            }
        }
        self.frames += 1;
        Ok(packet)
    }

    fn packet(dets: Detections, preds: Predictions, track_ids: Tensor) -> ResultPacket {
        ResultPacket {
            boxes: dets.boxes,
            scores: dets.scores,
            labels: dets.labels,
            masks: preds.masks,
            track_ids,
            valid: dets.valid,
        }
    }

    fn resident(&mut self, frame: &Tensor) -> Result<ResultPacket> {
        let (logits, boxes) = self.detector.forward(frame)?;
        let dets = self.detector.postprocess().forward(&logits, &boxes)?;
        let preds = self.predictor.forward(frame, &dets.boxes)?;
        let track_ids = self.tracker.update(&self.gate, &dets)?;
        Ok(Self::packet(dets, preds, track_ids))
    }

    /// A graph-mode frame: the frame goes into the persistent input, then a
    /// warm-up frame, the capture, or a replay (see [`crate::graph`]).
    fn resident_graph(&mut self, frame: &Tensor) -> Result<ResultPacket> {
        let Some(mut fg) = self.graph.take() else {
            return self.resident(frame);
        };
        let result = self.graph_frame(&mut fg, frame);
        self.graph = Some(fg);
        result
    }

    fn graph_frame(&mut self, fg: &mut FrameGraph, frame: &Tensor) -> Result<ResultPacket> {
        fg.load(frame)?;
        if fg.replay()? {
            return fg.packet();
        }
        let device = self.device.clone();
        if fg.warming_up() {
            graph::with_htod_cache(&device, || self.resident_into(&fg.input, &mut fg.outputs))?;
            fg.stats.warmup_frames += 1;
            return fg.packet();
        }
        graph::with_htod_cache(&device, || self.capture(fg))?;
        fg.stats.captured_frames += 1;
        fg.replay()?;
        fg.packet()
    }

    /// Runs the resident frame under the gate's capture guard, inside a
    /// stream capture on CUDA (kept in `fg` and launched by the caller).
    fn capture(&mut self, fg: &mut FrameGraph) -> Result<()> {
        let kind = graph::capture_kind(&self.device);
        let scope = self
            .gate
            .begin_capture(kind)
            .map_err(|current| PipelineError::CaptureFailed {
                kind,
                message: format!("a {current} capture is already in progress"),
            })?;
        #[cfg(feature = "cuda")]
        let stream_capture = graph::cuda::begin(&self.device)?;
        let body = self.resident_into(&fg.input, &mut fg.outputs);
        // The stream is given back whether or not the body succeeded.
        #[cfg(feature = "cuda")]
        let graph = stream_capture.map(|capture| capture.end()).transpose();
        drop(scope);
        let violation: Option<CaptureViolation> = self.gate.take_violation();
        match (body, violation) {
            (_, Some(violation)) => return Err(violation.into()),
            (Err(e), None) => {
                return Err(PipelineError::CaptureFailed {
                    kind,
                    message: e.to_string(),
                })
            }
            (Ok(()), None) => {}
        }
        #[cfg(feature = "cuda")]
        if let Some(graph) = graph? {
            fg.keep(graph);
        }
        Ok(())
    }

    /// The resident frame with its packet written into `outputs` (allocated
    /// by the first call, outside any capture; copied into afterwards), so
    /// nothing allocated by the frame outlives it.
    fn resident_into(&mut self, input: &Tensor, outputs: &mut Option<ResultPacket>) -> Result<()> {
        let packet = self.resident(input)?;
        match outputs {
            Some(out) => out.assign(&packet)?,
            None => *outputs = Some(packet.deep_copy()?),
        }
        Ok(())
    }

    fn legacy(&mut self, frame: &Tensor, start: Instant) -> Result<ResultPacket> {
        let gate = &self.gate;
        let (logits, boxes) = self.detector.forward(frame)?;
        let host_dets = self.detector.postprocess().forward_to_host(gate, &logits, &boxes)?;
        let dets = host_dets.upload(gate, &self.device)?;
        let host_preds = self.predictor.forward_to_host(gate, frame, &dets.boxes)?;
        let preds = host_preds.upload(gate, &self.device)?;
        let track_ids = self.tracker.update_to_host(gate, &dets)?;
        let (latency_ms, detections) = legacy::end_of_frame(gate, &self.device, &dets, start)?;
        if self.cfg.log_detailed {
            self.logs.push(FrameLog {
                frame: self.frames,
                latency_ms,
                detections: detections as u32,
            });
        }
        Ok(Self::packet(dets, preds, track_ids))
    }

    /// The teardown phase: reads how many tracks the run started.
    pub fn teardown(&mut self) -> Result<Teardown> {
        let _teardown = self.gate.enter(Phase::Teardown);
        let next = self.tracker.state().next_id.sum_all()?;
        let started = self.gate.to_scalar::<f32>(&next, symbol!(), "tracks started")?; // d2h-site: teardown-tracks
        Ok(Teardown {
            tracks_started: started.max(0.0) as u64,
        })
    }

    /// Writes every weight this pipeline uses to a safetensors file (teardown
    /// phase; reloadable with [`crate::WeightSource::File`]).
    pub fn save_weights(&self, path: &Path) -> Result<()> {
        let _teardown = self.gate.enter(Phase::Teardown);
        let tensors = self.weights.tensors();
        self.gate.save_safetensors(&tensors, path, symbol!(), "weights")?;
        Ok(())
    }
}
