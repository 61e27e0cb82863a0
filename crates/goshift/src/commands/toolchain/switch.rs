//! The part `use` and `rollback` share: authorise the switch, make it under the lock with its
//! audit record, refresh the links, and report it.

use goshift_store::Action;
use goshift_version::GoVersion;

use super::{HeldLock, ToolchainSettings, refresh_links};
use crate::exit::ExitStatus;
use crate::governance::{self, Change};
use crate::settings::GlobalSettings;

/// One switch of the default, from `from` to `target`.
pub(super) struct Switch<'a> {
    /// `use` or `rollback`, as audited.
    pub(super) verb: &'static str,
    /// The history action.
    pub(super) action: Action,
    /// The default before the switch.
    pub(super) from: Option<GoVersion>,
    /// The new default.
    pub(super) target: GoVersion,
    /// `--force`.
    pub(super) force: bool,
    /// `--reason`.
    pub(super) reason: Option<String>,
    /// Extra audit details beside the history number.
    pub(super) details: serde_json::Value,
    /// The status line once switched, given the previous default's name.
    pub(super) done: &'a dyn Fn(&str) -> String,
}

/// Makes the switch; `lock` is held until the links are refreshed.
pub(super) fn switch(
    switch: Switch<'_>,
    settings: &GlobalSettings,
    toolchain: &ToolchainSettings,
    lock: HeldLock,
) -> anyhow::Result<ExitStatus> {
    let Switch {
        verb,
        action,
        from,
        target,
        force,
        reason,
        details,
        done,
    } = switch;
    let name = target.toolchain_name();
    let mut change = Change::new(verb, name.clone())
        .version(target.clone())
        .states(
            from.as_ref().map(GoVersion::toolchain_name),
            Some(name.clone()),
        )
        .overrides(force, reason);
    governance::authorize(settings, &mut change)?;
    let made = governance::audited(
        settings,
        &change,
        || {
            toolchain
                .store
                .set_default(&lock, &target, action)
                .map_err(anyhow::Error::from)
        },
        |made| {
            let mut details = details.clone();
            if let Some(map) = details.as_object_mut() {
                map.insert("history_seq".to_owned(), serde_json::json!(made.seq));
            }
            details
        },
    )?;
    refresh_links(toolchain, &lock)?;
    drop(lock);
    // Changed: the default is `target`.
    let printer = &settings.printer;
    if printer.json() {
        printer.json_value(&made)?;
    } else if made.seq.is_none() {
        printer.status(format!("{name} is already the default"));
    } else {
        printer.status(done(&super::name_or_none(from.as_ref())));
    }
    Ok(ExitStatus::Success)
}
