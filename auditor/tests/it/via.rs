//! Where the stall enters the loop: a site made critical by a hot chain keeps
//! its place (the transfer's line) and says, in `via`, which call of a frame
//! loop or a hot root leads down to it. One finding per transfer: the call
//! itself is no second finding.

use crate::common::{audit_sources, dump, expect};

use d2h_reports::Via;
use d2h_rules::Severity;

/// The line (1-based) of the first line of `source` that contains `needle`,
/// and the column (1-based, in characters) where it starts.
fn position(source: &str, needle: &str) -> (u32, u32) {
    let (index, line) = source
        .lines()
        .enumerate()
        .find(|(_, line)| line.contains(needle))
        .unwrap_or_else(|| panic!("`{needle}` is not in the source"));
    let column = line[..line.find(needle).unwrap()].chars().count() + 1;
    (index as u32 + 1, column as u32)
}

const LOOP: &str = r#"import torch

from helpers import decode_boxes


def run_video(model, frames):
    results = []
    for frame in frames:
        out = model(frame)
        results.append(decode_boxes(out))
    return results
"#;

const HELPERS: &str = r#"import torch

from boxes import to_host


def decode_boxes(out: torch.Tensor):
    scores = out.sigmoid()
    return to_host(scores)
"#;

const BOXES: &str = r#"import torch


def to_host(t: torch.Tensor):
    return t.cpu()
"#;

#[test]
fn a_frame_loop_call_two_files_up_is_the_via_of_the_transfer() {
    let report = audit_sources(&[("app/loop.py", LOOP), ("helpers.py", HELPERS), ("boxes.py", BOXES)]);
    let finding = expect(
        &report,
        "t.cpu()",
        Severity::Critical,
        "reached from the frame loop in `run_video` → `decode_boxes`",
    );
    assert_eq!((finding.file.as_str(), finding.line), ("boxes.py", 5));
    let (line, column) = position(LOOP, "decode_boxes(out)");
    assert_eq!(
        finding.via,
        Some(Via {
            file: "app/loop.py".to_string(),
            line,
            column,
            calls: "decode_boxes".to_string(),
        })
    );
    // The transfer is counted once: the loop's call is no finding of its own.
    let in_loop: Vec<_> = report.findings.iter().filter(|f| f.file == "app/loop.py").collect();
    assert!(in_loop.is_empty(), "{}", dump(&report));
    assert_eq!(report.summary.critical, 1, "{}", dump(&report));
}

#[test]
fn a_hot_root_s_call_is_the_via_of_what_it_reaches() {
    let model = r#"import torch

from helpers import helper


class Net:
    def forward(self, x: torch.Tensor):
        return helper(x)
"#;
    let helpers = r#"import torch


def helper(x: torch.Tensor):
    return finish(x)


def finish(x: torch.Tensor):
    return x.cpu()
"#;
    let report = audit_sources(&[("model.py", model), ("helpers.py", helpers)]);
    let finding = expect(
        &report,
        "x.cpu()",
        Severity::Critical,
        "reached from `Net.forward` → `helper`",
    );
    let (line, column) = position(model, "helper(x)");
    assert_eq!(
        finding.via,
        Some(Via {
            file: "model.py".to_string(),
            line,
            column,
            calls: "helper".to_string(),
        })
    );
}

#[test]
fn a_site_with_no_chain_to_it_has_no_via() {
    let report = audit_sources(&[(
        "run.py",
        r#"import torch


class Net:
    def forward(self, x: torch.Tensor):
        return x.sum().item()


def run_video(model, frames):
    results = []
    for frame in frames:
        out = model(frame)
        results.append(out.cpu())
    return results


def export(t: torch.Tensor):
    return t.numpy()


def debug_dump(t: torch.Tensor, debug: bool):
    if debug:
        return t.tolist()
"#,
    )]);
    // In the loop body itself, in a hot root's own body, per-call code, a guard.
    for code in ["out.cpu()", "x.sum().item()", "t.numpy()", "t.tolist()"] {
        let found = report.findings.iter().find(|f| f.code == code);
        let finding = found.unwrap_or_else(|| panic!("no `{code}` in:\n{}", dump(&report)));
        assert_eq!(finding.via, None, "`{code}`: {}", finding.reason);
    }
    expect(&report, "out.cpu()", Severity::Critical, "frame loop");
    expect(&report, "x.sum().item()", Severity::Critical, "hot root");
}
