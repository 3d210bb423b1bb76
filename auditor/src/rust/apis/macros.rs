//! Macros: which format their arguments, which format only on the error
//! path, which log.

/// Macros that format their arguments.
pub const FORMAT_MACROS: &[&str] = &[
    "println",
    "print",
    "eprintln",
    "eprint",
    "format",
    "format_args",
    "write",
    "writeln",
    "panic",
    "unreachable",
    "todo",
    "unimplemented",
    "assert",
    "assert_eq",
    "assert_ne",
    "debug_assert",
    "debug_assert_eq",
    "debug_assert_ne",
    "info",
    "warn",
    "error",
    "debug",
    "trace",
    "event",
    "log",
    "anyhow",
    "bail",
    "ensure",
    "format_err",
    "dbg",
];

/// Format macros whose message is only formatted on the error path.
pub const PANIC_MACROS: &[&str] = &[
    "panic",
    "unreachable",
    "todo",
    "unimplemented",
    "assert",
    "assert_eq",
    "assert_ne",
    "debug_assert",
    "debug_assert_eq",
    "debug_assert_ne",
    "anyhow",
    "bail",
    "ensure",
    "format_err",
];

/// Logging macros (of `log` and `tracing`).
pub const LOG_MACROS: &[&str] = &["info", "warn", "error", "debug", "trace", "event", "log"];
