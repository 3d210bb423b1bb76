//! What the Python front end knows about library APIs: which methods exist
//! only on tensors, which keep a value's kind, which reduce to a scalar.

/// Methods that exist on torch tensors and not on numpy arrays, lists or
/// dicts: calling one on a name is evidence that the name holds a tensor.
pub const TENSOR_ONLY_METHODS: &[&str] = &[
    "detach",
    "cpu",
    "cuda",
    "numpy",
    "sigmoid",
    "softmax",
    "log_softmax",
    "unsqueeze",
    "permute",
    "view",
    "view_as",
    "contiguous",
    "masked_fill",
    "masked_fill_",
    "index_select",
    "clamp",
    "clamp_",
    "clamp_min",
    "clamp_max",
    "float",
    "half",
    "bfloat16",
    "long",
    "int",
    "bool",
    "double",
    "new_zeros",
    "new_ones",
    "new_full",
    "new_empty",
    "new_tensor",
    "expand",
    "expand_as",
    "topk",
    "gather",
    "scatter",
    "scatter_",
    "scatter_add",
    "scatter_add_",
    "narrow",
    "chunk",
    "type_as",
    "requires_grad_",
    "backward",
    "relu",
    "exp",
    "sqrt",
    "matmul",
    "mm",
    "bmm",
    "unbind",
    "softplus",
    "tanh",
    "flip",
    "masked_select",
    "nonzero_static",
    "unfold",
    "index_put_",
    "index_add_",
    "logical_and",
    "logical_or",
    "logical_not",
    "logical_xor",
    "isnan",
    "isinf",
    "isfinite",
    "amax",
    "amin",
    "pin_memory",
    "data_ptr",
    "element_size",
    "is_contiguous",
    "numel",
    "dim",
    "repeat_interleave",
    "masked_scatter",
    "new",
    "sub_",
    "add_",
    "mul_",
    "div_",
    "zero_",
    "fill_",
    "copy_",
    "is_floating_point",
    "squeeze_",
    "unsqueeze_",
    "baddbmm",
    "addmm",
    "einsum",
    "diff",
    "cumprod",
    "logsumexp",
    "softmax_",
    "sort",
    "argsort",
    "msort",
];

/// Tensor methods that `nn.Module`s have too (`model.cuda()`, `net.float()`):
/// on a value named like a model they say module, not tensor.
pub const MODULE_SHARED_METHODS: &[&str] = &["cpu", "cuda", "float", "half", "bfloat16", "double"];

/// Attributes that exist only on tensors. (Not `device`: trainers, predictors,
/// models and generators carry one too.)
pub const TENSOR_ONLY_ATTRIBUTES: &[&str] = &["is_cuda", "grad", "requires_grad", "grad_fn"];

/// Attributes of a tensor that are host metadata, not data.
pub const METADATA_ATTRIBUTES: &[&str] = &[
    "shape",
    "dtype",
    "device",
    "ndim",
    "is_cuda",
    "requires_grad",
    "layout",
    "is_leaf",
    "names",
    "placements",
    "device_mesh",
    "is_sparse",
    "is_quantized",
    "is_meta",
    "itemsize",
    "nbytes",
    "is_mps",
    "is_cpu",
];

/// Methods that return host metadata, not data.
pub const METADATA_METHODS: &[&str] = &[
    "size",
    "dim",
    "numel",
    "nelement",
    "element_size",
    "data_ptr",
    "stride",
    "get_device",
    "is_contiguous",
    "is_floating_point",
    "storage_offset",
    "type",
];

/// Methods returning a boolean tensor.
pub const MASK_METHODS: &[&str] = &[
    "eq",
    "ne",
    "gt",
    "lt",
    "ge",
    "le",
    "isnan",
    "isinf",
    "isfinite",
    "isneginf",
    "isposinf",
    "logical_and",
    "logical_or",
    "logical_not",
    "logical_xor",
    "bool",
    "isclose",
    "isin",
    "signbit",
];

/// torch functions returning a boolean tensor.
pub const MASK_FUNCTIONS: &[&str] = &[
    "eq",
    "ne",
    "gt",
    "lt",
    "ge",
    "le",
    "isnan",
    "isinf",
    "isfinite",
    "isneginf",
    "isposinf",
    "logical_and",
    "logical_or",
    "logical_not",
    "logical_xor",
    "isclose",
    "isin",
    "signbit",
    "greater",
    "less",
    "greater_equal",
    "less_equal",
    "not_equal",
];

/// Reductions: with no argument they produce a 0-d tensor.
pub const REDUCTIONS: &[&str] = &[
    "sum",
    "mean",
    "max",
    "min",
    "argmax",
    "argmin",
    "any",
    "all",
    "prod",
    "norm",
    "std",
    "var",
    "amax",
    "amin",
    "count_nonzero",
    "median",
    "nansum",
    "nanmean",
    "logsumexp",
];

/// torch functions that create tensors from host data or from nothing.
pub const CREATION_FUNCTIONS: &[&str] = &[
    "tensor",
    "as_tensor",
    "asarray",
    "from_numpy",
    "zeros",
    "ones",
    "empty",
    "full",
    "arange",
    "linspace",
    "logspace",
    "eye",
    "rand",
    "randn",
    "randint",
    "randperm",
    "normal",
    "range",
    "empty_strided",
    "frombuffer",
    "scalar_tensor",
    "complex",
    "polar",
];

/// torch functions that return Python values after reading device data.
pub const SCALAR_READ_FUNCTIONS: &[&str] = &["equal", "allclose"];

/// Tensor methods that return Python values after reading device data (besides `item`).
pub const SCALAR_READ_METHODS: &[&str] = &["equal", "allclose", "is_nonzero"];

/// Ops whose output size depends on the data.
pub const DATA_DEPENDENT_OPS: &[&str] = &[
    "nonzero",
    "argwhere",
    "unique",
    "unique_consecutive",
    "masked_select",
    "bincount",
];

/// torch's checks that read a device condition to decide whether to raise.
pub const CHECK_FUNCTIONS: &[&str] = &["_check_tensor_all", "_check_tensor_all_with", "_assert"];

/// Library namespaces that convert tensors to numpy through `__array__`.
pub const HOST_LIBRARIES: &[&str] = &[
    "numpy",
    "scipy",
    "cv2",
    "PIL",
    "matplotlib",
    "sklearn",
    "skimage",
    "pandas",
    "imageio",
];

/// Python builtins that read a tensor's value into a Python scalar.
pub const SCALAR_BUILTINS: &[&str] = &["float", "int", "bool", "complex", "range", "round"];

/// Python builtins that iterate a tensor and compare its elements on the host.
pub const ITERATING_BUILTINS: &[&str] = &["max", "min", "sum", "any", "all", "sorted"];

/// Python builtins that format their argument.
pub const FORMAT_BUILTINS: &[&str] = &["str", "repr", "format", "ascii"];

/// Logger methods whose arguments are formatted.
pub const LOGGER_METHODS: &[&str] = &[
    "debug",
    "info",
    "warning",
    "warn",
    "error",
    "critical",
    "exception",
    "log",
];

/// Builtins whose result is a host value whatever they are given.
pub const HOST_BUILTINS: &[&str] = &[
    "len",
    "isinstance",
    "issubclass",
    "hasattr",
    "callable",
    "id",
    "hash",
    "type",
    "print",
    "open",
    "input",
    "divmod",
    "ord",
    "chr",
    "hex",
    "oct",
    "bin",
    "str",
    "repr",
    "format",
    "int",
    "float",
    "bool",
    "complex",
    "round",
    "abs",
    "dict",
    "set",
    "frozenset",
    "range",
];

/// Module methods that return more modules.
pub const MODULE_METHODS: &[&str] = &[
    "to",
    "cuda",
    "cpu",
    "eval",
    "train",
    "half",
    "float",
    "double",
    "bfloat16",
    "requires_grad_",
    "share_memory",
];

pub fn contains(list: &[&str], name: &str) -> bool {
    list.contains(&name)
}

/// Whether a name is written like a class (`MobileSam`, `DFine`).
pub fn is_class_name(name: &str) -> bool {
    let bare = name.trim_start_matches('_');
    bare.chars().next().is_some_and(|c| c.is_ascii_uppercase()) && bare.chars().any(|c| c.is_ascii_lowercase())
}
