//! Statements: functions and classes, guards, loops, `except` handlers, and
//! the `if __name__ == "__main__":` block, each setting the local context.

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::{Ranged, TextRange};

use super::analyzer::{name_of, self_attribute, self_key, Analyzer};
use crate::facts::MAX_EXPR_DEPTH;
use crate::model::{LoopContext, Ty};

impl Analyzer<'_> {
    pub fn block(&mut self, body: &[Stmt]) {
        let saved_guard = self.recorder.context.guard.clone();
        for stmt in body {
            self.stmt(stmt);
            // `if not self.debug: return` guards the rest of the block.
            if let Some(guard) = self.early_exit_guard(stmt) {
                self.recorder.context.guard = Some(guard);
            }
        }
        self.recorder.context.guard = saved_guard;
    }

    fn stmt(&mut self, stmt: &Stmt) {
        match stmt {
            Stmt::FunctionDef(function) => self.function_def(function),
            Stmt::ClassDef(class) => self.class_def(class),
            Stmt::Return(ret) => {
                let elements = match ret.value.as_deref() {
                    Some(Expr::Tuple(tuple)) if !tuple.elts.iter().any(Expr::is_starred_expr) => {
                        tuple.elts.iter().map(|e| self.quiet_expr(e)).collect()
                    }
                    _ => Vec::new(),
                };
                self.returns_elements = Some(match self.returns_elements.take() {
                    None => elements,
                    Some(previous) if previous.len() == elements.len() => {
                        previous.into_iter().zip(elements).map(|(a, b)| a.join(b)).collect()
                    }
                    Some(_) => Vec::new(),
                });
                let ty = ret.value.as_ref().map_or(Ty::Host, |v| self.expr(v));
                self.returns = Some(match self.returns.take() {
                    Some(previous) => previous.join(ty),
                    None => ty,
                });
            }
            Stmt::Delete(delete) => {
                for target in &delete.targets {
                    self.expr(target);
                }
            }
            Stmt::Assign(assign) => {
                let ty = self.expr(&assign.value);
                for target in &assign.targets {
                    // A number, or a name holding a host value (`self._invalid_val`).
                    self.filling_store = is_python_number(&assign.value)
                        || (matches!(assign.value.as_ref(), Expr::Name(_) | Expr::Attribute(_)) && ty == Ty::Host);
                    self.store_target(target);
                    self.filling_store = false;
                    if let Expr::Subscript(subscript) = target {
                        self.element_assignment(subscript, &ty);
                    }
                    self.bind(target, &ty);
                    self.track_pinned(target, &assign.value);
                }
            }
            Stmt::AugAssign(assign) => {
                let value = self.expr(&assign.value);
                let current = self.expr(&assign.target);
                let ty = current.join(value);
                self.bind(&assign.target, &ty);
            }
            Stmt::AnnAssign(assign) => {
                let annotated = self.annotation_type(&assign.annotation);
                let ty = match &assign.value {
                    Some(value) => self.expr(value),
                    None => Ty::UNKNOWN,
                };
                self.store_target(&assign.target);
                let ty = if ty.is_unknown() { annotated.unwrap_or(ty) } else { ty };
                self.bind(&assign.target, &ty);
            }
            Stmt::For(for_stmt) => {
                let iter = self.expr(&for_stmt.iter);
                self.bind_loop_target(&for_stmt.target, &for_stmt.iter, &iter);
                let saved = self.recorder.context.in_loop.clone();
                let line = self.span(for_stmt.range()).line;
                let calls_model = self
                    .model_call_in(&for_stmt.body)
                    .or_else(|| self.data_loop_over(&for_stmt.iter));
                let data_loop = calls_model.as_deref().is_some_and(|c| c.starts_with("iterates "));
                if calls_model.is_some() && !iterates_own_layers(&for_stmt.iter) {
                    self.record_frame_loop(for_stmt.range(), data_loop);
                }
                self.recorder.context.in_loop = Some(LoopContext { line, calls_model });
                self.block(&for_stmt.body);
                self.recorder.context.in_loop = saved;
                self.block(&for_stmt.orelse);
            }
            Stmt::While(while_stmt) => {
                let saved = self.recorder.context.in_loop.clone();
                let line = self.span(while_stmt.range()).line;
                let calls_model = self.model_call_in(&while_stmt.body);
                if calls_model.is_some() {
                    self.record_frame_loop(while_stmt.range(), false);
                }
                self.recorder.context.in_loop = Some(LoopContext { line, calls_model });
                self.truth(&while_stmt.test);
                self.block(&while_stmt.body);
                self.recorder.context.in_loop = saved;
                self.block(&while_stmt.orelse);
            }
            Stmt::If(if_stmt) => self.if_stmt(if_stmt),
            Stmt::With(with) => {
                for item in &with.items {
                    let ty = self.expr(&item.context_expr);
                    if let Some(vars) = &item.optional_vars {
                        self.bind(vars, &ty);
                    }
                }
                self.block(&with.body);
            }
            Stmt::Match(match_stmt) => {
                self.expr(&match_stmt.subject);
                for case in &match_stmt.cases {
                    if let Some(guard) = &case.guard {
                        self.truth(guard);
                    }
                    self.block(&case.body);
                }
            }
            Stmt::Raise(raise) => {
                let saved = self.recorder.context.error_path.clone();
                self.recorder
                    .context
                    .error_path
                    .get_or_insert_with(|| "in a `raise` (error path)".to_string());
                if let Some(exc) = &raise.exc {
                    self.expr(exc);
                }
                self.recorder.context.error_path = saved;
            }
            Stmt::Try(try_stmt) => {
                self.block(&try_stmt.body);
                for handler in &try_stmt.handlers {
                    let ast::ExceptHandler::ExceptHandler(handler) = handler;
                    let saved = self.recorder.context.error_path.clone();
                    self.recorder.context.error_path = Some("in an `except` handler (fallback path)".to_string());
                    if let Some(name) = &handler.name {
                        self.env.insert(name.to_string(), Ty::Host);
                    }
                    self.block(&handler.body);
                    self.recorder.context.error_path = saved;
                }
                self.block(&try_stmt.orelse);
                self.block(&try_stmt.finalbody);
            }
            Stmt::Assert(assert) => {
                self.truth(&assert.test);
                if let Some(msg) = &assert.msg {
                    let saved = self.recorder.context.error_path.clone();
                    self.recorder
                        .context
                        .error_path
                        .get_or_insert_with(|| "in an assertion message (error path)".to_string());
                    self.expr(msg);
                    self.recorder.context.error_path = saved;
                }
            }
            Stmt::Expr(expr) => {
                self.expr(&expr.value);
            }
            Stmt::TypeAlias(_)
            | Stmt::Import(_)
            | Stmt::ImportFrom(_)
            | Stmt::Global(_)
            | Stmt::Nonlocal(_)
            | Stmt::Pass(_)
            | Stmt::Break(_)
            | Stmt::Continue(_)
            | Stmt::IpyEscapeCommand(_) => {}
        }
    }

    /// Assignment targets are visited for what they index (`x[mask] = 0` syncs).
    fn store_target(&mut self, target: &Expr) {
        match target {
            Expr::Subscript(_) => {
                self.expr(target);
            }
            Expr::Tuple(t) => t.elts.iter().for_each(|e| self.store_target(e)),
            Expr::List(l) => l.elts.iter().for_each(|e| self.store_target(e)),
            _ => {}
        }
    }

    fn if_stmt(&mut self, if_stmt: &ast::StmtIf) {
        if self.recorder.context.function.is_none() && is_main_guard(&if_stmt.test) {
            let saved = self.recorder.context.cold_block.clone();
            self.recorder
                .context
                .cold_block
                .get_or_insert_with(|| "under `if __name__ == \"__main__\"`".to_string());
            self.block(&if_stmt.body);
            self.recorder.context.cold_block = saved;
            for clause in &if_stmt.elif_else_clauses {
                self.block(&clause.body);
            }
            return;
        }
        let mut tests: Vec<(Option<&Expr>, &[Stmt])> = vec![(Some(&if_stmt.test), &if_stmt.body)];
        tests.extend(
            if_stmt
                .elif_else_clauses
                .iter()
                .map(|c| (c.test.as_ref(), c.body.as_slice())),
        );
        let saved = self.recorder.context.guard.clone();
        // `if self.x is None:` / `if not self._initialized:` in a function:
        // a lazy initialisation, whose body runs once, not every call.
        let lazy_init = self
            .recorder
            .context
            .function
            .filter(|_| self.recorder.context.once.is_none())
            // `if not self.debug:` is a debug guard's other branch, not an initialisation.
            .filter(|_| self.guard_of(&if_stmt.test).is_none())
            .and_then(|_| lazy_init_test(&if_stmt.test))
            .map(|attr| format!("in a lazy initialisation (`if` on `{attr}`): runs once, not every call"));
        // A negated guard (`if not debug:`) guards the branches after it.
        let mut guard_for_rest: Option<String> = None;
        // Where earlier tests failed (`isinstance(x, Tensor)` failed: `x` is no tensor).
        let mut failed_before: Vec<(String, Ty)> = Vec::new();
        // Each branch starts from the names as they were; after the `if`, a name
        // is what any branch that falls through may have made it.
        let has_else = tests.last().is_some_and(|(test, _)| test.is_none());
        // Only the names the branches assign can differ after them.
        let assigned = assigned_names(tests.iter().map(|(_, body)| *body));
        let before: Vec<Option<Ty>> = assigned.iter().map(|name| self.binding(name)).collect();
        let mut ends: Vec<Vec<Option<Ty>>> = Vec::new();
        for (index, (test, body)) in tests.into_iter().enumerate() {
            self.restore(&assigned, &before);
            let saved_once = self.recorder.context.once.clone();
            if index == 0 && lazy_init.is_some() {
                self.recorder.context.once = lazy_init.clone();
            }
            let mut guard = guard_for_rest.clone();
            let failed = self.narrow(&failed_before);
            if let Some(test) = test {
                match self.guard_of(test) {
                    Some((text, false)) => guard = Some(text),
                    Some((text, true)) => guard_for_rest = Some(text),
                    None => {
                        if self.recorder.context.guard.is_none() && guard.is_none() {
                            self.truth(test);
                        } else {
                            let inner = self.recorder.context.guard.clone();
                            self.recorder.context.guard = guard.clone().or(inner.clone());
                            self.truth(test);
                            self.recorder.context.guard = inner;
                        }
                    }
                }
            }
            if let Some(g) = guard {
                self.recorder.context.guard = Some(g);
            }
            let narrowing = test.map(|t| self.narrowing(t)).unwrap_or_default();
            let shadowed = self.narrow(&narrowing.then);
            self.block(body);
            self.recorder.context.once = saved_once;
            self.unnarrow(shadowed);
            self.unnarrow(failed);
            failed_before.extend(narrowing.orelse);
            if !body.last().is_some_and(exits) {
                ends.push(assigned.iter().map(|name| self.binding(name)).collect());
            }
            self.recorder.context.guard = saved.clone();
        }
        if !has_else {
            ends.push(before.clone());
        }
        let merged = merge_branches(before, ends);
        self.restore(&assigned, &merged);
    }

    /// What a name (or a `self.member` key) is bound to here: an attribute this
    /// function has not assigned yet is what the class's methods make it.
    fn binding(&self, name: &str) -> Option<Ty> {
        match (self.env.get(name), name.strip_prefix("self.")) {
            (Some(ty), _) => Some(ty.clone()),
            (None, Some(member)) => Some(self.self_attribute_type(member)),
            (None, None) => None,
        }
    }

    /// If `test` is a debug/logging condition: its text, and whether it is negated.
    pub(super) fn guard_of(&self, test: &Expr) -> Option<(String, bool)> {
        match test {
            Expr::UnaryOp(unary) if unary.op == ast::UnaryOp::Not => {
                self.guard_of(&unary.operand).map(|(text, negated)| (text, !negated))
            }
            Expr::BoolOp(bool_op) if bool_op.op == ast::BoolOp::And => bool_op
                .values
                .iter()
                .find_map(|v| self.guard_of(v).filter(|(_, negated)| !negated))
                .map(|(text, _)| (text, false)),
            Expr::Name(_) | Expr::Attribute(_) => {
                let last = name_of(test)?;
                self.policy.is_guard_name(last).then(|| (self.text_of(test), false))
            }
            Expr::Call(call) => {
                let method = name_of(&call.func)?;
                (self.policy.is_guard_call(method) || self.policy.is_guard_name(method))
                    .then(|| (self.text_of(test), false))
            }
            Expr::Compare(compare) => {
                // `if self.log_level >= DEBUG:` / `if LOG_LEVEL == "debug":`
                let mentions_guard = std::iter::once(compare.left.as_ref())
                    .chain(compare.comparators.iter())
                    .any(|e| name_of(e).is_some_and(|n| self.policy.is_guard_name(n)));
                mentions_guard.then(|| (self.text_of(test), false))
            }
            _ => None,
        }
    }

    fn early_exit_guard(&self, stmt: &Stmt) -> Option<String> {
        let Stmt::If(if_stmt) = stmt else { return None };
        if !if_stmt.elif_else_clauses.is_empty() || if_stmt.body.len() != 1 {
            return None;
        }
        let exits = matches!(if_stmt.body[0], Stmt::Return(_) | Stmt::Continue(_) | Stmt::Raise(_));
        match self.guard_of(&if_stmt.test) {
            Some((text, true)) if exits => Some(text),
            _ => None,
        }
    }

    /// A loop over the work's data (a data loader, a dataset, video frames,
    /// `tqdm(loader)`, `enumerate(loader)`) is a frame loop even when the
    /// model call sits in a helper: what it iterates, as `iterates `...``.
    fn data_loop_over(&self, iter: &Expr) -> Option<String> {
        let text = self.text_of(iter);
        let lower = text.to_ascii_lowercase();
        if [".items()", ".keys()", ".values()"].iter().any(|m| lower.ends_with(m)) {
            return None;
        }
        self.policy
            .data_loop_fragments
            .iter()
            .any(|f| lower.contains(f.as_str()))
            .then(|| format!("iterates `{text}`"))
    }

    /// Notes a frame loop in the current function (by its lines). A function
    /// named for one frame or batch (`update`, `forward`, `step`) that loops over
    /// a model inside (per track, per crop) is still per frame: only a loop over
    /// a data source counts there.
    fn record_frame_loop(&mut self, range: TextRange, data_loop: bool) {
        let span = self.span(range);
        let Some(function) = self.recorder.context.function else {
            return;
        };
        let Some(facts) = self.recorder.facts.functions.get(function) else {
            return;
        };
        if !data_loop && PER_FRAME_NAMES.contains(&facts.name.as_str()) {
            return;
        }
        self.recorder.facts.functions[function]
            .frame_loops
            .push((span.line, span.end_line));
    }

    /// The model-like call in a loop body that makes it a frame loop, if any.
    fn model_call_in(&self, body: &[Stmt]) -> Option<String> {
        let mut finder = ModelCallFinder {
            analyzer: self,
            found: None,
            depth: 0,
        };
        for stmt in body {
            finder.visit_stmt(stmt);
            if finder.found.is_some() {
                break;
            }
        }
        finder.found
    }
}

struct ModelCallFinder<'a, 'b> {
    analyzer: &'a Analyzer<'b>,
    found: Option<String>,
    depth: usize,
}

impl ModelCallFinder<'_, '_> {
    /// Whether a method's receiver is a known host value: `results.update(..)`
    /// on a dict or `buffers.step(..)` on a list runs no model.
    fn on_host_value(&self, func: &Expr) -> bool {
        let Expr::Attribute(attr) = func else { return false };
        let ty = match attr.value.as_ref() {
            // `self.model(..)`, `self.update(..)`: the object's own members.
            Expr::Name(name) if name.id.as_str() == "self" => return false,
            Expr::Name(name) => self.analyzer.lookup(name.id.as_str()),
            receiver => match self_attribute(receiver) {
                Some(member) => self.analyzer.self_attribute_type(member),
                None => return false,
            },
        };
        matches!(ty, Ty::Host | Ty::HostSeq | Ty::HostTensor)
    }
}

impl<'a> Visitor<'a> for ModelCallFinder<'_, '_> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        if self.found.is_none() && !matches!(stmt, Stmt::FunctionDef(_) | Stmt::ClassDef(_)) {
            visitor::walk_stmt(self, stmt);
        }
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if self.found.is_some() || self.depth >= MAX_EXPR_DEPTH {
            return;
        }
        if let Expr::Call(call) = expr {
            if let Some(last) = name_of(&call.func) {
                let policy = self.analyzer.policy;
                let is_model = policy.is_model_name(last)
                    || policy.hot_by_name(last).is_some()
                    || (policy.python.is_model_run_method(last) && last != "__call__");
                if is_model && !self.analyzer.imports.is_imported_root(&call.func) && !self.on_host_value(&call.func) {
                    self.found = Some(self.analyzer.text_of(call.func.as_ref()));
                    return;
                }
            }
        }
        self.depth += 1;
        visitor::walk_expr(self, expr);
        self.depth -= 1;
    }
}

/// The attribute a lazy-initialisation test checks, if `test` is one:
/// `self.x is None`, `not self._initialized`, `not hasattr(self, "x")`,
/// `self.x is None or self.y is None` (state of the object, set by the
/// body, so the body runs once per object).
fn lazy_init_test(test: &Expr) -> Option<String> {
    let self_attr = |e: &Expr| match e {
        Expr::Attribute(attr) if matches!(attr.value.as_ref(), Expr::Name(n) if n.id.as_str() == "self") => {
            Some(format!("self.{}", attr.attr.as_str()))
        }
        _ => None,
    };
    match test {
        Expr::Compare(compare) => {
            let [ast::CmpOp::Is] = &compare.ops[..] else {
                return None;
            };
            let [Expr::NoneLiteral(_)] = &compare.comparators[..] else {
                return None;
            };
            self_attr(&compare.left)
        }
        Expr::UnaryOp(unary) if unary.op == ast::UnaryOp::Not => match unary.operand.as_ref() {
            Expr::Call(call) if matches!(call.func.as_ref(), Expr::Name(n) if n.id.as_str() == "hasattr") => {
                match &call.arguments.args[..] {
                    [Expr::Name(n), Expr::StringLiteral(s)] if n.id.as_str() == "self" => {
                        Some(format!("self.{}", s.value.to_str()))
                    }
                    _ => None,
                }
            }
            operand => self_attr(operand),
        },
        Expr::BoolOp(bool_op) if bool_op.op == ast::BoolOp::Or => {
            let attrs: Option<Vec<String>> = bool_op.values.iter().map(lazy_init_test).collect();
            attrs.and_then(|a| a.into_iter().next())
        }
        _ => None,
    }
}

fn is_main_guard(test: &Expr) -> bool {
    let Expr::Compare(compare) = test else { return false };
    let is_name = |e: &Expr| matches!(e, Expr::Name(n) if n.id.as_str() == "__name__");
    let is_main = |e: &Expr| matches!(e, Expr::StringLiteral(s) if s.value.to_str() == "__main__");
    compare.comparators.len() == 1
        && ((is_name(&compare.left) && is_main(&compare.comparators[0]))
            || (is_main(&compare.left) && is_name(&compare.comparators[0])))
}

impl Analyzer<'_> {
    /// Binds a `for` target (or comprehension target) iterating `iter` of type `ty`;
    /// `zip(a, b)` and `enumerate(a)` unpack element-wise.
    pub(super) fn bind_loop_target(&mut self, target: &Expr, iter: &Expr, ty: &Ty) {
        if let (Expr::Call(call), Expr::Tuple(tuple)) = (iter, target) {
            if let Expr::Name(name) = call.func.as_ref() {
                let args = &call.arguments.args;
                match name.id.as_str() {
                    "zip" if args.len() == tuple.elts.len() => {
                        for (elt, arg) in tuple.elts.iter().zip(args.iter()) {
                            let arg_ty = self.quiet_expr(arg);
                            self.bind(elt, &iterated(&arg_ty));
                        }
                        return;
                    }
                    "enumerate" if tuple.elts.len() == 2 && !args.is_empty() => {
                        self.bind(&tuple.elts[0], &Ty::Host);
                        let arg_ty = self.quiet_expr(&args[0]);
                        // `for i, (a, b) in enumerate(zip(xs, ys))`: the element unpacks as the inner iterable's.
                        self.bind_loop_target(&tuple.elts[1], &args[0], &arg_ty);
                        return;
                    }
                    _ => {}
                }
            }
        }
        if let Expr::Call(call) = iter {
            if matches!(call.func.as_ref(), Expr::Name(n) if n.id.as_str() == "range") {
                self.bind(target, &Ty::Host);
                return;
            }
        }
        self.bind(target, &iterated(ty));
    }
}

/// The type of one element of an iterated value.
fn iterated(ty: &Ty) -> Ty {
    match ty {
        Ty::Tensor { .. } => Ty::TENSOR,
        Ty::HostTensor => Ty::HostTensor,
        // Iterating a host value (a numpy array, a dict's keys) yields host values.
        Ty::Host => Ty::Host,
        // An element of a parameter or a call's result is what iterating it yields once
        // it resolves: a tensor's rows are tensors (`for m, b in zip(masks, boxes)`).
        Ty::Unknown(origin) => Ty::Unknown(origin.clone()),
        _ => Ty::UNKNOWN,
    }
}

/// Names of functions that handle one frame or batch by convention.
const PER_FRAME_NAMES: &[&str] = &[
    "forward",
    "step",
    "update",
    "process_frame",
    "training_step",
    "validation_step",
    "track",
];

/// `for layer in self.layers:` / `enumerate(self.blocks)` / `zip(self.convs, feats)`:
/// a loop over the module's own layers, which runs per forward, not per frame.
fn iterates_own_layers(iter: &Expr) -> bool {
    match iter {
        Expr::Call(call) if matches!(call.func.as_ref(), Expr::Name(n) if matches!(n.id.as_str(), "enumerate" | "zip" | "reversed")) => {
            call.arguments.args.iter().any(iterates_own_layers)
        }
        Expr::Attribute(attr) => matches!(attr.value.as_ref(), Expr::Name(base) if base.id.as_str() == "self"),
        Expr::Subscript(subscript) => iterates_own_layers(&subscript.value),
        _ => false,
    }
}

/// A Python number (`0`, `-1.0`, `float("nan")`, `True`): written through a
/// mask (`t[mask] = 0`), torch fills in place (`masked_fill_`) without syncing.
fn is_python_number(value: &Expr) -> bool {
    match value {
        Expr::NumberLiteral(_) | Expr::BooleanLiteral(_) => true,
        Expr::UnaryOp(unary) => {
            matches!(unary.op, ast::UnaryOp::USub | ast::UnaryOp::UAdd) && is_python_number(&unary.operand)
        }
        Expr::Call(call) => {
            matches!(call.func.as_ref(), Expr::Name(n) if matches!(n.id.as_str(), "float" | "int"))
                && call
                    .arguments
                    .args
                    .iter()
                    .all(|a| matches!(a, Expr::StringLiteral(_) | Expr::NumberLiteral(_)))
        }
        _ => false,
    }
}

/// Whether a statement leaves its block for good (`return`, `raise`, `continue`, `break`).
fn exits(stmt: &Stmt) -> bool {
    matches!(
        stmt,
        Stmt::Return(_) | Stmt::Raise(_) | Stmt::Continue(_) | Stmt::Break(_)
    )
}

/// Each assigned name after an `if`: as the branches that fall through left it,
/// a tensor if any made it one, else a value still to resolve (an origin), else
/// what a branch knew. With no branch falling through, the names as they were.
fn merge_branches(before: Vec<Option<Ty>>, ends: Vec<Vec<Option<Ty>>>) -> Vec<Option<Ty>> {
    let mut ends = ends.into_iter();
    let Some(mut merged) = ends.next() else {
        return before;
    };
    for end in ends {
        for (current, ty) in merged.iter_mut().zip(end) {
            *current = match (current.take(), ty) {
                (Some(a), Some(b)) => Some(merge_types(a, b)),
                (a, b) => a.or(b),
            };
        }
    }
    merged
}

/// The names a block binds, at any depth outside nested definitions (assignment,
/// loop and `with` targets, walrus), each once, in order of appearance.
fn assigned_names<'a>(bodies: impl Iterator<Item = &'a [Stmt]>) -> Vec<String> {
    struct Collector {
        names: Vec<String>,
    }
    impl Collector {
        fn target(&mut self, target: &Expr) {
            match target {
                Expr::Name(name) if !self.names.iter().any(|n| n == name.id.as_str()) => {
                    self.names.push(name.id.to_string());
                }
                Expr::Tuple(tuple) => tuple.elts.iter().for_each(|e| self.target(e)),
                Expr::List(list) => list.elts.iter().for_each(|e| self.target(e)),
                Expr::Starred(starred) => self.target(&starred.value),
                _ => {
                    if let Some(member) = self_attribute(target) {
                        let key = self_key(member);
                        if !self.names.contains(&key) {
                            self.names.push(key);
                        }
                    }
                }
            }
        }
    }
    impl<'a> Visitor<'a> for Collector {
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            match stmt {
                Stmt::FunctionDef(_) | Stmt::ClassDef(_) => return,
                Stmt::Assign(assign) => assign.targets.iter().for_each(|t| self.target(t)),
                Stmt::AnnAssign(assign) => self.target(&assign.target),
                Stmt::AugAssign(assign) => self.target(&assign.target),
                Stmt::For(for_stmt) => self.target(&for_stmt.target),
                Stmt::With(with) => with
                    .items
                    .iter()
                    .filter_map(|item| item.optional_vars.as_deref())
                    .for_each(|v| self.target(v)),
                _ => {}
            }
            visitor::walk_stmt(self, stmt);
        }
        fn visit_expr(&mut self, expr: &'a Expr) {
            if let Expr::Named(named) = expr {
                self.target(&named.target);
            }
            visitor::walk_expr(self, expr);
        }
    }
    let mut collector = Collector { names: Vec::new() };
    for body in bodies {
        for stmt in body {
            collector.visit_stmt(stmt);
        }
    }
    collector.names
}

fn merge_types(a: Ty, b: Ty) -> Ty {
    match (&a, &b) {
        _ if a == b => a,
        (Ty::Tensor { .. }, _) => a,
        (_, Ty::Tensor { .. }) => b,
        // `m = Wrapper(model) if nms else model`: a module either way, most likely.
        (Ty::Module, _) => a,
        (_, Ty::Module) => b,
        (Ty::Unknown(Some(_)), _) => a,
        (_, Ty::Unknown(Some(_))) => b,
        (Ty::Unknown(None), _) => b,
        _ => a,
    }
}
