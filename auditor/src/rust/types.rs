//! Declared types: what a parameter, field, `let` or return type says about
//! its value (`&Tensor` is a tensor, `Vec<f32>` host data, `Option<Tensor>`
//! and `Result<Tensor>` a tensor, `Gate` a project type).

use super::analyzer::{Analyzer, Val};
use super::apis::{self, contains};
use super::paths::{is_type_name, Resolved};
use crate::model::Ty;

impl Analyzer<'_> {
    /// The value a declared type describes; unknown when it does not say.
    pub fn type_val(&self, ty: &syn::Type) -> Val {
        self.type_val_depth(ty, 0)
    }

    fn type_val_depth(&self, ty: &syn::Type, depth: usize) -> Val {
        if depth > 32 {
            return Val::unknown();
        }
        match ty {
            syn::Type::Reference(r) => self.type_val_depth(&r.elem, depth + 1),
            syn::Type::Paren(p) => self.type_val_depth(&p.elem, depth + 1),
            syn::Type::Group(g) => self.type_val_depth(&g.elem, depth + 1),
            syn::Type::Ptr(_) | syn::Type::BareFn(_) | syn::Type::Never(_) => Val::host(),
            syn::Type::Slice(s) => collection(self.type_val_depth(&s.elem, depth + 1)),
            syn::Type::Array(a) => collection(self.type_val_depth(&a.elem, depth + 1)),
            syn::Type::Tuple(t) => {
                if t.elems.is_empty() {
                    Val::host()
                } else {
                    Val::tuple(t.elems.iter().map(|e| self.type_val_depth(e, depth + 1)).collect())
                }
            }
            syn::Type::ImplTrait(i) => self.bounds_val(i.bounds.iter()),
            syn::Type::TraitObject(t) => self.bounds_val(t.bounds.iter()),
            syn::Type::Path(p) => {
                if p.qself.is_some() {
                    return Val::unknown();
                }
                self.path_type(&p.path, depth)
            }
            _ => Val::unknown(),
        }
    }

    fn bounds_val<'b>(&self, bounds: impl Iterator<Item = &'b syn::TypeParamBound>) -> Val {
        for bound in bounds {
            if let syn::TypeParamBound::Trait(t) = bound {
                if mentions_tensor_path(&t.path) {
                    return Val::tensor();
                }
                let last = t.path.segments.last().map(|s| s.ident.to_string()).unwrap_or_default();
                if self.policy.rust.hot_trait(&last) {
                    return Val::ty(Ty::Module);
                }
                if matches!(last.as_str(), "Fn" | "FnMut" | "FnOnce" | "Display" | "Debug" | "AsRef") {
                    return Val::host();
                }
            }
        }
        Val::unknown()
    }

    fn path_type(&self, path: &syn::Path, depth: usize) -> Val {
        let Some(last) = path.segments.last() else {
            return Val::unknown();
        };
        let name = last.ident.to_string();
        let type_args: Vec<&syn::Type> = match &last.arguments {
            syn::PathArguments::AngleBracketed(args) => args
                .args
                .iter()
                .filter_map(|a| match a {
                    syn::GenericArgument::Type(t) => Some(t),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        if name == "Tensor" || contains(apis::DEVICE_BUFFER_TYPES, &name) {
            return Val::tensor();
        }
        if path.segments.len() == 1 {
            if name == "Self" {
                if let Some(scope) = &self.impl_scope {
                    return self.named_type(&scope.ty.clone());
                }
                return Val::unknown();
            }
            if let Some((_, tensor)) = self.generics.iter().find(|(g, _)| *g == name) {
                return if *tensor { Val::tensor() } else { Val::unknown() };
            }
        }
        if contains(apis::TRANSPARENT_TYPES, &name) {
            return type_args
                .first()
                .map_or_else(Val::unknown, |t| self.type_val_depth(t, depth + 1));
        }
        if matches!(name.as_str(), "HashMap" | "BTreeMap" | "IndexMap" | "FxHashMap") && type_args.len() == 2 {
            // Iterating a map gives (key, value) pairs.
            let key = self.type_val_depth(type_args[0], depth + 1);
            let value = self.type_val_depth(type_args[1], depth + 1);
            if key.is_tensor() || value.is_tensor() || value.parts.is_some() {
                return Val::tuple(vec![key, value]);
            }
            return Val::host();
        }
        if contains(apis::COLLECTION_TYPES, &name) {
            return type_args
                .last()
                .map_or_else(Val::host, |t| collection(self.type_val_depth(t, depth + 1)));
        }
        if name.ends_with("Device") {
            let cpu = name.contains("NdArray") || name == "CpuDevice";
            return Val::ty(if cpu { Ty::CpuDevice } else { Ty::Host });
        }
        if contains(apis::HOST_TYPES, &name) || contains(apis::SCALAR_TYPES, &name) {
            return Val::host();
        }
        if self.structs.contains_key(&name) {
            return self.named_type(&name);
        }
        if contains(apis::MODULE_TYPES, &name) {
            return Val::ty(Ty::Module);
        }
        if !is_type_name(&name) {
            return Val::unknown();
        }
        let resolved = self.resolve_path(path);
        if matches!(resolved, Resolved::Library(_)) || self.is_library_type(&name) {
            // Another crate's type that is not a tensor or a model: host state (a stream, a tokenizer).
            return Val::host();
        }
        self.named_type(&name)
    }

    /// A value of a project type: a model when the type implements `Module`.
    pub fn named_type(&self, name: &str) -> Val {
        let ty = if self.is_module_type(name) {
            Ty::Module
        } else {
            Ty::UNKNOWN
        };
        Val::of(name, ty)
    }

    /// Whether a declared type is a host scalar (`f64`, `i64`, `bool`).
    pub fn is_scalar_type(ty: &syn::Type) -> bool {
        match ty {
            syn::Type::Path(p) => p
                .path
                .get_ident()
                .is_some_and(|i| contains(apis::SCALAR_TYPES, &i.to_string())),
            syn::Type::Reference(r) => Analyzer::is_scalar_type(&r.elem),
            _ => false,
        }
    }
}

/// A collection of `element`s: a tensor value when the elements are tensors;
/// a collection of tuples keeps their parts (what iterating it binds).
fn collection(element: Val) -> Val {
    if element.parts.is_some() {
        return element;
    }
    if element.is_tensor() {
        Val::tensor()
    } else {
        Val::host()
    }
}

/// Whether a path names `Tensor` anywhere, generic arguments included (`AsRef<Tensor>`).
pub fn mentions_tensor_path(path: &syn::Path) -> bool {
    path.segments.iter().any(|s| {
        s.ident == "Tensor"
            || match &s.arguments {
                syn::PathArguments::AngleBracketed(args) => args.args.iter().any(|a| match a {
                    syn::GenericArgument::Type(t) => mentions_tensor(t),
                    syn::GenericArgument::AssocType(t) => mentions_tensor(&t.ty),
                    _ => false,
                }),
                _ => false,
            }
    })
}

fn mentions_tensor(ty: &syn::Type) -> bool {
    match ty {
        syn::Type::Path(p) => mentions_tensor_path(&p.path),
        syn::Type::Reference(r) => mentions_tensor(&r.elem),
        syn::Type::Slice(s) => mentions_tensor(&s.elem),
        syn::Type::Array(a) => mentions_tensor(&a.elem),
        _ => false,
    }
}
