//! Type narrowing by `isinstance`: `isinstance(x, Tensor)` makes `x` a tensor
//! where the test holds and a host value where it fails (`float(lr) if
//! isinstance(lr, Tensor) else lr`); `isinstance(x, list)` makes it a host value
//! where it holds. `not`, `and` and `or` combine narrowings the way they
//! short-circuit, so `isinstance(x, list) and x` reads a list, not a tensor.

use ruff_python_ast::{self as ast, Expr};

use super::analyzer::Analyzer;
use crate::model::Ty;

/// Names and the types a test gives them where it holds (`then`) and where it fails (`orelse`).
#[derive(Debug, Default)]
pub(super) struct Narrowing {
    pub then: Vec<(String, Ty)>,
    pub orelse: Vec<(String, Ty)>,
}

/// What was in the environment before a narrowing, to put back after it.
pub(super) type Shadowed = Vec<(String, Option<Ty>)>;

impl Analyzer<'_> {
    /// What `test` tells about the names it checks with `isinstance`.
    pub(super) fn narrowing(&self, test: &Expr) -> Narrowing {
        match test {
            Expr::Call(_) => self
                .isinstance_test(test)
                .map_or_else(Narrowing::default, |(name, holds, fails)| Narrowing {
                    then: vec![(name.clone(), holds)],
                    orelse: fails.map(|ty| (name, ty)).into_iter().collect(),
                }),
            Expr::UnaryOp(unary) if unary.op == ast::UnaryOp::Not => {
                let inner = self.narrowing(&unary.operand);
                Narrowing {
                    then: inner.orelse,
                    orelse: inner.then,
                }
            }
            // `a and b` holds where both hold; `a or b` fails where both fail.
            Expr::BoolOp(bool_op) => {
                let parts = bool_op.values.iter().map(|v| self.narrowing(v));
                match bool_op.op {
                    ast::BoolOp::And => Narrowing {
                        then: parts.flat_map(|p| p.then).collect(),
                        orelse: Vec::new(),
                    },
                    ast::BoolOp::Or => Narrowing {
                        then: Vec::new(),
                        orelse: parts.flat_map(|p| p.orelse).collect(),
                    },
                }
            }
            _ => Narrowing::default(),
        }
    }

    /// `isinstance(name, classes)`: the name, its type where the test holds,
    /// and where it fails (known only when the classes are tensors alone).
    fn isinstance_test(&self, test: &Expr) -> Option<(String, Ty, Option<Ty>)> {
        let Expr::Call(call) = test else { return None };
        if !matches!(call.func.as_ref(), Expr::Name(n) if n.id.as_str() == "isinstance") {
            return None;
        }
        let [Expr::Name(name), classes] = &call.arguments.args[..] else {
            return None;
        };
        let text = self.text_of(classes);
        let (holds, fails) = if text.contains("Tensor") {
            if text.contains("ndarray") || text.contains("int") || text.contains("float") || text.contains("list") {
                return None;
            }
            (Ty::TENSOR, Some(Ty::Host))
        } else if text.contains("Module") {
            (Ty::Module, None)
        } else {
            (Ty::Host, None)
        };
        Some((name.id.to_string(), holds, fails))
    }

    /// What the operands after `value` in an `and` (it held) or an `or` (it failed) may assume.
    pub(super) fn narrow_after(&mut self, op: ast::BoolOp, value: &Expr) -> Shadowed {
        let narrowing = self.narrowing(value);
        let names = match op {
            ast::BoolOp::And => narrowing.then,
            ast::BoolOp::Or => narrowing.orelse,
        };
        self.narrow(&names)
    }

    /// Binds each narrowed name, returning what it shadowed.
    pub(super) fn narrow(&mut self, names: &[(String, Ty)]) -> Shadowed {
        names
            .iter()
            .map(|(name, ty)| (name.clone(), self.env.insert(name.clone(), ty.clone())))
            .collect()
    }

    /// Sets each of `names` to its value in `values` (absent: unbound).
    pub(super) fn restore(&mut self, names: &[String], values: &[Option<Ty>]) {
        for (name, value) in names.iter().zip(values) {
            self.set_binding(name.clone(), value.clone());
        }
    }

    /// Binds `name` to `value`, or unbinds it.
    fn set_binding(&mut self, name: String, value: Option<Ty>) {
        match value {
            Some(ty) => self.env.insert(name, ty),
            None => self.env.remove(&name),
        };
    }

    /// Puts back what [`Analyzer::narrow`] shadowed, innermost first.
    pub(super) fn unnarrow(&mut self, shadowed: Shadowed) {
        for (name, previous) in shadowed.into_iter().rev() {
            self.set_binding(name, previous);
        }
    }
}
