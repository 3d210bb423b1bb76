//! The library APIs that move data between the device and the host: candle's,
//! tch's, burn's and cudarc's copies, scalar reads and uploads, with their
//! argument counts. The rules ([`crate::rules`]) read them to find sites; the
//! front end reads them for the values the calls return.

/// candle: methods that copy a tensor's data to a host `Vec`/storage, with their argument count.
pub const CANDLE_COPIES: &[(&str, usize)] = &[("to_vec1", 0), ("to_vec2", 0), ("to_vec3", 0), ("to_cpu_storage", 0)];

/// candle: methods that read a scalar to the host, with their argument count.
pub const CANDLE_SCALAR_READS: &[(&str, usize)] = &[("to_scalar", 0), ("to_vec0", 0)];

/// tch: methods that read a scalar to the host (`t.double_value(&[])`).
pub const TCH_SCALAR_READS: &[&str] = &["double_value", "int64_value", "f_double_value", "f_int64_value"];

/// burn: methods that copy a tensor's data to the host (`TensorData`).
pub const BURN_COPIES: &[&str] = &["into_data", "to_data", "into_data_async", "to_data_async"];

/// burn: methods that read a scalar to the host.
pub const BURN_SCALAR_READS: &[&str] = &["into_scalar", "into_scalar_async"];

/// cudarc: device-to-host copies (new and older APIs), with their argument counts.
pub const CUDARC_COPIES: &[(&str, usize)] = &[
    ("memcpy_dtoh", 2),
    ("memcpy_dtov", 1),
    ("clone_dtoh", 1),
    ("dtoh_sync_copy", 1),
    ("dtoh_sync_copy_into", 2),
    ("sync_reclaim", 1),
];

/// cudarc: uploads and allocations, whose result is a device buffer.
pub const CUDARC_DEVICE_RESULTS: &[&str] = &[
    "htod_copy",
    "htod_sync_copy",
    "clone_htod",
    "memcpy_stod",
    "alloc_zeros",
    "alloc",
    "htod_copy_into",
    "clone_dtod",
];

/// Constructors that copy their (first) host-data argument to the device they are given.
pub const COPYING_CREATIONS: &[&str] = &[
    "new",
    "from_vec",
    "from_slice",
    "from_iter",
    "from_raw_buffer",
    "from_data",
    "from_floats",
    "from_ints",
    "from_bool",
];

/// cudarc: host-to-device copies (new and older APIs), with their argument
/// counts and whether they return the new device buffer.
pub const CUDARC_UPLOADS: &[(&str, usize, bool)] = &[
    ("memcpy_htod", 2, false),
    ("memcpy_stod", 1, true),
    ("clone_htod", 1, true),
    ("htod_copy", 1, true),
    ("htod_copy_into", 2, false),
    ("htod_sync_copy", 1, true),
    ("htod_sync_copy_into", 2, false),
];

/// Scalar types: `f64::try_from(t)` reads a tch tensor's scalar.
pub const SCALAR_TYPES: &[&str] = &[
    "f64", "f32", "i64", "i32", "i16", "i8", "u8", "u16", "u32", "u64", "bool", "usize", "isize", "f16", "bf16",
];
