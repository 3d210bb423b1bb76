//! The context policy: which functions are hot, which conditions are debug
//! guards, which places are cold. Kept as data, not as conditionals scattered
//! through the front ends, so configuration can extend it. What only one
//! language has (Rust's traits and macros, Python's logger receivers) is in
//! [`PythonPolicy`] and [`RustPolicy`], parts of the one [`Policy`].

mod languages;

use d2h_rules::RuleId;

pub use languages::{PythonPolicy, RustPolicy};

/// A project helper that moves data between the host and the device
/// (configuration key `transfer-functions`): each call of it is a site of
/// `rule`, judged by the caller's context, as a call of the library API it
/// wraps would be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferFunction {
    /// As written in the configuration: `utils.to_numpy`, `Gate::to_vec2`.
    pub name: String,
    /// The rule its calls fall under (D2H001 when the configuration gives a list).
    pub rule: RuleId,
}

impl TransferFunction {
    pub fn new(name: impl Into<String>, rule: RuleId) -> TransferFunction {
        TransferFunction {
            name: name.into(),
            rule,
        }
    }

    /// The name with Rust's `::` written as `.`, and a leading `crate.`,
    /// `self.` or `super.` dropped: what qualified names are matched against.
    pub fn dotted(&self) -> String {
        let dotted = self.name.replace("::", ".");
        let mut rest = dotted.as_str();
        while let Some(tail) = ["crate.", "self.", "super."].iter().find_map(|p| rest.strip_prefix(p)) {
            rest = tail;
        }
        rest.to_string()
    }
}

/// Names and patterns that decide a site's severity context.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Function names that are hot roots (`forward`, `process_frame`, ...).
    pub hot_names: Vec<String>,
    /// Function-name prefixes that are hot roots (`predict`, `infer`, `postprocess`).
    pub hot_prefixes: Vec<String>,
    /// Decorators (qualified) that make a function a hot root.
    pub hot_decorators: Vec<String>,
    /// Identifier fragments that mark a condition as a debug/logging guard
    /// (matched case-insensitively against each name of the condition).
    pub guard_fragments: Vec<String>,
    /// Calls whose result is a logging guard (`logger.isEnabledFor(...)`).
    pub guard_calls: Vec<String>,
    /// Callee names that count as model calls when a loop body calls them.
    pub model_names: Vec<String>,
    /// Fragments of a loop's iterable that make it a loop over the work's
    /// data, a frame loop (`for batch in tqdm(val_loader)`, `for frame in frames`).
    pub data_loop_fragments: Vec<String>,
    /// Cold functions: (name prefix, what they are), matched after leading underscores.
    pub cold_prefixes: Vec<(String, String)>,
    /// Cold functions by exact name.
    pub cold_names: Vec<(String, String)>,
    /// The project's own helpers that transfer (`utils.to_numpy`,
    /// `Gate::to_vec2`): their calls are sites of their rule (configuration
    /// key `transfer-functions`).
    pub transfer_functions: Vec<TransferFunction>,
    /// Names only Python code has.
    pub python: PythonPolicy,
    /// Names only Rust code has.
    pub rust: RustPolicy,
}

/// A name's letters and digits, lowercased, with the underscores that split
/// its words dropped (`_post_process_boxes` and `postProcessBoxes` both fold
/// to `postprocessboxes`).
fn fold_words(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '_')
        .flat_map(|c| c.to_lowercase())
        .collect()
}

fn owned(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_string()).collect()
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(a, b)| ((*a).to_string(), (*b).to_string()))
        .collect()
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            hot_names: owned(&[
                "forward",
                "__call__",
                "process_frame",
                "step",
                "training_step",
                "validation_step",
                // A metric's, a tracker's or an EMA's per-batch update.
                "update",
            ]),
            hot_prefixes: owned(&["predict", "infer", "postprocess"]),
            hot_decorators: owned(&["torch.no_grad", "torch.inference_mode", "torch.compile"]),
            guard_fragments: owned(&["debug", "verbose", "logging", "log_", "profil"]),
            guard_calls: owned(&["isEnabledFor", "log_enabled", "enabled"]),
            model_names: owned(&[
                "model",
                "net",
                "network",
                "detector",
                "predictor",
                "segmenter",
                "encoder",
                "decoder",
                "backbone",
                "head",
                "tracker",
                "pipeline",
            ]),
            data_loop_fragments: owned(&["loader", "dataset", "tqdm", "frames", "video", "batches"]),
            cold_prefixes: pairs(&[
                // Loading runs once; saving (checkpoints per epoch, results per
                // image) runs as often as its caller, so `save*` keeps its callers' severity.
                ("load", "load/save"),
                ("from_pretrained", "load/save"),
                ("state_dict", "load/save"),
                ("setup", "setup"),
                // A warm-up runs the model a few times before the first frame.
                ("warmup", "setup"),
                ("warm_up", "setup"),
                ("teardown", "teardown"),
                ("plot", "visualisation"),
                ("visualize", "visualisation"),
                ("visualise", "visualisation"),
                ("draw", "visualisation"),
                ("show", "visualisation"),
                ("test_", "test code"),
            ]),
            cold_names: pairs(&[
                ("__init__", "setup"),
                ("__post_init__", "setup"),
                ("__repr__", "formatting"),
                ("__str__", "formatting"),
                ("__format__", "formatting"),
                ("__del__", "teardown"),
                ("extra_repr", "formatting"),
            ]),
            transfer_functions: Vec::new(),
            python: PythonPolicy::default(),
            rust: RustPolicy::default(),
        }
    }
}

impl Policy {
    /// Why `name` is a hot root by its name, if it is one.
    pub fn hot_by_name(&self, name: &str) -> Option<String> {
        if self.hot_names.iter().any(|n| n == name) {
            return Some(format!("named `{name}`"));
        }
        // Words may be split by underscores or case (`post_process_boxes`,
        // `postProcess`): a prefix matches the name's letters, lowercased.
        let folded = fold_words(name);
        self.hot_prefixes
            .iter()
            .find(|p| folded.starts_with(fold_words(p).as_str()))
            .map(|p| format!("named `{p}*`"))
    }

    /// Whether a qualified decorator makes its function a hot root.
    pub fn is_hot_decorator(&self, qualified: &str) -> bool {
        self.hot_decorators.iter().any(|d| d == qualified)
    }

    /// What kind of cold function `name` is (setup, load/save, formatting...), if any.
    pub fn cold_kind(&self, name: &str) -> Option<&str> {
        if let Some((_, kind)) = self.cold_names.iter().find(|(n, _)| n == name) {
            return Some(kind);
        }
        let bare = name.trim_start_matches('_');
        self.cold_prefixes
            .iter()
            .find(|(p, _)| bare.starts_with(p.as_str()))
            .map(|(_, kind)| kind.as_str())
    }

    /// Whether an identifier in a condition marks a debug/logging guard.
    pub fn is_guard_name(&self, ident: &str) -> bool {
        let lower = ident.to_ascii_lowercase();
        self.guard_fragments.iter().any(|f| lower.contains(f.as_str()))
    }

    pub fn is_guard_call(&self, method: &str) -> bool {
        self.guard_calls.iter().any(|c| c == method)
    }

    /// The configured transfer function a call's qualified name stands for:
    /// `utils.to_numpy` matches `utils.to_numpy`, `pkg.utils.to_numpy` and (in
    /// `utils.py` itself, unqualified) `to_numpy`; an entry without a dot
    /// matches any call of that name. Rust paths (`Gate::to_vec2`) are
    /// matched as dotted names (`Gate.to_vec2`). When several entries match,
    /// the most specific (longest) one speaks.
    pub fn transfer_function(&self, qualified: &str) -> Option<&TransferFunction> {
        let qualified = qualified.replace("::", ".");
        let qualified = qualified.as_str();
        self.transfer_functions
            .iter()
            .filter(|entry| {
                let entry = entry.dotted();
                let entry = entry.as_str();
                entry == qualified
                    || dotted_suffix(qualified, entry)
                    || (qualified.contains('.') && dotted_suffix(entry, qualified))
                    || (!qualified.contains('.') && entry.rsplit('.').next() == Some(qualified))
            })
            .max_by_key(|entry| entry.dotted().len())
    }

    /// The configured transfer function that a project function is, given its
    /// full dotted name (`pipeline.transfer.Gate.to_vec2`, `pkg.utils.to_numpy`):
    /// an entry matches when it is a dotted suffix of the name (`Gate.to_vec2`,
    /// `transfer.Gate.to_vec2`), or, without a dot, when it is the function's
    /// name; the most specific match speaks.
    pub fn transfer_function_named(&self, full: &str) -> Option<&TransferFunction> {
        self.transfer_functions
            .iter()
            .filter(|entry| {
                let entry = entry.dotted();
                full == entry || dotted_suffix(full, &entry)
            })
            .max_by_key(|entry| entry.dotted().len())
    }

    /// Whether a callee's last name segment looks like a model (`self.model`, `self.sam_decoder`).
    pub fn is_model_name(&self, segment: &str) -> bool {
        let lower = segment.trim_start_matches('_').to_ascii_lowercase();
        // `get_model`, `build_detector`, `load_backbone`: a factory, not a model.
        const FACTORY_VERBS: &[&str] = &[
            "get_", "build_", "load_", "make_", "create_", "init_", "setup_", "set_", "save_", "export_", "prepare_",
            "is_", "has_",
        ];
        if FACTORY_VERBS.iter().any(|verb| lower.starts_with(verb)) {
            return false;
        }
        self.model_names.iter().any(|m| {
            let m = m.as_str();
            lower == m
                || lower.strip_suffix(m).is_some_and(|rest| rest.ends_with('_'))
                || lower.strip_prefix(m).is_some_and(|rest| rest.starts_with('_'))
        })
    }
}

/// Whether `short` is `long`'s last dotted components (`b.c` of `a.b.c`).
fn dotted_suffix(long: &str, short: &str) -> bool {
    long.len() > short.len() && long.ends_with(short) && long.as_bytes()[long.len() - short.len() - 1] == b'.'
}

/// Whether a path (relative, `/`-separated) is test code.
pub fn is_test_path(path: &str) -> bool {
    let mut parts = path.split('/');
    let file = parts.next_back().unwrap_or("");
    let in_test_dir = path.split('/').rev().skip(1).any(|d| d == "tests" || d == "test");
    in_test_dir
        || file == "conftest.py"
        || (file.starts_with("test_") && file.ends_with(".py"))
        || file.ends_with("_test.py")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hot_roots_by_name_and_prefix() {
        let p = Policy::default();
        assert!(p.hot_by_name("forward").is_some());
        assert!(p.hot_by_name("predict_sam").is_some());
        assert!(p.hot_by_name("_postprocess_boxes").is_some());
        assert!(p.hot_by_name("post_process_object_detection").is_some());
        assert!(p.hot_by_name("postProcess").is_some());
        assert!(p.hot_by_name("post_processing").is_some());
        assert!(p.hot_by_name("prep_data").is_none());
        assert!(p.hot_by_name("prepare").is_none());
    }

    #[test]
    fn cold_kinds() {
        let p = Policy::default();
        assert_eq!(p.cold_kind("__init__"), Some("setup"));
        assert_eq!(p.cold_kind("_load_weights"), Some("load/save"));
        assert_eq!(p.cold_kind("plot_boxes"), Some("visualisation"));
        assert_eq!(p.cold_kind("match"), None);
    }

    #[test]
    fn guards_and_models() {
        let p = Policy::default();
        assert!(p.is_guard_name("enable_detailed_logging"));
        assert!(p.is_guard_name("DEBUG"));
        assert!(!p.is_guard_name("threshold"));
        assert!(p.is_model_name("model"));
        assert!(p.is_model_name("sam_decoder"));
        assert!(!p.is_model_name("headers"));
    }

    #[test]
    fn transfer_functions_match_by_dotted_suffix() {
        let p = Policy {
            transfer_functions: vec![
                TransferFunction::new("utils.to_numpy", RuleId::ExplicitCopy),
                TransferFunction::new("fetch", RuleId::ScalarRead),
            ],
            ..Policy::default()
        };
        let name = |q: &str| p.transfer_function(q).map(|t| t.name.as_str());
        assert_eq!(name("utils.to_numpy"), Some("utils.to_numpy"));
        assert_eq!(name("pkg.utils.to_numpy"), Some("utils.to_numpy"));
        assert_eq!(name("to_numpy"), Some("utils.to_numpy"));
        assert_eq!(name("other.to_numpy"), None);
        assert_eq!(name("myutils.to_numpy"), None);
        assert_eq!(name("io.fetch"), Some("fetch"));
        assert_eq!(p.transfer_function("io.fetch").unwrap().rule, RuleId::ScalarRead);
        assert!(Policy::default().transfer_function("to_numpy").is_none());
    }

    #[test]
    fn rust_paths_are_dotted_names() {
        let p = Policy {
            transfer_functions: vec![
                TransferFunction::new("Gate::to_vec2", RuleId::ExplicitCopy),
                TransferFunction::new("crate::io::fetch", RuleId::ScalarRead),
            ],
            ..Policy::default()
        };
        let named = |full: &str| p.transfer_function_named(full).map(|t| t.name.as_str());
        assert_eq!(named("pipeline.transfer.Gate.to_vec2"), Some("Gate::to_vec2"));
        assert_eq!(named("Gate.to_vec2"), Some("Gate::to_vec2"));
        assert_eq!(named("pipeline.transfer.Reader.to_vec2"), None);
        assert_eq!(named("pipeline.transfer.MyGate.to_vec2"), None);
        assert_eq!(named("crate.io.fetch"), Some("crate::io::fetch"));
        assert_eq!(named("pipeline.io.fetch"), Some("crate::io::fetch"));
        assert_eq!(
            p.transfer_function("transfer::Gate::to_vec2").map(|t| t.rule),
            Some(RuleId::ExplicitCopy)
        );
        // The most specific entry wins, whatever the order.
        let p = Policy {
            transfer_functions: vec![
                TransferFunction::new("sync", RuleId::ExplicitSync),
                TransferFunction::new("io::sync", RuleId::ScalarRead),
            ],
            ..Policy::default()
        };
        assert_eq!(
            p.transfer_function_named("pkg.io.sync").map(|t| t.rule),
            Some(RuleId::ScalarRead)
        );
        assert_eq!(
            p.transfer_function_named("pkg.os.sync").map(|t| t.rule),
            Some(RuleId::ExplicitSync)
        );
        assert_eq!(p.transfer_function("io.sync").map(|t| t.rule), Some(RuleId::ScalarRead));
    }

    #[test]
    fn test_paths() {
        assert!(is_test_path("tests/test_x.py"));
        assert!(is_test_path("pkg/conftest.py"));
        assert!(is_test_path("a/b_test.py"));
        assert!(!is_test_path("pkg/latest.py"));
        assert!(!is_test_path("testing.py"));
    }
}
