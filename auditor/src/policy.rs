//! The context policy: which functions are hot, which conditions are debug
//! guards, which places are cold. Kept as data, not as conditionals scattered
//! through the front ends, so configuration can extend it.

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
    /// Cold functions: (name prefix, what they are), matched after leading underscores.
    pub cold_prefixes: Vec<(String, String)>,
    /// Cold functions by exact name.
    pub cold_names: Vec<(String, String)>,
    /// The project's own helpers that copy to the host (`utils.to_numpy`):
    /// their calls are D2H001 sites (configuration key `transfer-functions`).
    pub transfer_functions: Vec<String>,
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
            cold_prefixes: pairs(&[
                ("load", "load/save"),
                ("save", "load/save"),
                ("checkpoint", "load/save"),
                ("from_pretrained", "load/save"),
                ("state_dict", "load/save"),
                ("setup", "setup"),
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
        }
    }
}

impl Policy {
    /// Why `name` is a hot root by its name, if it is one.
    pub fn hot_by_name(&self, name: &str) -> Option<String> {
        if self.hot_names.iter().any(|n| n == name) {
            return Some(format!("named `{name}`"));
        }
        let bare = name.trim_start_matches('_');
        self.hot_prefixes
            .iter()
            .find(|p| bare.starts_with(p.as_str()))
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
    /// matches any call of that name.
    pub fn transfer_function(&self, qualified: &str) -> Option<&str> {
        let dotted_suffix = |long: &str, short: &str| {
            long.len() > short.len() && long.ends_with(short) && long.as_bytes()[long.len() - short.len() - 1] == b'.'
        };
        self.transfer_functions
            .iter()
            .find(|entry| {
                let entry = entry.as_str();
                entry == qualified
                    || dotted_suffix(qualified, entry)
                    || (qualified.contains('.') && dotted_suffix(entry, qualified))
                    || (!qualified.contains('.') && entry.rsplit('.').next() == Some(qualified))
            })
            .map(String::as_str)
    }

    /// Whether a callee's last name segment looks like a model (`self.model`, `self.sam_decoder`).
    pub fn is_model_name(&self, segment: &str) -> bool {
        let lower = segment.trim_start_matches('_').to_ascii_lowercase();
        self.model_names.iter().any(|m| {
            let m = m.as_str();
            lower == m
                || lower.strip_suffix(m).is_some_and(|rest| rest.ends_with('_'))
                || lower.strip_prefix(m).is_some_and(|rest| rest.starts_with('_'))
        })
    }
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
            transfer_functions: vec!["utils.to_numpy".to_string(), "fetch".to_string()],
            ..Policy::default()
        };
        assert_eq!(p.transfer_function("utils.to_numpy"), Some("utils.to_numpy"));
        assert_eq!(p.transfer_function("pkg.utils.to_numpy"), Some("utils.to_numpy"));
        assert_eq!(p.transfer_function("to_numpy"), Some("utils.to_numpy"));
        assert_eq!(p.transfer_function("other.to_numpy"), None);
        assert_eq!(p.transfer_function("myutils.to_numpy"), None);
        assert_eq!(p.transfer_function("io.fetch"), Some("fetch"));
        assert_eq!(Policy::default().transfer_function("to_numpy"), None);
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
