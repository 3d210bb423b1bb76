//! The names each language adds to the shared [`Policy`](super::Policy):
//! Python's model-running methods and logger receivers, Rust's hot and cold
//! traits, test attributes, logging switches and macros. Part of the one
//! policy, so configuration extends both languages in one place.

use super::{owned, pairs};

/// Python-specific names that decide a site's context.
#[derive(Debug, Clone)]
pub struct PythonPolicy {
    /// Module methods that run the model (`self.model.encode(x)` returns a tensor).
    pub model_run_methods: Vec<String>,
    /// Receiver names that are loggers, exactly (`log`, `logging`), after leading underscores.
    pub logger_names: Vec<String>,
    /// Fragments that make a receiver name a logger (`self.logger`, `LOGGER`, `run_logger`).
    pub logger_fragments: Vec<String>,
}

impl Default for PythonPolicy {
    fn default() -> Self {
        PythonPolicy {
            model_run_methods: owned(&[
                "forward",
                "encode",
                "decode",
                "encode_image",
                "predict",
                "generate",
                "infer",
                "inference",
                "postprocess",
                "detect",
                "segment",
                "track",
                "embed",
                "__call__",
            ]),
            logger_names: owned(&["log", "logging"]),
            logger_fragments: owned(&["logger"]),
        }
    }
}

impl PythonPolicy {
    pub fn is_model_run_method(&self, method: &str) -> bool {
        self.model_run_methods.iter().any(|m| m == method)
    }

    /// Whether a logger-ish receiver name (`logger`, `self.log`, `LOGGER`, `logging`).
    pub fn is_logger_name(&self, segment: &str) -> bool {
        let lower = segment.trim_start_matches('_').to_ascii_lowercase();
        self.logger_names.contains(&lower) || self.logger_fragments.iter().any(|f| lower.contains(f.as_str()))
    }
}

/// Rust-specific names that decide a site's context.
#[derive(Debug, Clone)]
pub struct RustPolicy {
    /// Traits whose impls are hot roots (`impl Module for X`).
    pub hot_traits: Vec<String>,
    /// Traits whose impls are cold, and what kind of cold (`impl Display for X`: formatting).
    pub cold_traits: Vec<(String, String)>,
    /// Cold functions by exact name (beyond the shared policy's).
    pub cold_names: Vec<(String, String)>,
    /// Cold functions by name prefix (beyond the shared policy's).
    pub cold_prefixes: Vec<(String, String)>,
    /// Attributes that make a function test code (`#[test]`, `#[tokio::test]`).
    pub test_attributes: Vec<String>,
    /// Condition names that are logging switches, matched exactly or as
    /// `name_...` prefixes (`log`, `log_detailed`, `logger`), on top of the
    /// shared guard fragments. `logits` is not one.
    pub guard_log_names: Vec<String>,
    /// Macros whose value is a logging or debug condition (`log_enabled!`, `tracing::enabled!`).
    pub guard_macros: Vec<String>,
    /// Logging macros that format only when their (debug) level is enabled.
    pub guarded_log_macros: Vec<String>,
    /// Method names that run a model, for frame loops (`forward`, `apply`).
    pub model_run_methods: Vec<String>,
    /// Methods whose closure argument runs only on the error path.
    pub error_closure_methods: Vec<String>,
}

impl Default for RustPolicy {
    fn default() -> Self {
        RustPolicy {
            hot_traits: owned(&["Module", "ModuleT"]),
            // candle's `SimpleBackend` serves a `VarBuilder` while a model is built.
            cold_traits: pairs(&[
                ("Display", "formatting"),
                ("Debug", "formatting"),
                ("Drop", "teardown"),
                ("SimpleBackend", "load/save"),
            ]),
            // Constructors by convention (`open` a source, a device, a file).
            cold_names: pairs(&[("new", "setup"), ("default", "setup"), ("open", "setup")]),
            cold_prefixes: pairs(&[("new_", "setup")]),
            test_attributes: owned(&["test", "bench", "rstest", "test_case", "quickcheck"]),
            guard_log_names: owned(&["log", "logs", "logging", "logger", "trace", "tracing"]),
            guard_macros: owned(&[
                "log_enabled",
                "enabled",
                "event_enabled",
                "span_enabled",
                "level_enabled",
            ]),
            guarded_log_macros: owned(&["debug", "trace"]),
            model_run_methods: owned(&[
                "forward",
                "forward_t",
                "forward_ts",
                "apply",
                "apply_t",
                "encode",
                "decode",
                "predict",
                "generate",
                "infer",
                "inference",
                "postprocess",
                "detect",
                "segment",
                "track",
                "embed",
            ]),
            error_closure_methods: owned(&[
                "map_err",
                "unwrap_or_else",
                "or_else",
                "ok_or_else",
                "inspect_err",
                "unwrap_or_else_log",
            ]),
        }
    }
}

impl RustPolicy {
    pub fn hot_trait(&self, name: &str) -> bool {
        self.hot_traits.iter().any(|t| t == name)
    }

    pub fn cold_trait(&self, name: &str) -> Option<&str> {
        self.cold_traits
            .iter()
            .find(|(t, _)| t == name)
            .map(|(_, kind)| kind.as_str())
    }

    /// The Rust-specific cold kind of a function name (`new`, `new_with`...).
    pub fn cold_kind(&self, name: &str) -> Option<&str> {
        if let Some((_, kind)) = self.cold_names.iter().find(|(n, _)| n == name) {
            return Some(kind);
        }
        self.cold_prefixes
            .iter()
            .find(|(p, _)| name.starts_with(p.as_str()))
            .map(|(_, kind)| kind.as_str())
    }

    pub fn is_test_attribute(&self, last_segment: &str) -> bool {
        self.test_attributes.iter().any(|a| a == last_segment)
    }

    /// `log`, `log_detailed`, `logging_enabled`, `logger`: a logging switch (not `logits`).
    pub fn is_log_name(&self, ident: &str) -> bool {
        let lower = ident.trim_start_matches('_').to_ascii_lowercase();
        self.guard_log_names
            .iter()
            .any(|n| lower == *n || lower.strip_prefix(n.as_str()).is_some_and(|rest| rest.starts_with('_')))
    }

    pub fn is_guard_macro(&self, last_segment: &str) -> bool {
        self.guard_macros.iter().any(|m| m == last_segment)
    }

    pub fn is_guarded_log_macro(&self, last_segment: &str) -> bool {
        self.guarded_log_macros.iter().any(|m| m == last_segment)
    }

    pub fn is_model_run_method(&self, method: &str) -> bool {
        self.model_run_methods.iter().any(|m| m == method)
    }

    pub fn is_error_closure_method(&self, method: &str) -> bool {
        self.error_closure_methods.iter().any(|m| m == method)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logger_receivers() {
        let p = PythonPolicy::default();
        assert!(p.is_logger_name("logger"));
        assert!(p.is_logger_name("_LOGGER"));
        assert!(p.is_logger_name("logging"));
        assert!(!p.is_logger_name("logits"));
        assert!(p.is_model_run_method("encode_image"));
        assert!(!p.is_model_run_method("apply"));
    }

    #[test]
    fn log_names_are_not_logits() {
        let p = RustPolicy::default();
        assert!(p.is_log_name("log"));
        assert!(p.is_log_name("log_detailed"));
        assert!(p.is_log_name("logging_enabled"));
        assert!(!p.is_log_name("logits"));
        assert!(!p.is_log_name("login"));
    }

    #[test]
    fn cold_kinds() {
        let p = RustPolicy::default();
        assert_eq!(p.cold_kind("new"), Some("setup"));
        assert_eq!(p.cold_kind("new_with_weights"), Some("setup"));
        assert_eq!(p.cold_kind("newton"), None);
        assert_eq!(p.cold_kind("open"), Some("setup"));
        assert_eq!(p.cold_kind("open_stream"), None);
        assert_eq!(p.cold_trait("Display"), Some("formatting"));
        assert!(p.hot_trait("Module"));
    }
}
