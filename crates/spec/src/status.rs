//! Where a run is in its life, as the store records it.

use std::fmt;
use std::str::FromStr;

/// A run's status. Stored as its name ([`RunStatus::as_str`]); a name this
/// version does not know is an error where it is read, never a guess.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RunStatus {
    /// Registered, waiting for a worker.
    #[default]
    Pending,
    /// Claimed by a worker that holds its lease.
    Running,
    /// Finished; its results are stored.
    Done,
    /// Ended with an error, stored with the run.
    Failed,
}

impl RunStatus {
    /// Every status, in the order tables show them.
    pub const ALL: [RunStatus; 4] = [
        RunStatus::Pending,
        RunStatus::Running,
        RunStatus::Done,
        RunStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Pending => "pending",
            RunStatus::Running => "running",
            RunStatus::Done => "done",
            RunStatus::Failed => "failed",
        }
    }

    /// Whether the run will not train again without being asked to.
    pub fn is_final(self) -> bool {
        matches!(self, RunStatus::Done | RunStatus::Failed)
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A status name this version does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown run status {0:?}; expected pending, running, done or failed")]
pub struct UnknownStatus(pub String);

impl FromStr for RunStatus {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<RunStatus, UnknownStatus> {
        RunStatus::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_ones_are_refused() {
        for s in RunStatus::ALL {
            assert_eq!(s.as_str().parse::<RunStatus>(), Ok(s));
        }
        assert_eq!(
            "Done".parse::<RunStatus>(),
            Err(UnknownStatus("Done".into()))
        );
    }
}

/// What a run is in a sweep: the same run can be a trial in one sweep and
/// a plain grid run in another.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Role {
    /// A grid point on a seed.
    #[default]
    Run,
    /// A search trial: ranked on validation to choose its design's setting,
    /// never reported as the answer.
    Trial,
    /// A design's chosen setting trained on a fresh seed: what `compare`
    /// reports for a sweep with a search.
    Evaluate,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Run, Role::Trial, Role::Evaluate];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Run => "run",
            Role::Trial => "trial",
            Role::Evaluate => "evaluate",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name this version does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown run role {0:?}; expected run, trial or evaluate")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Role, UnknownRole> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_string()))
    }
}
