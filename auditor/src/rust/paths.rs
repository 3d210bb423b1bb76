//! Paths: `use` declarations, and what a path in an expression names — a
//! local name, a project item (by absolute module path), an item of `Self`, or
//! a library item.

use syn::visit::{self, Visit};

use super::analyzer::Analyzer;
use super::apis::{self, contains};
use crate::facts::MAX_EXPR_DEPTH;
use crate::model::CallTarget;

/// What a `use` alias stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsePath {
    /// A project item: absolute module segments then the item (`pipeline`, `transfer`, `Gate`).
    Project(Vec<String>),
    /// An item of another crate: the crate then the rest (`candle_core`, `Tensor`).
    Library(Vec<String>),
}

/// What a path expression names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// One segment, not imported: a local, a function of this module, a prelude item.
    Local(String),
    /// `Self::...`: the segments after `Self`.
    SelfType(Vec<String>),
    /// A project item, by absolute segments.
    Project(Vec<String>),
    /// A library item.
    Library(Vec<String>),
}

impl Resolved {
    pub fn segments(&self) -> &[String] {
        match self {
            Resolved::Local(name) => std::slice::from_ref(name),
            Resolved::SelfType(s) | Resolved::Project(s) | Resolved::Library(s) => s,
        }
    }

    pub fn last(&self) -> &str {
        self.segments().last().map_or("", String::as_str)
    }

    /// The segment before the last (the type of `Type::method`), if any.
    pub fn owner(&self) -> Option<&str> {
        let s = self.segments();
        (s.len() >= 2).then(|| s[s.len() - 2].as_str())
    }

    pub fn is_library(&self) -> bool {
        matches!(self, Resolved::Library(_))
    }

    pub fn is_tensor_library(&self) -> bool {
        matches!(self, Resolved::Library(s) if s.first().is_some_and(|r| contains(apis::TENSOR_CRATES, r)))
    }
}

/// Whether a name is written like a type (`Gate`, `Tensor`).
pub fn is_type_name(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_uppercase())
}

/// The identifiers of a path's segments (generic arguments dropped).
pub fn segments(path: &syn::Path) -> Vec<String> {
    path.segments.iter().map(|s| s.ident.to_string()).collect()
}

impl Analyzer<'_> {
    /// Collects the file's `use` declarations and the modules it declares.
    pub fn collect_uses(&mut self, file: &syn::File) {
        struct Collector<'x, 'a> {
            analyzer: &'x mut Analyzer<'a>,
            mods: Vec<String>,
            depth: usize,
        }
        impl<'ast> Visit<'ast> for Collector<'_, '_> {
            fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
                if self.mods.is_empty() {
                    self.analyzer.declared_mods.insert(item.ident.to_string());
                }
                if item.content.is_some() {
                    self.mods.push(item.ident.to_string());
                    visit::visit_item_mod(self, item);
                    self.mods.pop();
                }
            }
            fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
                let base = self.analyzer.module_segments(&self.mods);
                let mut found = Vec::new();
                use_tree(&mut Vec::new(), &item.tree, &mut found);
                for (alias, full) in found {
                    if let Some(path) = self.analyzer.resolve_use(&full, &base) {
                        self.analyzer.note_library(&path);
                        self.analyzer.uses.entry(alias).or_insert(path);
                    }
                }
            }
            fn visit_expr(&mut self, expr: &'ast syn::Expr) {
                if self.depth < MAX_EXPR_DEPTH {
                    self.depth += 1;
                    visit::visit_expr(self, expr);
                    self.depth -= 1;
                }
            }
        }
        let mut collector = Collector {
            analyzer: self,
            mods: Vec::new(),
            depth: 0,
        };
        collector.visit_file(file);
        let text = self.file.text;
        self.libraries.candle |= text.contains("candle_core::") || text.contains("candle::");
        self.libraries.tch |= text.contains("tch::");
        self.libraries.burn |= text.contains("burn::");
        self.libraries.cudarc |= text.contains("cudarc::");
        self.tensor_aware = self.libraries.any() || text.contains("Tensor") || text.contains("CudaSlice");
    }

    fn note_library(&mut self, path: &UsePath) {
        if let UsePath::Library(segments) = path {
            let root = segments.first().map_or("", String::as_str);
            if root.starts_with("candle") {
                self.libraries.candle = true;
            } else if root == "tch" {
                self.libraries.tch = true;
            } else if root.starts_with("burn") {
                self.libraries.burn = true;
            } else if root == "cudarc" {
                self.libraries.cudarc = true;
            }
        }
    }

    /// The absolute module segments of the file's module plus inline modules.
    pub fn module_segments(&self, mods: &[String]) -> Vec<String> {
        let mut segments: Vec<String> = self.file.module.split('.').map(str::to_string).collect();
        segments.extend(mods.iter().cloned());
        segments
    }

    /// Resolves a `use` path written in module `base`.
    fn resolve_use(&self, full: &[String], base: &[String]) -> Option<UsePath> {
        let first = full.first()?;
        match first.as_str() {
            "crate" | "self" | "super" => Some(UsePath::Project(self.relative(full, base)?)),
            root if contains(apis::TENSOR_CRATES, root) || contains(apis::HOST_CRATES, root) => {
                Some(UsePath::Library(full.to_vec()))
            }
            root if self.declared_mods.contains(root) => {
                let mut absolute = base.to_vec();
                absolute.extend(full.iter().cloned());
                Some(UsePath::Project(absolute))
            }
            _ => Some(UsePath::Library(full.to_vec())),
        }
    }

    /// `crate::`, `self::` and `super::` paths made absolute from module `base`.
    fn relative(&self, full: &[String], base: &[String]) -> Option<Vec<String>> {
        let mut rest = full;
        let mut absolute: Vec<String> = base.to_vec();
        if rest.first().map(String::as_str) == Some("crate") {
            absolute = self.file.crate_root.split('.').map(str::to_string).collect();
            rest = &rest[1..];
        }
        while let Some(first) = rest.first() {
            match first.as_str() {
                "self" => rest = &rest[1..],
                "super" => {
                    absolute.pop();
                    rest = &rest[1..];
                }
                _ => break,
            }
        }
        absolute.extend(rest.iter().cloned());
        Some(absolute)
    }

    /// What a path in an expression names.
    pub fn resolve_path(&self, path: &syn::Path) -> Resolved {
        let segments = segments(path);
        self.resolve_segments(&segments, path.leading_colon.is_some())
    }

    pub fn resolve_segments(&self, segments: &[String], leading_colon: bool) -> Resolved {
        let Some(first) = segments.first() else {
            return Resolved::Local(String::new());
        };
        if leading_colon {
            return Resolved::Library(segments.to_vec());
        }
        match first.as_str() {
            "Self" => return Resolved::SelfType(segments[1..].to_vec()),
            "crate" | "self" | "super" => {
                let base = self.module_segments(&self.mods);
                return self
                    .relative(segments, &base)
                    .map_or_else(|| Resolved::Library(segments.to_vec()), Resolved::Project);
            }
            _ => {}
        }
        if let Some(used) = self.uses.get(first.as_str()) {
            let (mut full, is_project) = match used {
                UsePath::Project(p) => (p.clone(), true),
                UsePath::Library(p) => (p.clone(), false),
            };
            full.extend(segments[1..].iter().cloned());
            return if is_project {
                Resolved::Project(full)
            } else {
                Resolved::Library(full)
            };
        }
        if segments.len() == 1 {
            return Resolved::Local(first.clone());
        }
        if contains(apis::TENSOR_CRATES, first) || contains(apis::HOST_CRATES, first) {
            return Resolved::Library(segments.to_vec());
        }
        if self.declared_mods.contains(first.as_str()) || is_type_name(first) {
            // A module of this file, or a type of this file (or glob-imported).
            let mut absolute = self.module_segments(&self.mods);
            absolute.extend(segments.iter().cloned());
            if is_type_name(first) && self.is_library_type(first) {
                return Resolved::Library(segments.to_vec());
            }
            return Resolved::Project(absolute);
        }
        Resolved::Library(segments.to_vec())
    }

    /// Types of the prelude and std that are written without a `use`.
    pub fn is_library_type(&self, name: &str) -> bool {
        contains(apis::HOST_TYPES, name)
            || contains(apis::TRANSPARENT_TYPES, name)
            || contains(apis::COLLECTION_TYPES, name)
            || matches!(
                name,
                "Some" | "None" | "Ok" | "Err" | "Default" | "From" | "Into" | "Iterator"
            )
            || self.uses.get(name).is_some_and(|u| matches!(u, UsePath::Library(_)))
    }

    /// The call target of a project path (`crate::a::f`, `Type::method`), or `None` for library items.
    pub fn project_target(&self, resolved: &Resolved) -> Option<CallTarget> {
        match resolved {
            Resolved::Local(name) => Some(CallTarget::Name {
                name: name.clone(),
                imported_from: None,
            }),
            Resolved::SelfType(rest) => {
                let class = self.impl_scope.as_ref()?.ty.clone();
                let method = rest.last()?.clone();
                Some(CallTarget::SelfMethod { class, method })
            }
            Resolved::Project(segments) => {
                let (name, module) = segments.split_last()?;
                if let Some(owner) = module.last().filter(|o| is_type_name(o)) {
                    return Some(CallTarget::SelfMethod {
                        class: owner.clone(),
                        method: name.clone(),
                    });
                }
                let module = module.join(".");
                let imported_from = (module != self.file.module && module != self.current_module()).then_some(module);
                Some(CallTarget::Name {
                    name: name.clone(),
                    imported_from,
                })
            }
            Resolved::Library(_) => None,
        }
    }
}

/// Flattens a use tree into (alias, full path) pairs; globs are skipped.
fn use_tree(prefix: &mut Vec<String>, tree: &syn::UseTree, out: &mut Vec<(String, Vec<String>)>) {
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            use_tree(prefix, &p.tree, out);
            prefix.pop();
        }
        syn::UseTree::Name(n) => {
            let name = n.ident.to_string();
            if name == "self" {
                if let Some(last) = prefix.last() {
                    out.push((last.clone(), prefix.clone()));
                }
            } else {
                let mut full = prefix.clone();
                full.push(name.clone());
                out.push((name, full));
            }
        }
        syn::UseTree::Rename(r) => {
            let alias = r.rename.to_string();
            if alias == "_" {
                return;
            }
            let mut full = prefix.clone();
            if r.ident != "self" {
                full.push(r.ident.to_string());
            }
            out.push((alias, full));
        }
        syn::UseTree::Glob(_) => {}
        syn::UseTree::Group(g) => {
            for item in &g.items {
                use_tree(prefix, item, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn use_trees_flatten() {
        let item: syn::ItemUse =
            syn::parse_str("use candle_core::{Device, Tensor as T, nn::{self, Module}, prelude::*};").unwrap();
        let mut out = Vec::new();
        use_tree(&mut Vec::new(), &item.tree, &mut out);
        let names: Vec<(&str, String)> = out.iter().map(|(a, f)| (a.as_str(), f.join("::"))).collect();
        assert_eq!(
            names,
            vec![
                ("Device", "candle_core::Device".to_string()),
                ("T", "candle_core::Tensor".to_string()),
                ("nn", "candle_core::nn".to_string()),
                ("Module", "candle_core::nn::Module".to_string()),
            ]
        );
    }
}
