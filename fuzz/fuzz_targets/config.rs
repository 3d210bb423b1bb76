//! Any text as a `d2h.toml` or a `pyproject.toml`: a configuration or a clear
//! error, never a panic; and a configuration printed by `d2h config` (its
//! `to_toml`) reads back as the same configuration.
#![no_main]

use std::path::Path;

use d2h_auditor::config::{Config, ConfigKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for (kind, name) in [
        (ConfigKind::D2hToml, "d2h.toml"),
        (ConfigKind::Pyproject, "pyproject.toml"),
    ] {
        match Config::parse(text, kind, Path::new(name)) {
            Ok(config) => {
                let _ = config.policy();
                let settings = config.settings();
                let printed = config.to_toml();
                let again = Config::parse(&printed, ConfigKind::D2hToml, Path::new("d2h.toml"))
                    .unwrap_or_else(|e| panic!("printed configuration does not read back: {e}\n{printed}"));
                // The leading comment names the source file; the keys must not change.
                let body = |t: &str| t.lines().filter(|l| !l.starts_with('#')).collect::<Vec<_>>().join("\n");
                assert_eq!(body(&again.to_toml()), body(&printed), "printing is not stable");
                // `Policy` holds only vectors: its Debug form is a faithful comparison.
                assert_eq!(
                    format!("{:?}", again.policy()),
                    format!("{:?}", config.policy()),
                    "policy changed through printing\n{printed}"
                );
                assert_eq!(again.settings().is_ok(), settings.is_ok(), "{printed}");
            }
            Err(err) => assert!(!err.to_string().is_empty()),
        }
    }
});
