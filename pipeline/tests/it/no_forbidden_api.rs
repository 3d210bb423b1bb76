//! Nothing in `pipeline/src` outside `transfer.rs` moves data between the
//! host and the device by itself: every device-to-host read and every upload
//! of host data must go through the transfer gate, the candle ops that upload
//! host data behind the gate's back (a comparison with a host scalar,
//! `cumsum`, `arange`) are replaced by `device_ops`, and nothing formats a
//! tensor (candle's `Debug`/`Display` read its values).
//!
//! The check parses every file with `syn` and looks at what the code calls,
//! not at how it is spelt:
//!
//! * a method call or a path (`t.to_vec1()`, `Tensor::to_vec1(&t)`,
//!   `.map(Tensor::to_scalar)`) naming a read is an offence whatever the
//!   receiver. The gate's own methods share candle's names but not their
//!   arity (`gate.to_vec1(&t, symbol!(), "what")` takes three arguments,
//!   candle's `to_vec1()` none; Rust has no overloading, so a three-argument
//!   `to_vec1` cannot be candle's), and no function with one of those names
//!   may be defined outside `transfer.rs`, so the arity identifies the gate;
//! * a call or path naming an upload (`to_device`, `from_vec`, `Tensor::new`,
//!   `arange`, ...) or a storage type (`CpuStorage`, outside the `cpu_fwd`
//!   kernel of a custom op) is an offence wherever it appears; `CudaStorage`
//!   is allowed in `cuda_fwd` kernels and in `nvrtc.rs`, the launcher those
//!   kernels hand their storage to (device buffers to a device kernel; its
//!   uploads and reads are checked like any file's);
//! * formatting: `#[derive(Debug)]` on a type holding tensors or candle
//!   modules, and a format macro, `debug_struct().field(..)`, `to_string()`
//!   or `fmt` applied to an expression that is a tensor (a parameter, `let`
//!   or field of a tensor type, a tensor op's result, a crate function
//!   returning tensors);
//! * only `transfer.rs` and `#[cfg(test)] mod` blocks are exempt, each
//!   exactly (a `#[cfg(test)]` function does not exempt what follows it),
//!   and `predictor/sam/`, candle-transformers' SAM code vendored as upstream
//!   writes it (derived `Debug`s, and uploads at model construction and on
//!   the point-prompt path the pipeline does not take: see its `mod.rs`);
//!   `d2h audit pipeline` still reads it.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use d2h_pipeline::transfer::{TRANSFER_METHODS, TRANSFER_TYPES};
use proc_macro2::Span;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::visit::{self, Visit};
use syn::{Attribute, Expr, Fields, ImplItemFn, ItemFn, Member, Pat, Token, Type, UseTree};

/// Reads of device data, by method or function name. Where the gate has a
/// method of the same name, a call with that method's arity (from the gate's
/// table, [`TRANSFER_METHODS`]) is the gate's; any other call is a read past it.
const READS: &[&str] = &[
    "to_vec0",
    "to_vec1",
    "to_vec2",
    "to_vec3",
    "to_scalar",
    "synchronize",
    "save_safetensors",
    "storage_and_layout",
    "write_npy",
    "write_npz",
    "write_bytes",
    "serialize",
    "serialize_to_file",
    "memcpy_dtov",
    "memcpy_dtoh",
    "dtoh_sync_copy",
    "clone_dtoh",
];

/// Uploads of host data (and candle ops that make one on every call:
/// `cumsum` multiplies by a triangle built from `arange`, which fills a host
/// vector and uploads it), by method or function name. The gate's methods
/// for uploads have other names (`upload`, `upload_vec`, `upload_slice`).
const UPLOADS: &[&str] = &[
    "to_device",
    "from_vec",
    "from_slice",
    "from_raw_buffer",
    "from_storage",
    "load_buffer",
    "from_mmaped_safetensors",
    "from_buffered_safetensors",
    "from_slice_safetensors",
    "read_npy",
    "read_npz",
    "memcpy_htod",
    "memcpy_stod",
    "clone_htod",
    "htod_copy",
    "htod_sync_copy",
    "cumsum",
    "arange",
    "arange_step",
];

/// Paths whose last two segments read or upload (`new` and `load` alone are
/// too common to forbid).
const QUALIFIED: &[[&str; 2]] = &[
    ["Tensor", "new"],
    ["Tensor", "from_iter"],
    ["safetensors", "load"],
    ["safetensors", "save"],
];

/// Types that hand out device memory directly. `CpuStorage` is allowed in
/// the `cpu_fwd` kernel of a custom op, `CudaStorage` in its `cuda_fwd`.
const STORAGE_TYPES: &[&str] = &[
    "CpuStorage",
    "CudaStorage",
    "MetalStorage",
    "StorageRef",
    "MmapedSafetensors",
    "BufferedSafetensors",
    "SliceSafetensors",
];

/// Tensor methods that, given a host scalar (`t.ge(0.5)`), upload it on
/// every call. A tensor operand is passed by reference (`t.ge(&u)`), so only
/// a `&` argument is allowed (for `cmp`, its first argument).
const SCALAR_OPERAND: &[&str] = &["ge", "gt", "le", "lt", "eq", "ne", "maximum", "minimum", "clamp", "cmp"];

/// Types whose `Debug` prints tensor values: candle's tensor and storage, and
/// candle-nn / candle-transformers modules (their derived `Debug` prints
/// their weights).
const TENSOR_TYPES: &[&str] = &[
    "Tensor",
    "Var",
    "Linear",
    "Conv1d",
    "Conv2d",
    "ConvTranspose2d",
    "LayerNorm",
    "LayerNorm2d",
    "RmsNorm",
    "BatchNorm",
    "Embedding",
    "PromptEncoder",
    "MaskDecoder",
    "TinyViT",
    "ImageEncoderViT",
    "Sam",
];

/// Methods that return host metadata or a count, not a tensor.
const METADATA: &[&str] = &[
    "dims",
    "dims0",
    "dims1",
    "dims2",
    "dims3",
    "dims4",
    "dims5",
    "dim",
    "dtype",
    "shape",
    "rank",
    "elem_count",
    "device",
    "layout",
    "stride",
    "is_contiguous",
    "len",
    "is_empty",
    "location",
    "is_cpu",
    "is_cuda",
    "as_str",
    "same_device",
    "id",
    "is_some",
    "is_none",
    "count",
    "contains",
    "contains_key",
];

/// Primitive types: a name of one of these types holds host data.
const PRIMITIVES: &[&str] = &[
    "bool", "char", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize", "f32",
    "f64",
];

/// Macros that format their arguments.
const FORMAT_MACROS: &[&str] = &[
    "format",
    "format_args",
    "print",
    "println",
    "eprint",
    "eprintln",
    "write",
    "writeln",
    "panic",
    "assert",
    "assert_eq",
    "assert_ne",
    "debug_assert",
    "debug_assert_eq",
    "debug_assert_ne",
    "unreachable",
    "unimplemented",
    "todo",
    "bail",
    "anyhow",
    "ensure",
    "format_err",
    "trace",
    "debug",
    "info",
    "warn",
    "error",
];

/// Methods that format an argument (`debug_struct(..).field("t", &t)`) or,
/// for `fmt`/`to_string`, their receiver.
const FORMAT_METHODS: &[&str] = &["field", "entry", "entries", "key", "value", "fmt", "to_string"];

/// For a read's name, the arity of the gate's method of that name (`None`:
/// the gate has none, so no call is allowed); `None` for other names.
fn read_arity(name: &str) -> Option<Option<usize>> {
    READS
        .contains(&name)
        .then(|| TRANSFER_METHODS.iter().find(|m| m.name == name).map(|m| m.arity))
}

fn line(span: Span) -> usize {
    span.start().line
}

/// Whether `ty` mentions one of [`TENSOR_TYPES`].
fn mentions_tensor(ty: &Type) -> bool {
    struct Finder(bool);
    impl<'ast> Visit<'ast> for Finder {
        fn visit_path_segment(&mut self, seg: &'ast syn::PathSegment) {
            if TENSOR_TYPES.contains(&seg.ident.to_string().as_str()) {
                self.0 = true;
            }
            visit::visit_path_segment(self, seg);
        }
    }
    let mut finder = Finder(false);
    finder.visit_type(ty);
    finder.0
}

fn is_cfg_test(attrs: &[Attribute]) -> bool {
    attrs
        .iter()
        .any(|a| a.path().is_ident("cfg") && a.parse_args::<syn::Path>().is_ok_and(|p| p.is_ident("test")))
}

fn derives_debug(attrs: &[Attribute]) -> Option<Span> {
    attrs.iter().find_map(|a| {
        if !a.path().is_ident("derive") {
            return None;
        }
        let paths = a
            .parse_args_with(Punctuated::<syn::Path, Token![,]>::parse_terminated)
            .ok()?;
        paths
            .iter()
            .any(|p| p.segments.last().is_some_and(|s| s.ident == "Debug"))
            .then(|| a.span())
    })
}

/// What the whole crate declares: fields of tensor type and functions
/// returning tensors (from every file, `transfer.rs` included).
#[derive(Default)]
struct Crate {
    /// Names of tensor fields of any struct (for `x.field` of unknown `x`).
    tensor_fields: HashSet<String>,
    /// Each struct's named fields, and whether each is a tensor (for `self.field`).
    structs: HashMap<String, HashMap<String, bool>>,
    tensor_fns: HashSet<String>,
}

impl<'ast> Visit<'ast> for Crate {
    fn visit_item_struct(&mut self, s: &'ast syn::ItemStruct) {
        let fields = self.structs.entry(s.ident.to_string()).or_default();
        for f in &s.fields {
            if let Some(name) = &f.ident {
                fields.insert(name.to_string(), mentions_tensor(&f.ty));
            }
        }
        visit::visit_item_struct(self, s);
    }

    fn visit_field(&mut self, f: &'ast syn::Field) {
        if let (Some(name), true) = (&f.ident, mentions_tensor(&f.ty)) {
            self.tensor_fields.insert(name.to_string());
        }
        visit::visit_field(self, f);
    }

    fn visit_signature(&mut self, sig: &'ast syn::Signature) {
        if let syn::ReturnType::Type(_, ty) = &sig.output {
            if mentions_tensor(ty) {
                self.tensor_fns.insert(sig.ident.to_string());
            }
        }
        visit::visit_signature(self, sig);
    }
}

/// The checker of one file.
struct Checker<'c> {
    krate: &'c Crate,
    offences: Vec<(usize, String)>,
    /// Names bound to tensors in the function being visited.
    tensors: Vec<HashSet<String>>,
    /// Names bound to primitive host values (`frames: usize`) in the function being visited.
    host: Vec<HashSet<String>>,
    /// The storage type the custom-op kernel being visited may use.
    kernel_storage: Option<&'static str>,
    /// The storage type the whole file may use (`nvrtc.rs`: `CudaStorage`).
    file_storage: Option<&'static str>,
    /// The `Self` type of the impl being visited.
    self_ty: Option<String>,
    /// Calls recognised as the gate's reads (by arity).
    gate_reads: usize,
}

impl<'c> Checker<'c> {
    fn new(krate: &'c Crate, file_storage: Option<&'static str>) -> Self {
        Checker {
            krate,
            offences: Vec::new(),
            tensors: vec![HashSet::new()],
            host: vec![HashSet::new()],
            kernel_storage: file_storage,
            file_storage,
            self_ty: None,
            gate_reads: 0,
        }
    }

    fn offence(&mut self, span: Span, what: impl Into<String>) {
        self.offences.push((line(span), what.into()));
    }

    fn is_tensor_name(&self, name: &str) -> bool {
        self.tensors.last().is_some_and(|s| s.contains(name))
    }

    fn bind_host(&mut self, pat: &Pat) {
        let mut names = Vec::new();
        collect_idents(pat, &mut names);
        if let Some(scope) = self.host.last_mut() {
            scope.extend(names);
        }
    }

    fn push_scope(&mut self) {
        self.tensors.push(HashSet::new());
        self.host.push(HashSet::new());
    }

    fn pop_scope(&mut self) {
        self.tensors.pop();
        self.host.pop();
    }

    /// Whether `e` is plainly a primitive host value: a literal, a cast, a
    /// name of primitive type, `f64::from(..)`, or arithmetic on those.
    fn is_host(&self, e: &Expr) -> bool {
        match e {
            Expr::Lit(_) | Expr::Cast(_) => true,
            Expr::Paren(p) => self.is_host(&p.expr),
            Expr::Unary(u) => self.is_host(&u.expr),
            Expr::Binary(b) => self.is_host(&b.left) && self.is_host(&b.right),
            Expr::Path(p) => p
                .path
                .get_ident()
                .is_some_and(|i| self.host.last().is_some_and(|s| s.contains(&i.to_string()))),
            Expr::Call(c) => matches!(&*c.func, Expr::Path(p)
                if p.path.segments.first().is_some_and(|s| PRIMITIVES.contains(&s.ident.to_string().as_str()))),
            _ => false,
        }
    }

    fn bind(&mut self, pat: &Pat) {
        let mut names = Vec::new();
        collect_idents(pat, &mut names);
        if let Some(scope) = self.tensors.last_mut() {
            scope.extend(names);
        }
    }

    /// Whether `e` is (syntactically) a tensor, a tensor module or a tuple
    /// or collection of them.
    fn is_tensor(&self, e: &Expr) -> bool {
        match e {
            Expr::Paren(p) => self.is_tensor(&p.expr),
            Expr::Group(g) => self.is_tensor(&g.expr),
            Expr::Reference(r) => self.is_tensor(&r.expr),
            Expr::Try(t) => self.is_tensor(&t.expr),
            Expr::Unary(u) => self.is_tensor(&u.expr),
            Expr::Binary(b) => self.is_tensor(&b.left) || self.is_tensor(&b.right),
            Expr::Index(i) => self.is_tensor(&i.expr),
            Expr::Tuple(t) => t.elems.iter().any(|e| self.is_tensor(e)),
            Expr::Array(a) => a.elems.iter().any(|e| self.is_tensor(e)),
            Expr::Path(p) => {
                p.qself.is_none() && p.path.get_ident().is_some_and(|i| self.is_tensor_name(&i.to_string()))
            }
            Expr::Field(f) => match &f.member {
                Member::Named(name) => {
                    let name = name.to_string();
                    let of_self = matches!(&*f.base, Expr::Path(p) if p.path.is_ident("self"));
                    let known = self
                        .self_ty
                        .as_ref()
                        .and_then(|ty| self.krate.structs.get(ty))
                        .and_then(|fields| fields.get(&name));
                    match (of_self, known) {
                        (true, Some(&is_tensor)) => is_tensor,
                        _ => self.krate.tensor_fields.contains(&name),
                    }
                }
                Member::Unnamed(_) => self.is_tensor(&f.base),
            },
            Expr::MethodCall(m) => {
                let name = m.method.to_string();
                if METADATA.contains(&name.as_str()) || FORMAT_METHODS.contains(&name.as_str()) {
                    false
                } else {
                    self.krate.tensor_fns.contains(&name) || self.is_tensor(&m.receiver)
                }
            }
            Expr::Call(c) => match &*c.func {
                Expr::Path(p) => {
                    let segs: Vec<String> = p.path.segments.iter().map(|s| s.ident.to_string()).collect();
                    let n = segs.len();
                    (n >= 2 && segs[n - 2] == "Tensor")
                        || segs.last().is_some_and(|last| self.krate.tensor_fns.contains(last))
                }
                _ => false,
            },
            _ => false,
        }
    }

    fn check_path(&mut self, segs: &[String], span: Span) {
        let Some(last) = segs.last() else { return };
        if read_arity(last).is_some() {
            self.offence(span, format!("device read `{}`", segs.join("::")));
        }
        if UPLOADS.contains(&last.as_str()) {
            self.offence(span, format!("upload `{}`", segs.join("::")));
        }
        if segs.len() >= 2 {
            let pair = [segs[segs.len() - 2].as_str(), last.as_str()];
            if QUALIFIED.contains(&pair) {
                self.offence(span, format!("transfer `{}`", segs.join("::")));
            }
            if pair[0] == "safetensors" && pair[1].starts_with("serialize") {
                // Covered by READS; the pair form is here for `safetensors::serialize_*`.
                if read_arity(last).is_none() {
                    self.offence(span, format!("device read `{}`", segs.join("::")));
                }
            }
        }
        for seg in segs {
            if STORAGE_TYPES.contains(&seg.as_str()) && self.kernel_storage != Some(seg.as_str()) {
                self.offence(span, format!("storage access `{}`", segs.join("::")));
            }
        }
    }

    fn check_use(&mut self, tree: &UseTree, prefix: &mut Vec<String>) {
        match tree {
            UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.check_use(&p.tree, prefix);
                prefix.pop();
            }
            UseTree::Group(g) => {
                for t in &g.items {
                    self.check_use(t, prefix);
                }
            }
            UseTree::Name(n) => self.check_imported(prefix, &n.ident.to_string(), n.ident.span()),
            UseTree::Rename(r) => {
                let name = r.ident.to_string();
                if TENSOR_TYPES.contains(&name.as_str()) || name == "Device" {
                    self.offence(
                        r.span(),
                        format!("`{name}` imported as `{}` escapes the check", r.rename),
                    );
                }
                self.check_imported(prefix, &name, r.ident.span());
            }
            UseTree::Glob(g) => {
                if prefix
                    .last()
                    .is_some_and(|p| p == "safetensors" || p == "driver" || p == "Device")
                {
                    self.offence(g.span(), format!("glob import of `{}`", prefix.join("::")));
                }
            }
        }
    }

    /// An imported function name lets code call it bare: `use ...::save;`.
    fn check_imported(&mut self, prefix: &[String], name: &str, span: Span) {
        let mut segs = prefix.to_vec();
        segs.push(name.to_string());
        if STORAGE_TYPES.contains(&name) {
            return; // a type import is harmless; its uses are checked
        }
        self.check_path(&segs, span);
    }

    /// The expressions a format macro formats.
    fn check_format_macro(&mut self, mac: &syn::Macro) {
        let Some(name) = mac.path.segments.last().map(|s| s.ident.to_string()) else {
            return;
        };
        if !FORMAT_MACROS.contains(&name.as_str()) {
            return;
        }
        let Ok(args) = mac.parse_body_with(Punctuated::<Expr, Token![,]>::parse_terminated) else {
            return;
        };
        let args: Vec<&Expr> = args.iter().collect();
        let mut formatted: Vec<&Expr> = Vec::new();
        if name.ends_with("assert_eq") || name.ends_with("assert_ne") {
            // Both operands are printed with `{:?}` when the assertion fails.
            formatted.extend(args.iter().take(2));
        }
        let Some(at) = args.iter().position(|e| {
            matches!(
                e,
                Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(_),
                    ..
                })
            )
        }) else {
            for e in formatted {
                self.check_formatted(e, mac);
            }
            return;
        };
        let Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(template),
            ..
        }) = args[at]
        else {
            unreachable!()
        };
        let rest: Vec<&Expr> = args[at + 1..].to_vec();
        let mut named: Vec<(String, &Expr)> = Vec::new();
        let mut positional: Vec<&Expr> = Vec::new();
        for e in rest {
            match e {
                Expr::Assign(a) => {
                    if let Expr::Path(p) = &*a.left {
                        if let Some(id) = p.path.get_ident() {
                            named.push((id.to_string(), &a.right));
                        }
                    }
                }
                other => positional.push(other),
            }
        }
        // Every argument is formatted by some placeholder (rustc rejects
        // unused ones); captured identifiers are checked by name.
        formatted.extend(positional.iter().copied());
        formatted.extend(named.iter().map(|(_, e)| *e));
        for e in formatted {
            self.check_formatted(e, mac);
        }
        for captured in captured_names(&template.value()) {
            if named.iter().any(|(n, _)| *n == captured) {
                continue;
            }
            if self.is_tensor_name(&captured) {
                self.offence(mac.span(), format!("formats tensor `{captured}` (reads its values)"));
            }
        }
    }

    fn check_formatted(&mut self, e: &Expr, mac: &syn::Macro) {
        if self.is_tensor(e) {
            self.offence(mac.span(), "formats a tensor (reads its values)".to_string());
        }
    }
}

/// Whether `ty` is a primitive type (`usize`, `f64`, ...) or a reference to one.
fn is_primitive(ty: &Type) -> bool {
    match ty {
        Type::Reference(r) => is_primitive(&r.elem),
        Type::Path(p) => p
            .path
            .get_ident()
            .is_some_and(|i| PRIMITIVES.contains(&i.to_string().as_str())),
        _ => false,
    }
}

/// The identifiers of a pattern.
fn collect_idents(pat: &Pat, out: &mut Vec<String>) {
    match pat {
        Pat::Ident(i) => out.push(i.ident.to_string()),
        Pat::Type(t) => collect_idents(&t.pat, out),
        Pat::Tuple(t) => t.elems.iter().for_each(|p| collect_idents(p, out)),
        Pat::TupleStruct(t) => t.elems.iter().for_each(|p| collect_idents(p, out)),
        Pat::Reference(r) => collect_idents(&r.pat, out),
        Pat::Slice(s) => s.elems.iter().for_each(|p| collect_idents(p, out)),
        Pat::Struct(s) => s.fields.iter().for_each(|f| collect_idents(&f.pat, out)),
        _ => {}
    }
}

/// The identifiers a format string captures (`{name}`, `{name:?}`).
fn captured_names(template: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        rest = &rest[open + 1..];
        if let Some(stripped) = rest.strip_prefix('{') {
            rest = stripped;
            continue;
        }
        let Some(close) = rest.find('}') else { break };
        let inner = &rest[..close];
        let arg = inner.split(':').next().unwrap_or("").trim();
        if arg.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_') {
            out.push(arg.to_string());
        }
        rest = &rest[close + 1..];
    }
    out
}

impl<'ast> Visit<'ast> for Checker<'_> {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        // A `#[cfg(test)] mod` is exempt, exactly: nothing else is.
        if is_cfg_test(&m.attrs) {
            return;
        }
        visit::visit_item_mod(self, m);
    }

    fn visit_item_struct(&mut self, s: &'ast syn::ItemStruct) {
        if let Some(span) = derives_debug(&s.attrs) {
            if s.fields.iter().any(|f| mentions_tensor(&f.ty)) {
                self.offence(span, format!("#[derive(Debug)] on `{}`, which holds tensors", s.ident));
            }
        }
        visit::visit_item_struct(self, s);
    }

    fn visit_item_enum(&mut self, e: &'ast syn::ItemEnum) {
        if let Some(span) = derives_debug(&e.attrs) {
            let holds = e.variants.iter().any(|v| match &v.fields {
                Fields::Named(f) => f.named.iter().any(|f| mentions_tensor(&f.ty)),
                Fields::Unnamed(f) => f.unnamed.iter().any(|f| mentions_tensor(&f.ty)),
                Fields::Unit => false,
            });
            if holds {
                self.offence(span, format!("#[derive(Debug)] on `{}`, which holds tensors", e.ident));
            }
        }
        visit::visit_item_enum(self, e);
    }

    fn visit_item_type(&mut self, t: &'ast syn::ItemType) {
        if let Type::Path(p) = &*t.ty {
            if p.path
                .segments
                .last()
                .is_some_and(|s| s.ident == "Tensor" || s.ident == "Device")
            {
                self.offence(t.span(), format!("type alias `{}` escapes the check", t.ident));
            }
        }
        visit::visit_item_type(self, t);
    }

    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        self.check_use(&u.tree, &mut Vec::new());
    }

    fn visit_signature(&mut self, sig: &'ast syn::Signature) {
        if read_arity(&sig.ident.to_string()).is_some() {
            self.offence(
                sig.ident.span(),
                format!("defines `{}`, a name reserved for the transfer gate", sig.ident),
            );
        }
        for input in &sig.inputs {
            if let syn::FnArg::Typed(t) = input {
                if mentions_tensor(&t.ty) {
                    self.bind(&t.pat);
                } else if is_primitive(&t.ty) {
                    self.bind_host(&t.pat);
                }
            }
        }
        visit::visit_signature(self, sig);
    }

    fn visit_item_fn(&mut self, f: &'ast ItemFn) {
        self.push_scope();
        visit::visit_item_fn(self, f);
        self.pop_scope();
    }

    fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
        let custom_op = i.trait_.as_ref().is_some_and(|(_, path, _)| {
            path.segments.last().is_some_and(|s| {
                s.ident.to_string().starts_with("CustomOp") || s.ident.to_string().starts_with("InplaceOp")
            })
        });
        self.self_ty = match &*i.self_ty {
            Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
            _ => None,
        };
        for item in &i.items {
            if let syn::ImplItem::Fn(f) = item {
                let storage = match f.sig.ident.to_string().as_str() {
                    "cpu_fwd" if custom_op => Some("CpuStorage"),
                    "cuda_fwd" if custom_op => Some("CudaStorage"),
                    "metal_fwd" if custom_op => Some("MetalStorage"),
                    _ => None,
                };
                self.kernel_storage = storage.or(self.file_storage);
                self.visit_impl_item_fn(f);
                self.kernel_storage = self.file_storage;
            } else {
                self.visit_impl_item(item);
            }
        }
        self.self_ty = None;
        self.visit_type(&i.self_ty);
        if let Some((_, path, _)) = &i.trait_ {
            self.visit_path(path);
        }
    }

    fn visit_impl_item_fn(&mut self, f: &'ast ImplItemFn) {
        self.push_scope();
        visit::visit_impl_item_fn(self, f);
        self.pop_scope();
    }

    fn visit_expr_closure(&mut self, c: &'ast syn::ExprClosure) {
        for input in &c.inputs {
            if let Pat::Type(t) = input {
                if mentions_tensor(&t.ty) {
                    self.bind(&t.pat);
                }
            }
        }
        visit::visit_expr_closure(self, c);
    }

    fn visit_local(&mut self, l: &'ast syn::Local) {
        visit::visit_local(self, l);
        let typed = matches!(&l.pat, Pat::Type(t) if mentions_tensor(&t.ty));
        let init = l.init.as_ref().is_some_and(|init| self.is_tensor(&init.expr));
        if typed || init {
            self.bind(&l.pat);
        } else if matches!(&l.pat, Pat::Type(t) if is_primitive(&t.ty))
            || l.init.as_ref().is_some_and(|init| self.is_host(&init.expr))
        {
            self.bind_host(&l.pat);
        }
    }

    fn visit_expr_for_loop(&mut self, f: &'ast syn::ExprForLoop) {
        if self.is_tensor(&f.expr) {
            self.bind(&f.pat);
        }
        visit::visit_expr_for_loop(self, f);
    }

    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        let name = m.method.to_string();
        let span = m.method.span();
        if let Some(arity) = read_arity(&name) {
            if arity == Some(m.args.len()) {
                self.gate_reads += 1;
            } else {
                self.offence(span, format!("device read `.{name}()` outside the gate"));
            }
        }
        if UPLOADS.contains(&name.as_str()) {
            self.offence(span, format!("upload `.{name}()` outside the gate"));
        }
        // A comparison or clamp of host values (`(frames / 10).clamp(1, 10)`)
        // is not a tensor op.
        if SCALAR_OPERAND.contains(&name.as_str()) && !self.is_host(&m.receiver) {
            let checked: Vec<&Expr> = if name == "cmp" {
                m.args.iter().take(1).collect()
            } else {
                m.args.iter().collect()
            };
            if checked.iter().any(|a| !matches!(a, Expr::Reference(_))) {
                self.offence(span, format!("`.{name}()` with a host scalar operand uploads it"));
            }
        }
        if FORMAT_METHODS.contains(&name.as_str()) {
            let receiver = matches!(name.as_str(), "fmt" | "to_string") && self.is_tensor(&m.receiver);
            // `field(name, value)`: the name is a string, the value is formatted.
            let args: Vec<&Expr> = match name.as_str() {
                "field" => m.args.iter().skip(1).collect(),
                _ => m.args.iter().collect(),
            };
            if receiver || args.iter().any(|a| self.is_tensor(a)) {
                self.offence(span, format!("`.{name}()` formats a tensor (reads its values)"));
            }
        }
        visit::visit_expr_method_call(self, m);
    }

    fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
        // `Debug::fmt(&t, f)`, `fmt::Display::fmt(&t, f)`.
        if let Expr::Path(p) = &*c.func {
            if p.path.segments.last().is_some_and(|s| s.ident == "fmt") && c.args.iter().any(|a| self.is_tensor(a)) {
                self.offence(c.span(), "`fmt` of a tensor (reads its values)");
            }
        }
        visit::visit_expr_call(self, c);
    }

    fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
        // `<Tensor>::new(..)`: the qualified self names the type.
        if let Some(q) = &p.qself {
            if let Type::Path(tp) = &*q.ty {
                let mut segs: Vec<String> = tp.path.segments.iter().map(|s| s.ident.to_string()).collect();
                segs.extend(p.path.segments.iter().map(|s| s.ident.to_string()));
                self.check_path(&segs, p.span());
                return;
            }
        }
        visit::visit_expr_path(self, p);
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        let segs: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
        self.check_path(&segs, p.span());
        visit::visit_path(self, p);
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        self.check_format_macro(m);
        // Calls inside macro arguments are checked too.
        if let Ok(args) = m.parse_body_with(Punctuated::<Expr, Token![,]>::parse_terminated) {
            for e in &args {
                self.visit_expr(e);
            }
        }
        visit::visit_macro(self, m);
    }
}

/// `(line, offence)` of every offence in `source`, given what the crate
/// declares, and how many gate reads it saw.
fn check(source: &str, krate: &Crate, file_storage: Option<&'static str>) -> (Vec<(usize, String)>, usize) {
    let file = syn::parse_file(source).expect("pipeline sources parse");
    let mut checker = Checker::new(krate, file_storage);
    checker.visit_file(&file);
    checker.offences.sort();
    checker.offences.dedup();
    (checker.offences, checker.gate_reads)
}

fn offences_in(source: &str, krate: &Crate) -> Vec<(usize, String)> {
    check(source, krate, None).0
}

/// The offences of a snippet checked on its own (its declarations only).
fn offences(source: &str) -> Vec<(usize, String)> {
    let file = syn::parse_file(source).expect("snippet parses");
    let mut krate = Crate::default();
    krate.visit_file(&file);
    offences_in(source, &krate)
}

/// The lines of `offences(source)`.
fn lines(source: &str) -> Vec<usize> {
    let mut lines: Vec<usize> = offences(source).into_iter().map(|(l, _)| l).collect();
    lines.dedup();
    lines
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn only_the_transfer_gate_moves_data_between_host_and_device() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 10, "found {} files", files.len());
    let sources: Vec<(PathBuf, String)> = files
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(&f).unwrap();
            (f, text)
        })
        .collect();
    let mut krate = Crate::default();
    for (_, text) in &sources {
        krate.visit_file(&syn::parse_file(text).unwrap());
    }
    // The declarations the checks rely on were found.
    for field in ["boxes", "masks", "next_id", "stages"] {
        assert!(krate.tensor_fields.contains(field), "{field}");
    }
    for function in ["forward", "cost", "upload_vec", "ge_const"] {
        assert!(krate.tensor_fns.contains(function), "{function}");
    }
    let mut found = Vec::new();
    let mut gate_reads = 0;
    for (file, text) in &sources {
        if file.ends_with("transfer.rs") || file.starts_with(src.join("predictor").join("sam")) {
            continue;
        }
        let file_storage = file.ends_with("nvrtc.rs").then_some("CudaStorage");
        let (offences, reads) = check(text, &krate, file_storage);
        gate_reads += reads;
        for (line, what) in offences {
            found.push(format!("{}:{line}: {what}", file.display()));
        }
    }
    assert!(found.is_empty(), "transfers outside the gate:\n{}", found.join("\n"));
    // The check saw the gate's reads under candle's names (`to_vec*`,
    // `to_scalar`, `synchronize`, `save_safetensors`; `to_host` has a name
    // of its own): 15 today, in the orchestrator, postprocess, predictor and
    // matcher.
    assert!(gate_reads >= 15, "only {gate_reads} gate reads recognised");
}

#[test]
fn reads_are_caught_whatever_the_receiver_and_gate_calls_are_allowed() {
    let code = r#"
fn f(gate: &Gate, t: &Tensor, aggregate: Tensor) -> Result<()> {
    let a = t.to_vec1::<f32>()?;
    let b = aggregate.to_vec1::<f32>()?;
    let c = gate.to_vec1::<f32>(t, SYMBOL, "t")?;
    let d = self
        .gate
        .to_scalar::<f32>(&s, SYMBOL, "s")?;
    let e = catalog.to_scalar::<f32>()?;
    let g = log.to_vec2::<f32>(&t, SYMBOL, "t")?;
    let h = reader.to_vec2::<f32>()?;
    device.synchronize()?;
    gate.synchronize(&device, SYMBOL, "latency")?;
    t.save_safetensors("t", "t.safetensors")?;
    gate.save_safetensors(&tensors, path, SYMBOL, "w")?;
    // t.to_vec1() in a comment is not code
    let s = "t.to_vec1()";
}
"#;
    assert_eq!(lines(code), vec![3, 4, 9, 11, 12, 14]);
}

#[test]
fn ufcs_and_function_paths_are_caught() {
    let code = r#"
fn f(t: &Tensor) -> Result<()> {
    let a = Tensor::to_vec1::<f32>(&t)?;
    let b = Tensor::to_scalar::<f32>(&t)?;
    let c = candle_core::Tensor::to_vec2::<f32>(t)?;
    let d: Vec<_> = ts.iter().map(Tensor::to_vec1::<f32>).collect();
    let e = <Tensor>::new(&[1f32], &dev)?;
    let g = Device::synchronize(&dev)?;
}
"#;
    assert_eq!(lines(code), vec![3, 4, 5, 6, 7, 8]);
}

#[test]
fn copies_to_the_host_device_are_caught_however_spelt() {
    let code = r#"
use candle_core::Device::Cpu;
use candle_core::safetensors::save as write_all;
use candle_core::safetensors::*;
use candle_core::Tensor as T;
fn f(t: &Tensor) -> Result<()> {
    let cpu = Device::Cpu;
    let a = t.to_device(&cpu)?;
    let b = t.to_device(&Cpu)?;
    let c = Tensor::to_device(t, &Device::Cpu)?;
}
"#;
    assert_eq!(lines(code), vec![3, 4, 5, 8, 9, 10]);
}

#[test]
fn direct_uploads_are_caught_and_device_made_tensors_allowed() {
    let code = r#"
fn f() -> Result<()> {
    let a = Tensor::new(&[1f32, 2.], &dev)?;
    let b = Tensor::from_vec(v, (2, 2), &dev)?;
    let c = candle_core::Tensor::from_slice(&v, 4, &dev)?;
    let d = host
        .to_device(&dev)?;
    let e = candle_core::safetensors::load(path, &dev)?;
    let r = Tensor::arange(0u32, 4, &dev)?;
    let s = x.cumsum(0)?;
    let z = Tensor::zeros((2, 2), DType::F32, &dev)?;
    let f = Tensor::full(1f32, 4, &dev)?.zeros_like()?;
    let g = gate.upload_vec(v, 4, &dev, SYMBOL, "v")?; // Tensor::from_vec
    let h = reader.upload(&host, &dev, SYMBOL, "h")?;
    let i = cumsum_1d(&x)?;
}
"#;
    assert_eq!(lines(code), vec![3, 4, 5, 7, 8, 9, 10]);
}

#[test]
fn storage_npy_bytes_and_serialisation_are_caught() {
    let code = r#"
use candle_core::{CpuStorage, CustomOp1};
fn f(t: &Tensor) -> Result<()> {
    let (storage, layout) = t.storage_and_layout();
    if let CpuStorage::F32(data) = &*storage {}
    t.write_npy("t.npy")?;
    t.write_bytes(&mut out)?;
    let bytes = safetensors::serialize(&tensors, &None)?;
    safetensors::tensor::serialize_to_file(&tensors, &None, path)?;
    candle_core::safetensors::save(&tensors, path)?;
}
struct Op;
impl CustomOp1 for Op {
    fn name(&self) -> &'static str { "op" }
    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let CpuStorage::F32(data) = s else { bail!("f32") };
        Ok((CpuStorage::F32(data.clone()), l.shape().clone()))
    }
}
fn outside(s: &CpuStorage) {}
"#;
    assert_eq!(lines(code), vec![4, 5, 6, 7, 8, 9, 10, 20]);
}

#[test]
fn the_kernel_launcher_may_hold_cuda_storage_and_nothing_more() {
    let code = r#"
fn launch(x: &candle_core::CudaStorage) -> Result<candle_core::CudaStorage> {
    let host: &CpuStorage = storage_of(x);
    let t = Tensor::from_vec(values, 3, &device)?;
    Ok(candle_core::CudaStorage::wrap_cuda_slice(out, device))
}
"#;
    let krate = Crate::default();
    let in_launcher: Vec<usize> = check(code, &krate, Some("CudaStorage"))
        .0
        .iter()
        .map(|(l, _)| *l)
        .collect();
    // `nvrtc.rs`: CudaStorage passes; the CPU storage and the upload do not.
    assert_eq!(in_launcher, vec![3, 4]);
    // Any other file: CudaStorage outside a `cuda_fwd` is an offence too.
    let elsewhere: Vec<usize> = check(code, &krate, None).0.iter().map(|(l, _)| *l).collect();
    assert_eq!(elsewhere, vec![2, 3, 4, 5]);
}

#[test]
fn only_cfg_test_modules_are_exempt() {
    let code = r#"
#[cfg(test)]
fn helper(t: &Tensor) -> Vec<f32> { t.to_vec1().unwrap() }
fn after_a_test_fn(t: &Tensor) { let v = t.to_vec1::<f32>(); }
#[cfg(test)]
mod tests {
    fn in_tests(t: &Tensor) { let v = t.to_vec1::<f32>(); let w = Tensor::new(&[1f32], &dev); }
}
fn after_the_test_module(t: &Tensor) { let v = t.to_scalar::<f32>(); }
#[cfg(not(test))]
mod not_tests {
    fn g(t: &Tensor) { let v = t.to_vec2::<f32>(); }
}
"#;
    assert_eq!(lines(code), vec![3, 4, 9, 12]);
}

#[test]
fn formatting_tensors_is_caught() {
    let code = r#"
#[derive(Debug, Clone)]
pub struct Packet { boxes: Tensor, n: usize }
#[derive(Debug)]
struct Model { head: Linear, layers: Vec<Conv2d> }
#[derive(Debug)]
struct Host { values: Vec<f32> }
#[derive(Debug)]
enum Either { A(Tensor), B }
fn f(t: &Tensor, p: &Packet) -> String {
    let s = t.sum_all()?;
    let a = format!("{t:?}");
    let b = format!("{}", s);
    let c = format!("{:?}", p.boxes);
    println!("{:?} {}", t.dims(), t.dtype().as_str());
    let d = t.to_string();
    let e = format!("{:?}", TensorSummary(t));
    let g = format!("{} frames", p.n);
    assert_eq!(s, s);
    let h = format!("{x}", x = t);
    let (logits, boxes) = self.detector.forward(frame)?;
    let i = format!("{logits:?}");
    for layer in &self.layers {
        bail!("layer {layer:?}");
    }
    s.to_vec1::<f32>()
}
impl fmt::Debug for Packet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Packet").field("boxes", &self.boxes).finish()?;
        fmt::Debug::fmt(&self.boxes, f)?;
        f.debug_struct("Packet").field("boxes", &TensorSummary(&self.boxes)).field("n", &self.n).finish()
    }
}
struct Counter { boxes: usize }
impl fmt::Debug for Counter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.debug_struct("C").field("boxes", &self.boxes).finish() }
}
trait Detect { fn forward(&self, frame: &Tensor) -> Result<(Tensor, Tensor)>; }
"#;
    assert_eq!(lines(code), vec![2, 4, 8, 12, 13, 14, 16, 19, 20, 22, 24, 26, 30, 31]);
}

#[test]
fn host_scalar_operands_are_caught() {
    let code = r#"
fn f(t: &Tensor) {
    let a = t.ge(0.5)?;
    let b = t.ge(&u)?;
    let c = t
        .le( f64::from(age))?;
    let d = t.broadcast_ge(&u)?.broadcast_minimum(&v)?;
    let e = t.ne(0f32)?.maximum(&z)?;
    let g = t.clamp(0f32, 1f32)?;
    let h = t.cmp(0.5, CmpOp::Ge)?;
    let i = t.cmp(&u, CmpOp::Ge)?;
    let j = ge_const(&t, 0.5)?;
    let k = t.maximum(max_value)?;
}
fn host(frames: usize, x: f64) {
    let a = (frames / 10).clamp(1, 10);
    let b = (x * 2.0).clamp(0.0, 1.0);
    let c = f64::from(3u8).clamp(0.0, 1.0);
    let n = frames + 1;
    let d = n.cmp(&frames);
    let e = frames.max(3);
}
"#;
    assert_eq!(lines(code), vec![3, 6, 8, 9, 10, 13]);
}

#[test]
fn gate_names_are_reserved_for_the_gate() {
    let code = r#"
trait Sneaky { fn to_vec1(&self, a: u8, b: u8, c: u8) -> Vec<f32>; }
impl Reads { fn to_scalar(&self, t: &Tensor, s: &str, w: &str) -> f32 { 0.0 } }
fn synchronize(d: &Device, s: &str, w: &str) {}
type T = Tensor;
"#;
    assert_eq!(lines(code), vec![2, 3, 4, 5]);
}

/// The gate's table is the one list of its transfer methods: `pipeline/d2h.toml`
/// declares exactly those (on `Gate` and on `Reader`, with the table's rules)
/// transfer functions, `transfer.rs` defines exactly those `#[track_caller]`
/// methods on both types, and a method named like a candle read is in
/// [`READS`] while the others have names of their own.
#[test]
fn the_gate_table_is_what_d2h_toml_and_transfer_rs_say() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config: toml::Table = std::fs::read_to_string(manifest.join("d2h.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let declared: HashMap<String, String> = config["transfer-functions"]
        .as_table()
        .expect("a [transfer-functions] table")
        .iter()
        .map(|(name, rule)| (name.clone(), rule.as_str().expect("a rule code").to_string()))
        .collect();
    let mut expected = HashMap::new();
    let mut defined = HashMap::new();
    for ty in TRANSFER_TYPES {
        defined.insert(ty.to_string(), HashSet::new());
        for method in TRANSFER_METHODS {
            expected.insert(format!("{ty}::{}", method.name), method.rule.code().to_string());
        }
    }
    assert_eq!(
        declared, expected,
        "pipeline/d2h.toml's [transfer-functions] and the gate's table"
    );

    let source = std::fs::read_to_string(manifest.join("src/transfer.rs")).unwrap();
    for item in syn::parse_file(&source).unwrap().items {
        let syn::Item::Impl(block) = item else { continue };
        let Type::Path(ty) = &*block.self_ty else { continue };
        let Some(names) = defined.get_mut(&ty.path.segments.last().unwrap().ident.to_string()) else {
            continue;
        };
        for member in &block.items {
            if let syn::ImplItem::Fn(f) = member {
                let public = matches!(f.vis, syn::Visibility::Public(_));
                if public && f.attrs.iter().any(|a| a.path().is_ident("track_caller")) {
                    names.insert(f.sig.ident.to_string());
                }
            }
        }
    }
    let table: HashSet<String> = TRANSFER_METHODS.iter().map(|m| m.name.to_string()).collect();
    for (ty, names) in &defined {
        assert_eq!(
            names, &table,
            "the #[track_caller] methods of `{ty}` and the gate's table"
        );
    }

    for method in TRANSFER_METHODS {
        if !READS.contains(&method.name) {
            assert!(!UPLOADS.contains(&method.name), "`{}` is candle's name", method.name);
        }
    }
}
