//! Severity tests for the Rust front end: small inline crates written to a
//! temporary directory, one context each, checking the severity and the reason
//! given. Plus cross-module hotness, mixed Python + Rust trees, the language
//! filter, parse errors, and an audit of the workspace's own `pipeline/` crate.

use crate::common;

use crate::common::{audit_dir, audit_sources, dump, expect, write_tree};

use d2h_auditor::{audit, AuditOptions, Language};
use d2h_reports::{Finding, Report};
use d2h_rules::{RuleId, Severity};

fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("d2h-rust-severity").tempdir().unwrap()
}

fn audit_source(source: &str) -> Report {
    audit_sources(&[("src/model.rs", source)])
}

#[track_caller]
fn expect_none(report: &Report, needle: &str) {
    let found: Vec<&Finding> = report.findings.iter().filter(|f| f.code.contains(needle)).collect();
    assert!(
        found.is_empty(),
        "expected no finding containing `{needle}`, findings:\n{}",
        dump(report)
    );
}

const PRELUDE: &str = "use candle_core::{Device, Module, Tensor};\n";

fn with_prelude(body: &str) -> String {
    format!("{PRELUDE}{body}")
}

#[test]
fn hot_roots_by_name_are_critical() {
    let report = audit_source(&with_prelude(
        r#"
pub struct Model;

impl Model {
    pub fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let a = x.to_vec1::<f32>()?;
        Ok(x.clone())
    }
    pub fn process_frame(&mut self, frame: &Tensor) -> candle_core::Result<()> {
        let b = frame.to_vec2::<f32>()?;
        Ok(())
    }
    pub fn predict_masks(&self, x: &Tensor) -> f32 {
        x.to_scalar::<f32>().unwrap()
    }
    pub fn infer(&self, x: &Tensor) -> f32 {
        x.to_vec0::<f32>().unwrap()
    }
    pub fn postprocess_boxes(&self, x: &Tensor) {
        let c = x.to_vec3::<f32>();
    }
    pub fn step(&mut self, x: &Tensor) {
        let d = x.to_cpu_storage();
    }
}
"#,
    ));
    expect(
        &report,
        "x.to_vec1::<f32>()",
        Severity::Critical,
        "in `Model::forward` (hot root: named `forward`)",
    );
    expect(
        &report,
        "frame.to_vec2::<f32>()",
        Severity::Critical,
        "hot root: named `process_frame`",
    );
    expect(
        &report,
        "x.to_scalar::<f32>()",
        Severity::Critical,
        "hot root: named `predict*`",
    );
    expect(
        &report,
        "x.to_vec0::<f32>()",
        Severity::Critical,
        "hot root: named `infer*`",
    );
    expect(
        &report,
        "x.to_vec3::<f32>()",
        Severity::Critical,
        "hot root: named `postprocess*`",
    );
    expect(
        &report,
        "x.to_cpu_storage()",
        Severity::Critical,
        "hot root: named `step`",
    );
}

#[test]
fn impl_module_is_a_hot_root_and_its_loops_say_so() {
    let report = audit_source(&with_prelude(
        r#"
pub struct Block {
    layers: Vec<candle_nn::Linear>,
}

impl Module for Block {
    fn forward(&self, xs: &Tensor) -> candle_core::Result<Tensor> {
        let mut xs = xs.clone();
        for layer in &self.layers {
            xs = layer.forward(&xs)?;
            let norm = xs.sqr()?.sum_all()?.to_scalar::<f32>()?;
        }
        Ok(xs)
    }
}
"#,
    ));
    expect(
        &report,
        "xs.sqr()?.sum_all()?.to_scalar::<f32>()",
        Severity::Critical,
        "in a loop body in `Block::forward` (hot root: `impl Module for Block`)",
    );
}

#[test]
fn hotness_follows_calls_self_and_free_functions() {
    let report = audit_source(&with_prelude(
        r#"
pub struct Detector {
    scale: Tensor,
}

fn decode_boxes(raw: &Tensor) -> Vec<f32> {
    raw.to_vec1::<f32>().unwrap()
}

impl Detector {
    fn threshold(&self, scores: &Tensor) -> f32 {
        scores.max_all().unwrap().to_scalar::<f32>().unwrap()
    }

    fn helper(scores: &Tensor) -> Vec<f32> {
        scores.to_vec1::<f32>().unwrap()
    }

    pub fn forward(&self, x: &Tensor) -> Vec<f32> {
        let t = self.threshold(x);
        let h = Self::helper(x);
        decode_boxes(x)
    }

    pub fn report(&self) -> Vec<f32> {
        self.scale.to_vec1::<f32>().unwrap()
    }
}
"#,
    ));
    expect(
        &report,
        "raw.to_vec1::<f32>()",
        Severity::Critical,
        "in `decode_boxes`, reached from `Detector::forward`",
    );
    expect(
        &report,
        "scores.max_all().unwrap().to_scalar::<f32>()",
        Severity::Critical,
        "in `Detector::threshold`, reached from `Detector::forward`",
    );
    expect(
        &report,
        "scores.to_vec1::<f32>()",
        Severity::Critical,
        "in `Detector::helper`, reached from `Detector::forward`",
    );
    expect(
        &report,
        "self.scale.to_vec1::<f32>()",
        Severity::Medium,
        "in `Detector::report`, not reached from a hot root (per-call code)",
    );
}

#[test]
fn hotness_crosses_modules_through_crate_super_and_use_paths() {
    let report = audit_sources(&[
        ("app/src/lib.rs", "pub mod model;\npub mod post;\npub mod util;\n"),
        (
            "app/src/model.rs",
            r#"
use candle_core::Tensor;
use crate::util::summarize;

pub struct Net;

impl Net {
    pub fn forward(&self, x: &Tensor) -> Vec<f32> {
        let s = summarize(x);
        let p = crate::post::decode(x);
        super::post::nms(x)
    }
}
"#,
        ),
        (
            "app/src/post.rs",
            r#"
use candle_core::Tensor;

pub fn decode(x: &Tensor) -> Vec<f32> {
    x.to_vec1::<f32>().unwrap()
}

pub fn nms(x: &Tensor) -> Vec<f32> {
    x.flatten_all().unwrap().to_vec1::<f32>().unwrap()
}
"#,
        ),
        (
            "app/src/util.rs",
            r#"
use candle_core::Tensor;

pub fn summarize(t: &Tensor) -> f32 {
    t.sum_all().unwrap().to_scalar::<f32>().unwrap()
}
"#,
        ),
    ]);
    expect(
        &report,
        "x.to_vec1::<f32>()",
        Severity::Critical,
        "in `decode`, reached from `Net::forward`",
    );
    expect(
        &report,
        "x.flatten_all().unwrap().to_vec1::<f32>()",
        Severity::Critical,
        "in `nms`, reached from `Net::forward`",
    );
    expect(
        &report,
        "t.sum_all().unwrap().to_scalar::<f32>()",
        Severity::Critical,
        "in `summarize`, reached from `Net::forward`",
    );
}

#[test]
fn frame_loops_and_main() {
    let report = audit_source(&with_prelude(
        r#"
pub struct Model;
impl Model {
    pub fn forward(&self, x: &Tensor) -> Tensor { x.clone() }
}

fn read_frames() -> Vec<Tensor> { Vec::new() }

fn report_stats(t: &Tensor) -> f32 {
    t.to_scalar::<f32>().unwrap()
}

fn main() {
    let model = Model;
    let frames = read_frames();
    let warm = frames[0].to_vec1::<f32>().unwrap();
    for frame in &frames {
        let out = model.forward(frame);
        let scores = out.to_vec1::<f32>().unwrap();
        let s = report_stats(&out);
    }
    let last = frames[1].to_vec2::<f32>().unwrap();
}

fn offline(frames: &[Tensor]) {
    for frame in frames {
        let v = frame.to_vec3::<f32>().unwrap();
    }
}
"#,
    ));
    expect(
        &report,
        "frames[0].to_vec1::<f32>()",
        Severity::Low,
        "in `main` before its loop (setup)",
    );
    expect(
        &report,
        "out.to_vec1::<f32>()",
        Severity::Critical,
        "in the body of a loop in `main` that calls `model.forward` (frame loop)",
    );
    expect(
        &report,
        "t.to_scalar::<f32>()",
        Severity::Critical,
        "reached from the frame loop in `main`",
    );
    expect(
        &report,
        "frames[1].to_vec2::<f32>()",
        Severity::Low,
        "in `main` after its loop (teardown)",
    );
    expect(
        &report,
        "frame.to_vec3::<f32>()",
        Severity::Medium,
        "in `offline`, not reached from a hot root",
    );
}

#[test]
fn main_without_a_loop_is_setup() {
    let report = audit_source(&with_prelude(
        r#"
fn main() {
    let t = Tensor::zeros(3, candle_core::DType::F32, &Device::new_cuda(0).unwrap()).unwrap();
    let v = t.to_vec1::<f32>().unwrap();
}
"#,
    ));
    expect(
        &report,
        "t.to_vec1::<f32>()",
        Severity::Low,
        "in `main`, which has no loop (setup)",
    );
}

#[test]
fn test_code_is_low() {
    let report = audit_sources(&[
        (
            "src/lib.rs",
            &with_prelude(
                r#"
pub fn forward(x: &Tensor) -> Tensor { x.clone() }

#[cfg(test)]
mod tests {
    use super::*;

    fn helper(t: &Tensor) -> Vec<f32> {
        t.to_vec1::<f32>().unwrap()
    }

    #[test]
    fn forward_runs() {
        let t = Tensor::new(&[1f32], &Device::new_cuda(0).unwrap()).unwrap();
        let out = forward(&t).to_vec2::<f32>().unwrap();
    }
}

#[test]
fn standalone_test() {
    let t = Tensor::new(&[1f32], &Device::new_cuda(0).unwrap()).unwrap();
    let s = t.to_scalar::<f32>().unwrap();
}
"#,
            ),
        ),
        (
            "tests/integration.rs",
            "use candle_core::Tensor;\nfn check(t: &Tensor) { let v = t.to_vec3::<f32>(); }\n",
        ),
        (
            "benches/speed.rs",
            "use candle_core::Tensor;\nfn bench(t: &Tensor) { let v = t.to_vec0::<f32>(); }\n",
        ),
    ]);
    expect(&report, "t.to_vec1::<f32>()", Severity::Low, "in test code");
    expect(&report, "forward(&t).to_vec2::<f32>()", Severity::Low, "in test code");
    expect(
        &report,
        "t.to_scalar::<f32>()",
        Severity::Low,
        "in `standalone_test` (test code)",
    );
    expect(&report, "t.to_vec3::<f32>()", Severity::Low, "in test code");
    expect(&report, "t.to_vec0::<f32>()", Severity::Low, "in benchmark code");
}

#[test]
fn setup_load_and_formatting_impls_are_low() {
    let report = audit_source(&with_prelude(
        r#"
use std::fmt;

pub struct Model {
    weights: Tensor,
}

impl Model {
    pub fn new(device: &Device) -> Self {
        let weights = Tensor::zeros(4, candle_core::DType::F32, device).unwrap();
        let check = weights.to_vec1::<f32>().unwrap();
        Model { weights }
    }
    pub fn load_weights(&mut self) {
        let w = self.weights.to_vec2::<f32>().unwrap();
    }
    pub fn save(&self) {
        let w = self.weights.to_vec3::<f32>().unwrap();
    }
    pub fn from_pretrained(path: &str, w: &Tensor) {
        let s = w.to_scalar::<f32>().unwrap();
    }
}

impl fmt::Display for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Model({})", self.weights)
    }
}

impl fmt::Debug for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.weights.to_vec0::<f32>().unwrap();
        write!(f, "Model")
    }
}
"#,
    ));
    expect(
        &report,
        "weights.to_vec1::<f32>()",
        Severity::Low,
        "in `Model::new` (setup)",
    );
    expect(
        &report,
        "self.weights.to_vec2::<f32>()",
        Severity::Low,
        "in `Model::load_weights` (load/save)",
    );
    // Saving runs as often as its caller (checkpoints per epoch): not setup.
    expect(
        &report,
        "self.weights.to_vec3::<f32>()",
        Severity::Medium,
        "in `Model::save`, not reached from a hot root",
    );
    expect(
        &report,
        "w.to_scalar::<f32>()",
        Severity::Low,
        "in `Model::from_pretrained` (load/save)",
    );
    expect(&report, "self.weights", Severity::Low, "in `Model::fmt` (formatting)");
    expect(
        &report,
        "self.weights.to_vec0::<f32>()",
        Severity::Low,
        "in `Model::fmt` (formatting)",
    );
}

#[test]
fn debug_and_logging_guards_are_low() {
    let report = audit_source(&with_prelude(
        r#"
use log::Level;

pub struct Model {
    debug: bool,
    verbose: bool,
    log_detailed: bool,
    gate: Gate,
}

impl Model {
    pub fn forward(&self, x: &Tensor) -> Tensor {
        if self.debug {
            let a = x.to_vec1::<f32>().unwrap();
        }
        if self.verbose {
            let shown = x.abs().unwrap();
            println!("{}", shown);
        }
        if log::log_enabled!(Level::Debug) {
            let b = x.to_vec2::<f32>().unwrap();
        }
        if tracing::enabled!(tracing::Level::TRACE) {
            let c = x.to_vec3::<f32>().unwrap();
        }
        if cfg!(debug_assertions) {
            let d = x.to_scalar::<f32>().unwrap();
        }
        if self.log_detailed {
            let e = x.to_vec0::<f32>().unwrap();
        }
        if let Some(log) = self.gate.logging() {
            let f = x.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        }
        if !self.debug {
            let g = x.sum_all().unwrap();
        } else {
            let h = x.max_all().unwrap().to_vec0::<f32>().unwrap();
        }
        log::debug!("frame output {}", x);
        debug_assert!(x.min_all().unwrap().to_scalar::<f32>().unwrap() >= 0.0);
        #[cfg(debug_assertions)]
        let i = x.mean_all().unwrap().to_scalar::<f32>().unwrap();
        x.clone()
    }

    pub fn process_frame(&self, x: &Tensor) {
        if !self.verbose {
            return;
        }
        let j = x.sqr().unwrap().to_vec1::<f32>().unwrap();
    }
}
"#,
    ));
    expect(&report, "x.to_vec1::<f32>()", Severity::Low, "guarded by `self.debug`");
    expect(&report, "shown", Severity::Low, "guarded by `self.verbose`");
    expect(
        &report,
        "x.to_vec2::<f32>()",
        Severity::Low,
        "guarded by `log::log_enabled!(Level::Debug)`",
    );
    expect(
        &report,
        "x.to_vec3::<f32>()",
        Severity::Low,
        "guarded by `tracing::enabled!(tracing::Level::TRACE)`",
    );
    expect(
        &report,
        "x.to_scalar::<f32>()",
        Severity::Low,
        "guarded by `cfg!(debug_assertions)`",
    );
    expect(
        &report,
        "x.to_vec0::<f32>()",
        Severity::Low,
        "guarded by `self.log_detailed`",
    );
    expect(
        &report,
        "x.flatten_all().unwrap().to_vec1::<f32>()",
        Severity::Low,
        "guarded by `let Some(log) = self.gate.logging()`",
    );
    expect(
        &report,
        "x.max_all().unwrap().to_vec0::<f32>()",
        Severity::Low,
        "guarded by `self.debug`",
    );
    expect(
        &report,
        "x.min_all().unwrap().to_scalar::<f32>()",
        Severity::Low,
        "guarded by `debug_assert!`",
    );
    expect(
        &report,
        "x.mean_all().unwrap().to_scalar::<f32>()",
        Severity::Low,
        "guarded by `#[cfg(debug_assertions)]`",
    );
    expect(
        &report,
        "x.sqr().unwrap().to_vec1::<f32>()",
        Severity::Low,
        "guarded by `self.verbose`",
    );
    let logged: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.reason.contains("`log::debug!`"))
        .collect();
    assert_eq!(logged.len(), 1, "{}", dump(&report));
    assert_eq!(logged[0].severity, Severity::Low);
    assert!(
        logged[0].reason.contains("guarded by `log::debug!`"),
        "{}",
        logged[0].reason
    );
}

#[test]
fn error_paths_are_low() {
    let report = audit_source(&with_prelude(
        r#"
pub fn forward(x: &Tensor, r: Result<Tensor, String>) -> Result<Vec<f32>, String> {
    let first = match x.sum_all() {
        Ok(s) => s,
        Err(_) => {
            let v = x.to_vec1::<f32>().unwrap();
            return Err(format!("failed on {:?}", v));
        }
    };
    let a = x.exp().map_err(|e| format!("{e}: {}", x.to_vec2::<f32>().unwrap().len()))?;
    let b = r.clone().unwrap_or_else(|_| {
        let v = x.to_vec3::<f32>().unwrap();
        x.clone()
    });
    let c = r.clone().or_else(|_| x.to_scalar::<f32>().map(|_| x.clone()).map_err(|e| e.to_string()));
    if let Err(e) = x.sqrt() {
        let d = x.to_vec0::<f32>();
    }
    if x.dims().is_empty() {
        return Err(format!("empty {}", x));
    }
    if x.rank() > 4 {
        panic!("bad rank for {:?}", x);
    }
    let Ok(dims) = x.dims4() else {
        let e = x.flatten_all().unwrap().to_vec1::<f32>();
        return Err("dims".into());
    };
    Ok(Vec::new())
}
"#,
    ));
    expect(
        &report,
        "x.to_vec1::<f32>()",
        Severity::Low,
        "in an `Err(_)` match arm (error path)",
    );
    expect(
        &report,
        "x.to_vec2::<f32>()",
        Severity::Low,
        "in a `map_err` closure (error path)",
    );
    expect(
        &report,
        "x.to_vec3::<f32>()",
        Severity::Low,
        "in a `unwrap_or_else` closure (error path)",
    );
    expect(
        &report,
        "x.to_scalar::<f32>()",
        Severity::Low,
        "in a `or_else` closure (error path)",
    );
    expect(
        &report,
        "x.to_vec0::<f32>()",
        Severity::Low,
        "in an `if let Err(..)` block (error path)",
    );
    let format_sites: Vec<&Finding> = report.findings.iter().filter(|f| f.code == "x").collect();
    assert_eq!(format_sites.len(), 2, "{}", dump(&report));
    assert!(format_sites.iter().all(|f| f.severity == Severity::Low));
    assert!(format_sites[0].reason.contains("in an `Err(..)` value (error path)"));
    assert!(format_sites[1].reason.contains("in a `panic!` message (error path)"));
    expect(
        &report,
        "x.flatten_all().unwrap().to_vec1::<f32>()",
        Severity::Low,
        "in the `else` of a `let Ok(..)` (error path)",
    );
}

#[test]
fn medium_is_the_rest_and_host_values_are_not_reported() {
    let report = audit_source(&with_prelude(
        r#"
pub struct Stats {
    device: Device,
}

impl Stats {
    pub fn summarize(&self, t: &Tensor, values: &[f32]) -> Vec<f32> {
        let host = t.to_device(&Device::Cpu).unwrap().to_vec1::<f32>().unwrap();
        let cpu = Tensor::new(values, &Device::Cpu).unwrap();
        let local = cpu.to_vec1::<f32>().unwrap();
        let uploaded = cpu.to_device(&self.device).unwrap();
        let shape = uploaded.dims().to_vec();
        println!("{:?} {:?}", shape, uploaded.dtype());
        host
    }
}
"#,
    ));
    expect(
        &report,
        "t.to_device(&Device::Cpu).unwrap().to_vec1::<f32>()",
        Severity::Medium,
        "in `Stats::summarize`, not reached from a hot root (per-call code)",
    );
    expect_none(&report, "cpu.to_vec1");
    expect_none(&report, "dims");
    // The upload of the host tensor is its own rule (D2H007), not a read.
    let upload = expect(
        &report,
        "cpu.to_device(&self.device)",
        Severity::Medium,
        "`to_device` of a host tensor uploads it synchronously",
    );
    assert_eq!(upload.rule, RuleId::BlockingUpload);
    assert_eq!(report.findings.len(), 2, "{}", dump(&report));
}

#[test]
fn sync_helpers_are_reported_at_their_calls() {
    let report = audit_source(&with_prelude(
        r#"
fn wait(device: &Device) {
    device.synchronize().unwrap();
}

pub fn forward(x: &Tensor) -> Tensor {
    wait(x.device());
    x.clone()
}

pub struct Timed {
    device: Device,
    proj: candle_nn::Linear,
}

impl Timed {
    pub fn forward(&self, x: &Tensor) -> Tensor {
        self.device.synchronize().unwrap();
        x.clone()
    }

    pub fn project(&self, x: &Tensor) -> Tensor {
        self.proj.forward(x).unwrap()
    }
}
"#,
    ));
    // `self.proj` is a library layer: its `forward` is not the project's synchronising one.
    expect_none(&report, "self.proj.forward(x)");
    expect(
        &report,
        "device.synchronize()",
        Severity::Critical,
        "reached from `forward`",
    );
    let call = expect(&report, "wait(x.device())", Severity::Critical, "hot root");
    assert_eq!(call.rule, RuleId::ExplicitSync);
    assert!(
        call.reason.contains("calls `wait`, which synchronises"),
        "{}",
        call.reason
    );
}

#[test]
fn mixed_python_and_rust_tree_in_one_run() {
    let report = audit_sources(&[
        (
            "py/model.py",
            "import torch\n\n\ndef forward(x: torch.Tensor):\n    return x.cpu()\n",
        ),
        (
            "rs/src/model.rs",
            "use candle_core::Tensor;\npub fn forward(x: &Tensor) -> Vec<f32> {\n    x.to_vec1::<f32>().unwrap()\n}\n",
        ),
    ]);
    assert_eq!(report.summary.files_scanned, 2);
    let py = expect(&report, "x.cpu()", Severity::Critical, "hot root: named `forward`");
    let rs = expect(
        &report,
        "x.to_vec1::<f32>()",
        Severity::Critical,
        "hot root: named `forward`",
    );
    assert_eq!((py.file.as_str(), py.rule), ("py/model.py", RuleId::ExplicitCopy));
    assert_eq!((rs.file.as_str(), rs.rule), ("rs/src/model.rs", RuleId::ExplicitCopy));
    assert_eq!((rs.line, rs.column, rs.end_line, rs.end_column), (3, 5, 3, 23));
    assert_eq!(rs.symbol, "forward");
    assert_eq!(rs.name, "explicit-copy");
    assert!(!rs.fingerprint.is_empty());
}

#[test]
fn the_language_filter_restricts_the_front_ends() {
    let dir = tempdir();
    write_tree(
        dir.path(),
        &[
            (
                "model.py",
                "import torch\n\n\ndef forward(x: torch.Tensor):\n    return x.cpu()\n",
            ),
            (
                "model.rs",
                "use candle_core::Tensor;\npub fn forward(x: &Tensor) -> Vec<f32> { x.to_vec1::<f32>().unwrap() }\n",
            ),
        ],
    );
    let only = |languages: Vec<Language>| {
        let options = AuditOptions {
            languages,
            ..AuditOptions::default()
        };
        audit(&[dir.path().to_path_buf()], &options).unwrap().report
    };
    let rust = only(vec![Language::Rust]);
    assert_eq!(rust.summary.files_scanned, 1);
    assert!(rust.findings.iter().all(|f| f.file == "model.rs"), "{}", dump(&rust));
    let python = only(vec![Language::Python]);
    assert_eq!(python.summary.files_scanned, 1);
    assert!(
        python.findings.iter().all(|f| f.file == "model.py"),
        "{}",
        dump(&python)
    );
    let both = only(vec![Language::Python, Language::Rust]);
    assert_eq!(both.summary.files_scanned, 2);
    assert_eq!(both.findings.len(), 2);
}

#[test]
fn files_that_do_not_parse_are_errors_not_panics() {
    let dir = tempdir();
    write_tree(
        dir.path(),
        &[
            ("bad.rs", "fn broken( {\n"),
            (
                "deep.rs",
                &format!("fn f() {{ let x = {}1{}; }}\n", "(".repeat(3000), ")".repeat(3000)),
            ),
            (
                "chain.rs",
                &format!("fn f(t: &Tensor) {{\n    let x = t{};\n}}\n", ".abs()".repeat(20_000)),
            ),
            (
                "good.rs",
                "use candle_core::Tensor;\nfn f(t: &Tensor) { let v = t.to_vec1::<f32>(); }\n",
            ),
        ],
    );
    let report = audit_dir(dir.path());
    let mut errors: Vec<(&str, &str)> = report
        .errors
        .iter()
        .map(|e| (e.file.as_str(), e.message.as_str()))
        .collect();
    errors.sort();
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert_eq!(errors[0].0, "bad.rs");
    assert!(errors[0].1.starts_with("syntax error at 1:"), "{}", errors[0].1);
    assert_eq!(errors[1].0, "chain.rs");
    assert!(
        errors[1].1.starts_with("not audited: expression nested deeper than"),
        "{}",
        errors[1].1
    );
    assert_eq!(errors[2].0, "deep.rs");
    assert!(errors[2].1.contains("nested deeper than"), "{}", errors[2].1);
    assert_eq!(report.findings.len(), 1, "{}", dump(&report));
    assert_eq!(report.findings[0].file, "good.rs");
}

/// The `// d2h-site: <marker>` comments of `pipeline/src`: (report path, line, marker).
fn pipeline_markers(pipeline: &std::path::Path) -> Vec<(String, u32, String)> {
    let mut markers = Vec::new();
    let mut dirs = vec![pipeline.join("src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                let file = path
                    .strip_prefix(pipeline)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                for (i, line) in text.lines().enumerate() {
                    if let Some((_, marker)) = line.split_once("// d2h-site: ") {
                        markers.push((file.clone(), i as u32 + 1, marker.trim().to_string()));
                    }
                }
            }
        }
    }
    markers.sort();
    markers
}

/// The workspace's own candle pipeline, audited as `d2h audit pipeline/` does
/// (with `pipeline/d2h.toml`, which declares the transfer gate's methods
/// transfer functions): no critical finding (the first self-audit gate), and
/// every transfer the pipeline marks with `// d2h-site:` found at its line with
/// the severity its phase gives at run time: the legacy mode's frame-path
/// transfers critical and suppressed in the source with a reason, setup,
/// teardown, guarded and fallback ones low. The gate's own reads are
/// suppressed inside `src/transfer.rs`; no suppression is unused or without a reason.
#[test]
fn the_pipeline_passes_its_own_rules_with_every_marked_transfer_at_its_call_site() {
    let pipeline = common::manifest_dir().join("../pipeline");
    let config = d2h_auditor::config::Config::discover(&pipeline)
        .unwrap()
        .expect("pipeline/d2h.toml");
    assert!(!config.transfer_functions.is_empty());
    let options = AuditOptions {
        policy: config.policy(),
        settings: config.settings().unwrap(),
        ..AuditOptions::default()
    };
    let report = audit(std::slice::from_ref(&pipeline), &options).unwrap().report;
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    assert_eq!(report.summary.critical, 0, "critical findings:\n{}", dump(&report));
    let meta: Vec<&Finding> = report.findings.iter().filter(|f| f.rule.is_meta()).collect();
    assert!(meta.is_empty(), "unused or reasonless suppressions: {meta:#?}");

    let markers = pipeline_markers(&pipeline);
    let legacy = markers.iter().filter(|m| m.2.starts_with("legacy-")).count();
    assert!(legacy > 0, "no legacy markers in {markers:?}");
    for (file, line, marker) in &markers {
        let at = |f: &&Finding| &f.file == file && f.line <= *line && *line <= f.end_line;
        let suppressed: Vec<&d2h_reports::SuppressedFinding> =
            report.suppressed.iter().filter(|s| at(&&s.finding)).collect();
        let reported: Vec<&Finding> = report.findings.iter().filter(at).collect();
        if marker.starts_with("legacy-") {
            assert!(
                reported.is_empty(),
                "{file}:{line} ({marker}) is reported: {reported:#?}"
            );
            assert_eq!(suppressed.len(), 1, "{file}:{line} ({marker}): {suppressed:#?}");
            let s = suppressed[0];
            assert_eq!(s.finding.severity, Severity::Critical, "{marker}: {}", s.finding.reason);
            assert!(
                s.finding.reason.contains("a transfer function of the configuration"),
                "{}",
                s.finding.reason
            );
            assert!(
                s.suppression
                    .justification
                    .as_deref()
                    .is_some_and(|j| j.contains("legacy")),
                "{marker}: {:?}",
                s.suppression
            );
        } else {
            assert!(suppressed.is_empty(), "{file}:{line} ({marker}) is suppressed");
            assert_eq!(reported.len(), 1, "{file}:{line} ({marker}):\n{}", dump(&report));
            assert_eq!(reported[0].severity, Severity::Low, "{marker}: {}", reported[0].reason);
        }
    }
    // The gate's own transfers are suppressed where they happen, each with its reason.
    let in_gate: Vec<&d2h_reports::SuppressedFinding> = report
        .suppressed
        .iter()
        .filter(|s| s.finding.file == "src/transfer.rs")
        .collect();
    for rule in [
        RuleId::ExplicitCopy,
        RuleId::ScalarRead,
        RuleId::ExplicitSync,
        RuleId::BlockingUpload,
    ] {
        assert!(in_gate.iter().any(|s| s.finding.rule == rule), "no {rule} in the gate");
    }
    assert!(in_gate.iter().all(|s| s.suppression.justification.is_some()));
    assert_eq!(report.summary.suppressed, report.suppressed.len());
    assert_eq!(report.suppressed.len(), in_gate.len() + legacy);
    // Nothing outside the gate reads the device except through it: every
    // finding outside test code is a call of a gate method.
    for f in &report.findings {
        let in_tests = f.reason.contains("test code") || f.reason.contains("benchmark code");
        let gate_call = f.reason.contains("a transfer function of the configuration");
        // candle-transformers' SAM code, vendored as upstream wrote it, uploads at model
        // construction (see predictor/sam/mod.rs): allowed there, and only as setup.
        let vendored_setup = f.file.starts_with("src/predictor/sam/") && f.severity == Severity::Low;
        assert!(
            in_tests || gate_call || vendored_setup || f.file == "src/transfer.rs",
            "a finding outside the gate: {f:#?}"
        );
    }
}

/// Without the pipeline's configuration, the gate's methods are ordinary
/// functions: their calls are not sites, and the suppression of the legacy
/// transfers (one `ignore-file` in `src/legacy.rs`) suppresses nothing
/// (D2H901), which is how `d2h audit` tells a configuration that lost its
/// `transfer-functions`.
#[test]
fn without_its_configuration_the_pipeline_legacy_suppressions_are_unused() {
    let pipeline = common::manifest_dir().join("../pipeline");
    let report = audit_dir(&pipeline);
    let legacy = std::fs::read_to_string(pipeline.join("src/legacy.rs"))
        .unwrap()
        .matches("// d2h: ignore-file[")
        .count();
    assert_eq!(legacy, 1);
    let unused = report
        .findings
        .iter()
        .filter(|f| f.rule == RuleId::UnusedSuppression && f.code.contains("legacy mode"))
        .count();
    assert_eq!(unused, legacy, "{}", dump(&report));
}

#[test]
fn example_mains_are_setup_until_their_frame_loop() {
    let report = audit_sources(&[(
        "examples/demo.rs",
        &with_prelude(
            r#"
fn main() -> candle_core::Result<()> {
    let device = Device::new_cuda(0)?;
    let model = candle_nn::linear(4, 4, vb())?;
    let probe = Tensor::zeros((1, 4), candle_core::DType::F32, &device)?;
    println!("probe {}", probe);
    loop {
        let frame = next_frame(&device)?;
        let out = model.forward(&frame)?;
        let top = out.max_all()?.to_scalar::<f32>()?;
    }
}
"#,
        ),
    )]);
    expect(&report, "probe", Severity::Low, "in `main` before its loop (setup)");
    expect(
        &report,
        "out.max_all()?.to_scalar::<f32>()",
        Severity::Critical,
        "in the body of a loop in `main` that calls `model.forward` (frame loop)",
    );
}

#[test]
fn cargo_target_directories_are_not_walked() {
    let dir = tempdir();
    let source = "use candle_core::Tensor;\npub fn forward(t: &Tensor) -> Vec<f32> { t.to_vec1::<f32>().unwrap() }\n";
    write_tree(
        dir.path(),
        &[
            ("src/lib.rs", source),
            ("target/CACHEDIR.TAG", "Signature: 8a477f597d28d172789f06886806bc55\n"),
            ("target/debug/build/x/out/generated.rs", source),
            ("tools/target/keep.rs", source),
        ],
    );
    let report = audit_dir(dir.path());
    let files: Vec<&str> = report.findings.iter().map(|f| f.file.as_str()).collect();
    assert_eq!(files, vec!["src/lib.rs", "tools/target/keep.rs"], "{}", dump(&report));
    assert_eq!(report.summary.files_scanned, 2);
}

#[test]
fn impls_inside_functions_are_methods() {
    let report = audit_source(&with_prelude(
        r#"
pub fn forward(x: &Tensor) -> Vec<f32> {
    struct Local;
    impl Local {
        fn read(&self, t: &Tensor) -> Vec<f32> {
            t.to_vec1::<f32>().unwrap()
        }
    }
    fn helper(t: &Tensor) -> f32 {
        t.to_scalar::<f32>().unwrap()
    }
    let _ = helper(x);
    Local.read(x)
}
"#,
    ));
    let read = expect(
        &report,
        "t.to_vec1::<f32>()",
        Severity::Critical,
        "reached from `forward`",
    );
    assert_eq!(read.symbol, "Local::read");
    let helper = expect(
        &report,
        "t.to_scalar::<f32>()",
        Severity::Critical,
        "reached from `forward`",
    );
    assert_eq!(helper.symbol, "forward::helper");
}

/// Blocking uploads (D2H007) take their severity from the shared policy:
/// critical in `forward` and in a frame loop, low in `new` and `load*`,
/// medium elsewhere; creating on the device or on the CPU is no upload.
#[test]
fn uploads_follow_the_severity_policy() {
    let report = audit_source(&with_prelude(
        r#"
use std::sync::Arc;
use cudarc::driver::{CudaSlice, CudaStream};

pub struct Head {
    device: Device,
    bias: Tensor,
}

impl Head {
    pub fn new(device: Device, bias: &[f32]) -> candle_core::Result<Self> {
        let bias = Tensor::new(bias, &device)?;
        Ok(Head { device, bias })
    }

    pub fn load_anchors(&self, values: Vec<f32>) -> candle_core::Result<Tensor> {
        let n = values.len();
        Tensor::from_vec(values, (n,), &self.device)
    }

    pub fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let scale = Tensor::new(&[2f32], &self.device)?;
        let host = Tensor::new(&[1f32], &Device::Cpu)?;
        let on_device = host.to_device(x.device())?;
        let zeros = Tensor::zeros((1,), candle_core::DType::F32, &self.device)?;
        let cpu = Device::Cpu;
        let local = Tensor::from_slice(&[3f32], (1,), &cpu)?;
        let _ = (zeros, local);
        x.broadcast_mul(&scale)?.broadcast_add(&on_device)?.broadcast_add(&self.bias)
    }

    pub fn helper(&self, values: &[f32]) -> candle_core::Result<Tensor> {
        Tensor::from_slice(values, (values.len(),), &self.device)
    }
}

pub fn stream_frames(head: &Head, stream: Arc<CudaStream>, frames: &[Vec<f32>], buf: &mut CudaSlice<f32>) {
    for frame in frames {
        stream.memcpy_htod(frame, buf).unwrap();
        let x = Tensor::zeros((1,), candle_core::DType::F32, &head.device).unwrap();
        let _ = head.forward(&x);
    }
}

pub fn upload_once(stream: Arc<CudaStream>, weights: &[f32]) -> CudaSlice<f32> {
    stream.clone_htod(weights).unwrap()
}
"#,
    ));
    let upload = |code: &str, severity: Severity, reason: &str| {
        let finding = expect(&report, code, severity, reason);
        assert_eq!(finding.rule, RuleId::BlockingUpload, "{code}");
    };
    upload("Tensor::new(bias, &device)", Severity::Low, "in `Head::new` (setup)");
    upload(
        "Tensor::from_vec(values, (n,), &self.device)",
        Severity::Low,
        "in `Head::load_anchors` (load/save)",
    );
    upload("Tensor::new(&[2f32], &self.device)", Severity::Critical, "hot root");
    upload(
        "host.to_device(x.device())",
        Severity::Critical,
        "`to_device` of a host tensor uploads it synchronously",
    );
    upload(
        "Tensor::from_slice(values, (values.len(),), &self.device)",
        Severity::Medium,
        "not reached from a hot root",
    );
    upload("stream.memcpy_htod(frame, buf)", Severity::Critical, "(frame loop)");
    upload("stream.clone_htod(weights)", Severity::Medium, "cudarc `clone_htod`");
    expect_none(&report, "Tensor::zeros");
    expect_none(&report, "&Device::Cpu");
    expect_none(&report, "&cpu");
    assert_eq!(report.findings.len(), 7, "findings:\n{}", dump(&report));
}

/// Audits `files` with `transfer` as the configuration's `transfer-functions`.
fn audit_with_transfer_functions(files: &[(&str, &str)], transfer: &[(&str, RuleId)]) -> Report {
    let dir = tempdir();
    write_tree(dir.path(), files);
    let policy = d2h_auditor::Policy {
        transfer_functions: transfer
            .iter()
            .map(|(name, rule)| d2h_auditor::policy::TransferFunction::new(*name, *rule))
            .collect(),
        ..d2h_auditor::Policy::default()
    };
    let options = AuditOptions {
        policy,
        ..AuditOptions::default()
    };
    let report = audit(&[dir.path().to_path_buf()], &options).unwrap().report;
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    report
}

const GATE: &str = r#"use candle_core::Tensor;

pub struct Gate;

impl Gate {
    pub fn read(&self, t: &Tensor) -> Vec<f32> {
        self.reader().read(t)
    }
    pub fn count(&self, t: &Tensor) -> f32 {
        self.reader().count(t)
    }
    fn reader(&self) -> Reader {
        Reader
    }
}

pub struct Reader;

impl Reader {
    pub fn read(&self, t: &Tensor) -> Vec<f32> {
        t.to_vec1::<f32>().unwrap()
    }
    pub fn count(&self, t: &Tensor) -> f32 {
        t.to_scalar::<f32>().unwrap()
    }
}
"#;

const GATE_USER: &str = r#"use candle_core::Tensor;
use crate::gate::Gate;

pub struct Model {
    gate: Gate,
}

impl Model {
    pub fn new(gate: Gate, t: &Tensor) -> Self {
        let _ = gate.read(t);
        Model { gate }
    }
    pub fn forward(&self, x: &Tensor) -> Tensor {
        let _ = self.gate.count(x);
        x.clone()
    }
    pub fn stats(&self, x: &Tensor) -> Vec<f32> {
        self.gate.read(x)
    }
}
"#;

/// A configured transfer method (`Gate::read`) is a site where it is called,
/// of its configured rule, judged by the caller's context; the gate handing
/// over to its reader is the same transfer, not another site; the reader's own
/// read is still audited (and reached from the frame path).
#[test]
fn calls_of_configured_transfer_methods_are_sites_at_the_call() {
    let files = [
        ("src/gate.rs", GATE),
        ("src/model.rs", GATE_USER),
        ("src/lib.rs", "pub mod gate;\npub mod model;\n"),
    ];
    let transfer = [
        ("Gate::read", RuleId::ExplicitCopy),
        ("Gate::count", RuleId::ScalarRead),
        ("Reader::read", RuleId::ExplicitCopy),
        ("Reader::count", RuleId::ScalarRead),
    ];
    let report = audit_with_transfer_functions(&files, &transfer);
    let calls = "a transfer function of the configuration";
    let hot = expect(&report, "self.gate.count(x)", Severity::Critical, "calls `Gate::count`");
    assert_eq!(hot.rule, RuleId::ScalarRead);
    assert!(
        hot.reason.contains(calls) && hot.reason.contains("Model::forward"),
        "{}",
        hot.reason
    );
    let setup = expect(&report, "gate.read(t)", Severity::Low, "`Model::new` (setup)");
    assert_eq!(
        (setup.rule, setup.file.as_str()),
        (RuleId::ExplicitCopy, "src/model.rs")
    );
    expect(
        &report,
        "self.gate.read(x)",
        Severity::Medium,
        "not reached from a hot root",
    );
    // Delegation inside the gate is not a second site.
    expect_none(&report, "self.reader()");
    // The reader's own reads are audited like any code: hot through `forward`.
    expect(&report, "t.to_scalar::<f32>()", Severity::Critical, "Model::forward");

    // Without the configuration, the calls are ordinary project calls.
    let plain = audit_with_transfer_functions(&files, &[]);
    expect_none(&plain, "self.gate.count(x)");
    expect_none(&plain, "gate.read(t)");
}

/// `a.make().upload(x)`: a method called on the result of a project call is
/// linked through the type that call declares it returns, so hotness reaches
/// it even when its name alone is too common to link.
#[test]
fn methods_of_call_results_link_through_declared_return_types() {
    let mut files = vec![
        (
            "src/model.rs",
            r#"use candle_core::Tensor;
use crate::parts::Maker;

pub struct Model {
    maker: Maker,
}

impl Model {
    pub fn forward(&self, x: &Tensor) -> Tensor {
        self.maker.make(x).upload(x);
        x.clone()
    }
}
"#
            .to_string(),
        ),
        ("src/lib.rs", "pub mod model;\npub mod parts;\n".to_string()),
    ];
    // Four types with an `upload` method: too many to link `upload` by name.
    let mut parts = String::from("use candle_core::Tensor;\n\npub struct Maker;\n\nimpl Maker {\n    pub fn make(&self, x: &Tensor) -> Result<Staged, String> {\n        Ok(Staged)\n    }\n}\n");
    for ty in ["Staged", "Other1", "Other2", "Other3"] {
        parts.push_str(&format!(
            "\npub struct {ty};\n\nimpl {ty} {{\n    pub fn upload(&self, t: &Tensor) {{\n        let v = t.to_vec1::<f32>().unwrap();\n    }}\n}}\n"
        ));
    }
    files.push(("src/parts.rs", parts));
    let files: Vec<(&str, &str)> = files.iter().map(|(n, s)| (*n, s.as_str())).collect();
    let report = audit_sources(&files);
    let reads: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.code == "t.to_vec1::<f32>()")
        .collect();
    assert_eq!(reads.len(), 4, "{}", dump(&report));
    let hot: Vec<&str> = reads
        .iter()
        .filter(|f| f.severity == Severity::Critical)
        .map(|f| f.symbol.as_str())
        .collect();
    assert_eq!(hot, vec!["Staged::upload"], "{}", dump(&report));
}

/// A helper that only setup code calls is setup too: a free function called
/// from `new` only, and one reached from there through another helper; a
/// helper also called from per-call code keeps its own severity.
#[test]
fn helpers_called_only_from_setup_are_low() {
    let report = audit_source(&with_prelude(
        r#"
pub struct Model {
    table: Vec<f32>,
}

impl Model {
    pub fn new(t: &Tensor) -> Self {
        Model { table: build_table(t), }
    }
    pub fn summary(&self, t: &Tensor) -> Vec<f32> {
        shared(t)
    }
    pub fn teardown(&self, t: &Tensor) -> f32 {
        t.to_scalar::<f32>().unwrap()
    }
}

fn build_table(t: &Tensor) -> Vec<f32> {
    let mut v = inner_table(t);
    v.extend(shared(t));
    v
}

fn inner_table(t: &Tensor) -> Vec<f32> {
    t.to_vec1::<f32>().unwrap()
}

fn shared(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
}
"#,
    ));
    expect(
        &report,
        "t.to_vec1::<f32>()",
        Severity::Low,
        "in `inner_table`, called only from cold code (e.g. `build_table`)",
    );
    expect(
        &report,
        "t.flatten_all().unwrap().to_vec1::<f32>()",
        Severity::Medium,
        "per-call code",
    );
    expect(
        &report,
        "t.to_scalar::<f32>()",
        Severity::Low,
        "`Model::teardown` (teardown)",
    );
}
