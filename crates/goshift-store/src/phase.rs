//! The phases of a store mutation, reported to an observer once each is true on disk.

use std::fmt;

/// A point in a mutation, in the order they happen. Tests use these to stop a process at an
/// exact point (and kill it there); nothing else depends on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// The audit log records the intent of a change; nothing has changed yet. (Reported by
    /// the caller, which keeps the audit log.)
    IntentRecorded,
    /// A staging area exists and is locked by its owner.
    Staged,
    /// The toolchain tree is complete in the staging area (unpacked or copied).
    Unpacked,
    /// The smoke test passed or was skipped.
    SmokeTested,
    /// The manifest is written; the tree is not yet published.
    ManifestWritten,
    /// The tree is live in `toolchains/`.
    Published,
    /// The `default` link points at the new version; the history is not yet written.
    DefaultSwitched,
    /// The history records the switch.
    HistoryWritten,
    /// A toolchain was moved out of `toolchains/`, not yet deleted.
    Removed,
    /// The change was handed to the process that carries it out (the supervisor, for
    /// `svc upgrade`), which reported its first step; its outcome is not known yet. (Reported
    /// by the caller.)
    Requested,
    /// The audit log records the outcome of a change. (Reported by the caller.)
    OutcomeRecorded,
}

impl Phase {
    /// Every phase, in order.
    pub const ALL: [Self; 11] = [
        Self::IntentRecorded,
        Self::Staged,
        Self::Unpacked,
        Self::SmokeTested,
        Self::ManifestWritten,
        Self::Published,
        Self::DefaultSwitched,
        Self::HistoryWritten,
        Self::Removed,
        Self::Requested,
        Self::OutcomeRecorded,
    ];

    /// The phase's name in kebab case (`manifest-written`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Staged => "staged",
            Self::Unpacked => "unpacked",
            Self::SmokeTested => "smoke-tested",
            Self::ManifestWritten => "manifest-written",
            Self::Published => "published",
            Self::DefaultSwitched => "default-switched",
            Self::HistoryWritten => "history-written",
            Self::Removed => "removed",
            Self::Requested => "requested",
            Self::IntentRecorded => "intent-recorded",
            Self::OutcomeRecorded => "outcome-recorded",
        }
    }

    /// The phase with this [`name`](Self::name).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
