//! Rule fixture: blocking uploads (D2H007) in candle and cudarc code.
//!
//! Lines ending in a rule-id marker (with its severity) must be reported so;
//! every other line must not. Creating on the device without host data, and
//! anything made on the CPU, is not an upload.

use std::sync::Arc;

use candle_core::{DType, Device, Module, Tensor};
use cudarc::driver::{CudaDevice, CudaSlice, CudaStream, DriverError};

pub struct Detector {
    device: Device,
    cpu: Device,
    anchors: Tensor,
    stream: Arc<CudaStream>,
    scratch: CudaSlice<f32>,
}

impl Detector {
    pub fn new(device: Device, stream: Arc<CudaStream>, anchors: &[f32]) -> candle_core::Result<Self> {
        let anchors = Tensor::new(anchors, &device)?; // D2H007 low
        let scratch = stream.alloc_zeros::<f32>(16).unwrap();
        Ok(Detector {
            device,
            cpu: Device::Cpu,
            anchors,
            stream,
            scratch,
        })
    }

    pub fn load_weights(&mut self, values: Vec<f32>) -> candle_core::Result<()> {
        let n = values.len();
        self.anchors = Tensor::from_vec(values, (n,), &self.device)?; // D2H007 low
        Ok(())
    }

    pub fn process_frame(&mut self, frame: &[f32], h: usize, w: usize) -> candle_core::Result<Tensor> {
        let x = Tensor::from_slice(frame, (h, w), &self.device)?; // D2H007 critical
        let offsets = Tensor::new(&[0.5f32, 1.5], &self.device)?; // D2H007 critical
        let ids = Tensor::from_iter(0u32..4, &self.device)?; // D2H007 critical
        let cuda = Tensor::new(&[1f32], &Device::new_cuda(0)?)?; // D2H007 critical
        let host = Tensor::new(&[2f32, 3.0], &Device::Cpu)?;
        let on_device = host.to_device(&self.device)?; // D2H007 critical
        let local = Tensor::from_vec(vec![1f32, 2.0], (2,), &self.cpu)?;
        let cpu = Device::Cpu;
        let also_local = Tensor::from_slice(&[4f32], (1,), &cpu)?;
        let local_sum = local.add(&also_local)?;
        let zeros = Tensor::zeros((h, w), DType::F32, &self.device)?;
        let ones = Tensor::ones((h, w), DType::F32, &self.device)?;
        let full = Tensor::full(0.5f32, (h, w), &self.device)?;
        let steps = Tensor::arange(0u32, 4, &self.device)?;
        let noise = Tensor::randn(0f32, 1.0, (h, w), &self.device)?;
        let uniform = Tensor::rand(0f32, 1.0, (h, w), &self.device)?;
        let moved = x.to_device(&self.device)?;
        let _ = (offsets, ids, cuda, on_device, local_sum, zeros, ones, full, steps, noise, uniform);
        Ok(moved)
    }

    pub fn round_trip(&self, t: &Tensor) -> candle_core::Result<Tensor> {
        let host = t.to_device(&Device::Cpu)?; // D2H001 medium
        let clipped = host.clamp(0f32, 1f32)?;
        clipped.to_device(&self.device) // D2H007 medium
    }

    pub fn raw(&self, bytes: &[u8], device: &Device) -> candle_core::Result<Tensor> {
        Tensor::from_raw_buffer(bytes, DType::F32, &[2, 2], device) // D2H007 medium
    }

    pub fn frames(&mut self, model: &impl Module, frames: &[Vec<f32>]) -> Result<(), DriverError> {
        for frame in frames {
            self.stream.memcpy_htod(frame, &mut self.scratch)?; // D2H007 critical
            let uploaded = self.stream.clone_htod(frame)?; // D2H007 critical
            let x = Tensor::zeros((1,), DType::F32, &self.device).unwrap();
            let _ = (model.forward(&x), uploaded);
        }
        Ok(())
    }
}

/// A model: `forward` is a hot root.
pub struct Head {
    bias: Tensor,
}

impl Module for Head {
    fn forward(&self, xs: &Tensor) -> candle_core::Result<Tensor> {
        let scale = Tensor::new(&[2f32], xs.device())?; // D2H007 critical
        let made_here = Tensor::ones(xs.dims(), xs.dtype(), xs.device())?;
        xs.broadcast_mul(&scale)?.add(&made_here)?.broadcast_add(&self.bias)
    }
}

/// The older cudarc API.
pub fn legacy_upload(dev: Arc<CudaDevice>, host: Vec<f32>) -> Result<CudaSlice<f32>, DriverError> {
    let copied = dev.htod_copy(host.clone())?; // D2H007 medium
    let mut target = dev.htod_sync_copy(&host)?; // D2H007 medium
    dev.htod_sync_copy_into(&host, &mut target)?; // D2H007 medium
    let zeros = dev.alloc_zeros::<f32>(host.len())?;
    let _ = zeros;
    Ok(copied)
}
