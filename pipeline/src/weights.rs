//! Where the model weights come from: a seeded random initialisation (the
//! default: there is no model hub here) or a safetensors file.
//!
//! The seeded backend derives every tensor from the seed and the tensor's
//! name alone, so two pipelines built with the same seed are identical
//! whatever order their modules ask for weights in. It follows the `Init`
//! hints candle-nn layers give; a tensor requested without a hint (plain
//! `vb.get`, e.g. the `LayerNorm2d` of candle-transformers' SAM) gets 1 for a
//! 1-D `weight`, 0 for a `bias` and a fan-in scaled normal otherwise, so that
//! random models still produce varied outputs. These weights exercise the
//! pipeline; they detect nothing.
//!
//! A file is read with the tensor names candle-transformers' MobileSAM uses
//! (`image_encoder.*`, `prompt_encoder.*`, `mask_decoder.*`) and the
//! detector's under `detector.*`. A module whose top-level prefix is absent
//! from the file entirely falls back to the seeded initialisation (so a real
//! MobileSAM checkpoint can be paired with the seeded detector); a tensor
//! missing under a prefix the file does have is an error.
//!
//! Every tensor handed out is uploaded through the transfer gate (D2H007, in
//! whatever phase asks for it: the setup phase when the pipeline is built), so
//! a file is read into host memory and only the tensors a module uses go up.
//! Every tensor handed out is kept, so [`Weights::tensors`] can be written
//! back to safetensors (through the transfer gate).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use candle_core::{DType, Device, Shape, Tensor};
use candle_nn::init::{FanInOut, NormalOrUniform};
use candle_nn::var_builder::SimpleBackend;
use candle_nn::{Init, VarBuilder};

use crate::error::{PipelineError, Result};
use crate::symbol;
use crate::transfer::{self, Gate};

/// The default seed of the random initialisation.
pub const DEFAULT_SEED: u64 = 0x00d2_4a11;

/// Where weights come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WeightSource {
    /// Deterministic random weights from this seed.
    Seeded(u64),
    /// A safetensors file; modules absent from it are seeded with [`DEFAULT_SEED`].
    File(PathBuf),
}

impl Default for WeightSource {
    fn default() -> Self {
        WeightSource::Seeded(DEFAULT_SEED)
    }
}

struct Store {
    seed: u64,
    /// The file's tensors, on the host.
    file: Option<HashMap<String, Tensor>>,
    file_prefixes: HashSet<String>,
    handed_out: Mutex<BTreeMap<String, Tensor>>,
    /// Where the uploads of handed-out tensors are recorded.
    gate: Gate,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("seed", &self.seed)
            .field("from_file", &self.file.is_some())
            .field("handed_out", &lock(&self.handed_out).len())
            .finish_non_exhaustive()
    }
}

/// The weights of one pipeline: a [`VarBuilder`] factory that remembers what it built.
#[derive(Debug, Clone)]
pub struct Weights {
    store: Arc<Store>,
    device: Device,
}

struct Backend(Arc<Store>);

impl Weights {
    /// Opens `source` for `device`, recording uploads in `gate`. Reading a
    /// file (into host memory) happens here (setup).
    pub fn open(source: &WeightSource, device: &Device, gate: &Gate) -> Result<Weights> {
        match source {
            WeightSource::Seeded(seed) => Ok(Weights::seeded(*seed, device, gate)),
            WeightSource::File(path) => {
                let tensors = transfer::load_safetensors_to_host(path).map_err(|e| PipelineError::Weights {
                    path: path.display().to_string(),
                    message: e.to_string(),
                })?;
                Ok(Weights::build(DEFAULT_SEED, Some(tensors), device, gate))
            }
        }
    }

    /// Seeded weights on `device`, recording uploads in `gate`.
    pub fn seeded(seed: u64, device: &Device, gate: &Gate) -> Weights {
        Weights::build(seed, None, device, gate)
    }

    fn build(seed: u64, file: Option<HashMap<String, Tensor>>, device: &Device, gate: &Gate) -> Weights {
        let file_prefixes = file
            .iter()
            .flat_map(|f| f.keys())
            .map(|name| top_prefix(name).to_string())
            .collect();
        Weights {
            store: Arc::new(Store {
                seed,
                file,
                file_prefixes,
                handed_out: Mutex::new(BTreeMap::new()),
                gate: gate.clone(),
            }),
            device: device.clone(),
        }
    }

    /// A `VarBuilder` (f32) over these weights.
    pub fn var_builder(&self) -> VarBuilder<'static> {
        VarBuilder::from_backend(Box::new(Backend(self.store.clone())), DType::F32, self.device.clone())
    }

    /// Every tensor handed out so far, by name.
    pub fn tensors(&self) -> HashMap<String, Tensor> {
        lock(&self.store.handed_out)
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Whether the weights come from a file.
    pub fn from_file(&self) -> bool {
        self.store.file.is_some()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn top_prefix(name: &str) -> &str {
    name.split('.').next().unwrap_or(name)
}

impl SimpleBackend for Backend {
    fn get(&self, s: Shape, name: &str, h: Init, dtype: DType, dev: &Device) -> candle_core::Result<Tensor> {
        if let Some(t) = lock(&self.0.handed_out).get(name) {
            if t.shape() != &s {
                candle_core::bail!(
                    "weight {name} requested with shape {s:?}, already built as {:?}",
                    t.shape()
                );
            }
            return t.to_dtype(dtype);
        }
        let store = &self.0;
        let tensor = match &store.file {
            Some(file) if store.file_prefixes.contains(top_prefix(name)) => {
                let Some(t) = file.get(name) else {
                    candle_core::bail!("weight {name} is missing from the weights file")
                };
                if t.shape() != &s {
                    candle_core::bail!(
                        "weight {name} has shape {:?} in the file, the model expects {s:?}",
                        t.shape()
                    );
                }
                upload_file_tensor(&store.gate, t, dtype, dev)?
            }
            _ => seeded_tensor(store.seed, name, &s, h, dev, &store.gate)?.to_dtype(dtype)?,
        };
        lock(&self.0.handed_out).insert(name.to_string(), tensor.clone());
        Ok(tensor)
    }

    fn get_unchecked(&self, name: &str, dtype: DType, dev: &Device) -> candle_core::Result<Tensor> {
        match self.0.file.as_ref().and_then(|f| f.get(name)) {
            Some(t) => upload_file_tensor(&self.0.gate, t, dtype, dev),
            None => candle_core::bail!("weight {name} needs a shape to be initialised"),
        }
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.0.file.as_ref().is_some_and(|f| f.contains_key(name))
    }
}

/// A file tensor (on the host) as `dtype` on `dev`, through `gate`.
fn upload_file_tensor(gate: &Gate, t: &Tensor, dtype: DType, dev: &Device) -> candle_core::Result<Tensor> {
    let host = t.to_dtype(dtype)?;
    let uploaded = gate.upload(&host, dev, symbol!(), "file weights")?; // d2h-site: setup-weights-file
    Ok(uploaded)
}

/// SplitMix64: small, fast and good enough for weight initialisation.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box-Muller).
    pub(crate) fn next_normal(&mut self) -> f64 {
        let u1 = self.next_f64().max(f64::MIN_POSITIVE);
        let u2 = self.next_f64();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

fn name_seed(seed: u64, name: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for byte in name.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

fn seeded_tensor(
    seed: u64,
    name: &str,
    shape: &Shape,
    hint: Init,
    dev: &Device,
    gate: &Gate,
) -> candle_core::Result<Tensor> {
    let n = shape.elem_count();
    let mut rng = SplitMix64::new(name_seed(seed, name));
    let leaf = name.rsplit('.').next().unwrap_or(name);
    let rank = shape.rank();
    let fan_in = FanInOut::FanIn.for_shape(shape).max(1) as f64;
    let values: Vec<f32> = match hint {
        Init::Const(c) if c == 0.0 && leaf == "weight" && rank == 1 => vec![1.0; n],
        Init::Const(c) if c == 0.0 && leaf != "bias" => {
            let std = if rank >= 2 { 1.0 / fan_in.sqrt() } else { 0.02 };
            (0..n).map(|_| (rng.next_normal() * std) as f32).collect()
        }
        Init::Const(c) => vec![c as f32; n],
        Init::Randn { mean, stdev } => (0..n).map(|_| (mean + stdev * rng.next_normal()) as f32).collect(),
        Init::Uniform { lo, up } => (0..n).map(|_| (lo + (up - lo) * rng.next_f64()) as f32).collect(),
        Init::Kaiming {
            dist,
            fan,
            non_linearity,
        } => {
            let std = non_linearity.gain() / (fan.for_shape(shape).max(1) as f64).sqrt();
            match dist {
                NormalOrUniform::Uniform => {
                    let bound = 3f64.sqrt() * std;
                    (0..n).map(|_| (bound * (2.0 * rng.next_f64() - 1.0)) as f32).collect()
                }
                NormalOrUniform::Normal => (0..n).map(|_| (std * rng.next_normal()) as f32).collect(),
            }
        }
    };
    let uploaded = gate.upload_vec(values, shape.clone(), dev, symbol!(), "seeded weights")?; // d2h-site: setup-weights-seeded
    Ok(uploaded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_weights_depend_on_seed_and_name_only() {
        let dev = Device::Cpu;
        let gate = Gate::new();
        let a = Weights::seeded(7, &dev, &gate);
        let b = Weights::seeded(7, &dev, &gate);
        let c = Weights::seeded(8, &dev, &gate);
        let ta = a.var_builder().pp("x").get((4, 3), "weight").unwrap();
        // Ask b for another tensor first: the order must not matter.
        let _ = b.var_builder().get((2, 2), "other").unwrap();
        let tb = b.var_builder().pp("x").get((4, 3), "weight").unwrap();
        let tc = c.var_builder().pp("x").get((4, 3), "weight").unwrap();
        let diff = |x: &Tensor, y: &Tensor| {
            (x - y)
                .unwrap()
                .abs()
                .unwrap()
                .sum_all()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap()
        };
        assert_eq!(diff(&ta, &tb), 0.0);
        assert!(diff(&ta, &tc) > 0.0);
        assert_eq!(a.tensors().len(), 1);
        // One upload per tensor built: three pipelines' `x.weight` and b's `other`.
        assert_eq!(gate.uploads_in(crate::Phase::Setup), 4);
    }

    #[test]
    fn unhinted_norm_weights_are_one_and_biases_zero() {
        let w = Weights::seeded(1, &Device::Cpu, &Gate::new());
        let vb = w.var_builder();
        let weight = vb.get(5, "norm.weight").unwrap().to_vec1::<f32>().unwrap();
        let bias = vb.get(5, "norm.bias").unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(weight, vec![1.0; 5]);
        assert_eq!(bias, vec![0.0; 5]);
    }
}
