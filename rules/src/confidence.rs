//! How sure a finding is that its site really transfers, apart from how
//! much it costs: severity says how often a site runs on the work path,
//! confidence says how sure d2h is that the value is a device tensor.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How sure d2h is that a site transfers.
///
/// Ordered: `Possible < Likely < Certain`, so `--min-confidence likely`
/// means "likely or more certain".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// The receiver's type is not known and the API also exists on host
    /// types (`.item()`, `.tolist()` on a value that may be a numpy array),
    /// or the call may reach several methods, not all of them transfers.
    Possible,
    /// Inferred across functions through the call graph: a parameter whose
    /// callers pass tensors, a callee's return that is a tensor.
    Likely,
    /// The value is proven a device tensor in its function, or the API is
    /// unambiguous (`torch.cuda.synchronize()`); runtime findings, which
    /// did happen, are certain too.
    Certain,
}

impl Confidence {
    /// All confidences, most certain first.
    pub const DESCENDING: [Confidence; 3] = [Confidence::Certain, Confidence::Likely, Confidence::Possible];

    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Possible => "possible",
            Confidence::Likely => "likely",
            Confidence::Certain => "certain",
        }
    }

    /// Whether this is `certain`, which the text renderers leave unsaid.
    pub fn is_certain(&self) -> bool {
        *self == Confidence::Certain
    }
}

impl fmt::Display for Confidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A confidence name that is not `certain`, `likely` or `possible`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseConfidenceError(pub String);

impl fmt::Display for ParseConfidenceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown confidence `{}` (expected certain, likely or possible)",
            self.0
        )
    }
}

impl std::error::Error for ParseConfidenceError {}

impl FromStr for Confidence {
    type Err = ParseConfidenceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "possible" => Ok(Confidence::Possible),
            "likely" => Ok(Confidence::Likely),
            "certain" => Ok(Confidence::Certain),
            _ => Err(ParseConfidenceError(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordering_puts_certain_on_top() {
        assert!(Confidence::Certain > Confidence::Likely);
        assert!(Confidence::Likely > Confidence::Possible);
    }

    #[test]
    fn parses_names_case_insensitively_and_rejects_others() {
        assert_eq!("Certain".parse::<Confidence>(), Ok(Confidence::Certain));
        assert_eq!("possible".parse::<Confidence>(), Ok(Confidence::Possible));
        assert!("sure".parse::<Confidence>().is_err());
    }
}
