//! Definitions: functions and classes. A function's facts (hot root or cold,
//! parameters and what annotations and evidence in its body say they are,
//! what it returns); a class's attributes and whether it is a torch module.

use rustc_hash::{FxHashMap as HashMap, FxHashSet};

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Expr, Stmt};

use super::analyzer::{name_of, Analyzer, ClassScope};
use super::apis;
use crate::facts::MAX_EXPR_DEPTH;
use crate::model::{FunctionFacts, Origin, Ty};
use crate::policy::Policy;

impl Analyzer<'_> {
    pub(super) fn function_def(&mut self, function: &ast::StmtFunctionDef) {
        let name = function.name.to_string();
        let class = self.classes.last().map(|c| c.name.clone());
        let qualname = self.qualify_function(&name);
        let decorators: Vec<String> = function
            .decorator_list
            .iter()
            .filter_map(|d| {
                let expr = match &d.expression {
                    Expr::Call(call) => call.func.as_ref(),
                    other => other,
                };
                self.imports.qualify(expr)
            })
            .collect();
        let is_static = decorators.iter().any(|d| d == "staticmethod");
        let hot_root = self.policy.hot_by_name(&name).or_else(|| {
            decorators
                .iter()
                .find(|d| self.policy.is_hot_decorator(d))
                .map(|d| format!("decorated `@{d}`"))
        });
        let cold = self.policy.cold_kind(&name).map(str::to_string);
        let params = parameter_names(&function.parameters);
        let has_receiver = class.is_some() && !is_static && !params.is_empty();
        let index = self.recorder.facts.functions.len();
        if self.recorder.recording {
            self.recorder.facts.functions.push(FunctionFacts {
                name: name.clone(),
                qualname: qualname.clone(),
                class: class.clone(),
                params: params.clone(),
                has_receiver,
                hot_root,
                cold,
                returns: Ty::UNKNOWN,
                returns_type: None,
                frame_loops: Vec::new(),
                returns_elements: Vec::new(),
            });
        }

        // Defaults are evaluated where the function is defined.
        for default in function
            .parameters
            .iter_non_variadic_params()
            .filter_map(|p| p.default.as_deref())
        {
            self.expr(default);
        }
        if !self.recorder.recording {
            return;
        }

        let evidence = tensor_evidence(&function.body, &params, self.policy);
        // Closures see their enclosing function's names; top-level functions see globals only.
        let enclosing = if self.recorder.context.function.is_some() {
            self.env.clone()
        } else {
            HashMap::default()
        };
        let saved_env = std::mem::replace(&mut self.env, enclosing);
        let saved_context = std::mem::take(&mut self.recorder.context);
        let saved_returns = self.returns.take();
        let saved_elements = self.returns_elements.take();
        self.recorder.context.function = Some(index);
        self.recorder.context.cold_block = saved_context.cold_block.clone().filter(|c| c == "in test code");
        for (position, param) in function.parameters.iter_non_variadic_params().enumerate() {
            let pname = param.parameter.name.to_string();
            let ty = if position == 0 && has_receiver {
                Ty::Host
            } else if let Some(annotated) = param
                .parameter
                .annotation
                .as_deref()
                .and_then(|a| self.annotation_type(a))
            {
                annotated
            } else if evidence.contains(&pname) {
                Ty::TENSOR
            } else {
                Ty::Unknown(Some(Origin::Param {
                    function: index,
                    name: pname.clone(),
                }))
            };
            self.env.insert(pname, ty);
        }
        for variadic in [&function.parameters.vararg, &function.parameters.kwarg]
            .into_iter()
            .flatten()
        {
            self.env.insert(variadic.name.to_string(), Ty::Host);
        }
        self.block(&function.body);
        let returns = self.returns.take().unwrap_or(Ty::Host);
        self.recorder.facts.functions[index].returns = returns;
        self.recorder.facts.functions[index].returns_elements =
            std::mem::replace(&mut self.returns_elements, saved_elements).unwrap_or_default();
        self.returns = saved_returns;
        self.recorder.context = saved_context;
        self.env = saved_env;
        self.env.insert(name, Ty::Host);
    }

    fn qualify_function(&self, name: &str) -> String {
        let mut parts: Vec<&str> = Vec::new();
        if let Some(function) = self.recorder.context.function {
            parts.push(&self.recorder.facts.functions[function].qualname);
        } else if let Some(class) = self.classes.last() {
            parts.push(&class.name);
        }
        parts.push(name);
        parts.join(".")
    }

    pub(super) fn class_def(&mut self, class: &ast::StmtClassDef) {
        if let Some(arguments) = &class.arguments {
            for base in arguments.args.iter() {
                self.expr(base);
            }
        }
        let qualified_name = match self.classes.last() {
            Some(outer) => format!("{}.{}", outer.name, class.name),
            None => class.name.to_string(),
        };
        let bases = class
            .arguments
            .iter()
            .flat_map(|arguments| arguments.args.iter())
            .filter_map(|base| match base {
                // `Base[Config]`
                Expr::Subscript(subscript) => name_of(&subscript.value),
                base => name_of(base),
            })
            .map(str::to_string)
            .collect();
        self.recorder.record_class(qualified_name.clone(), bases);
        let mut attrs = if self.recorder.recording {
            self.class_attributes(&class.body)
        } else {
            Default::default()
        };
        // Class-level annotations (`track_ids: np.ndarray`) declare attribute types;
        // class-level constants (`BELOW_LOW_THRESHOLD = -1`) are host values.
        let mut methods = FxHashSet::default();
        for stmt in &class.body {
            match stmt {
                Stmt::AnnAssign(assign) => {
                    if let (Expr::Name(name), Some(ty)) =
                        (assign.target.as_ref(), self.annotation_type(&assign.annotation))
                    {
                        attrs.entry(name.id.to_string()).or_insert(ty);
                    }
                }
                Stmt::Assign(assign) if is_constant(&assign.value) => {
                    for target in &assign.targets {
                        if let Expr::Name(name) = target {
                            attrs.entry(name.id.to_string()).or_insert(Ty::Host);
                        }
                    }
                }
                Stmt::FunctionDef(method) => {
                    methods.insert(method.name.to_string());
                }
                _ => {}
            }
        }
        let module = self.module_classes.iter().any(|c| c == class.name.as_str());
        self.classes.push(ClassScope {
            name: qualified_name,
            attrs,
            pinned: Default::default(),
            grad_scalers: Default::default(),
            module,
            methods,
        });
        let saved_env = std::mem::take(&mut self.env);
        self.block(&class.body);
        self.env = saved_env;
        self.classes.pop();
        self.env.insert(class.name.to_string(), Ty::Host);
    }

    /// The type an annotation declares, when it says tensor, array, module or scalar.
    pub(super) fn annotation_type(&self, annotation: &Expr) -> Option<Ty> {
        annotation_type(&self.text_of(annotation))
    }
}

/// A literal, or a tuple or list of them (`-1`, `"bbox"`, `(0.5, 0.75)`).
fn is_constant(expr: &Expr) -> bool {
    match expr {
        Expr::NumberLiteral(_)
        | Expr::StringLiteral(_)
        | Expr::BooleanLiteral(_)
        | Expr::NoneLiteral(_)
        | Expr::BytesLiteral(_) => true,
        Expr::UnaryOp(unary) => is_constant(&unary.operand),
        Expr::Tuple(tuple) => tuple.elts.iter().all(is_constant),
        Expr::List(list) => list.elts.iter().all(is_constant),
        _ => false,
    }
}

/// Parameters used with tensor-only methods or attributes in the body.
/// (A method modules share, on a parameter named like a model, is no evidence:
/// `model.cuda()` moves a module.)
fn tensor_evidence(body: &[Stmt], params: &[String], policy: &Policy) -> Vec<String> {
    struct Evidence<'p> {
        params: &'p [String],
        policy: &'p Policy,
        found: Vec<String>,
        depth: usize,
    }
    impl<'a> Visitor<'a> for Evidence<'_> {
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            if !matches!(stmt, Stmt::FunctionDef(_) | Stmt::ClassDef(_)) {
                visitor::walk_stmt(self, stmt);
            }
        }
        fn visit_expr(&mut self, expr: &'a Expr) {
            if self.depth >= MAX_EXPR_DEPTH {
                return;
            }
            if let Expr::Attribute(attr) = expr {
                if let Expr::Name(base) = attr.value.as_ref() {
                    let name = base.id.as_str();
                    let member = attr.attr.as_str();
                    let module_too =
                        apis::contains(apis::MODULE_SHARED_METHODS, member) && self.policy.is_model_name(name);
                    let tensor_only = (apis::contains(apis::TENSOR_ONLY_METHODS, member)
                        || apis::contains(apis::TENSOR_ONLY_ATTRIBUTES, member))
                        && !module_too;
                    if tensor_only && self.params.iter().any(|p| p == name) && !self.found.iter().any(|f| f == name) {
                        self.found.push(name.to_string());
                    }
                }
            }
            self.depth += 1;
            visitor::walk_expr(self, expr);
            self.depth -= 1;
        }
    }
    let mut evidence = Evidence {
        params,
        policy,
        found: Vec::new(),
        depth: 0,
    };
    for stmt in body {
        evidence.visit_stmt(stmt);
    }
    evidence.found
}

fn parameter_names(parameters: &ast::Parameters) -> Vec<String> {
    parameters
        .iter_non_variadic_params()
        .map(|p| p.parameter.name.to_string())
        .collect()
}

/// Names in annotations that never hold device data.
const HOST_ANNOTATION_WORDS: &[&str] = &[
    "str", "int", "float", "bool", "bytes", "None", "Optional", "Union", "os", "PathLike", "Path", "pathlib", "typing",
    "Literal", "complex", "datetime", "range", "slice", "type", "Type",
];

/// Containers: whatever they hold, the annotated value itself is a host object.
const CONTAINER_ANNOTATIONS: &[&str] = &[
    "dict",
    "Dict",
    "Mapping",
    "MutableMapping",
    "OrderedDict",
    "defaultdict",
    "set",
    "Set",
    "frozenset",
];
const SEQUENCE_ANNOTATIONS: &[&str] = &["list", "List", "tuple", "Tuple", "Sequence", "Iterable"];

/// The type an annotation declares, when it says tensor, array, module or host value.
fn annotation_type(text: &str) -> Option<Ty> {
    let words: Vec<&str> = text
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    let outer = words
        .iter()
        .find(|w| !matches!(**w, "typing" | "t" | "Optional"))
        .copied()
        .unwrap_or("");
    let mentions_tensor = words.iter().any(|w| w.contains("Tensor"));
    let is_container = SEQUENCE_ANNOTATIONS.contains(&outer) || CONTAINER_ANNOTATIONS.contains(&outer);
    if is_container && mentions_tensor {
        // A container of tensors: what it is indexed with decides, so leave it to inference.
        return None;
    }
    if SEQUENCE_ANNOTATIONS.contains(&outer) {
        return Some(Ty::HostSeq);
    }
    if CONTAINER_ANNOTATIONS.contains(&outer) {
        return Some(Ty::Host);
    }
    if mentions_tensor {
        // `Union[int, Tensor]`, `int | Tensor`: the callers decide.
        let host_alternative = words
            .iter()
            .any(|w| matches!(*w, "int" | "float" | "bool" | "ndarray" | "list" | "List" | "str"));
        return if host_alternative { None } else { Some(Ty::TENSOR) };
    }
    if words.iter().any(|w| *w == "ndarray" || *w == "NDArray") {
        return Some(Ty::Host);
    }
    if words.iter().any(|w| w.ends_with("Module")) {
        return Some(Ty::Module);
    }
    if !words.is_empty() && words.iter().all(|w| HOST_ANNOTATION_WORDS.contains(w)) {
        return Some(Ty::Host);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotations() {
        assert_eq!(annotation_type("torch.Tensor"), Some(Ty::TENSOR));
        assert_eq!(annotation_type("Optional[torch.Tensor]"), Some(Ty::TENSOR));
        assert_eq!(annotation_type("Tensor | None"), Some(Ty::TENSOR));
        assert_eq!(annotation_type("Union[int, torch.Tensor]"), None);
        assert_eq!(annotation_type("str | os.PathLike | None"), Some(Ty::Host));
        assert_eq!(annotation_type("dict[str, Any]"), Some(Ty::Host));
        assert_eq!(annotation_type("list[torch.Tensor]"), None);
        assert_eq!(annotation_type("Dict[str, torch.Tensor]"), None);
        assert_eq!(annotation_type("list[int]"), Some(Ty::HostSeq));
        assert_eq!(annotation_type("np.ndarray"), Some(Ty::Host));
        assert_eq!(annotation_type("nn.Module"), Some(Ty::Module));
        assert_eq!(annotation_type("Any"), None);
        assert_eq!(annotation_type("Config"), None);
    }
}
