//! The transfer gate: the one place in `pipeline/` that moves data between
//! the host and the device.
//!
//! Every `to_vec*`, `to_scalar`, `to_device(&Device::Cpu)`, device
//! synchronisation and safetensors save goes through a [`Gate`] method, and so
//! does every upload of host data: `Tensor::from_vec`, `Tensor::from_slice`
//! (also what `Tensor::new` does) and `to_device(&device)` of a host tensor.
//! The methods are `#[track_caller]`, so each transfer is recorded at the line
//! that asked for it, with the rule it falls under (D2H001 explicit copy,
//! D2H002 scalar read, D2H004 explicit sync, D2H007 blocking upload), the
//! bytes it moved, the [`Phase`] it happened in and why it happened
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
//! Transfers under the logging guard can only be made through
//! [`Gate::logging`], which returns `None` unless detailed logging is on: a
//! guarded transfer is guarded by construction.
//!
//! Creating a tensor on the device from nothing (`Tensor::zeros`,
//! `Tensor::full`) moves no host data and needs no gate.

use std::collections::HashMap;
use std::panic::Location;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use candle_core::{Device, Shape, Tensor, WithDType};
use d2h_rules::RuleId;

use crate::alloc;
use crate::phase::Phase;

/// Why a transfer happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Context {
    /// An ordinary transfer on the code path.
    Plain,
    /// A transfer made under the detailed-logging guard.
    Logging,
    /// A transfer made by an emergency fallback path.
    Fallback,
}

/// A call site, as `#[track_caller]` sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Site {
    /// The file as rustc names it (`pipeline/src/...` inside the workspace).
    pub file: &'static str,
    /// 1-based.
    pub line: u32,
    /// 1-based.
    pub column: u32,
}

impl Site {
    fn from_location(location: &'static Location<'static>) -> Site {
        Site {
            file: location.file(),
            line: location.line(),
            column: location.column(),
        }
    }

    /// The file relative to the workspace root, `/`-separated
    /// (`pipeline/src/detector/postprocess.rs`).
    pub fn path(&self) -> String {
        let file = self.file.replace('\\', "/");
        if Path::new(&file).is_absolute() {
            if let Some(at) = file.rfind("/pipeline/src/") {
                return file[at + 1..].to_string();
            }
        }
        file
    }
}

/// All the transfers of one kind made at one site, in one phase and context.
#[derive(Debug, Clone, PartialEq)]
pub struct TransferRecord {
    pub rule: RuleId,
    pub site: Site,
    /// The enclosing function, as the caller named it.
    pub symbol: &'static str,
    /// What was read, e.g. `to_vec1 of scores (f32, [300])`, from the first read.
    pub code: String,
    pub phase: Phase,
    pub context: Context,
    pub count: u64,
    pub bytes: u64,
}

type Key = (RuleId, Site, Phase, Context);

#[derive(Debug)]
struct GateState {
    phase: Phase,
    logging: bool,
    records: Vec<TransferRecord>,
    index: HashMap<Key, usize>,
    fallbacks: u64,
    warnings: Vec<String>,
}

/// The gate. Cheap to clone: clones share one log.
#[derive(Debug, Clone)]
pub struct Gate {
    state: Arc<Mutex<GateState>>,
}

impl Default for Gate {
    fn default() -> Self {
        Gate::new()
    }
}

/// Restores the previous phase (of the gate and of the allocator counters) when dropped.
#[derive(Debug)]
pub struct PhaseScope {
    gate: Gate,
    previous: Phase,
}

impl Drop for PhaseScope {
    fn drop(&mut self) {
        self.gate.lock().phase = self.previous;
        alloc::set_phase(self.previous);
    }
}

impl Gate {
    /// A gate in the setup phase with detailed logging off.
    pub fn new() -> Gate {
        Gate {
            state: Arc::new(Mutex::new(GateState {
                phase: Phase::Setup,
                logging: false,
                records: Vec::new(),
                index: HashMap::new(),
                fallbacks: 0,
                warnings: Vec::new(),
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, GateState> {
        // A panic while holding the lock cannot leave the log inconsistent
        // (every update is a single push or increment), so poisoning is ignored.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        self.lock().phase
    }

    /// Enters `phase` until the returned scope is dropped. Also switches the
    /// allocator counters of [`crate::alloc`] to that phase.
    pub fn enter(&self, phase: Phase) -> PhaseScope {
        let previous = {
            let mut state = self.lock();
            let previous = state.phase;
            state.phase = phase;
            previous
        };
        alloc::set_phase(phase);
        PhaseScope {
            gate: self.clone(),
            previous,
        }
    }

    /// Turns detailed logging on or off.
    pub fn set_logging(&self, on: bool) {
        self.lock().logging = on;
    }

    /// Whether detailed logging is on.
    pub fn logging_enabled(&self) -> bool {
        self.lock().logging
    }

    /// A reader for transfers guarded by detailed logging, or `None` when it is off.
    pub fn logging(&self) -> Option<Reader<'_>> {
        self.logging_enabled().then_some(Reader {
            gate: self,
            context: Context::Logging,
        })
    }

    /// Enters an emergency fallback: counts it, keeps `warning` for the caller
    /// to show, and returns the reader its transfers (host reads and uploads
    /// of host results) must go through.
    pub fn fallback(&self, warning: String) -> Reader<'_> {
        {
            let mut state = self.lock();
            state.fallbacks += 1;
            // One warning per distinct message: a fallback taken every frame
            // must not grow the log.
            if !state.warnings.contains(&warning) {
                state.warnings.push(warning);
            }
        }
        Reader {
            gate: self,
            context: Context::Fallback,
        }
    }

    /// How many times a fallback path was taken.
    pub fn fallbacks(&self) -> u64 {
        self.lock().fallbacks
    }

    /// The distinct fallback warnings so far.
    pub fn warnings(&self) -> Vec<String> {
        self.lock().warnings.clone()
    }

    /// Every record so far, in first-seen order.
    pub fn records(&self) -> Vec<TransferRecord> {
        self.lock().records.clone()
    }

    /// The number of transfers (reads and uploads) recorded in `phase`.
    pub fn transfers_in(&self, phase: Phase) -> u64 {
        self.lock()
            .records
            .iter()
            .filter(|r| r.phase == phase)
            .map(|r| r.count)
            .sum()
    }

    /// The number of host-to-device uploads (D2H007) recorded in `phase`.
    pub fn uploads_in(&self, phase: Phase) -> u64 {
        self.lock()
            .records
            .iter()
            .filter(|r| r.phase == phase && r.rule == RuleId::BlockingUpload)
            .map(|r| r.count)
            .sum()
    }

    /// Forgets every record, warning and fallback count (the phase and the
    /// logging switch stay).
    pub fn clear(&self) {
        let mut state = self.lock();
        state.records.clear();
        state.index.clear();
        state.fallbacks = 0;
        state.warnings.clear();
    }

    fn plain(&self) -> Reader<'_> {
        Reader {
            gate: self,
            context: Context::Plain,
        }
    }

    fn record(
        &self,
        rule: RuleId,
        site: Site,
        context: Context,
        symbol: &'static str,
        bytes: u64,
        describe: impl FnOnce() -> String,
    ) {
        let mut state = self.lock();
        let key = (rule, site, state.phase, context);
        if let Some(&at) = state.index.get(&key) {
            let record = &mut state.records[at];
            record.count += 1;
            record.bytes += bytes;
            return;
        }
        let record = TransferRecord {
            rule,
            site,
            symbol,
            code: describe(),
            phase: state.phase,
            context,
            count: 1,
            bytes,
        };
        let at = state.records.len();
        state.records.push(record);
        state.index.insert(key, at);
    }

    /// `t.to_vec1()`, recorded as D2H001.
    #[track_caller]
    pub fn to_vec1<T: WithDType>(
        &self,
        t: &Tensor,
        symbol: &'static str,
        what: &'static str,
    ) -> candle_core::Result<Vec<T>> {
        self.plain().to_vec1(t, symbol, what)
    }

    /// `t.to_vec2()`, recorded as D2H001.
    #[track_caller]
    pub fn to_vec2<T: WithDType>(
        &self,
        t: &Tensor,
        symbol: &'static str,
        what: &'static str,
    ) -> candle_core::Result<Vec<Vec<T>>> {
        self.plain().to_vec2(t, symbol, what)
    }

    /// `t.to_vec3()`, recorded as D2H001.
    #[track_caller]
    pub fn to_vec3<T: WithDType>(
        &self,
        t: &Tensor,
        symbol: &'static str,
        what: &'static str,
    ) -> candle_core::Result<Vec<Vec<Vec<T>>>> {
        self.plain().to_vec3(t, symbol, what)
    }

    /// `t.to_scalar()`, recorded as D2H002.
    #[track_caller]
    pub fn to_scalar<T: WithDType>(
        &self,
        t: &Tensor,
        symbol: &'static str,
        what: &'static str,
    ) -> candle_core::Result<T> {
        self.plain().to_scalar(t, symbol, what)
    }

    /// `t.to_device(&Device::Cpu)`, recorded as D2H001.
    #[track_caller]
    pub fn to_host(&self, t: &Tensor, symbol: &'static str, what: &'static str) -> candle_core::Result<Tensor> {
        self.plain().to_host(t, symbol, what)
    }

    /// `device.synchronize()`, recorded as D2H004.
    #[track_caller]
    pub fn synchronize(&self, device: &Device, symbol: &'static str, what: &'static str) -> candle_core::Result<()> {
        self.plain().synchronize(device, symbol, what)
    }

    /// Writes `tensors` to a safetensors file (a copy of each tensor to the
    /// host), recorded as one D2H001 with the total bytes.
    #[track_caller]
    pub fn save_safetensors(
        &self,
        tensors: &HashMap<String, Tensor>,
        path: &Path,
        symbol: &'static str,
        what: &'static str,
    ) -> candle_core::Result<()> {
        self.plain().save_safetensors(tensors, path, symbol, what)
    }

    /// `Tensor::from_vec(data, shape, device)`, recorded as D2H007.
    #[track_caller]
    pub fn upload_vec<T: WithDType, S: Into<Shape>>(
        &self,
        data: Vec<T>,
        shape: S,
        device: &Device,
        symbol: &'static str,
        what: &'static str,
    ) -> candle_core::Result<Tensor> {
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
        symbol: &'static str,
        what: &'static str,
    ) -> candle_core::Result<Tensor> {
        self.plain().upload_slice(data, shape, device, symbol, what)
    }

    /// `host.to_device(device)` of a host tensor, recorded as D2H007.
    #[track_caller]
    pub fn upload(
        &self,
        host: &Tensor,
        device: &Device,
        symbol: &'static str,
        what: &'static str,
    ) -> candle_core::Result<Tensor> {
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

impl Reader<'_> {
    /// The context this reader records under.
    pub fn context(&self) -> Context {
        self.context
    }

    #[track_caller]
    fn site() -> Site {
        Site::from_location(Location::caller())
    }

    /// `t.to_vec1()`, recorded as D2H001.
    #[track_caller]
    pub fn to_vec1<T: WithDType>(
        &self,
        t: &Tensor,
        symbol: &'static str,
        what: &'static str,
    ) -> candle_core::Result<Vec<T>> {
        let site = Self::site();
        // d2h: ignore[D2H001] the gate's own transfer; d2h.toml makes each call of this method the site
        let out = alloc::staging(|| t.to_vec1::<T>())?;
        self.gate.record(
            RuleId::ExplicitCopy,
            site,
            self.context,
            symbol,
            tensor_bytes(t),
            || describe("to_vec1", t, what),
        );
        Ok(out)
    }

    /// `t.to_vec2()`, recorded as D2H001.
    #[track_caller]
    pub fn to_vec2<T: WithDType>(
        &self,
        t: &Tensor,
        symbol: &'static str,
        what: &'static str,
    ) -> candle_core::Result<Vec<Vec<T>>> {
        let site = Self::site();
        // d2h: ignore[D2H001] the gate's own transfer; d2h.toml makes each call of this method the site
        let out = alloc::staging(|| t.to_vec2::<T>())?;
        self.gate.record(
            RuleId::ExplicitCopy,
            site,
            self.context,
            symbol,
            tensor_bytes(t),
            || describe("to_vec2", t, what),
        );
        Ok(out)
    }

    /// `t.to_vec3()`, recorded as D2H001.
    #[track_caller]
    pub fn to_vec3<T: WithDType>(
        &self,
        t: &Tensor,
        symbol: &'static str,
        what: &'static str,
    ) -> candle_core::Result<Vec<Vec<Vec<T>>>> {
        let site = Self::site();
        // d2h: ignore[D2H001] the gate's own transfer; d2h.toml makes each call of this method the site
        let out = alloc::staging(|| t.to_vec3::<T>())?;
        self.gate.record(
            RuleId::ExplicitCopy,
            site,
            self.context,
            symbol,
            tensor_bytes(t),
            || describe("to_vec3", t, what),
        );
        Ok(out)
    }

    /// `t.to_scalar()`, recorded as D2H002.
    #[track_caller]
    pub fn to_scalar<T: WithDType>(
        &self,
        t: &Tensor,
        symbol: &'static str,
        what: &'static str,
    ) -> candle_core::Result<T> {
        let site = Self::site();
        // d2h: ignore[D2H002] the gate's own transfer; d2h.toml makes each call of this method the site
        let out = alloc::staging(|| t.to_scalar::<T>())?;
        self.gate
            .record(RuleId::ScalarRead, site, self.context, symbol, tensor_bytes(t), || {
                describe("to_scalar", t, what)
            });
        Ok(out)
    }

    /// `t.to_device(&Device::Cpu)`, recorded as D2H001. Always a new,
    /// contiguous host buffer, also on the CPU device.
    #[track_caller]
    pub fn to_host(&self, t: &Tensor, symbol: &'static str, what: &'static str) -> candle_core::Result<Tensor> {
        let site = Self::site();
        // The host copy is contiguous (what host code then indexes), so the
        // bytes moved are the element count's. On the CPU device
        // `to_device(Cpu)` would share the storage; a real transfer lands in a
        // fresh host buffer, so make one.
        let out = alloc::staging(|| match t.device() {
            Device::Cpu if t.is_contiguous() => t.copy(),
            Device::Cpu => t.contiguous(),
            // d2h: ignore[D2H001] the gate's own transfer; d2h.toml makes each call of this method the site
            _ => t.contiguous()?.to_device(&Device::Cpu),
        })?;
        self.gate.record(
            RuleId::ExplicitCopy,
            site,
            self.context,
            symbol,
            tensor_bytes(t),
            || describe("to_device(Cpu)", t, what),
        );
        Ok(out)
    }

    fn record_upload(&self, site: Site, symbol: &'static str, uploaded: &Tensor, op: &str, what: &str) {
        self.gate.record(
            RuleId::BlockingUpload,
            site,
            self.context,
            symbol,
            tensor_bytes(uploaded),
            || describe(op, uploaded, what),
        );
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
        symbol: &'static str,
        what: &'static str,
    ) -> candle_core::Result<Tensor> {
        let site = Self::site();
        // d2h: ignore[D2H007] the gate's own transfer; d2h.toml makes each call of this method the site
        let out = Tensor::from_vec(data, shape, device)?;
        self.record_upload(site, symbol, &out, "from_vec", what);
        Ok(out)
    }

    /// `Tensor::from_slice(data, shape, device)`, recorded as D2H007.
    #[track_caller]
    pub fn upload_slice<T: WithDType, S: Into<Shape>>(
        &self,
        data: &[T],
        shape: S,
        device: &Device,
        symbol: &'static str,
        what: &'static str,
    ) -> candle_core::Result<Tensor> {
        let site = Self::site();
        // d2h: ignore[D2H007] the gate's own transfer; d2h.toml makes each call of this method the site
        let out = Tensor::from_slice(data, shape, device)?;
        self.record_upload(site, symbol, &out, "from_slice", what);
        Ok(out)
    }

    /// `host.to_device(device)` of a host (CPU) tensor, recorded as D2H007
    /// with the tensor's element bytes. On the CPU device the result shares
    /// the host tensor's storage (a GPU upload lands in device memory, not in
    /// a new host buffer), and the upload is still counted. A tensor already
    /// on a GPU is not host data: that is an error, not an upload.
    #[track_caller]
    pub fn upload(
        &self,
        host: &Tensor,
        device: &Device,
        symbol: &'static str,
        what: &'static str,
    ) -> candle_core::Result<Tensor> {
        let site = Self::site();
        if !host.device().is_cpu() {
            candle_core::bail!(
                "upload of {what}: the tensor is on {:?}, not on the host",
                host.device().location()
            )
        }
        let out = host.to_device(device)?;
        self.record_upload(site, symbol, host, "to_device", what);
        Ok(out)
    }

    /// `device.synchronize()`, recorded as D2H004 (0 bytes).
    #[track_caller]
    pub fn synchronize(&self, device: &Device, symbol: &'static str, what: &'static str) -> candle_core::Result<()> {
        let site = Self::site();
        // d2h: ignore[D2H004] the gate's own transfer; d2h.toml makes each call of this method the site
        device.synchronize()?;
        self.gate
            .record(RuleId::ExplicitSync, site, self.context, symbol, 0, || {
                format!("synchronize for {what}")
            });
        Ok(())
    }

    /// Writes `tensors` to a safetensors file, recorded as one D2H001.
    #[track_caller]
    pub fn save_safetensors(
        &self,
        tensors: &HashMap<String, Tensor>,
        path: &Path,
        symbol: &'static str,
        what: &'static str,
    ) -> candle_core::Result<()> {
        let site = Self::site();
        alloc::staging(|| candle_core::safetensors::save(tensors, path))?;
        let bytes = tensors.values().map(tensor_bytes).sum();
        self.gate
            .record(RuleId::ExplicitCopy, site, self.context, symbol, bytes, || {
                format!("safetensors save of {what} ({} tensors)", tensors.len())
            });
        Ok(())
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

    #[test]
    fn records_site_rule_bytes_phase_and_context() {
        let gate = Gate::new();
        let t = Tensor::new(&[1f32, 2., 3.], &Device::Cpu).unwrap();
        let line = line!() + 1;
        let v: Vec<f32> = gate.to_vec1(&t, "test", "t").unwrap();
        assert_eq!(v, vec![1., 2., 3.]);
        {
            let _frame = gate.enter(Phase::Frame);
            assert!(gate.logging().is_none());
            gate.set_logging(true);
            let s = t.sum_all().unwrap();
            let _: f32 = gate.logging().unwrap().to_scalar(&s, "test", "sum").unwrap();
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
            let _: Vec<u32> = gate.to_vec1(&t, "test", "t").unwrap();
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
            let _: Vec<f32> = reader.to_vec1(&t, "test", "t").unwrap();
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
        let a = gate.upload_vec(data, (2, 2), &dev, "test", "a").unwrap();
        assert_eq!(a.to_vec2::<f32>().unwrap(), vec![vec![1., 2.], vec![3., 4.]]);
        {
            let _frame = gate.enter(Phase::Frame);
            for _ in 0..3 {
                let b = gate.upload_slice(&[7u8, 8, 9], 3, &dev, "test", "b").unwrap();
                assert_eq!(b.to_vec1::<u8>().unwrap(), vec![7, 8, 9]);
            }
            let host = Tensor::new(&[1i64, 2], &Device::Cpu).unwrap();
            let reader = gate.fallback("no kernel".to_string());
            let c = reader.upload(&host, &dev, "test", "c").unwrap();
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
}
