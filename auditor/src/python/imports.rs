//! Import aliases of a Python module: local name → qualified dotted name.

use rustc_hash::FxHashMap as HashMap;

use ruff_python_ast::{Expr, Stmt};

/// What each imported local name stands for.
#[derive(Debug, Default)]
pub struct Imports {
    aliases: HashMap<String, String>,
}

impl Imports {
    /// Collects the imports of a module (at any depth: function-level imports count too).
    ///
    /// `module` is the dotted path of the file (`pkg.sub.mod`); `is_package` is
    /// true for `__init__.py`, whose relative imports start from itself.
    pub fn collect(body: &[Stmt], module: &str, is_package: bool) -> Imports {
        let mut imports = Imports::default();
        let package: Vec<&str> = {
            let mut parts: Vec<&str> = module.split('.').filter(|p| !p.is_empty()).collect();
            if !is_package {
                parts.pop();
            }
            parts
        };
        imports.walk(body, &package);
        imports
    }

    fn walk(&mut self, body: &[Stmt], package: &[&str]) {
        for stmt in body {
            match stmt {
                Stmt::Import(import) => {
                    for alias in &import.names {
                        let full = alias.name.as_str();
                        match &alias.asname {
                            Some(asname) => {
                                self.aliases.insert(asname.to_string(), full.to_string());
                            }
                            None => {
                                let first = full.split('.').next().unwrap_or(full);
                                self.aliases.insert(first.to_string(), first.to_string());
                            }
                        }
                    }
                }
                Stmt::ImportFrom(from) => {
                    let base = resolve_relative(from.module.as_ref().map(|m| m.as_str()), from.level, package);
                    for alias in &from.names {
                        let name = alias.name.as_str();
                        if name == "*" {
                            continue;
                        }
                        let local = alias.asname.as_ref().map_or(name, |a| a.as_str());
                        let full = if base.is_empty() {
                            name.to_string()
                        } else {
                            format!("{base}.{name}")
                        };
                        self.aliases.insert(local.to_string(), full);
                    }
                }
                Stmt::FunctionDef(f) => self.walk(&f.body, package),
                Stmt::ClassDef(c) => self.walk(&c.body, package),
                Stmt::If(s) => {
                    self.walk(&s.body, package);
                    for clause in &s.elif_else_clauses {
                        self.walk(&clause.body, package);
                    }
                }
                Stmt::Try(t) => {
                    self.walk(&t.body, package);
                    for handler in &t.handlers {
                        let ruff_python_ast::ExceptHandler::ExceptHandler(h) = handler;
                        self.walk(&h.body, package);
                    }
                    self.walk(&t.orelse, package);
                    self.walk(&t.finalbody, package);
                }
                Stmt::With(w) => self.walk(&w.body, package),
                _ => {}
            }
        }
    }

    /// The qualified name a local name was imported as.
    pub fn get(&self, local: &str) -> Option<&str> {
        self.aliases.get(local).map(String::as_str)
    }

    /// The qualified dotted name of a `Name` / `Attribute` chain: `np.asarray` →
    /// `numpy.asarray`. Names that were not imported stay as written.
    pub fn qualify(&self, expr: &Expr) -> Option<String> {
        match expr {
            Expr::Name(name) => {
                let id = name.id.as_str();
                Some(self.get(id).unwrap_or(id).to_string())
            }
            Expr::Attribute(attr) => {
                let base = self.qualify(&attr.value)?;
                Some(format!("{base}.{}", attr.attr.as_str()))
            }
            _ => None,
        }
    }

    /// Whether the chain's root name was imported (so it names a module or an imported object).
    pub fn is_imported_root(&self, expr: &Expr) -> bool {
        match expr {
            Expr::Name(name) => self.aliases.contains_key(name.id.as_str()),
            Expr::Attribute(attr) => self.is_imported_root(&attr.value),
            _ => false,
        }
    }
}

fn resolve_relative(module: Option<&str>, level: u32, package: &[&str]) -> String {
    if level == 0 {
        return module.unwrap_or("").to_string();
    }
    let keep = package.len().saturating_sub(level as usize - 1);
    let mut parts: Vec<&str> = package[..keep].to_vec();
    if let Some(m) = module {
        parts.extend(m.split('.'));
    }
    parts.join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn imports(src: &str, module: &str, is_package: bool) -> Imports {
        let parsed = ruff_python_parser::parse_module(src).unwrap();
        Imports::collect(&parsed.syntax().body, module, is_package)
    }

    #[test]
    fn aliases_and_from_imports() {
        let i = imports(
            "import numpy as np\nimport torch.nn.functional as F\nimport torch.cuda\nfrom scipy.optimize import linear_sum_assignment as lsa\n",
            "pkg.mod",
            false,
        );
        assert_eq!(i.get("np"), Some("numpy"));
        assert_eq!(i.get("F"), Some("torch.nn.functional"));
        assert_eq!(i.get("torch"), Some("torch"));
        assert_eq!(i.get("lsa"), Some("scipy.optimize.linear_sum_assignment"));
    }

    #[test]
    fn relative_imports_resolve_against_the_package() {
        let i = imports(
            "from .dfine import run\nfrom ..util import helper\nfrom . import sibling\n",
            "a.b.c",
            false,
        );
        assert_eq!(i.get("run"), Some("a.b.dfine.run"));
        assert_eq!(i.get("helper"), Some("a.util.helper"));
        assert_eq!(i.get("sibling"), Some("a.b.sibling"));
        let p = imports("from .dfine import run\n", "a.b", true);
        assert_eq!(p.get("run"), Some("a.b.dfine.run"));
    }

    #[test]
    fn qualify_chains() {
        let src = "import numpy as np\nx = np.linalg.norm\n";
        let parsed = ruff_python_parser::parse_module(src).unwrap();
        let i = Imports::collect(&parsed.syntax().body, "m", false);
        let Stmt::Assign(assign) = &parsed.syntax().body[1] else {
            panic!()
        };
        assert_eq!(i.qualify(&assign.value).as_deref(), Some("numpy.linalg.norm"));
    }
}
