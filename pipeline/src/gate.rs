//! The gate's log: the phase a run is in, the detailed-logging switch, the
//! fallbacks taken and every [`TransferRecord`]. The transfers themselves, the
//! only code that calls candle's transfer APIs, are [`Gate`]'s and
//! [`Reader`]'s methods in [`crate::transfer`]; this module never touches a
//! tensor.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use d2h_rules::RuleId;

use crate::alloc;
use crate::capture::{CaptureKind, CaptureScope, CaptureViolation};
use crate::phase::Phase;
use crate::site::{Site, Symbol};
use crate::transfer::Reader;

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

/// All the transfers of one kind made at one site, in one phase and context.
#[derive(Debug, Clone, PartialEq)]
pub struct TransferRecord {
    pub rule: RuleId,
    pub site: Site,
    /// The enclosing function (`Tracker::update_to_host`), from the caller's [`Symbol`].
    pub symbol: String,
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
    /// The capture in progress, if any.
    capture: Option<CaptureKind>,
    /// The first transfer refused during the current or last capture.
    violation: Option<CaptureViolation>,
}

/// The transfer gate (its transfer methods are in [`crate::transfer`]).
/// Cheap to clone: clones share one log.
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
                capture: None,
                violation: None,
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
        self.logging_enabled().then_some(Reader::new(self, Context::Logging))
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
        Reader::new(self, Context::Fallback)
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

    /// Enters a capture of `kind` until the returned scope is dropped: every
    /// transfer through the gate fails meanwhile with a [`CaptureViolation`].
    /// Fails when a capture is already in progress (captures do not nest).
    pub fn begin_capture(&self, kind: CaptureKind) -> Result<CaptureScope, CaptureKind> {
        let mut state = self.lock();
        if let Some(current) = state.capture {
            return Err(current);
        }
        state.capture = Some(kind);
        state.violation = None;
        Ok(CaptureScope { gate: self.clone() })
    }

    pub(crate) fn end_capture(&self) {
        self.lock().capture = None;
    }

    /// The capture in progress, if any.
    pub fn capture(&self) -> Option<CaptureKind> {
        self.lock().capture
    }

    /// Takes the first transfer refused during the current or last capture.
    pub fn take_violation(&self) -> Option<CaptureViolation> {
        self.lock().violation.take()
    }

    /// Refuses a transfer during a capture: keeps the first violation and
    /// returns it as a candle error (the transfer methods return candle's
    /// `Result`). Outside a capture, does nothing.
    pub(crate) fn check_capture(
        &self,
        op: &'static str,
        site: Site,
        symbol: Symbol,
        what: &str,
    ) -> candle_core::Result<()> {
        let mut state = self.lock();
        let Some(kind) = state.capture else {
            return Ok(());
        };
        let violation = CaptureViolation {
            op,
            what: what.to_string(),
            site,
            symbol: symbol.name(),
            kind,
        };
        if state.violation.is_none() {
            state.violation = Some(violation.clone());
        }
        Err(candle_core::Error::wrap(violation))
    }

    /// Counts one transfer in the record of its key, or starts that record.
    pub(crate) fn record(
        &self,
        rule: RuleId,
        site: Site,
        context: Context,
        symbol: Symbol,
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
            symbol: symbol.name(),
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
}
