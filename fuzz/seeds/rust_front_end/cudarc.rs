//! Rule fixture: cudarc (the stream API and the older `CudaDevice` API).
//!
//! Lines ending in a rule-id marker must be reported with that rule; every other line must not.

use std::sync::Arc;

use cudarc::driver::{CudaContext, CudaDevice, CudaEvent, CudaSlice, CudaStream, DriverError, LaunchConfig};

pub struct Kernels {
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    weights: CudaSlice<f32>,
    staging: Vec<f32>,
}

impl Kernels {
    pub fn new(ordinal: usize, host: &[f32]) -> Result<Self, DriverError> {
        let ctx = CudaContext::new(ordinal)?;
        let stream = ctx.default_stream();
        let weights = stream.memcpy_stod(host)?; // D2H007
        Ok(Kernels {
            ctx,
            stream,
            weights,
            staging: vec![0.0; host.len()],
        })
    }

    pub fn read_back(&mut self, out: &CudaSlice<f32>) -> Result<Vec<f32>, DriverError> {
        self.stream.memcpy_dtoh(out, &mut self.staging)?; // D2H001
        let all: Vec<f32> = self.stream.memcpy_dtov(out)?; // D2H001
        let cloned = self.stream.clone_dtoh(&self.weights)?; // D2H001
        Ok(all.into_iter().chain(cloned).collect())
    }

    pub fn device_side(&self, input: &[f32]) -> Result<CudaSlice<f32>, DriverError> {
        let uploaded = self.stream.memcpy_stod(input)?; // D2H007
        let mut scratch = self.stream.alloc_zeros::<f32>(input.len())?;
        self.stream.memcpy_dtod(&uploaded, &mut scratch)?;
        self.stream.memcpy_htod(input, &mut scratch)?; // D2H007
        let cfg = LaunchConfig::for_num_elems(input.len() as u32);
        let _ = cfg;
        Ok(scratch)
    }

    pub fn waits(&self, event: &CudaEvent) -> Result<(), DriverError> {
        self.stream.synchronize()?; // D2H004
        self.ctx.synchronize()?; // D2H004
        event.synchronize()?; // D2H004
        let stream = self.ctx.new_stream()?;
        stream.synchronize() // D2H004
    }

    pub fn infer_step(&mut self, frame: &[f32]) -> Result<f32, DriverError> {
        let input = self.stream.memcpy_stod(frame)?; // D2H007
        let host = self.stream.memcpy_dtov(&input)?; // D2H001
        Ok(host.iter().sum())
    }
}

/// The older API: `CudaDevice` with `htod_copy` / `dtoh_sync_copy`.
pub fn legacy_api(dev: Arc<CudaDevice>, host: Vec<f32>) -> Result<Vec<f32>, DriverError> {
    let on_device = dev.htod_copy(host.clone())?; // D2H007
    let copy = dev.htod_sync_copy(&host)?; // D2H007
    let back = dev.dtoh_sync_copy(&on_device)?; // D2H001
    let mut buf = vec![0f32; host.len()];
    dev.dtoh_sync_copy_into(&copy, &mut buf)?; // D2H001
    let reclaimed = dev.sync_reclaim(copy)?; // D2H001
    dev.synchronize()?; // D2H004
    let total: f32 = back.iter().chain(buf.iter()).chain(reclaimed.iter()).sum();
    println!("total {total} of {} values", back.len());
    Ok(back)
}
