//! The three-level severity scale shared by the static and runtime reports.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How much a site costs a GPU pipeline, derived from its context.
///
/// Ordered: `Low < Medium < Critical`, so `--fail-on medium` means "medium or worse".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Tolerated: guarded by a debug flag, on an error path, in setup or tests.
    Low,
    /// Optimisable: per-call API code outside the frame path.
    Medium,
    /// Production-blocking: unguarded, on a hot path.
    Critical,
}

impl Severity {
    /// All severities, most severe first (the order reports list them in).
    pub const DESCENDING: [Severity; 3] = [Severity::Critical, Severity::Medium, Severity::Low];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A severity name that is not `critical`, `medium` or `low`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseSeverityError(pub String);

impl fmt::Display for ParseSeverityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown severity `{}` (expected critical, medium or low)", self.0)
    }
}

impl std::error::Error for ParseSeverityError {}

impl FromStr for Severity {
    type Err = ParseSeverityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "low" => Ok(Severity::Low),
            "medium" => Ok(Severity::Medium),
            "critical" => Ok(Severity::Critical),
            _ => Err(ParseSeverityError(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordering_puts_critical_on_top() {
        assert!(Severity::Critical > Severity::Medium);
        assert!(Severity::Medium > Severity::Low);
    }

    #[test]
    fn parses_names_case_insensitively_and_rejects_others() {
        assert_eq!("Critical".parse::<Severity>(), Ok(Severity::Critical));
        assert_eq!("low".parse::<Severity>(), Ok(Severity::Low));
        assert!("severe".parse::<Severity>().is_err());
    }
}
