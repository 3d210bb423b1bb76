//! The CUPTI side of [`super`]: one subscriber per process (CUPTI allows one),
//! whose callbacks update process-wide counters and collect activity records.

use std::alloc::{alloc, dealloc, Layout};
use std::ffi::{c_void, CStr};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;

use candle_core::cuda_backend::cudarc::cupti::result::{self as cupti, activity, CuptiError};
use candle_core::cuda_backend::cudarc::cupti::sys;
use candle_core::cuda_backend::cudarc::driver::sys::CUcontext;

use super::{classify, has_linear_byte_count, Activity, ActivityLog, ApiClass, ApiCounts, CopyKind};
use crate::error::{PipelineError, Result};

static ACTIVE: AtomicBool = AtomicBool::new(false);
static DTOH_CALLS: AtomicU64 = AtomicU64::new(0);
static DTOH_BYTES: AtomicU64 = AtomicU64::new(0);
static HTOD_CALLS: AtomicU64 = AtomicU64::new(0);
static HTOD_BYTES: AtomicU64 = AtomicU64::new(0);
static OTHER_COPIES: AtomicU64 = AtomicU64::new(0);
static SYNCS: AtomicU64 = AtomicU64::new(0);
static LAUNCHES: AtomicU64 = AtomicU64::new(0);
static RUNTIME_LAUNCHES: AtomicU64 = AtomicU64::new(0);
static CORRELATION: AtomicU32 = AtomicU32::new(0);
static RECORDS: Mutex<Vec<Activity>> = Mutex::new(Vec::new());
/// Kernel names, interned: CUPTI shares one name string among all the records
/// of a kernel, so its address identifies the kernel.
static KERNEL_NAMES: Mutex<KernelNames> = Mutex::new(KernelNames {
    ids: Vec::new(),
    names: Vec::new(),
});

struct KernelNames {
    /// `(address of CUPTI's string, index in names)`, sorted by address.
    ids: Vec<(usize, u32)>,
    names: Vec<String>,
}

impl KernelNames {
    /// The index of the name at `name`, read once per distinct address.
    fn intern(&mut self, name: *const std::ffi::c_char) -> u32 {
        let key = name as usize;
        match self.ids.binary_search_by_key(&key, |&(address, _)| address) {
            Ok(i) => self.ids[i].1,
            Err(i) => {
                let text = if name.is_null() {
                    "(unnamed kernel)".to_string()
                } else {
                    // SAFETY: CUPTI's kernel names are NUL-terminated and live
                    // as long as CUPTI does.
                    unsafe { CStr::from_ptr(name) }.to_string_lossy().into_owned()
                };
                let id = self.names.len() as u32;
                self.names.push(text);
                self.ids.insert(i, (key, id));
                id
            }
        }
    }
}

const BUFFER_BYTES: usize = 8 << 20;
const BUFFER_ALIGN: usize = 8;

fn cupti_error(what: &str, e: CuptiError) -> PipelineError {
    PipelineError::Driver(format!("CUPTI {what}: {e:?}"))
}

/// Counts driver-level transfers for as long as it lives. See [`super`].
#[derive(Debug)]
pub struct DriverProbe {
    subscriber: sys::CUpti_SubscriberHandle,
}

impl DriverProbe {
    /// Subscribes to CUPTI's driver and runtime API callbacks and enables
    /// memcpy and kernel activity records. Fails when CUPTI is unavailable or
    /// another probe (or profiler) is already subscribed.
    pub fn start() -> Result<DriverProbe> {
        if ACTIVE.swap(true, Ordering::SeqCst) {
            return Err(PipelineError::Driver(
                "a driver probe is already running in this process".into(),
            ));
        }
        let started = Self::subscribe();
        if started.is_err() {
            ACTIVE.store(false, Ordering::SeqCst);
        }
        started
    }

    fn subscribe() -> Result<DriverProbe> {
        let mut subscriber: sys::CUpti_SubscriberHandle = std::ptr::null_mut();
        // SAFETY: `on_api_call` matches CUpti_CallbackFunc and uses no userdata.
        unsafe { cupti::subscribe(&mut subscriber, Some(on_api_call), std::ptr::null_mut()) }
            .map_err(|e| cupti_error("subscribe", e))?;
        let probe = DriverProbe { subscriber };
        for domain in [
            sys::CUpti_CallbackDomain::CUPTI_CB_DOMAIN_DRIVER_API,
            sys::CUpti_CallbackDomain::CUPTI_CB_DOMAIN_RUNTIME_API,
        ] {
            // SAFETY: the subscriber was just created.
            unsafe { cupti::enable_domain(1, subscriber, domain) }.map_err(|e| cupti_error("enable domain", e))?;
        }
        activity::register_callbacks(Some(buffer_requested), Some(buffer_completed))
            .map_err(|e| cupti_error("register activity buffers", e))?;
        for kind in [
            sys::CUpti_ActivityKind::CUPTI_ACTIVITY_KIND_MEMCPY,
            sys::CUpti_ActivityKind::CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL,
        ] {
            activity::enable(kind).map_err(|e| cupti_error("enable activity", e))?;
        }
        Ok(probe)
    }

    /// The API calls counted so far.
    pub fn counts(&self) -> ApiCounts {
        ApiCounts {
            dtoh_calls: DTOH_CALLS.load(Ordering::SeqCst),
            dtoh_bytes: DTOH_BYTES.load(Ordering::SeqCst),
            htod_calls: HTOD_CALLS.load(Ordering::SeqCst),
            htod_bytes: HTOD_BYTES.load(Ordering::SeqCst),
            other_copies: OTHER_COPIES.load(Ordering::SeqCst),
            syncs: SYNCS.load(Ordering::SeqCst),
            launches: LAUNCHES.load(Ordering::SeqCst),
            runtime_launches: RUNTIME_LAUNCHES.load(Ordering::SeqCst),
            correlation: CORRELATION.load(Ordering::SeqCst),
        }
    }

    /// Flushes CUPTI's buffers and returns every activity record so far. The
    /// device must be idle (synchronise first) for the last frame's records
    /// to be complete.
    pub fn activity(&self) -> Result<ActivityLog> {
        // CUPTI_ACTIVITY_FLAG_FLUSH_FORCED: also flush buffers still being filled.
        activity::flush_all(1).map_err(|e| cupti_error("flush", e))?;
        let records = std::mem::take(&mut *RECORDS.lock().unwrap_or_else(|p| p.into_inner()));
        let kernel_names = KERNEL_NAMES.lock().unwrap_or_else(|p| p.into_inner()).names.clone();
        Ok(ActivityLog { records, kernel_names })
    }
}

impl Drop for DriverProbe {
    fn drop(&mut self) {
        for kind in [
            sys::CUpti_ActivityKind::CUPTI_ACTIVITY_KIND_MEMCPY,
            sys::CUpti_ActivityKind::CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL,
        ] {
            let _ = activity::disable(kind);
        }
        // SAFETY: the subscriber was created by `start` and is dropped once.
        let _ = unsafe { cupti::unsubscribe(self.subscriber) };
        ACTIVE.store(false, Ordering::SeqCst);
    }
}

/// The callback API's entry point: every driver and runtime call, on the
/// calling thread, at entry and at exit; counted at entry.
unsafe extern "C" fn on_api_call(
    _userdata: *mut c_void,
    _domain: sys::CUpti_CallbackDomain,
    _cbid: sys::CUpti_CallbackId,
    cbdata: *const c_void,
) {
    if cbdata.is_null() {
        return;
    }
    // SAFETY: for the API domains, cbdata points to a CUpti_CallbackData.
    let data = unsafe { &*(cbdata as *const sys::CUpti_CallbackData) };
    if data.callbackSite != sys::CUpti_ApiCallbackSite::CUPTI_API_ENTER {
        return;
    }
    CORRELATION.fetch_max(data.correlationId, Ordering::SeqCst);
    if data.functionName.is_null() {
        return;
    }
    // SAFETY: CUPTI passes the function's NUL-terminated name.
    let Ok(name) = unsafe { CStr::from_ptr(data.functionName) }.to_str() else {
        return;
    };
    let bytes = || {
        if has_linear_byte_count(name) && !data.functionParams.is_null() {
            // SAFETY: these functions' parameter structs hold two pointers and
            // then the size_t ByteCount (cuMemcpyDtoHAsync_v2_params, ...).
            unsafe { *((data.functionParams as *const u8).add(16) as *const usize) as u64 }
        } else {
            0
        }
    };
    match classify(name) {
        ApiClass::DeviceToHost => {
            DTOH_CALLS.fetch_add(1, Ordering::SeqCst);
            DTOH_BYTES.fetch_add(bytes(), Ordering::SeqCst);
        }
        ApiClass::HostToDevice => {
            HTOD_CALLS.fetch_add(1, Ordering::SeqCst);
            HTOD_BYTES.fetch_add(bytes(), Ordering::SeqCst);
        }
        ApiClass::OtherCopy => {
            OTHER_COPIES.fetch_add(1, Ordering::SeqCst);
        }
        ApiClass::Synchronize => {
            SYNCS.fetch_add(1, Ordering::SeqCst);
        }
        ApiClass::Launch => {
            LAUNCHES.fetch_add(1, Ordering::SeqCst);
        }
        ApiClass::RuntimeLaunch => {
            RUNTIME_LAUNCHES.fetch_add(1, Ordering::SeqCst);
        }
        ApiClass::Other => {}
    }
}

extern "C" fn buffer_requested(buffer: *mut *mut u8, size: *mut usize, max_num_records: *mut usize) {
    let layout = Layout::from_size_align(BUFFER_BYTES, BUFFER_ALIGN).expect("valid layout");
    // SAFETY: CUPTI hands the buffer back to `buffer_completed`, which frees it
    // with the same layout; a null pointer tells CUPTI to drop records.
    unsafe {
        *buffer = alloc(layout);
        *size = if (*buffer).is_null() { 0 } else { BUFFER_BYTES };
        *max_num_records = 0;
    }
}

extern "C" fn buffer_completed(_context: CUcontext, _stream: u32, buffer: *mut u8, _size: usize, valid: usize) {
    if buffer.is_null() {
        return;
    }
    let mut parsed = Vec::new();
    let mut record: *mut sys::CUpti_Activity = std::ptr::null_mut();
    let mut names = KERNEL_NAMES.lock().unwrap_or_else(|p| p.into_inner());
    // SAFETY: `buffer` holds `valid` bytes of records written by CUPTI.
    while unsafe { activity::get_next_record(buffer, valid, &mut record) }.is_ok() {
        // SAFETY: get_next_record returned a record of the kind it names.
        if let Some(a) = unsafe { reduce(record, &mut names) } {
            parsed.push(a);
        }
    }
    drop(names);
    RECORDS.lock().unwrap_or_else(|p| p.into_inner()).extend(parsed);
    let layout = Layout::from_size_align(BUFFER_BYTES, BUFFER_ALIGN).expect("valid layout");
    // SAFETY: allocated by `buffer_requested` with this layout.
    unsafe { dealloc(buffer, layout) };
}

/// Reads the fields the counts need. Every kernel record version since the
/// fourth shares the prefix of `CUpti_ActivityKernel9` up to `name`, and every
/// memcpy record version that of `CUpti_ActivityMemcpy6`, so those types are
/// read.
unsafe fn reduce(record: *const sys::CUpti_Activity, names: &mut KernelNames) -> Option<Activity> {
    let kind = unsafe { (*record).kind };
    match kind {
        sys::CUpti_ActivityKind::CUPTI_ACTIVITY_KIND_MEMCPY => {
            let m = unsafe { &*(record as *const sys::CUpti_ActivityMemcpy6) };
            let kind = match m.copyKind {
                2 => CopyKind::DeviceToHost, // CUPTI_ACTIVITY_MEMCPY_KIND_DTOH
                1 => CopyKind::HostToDevice, // CUPTI_ACTIVITY_MEMCPY_KIND_HTOD
                _ => CopyKind::Other,
            };
            Some(Activity::Copy {
                correlation: m.correlationId,
                kind,
                bytes: m.bytes,
            })
        }
        sys::CUpti_ActivityKind::CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL
        | sys::CUpti_ActivityKind::CUPTI_ACTIVITY_KIND_KERNEL => {
            let k = unsafe { &*(record as *const sys::CUpti_ActivityKernel9) };
            Some(Activity::Kernel {
                correlation: k.correlationId,
                start_ns: k.start,
                end_ns: k.end,
                name: names.intern(k.name),
            })
        }
        _ => None,
    }
}
