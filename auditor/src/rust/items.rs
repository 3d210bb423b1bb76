//! Items: the pre-pass over the file (structs and their fields, model types,
//! declared return types, consts), then functions, impls, traits and modules,
//! each setting the local context: hot roots (`fn forward`, `impl Module for
//! X`), cold functions (`new`, `load*`, `impl Display`, tests), `#[cfg(test)]`
//! modules, and `fn main` before and after its loop.

use syn::visit::{self, Visit};

use super::analyzer::{Analyzer, ImplScope, StructInfo, Val};
use super::types::mentions_tensor_path;
use crate::facts::MAX_EXPR_DEPTH;
use crate::model::{Context, FunctionFacts, Origin, Ty};

/// The name of an impl's self type (`Gate` for `impl<'a> Gate<'a>`).
pub fn type_name(ty: &syn::Type) -> Option<String> {
    match ty {
        syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        syn::Type::Reference(r) => type_name(&r.elem),
        syn::Type::Paren(p) => type_name(&p.elem),
        syn::Type::Group(g) => type_name(&g.elem),
        _ => None,
    }
}

fn last_segment(path: &syn::Path) -> String {
    path.segments.last().map(|s| s.ident.to_string()).unwrap_or_default()
}

/// `#[cfg(test)]` (also inside `all(...)`, not under `not(...)`).
pub fn is_cfg_test(attrs: &[syn::Attribute]) -> bool {
    cfg_mentions(attrs, "test")
}

/// `#[cfg(debug_assertions)]`.
pub fn is_cfg_debug(attrs: &[syn::Attribute]) -> bool {
    cfg_mentions(attrs, "debug_assertions")
}

fn cfg_mentions(attrs: &[syn::Attribute], word: &str) -> bool {
    attrs.iter().any(|attr| {
        if !attr.path().is_ident("cfg") {
            return false;
        }
        let syn::Meta::List(list) = &attr.meta else {
            return false;
        };
        let text = list.tokens.to_string();
        let words: Vec<&str> = text
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .filter(|w| !w.is_empty())
            .collect();
        words.contains(&word) && !words.contains(&"not")
    })
}

/// The derives of an item (`Debug`, `Module`).
fn derives(attrs: &[syn::Attribute]) -> Vec<String> {
    let mut out = Vec::new();
    for attr in attrs {
        if !attr.path().is_ident("derive") {
            continue;
        }
        if let syn::Meta::List(list) = &attr.meta {
            let text = list.tokens.to_string();
            out.extend(
                text.split(',')
                    .filter_map(|d| d.rsplit("::").next())
                    .map(|d| d.trim().to_string()),
            );
        }
    }
    out
}

impl Analyzer<'_> {
    /// What the analysis of any function may need to know about the whole file.
    pub fn prepass(&mut self, file: &syn::File) {
        self.collect_uses(file);

        // Names first: which types are structs, which are models.
        let mut names = NameCollector::default();
        names.visit_file(file);
        for (name, _) in &names.structs {
            self.structs.insert(name.clone(), StructInfo::default());
        }
        for name in names.models {
            self.module_types.insert(name);
        }
        // Then what they hold.
        for (name, item) in &names.structs {
            let derives = derives(&item.attrs);
            let mut info = StructInfo::default();
            for field in item.fields.iter() {
                let Some(ident) = &field.ident else { continue };
                info.fields.insert(ident.to_string(), self.type_val(&field.ty));
            }
            for (index, field) in item.fields.iter().enumerate() {
                if field.ident.is_none() {
                    info.fields.insert(index.to_string(), self.type_val(&field.ty));
                }
            }
            info.debug_formats_tensors =
                derives.iter().any(|d| d == "Debug") && info.fields.values().any(Val::is_tensor);
            self.structs.insert(name.clone(), info);
        }
        let mut by_field: rustc_hash::FxHashMap<String, Option<Val>> = Default::default();
        for info in self.structs.values() {
            for (field, val) in &info.fields {
                by_field
                    .entry(field.clone())
                    .and_modify(|seen| {
                        if seen.as_ref() != Some(val) {
                            *seen = None;
                        }
                    })
                    .or_insert_with(|| Some(val.clone()));
            }
        }
        self.field_types = by_field
            .into_iter()
            .filter_map(|(field, val)| val.filter(|v| !v.ty.is_unknown() || v.of.is_some()).map(|v| (field, v)))
            .collect();

        for (owner, sig) in &names.functions {
            let saved = self.impl_scope.take();
            self.impl_scope = owner.as_ref().map(|ty| ImplScope {
                ty: ty.clone(),
                trait_name: None,
            });
            let generics = self.generic_params(&sig.generics);
            let saved_generics = std::mem::replace(&mut self.generics, generics);
            let returns = match &sig.output {
                syn::ReturnType::Default => Val::host(),
                syn::ReturnType::Type(_, ty) => self.type_val(ty),
            };
            self.generics = saved_generics;
            self.impl_scope = saved;
            self.returns
                .entry((owner.clone(), sig.ident.to_string()))
                .or_insert(returns);
        }
        for (name, ty) in &names.consts {
            let val = self.type_val(ty);
            self.consts.insert(name.clone(), val);
        }
    }

    /// Generic type parameters, with whether their bounds mention a tensor.
    fn generic_params(&self, generics: &syn::Generics) -> Vec<(String, bool)> {
        let mut out: Vec<(String, bool)> = self.generics.clone();
        for param in generics.type_params() {
            let tensor = param.bounds.iter().any(|b| match b {
                syn::TypeParamBound::Trait(t) => mentions_tensor_path(&t.path),
                _ => false,
            });
            out.push((param.ident.to_string(), tensor));
        }
        if let Some(clause) = &generics.where_clause {
            for predicate in &clause.predicates {
                if let syn::WherePredicate::Type(p) = predicate {
                    let Some(name) = type_name(&p.bounded_ty) else { continue };
                    let tensor = p.bounds.iter().any(|b| match b {
                        syn::TypeParamBound::Trait(t) => mentions_tensor_path(&t.path),
                        _ => false,
                    });
                    if let Some(entry) = out.iter_mut().find(|(n, _)| *n == name) {
                        entry.1 |= tensor;
                    }
                }
            }
        }
        out
    }

    pub fn items(&mut self, items: &[syn::Item]) {
        for item in items {
            self.item(item);
        }
    }

    pub fn item(&mut self, item: &syn::Item) {
        match item {
            syn::Item::Fn(f) => self.function(&f.attrs, &f.sig, &f.block),
            syn::Item::Impl(i) => self.impl_block(i),
            syn::Item::Trait(t) => {
                let saved = self.impl_scope.replace(ImplScope {
                    ty: t.ident.to_string(),
                    trait_name: None,
                });
                let saved_function = self.recorder.context.function.take();
                for trait_item in &t.items {
                    if let syn::TraitItem::Fn(f) = trait_item {
                        if let Some(block) = &f.default {
                            self.function(&f.attrs, &f.sig, block);
                        }
                    }
                }
                self.recorder.context.function = saved_function;
                self.impl_scope = saved;
            }
            syn::Item::Mod(m) => {
                let Some((_, items)) = &m.content else { return };
                let saved = self.recorder.context.cold_block.clone();
                if is_cfg_test(&m.attrs) {
                    self.recorder.context.cold_block = Some("in test code".to_string());
                }
                self.mods.push(m.ident.to_string());
                self.items(items);
                self.mods.pop();
                self.recorder.context.cold_block = saved;
            }
            syn::Item::Const(c) => self.module_level(&c.expr),
            syn::Item::Static(s) => self.module_level(&s.expr),
            _ => {}
        }
    }

    /// A const or static initialiser: evaluated outside any function.
    fn module_level(&mut self, expr: &syn::Expr) {
        if self.recorder.context.function.is_some() {
            return;
        }
        let mark = self.env.mark();
        self.expr(expr);
        self.env.restore(mark);
    }

    fn impl_block(&mut self, item: &syn::ItemImpl) {
        let Some(ty) = type_name(&item.self_ty) else { return };
        let trait_name = item.trait_.as_ref().map(|(_, path, _)| last_segment(path));
        let saved = self.impl_scope.replace(ImplScope { ty, trait_name });
        let generics = self.generic_params(&item.generics);
        let saved_generics = std::mem::replace(&mut self.generics, generics);
        // An impl inside a function body: its methods are methods, not nested functions.
        let saved_function = self.recorder.context.function.take();
        for impl_item in &item.items {
            if let syn::ImplItem::Fn(f) = impl_item {
                self.function(&f.attrs, &f.sig, &f.block);
            }
        }
        self.recorder.context.function = saved_function;
        self.generics = saved_generics;
        self.impl_scope = saved;
    }

    pub fn function(&mut self, attrs: &[syn::Attribute], sig: &syn::Signature, block: &syn::Block) {
        let name = sig.ident.to_string();
        let outer = self.recorder.context.function;
        // A function nested in a function is not a method of the impl around them.
        let scope = if outer.is_none() { self.impl_scope.clone() } else { None };
        let class = scope.as_ref().map(|s| s.ty.clone());
        let qualname = match outer {
            Some(f) => format!("{}::{}", self.recorder.facts.functions[f].qualname, name),
            None => {
                let mut parts: Vec<&str> = self.mods.iter().map(String::as_str).collect();
                if let Some(class) = &class {
                    parts.push(class);
                }
                parts.push(&name);
                parts.join("::")
            }
        };
        let trait_name = scope.as_ref().and_then(|s| s.trait_name.clone());
        let hot_root = match (&trait_name, &class) {
            (Some(t), Some(c)) if self.policy.rust.hot_trait(t) => Some(format!("`impl {t} for {c}`")),
            _ => self.policy.hot_by_name(&name),
        };
        let is_test_fn = attrs.iter().any(|a| {
            let path = a.path();
            path.segments
                .last()
                .is_some_and(|s| self.policy.rust.is_test_attribute(&s.ident.to_string()))
        });
        let in_test = self.recorder.context.cold_block.as_deref() == Some("in test code");
        let cold = if is_test_fn || in_test {
            Some("test code".to_string())
        } else if let Some(kind) = trait_name.as_deref().and_then(|t| self.policy.rust.cold_trait(t)) {
            Some(kind.to_string())
        } else {
            self.policy
                .rust
                .cold_kind(&name)
                .or_else(|| self.policy.cold_kind(&name))
                .map(str::to_string)
        };
        let has_receiver = sig.receiver().is_some();
        let params: Vec<String> = sig
            .inputs
            .iter()
            .map(|arg| match arg {
                syn::FnArg::Receiver(_) => "self".to_string(),
                syn::FnArg::Typed(t) => pattern_name(&t.pat),
            })
            .collect();
        let index = self.recorder.facts.functions.len();
        let declared = self.returns.get(&(class.clone(), name.clone()));
        let returns = declared.map_or(Ty::UNKNOWN, |v| v.ty.clone());
        let returns_type = declared.and_then(|v| v.of.clone());
        self.recorder.facts.functions.push(FunctionFacts {
            name: name.clone(),
            qualname,
            class: class.clone(),
            params,
            has_receiver,
            hot_root,
            cold,
            returns,
            returns_type,
            frame_loops: Vec::new(),
            returns_elements: Vec::new(),
        });

        let saved_env = std::mem::take(&mut self.env);
        let saved_scope = std::mem::replace(&mut self.impl_scope, scope);
        let generics = self.generic_params(&sig.generics);
        let saved_generics = std::mem::replace(&mut self.generics, generics);
        let inherited_cold = self
            .recorder
            .context
            .cold_block
            .clone()
            .filter(|c| c == "in test code" || c == "in benchmark code");
        let saved_context = std::mem::replace(
            &mut self.recorder.context,
            Context {
                function: Some(index),
                cold_block: inherited_cold,
                ..Context::default()
            },
        );
        if super::items::is_cfg_debug(attrs) {
            self.recorder.context.guard = Some("#[cfg(debug_assertions)]".to_string());
        }
        for arg in &sig.inputs {
            match arg {
                syn::FnArg::Receiver(_) => {
                    let val = match &class {
                        Some(c) => self.named_type(c),
                        None => Val::unknown(),
                    };
                    self.env.insert("self".to_string(), val);
                }
                syn::FnArg::Typed(t) => {
                    let mut val = self.type_val(&t.ty);
                    if val.ty.is_unknown() && val.of.is_none() {
                        val.ty = Ty::Unknown(Some(Origin::Param {
                            function: index,
                            name: pattern_name(&t.pat),
                        }));
                    }
                    self.bind_pattern(&t.pat, &val);
                }
            }
        }
        let is_main = name == "main" && outer.is_none() && class.is_none() && self.mods.is_empty();
        if is_main {
            self.main_body(block);
        } else {
            self.block(block);
        }
        self.recorder.context = saved_context;
        self.generics = saved_generics;
        self.impl_scope = saved_scope;
        self.env = saved_env;
    }

    /// `fn main`: what comes before its (first) loop is setup, what comes after its last loop teardown.
    fn main_body(&mut self, block: &syn::Block) {
        let has_loop: Vec<bool> = block.stmts.iter().map(contains_loop).collect();
        let first = has_loop.iter().position(|l| *l);
        let last = has_loop.iter().rposition(|l| *l);
        let inherited = self.recorder.context.cold_block.clone();
        let phase = move |i: usize| -> Option<String> {
            if inherited.is_some() {
                return inherited.clone();
            }
            match (first, last) {
                (None, _) | (_, None) => Some("in `main`, which has no loop (setup)".to_string()),
                (Some(f), _) if i < f => Some("in `main` before its loop (setup)".to_string()),
                (_, Some(l)) if i > l => Some("in `main` after its loop (teardown)".to_string()),
                _ => None,
            }
        };
        self.stmts(&block.stmts, Some(&phase));
    }
}

/// The name a parameter pattern binds (`x`, `mut x`), or its text.
fn pattern_name(pat: &syn::Pat) -> String {
    match pat {
        syn::Pat::Ident(i) => i.ident.to_string(),
        syn::Pat::Type(t) => pattern_name(&t.pat),
        syn::Pat::Reference(r) => pattern_name(&r.pat),
        _ => "_".to_string(),
    }
}

/// Whether a statement contains a loop (closures and nested items aside).
fn contains_loop(stmt: &syn::Stmt) -> bool {
    struct Finder {
        found: bool,
        depth: usize,
    }
    impl<'ast> Visit<'ast> for Finder {
        fn visit_expr(&mut self, expr: &'ast syn::Expr) {
            if self.found || self.depth >= MAX_EXPR_DEPTH {
                return;
            }
            match expr {
                syn::Expr::ForLoop(_) | syn::Expr::While(_) | syn::Expr::Loop(_) => self.found = true,
                syn::Expr::Closure(_) => {}
                _ => {
                    self.depth += 1;
                    visit::visit_expr(self, expr);
                    self.depth -= 1;
                }
            }
        }
        fn visit_item(&mut self, _: &'ast syn::Item) {}
    }
    let mut finder = Finder { found: false, depth: 0 };
    finder.visit_stmt(stmt);
    finder.found
}

/// Structs, model types, function signatures and consts anywhere in the file.
#[derive(Default)]
struct NameCollector {
    structs: Vec<(String, syn::ItemStruct)>,
    models: Vec<String>,
    /// (impl type, signature) of every function.
    functions: Vec<(Option<String>, syn::Signature)>,
    consts: Vec<(String, syn::Type)>,
    impl_stack: Vec<Option<String>>,
    depth: usize,
}

impl<'ast> Visit<'ast> for NameCollector {
    fn visit_item_struct(&mut self, item: &'ast syn::ItemStruct) {
        if derives(&item.attrs).iter().any(|d| d == "Module") {
            self.models.push(item.ident.to_string());
        }
        self.structs.push((item.ident.to_string(), item.clone()));
    }

    fn visit_item_impl(&mut self, item: &'ast syn::ItemImpl) {
        let ty = type_name(&item.self_ty);
        if let (Some(ty), Some((_, path, _))) = (&ty, &item.trait_) {
            if matches!(last_segment(path).as_str(), "Module" | "ModuleT") {
                self.models.push(ty.clone());
            }
        }
        if let Some(ty) = &ty {
            let has_forward = item
                .items
                .iter()
                .any(|i| matches!(i, syn::ImplItem::Fn(f) if f.sig.ident == "forward"));
            if has_forward {
                self.models.push(ty.clone());
            }
        }
        self.impl_stack.push(ty);
        visit::visit_item_impl(self, item);
        self.impl_stack.pop();
    }

    fn visit_impl_item_fn(&mut self, item: &'ast syn::ImplItemFn) {
        let owner = self.impl_stack.last().cloned().flatten();
        self.functions.push((owner, item.sig.clone()));
        self.impl_stack.push(None);
        visit::visit_impl_item_fn(self, item);
        self.impl_stack.pop();
    }

    fn visit_item_fn(&mut self, item: &'ast syn::ItemFn) {
        self.functions.push((None, item.sig.clone()));
        self.impl_stack.push(None);
        visit::visit_item_fn(self, item);
        self.impl_stack.pop();
    }

    fn visit_item_const(&mut self, item: &'ast syn::ItemConst) {
        self.consts.push((item.ident.to_string(), (*item.ty).clone()));
    }

    fn visit_item_static(&mut self, item: &'ast syn::ItemStatic) {
        self.consts.push((item.ident.to_string(), (*item.ty).clone()));
    }

    fn visit_expr(&mut self, expr: &'ast syn::Expr) {
        if self.depth < MAX_EXPR_DEPTH {
            self.depth += 1;
            visit::visit_expr(self, expr);
            self.depth -= 1;
        }
    }
}
