//! Evaluating a policy for one Go version: a [`Decision`] with every rule that applied.

use std::fmt;

use goshift_version::GoVersion;
use serde::Serialize;

use crate::{Date, Policy, Status};

/// What the evaluation knows besides the version.
#[derive(Debug, Clone, Copy, Default)]
pub struct EvalContext<'a> {
    /// The machine's environment (`prod`, `ci`), if any.
    pub environment: Option<&'a str>,
    /// The newest known Go release, for `support_window`; `None` skips that rule.
    pub newest: Option<&'a GoVersion>,
    /// Today's date, for `since`; `None` skips that check.
    pub today: Option<Date>,
}

/// The outcome of one rule, or of a whole evaluation. Ordered: `Allow < Warn < Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Nothing against it.
    Allow,
    /// Allowed, with something to look at.
    Warn,
    /// Refused.
    Deny,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Allow => "allow",
            Self::Warn => "warn",
            Self::Deny => "deny",
        })
    }
}

/// The rules of a policy, as identifiers (also SARIF `ruleId`s).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// A `[[blocked]]` range.
    Blocked,
    /// An environment's `allowed` list.
    Allowed,
    /// `support_window`.
    SupportWindow,
    /// `freeze`.
    Freeze,
    /// `require_reason`.
    RequireReason,
    /// The machine's environment has no `[environments.NAME]` entry.
    UnknownEnvironment,
    /// An environment's `status` and `since`.
    Rollout,
}

impl Rule {
    /// The rule's identifier: `blocked`, `allowed`, `support-window`, …
    pub fn id(self) -> &'static str {
        match self {
            Self::Blocked => "blocked",
            Self::Allowed => "allowed",
            Self::SupportWindow => "support-window",
            Self::Freeze => "freeze",
            Self::RequireReason => "require-reason",
            Self::UnknownEnvironment => "unknown-environment",
            Self::Rollout => "rollout",
        }
    }

    /// Every rule, in identifier order.
    pub const ALL: [Self; 7] = [
        Self::Blocked,
        Self::Allowed,
        Self::SupportWindow,
        Self::Freeze,
        Self::RequireReason,
        Self::UnknownEnvironment,
        Self::Rollout,
    ];

    /// One sentence describing the rule.
    pub fn description(self) -> &'static str {
        match self {
            Self::Blocked => "The version is in a blocked range of the policy",
            Self::Allowed => "The version is not in the environment's allowed list",
            Self::SupportWindow => "The version is older than the policy's support window",
            Self::Freeze => "A change freeze is in force",
            Self::RequireReason => "Changes in this environment need a reason",
            Self::UnknownEnvironment => "The environment has no entry in the policy",
            Self::Rollout => "The environment's rollout status needs attention",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// One rule that applied, and what it said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    /// The rule.
    pub rule: Rule,
    /// What this rule alone decided.
    pub verdict: Verdict,
    /// A sentence for people.
    pub message: String,
    /// Advisory identifiers, for blocked versions.
    pub advisories: Vec<String>,
    /// Whether `--force --reason` may override a denial by this rule.
    pub overridable: bool,
    /// The line of the policy file the rule comes from, when it has one.
    pub line: Option<usize>,
}

/// The decision for one version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// The strictest verdict of all reasons.
    pub verdict: Verdict,
    /// Every rule that applied, in evaluation order.
    pub reasons: Vec<Reason>,
    /// A change needs `--reason` (`freeze` or `require_reason`).
    pub needs_reason: bool,
    /// A change freeze is in force: every change needs `--force` and `--reason`.
    pub frozen: bool,
}

impl Decision {
    /// Returns true if and only if every denial may be overridden with `--force --reason`.
    pub fn overridable(&self) -> bool {
        self.reasons
            .iter()
            .filter(|r| r.verdict == Verdict::Deny)
            .all(|r| r.overridable)
    }

    /// The reasons with the given verdict.
    pub fn with_verdict(&self, verdict: Verdict) -> impl Iterator<Item = &Reason> {
        self.reasons.iter().filter(move |r| r.verdict == verdict)
    }
}

impl Policy {
    /// Decides whether `version` may be installed or used in the context. The rules are
    /// checked one after another, in the order their reasons are reported.
    pub fn evaluate(&self, version: &GoVersion, context: &EvalContext<'_>) -> Decision {
        let mut reasons = Vec::new();
        if self.freeze {
            reasons.push(Reason::new(
                Rule::Freeze,
                Verdict::Deny,
                "a change freeze is in force: changes need `--force` and `--reason`".to_owned(),
                true,
            ));
        }
        reasons.extend(self.blocked_reasons(version));
        if let Some(window) = self.support_window {
            reasons.push(self.support_window_reason(window, version, context.newest));
        }
        let mut needs_reason = self.freeze;
        if let Some(name) = context.environment {
            self.environment_reasons(name, version, context.today, &mut reasons);
            if self.require_reason.iter().any(|n| n == name) {
                needs_reason = true;
                reasons.push(Reason::new(
                    Rule::RequireReason,
                    Verdict::Allow,
                    format!("changes in `{name}` need `--reason`"),
                    true,
                ));
            }
        }
        let verdict = reasons
            .iter()
            .map(|r| r.verdict)
            .max()
            .unwrap_or(Verdict::Allow);
        Decision {
            verdict,
            reasons,
            needs_reason,
            frozen: self.freeze,
        }
    }

    /// A denial for every `[[blocked]]` range holding `version`.
    fn blocked_reasons<'a>(&'a self, version: &'a GoVersion) -> impl Iterator<Item = Reason> + 'a {
        self.blocked
            .iter()
            .filter(|blocked| blocked.versions.contains(version))
            .map(move |blocked| {
                let advisories = if blocked.advisories.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", blocked.advisories.join(", "))
                };
                Reason {
                    advisories: blocked.advisories.clone(),
                    ..Reason::new(
                        Rule::Blocked,
                        Verdict::Deny,
                        format!(
                            "{version} is blocked by `{}`: {}{advisories}",
                            blocked.versions, blocked.reason
                        ),
                        self.allow_force && blocked.overridable,
                    )
                    .at(blocked.line)
                }
            })
    }

    /// Whether `version` is one of the newest `window` Go lines.
    fn support_window_reason(
        &self,
        window: u32,
        version: &GoVersion,
        newest: Option<&GoVersion>,
    ) -> Reason {
        let Some(newest) = newest else {
            return Reason::new(
                Rule::SupportWindow,
                Verdict::Allow,
                "not checked: the newest Go release is unknown".to_owned(),
                true,
            );
        };
        let oldest_minor = newest.minor().saturating_sub(u64::from(window) - 1);
        let inside = version.major() > newest.major()
            || (version.major() == newest.major() && version.minor() >= oldest_minor);
        let lines = format!(
            "the newest {window} Go line{} (go{}.{} and later, newest release {newest})",
            if window == 1 { "" } else { "s" },
            newest.major(),
            oldest_minor
        );
        let (verdict, message) = if inside {
            (Verdict::Allow, format!("{version} is within {lines}"))
        } else {
            (
                Verdict::Deny,
                format!("{version} is outside the support window: only {lines} are allowed"),
            )
        };
        Reason::new(Rule::SupportWindow, verdict, message, self.allow_force)
    }

    /// The rules of the machine's environment: its `allowed` list, a paused rollout, rules
    /// not yet in effect; a warning when the policy has environments but not this one.
    fn environment_reasons(
        &self,
        name: &str,
        version: &GoVersion,
        today: Option<Date>,
        reasons: &mut Vec<Reason>,
    ) {
        let Some(environment) = self.environments.get(name) else {
            if !self.environments.is_empty() {
                reasons.push(Reason::new(
                    Rule::UnknownEnvironment,
                    Verdict::Warn,
                    format!(
                        "environment `{name}` has no `[environments.{name}]` entry: only global rules apply"
                    ),
                    true,
                ));
            }
            return;
        };
        if !environment.allowed.is_empty() {
            let (verdict, message) =
                if let Some(range) = environment.allowed.iter().find(|r| r.contains(version)) {
                    (
                        Verdict::Allow,
                        format!("{version} is allowed in `{name}` by `{range}`"),
                    )
                } else {
                    let listed: Vec<String> = environment
                        .allowed
                        .iter()
                        .map(ToString::to_string)
                        .collect();
                    (
                        Verdict::Deny,
                        format!(
                            "{version} is not allowed in `{name}` (allowed: {})",
                            listed.join(", ")
                        ),
                    )
                };
            reasons.push(
                Reason::new(Rule::Allowed, verdict, message, self.allow_force).at(environment.line),
            );
        }
        if environment.status == Some(Status::Paused) {
            let message = format!("the rollout in `{name}` is paused");
            reasons.push(
                Reason::new(Rule::Rollout, Verdict::Warn, message, true).at(environment.line),
            );
        }
        if let (Some(since), Some(today)) = (environment.since, today)
            && since > today
        {
            let message = format!("the rules of `{name}` take effect on {since}");
            reasons.push(
                Reason::new(Rule::Rollout, Verdict::Warn, message, true).at(environment.line),
            );
        }
    }
}

impl Reason {
    /// A reason without advisories and without a line of the policy file.
    fn new(rule: Rule, verdict: Verdict, message: String, overridable: bool) -> Self {
        Self {
            rule,
            verdict,
            message,
            advisories: Vec::new(),
            overridable,
            line: None,
        }
    }

    /// The same reason, from this line of the policy file.
    fn at(self, line: usize) -> Self {
        Self {
            line: Some(line),
            ..self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = r#"support_window = 2
require_reason = ["prod"]

[[blocked]]
versions = ">=1.21.0, <1.21.3"
reason = "HTTP/2 rapid reset"
advisories = ["GO-2023-2102", "CVE-2023-39325"]

[[blocked]]
versions = "1.20.7"
reason = "miscompiles"
overridable = false

[environments.prod]
allowed = ["1.21.13", "1.22"]
default = "1.21.13"
status = "verified"

[environments.staging]
status = "paused"
since = "2030-01-01"
"#;

    fn v(text: &str) -> GoVersion {
        GoVersion::parse(text).unwrap()
    }

    /// (version, environment, newest known?, verdict, rules that applied, overridable, needs
    /// reason)
    type Case = (
        &'static str,
        Option<&'static str>,
        bool,
        Verdict,
        &'static [Rule],
        bool,
        bool,
    );

    const CASES_WITHOUT_ENVIRONMENT: &[Case] = &[
        (
            "1.22.10",
            None,
            true,
            Verdict::Allow,
            &[Rule::SupportWindow],
            true,
            false,
        ),
        (
            "1.21.1",
            None,
            true,
            Verdict::Deny,
            &[Rule::Blocked, Rule::SupportWindow],
            true,
            false,
        ),
        (
            "1.21.3",
            None,
            true,
            Verdict::Allow,
            &[Rule::SupportWindow],
            true,
            false,
        ),
        (
            "1.20.7",
            None,
            true,
            Verdict::Deny,
            &[Rule::Blocked, Rule::SupportWindow],
            false,
            false,
        ),
        (
            "1.20.6",
            None,
            true,
            Verdict::Deny,
            &[Rule::SupportWindow],
            true,
            false,
        ),
        (
            "1.20.6",
            None,
            false,
            Verdict::Allow,
            &[Rule::SupportWindow],
            true,
            false,
        ),
        (
            "1.23rc1",
            None,
            true,
            Verdict::Allow,
            &[Rule::SupportWindow],
            true,
            false,
        ),
    ];

    const CASES_IN_ENVIRONMENTS: &[Case] = &[
        (
            "1.22.3",
            Some("prod"),
            true,
            Verdict::Allow,
            &[Rule::SupportWindow, Rule::Allowed, Rule::RequireReason],
            true,
            true,
        ),
        (
            "1.21.12",
            Some("prod"),
            true,
            Verdict::Deny,
            &[Rule::SupportWindow, Rule::Allowed, Rule::RequireReason],
            true,
            true,
        ),
        (
            "1.22.10",
            Some("staging"),
            true,
            Verdict::Warn,
            &[Rule::SupportWindow, Rule::Rollout, Rule::Rollout],
            true,
            false,
        ),
        (
            "1.22.10",
            Some("dev"),
            true,
            Verdict::Warn,
            &[Rule::SupportWindow, Rule::UnknownEnvironment],
            true,
            false,
        ),
    ];

    #[test]
    fn evaluation_table() {
        let policy = Policy::parse(POLICY, "p").unwrap();
        for case in CASES_WITHOUT_ENVIRONMENT
            .iter()
            .chain(CASES_IN_ENVIRONMENTS)
        {
            check_case(&policy, case);
        }
    }

    fn check_case(policy: &Policy, case: &Case) {
        let (version, environment, known, verdict, rules, overridable, needs_reason) = case;
        let newest = v("1.22.10");
        let today = Date::parse("2026-01-01");
        let context = EvalContext {
            environment: *environment,
            newest: known.then_some(&newest),
            today,
        };
        let decision = policy.evaluate(&v(version), &context);
        let applied: Vec<Rule> = decision.reasons.iter().map(|r| r.rule).collect();
        let row = format!("{version} in {environment:?}: {decision:#?}");
        assert_eq!(decision.verdict, *verdict, "{row}");
        assert_eq!(applied, *rules, "{row}");
        assert_eq!(decision.overridable(), *overridable, "{row}");
        assert_eq!(decision.needs_reason, *needs_reason, "{row}");
    }

    #[test]
    fn blocked_reason_names_range_and_advisories() {
        let policy = Policy::parse(POLICY, "p").unwrap();
        let decision = policy.evaluate(&v("1.21.2"), &EvalContext::default());
        let reason = &decision.reasons[0];
        assert_eq!(
            reason.message,
            "1.21.2 is blocked by `>=1.21.0, <1.21.3`: HTTP/2 rapid reset (GO-2023-2102, CVE-2023-39325)"
        );
        assert_eq!(reason.line, Some(4));
        assert_eq!(reason.advisories, ["GO-2023-2102", "CVE-2023-39325"]);
    }

    #[test]
    fn freeze_denies_everything_but_stays_overridable() {
        let policy = Policy::parse("freeze = true\nallow_force = false\n", "p").unwrap();
        let decision = policy.evaluate(&v("1.22.10"), &EvalContext::default());
        assert_eq!(decision.verdict, Verdict::Deny);
        assert!(decision.frozen && decision.needs_reason && decision.overridable());
    }

    #[test]
    fn allow_force_false_makes_denials_final() {
        let policy = Policy::parse(
            "allow_force = false\n[[blocked]]\nversions = \"1.22\"\nreason = \"r\"\n",
            "p",
        )
        .unwrap();
        let decision = policy.evaluate(&v("1.22.1"), &EvalContext::default());
        assert_eq!(decision.verdict, Verdict::Deny);
        assert!(!decision.overridable());
    }

    #[test]
    fn support_window_of_one() {
        let policy = Policy::parse("support_window = 1\n", "p").unwrap();
        let newest = v("1.22.10");
        let context = EvalContext {
            newest: Some(&newest),
            ..EvalContext::default()
        };
        assert_eq!(
            policy.evaluate(&v("1.22.0"), &context).verdict,
            Verdict::Allow
        );
        let decision = policy.evaluate(&v("1.21.13"), &context);
        assert_eq!(
            decision.reasons[0].message,
            "1.21.13 is outside the support window: only the newest 1 Go line (go1.22 and later, newest release 1.22.10) are allowed"
        );
    }
}
