//! The three phases a run goes through. Transfers and host allocations are
//! attributed to the phase they happen in, and the runtime severity policy
//! depends on it: only the frame phase is hot.

use std::fmt;

/// Where in a run a transfer or an allocation happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Phase {
    /// Building the pipeline, loading weights, uploading constants.
    Setup,
    /// Inside `Pipeline::process_frame`: the hot path.
    Frame,
    /// After the last frame: summaries, saving weights.
    Teardown,
}

impl Phase {
    /// Every phase, in run order.
    pub const ALL: [Phase; 3] = [Phase::Setup, Phase::Frame, Phase::Teardown];

    /// `setup`, `frame` or `teardown` (the report schema's spelling).
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Setup => "setup",
            Phase::Frame => "frame",
            Phase::Teardown => "teardown",
        }
    }

    pub(crate) fn index(self) -> usize {
        match self {
            Phase::Setup => 0,
            Phase::Frame => 1,
            Phase::Teardown => 2,
        }
    }

    pub(crate) fn from_index(index: u8) -> Phase {
        match index {
            1 => Phase::Frame,
            2 => Phase::Teardown,
            _ => Phase::Setup,
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
