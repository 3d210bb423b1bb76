//! Targeted severity tests: small inline Python projects written to a temporary
//! directory, so each context is isolated, checking the severity and the reason
//! the auditor gives for it. Plus precision tests: host-only code that must
//! not be reported, and chains reported once.

use crate::common;

use crate::common::{audit_sources, dump, expect};

use d2h_reports::Report;
use d2h_rules::{Confidence, RuleId, Severity};

fn audit_source(source: &str) -> Report {
    audit_sources(&[("model.py", source)])
}

#[track_caller]
fn assert_no_findings(report: &Report) {
    assert!(
        report.findings.is_empty(),
        "expected no findings, got:\n{}",
        dump(report)
    );
}

// ---------------------------------------------------------------- low: guards

#[test]
fn guarded_by_a_detailed_logging_flag_is_low() {
    let report = audit_source(
        r#"import torch


class Orchestrator:
    def __init__(self):
        self.enable_detailed_logging = False

    def process_frame(self, frame: torch.Tensor):
        scores = frame.sigmoid()
        if self.enable_detailed_logging:
            self.debug_scores = scores.detach().cpu()
        return scores
"#,
    );
    expect(
        &report,
        "scores.detach().cpu()",
        Severity::Low,
        "guarded by `self.enable_detailed_logging`",
    );
}

#[test]
fn guarded_by_logger_is_enabled_for_is_low() {
    let report = audit_source(
        r#"import logging

import torch

logger = logging.getLogger(__name__)


def forward(x: torch.Tensor):
    if logger.isEnabledFor(logging.DEBUG):
        snapshot = x.cpu()
        logger.debug("shape %s", tuple(snapshot.shape))
    return x * 2
"#,
    );
    expect(
        &report,
        "x.cpu()",
        Severity::Low,
        "guarded by `logger.isEnabledFor(logging.DEBUG)`",
    );
}

#[test]
fn early_exit_guard_makes_the_rest_of_the_function_low() {
    let report = audit_source(
        r#"import torch


class Net:
    def __init__(self):
        self.debug = False

    def forward(self, x: torch.Tensor):
        peak = x.amax().item()
        if not self.debug:
            return x / peak
        print("values", x.tolist())
        return x
"#,
    );
    expect(&report, "x.amax().item()", Severity::Critical, "hot root");
    expect(&report, "x.tolist()", Severity::Low, "guarded by `self.debug`");
}

// ------------------------------------------------------------ low: cold places

#[test]
fn except_handler_is_low() {
    let report = audit_source(
        r#"import torch


def forward(x: torch.Tensor):
    try:
        y = x.softmax(-1)
    except RuntimeError:
        print("failed on", x.tolist())
        raise
    return y
"#,
    );
    expect(&report, "x.tolist()", Severity::Low, "in an `except` handler");
}

#[test]
fn main_block_is_low() {
    let report = audit_source(
        r#"import torch


if __name__ == "__main__":
    sample = torch.randn(3, device="cuda")
    host = sample.cpu()
"#,
    );
    expect(&report, "sample.cpu()", Severity::Low, "under `if __name__");
}

#[test]
fn module_level_is_low() {
    let report = audit_source(
        r#"import torch

ANCHORS = torch.zeros(4, device="cuda")
ANCHOR_LIST = ANCHORS.tolist()
"#,
    );
    expect(&report, "ANCHORS.tolist()", Severity::Low, "at module level");
}

#[test]
fn test_files_are_low_even_for_hot_root_names() {
    let report = audit_sources(&[(
        "test_model.py",
        r#"import torch


def forward(x: torch.Tensor):
    return x.cpu()


def make_batch():
    batch = torch.randn(2, device="cuda")
    return batch.tolist()
"#,
    )]);
    expect(&report, "x.cpu()", Severity::Low, "in test code");
    expect(&report, "batch.tolist()", Severity::Low, "in test code");
}

#[test]
fn formatting_dunders_are_low() {
    let report = audit_source(
        r#"import torch


class Box:
    def __init__(self):
        self.xyxy = torch.zeros(4, device="cuda")

    def __repr__(self):
        return "Box(%s)" % self.xyxy.tolist()
"#,
    );
    let finding = expect(&report, "self.xyxy.tolist()", Severity::Low, "`Box.__repr__`");
    assert!(finding.reason.contains("__repr__` (formatting)"), "{}", finding.reason);
}

#[test]
fn load_and_setup_functions_are_low_saving_is_not() {
    let report = audit_source(
        r#"import torch


class Net:
    def __init__(self):
        self.w = torch.ones(3, device="cuda")
        self.initial = self.w.tolist()

    def load_weights(self, path: str):
        state = torch.load(path)
        print("norm", self.w.norm().item())

    def setup_buffers(self):
        self.peak = self.w.max().item()


def save_predictions(preds: torch.Tensor, path: str):
    torch.save(preds.cpu(), path)
"#,
    );
    expect(&report, "self.w.tolist()", Severity::Low, "in `Net.__init__` (setup)");
    expect(&report, "self.w.norm().item()", Severity::Low, "(load/save)");
    expect(
        &report,
        "self.w.max().item()",
        Severity::Low,
        "in `Net.setup_buffers` (setup)",
    );
    // Saving runs as often as its caller (checkpoints per epoch, results per image).
    expect(
        &report,
        "preds.cpu()",
        Severity::Medium,
        "in `save_predictions`, not reached from a hot root",
    );
}

// ------------------------------------------------------------ critical: hot roots

#[test]
fn hot_root_names_are_critical() {
    let methods = [
        "forward",
        "__call__",
        "process_frame",
        "step",
        "training_step",
        "validation_step",
        "update",
    ];
    for name in methods {
        let source = format!(
            "import torch\n\n\nclass Module:\n    def {name}(self, x: torch.Tensor):\n        return x.cpu()\n"
        );
        let report = audit_source(&source);
        let finding = expect(
            &report,
            "x.cpu()",
            Severity::Critical,
            &format!("hot root: named `{name}`"),
        );
        assert_eq!(finding.symbol, format!("Module.{name}"));
    }
    for (name, prefix) in [
        ("predict_masks", "predict"),
        ("infer_batch", "infer"),
        ("postprocess_boxes", "postprocess"),
        ("_postprocess_logits", "postprocess"),
    ] {
        let source = format!("import torch\n\n\ndef {name}(x: torch.Tensor):\n    return x.tolist()\n");
        let report = audit_source(&source);
        expect(
            &report,
            "x.tolist()",
            Severity::Critical,
            &format!("hot root: named `{prefix}*`"),
        );
    }
}

#[test]
fn hot_root_decorators_are_critical() {
    for (decorator, shown) in [
        ("@torch.no_grad()", "torch.no_grad"),
        ("@torch.inference_mode()", "torch.inference_mode"),
        ("@torch.compile", "torch.compile"),
    ] {
        let source =
            format!("import torch\n\n\n{decorator}\ndef run_batch(x: torch.Tensor):\n    return x.norm().item()\n");
        let report = audit_source(&source);
        expect(
            &report,
            "x.norm().item()",
            Severity::Critical,
            &format!("decorated `@{shown}`"),
        );
    }
}

#[test]
fn hot_root_decorators_through_aliases_and_imports_are_critical() {
    let report = audit_source(
        r#"import torch as th
from torch import inference_mode, no_grad


@th.no_grad()
def run_a(x: th.Tensor):
    return x.cpu()


@no_grad()
def run_b(x: th.Tensor):
    return x.tolist()


@inference_mode()
def run_c(x: th.Tensor):
    return x.numpy()
"#,
    );
    expect(&report, "x.cpu()", Severity::Critical, "decorated `@torch.no_grad`");
    expect(&report, "x.tolist()", Severity::Critical, "decorated `@torch.no_grad`");
    expect(
        &report,
        "x.numpy()",
        Severity::Critical,
        "decorated `@torch.inference_mode`",
    );
}

#[test]
fn the_non_debug_branch_of_a_guard_stays_critical() {
    let report = audit_source(
        r#"import torch


class Net:
    def __init__(self):
        self.debug = False

    def forward(self, x: torch.Tensor):
        if self.debug:
            print("debugging")
        else:
            a = x.cpu()
        if not self.debug:
            b = x.tolist()
        return x

    def step(self, x: torch.Tensor):
        if not self.debug:
            raise ValueError("debug only")
        return x.mean().item()
"#,
    );
    expect(&report, "x.cpu()", Severity::Critical, "hot root: named `forward`");
    expect(&report, "x.tolist()", Severity::Critical, "hot root: named `forward`");
    expect(&report, "x.mean().item()", Severity::Low, "guarded by `self.debug`");
}

#[test]
fn loop_body_calling_a_model_is_critical() {
    let report = audit_source(
        r#"import torch


def run_video(model, frames):
    outputs = []
    for frame in frames:
        out = model(frame)
        outputs.append(out.cpu())
    return outputs
"#,
    );
    expect(&report, "out.cpu()", Severity::Critical, "frame loop");
}

#[test]
fn hotness_crosses_files_through_imports() {
    let report = audit_sources(&[
        (
            "orchestrator.py",
            r#"import torch

from dfine_infer import run_dfine_detection


class Orchestrator:
    def __init__(self, model):
        self.model = model

    def process_frame(self, frame: torch.Tensor):
        return run_dfine_detection(self.model, frame)
"#,
        ),
        (
            "dfine_infer.py",
            r#"import torch


def decode_boxes(out: torch.Tensor):
    return out.detach().cpu().numpy()


def run_dfine_detection(model, frame: torch.Tensor):
    out = model(frame)
    return decode_boxes(out)
"#,
        ),
    ]);
    let finding = expect(
        &report,
        "out.detach().cpu().numpy()",
        Severity::Critical,
        "reached from `Orchestrator.process_frame` → `run_dfine_detection`",
    );
    assert_eq!(finding.file, "dfine_infer.py");
    assert_eq!(finding.symbol, "decode_boxes");
    assert!(finding.reason.contains("in `decode_boxes`"), "{}", finding.reason);
}

#[test]
fn unannotated_helper_in_another_file_is_critical_when_the_caller_is_hot() {
    let report = audit_sources(&[
        (
            "model.py",
            r#"import torch

import helpers


class Net:
    def forward(self, x: torch.Tensor):
        total = x.sum(dim=0)
        return helpers.to_scalar(total)
"#,
        ),
        ("helpers.py", "def to_scalar(t):\n    return t.item()\n"),
    ]);
    let finding = expect(&report, "t.item()", Severity::Critical, "reached from `Net.forward`");
    assert_eq!(finding.file, "helpers.py");
    assert_eq!(finding.rule, RuleId::ScalarRead);
    assert_eq!(report.findings.len(), 1, "{}", dump(&report));
}

// ------------------------------------------------------------------ medium

#[test]
fn plain_unreached_function_is_medium() {
    let report = audit_source(
        r#"import torch


def compute_stats(t: torch.Tensor):
    return {"mean": t.mean().item()}
"#,
    );
    expect(
        &report,
        "t.mean().item()",
        Severity::Medium,
        "not reached from a hot root",
    );
}

#[test]
fn loop_without_a_model_call_is_medium() {
    let report = audit_source(
        r#"import torch


def gather(values: torch.Tensor):
    out = []
    for i in range(values.shape[0]):
        out.append(values[i].item())
    return out
"#,
    );
    expect(
        &report,
        "values[i].item()",
        Severity::Medium,
        "in `gather`, not reached from a hot root",
    );
}

// --------------------------------------------------------------- precision

#[test]
fn host_only_code_is_not_reported() {
    let report = audit_source(
        r#"import numpy as np
import torch


def forward(x: torch.Tensor, d: dict, boxes: list):
    for key, value in d.items():
        print(key, value)
    arr = np.zeros(3)
    total = arr.sum().item()
    first = np.float32(1.5).item()
    host = np.asarray(boxes)
    copy = np.array([1, 2, 3])
    z = torch.zeros(3).item()
    ones = torch.ones(2, 2).tolist()
    return x * total * z
"#,
    );
    assert_no_findings(&report);
}

#[test]
fn a_copy_chain_is_one_finding_with_the_whole_chain_as_code() {
    let report = audit_source(
        r#"import torch


def forward(x: torch.Tensor):
    return x.detach().cpu().numpy()
"#,
    );
    assert_eq!(report.findings.len(), 1, "{}", dump(&report));
    let finding = &report.findings[0];
    assert_eq!(finding.code, "x.detach().cpu().numpy()");
    assert_eq!(finding.rule, RuleId::ExplicitCopy);
    assert_eq!(finding.severity, Severity::Critical);
    assert_eq!((finding.line, finding.column), (5, 12));
}

#[test]
fn helper_called_only_with_host_values_keeps_its_context_and_is_possible() {
    // The caller passes a NumPy scalar: `.item()` in the helper is not known to
    // be a tensor read. Principle 1: doubt is the confidence (`possible`),
    // never a lower severity; the helper is reached from `forward`, a hot root.
    let report = audit_sources(&[
        (
            "model.py",
            r#"import numpy as np

import helpers


def forward(x):
    return helpers.to_scalar(np.zeros(3).sum())
"#,
        ),
        ("helpers.py", "def to_scalar(t):\n    return t.item()\n"),
    ]);
    assert_eq!(report.findings.len(), 1, "{}", dump(&report));
    let finding = &report.findings[0];
    assert_eq!(finding.severity, Severity::Critical, "{}", dump(&report));
    assert_eq!(finding.confidence, Confidence::Possible, "{}", dump(&report));
    assert!(finding.reason.contains("reached from `forward`"), "{}", dump(&report));
    assert!(finding.reason.contains("type is not known"), "{}", dump(&report));
}

#[test]
fn an_unknown_receiver_on_the_hot_path_is_critical_and_possible() {
    let report = audit_source(
        r#"def forward(x):
    return x.item()
"#,
    );
    assert_eq!(report.findings.len(), 1, "{}", dump(&report));
    let finding = &report.findings[0];
    assert_eq!(finding.severity, Severity::Critical, "{}", dump(&report));
    assert_eq!(finding.confidence, Confidence::Possible, "{}", dump(&report));
}

#[test]
fn a_parameter_whose_callers_pass_tensors_is_likely() {
    let report = audit_sources(&[
        (
            "model.py",
            r#"import torch

import helpers


def forward(x: torch.Tensor):
    return helpers.to_scalar(x.sum())
"#,
        ),
        ("helpers.py", "def to_scalar(t):\n    return t.item()\n"),
    ]);
    assert_eq!(report.findings.len(), 1, "{}", dump(&report));
    let finding = &report.findings[0];
    assert_eq!(finding.confidence, Confidence::Likely, "{}", dump(&report));
    assert_eq!(finding.severity, Severity::Critical, "{}", dump(&report));
}

#[test]
fn a_tensor_proven_in_its_function_is_certain() {
    let report = audit_source(
        r#"import torch


def forward(x: torch.Tensor):
    return x.item()
"#,
    );
    assert_eq!(report.findings.len(), 1, "{}", dump(&report));
    assert_eq!(report.findings[0].confidence, Confidence::Certain, "{}", dump(&report));
}

#[test]
fn host_tensors_are_not_reported_again_after_a_copy() {
    let report = audit_source(
        r#"import torch


def forward(x: torch.Tensor):
    host = x.cpu()
    a = host.numpy()
    b = host.tolist()
    c = float(host.sum())
    d = torch.tensor([1, 2]).tolist()
    e = torch.zeros(3, device="cpu").item()
    return a, b, c, d, e
"#,
    );
    assert_eq!(report.findings.len(), 1, "{}", dump(&report));
    expect(&report, "x.cpu()", Severity::Critical, "hot root");
}

// ------------------------------------------- low: called only from cold code

/// A helper whose every caller (outside tests) is setup, a guard or an error
/// path runs only there: it is low, and says which caller made it so. One
/// caller in per-call code keeps it medium; callers in tests do not count
/// (a library function only its tests call stays per-call code).
#[test]
fn helpers_called_only_from_cold_code_are_low() {
    let report = audit_sources(&[
        (
            "model.py",
            r#"import torch


class Model:
    def __init__(self):
        self.table = build_table()

    def teardown(self, t: torch.Tensor):
        return t.max().item()

    def report(self, t: torch.Tensor, debug: bool):
        if debug:
            debug_dump(t)
        return shared(t)


def build_table():
    return table_rows(torch.ones(3, device="cuda"))


def table_rows(t: torch.Tensor):
    return t.tolist()


def shared(t: torch.Tensor):
    return t.numpy()


def setup_shared(t: torch.Tensor):
    return shared(t)


def debug_dump(t: torch.Tensor):
    return t.cpu()


def only_tested(t: torch.Tensor):
    return t.sum().item()
"#,
        ),
        (
            "tests/test_model.py",
            "import torch\nfrom model import only_tested\n\n\ndef test_it():\n    only_tested(torch.ones(2))\n",
        ),
    ]);
    expect(
        &report,
        "t.tolist()",
        Severity::Low,
        "in `table_rows`, called only from cold code (e.g. `build_table`)",
    );
    expect(
        &report,
        "t.cpu()",
        Severity::Low,
        "called only from cold code (e.g. guarded by `debug`)",
    );
    expect(&report, "t.numpy()", Severity::Medium, "not reached from a hot root");
    expect(&report, "t.max().item()", Severity::Low, "`Model.teardown` (teardown)");
    expect(
        &report,
        "t.sum().item()",
        Severity::Medium,
        "not reached from a hot root",
    );
}

/// `transfer-functions` also names methods: each call of one is a site of its
/// configured rule at the caller, judged by the caller's context.
#[test]
fn configured_transfer_methods_are_sites_where_they_are_called() {
    let dir = tempfile::Builder::new().prefix("d2h-test").tempdir().unwrap();
    common::write_tree(
        dir.path(),
        &[(
            "model.py",
            r#"import torch


class Gate:
    def fetch(self, t):
        return t.cpu()


class Model:
    def __init__(self):
        self.gate = Gate()

    def forward(self, x: torch.Tensor):
        y = x * 2
        self.gate.fetch(y)
        return y
"#,
        )],
    );
    let policy = d2h_auditor::Policy {
        transfer_functions: vec![d2h_auditor::policy::TransferFunction::new(
            "Gate.fetch",
            RuleId::ExplicitCopy,
        )],
        ..d2h_auditor::Policy::default()
    };
    let options = d2h_auditor::AuditOptions {
        policy,
        ..d2h_auditor::AuditOptions::default()
    };
    let report = d2h_auditor::audit(&[dir.path().to_path_buf()], &options)
        .unwrap()
        .report;
    let call = expect(&report, "self.gate.fetch(y)", Severity::Critical, "calls `Gate.fetch`");
    assert_eq!(call.rule, RuleId::ExplicitCopy);
}
