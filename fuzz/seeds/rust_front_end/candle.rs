//! Rule fixture: candle.
//!
//! Lines ending in a rule-id marker must be reported with that rule; every other line must not.
//! The file only needs to parse, not to compile.

use std::fmt;

use candle_core::{DType, Device, Module, Tensor, D};
use candle_nn::{linear, Linear, VarBuilder};

pub struct Head {
    proj: Linear,
    anchors: Tensor,
    device: Device,
    cpu: Device,
    scale: f32,
    names: Vec<String>,
}

#[derive(Debug)]
pub struct Detections {
    pub boxes: Tensor,
    pub scores: Tensor,
}

#[derive(Debug)]
pub struct Summary {
    pub count: usize,
    pub label: String,
}

impl Head {
    pub fn copies(&self, t: &Tensor) -> candle_core::Result<()> {
        let a = t.to_vec1::<f32>()?; // D2H001
        let b = t.to_vec2::<f32>()?; // D2H001
        let c: Vec<Vec<Vec<u32>>> = t.to_vec3()?; // D2H001
        let d = t.to_device(&Device::Cpu)?; // D2H001
        let e = self.anchors.to_device(&self.cpu)?; // D2H001
        let (storage, _layout) = t.storage_and_layout();
        let f = t.to_cpu_storage(); // D2H001
        let g = self.anchors.flatten_all()?.to_vec1::<f32>()?; // D2H001
        Ok(())
    }

    pub fn scalars(&self, t: &Tensor) -> candle_core::Result<f32> {
        let s = t.sum_all()?.to_scalar::<f32>()?; // D2H002
        let z = t.max_all()?.to_vec0::<f32>()?; // D2H002
        let n = t.dims()[0];
        let (rows, cols) = t.dims2()?;
        let count = t.elem_count() * rows * cols;
        Ok(s + z + (n + count) as f32)
    }

    /// A chain counts once; what is already on the host is not copied again.
    pub fn chains(&self, t: &Tensor) -> candle_core::Result<Vec<f32>> {
        let once = t.to_device(&Device::Cpu)?.to_vec1::<f32>()?; // D2H001
        let host = t.to_device(&Device::Cpu)?; // D2H001
        let again = host.to_vec1::<f32>()?;
        let scalar = host.sum_all()?.to_scalar::<f32>()?;
        let cpu = Device::Cpu;
        let moved = t.to_device(&cpu)?; // D2H001
        let back = moved.to_vec1::<f32>()?;
        Ok(once.into_iter().chain(again).chain(back).map(|v| v * scalar).collect())
    }

    /// Host tensors and device-side work are not read-backs (the upload is D2H007).
    pub fn uploads(&self, data: &[f32]) -> candle_core::Result<Tensor> {
        let host = Tensor::new(data, &Device::Cpu)?;
        let values = host.to_vec1::<f32>()?;
        let local = Tensor::from_vec(values.clone(), (values.len(),), &Device::Cpu)?;
        let local_sum = local.sum_all()?.to_scalar::<f32>()?;
        let on_device = host.to_device(&self.device)?; // D2H007
        let zeros = Tensor::zeros((2, 2), DType::F32, &self.device)?;
        let cpu_zeros = Tensor::zeros((2, 2), DType::F32, &Device::Cpu)?;
        let cpu_list = cpu_zeros.to_vec2::<f32>()?;
        let picked = on_device.argmax_keepdim(D::Minus1)?;
        let mask = picked.ge(0.5)?.to_dtype(DType::F32)?;
        let shape = mask.shape().clone();
        let dims = mask.dims().to_vec();
        let n: usize = dims.iter().product();
        let words = self.names.iter().map(|s| s.to_uppercase()).collect::<Vec<_>>();
        let mut values = values;
        values.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let m = values.iter().copied().fold(0f32, f32::max) * local_sum;
        let _ = (shape, words, n, m, cpu_list);
        zeros.broadcast_add(&mask)
    }

    pub fn devices(&self, t: &Tensor) -> candle_core::Result<()> {
        self.device.synchronize()?; // D2H004
        t.device().synchronize()?; // D2H004
        Ok(())
    }

    pub fn formatting(&self, t: &Tensor, dets: &Detections, summary: &Summary) -> String {
        println!("value {}", t); // D2H005
        println!("value {:?}", t.sum_all()); // D2H005
        println!("inline {t}"); // D2H005
        println!("inline debug {t:?}"); // D2H005
        eprintln!("shape {:?} dtype {:?} device {:?}", t.shape(), t.dtype(), t.device());
        println!("dims {:?} count {}", t.dims(), t.elem_count());
        let label = format!("{} {}", self.scale, t); // D2H005
        println!("{:?}", dets); // D2H005
        println!("{:?}", summary);
        println!("{}", dets.boxes); // D2H005
        println!("{}", summary.count);
        let named = format!("{x:.3}", x = t); // D2H005
        let plain = format!("{} {}", self.scale, self.names.len());
        log::info!("head output {}", t); // D2H005
        tracing::info!(value = ?t, "traced"); // D2H005
        let message = dbg!(t); // D2H005
        let _ = (named, plain, message);
        label
    }

    pub fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let y = self.proj.forward(x)?;
        let best = y.max_all()?.to_scalar::<f32>()?; // D2H002
        y.affine(1.0 / best as f64, 0.0)
    }
}

impl Module for Head {
    fn forward(&self, xs: &Tensor) -> candle_core::Result<Tensor> {
        let ys = self.proj.forward(xs)?;
        let peak = ys.to_vec1::<f32>()?; // D2H001
        let _ = peak;
        Ok(ys)
    }
}

impl fmt::Display for Head {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Head(anchors={})", self.anchors) // D2H005
    }
}

fn helper_with_param(scores: &Tensor, threshold: f32) -> candle_core::Result<usize> {
    let host: Vec<f32> = scores.to_vec1()?; // D2H001
    Ok(host.iter().filter(|s| **s > threshold).count())
}

fn strings_and_numbers(xs: &[f32], name: &str) -> String {
    let total: f32 = xs.iter().sum();
    let v = xs.to_vec();
    println!("{name} {total} {:?}", v);
    format!("{}", name.len())
}

/// A `to_vec1` with arguments is not candle's: the project's own method, a call edge.
struct Gate;

impl Gate {
    fn to_vec1(&self, t: &Tensor, what: &str) -> Vec<f32> {
        let _ = what;
        t.to_vec1::<f32>().unwrap() // D2H001
    }
}

fn through_gate(gate: &Gate, t: &Tensor) -> Vec<f32> {
    gate.to_vec1(t, "scores")
}

fn builds(vb: VarBuilder) -> candle_core::Result<Linear> {
    linear(4, 4, vb)
}

fn scalar_and_copy(t: &Tensor) -> candle_core::Result<f32> {
    let a = t.to_vec1::<f32>()?; // D2H001
    let b = t // D2H002
        .sum_all()?
        .to_scalar::<f32>()?;
    let c = t.to_vec0::<f32>()?; // D2H002
    Ok(a[0] + b + c)
}
