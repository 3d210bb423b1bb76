//! Blocking uploads (D2H007): host data copied to a device. candle's and
//! burn's constructors that take host data and a device (`Tensor::new(&v,
//! &dev)`, `Tensor::from_vec(v, shape, &dev)`, `Tensor::from_data(data,
//! &device)`), a host tensor moved to a device (`t.to_device(&dev)` of a
//! tensor made on `Device::Cpu`, tch's `Tensor::from_slice(..).to(Device::Cuda(0))`),
//! and cudarc's host-to-device copies (`memcpy_htod`, `clone_htod`,
//! `htod_copy`...). Creating on the device without host data (`zeros`,
//! `ones`, `full`, `arange`, `rand`) is not an upload, nor is anything made
//! on the CPU.

use d2h_rules::RuleId;

use super::analyzer::{Analyzer, Loc, Val};
use super::apis::{self, contains};
use crate::model::{Certainty, Ty};

impl Analyzer<'_> {
    /// `Tensor::new(&data, &dev)` and the other constructors that copy host
    /// data: an upload unless the device is the CPU (tch creates on the CPU).
    pub fn upload_by_creation(&mut self, function: &str, c: &syn::ExprCall, args: &[Val], loc: Loc) {
        if !contains(apis::COPYING_CREATIONS, function) || self.libraries.tch_only() || args.len() < 2 {
            return;
        }
        if args.first().is_some_and(Val::is_tensor) {
            return;
        }
        if c.args.iter().zip(args).any(|(e, v)| self.is_cpu_device(e, v)) {
            return;
        }
        let note = format!("`Tensor::{function}(.., device)` copies host data to the device");
        self.site(RuleId::BlockingUpload, loc, Certainty::Known, Some(note));
    }

    /// `t.to_device(&dev)` / `t.to(Device::Cuda(0))` of a tensor known to be on the host.
    pub fn upload_by_move(&mut self, method: &str, recv: &Val, loc: Loc) {
        if recv.ty != Ty::HostTensor {
            return;
        }
        let note = format!("`{method}` of a host tensor uploads it synchronously");
        self.site(RuleId::BlockingUpload, loc, Certainty::Known, Some(note));
    }

    /// cudarc's host-to-device copies; `None` when the call is not one.
    pub fn cudarc_upload(&mut self, method: &str, nargs: usize, recv: &Val, loc: Loc) -> Option<Val> {
        let (_, _, returns_buffer) = apis::CUDARC_UPLOADS
            .iter()
            .find(|(name, count, _)| *name == method && *count == nargs)?;
        if recv.is_tensor() || recv.ty == Ty::HostTensor {
            return None;
        }
        let note = format!("cudarc `{method}` copies host memory to the device");
        self.site(RuleId::BlockingUpload, loc, Certainty::Known, Some(note));
        Some(if *returns_buffer { Val::tensor() } else { Val::host() })
    }
}
