//! Calls: where the transfers happen. Method calls are judged by their name,
//! argument count and receiver (`t.to_vec1()` on a tensor, `stream.memcpy_dtoh(..)`,
//! `t.to(Device::Cpu)`), path calls by what the path names (`Tensor::zeros`,
//! `f64::try_from`, a project function, `Self::helper`). Project calls are
//! recorded for the call graph.

use syn::spanned::Spanned;

use super::analyzer::{loc_from_spans, Analyzer, Loc, Val};
use super::apis::{self, contains};
use super::exprs::{first_span, last_name};
use super::paths::{is_type_name, Resolved};
use super::typed::{cudarc_upload, has, MethodCall, PathCall};
use crate::model::{CallTarget, Origin, Ty};
use crate::rules;

/// Iterator adapters and other methods whose closure argument gets the receiver's elements.
const ELEMENT_CLOSURES: &[&str] = &[
    "map",
    "filter",
    "for_each",
    "try_for_each",
    "any",
    "all",
    "find",
    "filter_map",
    "flat_map",
    "position",
    "inspect",
    "take_while",
    "skip_while",
    "map_while",
    "max_by_key",
    "min_by_key",
    "find_map",
    "and_then",
    "map_or",
    "is_some_and",
];

/// How many calls of a chain (`a.b().c().d()`) a method call's target keeps
/// for linking through declared return types; longer chains link by name.
const MAX_RESULT_CHAIN: usize = 4;

/// Methods that run a model and return its output.
const FORWARD_METHODS: &[&str] = &["forward", "forward_t", "forward_ts", "apply", "apply_t"];

impl Analyzer<'_> {
    pub fn method_call(&mut self, m: &syn::ExprMethodCall, chain_end: Option<Loc>) -> Val {
        let method = m.method.to_string();
        let call_loc = loc_from_spans(first_span(&m.receiver), m.paren_token.span.close());
        let site_loc = chain_end.map_or(call_loc, |end| call_loc.to(end));
        let continues = contains(apis::CHAIN_CONTINUATIONS, &method);
        let receiver_chain = if continues {
            Some(chain_end.unwrap_or(call_loc))
        } else if contains(apis::PASSTHROUGH_METHODS, &method) {
            // `unwrap()`/`expect()` between a copy and its conversion keep the chain, without extending it.
            chain_end
        } else {
            None
        };
        let recv = self.expr_in_chain(&m.receiver, receiver_chain);
        let args = self.method_args(m, &method, &recv);
        let project_recv = recv.is_project_type();
        // A library model (`candle_nn::Linear`): its methods are not project functions.
        let library_model = recv.ty == Ty::Module && recv.of.is_none();

        if let Some(val) = self.transfer_method(m, &method, &recv, &args, site_loc) {
            return val;
        }
        let runs_model = !m.args.is_empty() || recv.ty == Ty::Module;
        if contains(FORWARD_METHODS, &method) && self.tensor_aware && runs_model {
            if (!matches!(recv.ty, Ty::Tensor { .. } | Ty::HostTensor) || project_recv) && !library_model {
                let target = self.method_target(&recv, &method);
                self.record_call(target, call_loc, &args);
            }
            return self
                .declared_return(recv.of.as_deref(), &method)
                .filter(|v| !v.ty.is_unknown() || v.of.is_some())
                .unwrap_or_else(Val::tensor);
        }
        if contains(apis::PASSTHROUGH_METHODS, &method) && !project_recv {
            return recv;
        }
        match method.as_str() {
            "enumerate" if !project_recv => return Val::tuple(vec![Val::host(), elements(&recv)]),
            "keys" | "into_keys" if recv.parts.as_ref().is_some_and(|p| p.len() == 2) => {
                return recv.parts.as_ref().map_or_else(Val::unknown, |p| p[0].clone());
            }
            "into_values" if recv.parts.as_ref().is_some_and(|p| p.len() == 2) => {
                return recv.parts.as_ref().map_or_else(Val::unknown, |p| p[1].clone());
            }
            "zip" if !project_recv => {
                let other = args.first().map_or_else(Val::unknown, elements);
                return Val::tuple(vec![elements(&recv), other]);
            }
            _ => {}
        }
        if contains(apis::ELEMENT_METHODS, &method) && !project_recv {
            if let Some(parts) = &recv.parts {
                // A map is a (key, value) pair of kinds: `get` gives a value, `keys` a key.
                return match (method.as_str(), parts.as_slice()) {
                    ("get" | "get_mut" | "remove" | "values" | "values_mut", [_, value]) => value.clone(),
                    _ => recv,
                };
            }
            return match &recv.ty {
                Ty::Tensor { .. } => Val::tensor(),
                Ty::HostTensor => Val::host_tensor(),
                Ty::Unknown(origin) if recv.parts.is_none() => Val::ty(Ty::Unknown(origin.clone())),
                Ty::Unknown(_) => recv,
                _ => Val::host(),
            };
        }
        if contains(apis::HOST_RESULT_METHODS, &method) && !project_recv {
            return Val::host();
        }
        if contains(apis::METADATA_METHODS, &method) && !project_recv {
            return Val::host();
        }
        match &recv.ty {
            Ty::Tensor { .. } if !project_recv => Val::tensor(),
            Ty::HostTensor => Val::host_tensor(),
            Ty::Host | Ty::HostSeq | Ty::CpuDevice if recv.of.is_none() => Val::host(),
            Ty::Unknown(_) if !project_recv => {
                if contains(apis::TENSOR_METHODS, &method) && self.tensor_aware {
                    return Val::tensor();
                }
                if contains(apis::STD_METHODS, &method) {
                    return Val::unknown();
                }
                let target = self.method_target(&recv, &method);
                self.record_call(target.clone(), call_loc, &args);
                if self.policy.is_model_name(&method) && self.tensor_aware && !args.is_empty() {
                    return Val::tensor();
                }
                Val::ty(Ty::Unknown(Some(Origin::Return(target))))
            }
            Ty::Module if library_model => Val::unknown(),
            _ => {
                // A project type (or a model): a call-graph edge.
                let target = self.method_target(&recv, &method);
                self.record_call(target.clone(), call_loc, &args);
                if let Some(val) = self.declared_return(recv.of.as_deref(), &method) {
                    return val;
                }
                if recv.ty == Ty::Module && self.policy.hot_by_name(&method).is_some() {
                    return Val::tensor();
                }
                Val::ty(Ty::Unknown(Some(Origin::Return(target))))
            }
        }
    }

    /// The arguments of a method call; closures get the receiver's elements as their first parameter.
    fn method_args(&mut self, m: &syn::ExprMethodCall, method: &str, recv: &Val) -> Vec<Val> {
        let mut args = Vec::with_capacity(m.args.len());
        for (i, arg) in m.args.iter().enumerate() {
            let syn::Expr::Closure(closure) = arg else {
                args.push(self.expr(arg));
                continue;
            };
            let error = self.policy.rust.is_error_closure_method(method) || (method == "map_or_else" && i == 0);
            let saved = self.recorder.context.error_path.clone();
            if error {
                self.recorder
                    .context
                    .error_path
                    .get_or_insert_with(|| format!("in a `{method}` closure (error path)"));
            }
            let hint = if error {
                Some(Val::host())
            } else if contains(ELEMENT_CLOSURES, method) && !recv.is_project_type() {
                Some(elements(recv))
            } else {
                None
            };
            let val = self.closure(closure, hint.as_ref());
            self.recorder.context.error_path = saved;
            args.push(val);
        }
        args
    }

    /// Transfers and syncs by method name: the rules check the call; its
    /// value, or `None` when the call is none of them.
    fn transfer_method(
        &mut self,
        m: &syn::ExprMethodCall,
        method: &str,
        recv: &Val,
        args: &[Val],
        loc: Loc,
    ) -> Option<Val> {
        if recv.is_project_type() {
            return None;
        }
        let moves = matches!(method, "to_device" | "to") && args.len() == 1;
        let movable = moves && !matches!(recv.ty, Ty::Host | Ty::HostSeq | Ty::CpuDevice);
        let view = MethodCall {
            call: m,
            method,
            receiver: recv,
            args,
            site: loc,
            call_loc: call_loc(m),
            moves_to_host: movable && self.is_cpu_device(&m.args[0], &args[0]),
            tensor_aware: self.tensor_aware,
            expect_scalar: self.expect_scalar,
        };
        let cx = &mut self.recorder;
        rules::explicit_sync::rust_method_call(cx, &view);
        rules::explicit_copy::rust_method_call(cx, &view);
        rules::blocking_upload::rust_method_call(cx, &view);
        rules::scalar_read::rust_method_call(cx, &view);
        rules::host_format::rust_method_call(cx, &view);
        transfer_value(&view, movable)
    }

    /// `&Device::Cpu`, `Device::Cpu`, a variable bound to it, `&self.cpu_device`, `kind::FLOAT_CPU`.
    pub fn is_cpu_device(&self, expr: &syn::Expr, val: &Val) -> bool {
        if val.ty == Ty::CpuDevice {
            return true;
        }
        let expr = strip_reference(expr);
        match expr {
            syn::Expr::Path(p) => p.path.segments.last().is_some_and(|s| {
                let name = s.ident.to_string();
                name == "Cpu" || name.ends_with("_CPU") || name.to_ascii_lowercase().contains("cpu")
            }),
            syn::Expr::Field(_) => last_name(expr).is_some_and(|n| n.to_ascii_lowercase().contains("cpu")),
            syn::Expr::Tuple(t) => t.elems.iter().any(|e| self.is_cpu_device(e, &Val::unknown())),
            _ => false,
        }
    }

    fn method_target(&self, recv: &Val, method: &str) -> CallTarget {
        match (&recv.of, &recv.ty) {
            (Some(class), _) => CallTarget::SelfMethod {
                class: class.clone(),
                method: method.to_string(),
            },
            // The result of another call: linked through the type its callee declares.
            (None, Ty::Unknown(Some(Origin::Return(receiver)))) if receiver.depth() < MAX_RESULT_CHAIN => {
                CallTarget::MethodOfResult {
                    receiver: Box::new(receiver.clone()),
                    method: method.to_string(),
                }
            }
            (None, _) => CallTarget::Method {
                method: method.to_string(),
            },
        }
    }

    /// The declared return of a function of this file: a method of `owner`, or a free function.
    fn declared_return(&self, owner: Option<&str>, name: &str) -> Option<Val> {
        self.returns
            .get(&(owner.map(str::to_string), name.to_string()))
            .cloned()
    }

    pub fn call(&mut self, c: &syn::ExprCall, chain_end: Option<Loc>) -> Val {
        let call_loc = loc_from_spans(first_span(&c.func), c.paren_token.span.close());
        let site_loc = chain_end.map_or(call_loc, |end| call_loc.to(end));
        let syn::Expr::Path(p) = &*c.func else {
            // A call of a call's result, of a closure field...: a model call runs the model.
            let func = self.expr(&c.func);
            for arg in &c.args {
                self.expr(arg);
            }
            return if func.ty == Ty::Module {
                Val::tensor()
            } else {
                Val::unknown()
            };
        };
        let resolved = self.resolve_path(&p.path);
        let last = resolved.last().to_string();
        let owner = resolved.owner().map(str::to_string);
        let is_err = matches!(&resolved, Resolved::Local(n) if n == "Err");
        let saved = self.recorder.context.error_path.clone();
        if is_err {
            self.recorder
                .context
                .error_path
                .get_or_insert_with(|| "in an `Err(..)` value (error path)".to_string());
        }
        let args: Vec<Val> = c
            .args
            .iter()
            .map(|arg| match arg {
                syn::Expr::Closure(closure) => self.closure(closure, None),
                other => self.expr(other),
            })
            .collect();
        self.recorder.context.error_path = saved;
        let first = || args.first().cloned().unwrap_or_else(Val::unknown);

        if let Resolved::Local(name) = &resolved {
            if let Some(val) = self.env.get(name) {
                // A closure or function value held in a local.
                return if val.ty == Ty::Module {
                    Val::tensor()
                } else {
                    Val::unknown()
                };
            }
            match name.as_str() {
                "Ok" | "Some" => return first(),
                "Err" | "drop" => return Val::host(),
                _ => {}
            }
        }
        let owner_str = owner.as_deref().unwrap_or("");
        if matches!(
            owner_str,
            "Box" | "Arc" | "Rc" | "Cow" | "RefCell" | "Mutex" | "Cell" | "RwLock"
        ) && matches!(last.as_str(), "new" | "from")
        {
            return first();
        }
        let view = PathCall {
            call: c,
            owner: owner_str,
            last: &last,
            args: &args,
            site: site_loc,
            call_loc,
            on_cpu: c.args.iter().zip(&args).any(|(e, v)| self.is_cpu_device(e, v)),
            tch_only: self.libraries.tch_only(),
        };
        let cx = &mut self.recorder;
        rules::scalar_read::rust_path_call(cx, &view);
        rules::explicit_copy::rust_path_call(cx, &view);
        rules::explicit_sync::rust_path_call(cx, &view);
        rules::blocking_upload::rust_path_call(cx, &view);
        let conversion = view.is_conversion() && (contains(apis::SCALAR_TYPES, owner_str) || owner_str == "Vec");
        let synchronize = last == "synchronize" && matches!(owner_str, "Cuda" | "Device" | "CudaDevice");
        if conversion || synchronize {
            return Val::host();
        }
        if matches!(last.as_str(), "take" | "replace") && owner_str == "mem" {
            return first();
        }
        if owner_str == "Tensor" && contains(apis::CREATION_FUNCTIONS, &last) {
            return self.created_tensor(&view);
        }
        if contains(FORWARD_METHODS, &last) && self.tensor_aware && !args.is_empty() {
            if let Some(target) = self.project_target(&resolved) {
                self.record_call(target, call_loc, &args);
            }
            return Val::tensor();
        }
        if resolved.is_library() {
            if resolved.is_tensor_library() {
                if contains(apis::MODULE_CONSTRUCTORS, &last) {
                    return Val::ty(Ty::Module);
                }
                if args.iter().any(Val::is_tensor) {
                    return Val::tensor();
                }
                return Val::unknown();
            }
            return Val::host();
        }
        // A tuple struct or enum variant of the project: `Wrapper(t)`.
        if is_type_name(&last) {
            return self.named_type(&last);
        }
        let Some(target) = self.project_target(&resolved) else {
            return Val::unknown();
        };
        self.record_call(target.clone(), call_loc, &args);
        let declared = match &target {
            CallTarget::SelfMethod { class, method } => self.declared_return(Some(class), method),
            CallTarget::Name {
                name,
                imported_from: None,
            } => self.declared_return(None, name),
            _ => None,
        };
        if let Some(val) = declared {
            return val;
        }
        let constructor = matches!(last.as_str(), "new" | "default" | "open" | "load")
            || last.starts_with("from_")
            || last.starts_with("with_")
            || last.starts_with("new_");
        if let (CallTarget::SelfMethod { class, .. }, true) = (&target, constructor) {
            return self.named_type(&class.clone());
        }
        Val::ty(Ty::Unknown(Some(Origin::Return(target))))
    }

    /// `Tensor::zeros(.., &device)`: a device tensor unless created on the CPU
    /// (tch creates on the CPU unless given a device).
    fn created_tensor(&self, view: &PathCall) -> Val {
        let last = view.last;
        if matches!(last, "cat" | "stack") || last.ends_with("_like") {
            return match view.args.first().map(|a| &a.ty) {
                Some(Ty::HostTensor) => Val::host_tensor(),
                _ => Val::tensor(),
            };
        }
        if view.on_cpu {
            return Val::host_tensor();
        }
        if view.tch_only {
            let device_given = view.call.args.iter().any(mentions_device);
            return if device_given {
                Val::tensor()
            } else {
                Val::host_tensor()
            };
        }
        Val::tensor()
    }
}

/// The value of a library method call that transfers or syncs; `None` when it is none of them.
fn transfer_value(call: &MethodCall, movable: bool) -> Option<Val> {
    let (method, nargs, recv) = (call.method, call.args.len(), call.receiver);
    let host = (method == "synchronize" && nargs == 0) || has(apis::CUDARC_COPIES, method, nargs);
    if host {
        return Some(Val::host());
    }
    if let Some(returns_buffer) = cudarc_upload(method, nargs, recv) {
        return Some(if returns_buffer { Val::tensor() } else { Val::host() });
    }
    if contains(apis::CUDARC_DEVICE_RESULTS, method) && !recv.is_tensor() {
        return Some(Val::tensor());
    }
    if has(apis::CANDLE_COPIES, method, nargs) || has(apis::CANDLE_SCALAR_READS, method, nargs) {
        return Some(Val::host());
    }
    if movable {
        return Some(match recv.ty {
            Ty::Module => recv.clone(),
            Ty::Host | Ty::HostSeq | Ty::HostTensor | Ty::CpuDevice if call.moves_to_host => recv.clone(),
            _ if call.moves_to_host => Val::host_tensor(),
            // `to(Kind::Float)` on a host tensor stays on the host.
            Ty::HostTensor if call.is_dtype_cast() => Val::host_tensor(),
            _ => Val::tensor(),
        });
    }
    let reads = (contains(apis::TCH_SCALAR_READS, method) && nargs <= 1)
        || (contains(apis::BURN_COPIES, method) && nargs == 0)
        || (contains(apis::BURN_SCALAR_READS, method) && nargs == 0)
        || (matches!(method, "print" | "try_into") && nargs == 0 && recv.is_tensor());
    reads.then(Val::host)
}

/// A method call's own location, from its receiver to its closing parenthesis.
fn call_loc(m: &syn::ExprMethodCall) -> Loc {
    loc_from_spans(first_span(&m.receiver), m.paren_token.span.close())
}

/// The elements of a collection or iterator value (a tuple iterator keeps its parts).
fn elements(val: &Val) -> Val {
    if val.parts.is_some() {
        val.clone()
    } else {
        val.element()
    }
}

fn strip_reference(expr: &syn::Expr) -> &syn::Expr {
    match expr {
        syn::Expr::Reference(r) => strip_reference(&r.expr),
        syn::Expr::Paren(p) => strip_reference(&p.expr),
        syn::Expr::Group(g) => strip_reference(&g.expr),
        other => other,
    }
}

/// Whether an argument names a (non-CPU) device: `device`, `Device::Cuda(0)`, `(Kind::Float, dev)`, `FLOAT_CUDA`.
pub(crate) fn mentions_device(expr: &syn::Expr) -> bool {
    let text = match strip_reference(expr) {
        syn::Expr::Tuple(t) => return t.elems.iter().any(mentions_device),
        syn::Expr::Path(p) => p
            .path
            .segments
            .iter()
            .map(|s| s.ident.to_string())
            .collect::<Vec<_>>()
            .join("::"),
        syn::Expr::Field(_) => last_name(expr).unwrap_or_default(),
        syn::Expr::Call(c) => return mentions_device(&c.func),
        syn::Expr::MethodCall(m) => m.method.to_string(),
        other => return other.span().source_text().is_some_and(|t| t.contains("Cuda")),
    };
    let lower = text.to_ascii_lowercase();
    lower.contains("cuda") || lower.contains("device") || lower.contains("dev") || lower.contains("mps")
}
