//! Calls: where most transfers happen. Method calls are judged by their
//! receiver's type, function calls by their qualified name (`torch.nonzero`,
//! `numpy.asarray`, `scipy.optimize.linear_sum_assignment`) or, for project
//! functions, recorded for the call graph.

use ruff_python_ast::{self as ast, Expr};
use ruff_text_size::{Ranged, TextRange, TextSize};

use super::analyzer::{name_of, self_attribute, Analyzer};
use super::apis::{self, contains};
use super::library::{builtin_type, library_type};
use super::typed::{Args, Device, FunctionCall, MethodCall};
use crate::model::{CallTarget, Origin, Ty};
use crate::rules;

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
        let moves_to_host = match method {
            "cpu" => args.positional.is_empty(),
            "to" => self.is_cpu_target(call, &args),
            _ => false,
        };
        let view = MethodCall {
            call,
            method,
            receiver: &receiver,
            receiver_expr: &attr.value,
            args: &args,
            site: site_range,
            moves_to_host,
            dtype_only: self.is_dtype_only(call),
            receiver_pinned: self.is_pinned(&attr.value),
            receiver_grad_scaler: self.is_grad_scaler(&attr.value),
        };
        let cx = &mut self.recorder;
        rules::host_format::python_method_call(cx, &view);
        rules::explicit_sync::python_method_call(cx, &view);
        rules::explicit_copy::python_method_call(cx, &view);
        rules::blocking_upload::python_method_call(cx, &view);
        rules::scalar_read::python_method_call(cx, &view);
        rules::data_dependent_shape::python_method_call(cx, &view);
        self.method_type(&view, attr)
    }

    /// What a method call returns.
    fn method_type(&mut self, view: &MethodCall, attr: &ast::ExprAttribute) -> Ty {
        let (method, receiver, args, call) = (view.method, view.receiver, view.args, view.call);
        let formats = (method == "format" && is_string_literal(&attr.value))
            || (contains(apis::LOGGER_METHODS, method)
                && name_of(&attr.value).is_some_and(|n| self.policy.python.is_logger_name(n)));
        if formats || method == "synchronize" {
            return Ty::Host;
        }
        if view.moves_to_host {
            return match receiver {
                Ty::Module => Ty::Module,
                Ty::Host | Ty::HostSeq | Ty::HostTensor | Ty::CpuDevice => receiver.clone(),
                _ => Ty::HostTensor,
            };
        }
        match method {
            "to" => {
                return match receiver {
                    Ty::Module => Ty::Module,
                    Ty::HostTensor if view.dtype_only => Ty::HostTensor,
                    Ty::Host | Ty::HostSeq => Ty::Host,
                    // A module moves with `.to()` as well as a tensor.
                    Ty::Unknown(origin) => Ty::Unknown(origin.clone()),
                    _ => Ty::TENSOR,
                };
            }
            "new_tensor" if receiver.is_tensor() => return Ty::TENSOR,
            "cuda" => {
                return if *receiver == Ty::Module {
                    Ty::Module
                } else {
                    Ty::TENSOR
                }
            }
            "numpy" | "item" => return Ty::Host,
            "tolist" => return Ty::HostSeq,
            _ => {}
        }
        if contains(apis::SCALAR_READ_METHODS, method) && receiver.is_tensor() {
            return Ty::Host;
        }
        self.method_result(method, receiver.clone(), args, call, attr)
    }

    /// `self.m(...)`: a model attribute runs the model; a method of the class is a call-graph edge.
    fn self_call(&mut self, call: &ast::ExprCall, method: &str, args: &Args) -> Ty {
        let attr_ty = Some(self.self_attribute_type(method));
        match attr_ty {
            Some(Ty::Module) => return Ty::TENSOR,
            Some(Ty::Host) | Some(Ty::HostSeq) => return Ty::UNKNOWN,
            _ => {}
        }
        if self.policy.is_model_name(method) {
            return Ty::TENSOR;
        }
        // In a module, an attribute called like a function that the class does not define
        // as a method is a submodule (`self.roi_heads = roi_heads` ... `self.roi_heads(x)`).
        let submodule = self
            .current_class()
            .is_some_and(|c| c.module && !c.methods.contains(method) && c.attrs.contains_key(method));
        if submodule {
            return Ty::TENSOR;
        }
        // `self.encoder = ReID(..)` ... `self.encoder(img, dets)`: the instance's `__call__`.
        if let Some(Ty::Unknown(origin)) = &attr_ty {
            if let Some(ty) = self.call_instance(call, args, origin.as_ref()) {
                return ty;
            }
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
                } else if self.policy.python.is_model_run_method(method) || self.policy.hot_by_name(method).is_some() {
                    self.record_method_call(call, method, args);
                    Ty::TENSOR
                } else {
                    self.record_method_call(call, method, args)
                }
            }
            Ty::Unknown(origin) => {
                let model_named = name_of(&attr.value).is_some_and(|n| self.policy.is_model_name(n));
                if contains(apis::MODULE_SHARED_METHODS, method) && model_named {
                    // `model = model.float()`: a module stays a module.
                    Ty::Module
                } else if contains(apis::TENSOR_ONLY_METHODS, method) || is_mask_method && method != "eq" {
                    Ty::Tensor {
                        mask: is_mask_method,
                        scalar: reduces_all,
                    }
                } else if origin.is_some() && contains(ORIGIN_PRESERVING, method) {
                    Ty::Unknown(origin)
                } else if self.policy.is_model_name(method) && !self.imports.is_imported_root(&attr.value) {
                    self.record_instance_call(call, method, args, origin.as_ref());
                    Ty::TENSOR
                } else {
                    self.record_instance_call(call, method, args, origin.as_ref())
                }
            }
        }
    }

    /// `obj.m()` where `obj` came from a call (`self.metrics = SemanticMetrics()`): linked
    /// through that call's class or declared return type, else by name.
    fn record_instance_call(&mut self, call: &ast::ExprCall, method: &str, args: &Args, origin: Option<&Origin>) -> Ty {
        let Some(Origin::Return(made_by @ (CallTarget::Name { .. } | CallTarget::ModuleAttr { .. }))) = origin else {
            return self.record_method_call(call, method, args);
        };
        let target = CallTarget::MethodOfResult {
            receiver: Box::new(made_by.clone()),
            method: method.to_string(),
        };
        self.record_call(target.clone(), call.range(), args.slots());
        Ty::Unknown(Some(Origin::Return(target)))
    }

    /// Calls an instance d2h saw made by a project-looking class (`ReID(..)`): its
    /// `__call__` (a module's `forward`), through the class.
    fn call_instance(&mut self, call: &ast::ExprCall, args: &Args, origin: Option<&Origin>) -> Option<Ty> {
        let Some(Origin::Return(made_by @ (CallTarget::Name { .. } | CallTarget::ModuleAttr { .. }))) = origin else {
            return None;
        };
        if !apis::is_class_name(made_by.name()) {
            return None;
        }
        let target = CallTarget::MethodOfResult {
            receiver: Box::new(made_by.clone()),
            method: "__call__".to_string(),
        };
        self.record_call(target.clone(), call.range(), args.slots());
        Some(Ty::Unknown(Some(Origin::Return(target))))
    }

    /// What a function passed as a value names (`self.inference`, `helper`,
    /// `module.helper`), as a call target.
    fn function_reference(&self, expr: &Expr) -> Option<CallTarget> {
        if let Some(method) = self_attribute(expr) {
            let class = self.current_class()?.name.clone();
            return Some(CallTarget::SelfMethod {
                class,
                method: method.to_string(),
            });
        }
        match expr {
            // A name bound to a value here is a variable, not a function.
            Expr::Name(name) if !self.env.contains_key(name.id.as_str()) => {
                let imported_from = self
                    .imports
                    .qualify(expr)
                    .and_then(|q| q.rsplit_once('.').map(|(m, _)| m.to_string()));
                Some(CallTarget::Name {
                    name: name.id.to_string(),
                    imported_from,
                })
            }
            _ => None,
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

        // `retry_if_cuda_oom(self.inference)(x)`, `partial(step, cfg)(x)`: the wrapper is
        // called for its own sake, then the function it wraps runs.
        if let Expr::Call(wrapper) = func {
            self.expr(func);
            if let Some(target) = wrapper.arguments.args.first().and_then(|f| self.function_reference(f)) {
                self.record_call(target.clone(), call.range(), args.slots());
                return Ty::Unknown(Some(Origin::Return(target)));
            }
            return Ty::UNKNOWN;
        }

        if let (Expr::Name(name), false) = (func, imported) {
            let id = name.id.as_str();
            if !self.env.contains_key(id) && !self.globals.contains_key(id) {
                if let Some(ty) = builtin_type(id, &args) {
                    let view = FunctionCall {
                        call,
                        qualified: id,
                        args: &args,
                        site: site_range,
                        device: Device::Absent,
                    };
                    let cx = &mut self.recorder;
                    rules::scalar_read::python_builtin_call(cx, &view);
                    rules::host_format::python_builtin_call(cx, &view);
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
        if self.policy.transfer_function(&qualified).is_some() {
            let loc = self.recorder.loc(site_range);
            rules::transfer_functions::call(&mut self.recorder, &qualified, loc);
            return Ty::Host;
        }
        if imported {
            let view = FunctionCall {
                call,
                qualified: &qualified,
                args: &args,
                site: site_range,
                device: self.device_argument(call, &args),
            };
            let cx = &mut self.recorder;
            rules::explicit_copy::python_library_call(cx, &view);
            rules::scalar_read::python_library_call(cx, &view);
            rules::data_dependent_shape::python_library_call(cx, &view);
            rules::explicit_sync::python_library_call(cx, &view);
            rules::host_format::python_library_call(cx, &view);
            rules::host_library::python_library_call(cx, &view);
            rules::blocking_upload::python_library_call(cx, &view);
            if let Some(ty) = library_type(&view) {
                return ty;
            }
        }
        let last = qualified.rsplit('.').next().unwrap_or(&qualified).to_string();
        let imported_from = imported
            .then(|| qualified.rsplit_once('.').map(|(m, _)| m.to_string()))
            .flatten();
        if apis::is_class_name(&last) {
            if self.module_classes.contains(&last) {
                return Ty::Module;
            }
            // An instance: its methods resolve through its class (`metrics.update_stats(..)`).
            return Ty::Unknown(Some(Origin::Return(CallTarget::Name {
                name: last,
                imported_from,
            })));
        }
        if !imported {
            if let Expr::Name(_) = func {
                match self.lookup(&last) {
                    Ty::Module => return Ty::TENSOR,
                    Ty::Tensor { .. } | Ty::HostTensor => return Ty::UNKNOWN,
                    // `tracker = Tracker(..)` ... `tracker(dets)`: the instance's `__call__`.
                    Ty::Unknown(origin) => {
                        if let Some(ty) = self.call_instance(call, &args, origin.as_ref()) {
                            return ty;
                        }
                    }
                    _ => {}
                }
            }
            if self.policy.is_model_name(&last) {
                return Ty::TENSOR;
            }
        }
        let target = CallTarget::Name {
            name: last,
            imported_from,
        };
        self.record_call(target.clone(), call.range(), args.slots());
        Ty::Unknown(Some(Origin::Return(target)))
    }

    /// Where a creation's `device=` argument puts the tensor.
    fn device_argument(&self, call: &ast::ExprCall, args: &Args) -> Device {
        let Some((_, ty, _)) = args.keyword("device") else {
            return Device::Absent;
        };
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
            Device::Cpu
        } else {
            Device::Accelerator
        }
    }
}

fn is_string_literal(expr: &Expr) -> bool {
    matches!(expr, Expr::StringLiteral(_))
}
