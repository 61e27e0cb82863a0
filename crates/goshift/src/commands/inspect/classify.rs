//! Policy classification of a Go binary: ok, warn or block.
//!
//! A binary is blocked when the policy blocks its Go version or a known vulnerability
//! affects it; it earns a warning when its Go version is outside the support window or the
//! environment's allowed list, when it is a `(devel)` build, or when it was built from a
//! modified VCS tree.

use goshift_binary::BuildInfo;
use goshift_binary::vuln::Finding;
use goshift_policy::{Policy, Rule, Verdict};
use goshift_version::GoVersion;
use serde::Serialize;

use crate::governance;
use crate::settings::GlobalSettings;

/// The verdict for one binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Status {
    Ok,
    Warn,
    Block,
}

impl Status {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Warn => "warn",
            Self::Block => "block",
        }
    }
}

/// A status and every reason for it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Classification {
    pub(crate) status: Status,
    pub(crate) reasons: Vec<String>,
}

/// Classifies binaries against the policy in force.
#[derive(Debug)]
pub(crate) struct Classifier<'a> {
    settings: &'a GlobalSettings,
    policy: Policy,
    environment: Option<String>,
}

impl<'a> Classifier<'a> {
    /// The classifier for the policy in force, or `None` when there is no policy.
    pub(crate) fn load(settings: &'a GlobalSettings) -> anyhow::Result<Option<Self>> {
        let Some(loaded) = governance::load_policy(settings)? else {
            return Ok(None);
        };
        Ok(Some(Self {
            settings,
            policy: loaded.policy,
            environment: governance::environment(settings),
        }))
    }

    /// Classifies one binary; `findings` are its known vulnerabilities, if checked.
    pub(crate) fn classify(
        &self,
        info: &BuildInfo,
        findings: Option<&[Finding]>,
    ) -> Classification {
        let mut status = Status::Ok;
        let mut reasons = Vec::new();
        let mut raise = |to: Status, reason: String| {
            status = status.max(to);
            reasons.push(reason);
        };
        let tag = info
            .go_version
            .split_whitespace()
            .next()
            .unwrap_or_default();
        match tag.strip_prefix("go").map(GoVersion::parse) {
            Some(Ok(version)) => {
                let decision = governance::decide(
                    self.settings,
                    &self.policy,
                    &version,
                    self.environment.as_deref(),
                );
                for reason in &decision.reasons {
                    let to = match (reason.rule, reason.verdict) {
                        (_, Verdict::Allow) => continue,
                        (Rule::Blocked, Verdict::Deny) => Status::Block,
                        (Rule::Blocked | Rule::SupportWindow | Rule::Allowed, _) => Status::Warn,
                        // Freeze, reasons and roll-out govern changes, not running binaries.
                        _ => continue,
                    };
                    raise(to, reason.message.clone());
                }
            }
            _ => raise(
                Status::Warn,
                format!(
                    "built by an unreleased or custom Go (`{}`)",
                    info.go_version
                ),
            ),
        }
        if info
            .main_module()
            .is_some_and(|m| m.effective().version == "(devel)")
        {
            raise(
                Status::Warn,
                "a `(devel)` build: the main module has no version".to_owned(),
            );
        }
        if info.vcs_modified() {
            raise(Status::Warn, "built from a modified VCS tree".to_owned());
        }
        if let Some(findings) = findings.filter(|f| !f.is_empty()) {
            let mut ids: Vec<&str> = findings.iter().map(|f| f.id.as_str()).collect();
            ids.dedup();
            raise(
                Status::Block,
                format!("known vulnerabilities: {}", ids.join(", ")),
            );
        }
        Classification { status, reasons }
    }
}
