//! Rule fixture: tch (libtorch bindings).
//!
//! Lines ending in a rule-id marker must be reported with that rule; every other line must not.

use anyhow::Result;
use tch::{nn, nn::Module, Device, Kind, Tensor};

pub struct Net {
    seq: nn::Sequential,
    device: Device,
}

impl Net {
    pub fn copies(&self, t: &Tensor) -> Result<()> {
        let a = t.to(Device::Cpu); // D2H001
        let b = t.to_device(Device::Cpu); // D2H001
        let c = Vec::<f32>::try_from(t)?; // D2H001
        let d: Vec<i64> = Vec::from(t); // D2H001
        let e = Vec::<f32>::try_from(&a)?;
        let f = b.double_value(&[]);
        let _ = (c, d, e, f);
        Ok(())
    }

    pub fn scalars(&self, t: &Tensor) -> Result<f64> {
        let s = t.double_value(&[]); // D2H002
        let i = t.int64_value(&[0]); // D2H002
        let f = f64::try_from(t.sum(Kind::Float))?; // D2H002
        let n = i64::from(&t.argmax(None, false)); // D2H002
        let plain = f64::from(3.0f32) + i64::from(2i32) as f64;
        Ok(s + i as f64 + f + n as f64 + plain)
    }

    /// Tensors created without a device are on the CPU: reading them is no transfer.
    pub fn host_tensors(&self) -> Result<Tensor> {
        let host = Tensor::from_slice(&[3.0f32, 1.0, 4.0]);
        let values = Vec::<f32>::try_from(&host)?;
        let first = host.double_value(&[0]);
        let zeros = Tensor::zeros([2, 2], (Kind::Float, Device::Cpu));
        let zeros_sum = zeros.sum(Kind::Float).double_value(&[]);
        let on_device = host.to_device(self.device); // D2H007
        let ones = Tensor::ones([2, 2], (Kind::Float, self.device));
        let _ = (values, first, zeros_sum);
        Ok(on_device + ones)
    }

    pub fn uploaded_then_read(&self) -> f64 {
        let host = Tensor::from_slice(&[1.0f32, 2.0]);
        let on_device = host.to_device(self.device); // D2H007
        on_device.sum(Kind::Float).double_value(&[]) // D2H002
    }

    pub fn formatting(&self, t: &Tensor) {
        t.print(); // D2H005
        println!("{}", t); // D2H005
        println!("{:?}", t.size());
        println!("kind {:?} device {:?}", t.kind(), t.device());
    }

    pub fn waits(&self) {
        tch::Cuda::synchronize(0); // D2H004
    }
}

impl Module for Net {
    fn forward(&self, xs: &Tensor) -> Tensor {
        let ys = self.seq.forward(xs);
        let top = ys.max().double_value(&[]); // D2H002
        ys / top
    }
}

pub fn run(net: &Net, frames: &[Tensor]) -> Vec<i64> {
    let mut labels = Vec::new();
    for frame in frames {
        let out = net.forward(frame);
        labels.push(out.argmax(-1, false).int64_value(&[])); // D2H002
    }
    labels
}

/// Uploads: host tensors moved to a CUDA device.
pub fn uploads(values: &[f32]) -> Tensor {
    let a = Tensor::from_slice(values).to(Device::Cuda(0)); // D2H007
    let host = Tensor::from_slice(&[1.0f32, 2.0]);
    let b = host.to_device(Device::Cuda(0)); // D2H007
    let floats = Tensor::from_slice(values).to(Kind::Float);
    let on_cpu = Tensor::from_slice(values).to_device(Device::Cpu);
    let made_there = Tensor::zeros([2], (Kind::Float, Device::Cuda(0)));
    let moved = made_there.to_device(Device::Cuda(1));
    let _ = (floats, on_cpu);
    a + b + moved
}
