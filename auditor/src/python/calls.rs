//! Calls: where most transfers happen. Method calls are judged by their
//! receiver's type, function calls by their qualified name (`torch.nonzero`,
//! `numpy.asarray`, `scipy.optimize.linear_sum_assignment`) or, for project
//! functions, recorded for the call graph.

use d2h_rules::RuleId;
use ruff_python_ast::{self as ast, Expr};
use ruff_text_size::{Ranged, TextRange, TextSize};

use super::analyzer::{name_of, Analyzer};
use super::apis::{self, contains};
use crate::model::{ArgSlot, CallTarget, Certainty, Origin, Ty};

/// Methods that keep converting on the host after a copy: `x.cpu().numpy()` is one site.
const CHAIN_CONTINUATIONS: &[&str] = &[
    "numpy",
    "tolist",
    "item",
    "detach",
    "clone",
    "float",
    "double",
    "long",
    "int",
    "contiguous",
    "squeeze",
    "flatten",
    "astype",
    "copy",
];

/// Methods that keep an unknown value's origin (a reduction of a parameter is still that parameter's data).
const ORIGIN_PRESERVING: &[&str] = &[
    "reshape",
    "squeeze",
    "transpose",
    "flatten",
    "clone",
    "copy",
    "view",
    "contiguous",
    "get",
    "sum",
    "mean",
    "max",
    "min",
    "argmax",
    "argmin",
    "any",
    "all",
    "prod",
    "abs",
    "round",
    "T",
];

struct Args {
    positional: Vec<(Ty, TextRange)>,
    keywords: Vec<(String, Ty, TextRange)>,
}

impl Args {
    fn keyword(&self, name: &str) -> Option<&(String, Ty, TextRange)> {
        self.keywords.iter().find(|(k, _, _)| k == name)
    }

    fn has_keyword(&self, name: &str) -> bool {
        self.keyword(name).is_some()
    }

    fn is_empty(&self) -> bool {
        self.positional.is_empty() && self.keywords.is_empty()
    }

    fn first(&self) -> Option<&Ty> {
        self.positional.first().map(|(ty, _)| ty)
    }

    fn all(&self) -> impl Iterator<Item = (&Ty, TextRange)> {
        self.positional
            .iter()
            .map(|(t, r)| (t, *r))
            .chain(self.keywords.iter().map(|(_, t, r)| (t, *r)))
    }

    fn slots(&self) -> Vec<(ArgSlot, Ty)> {
        let positional = self
            .positional
            .iter()
            .enumerate()
            .map(|(i, (ty, _))| (ArgSlot::Positional(i), ty.clone()));
        let keywords = self
            .keywords
            .iter()
            .map(|(k, ty, _)| (ArgSlot::Keyword(k.clone()), ty.clone()));
        positional.chain(keywords).collect()
    }
}

impl Analyzer<'_> {
    pub(super) fn call(&mut self, call: &ast::ExprCall, chain_end: Option<TextSize>) -> Ty {
        match call.func.as_ref() {
            Expr::Attribute(attr) if !self.imports.is_imported_root(&attr.value) => {
                self.method_call(call, attr, chain_end)
            }
            _ => self.function_call(call, chain_end),
        }
    }

    fn arguments(&mut self, call: &ast::ExprCall) -> Args {
        let positional = call
            .arguments
            .args
            .iter()
            .map(|arg| (self.expr(arg), arg.range()))
            .collect();
        let keywords = call
            .arguments
            .keywords
            .iter()
            .map(|kw| {
                let ty = self.expr(&kw.value);
                (
                    kw.arg.as_ref().map_or_else(String::new, |a| a.to_string()),
                    ty,
                    kw.value.range(),
                )
            })
            .collect();
        Args { positional, keywords }
    }

    fn method_call(&mut self, call: &ast::ExprCall, attr: &ast::ExprAttribute, chain_end: Option<TextSize>) -> Ty {
        let method = attr.attr.as_str();
        let on_self = matches!(attr.value.as_ref(), Expr::Name(n) if n.id.as_str() == "self");
        let receiver_chain_end = contains(CHAIN_CONTINUATIONS, method).then(|| chain_end.unwrap_or(call.end()));
        let receiver = if on_self {
            Ty::Host
        } else {
            self.expr_in_chain(&attr.value, receiver_chain_end)
        };
        let args = self.arguments(call);
        let site_range = TextRange::new(call.start(), chain_end.unwrap_or(call.end()).max(call.end()));

        if on_self {
            return self.self_call(call, method, &args);
        }
        if is_string_literal(&attr.value) && method == "format" {
            for (ty, range) in args.all() {
                self.format_site(range, ty, "formatted with `str.format`");
            }
            return Ty::Host;
        }
        if contains(apis::LOGGER_METHODS, method) && name_of(&attr.value).is_some_and(apis::is_logger_name) {
            for (ty, range) in args.all() {
                self.format_site(range, ty, "passed to a logger");
            }
            return Ty::Host;
        }
        if method == "synchronize" {
            self.site(RuleId::ExplicitSync, site_range, Certainty::Known, None);
            return Ty::Host;
        }
        match method {
            "cpu" if args.positional.is_empty() => return self.copy_to_host(site_range, &receiver),
            "to" => {
                if self.is_cpu_target(call, &args) {
                    return self.copy_to_host(site_range, &receiver);
                }
                if !self.is_dtype_only(call) && !args.is_empty() {
                    self.upload_by_move(call, &attr.value, &receiver);
                }
                return match receiver {
                    Ty::Module => Ty::Module,
                    Ty::HostTensor if self.is_dtype_only(call) => Ty::HostTensor,
                    Ty::Host | Ty::HostSeq => Ty::Host,
                    // A module moves with `.to()` as well as a tensor.
                    Ty::Unknown(origin) => Ty::Unknown(origin),
                    _ => Ty::TENSOR,
                };
            }
            "new_tensor" if receiver.is_tensor() => {
                let note = Some("`new_tensor` copies host data to the receiver's device".to_string());
                self.site(RuleId::BlockingUpload, site_range, Certainty::Known, note);
                return Ty::TENSOR;
            }
            "cuda" => {
                self.upload_by_move(call, &attr.value, &receiver);
                return if receiver == Ty::Module { Ty::Module } else { Ty::TENSOR };
            }
            "numpy" => {
                if matches!(receiver, Ty::Tensor { .. } | Ty::Unknown(_)) {
                    self.site(RuleId::ExplicitCopy, site_range, Certainty::Known, None);
                }
                return Ty::Host;
            }
            "tolist" => {
                self.site_ambiguous(RuleId::ExplicitCopy, site_range, &receiver, ".tolist()");
                return Ty::HostSeq;
            }
            "item" => {
                self.site_ambiguous(RuleId::ScalarRead, site_range, &receiver, ".item()");
                return Ty::Host;
            }
            _ => {}
        }
        if contains(apis::SCALAR_READ_METHODS, method) && receiver.is_tensor() {
            self.site(RuleId::ScalarRead, site_range, Certainty::Known, None);
            return Ty::Host;
        }
        if contains(apis::DATA_DEPENDENT_OPS, method) {
            let note = Some(format!("`.{method}()` has a data-dependent output size"));
            match &receiver {
                Ty::Tensor { .. } => self.site(RuleId::DataDependentShape, call.range(), Certainty::Known, note),
                Ty::Unknown(_) => self.site_ambiguous(RuleId::DataDependentShape, call.range(), &receiver, method),
                _ => {}
            }
        }
        if method == "repeat_interleave" && !args.has_keyword("output_size") && args.first().is_some_and(Ty::is_tensor)
        {
            if matches!(receiver, Ty::Tensor { .. } | Ty::Unknown(_)) {
                let note = Some("`repeat_interleave` with tensor repeats and no `output_size`".to_string());
                self.site(RuleId::DataDependentShape, call.range(), Certainty::Known, note);
            }
        }
        self.method_result(method, receiver, &args, call, attr)
    }

    /// `self.m(...)`: a model attribute runs the model; a method of the class is a call-graph edge.
    fn self_call(&mut self, call: &ast::ExprCall, method: &str, args: &Args) -> Ty {
        let attr_ty = self.current_class().and_then(|c| c.attrs.get(method)).cloned();
        match attr_ty {
            Some(Ty::Module) => return Ty::TENSOR,
            Some(Ty::Host) | Some(Ty::HostSeq) => return Ty::UNKNOWN,
            _ => {}
        }
        if self.policy.is_model_name(method) {
            return Ty::TENSOR;
        }
        let Some(class) = self.current_class().map(|c| c.name.clone()) else {
            return Ty::UNKNOWN;
        };
        let target = CallTarget::SelfMethod {
            class,
            method: method.to_string(),
        };
        self.record_call(target.clone(), call.range(), args.slots());
        Ty::Unknown(Some(Origin::Return(target)))
    }

    fn copy_to_host(&mut self, range: TextRange, receiver: &Ty) -> Ty {
        match receiver {
            Ty::Module => {
                self.site(
                    RuleId::ExplicitCopy,
                    range,
                    Certainty::Known,
                    Some("moves a module's parameters".into()),
                );
                if let Some(site) = self.out.sites.last_mut().filter(|_| self.recording) {
                    site.moves_module = true;
                }
                Ty::Module
            }
            Ty::Host | Ty::HostSeq | Ty::HostTensor | Ty::CpuDevice => receiver.clone(),
            _ => {
                self.site(RuleId::ExplicitCopy, range, Certainty::Known, None);
                Ty::HostTensor
            }
        }
    }

    /// `.to("cpu")`, `.to(device="cpu")`, `.to(torch.device("cpu"))`, `.to(self.cpu_device)`.
    fn is_cpu_target(&self, call: &ast::ExprCall, args: &Args) -> bool {
        let target_expr = call
            .arguments
            .keywords
            .iter()
            .find(|k| k.arg.as_ref().is_some_and(|a| a.as_str() == "device"))
            .map(|k| &k.value)
            .or_else(|| call.arguments.args.first());
        let target_ty = args.keyword("device").map(|(_, t, _)| t).or_else(|| args.first());
        if target_ty == Some(&Ty::CpuDevice) {
            return true;
        }
        match target_expr {
            Some(Expr::StringLiteral(s)) => s.value.to_str().starts_with("cpu"),
            Some(e @ (Expr::Name(_) | Expr::Attribute(_))) => {
                name_of(e).is_some_and(|n| n.to_ascii_lowercase().contains("cpu"))
            }
            _ => false,
        }
    }

    fn is_dtype_only(&self, call: &ast::ExprCall) -> bool {
        call.arguments.args.first().is_some_and(|a| {
            self.imports
                .qualify(a)
                .is_some_and(|q| q.starts_with("torch.") && q != "torch.device")
        })
    }

    fn method_result(
        &mut self,
        method: &str,
        receiver: Ty,
        args: &Args,
        call: &ast::ExprCall,
        attr: &ast::ExprAttribute,
    ) -> Ty {
        if contains(apis::METADATA_METHODS, method) && !matches!(receiver, Ty::Module) {
            return Ty::Host;
        }
        let is_mask_method = contains(apis::MASK_METHODS, method);
        let is_reduction = contains(apis::REDUCTIONS, method);
        let reduces_all = is_reduction && args.is_empty();
        let bool_reduction = matches!(method, "any" | "all");
        match receiver {
            Ty::Tensor { .. } => Ty::Tensor {
                mask: is_mask_method || bool_reduction,
                scalar: reduces_all,
            },
            Ty::HostTensor => Ty::HostTensor,
            Ty::Host | Ty::HostSeq | Ty::CpuDevice => Ty::Host,
            Ty::Module => {
                if contains(apis::MODULE_METHODS, method) {
                    Ty::Module
                } else if contains(apis::MODEL_RUN_METHODS, method) || self.policy.hot_by_name(method).is_some() {
                    self.record_method_call(call, method, args);
                    Ty::TENSOR
                } else {
                    self.record_method_call(call, method, args)
                }
            }
            Ty::Unknown(origin) => {
                if contains(apis::TENSOR_ONLY_METHODS, method) || is_mask_method && method != "eq" {
                    Ty::Tensor {
                        mask: is_mask_method,
                        scalar: reduces_all,
                    }
                } else if origin.is_some() && contains(ORIGIN_PRESERVING, method) {
                    Ty::Unknown(origin)
                } else if self.policy.is_model_name(method) && !self.imports.is_imported_root(&attr.value) {
                    self.record_method_call(call, method, args);
                    Ty::TENSOR
                } else {
                    self.record_method_call(call, method, args)
                }
            }
        }
    }

    fn record_method_call(&mut self, call: &ast::ExprCall, method: &str, args: &Args) -> Ty {
        let target = CallTarget::Method {
            method: method.to_string(),
        };
        self.record_call(target.clone(), call.range(), args.slots());
        Ty::Unknown(Some(Origin::Return(target)))
    }

    fn function_call(&mut self, call: &ast::ExprCall, chain_end: Option<TextSize>) -> Ty {
        let site_range = TextRange::new(call.start(), chain_end.unwrap_or(call.end()).max(call.end()));
        let func = call.func.as_ref();
        let imported = self.imports.is_imported_root(func);
        let qualified = self.imports.qualify(func);
        let args = self.arguments(call);

        if let (Expr::Name(name), false) = (func, imported) {
            let id = name.id.as_str();
            if !self.env.contains_key(id) && !self.globals.contains_key(id) {
                if let Some(ty) = self.builtin_call(id, &args, site_range) {
                    return ty;
                }
            }
        }
        let Some(qualified) = qualified else {
            // A call of a call's result, of a subscript...: a module call runs the model.
            return match self.expr(func) {
                Ty::Module => Ty::TENSOR,
                _ => Ty::UNKNOWN,
            };
        };
        // The team's own copy helpers (`transfer-functions` in the configuration).
        if let Some(entry) = self.policy.transfer_function(&qualified) {
            let (rule, name) = (entry.rule, entry.name.clone());
            let note = Some(format!("calls `{name}`, a transfer function of the configuration"));
            self.site(rule, site_range, Certainty::Known, note);
            return Ty::Host;
        }
        if imported {
            if let Some(ty) = self.library_call(&qualified, call, &args, site_range) {
                return ty;
            }
        }
        let last = qualified.rsplit('.').next().unwrap_or(&qualified).to_string();
        if apis::is_class_name(&last) {
            return if self.module_classes.contains(&last) {
                Ty::Module
            } else {
                Ty::UNKNOWN
            };
        }
        if !imported {
            if let Expr::Name(_) = func {
                match self.lookup(&last) {
                    Ty::Module => return Ty::TENSOR,
                    Ty::Tensor { .. } | Ty::HostTensor => return Ty::UNKNOWN,
                    _ => {}
                }
            }
            if self.policy.is_model_name(&last) {
                return Ty::TENSOR;
            }
        }
        let imported_from = imported
            .then(|| qualified.rsplit_once('.').map(|(m, _)| m.to_string()))
            .flatten();
        let target = CallTarget::Name {
            name: last,
            imported_from,
        };
        self.record_call(target.clone(), call.range(), args.slots());
        Ty::Unknown(Some(Origin::Return(target)))
    }

    /// Python builtins; `None` when `name` is not one d2h knows.
    fn builtin_call(&mut self, name: &str, args: &Args, range: TextRange) -> Option<Ty> {
        if contains(apis::SCALAR_BUILTINS, name) {
            if let Some((ty, _)) = args.positional.first() {
                let note = if name == "range" {
                    "tensor used as a `range()` bound (`__index__`)".to_string()
                } else {
                    format!("`{name}()` of a tensor")
                };
                self.site_if_tensor(RuleId::ScalarRead, range, ty, Some(note));
            }
            return Some(if name == "range" { Ty::HostSeq } else { Ty::Host });
        }
        if contains(apis::ITERATING_BUILTINS, name) {
            if let Some((ty, _)) = args
                .positional
                .iter()
                .find(|(t, _)| t.is_tensor())
                .or(args.positional.first())
            {
                let note = Some(format!("Python `{name}()` over a tensor"));
                self.site_if_tensor(RuleId::ScalarRead, range, ty, note);
            }
            return Some(if name == "sorted" { Ty::HostSeq } else { Ty::Host });
        }
        if contains(apis::FORMAT_BUILTINS, name) {
            if let Some((ty, _)) = args.positional.first() {
                self.format_site(range, ty, &format!("formatted with `{name}()`"));
            }
            return Some(Ty::Host);
        }
        match name {
            "print" => {
                for (ty, arg_range) in args.positional.iter() {
                    self.format_site(*arg_range, ty, "printed");
                }
                Some(Ty::Host)
            }
            "abs" => Some(args.first().cloned().unwrap_or(Ty::Host)),
            "list" | "tuple" => Some(Ty::HostSeq),
            "super" | "getattr" | "next" | "iter" | "map" | "filter" | "enumerate" | "zip" | "reversed" => {
                Some(Ty::UNKNOWN)
            }
            _ if contains(apis::HOST_BUILTINS, name) => Some(Ty::Host),
            _ => None,
        }
    }

    /// Calls of imported library functions; `None` when the name may be a project function.
    fn library_call(&mut self, qualified: &str, call: &ast::ExprCall, args: &Args, range: TextRange) -> Option<Ty> {
        let root = qualified.split('.').next().unwrap_or("");
        let last = qualified.rsplit('.').next().unwrap_or("");
        if root == "torch" {
            return Some(self.torch_call(qualified, last, call, args, range));
        }
        if root == "torchvision" {
            if matches!(last, "nms" | "batched_nms") {
                let note = Some(format!("`{last}` returns a data-dependent number of boxes"));
                self.site(RuleId::DataDependentShape, range, Certainty::Known, note);
                return Some(Ty::TENSOR);
            }
            // `torchvision.ops.*` compute on tensors; the rest (`get_dimensions`, transforms) may not.
            let is_op = qualified.starts_with("torchvision.ops.") && !apis::is_class_name(last);
            return Some(if is_op { Ty::TENSOR } else { Ty::UNKNOWN });
        }
        if matches!(
            qualified,
            "numpy.asarray" | "numpy.array" | "numpy.asanyarray" | "numpy.ascontiguousarray"
        ) {
            if let Some(ty) = args.first() {
                self.site_if_tensor(
                    RuleId::ExplicitCopy,
                    range,
                    ty,
                    Some(format!("`np.{last}` of a tensor")),
                );
            }
            return Some(Ty::Host);
        }
        if contains(apis::HOST_LIBRARIES, root) {
            if let Some((ty, _)) = args
                .all()
                .find(|(t, _)| t.is_tensor())
                .or_else(|| args.all().find(|(t, _)| matches!(t, Ty::Unknown(Some(_)))))
            {
                let ty = ty.clone();
                self.site_if_tensor(
                    RuleId::HostLibrary,
                    range,
                    &ty,
                    Some(format!("tensor handed to `{qualified}`")),
                );
            }
            return Some(Ty::Host);
        }
        if root == "math" {
            if let Some(ty) = args.first() {
                self.site_if_tensor(
                    RuleId::ScalarRead,
                    range,
                    ty,
                    Some(format!("`{qualified}` of a tensor")),
                );
            }
            return Some(Ty::Host);
        }
        if root == "logging" && contains(apis::LOGGER_METHODS, last) {
            for (ty, arg_range) in args.all() {
                self.format_site(arg_range, ty, "passed to a logger");
            }
            return Some(Ty::Host);
        }
        if matches!(
            root,
            "os" | "sys"
                | "time"
                | "json"
                | "re"
                | "random"
                | "collections"
                | "itertools"
                | "functools"
                | "typing"
                | "pathlib"
                | "warnings"
                | "copy"
                | "dataclasses"
                | "enum"
                | "abc"
        ) {
            return Some(Ty::Host);
        }
        None
    }

    fn torch_call(&mut self, qualified: &str, last: &str, call: &ast::ExprCall, args: &Args, range: TextRange) -> Ty {
        match qualified {
            "torch.cuda.synchronize"
            | "torch.cuda.empty_cache"
            | "torch.distributed.barrier"
            | "torch.cuda.ipc_collect" => {
                self.site(RuleId::ExplicitSync, range, Certainty::Known, None);
                return Ty::Host;
            }
            "torch.device" => {
                let is_cpu = call
                    .arguments
                    .args
                    .first()
                    .is_some_and(|a| matches!(a, Expr::StringLiteral(s) if s.value.to_str().starts_with("cpu")));
                return if is_cpu { Ty::CpuDevice } else { Ty::Host };
            }
            "torch.where" if args.positional.len() == 1 && args.keywords.is_empty() => {
                let note = Some("one-argument `torch.where` is `nonzero`".to_string());
                self.site(RuleId::DataDependentShape, range, Certainty::Known, note);
                return Ty::TENSOR;
            }
            "torch.repeat_interleave" => {
                let repeats = if args.positional.len() == 1 {
                    args.first()
                } else {
                    args.positional.get(1).map(|(t, _)| t)
                };
                let tensor_repeats = args.positional.len() == 1 || repeats.is_some_and(Ty::is_tensor);
                if tensor_repeats && !args.has_keyword("output_size") {
                    let note = Some("`repeat_interleave` with tensor repeats and no `output_size`".to_string());
                    self.site(RuleId::DataDependentShape, range, Certainty::Known, note);
                }
                return Ty::TENSOR;
            }
            _ => {}
        }
        if qualified.starts_with("torch.distributed.") && last == "barrier" {
            self.site(RuleId::ExplicitSync, range, Certainty::Known, None);
            return Ty::Host;
        }
        if qualified.starts_with("torch.cuda.") || qualified.starts_with("torch.backends.") {
            return Ty::Host;
        }
        if qualified.starts_with("torch.nn.")
            && !qualified.starts_with("torch.nn.functional.")
            && apis::is_class_name(last)
        {
            return Ty::Module;
        }
        let all_host = args
            .all()
            .filter(|(t, _)| t.is_tensor() || **t == Ty::HostTensor)
            .all(|(t, _)| *t == Ty::HostTensor)
            && args.all().any(|(t, _)| *t == Ty::HostTensor);
        if contains(apis::DATA_DEPENDENT_OPS, last) {
            if !all_host {
                let note = Some(format!("`{qualified}` has a data-dependent output size"));
                self.site(RuleId::DataDependentShape, range, Certainty::Known, note);
            }
            return Ty::TENSOR;
        }
        if contains(apis::SCALAR_READ_FUNCTIONS, last) {
            if !all_host {
                self.site(
                    RuleId::ScalarRead,
                    range,
                    Certainty::Known,
                    Some(format!("`{qualified}` returns a Python bool")),
                );
            }
            return Ty::Host;
        }
        if contains(apis::CREATION_FUNCTIONS, last) || last.ends_with("_like") {
            return self.created_tensor(last, call, args, range);
        }
        if last.starts_with("is_") || last.starts_with("get_") || last.starts_with("set_") || last.starts_with('_') {
            return Ty::Host;
        }
        if matches!(
            last,
            "is_tensor"
                | "numel"
                | "is_floating_point"
                | "no_grad"
                | "inference_mode"
                | "enable_grad"
                | "autocast"
                | "manual_seed"
                | "save"
                | "load"
                | "get_default_dtype"
                | "set_grad_enabled"
                | "is_grad_enabled"
        ) {
            return Ty::Host;
        }
        if qualified == "torch.compile" || qualified.starts_with("torch.jit.") {
            return Ty::Module;
        }
        if all_host {
            return Ty::HostTensor;
        }
        let mask = contains(apis::MASK_FUNCTIONS, last);
        let scalar = contains(apis::REDUCTIONS, last) && args.positional.len() == 1 && args.keywords.is_empty();
        Ty::Tensor {
            mask: mask || (matches!(last, "any" | "all")),
            scalar,
        }
    }

    /// `torch.zeros(..., device=dev)` is a device tensor; without `device=`, a host one.
    fn created_tensor(&mut self, last: &str, call: &ast::ExprCall, args: &Args, range: TextRange) -> Ty {
        if last.ends_with("_like") && !args.has_keyword("device") {
            return match args.first() {
                Some(Ty::HostTensor) => Ty::HostTensor,
                _ => Ty::TENSOR,
            };
        }
        if last == "from_numpy" {
            return Ty::HostTensor;
        }
        match args.keyword("device") {
            None => Ty::HostTensor,
            Some((_, ty, _)) => {
                let device = call
                    .arguments
                    .keywords
                    .iter()
                    .find(|k| k.arg.as_ref().is_some_and(|a| a.as_str() == "device"));
                let cpu_literal = device.is_some_and(|k| match &k.value {
                    Expr::StringLiteral(s) => s.value.to_str().starts_with("cpu"),
                    other => name_of(other).is_some_and(|n| n.to_ascii_lowercase().contains("cpu")),
                });
                if *ty == Ty::CpuDevice || cpu_literal {
                    Ty::HostTensor
                } else {
                    self.upload_by_creation(last, args.first(), range);
                    Ty::TENSOR
                }
            }
        }
    }
}

fn is_string_literal(expr: &Expr) -> bool {
    matches!(expr, Expr::StringLiteral(_))
}
