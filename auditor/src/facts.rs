//! The fact recorder both front ends write through: the file's [`Facts`]
//! being built (functions, sites, calls), the local [`Context`] of the code at
//! hand, and the one way to record a site or a call. A front end decides what
//! a value is ([`Ty`]) and where a construct stands ([`Loc`]); the rules
//! ([`crate::rules`]) decide whether it is a site and record it here.
//!
//! Also here: the error a front end returns when a file cannot be analysed,
//! and the nesting limit both front ends stop at.

use std::sync::Arc;

use d2h_rules::RuleId;
use ruff_text_size::TextRange;

use crate::model::{
    ArgSlot, CallSite, CallTarget, Certainty, ClassFacts, Context, FunctionFacts, Origin, Site, Span, Ty,
};
use crate::policy::Policy;
use crate::source::{one_line, LineIndex};

/// Expressions nested deeper than this are not analysed (Python's own parser stops far earlier).
pub const MAX_EXPR_DEPTH: usize = 500;

/// Why a file could not be analysed, with the 1-based position of the problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalysisError {
    pub line: u32,
    pub column: u32,
    pub kind: ErrorKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The parser rejected the file.
    Syntax,
    /// Nesting too deep to analyse safely; Python itself rejects such files.
    TooDeep,
}

impl std::fmt::Display for AnalysisError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind {
            ErrorKind::Syntax => write!(f, "syntax error at {}:{}: {}", self.line, self.column, self.message),
            ErrorKind::TooDeep => write!(f, "not audited: {} at {}:{}", self.message, self.line, self.column),
        }
    }
}

impl std::error::Error for AnalysisError {}

/// What a front end produces for a file.
#[derive(Debug, Default)]
pub struct Facts {
    /// Where an expression nested deeper than [`MAX_EXPR_DEPTH`] was met, if anywhere.
    pub too_deep_at: Option<usize>,
    pub functions: Vec<FunctionFacts>,
    pub classes: Vec<ClassFacts>,
    pub sites: Vec<Site>,
    pub calls: Vec<CallSite>,
}

/// A position range in the file: start and end (1-based line, 1-based character column) and bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loc {
    pub span: Span,
    pub bytes: (usize, usize),
}

impl Loc {
    /// From `self`'s start to the later of both ends.
    pub fn to(self, end: Loc) -> Loc {
        if end.bytes.1 <= self.bytes.1 {
            return self;
        }
        Loc {
            span: Span {
                end_line: end.span.end_line,
                end_column: end.span.end_column,
                ..self.span
            },
            bytes: (self.bytes.0, end.bytes.1),
        }
    }
}

/// A value a site is about, as the front end typed it: a site is reported
/// when it is a tensor, and waits for the project pass when its origin may be one.
pub trait Receiver {
    fn ty(&self) -> &Ty;

    /// Where an unknown value came from, when the project pass may find it is a tensor.
    fn pending_origin(&self) -> Option<&Origin> {
        match self.ty() {
            Ty::Unknown(Some(origin)) => Some(origin),
            _ => None,
        }
    }
}

impl Receiver for Ty {
    fn ty(&self) -> &Ty {
        self
    }
}

/// Records a file's facts: sites and calls, each with the context at hand.
pub struct Recorder<'a> {
    text: &'a str,
    index: &'a LineIndex,
    policy: &'a Policy,
    pub facts: Facts,
    /// Where the code at hand stands (function, guard, error path, loop).
    pub context: Context,
    last_context: Arc<Context>,
    /// When false (a front end's pre-pass), nothing is recorded.
    pub recording: bool,
}

impl Recorder<'_> {
    /// Records a class and the names of its bases (nothing during pre-passes).
    pub fn record_class(&mut self, name: String, bases: Vec<String>) {
        if self.recording {
            self.facts.classes.push(ClassFacts { name, bases });
        }
    }
}

impl<'a> Recorder<'a> {
    pub fn new(text: &'a str, index: &'a LineIndex, policy: &'a Policy, context: Context) -> Recorder<'a> {
        Recorder {
            text,
            index,
            policy,
            facts: Facts::default(),
            last_context: Arc::new(context.clone()),
            context,
            recording: true,
        }
    }

    pub fn text(&self) -> &'a str {
        self.text
    }

    /// The names that decide contexts, and the configured transfer functions.
    pub fn policy(&self) -> &'a Policy {
        self.policy
    }

    /// A location from byte offsets of the file.
    pub fn loc_of_bytes(&self, start: usize, end: usize) -> Loc {
        let (line, column) = self.index.position(self.text, start);
        let (end_line, end_column) = self.index.position(self.text, end);
        Loc {
            span: Span {
                line,
                column,
                end_line,
                end_column,
            },
            bytes: (start, end),
        }
    }

    /// A location from a parser's text range.
    pub fn loc(&self, range: TextRange) -> Loc {
        self.loc_of_bytes(range.start().to_usize(), range.end().to_usize())
    }

    /// The code at `loc`, on one line.
    pub fn code(&self, loc: Loc) -> String {
        self.text
            .get(loc.bytes.0..loc.bytes.1)
            .map(one_line)
            .unwrap_or_default()
    }

    /// Records a site at `loc`.
    pub fn site(&mut self, rule: RuleId, loc: Loc, certainty: Certainty, note: Option<String>) {
        self.push_site(rule, loc, certainty, note, false);
    }

    /// Records a site that moves a module's parameters, not a tensor (low at most).
    pub fn module_site(&mut self, rule: RuleId, loc: Loc, note: &str) {
        self.push_site(rule, loc, Certainty::Known, Some(note.to_string()), true);
    }

    fn push_site(&mut self, rule: RuleId, loc: Loc, certainty: Certainty, note: Option<String>, moves_module: bool) {
        if !self.recording {
            return;
        }
        let context = self.shared_context();
        self.facts.sites.push(Site {
            rule,
            span: loc.span,
            code: self.code(loc),
            context,
            certainty,
            note,
            moves_module,
        });
    }

    /// Records a site whose receiver is `receiver`: known tensors are reported,
    /// unknown values with an origin wait for the project pass, the rest is dropped.
    pub fn site_if_tensor(&mut self, rule: RuleId, loc: Loc, receiver: &impl Receiver, note: Option<String>) {
        if receiver.ty().is_tensor() {
            self.site(rule, loc, Certainty::Known, note);
        } else if let Some(origin) = receiver.pending_origin() {
            let certainty = Certainty::Pending {
                origin: origin.clone(),
                fallback: None,
            };
            self.site(rule, loc, certainty, note);
        }
    }

    /// Records a site whose API exists on tensors and on host types alike
    /// (`.item()`, `.tolist()`): unknown receivers are reported with a
    /// `possible` confidence, saying so (their severity is their context's).
    pub fn site_ambiguous(&mut self, rule: RuleId, loc: Loc, ty: &Ty, api: &str) {
        let note = format!("the receiver's type is not known (`{api}` also exists on numpy arrays)");
        match ty {
            Ty::Tensor { .. } => self.site(rule, loc, Certainty::Known, None),
            Ty::Unknown(Some(origin)) => self.site(
                rule,
                loc,
                Certainty::Pending {
                    origin: origin.clone(),
                    fallback: Some(note),
                },
                None,
            ),
            Ty::Unknown(None) => self.site(rule, loc, Certainty::Uncertain(note), None),
            _ => {}
        }
    }

    /// Records a call that may reach a project function, with the arguments
    /// that may be tensors (the others cannot resolve a parameter).
    pub fn record_call(&mut self, target: CallTarget, loc: Loc, args: impl IntoIterator<Item = (ArgSlot, Ty)>) {
        if !self.recording {
            return;
        }
        let context = self.shared_context();
        self.facts.calls.push(CallSite {
            target,
            span: loc.span,
            range: (to_u32(loc.bytes.0), to_u32(loc.bytes.1)),
            context,
            args: args
                .into_iter()
                .filter(|(_, ty)| ty.is_tensor() || matches!(ty, Ty::Unknown(Some(_))))
                .collect(),
        });
    }

    /// Records that an expression nested deeper than [`MAX_EXPR_DEPTH`] starts at `offset`.
    pub fn too_deep(&mut self, offset: usize) {
        self.facts.too_deep_at.get_or_insert(offset);
    }

    /// The current context, shared with the previous record when it has not changed.
    fn shared_context(&mut self) -> Arc<Context> {
        if *self.last_context != self.context {
            self.last_context = Arc::new(self.context.clone());
        }
        Arc::clone(&self.last_context)
    }
}

pub fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::CallTarget;
    use crate::rust::Val;

    fn pending() -> Ty {
        Ty::Unknown(Some(Origin::Return(CallTarget::Method { method: "m".into() })))
    }

    fn certainties(recorder: &Recorder) -> Vec<Certainty> {
        recorder.facts.sites.iter().map(|s| s.certainty.clone()).collect()
    }

    #[test]
    fn sites_by_what_the_receiver_is() {
        let text = "x = t.cpu()\n";
        let index = LineIndex::new(text);
        let policy = Policy::default();
        let mut recorder = Recorder::new(text, &index, &policy, Context::default());
        let loc = recorder.loc_of_bytes(4, 11);
        recorder.site_if_tensor(RuleId::ExplicitCopy, loc, &Ty::TENSOR, None);
        recorder.site_if_tensor(RuleId::ExplicitCopy, loc, &Ty::Host, None);
        recorder.site_if_tensor(RuleId::ExplicitCopy, loc, &pending(), None);
        recorder.site_ambiguous(RuleId::ScalarRead, loc, &Ty::UNKNOWN, ".item()");
        let found = certainties(&recorder);
        assert_eq!(found.len(), 3);
        assert_eq!(found[0], Certainty::Known);
        assert!(matches!(found[1], Certainty::Pending { fallback: None, .. }));
        assert!(matches!(found[2], Certainty::Uncertain(_)));
        assert_eq!(recorder.facts.sites[0].code, "t.cpu()");
        assert_eq!(
            (recorder.facts.sites[0].span.line, recorder.facts.sites[0].span.column),
            (1, 5)
        );
        // One context, one allocation.
        assert!(Arc::ptr_eq(
            &recorder.facts.sites[0].context,
            &recorder.facts.sites[2].context
        ));
    }

    #[test]
    fn a_project_value_is_not_pending_on_a_tensor() {
        let text = "g.fetch()";
        let index = LineIndex::new(text);
        let policy = Policy::default();
        let mut recorder = Recorder::new(text, &index, &policy, Context::default());
        let loc = recorder.loc_of_bytes(0, text.len());
        let library_value = Val::ty(pending());
        let project_value = Val {
            of: Some("Gate".into()),
            ..Val::ty(pending())
        };
        recorder.site_if_tensor(RuleId::ExplicitCopy, loc, &project_value, None);
        assert!(recorder.facts.sites.is_empty());
        recorder.site_if_tensor(RuleId::ExplicitCopy, loc, &library_value, None);
        assert_eq!(recorder.facts.sites.len(), 1);
    }

    #[test]
    fn a_pre_pass_records_nothing() {
        let text = "f(t)";
        let index = LineIndex::new(text);
        let policy = Policy::default();
        let mut recorder = Recorder::new(text, &index, &policy, Context::default());
        recorder.recording = false;
        let loc = recorder.loc_of_bytes(0, 4);
        recorder.site(RuleId::ExplicitSync, loc, Certainty::Known, None);
        let target = CallTarget::Method { method: "f".into() };
        recorder.record_call(target, loc, [(ArgSlot::Positional(0), Ty::TENSOR)]);
        assert!(recorder.facts.sites.is_empty() && recorder.facts.calls.is_empty());
    }
}
