//! `goshift svc rollback NAME`.

use goshift_supervisor::Request;

use crate::cli::SvcRollbackArgs;
use crate::exit::ExitStatus;
use crate::governance::{self, Change};
use crate::settings::GlobalSettings;

/// Swaps NAME back to the release that served before the current one.
pub(crate) fn rollback(
    args: SvcRollbackArgs,
    settings: &GlobalSettings,
) -> anyhow::Result<ExitStatus> {
    let SvcRollbackArgs {
        name,
        reason,
        control,
    } = args;
    let client = super::client(control.control, settings);
    let mut change = Change::new("svc.rollback", &name).overrides(false, reason.clone());
    governance::authorize(settings, &mut change)?;
    super::run_upgrade(
        &client,
        &Request::Rollback {
            service: name,
            reason,
        },
        &mut change,
        settings,
    )
}
