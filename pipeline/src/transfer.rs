//! The transfer gate: the one place in `pipeline/` that moves data between
//! the host and the device.
//!
//! Every `to_vec*`, `to_scalar`, `to_device(&Device::Cpu)`, device
//! synchronisation and safetensors save goes through a [`Gate`] method, and so
//! does every upload of host data: `Tensor::from_vec`, `Tensor::from_slice`
//! (also what `Tensor::new` does) and `to_device(&device)` of a host tensor.
//! The methods are `#[track_caller]`, so each transfer is recorded at the line
//! that asked for it ([`Site`]), in the function named by the caller's
//! [`symbol!`](crate::symbol), with the rule it falls under (D2H001 explicit
//! copy, D2H002 scalar read, D2H004 explicit sync, D2H007 blocking upload), the
//! bytes it moved, the [`Phase`](crate::Phase) it happened in and why it happened
//! ([`Context`]: a plain transfer, one under the detailed-logging guard, or an
//! emergency fallback). On the CPU device the gate counts what would be a
//! transfer on a GPU (an upload to the CPU device is still counted), so CI
//! exercises the same logic. A test (`tests/no_forbidden_api.rs`) parses
//! `pipeline/src` to make sure nothing outside this file calls those APIs,
//! under any spelling, and nothing formats a tensor (candle's `Debug` and
//! `Display` read its values; the pipeline's types print
//! [`crate::summary::TensorSummary`] instead). The methods here share
//! candle's names but not its arity, which is how that test tells them apart.
//!
//! [`TRANSFER_METHODS`] is the list of those methods with the rule each
//! records: `pipeline/d2h.toml` declares exactly these (on [`Gate`] and on
//! [`Reader`]) transfer functions for the static audit, and the forbidden-API
//! test takes their arities from it; tests hold both to the table.
//!
//! Transfers under the logging guard can only be made through
//! [`Gate::logging`], which returns `None` unless detailed logging is on: a
//! guarded transfer is guarded by construction. [`Gate`]'s methods make plain
//! transfers through the same [`Reader`] methods.
//!
//! Creating a tensor on the device from nothing (`Tensor::zeros`,
//! `Tensor::full`) moves no host data and needs no gate.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{Device, Result, Shape, Tensor, WithDType};
use d2h_rules::RuleId;

use crate::alloc;
pub use crate::gate::{Context, Gate, PhaseScope, TransferRecord};
pub use crate::site::{Site, Symbol};

/// A transfer method of the gate, on [`Gate`] (plain transfers) and on
/// [`Reader`] (guarded and fallback ones) alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferMethod {
    /// The method's name (`to_vec1`: `Gate::to_vec1` and `Reader::to_vec1`).
    pub name: &'static str,
    /// The rule each call is recorded under.
    pub rule: RuleId,
    /// Its arguments after the receiver. Where candle has a method of the
    /// same name it takes fewer: that is how `tests/no_forbidden_api.rs`
    /// tells a call of the gate from a read past it.
    pub arity: usize,
    /// The candle operation it makes, as a record's `code` names it.
    pub op: &'static str,
}

const fn method(name: &'static str, rule: RuleId, arity: usize, op: &'static str) -> TransferMethod {
    TransferMethod { name, rule, arity, op }
}

const TO_VEC1: TransferMethod = method("to_vec1", RuleId::ExplicitCopy, 3, "to_vec1");
const TO_VEC2: TransferMethod = method("to_vec2", RuleId::ExplicitCopy, 3, "to_vec2");
const TO_VEC3: TransferMethod = method("to_vec3", RuleId::ExplicitCopy, 3, "to_vec3");
const TO_HOST: TransferMethod = method("to_host", RuleId::ExplicitCopy, 3, "to_device(Cpu)");
const SAVE_SAFETENSORS: TransferMethod = method("save_safetensors", RuleId::ExplicitCopy, 4, "safetensors save");
const TO_SCALAR: TransferMethod = method("to_scalar", RuleId::ScalarRead, 3, "to_scalar");
const SYNCHRONIZE: TransferMethod = method("synchronize", RuleId::ExplicitSync, 3, "synchronize");
const UPLOAD_VEC: TransferMethod = method("upload_vec", RuleId::BlockingUpload, 5, "from_vec");
const UPLOAD_SLICE: TransferMethod = method("upload_slice", RuleId::BlockingUpload, 5, "from_slice");
const UPLOAD: TransferMethod = method("upload", RuleId::BlockingUpload, 4, "to_device");

/// Every transfer method of the gate, with the rule it records: the one
/// table `pipeline/d2h.toml`'s `[transfer-functions]` and the forbidden-API
/// test are checked against.
pub const TRANSFER_METHODS: [TransferMethod; 10] = [
    TO_VEC1,
    TO_VEC2,
    TO_VEC3,
    TO_HOST,
    SAVE_SAFETENSORS,
    TO_SCALAR,
    SYNCHRONIZE,
    UPLOAD_VEC,
    UPLOAD_SLICE,
    UPLOAD,
];

/// The types that have every method of [`TRANSFER_METHODS`].
pub const TRANSFER_TYPES: [&str; 2] = ["Gate", "Reader"];

/// The plain transfers: each goes through the [`Reader`] method of the same
/// name, in [`Context::Plain`].
impl Gate {
    fn plain(&self) -> Reader<'_> {
        Reader::new(self, Context::Plain)
    }

    /// `t.to_vec1()`, recorded as D2H001.
    #[track_caller]
    pub fn to_vec1<T: WithDType>(&self, t: &Tensor, symbol: Symbol, what: &str) -> Result<Vec<T>> {
        self.plain().to_vec1(t, symbol, what)
    }

    /// `t.to_vec2()`, recorded as D2H001.
    #[track_caller]
    pub fn to_vec2<T: WithDType>(&self, t: &Tensor, symbol: Symbol, what: &str) -> Result<Vec<Vec<T>>> {
        self.plain().to_vec2(t, symbol, what)
    }

    /// `t.to_vec3()`, recorded as D2H001.
    #[track_caller]
    pub fn to_vec3<T: WithDType>(&self, t: &Tensor, symbol: Symbol, what: &str) -> Result<Vec<Vec<Vec<T>>>> {
        self.plain().to_vec3(t, symbol, what)
    }

    /// `t.to_scalar()`, recorded as D2H002.
    #[track_caller]
    pub fn to_scalar<T: WithDType>(&self, t: &Tensor, symbol: Symbol, what: &str) -> Result<T> {
        self.plain().to_scalar(t, symbol, what)
    }

    /// `t.to_device(&Device::Cpu)`, recorded as D2H001.
    #[track_caller]
    pub fn to_host(&self, t: &Tensor, symbol: Symbol, what: &str) -> Result<Tensor> {
        self.plain().to_host(t, symbol, what)
    }

    /// `device.synchronize()`, recorded as D2H004.
    #[track_caller]
    pub fn synchronize(&self, device: &Device, symbol: Symbol, what: &str) -> Result<()> {
        self.plain().synchronize(device, symbol, what)
    }

    /// Writes `tensors` to a safetensors file (a copy of each tensor to the
    /// host), recorded as one D2H001 with the total bytes.
    #[track_caller]
    pub fn save_safetensors(
        &self,
        tensors: &HashMap<String, Tensor>,
        path: &Path,
        symbol: Symbol,
        what: &str,
    ) -> Result<()> {
        self.plain().save_safetensors(tensors, path, symbol, what)
    }

    /// `Tensor::from_vec(data, shape, device)`, recorded as D2H007.
    #[track_caller]
    pub fn upload_vec<T: WithDType, S: Into<Shape>>(
        &self,
        data: Vec<T>,
        shape: S,
        device: &Device,
        symbol: Symbol,
        what: &str,
    ) -> Result<Tensor> {
        self.plain().upload_vec(data, shape, device, symbol, what)
    }

    /// `Tensor::from_slice(data, shape, device)` (what `Tensor::new` does),
    /// recorded as D2H007.
    #[track_caller]
    pub fn upload_slice<T: WithDType, S: Into<Shape>>(
        &self,
        data: &[T],
        shape: S,
        device: &Device,
        symbol: Symbol,
        what: &str,
    ) -> Result<Tensor> {
        self.plain().upload_slice(data, shape, device, symbol, what)
    }

    /// `host.to_device(device)` of a host tensor, recorded as D2H007.
    #[track_caller]
    pub fn upload(&self, host: &Tensor, device: &Device, symbol: Symbol, what: &str) -> Result<Tensor> {
        self.plain().upload(host, device, symbol, what)
    }
}

/// Makes the transfers of one [`Context`]. Get one from [`Gate::logging`] or
/// [`Gate::fallback`]; plain transfers are [`Gate`]'s own methods.
#[derive(Debug, Clone, Copy)]
pub struct Reader<'g> {
    gate: &'g Gate,
    context: Context,
}

fn tensor_bytes(t: &Tensor) -> u64 {
    (t.elem_count() * t.dtype().size_in_bytes()) as u64
}

fn describe(op: &str, t: &Tensor, what: &str) -> String {
    format!("{op} of {what} ({:?}, {:?})", t.dtype(), t.dims())
}

impl<'g> Reader<'g> {
    pub(crate) fn new(gate: &'g Gate, context: Context) -> Self {
        Reader { gate, context }
    }

    /// The context this reader records under.
    pub fn context(&self) -> Context {
        self.context
    }

    /// Records one call of `method` at `site` under this reader's context.
    fn record(&self, method: &TransferMethod, site: Site, symbol: Symbol, bytes: u64, code: impl FnOnce() -> String) {
        self.gate.record(method.rule, site, self.context, symbol, bytes, code);
    }

    /// The one read to the host: runs `copy` (its allocations counted as the
    /// read's staging copy) and records `t`'s bytes at the caller's site.
    #[track_caller]
    fn read<R>(
        &self,
        method: &TransferMethod,
        t: &Tensor,
        symbol: Symbol,
        what: &str,
        copy: impl FnOnce() -> Result<R>,
    ) -> Result<R> {
        let site = Site::caller();
        self.gate.check_capture(method.op, site, symbol, what)?;
        let out = alloc::staging(copy)?;
        self.record(method, site, symbol, tensor_bytes(t), || describe(method.op, t, what));
        Ok(out)
    }

    /// The one upload of host data: runs `upload` and records the uploaded
    /// tensor's bytes at the caller's site.
    #[track_caller]
    fn upload_with(
        &self,
        method: &TransferMethod,
        symbol: Symbol,
        what: &str,
        upload: impl FnOnce() -> Result<Tensor>,
    ) -> Result<Tensor> {
        let site = Site::caller();
        self.gate.check_capture(method.op, site, symbol, what)?;
        let out = upload()?;
        self.record(method, site, symbol, tensor_bytes(&out), || {
            describe(method.op, &out, what)
        });
        Ok(out)
    }

    /// `t.to_vec1()`, recorded as D2H001.
    #[track_caller]
    pub fn to_vec1<T: WithDType>(&self, t: &Tensor, symbol: Symbol, what: &str) -> Result<Vec<T>> {
        // d2h: ignore[D2H001] the gate's own transfer; d2h.toml makes each call of this method the site
        self.read(&TO_VEC1, t, symbol, what, || t.to_vec1::<T>())
    }

    /// `t.to_vec2()`, recorded as D2H001.
    #[track_caller]
    pub fn to_vec2<T: WithDType>(&self, t: &Tensor, symbol: Symbol, what: &str) -> Result<Vec<Vec<T>>> {
        // d2h: ignore[D2H001] the gate's own transfer; d2h.toml makes each call of this method the site
        self.read(&TO_VEC2, t, symbol, what, || t.to_vec2::<T>())
    }

    /// `t.to_vec3()`, recorded as D2H001.
    #[track_caller]
    pub fn to_vec3<T: WithDType>(&self, t: &Tensor, symbol: Symbol, what: &str) -> Result<Vec<Vec<Vec<T>>>> {
        // d2h: ignore[D2H001] the gate's own transfer; d2h.toml makes each call of this method the site
        self.read(&TO_VEC3, t, symbol, what, || t.to_vec3::<T>())
    }

    /// `t.to_scalar()`, recorded as D2H002.
    #[track_caller]
    pub fn to_scalar<T: WithDType>(&self, t: &Tensor, symbol: Symbol, what: &str) -> Result<T> {
        // d2h: ignore[D2H002] the gate's own transfer; d2h.toml makes each call of this method the site
        self.read(&TO_SCALAR, t, symbol, what, || t.to_scalar::<T>())
    }

    /// `t.to_device(&Device::Cpu)`, recorded as D2H001. Always a new,
    /// contiguous host buffer, also on the CPU device.
    #[track_caller]
    pub fn to_host(&self, t: &Tensor, symbol: Symbol, what: &str) -> Result<Tensor> {
        // The host copy is contiguous (what host code then indexes), so the
        // bytes moved are the element count's. On the CPU device
        // `to_device(Cpu)` would share the storage; a real transfer lands in a
        // fresh host buffer, so make one.
        self.read(&TO_HOST, t, symbol, what, || match t.device() {
            Device::Cpu if t.is_contiguous() => t.copy(),
            Device::Cpu => t.contiguous(),
            // d2h: ignore[D2H001] the gate's own transfer; d2h.toml makes each call of this method the site
            _ => t.contiguous()?.to_device(&Device::Cpu),
        })
    }

    /// Writes `tensors` to a safetensors file, recorded as one D2H001.
    #[track_caller]
    pub fn save_safetensors(
        &self,
        tensors: &HashMap<String, Tensor>,
        path: &Path,
        symbol: Symbol,
        what: &str,
    ) -> Result<()> {
        let site = Site::caller();
        self.gate.check_capture(SAVE_SAFETENSORS.op, site, symbol, what)?;
        alloc::staging(|| candle_core::safetensors::save(tensors, path))?;
        let bytes = tensors.values().map(tensor_bytes).sum();
        self.record(&SAVE_SAFETENSORS, site, symbol, bytes, || {
            format!("{} of {what} ({} tensors)", SAVE_SAFETENSORS.op, tensors.len())
        });
        Ok(())
    }

    /// `device.synchronize()`, recorded as D2H004 (0 bytes).
    #[track_caller]
    pub fn synchronize(&self, device: &Device, symbol: Symbol, what: &str) -> Result<()> {
        let site = Site::caller();
        self.gate.check_capture(SYNCHRONIZE.op, site, symbol, what)?;
        // d2h: ignore[D2H004] the gate's own transfer; d2h.toml makes each call of this method the site
        device.synchronize()?;
        self.record(&SYNCHRONIZE, site, symbol, 0, || {
            format!("{} for {what}", SYNCHRONIZE.op)
        });
        Ok(())
    }

    /// `Tensor::from_vec(data, shape, device)`, recorded as D2H007. On the CPU
    /// device the vector becomes the tensor's buffer (nothing is copied), and
    /// the upload is still counted.
    #[track_caller]
    pub fn upload_vec<T: WithDType, S: Into<Shape>>(
        &self,
        data: Vec<T>,
        shape: S,
        device: &Device,
        symbol: Symbol,
        what: &str,
    ) -> Result<Tensor> {
        // d2h: ignore[D2H007] the gate's own transfer; d2h.toml makes each call of this method the site
        self.upload_with(&UPLOAD_VEC, symbol, what, || Tensor::from_vec(data, shape, device))
    }

    /// `Tensor::from_slice(data, shape, device)`, recorded as D2H007.
    #[track_caller]
    pub fn upload_slice<T: WithDType, S: Into<Shape>>(
        &self,
        data: &[T],
        shape: S,
        device: &Device,
        symbol: Symbol,
        what: &str,
    ) -> Result<Tensor> {
        // d2h: ignore[D2H007] the gate's own transfer; d2h.toml makes each call of this method the site
        self.upload_with(&UPLOAD_SLICE, symbol, what, || Tensor::from_slice(data, shape, device))
    }

    /// `host.to_device(device)` of a host (CPU) tensor, recorded as D2H007
    /// with the tensor's element bytes. On the CPU device the result shares
    /// the host tensor's storage (a GPU upload lands in device memory, not in
    /// a new host buffer), and the upload is still counted. A tensor already
    /// on a GPU is not host data: that is an error, not an upload.
    #[track_caller]
    pub fn upload(&self, host: &Tensor, device: &Device, symbol: Symbol, what: &str) -> Result<Tensor> {
        if !host.device().is_cpu() {
            candle_core::bail!(
                "upload of {what}: the tensor is on {:?}, not on the host",
                host.device().location()
            )
        }
        self.upload_with(&UPLOAD, symbol, what, || host.to_device(device))
    }
}

/// Reads a safetensors file into host (CPU) tensors. Nothing is transferred:
/// the caller uploads what it uses through [`Gate::upload`]. (Loading straight
/// to a GPU, `safetensors::load(path, &cuda)`, would upload every tensor past
/// the gate, so the rest of the crate loads through this.)
pub fn load_safetensors_to_host(path: &Path) -> candle_core::Result<HashMap<String, Tensor>> {
    candle_core::safetensors::load(path, &Device::Cpu)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Phase;

    #[test]
    fn records_site_rule_bytes_phase_and_context() {
        let gate = Gate::new();
        let t = Tensor::new(&[1f32, 2., 3.], &Device::Cpu).unwrap();
        let line = line!() + 1;
        let v: Vec<f32> = gate.to_vec1(&t, Symbol::named("test"), "t").unwrap();
        assert_eq!(v, vec![1., 2., 3.]);
        {
            let _frame = gate.enter(Phase::Frame);
            assert!(gate.logging().is_none());
            gate.set_logging(true);
            let s = t.sum_all().unwrap();
            let _: f32 = gate
                .logging()
                .unwrap()
                .to_scalar(&s, Symbol::named("test"), "sum")
                .unwrap();
        }
        assert_eq!(gate.phase(), Phase::Setup);
        let records = gate.records();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].rule, RuleId::ExplicitCopy);
        assert_eq!(records[0].site.line, line);
        assert_eq!(records[0].site.path(), "pipeline/src/transfer.rs");
        assert_eq!(records[0].bytes, 12);
        assert_eq!(records[0].phase, Phase::Setup);
        assert_eq!(records[1].rule, RuleId::ScalarRead);
        assert_eq!(records[1].phase, Phase::Frame);
        assert_eq!(records[1].context, Context::Logging);
        assert_eq!(gate.transfers_in(Phase::Frame), 1);
    }

    #[test]
    fn repeated_reads_at_one_site_are_counted_not_duplicated() {
        let gate = Gate::new();
        let t = Tensor::new(&[1u32, 2], &Device::Cpu).unwrap();
        for _ in 0..5 {
            let _: Vec<u32> = gate.to_vec1(&t, Symbol::named("test"), "t").unwrap();
        }
        let records = gate.records();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].count, 5);
        assert_eq!(records[0].bytes, 40);
    }

    #[test]
    fn fallbacks_are_counted_with_one_warning_per_message() {
        let gate = Gate::new();
        let t = Tensor::new(&[1f32], &Device::Cpu).unwrap();
        for _ in 0..3 {
            let reader = gate.fallback("no kernel".to_string());
            let _: Vec<f32> = reader.to_vec1(&t, Symbol::named("test"), "t").unwrap();
        }
        assert_eq!(gate.fallbacks(), 3);
        assert_eq!(gate.warnings(), vec!["no kernel".to_string()]);
        assert_eq!(gate.records()[0].context, Context::Fallback);
    }

    #[test]
    fn uploads_are_recorded_as_d2h007_with_site_bytes_and_phase() {
        let gate = Gate::new();
        let dev = Device::Cpu;
        let data = vec![1f32, 2., 3., 4.];
        let line = line!() + 1;
        let a = gate.upload_vec(data, (2, 2), &dev, Symbol::named("test"), "a").unwrap();
        assert_eq!(a.to_vec2::<f32>().unwrap(), vec![vec![1., 2.], vec![3., 4.]]);
        {
            let _frame = gate.enter(Phase::Frame);
            for _ in 0..3 {
                let b = gate
                    .upload_slice(&[7u8, 8, 9], 3, &dev, Symbol::named("test"), "b")
                    .unwrap();
                assert_eq!(b.to_vec1::<u8>().unwrap(), vec![7, 8, 9]);
            }
            let host = Tensor::new(&[1i64, 2], &Device::Cpu).unwrap();
            let reader = gate.fallback("no kernel".to_string());
            let c = reader.upload(&host, &dev, Symbol::named("test"), "c").unwrap();
            assert_eq!(c.to_vec1::<i64>().unwrap(), vec![1, 2]);
        }
        let records = gate.records();
        assert_eq!(records.len(), 3);
        assert!(records.iter().all(|r| r.rule == RuleId::BlockingUpload));
        assert_eq!(records[0].site.line, line);
        assert_eq!(records[0].phase, Phase::Setup);
        assert_eq!(records[0].bytes, 16);
        assert_eq!(records[0].code, "from_vec of a (F32, [2, 2])");
        assert_eq!(
            (records[1].phase, records[1].count, records[1].bytes),
            (Phase::Frame, 3, 9)
        );
        assert_eq!(records[2].context, Context::Fallback);
        assert_eq!(records[2].bytes, 16);
        assert_eq!(gate.uploads_in(Phase::Frame), 4);
        assert_eq!(gate.uploads_in(Phase::Setup), 1);
        assert_eq!(gate.transfers_in(Phase::Frame), 4);
    }

    #[test]
    fn every_transfer_during_a_capture_is_refused_at_its_line() {
        use crate::capture::{CaptureKind, CaptureViolation};
        let gate = Gate::new();
        let dev = Device::Cpu;
        let t = Tensor::new(&[1f32, 2.], &dev).unwrap();
        let host = Tensor::new(&[3f32], &dev).unwrap();
        let sym = Symbol::named("test");
        let scope = gate.begin_capture(CaptureKind::Simulated).unwrap();
        assert_eq!(
            gate.begin_capture(CaptureKind::Cuda).unwrap_err(),
            CaptureKind::Simulated
        );
        assert_eq!(gate.capture(), Some(CaptureKind::Simulated));
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("w.safetensors");
        let tensors = HashMap::from([("t".to_string(), t.clone())]);
        let reader = gate.fallback("forced".to_string());
        let logging_on = {
            gate.set_logging(true);
            gate.logging().unwrap()
        };
        // Each call is refused at its own line; the gate keeps the violation
        // (taken after each call here) and the error's message names the line.
        let check = |line: u32, err: candle_core::Error, op: &str| {
            let v: CaptureViolation = gate.take_violation().expect("a capture violation");
            assert_eq!((v.site.line, v.op), (line, op), "{v}");
            assert_eq!(v.site.path(), "pipeline/src/transfer.rs");
            assert_eq!(v.kind, CaptureKind::Simulated);
            assert!(
                err.to_string().contains(&format!("pipeline/src/transfer.rs:{line}")),
                "{err}"
            );
        };
        // Each refused call is on the line before its check.
        let (t2, s0) = (t.unsqueeze(0).unwrap(), host.squeeze(0).unwrap());
        let e = gate.to_vec1::<f32>(&t, sym, "t").unwrap_err();
        check(line!() - 1, e, "to_vec1");
        let e = gate.to_vec2::<f32>(&t2, sym, "t").unwrap_err();
        check(line!() - 1, e, "to_vec2");
        let e = gate.to_scalar::<f32>(&s0, sym, "s").unwrap_err();
        check(line!() - 1, e, "to_scalar");
        let e = gate.to_host(&t, sym, "t").unwrap_err();
        check(line!() - 1, e, "to_device(Cpu)");
        let e = gate.synchronize(&dev, sym, "sync").unwrap_err();
        check(line!() - 1, e, "synchronize");
        let e = gate.save_safetensors(&tensors, &file, sym, "w").unwrap_err();
        check(line!() - 1, e, "safetensors save");
        let e = gate.upload_vec(vec![1u8], 1, &dev, sym, "v").unwrap_err();
        check(line!() - 1, e, "from_vec");
        let e = gate.upload_slice(&[1u8], 1, &dev, sym, "s").unwrap_err();
        check(line!() - 1, e, "from_slice");
        let e = gate.upload(&host, &dev, sym, "h").unwrap_err();
        check(line!() - 1, e, "to_device");
        let e = reader.to_vec1::<f32>(&t, sym, "t").unwrap_err();
        check(line!() - 1, e, "to_vec1");
        let e = logging_on.to_scalar::<f32>(&s0, sym, "s").unwrap_err();
        check(line!() - 1, e, "to_scalar");
        assert!(!file.exists(), "the refused save wrote a file");
        // Nothing refused was recorded as a transfer; the first violation of a
        // capture is the one kept.
        assert!(gate.records().is_empty());
        let _ = gate.to_vec1::<f32>(&t, sym, "first");
        let _ = gate.to_vec3::<f32>(&t.reshape((1, 1, 2)).unwrap(), sym, "second");
        assert_eq!(gate.take_violation().map(|v| v.what), Some("first".to_string()));
        drop(scope);
        assert_eq!(gate.capture(), None);
        let v: Vec<f32> = gate.to_vec1(&t, sym, "t").unwrap();
        assert_eq!(v, vec![1., 2.]);
        assert_eq!(gate.records().len(), 1);
    }
}
