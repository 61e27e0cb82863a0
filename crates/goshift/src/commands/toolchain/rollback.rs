//! `goshift rollback [--to N]`.

use std::fmt::Write as _;

use goshift_store::{Action, HistoryEntry};
use goshift_version::GoVersion;

use super::switch::{Switch, switch};
use super::{ToolchainSettings, clean};
use crate::cli::toolchain::RollbackArgs;
use crate::exit::ExitStatus;
use crate::settings::GlobalSettings;

/// Switches the default back to the previous one, or to the version switch N set.
pub(crate) fn rollback(
    args: &RollbackArgs,
    settings: &GlobalSettings,
    toolchain: &ToolchainSettings,
) -> anyhow::Result<ExitStatus> {
    let RollbackArgs {
        to,
        force,
        ref change,
    } = *args;
    let reason = change.reason.clone();
    let store = &toolchain.store;
    let lock = toolchain.lock(settings)?;
    clean(settings, toolchain, &lock)?;
    let from = store.default_version()?;
    let target = store.rollback_target(to)?;
    let next = if to.is_none() {
        let history = store.history()?;
        next_steps(&history, from.as_ref(), &target)
    } else {
        String::new()
    };
    // About to change the default: `from` → `target`.
    let done = |was: &str| format!("Rolled back the default: {was} -> go{target}{next}");
    switch(
        Switch {
            verb: "rollback",
            action: Action::Rollback,
            from,
            target: target.clone(),
            force,
            reason,
            details: serde_json::json!({ "to_switch": to }),
            done: &done,
        },
        settings,
        toolchain,
        lock,
    )
}

/// What a plain `rollback` does, said after it: a second one undoes it (history is a list of
/// switches, and a rollback is one more), and `--to N` steps further back, naming N.
fn next_steps(history: &[HistoryEntry], from: Option<&GoVersion>, target: &GoVersion) -> String {
    let Some(from) = from else {
        return String::new();
    };
    let mut text = format!(
        "\nA second `goshift rollback` undoes this one (back to {})",
        from.toolchain_name()
    );
    // The switch being undone, the one that had set `target` before it, and what that one
    // replaced: the version one step further back.
    let undone = history.iter().rev().find(|e| e.to.as_ref() == Some(from));
    let further = undone.and_then(|undone| {
        history
            .iter()
            .rev()
            .filter(|e| e.seq < undone.seq)
            .find(|e| e.to.as_ref() == Some(target))?
            .from
            .clone()
    });
    let step = further
        .filter(|further| further != target && further != from)
        .and_then(|further| {
            let entry = history
                .iter()
                .rev()
                .find(|e| e.to.as_ref() == Some(&further))?;
            Some((further, entry.seq))
        });
    if let Some((further, seq)) = step {
        let _ = write!(
            text,
            "; to step further back, to {}, run `goshift rollback --to {seq}`",
            further.toolchain_name()
        );
    }
    text
}
