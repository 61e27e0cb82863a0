//! `goshift policy explain VERSION [--env E]`.

use anyhow::Context as _;
use goshift_version::GoVersion;
use serde_json::json;

use crate::exit::ExitStatus;
use crate::governance;
use crate::settings::GlobalSettings;

/// Prints the decision for a version and every rule that applied.
pub(crate) fn explain(settings: &GlobalSettings, version: &str) -> anyhow::Result<ExitStatus> {
    let version = GoVersion::parse(version).context("invalid version to explain")?;
    let loaded = super::required(settings)?;
    let environment = governance::environment(settings);
    let decision = governance::decide(settings, &loaded.policy, &version, environment.as_deref());
    if settings.printer.json() {
        settings.printer.json_value(&json!({
            "version": version,
            "environment": environment,
            "policy_path": loaded.path.display().to_string(),
            "verdict": decision.verdict,
            "needs_reason": decision.needs_reason,
            "frozen": decision.frozen,
            "overridable": decision.overridable(),
            "reasons": decision.reasons,
        }))?;
        return Ok(ExitStatus::Success);
    }
    let environment_text = environment.as_deref().map_or_else(
        || "no environment".to_owned(),
        |e| format!("environment `{e}`"),
    );
    settings.printer.data(format!(
        "{}: {} in {environment_text} (policy `{}`)",
        version.toolchain_name(),
        decision.verdict,
        loaded.path.display()
    ));
    if decision.reasons.is_empty() {
        settings.printer.data("  no rule applies");
    }
    let origin = loaded.path.display().to_string();
    for reason in &decision.reasons {
        let location = reason
            .line
            .map(|line| format!(" ({origin}:{line})"))
            .unwrap_or_default();
        settings.printer.data(format!(
            "  {:<5} {}{location}: {}",
            reason.verdict.to_string(),
            reason.rule,
            reason.message
        ));
    }
    if decision.verdict == goshift_policy::Verdict::Deny {
        settings.printer.data(if decision.overridable() {
            "  a change to this version needs `--force --reason \"…\"`"
        } else {
            "  the policy does not allow overriding this decision"
        });
    } else if decision.needs_reason {
        settings
            .printer
            .data("  a change to this version needs `--reason \"…\"`");
    }
    Ok(ExitStatus::Success)
}
