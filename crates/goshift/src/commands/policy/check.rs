//! `goshift policy check [FILE]`.

use std::path::Path;

use anyhow::Context as _;
use goshift_fs::fs;
use goshift_policy::Policy;
use serde_json::json;

use crate::error::hinted;
use crate::exit::ExitStatus;
use crate::governance;
use crate::settings::GlobalSettings;

/// Validates a policy file; exit 1 listing every problem with line and column.
pub(crate) fn check(settings: &GlobalSettings, file: Option<&Path>) -> anyhow::Result<ExitStatus> {
    let path = match file {
        Some(file) => settings.cwd.join(file),
        None => governance::policy_path(settings).ok_or_else(|| {
            hinted(
                format!(
                    "no policy file found (looked for `--policy`, GOSHIFT_POLICY, `{}` and `{}`)",
                    settings.dirs.in_home("policy.toml").display(),
                    governance::SYSTEM_POLICY
                ),
                "name the file to check: `goshift policy check FILE`",
            )
        })?,
    };
    let text = fs::read_to_string(&path)
        .with_context(|| format!("failed to read the policy file `{}`", path.display()))?;
    let shown = file.map_or_else(|| path.display().to_string(), |f| f.display().to_string());
    match Policy::parse(&text, &shown) {
        Ok(policy) => {
            if settings.printer.json() {
                settings.printer.json_value(&json!({
                    "path": shown,
                    "valid": true,
                    "errors": [],
                }))?;
            } else {
                settings.printer.status(format!(
                    "`{shown}` is a valid policy: {} blocked range{}, {} environment{}{}",
                    policy.blocked.len(),
                    plural(policy.blocked.len()),
                    policy.environments.len(),
                    plural(policy.environments.len()),
                    if policy.freeze {
                        ", change freeze in force"
                    } else {
                        ""
                    }
                ));
            }
            Ok(ExitStatus::Success)
        }
        Err(error) => {
            if settings.printer.json() {
                settings.printer.json_value(&json!({
                    "path": shown,
                    "valid": false,
                    "errors": error.diagnostics,
                }))?;
            } else {
                for diagnostic in &error.diagnostics {
                    settings.printer.data(format!("{shown}:{diagnostic}"));
                }
                settings.printer.status(format!(
                    "`{shown}` is not a valid policy: {} problem{}",
                    error.diagnostics.len(),
                    plural(error.diagnostics.len())
                ));
            }
            Ok(ExitStatus::Failure)
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
