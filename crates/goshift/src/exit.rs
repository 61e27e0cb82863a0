//! Exit statuses: what CI gates and scripts rely on.

use std::process::ExitCode;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExitStatus {
    /// It did what was asked and found nothing wrong: 0.
    Success,
    /// It ran, and what it checked is not fine (verification differences, gate violations,
    /// vulnerabilities found, an upgrade that rolled back): 1.
    Failure,
    /// It could not do what was asked (bad input, configuration, I/O): 2.
    Error,
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        match status {
            ExitStatus::Success => Self::SUCCESS,
            ExitStatus::Failure => Self::from(1),
            ExitStatus::Error => Self::from(2),
        }
    }
}
