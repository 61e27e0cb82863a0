//! `goshift svc upgrade NAME BINARY`.

use anyhow::Context;
use goshift_supervisor::{ReleaseStore, Reply, Request};

use crate::cli::SvcUpgradeArgs;
use crate::error::hinted;
use crate::exit::ExitStatus;
use crate::governance::{self, Change};
use crate::settings::GlobalSettings;

/// Checks BINARY against the policy and stages it as a release of NAME (nothing runs if it is
/// refused), then asks the supervisor to upgrade and streams the phases.
pub(crate) fn upgrade(
    args: SvcUpgradeArgs,
    settings: &GlobalSettings,
) -> anyhow::Result<ExitStatus> {
    let SvcUpgradeArgs {
        name,
        binary,
        reason,
        force,
        control,
    } = args;
    let client = super::client(control.control, settings);
    // Ask first, so an unknown service stages nothing.
    let replies = super::ask(&client, &Request::Services, |_| {})?;
    let known: Vec<String> = replies
        .iter()
        .flat_map(|r| match r {
            Reply::Services { names } => names.clone(),
            _ => Vec::new(),
        })
        .collect();
    if !known.contains(&name) {
        return Err(hinted(
            format!("the supervisor runs no service `{name}`"),
            format!("it runs: {}", known.join(", ")),
        ));
    }
    let binary = settings.cwd.join(binary);
    let facts = super::build_facts(&binary);
    let mut change = Change::new("svc.upgrade", &name)
        .states(None, Some(binary.display().to_string()))
        .overrides(force, reason.clone());
    if let Some(version) = facts
        .go_version
        .as_deref()
        .and_then(|v| goshift_version::GoVersion::parse(v).ok())
    {
        change = change.version(version);
    }
    governance::authorize(settings, &mut change)?;
    let store = ReleaseStore::new(&settings.dirs.home, &name);
    let release = store
        .stage(&binary, facts, reason.clone())
        .with_context(|| format!("`{}` cannot become a release of `{name}`", binary.display()))?;
    settings.printer.status(format!(
        "staged release {} (sha256 {}, {} bytes)",
        release.id(),
        release.provenance.sha256,
        release.provenance.size
    ));
    governance::pause_for_tests(settings, goshift_store::Phase::Staged);
    super::run_upgrade(
        &client,
        &Request::Upgrade {
            service: name,
            release: release.id().to_owned(),
            reason,
        },
        &mut change,
        settings,
    )
}
