//! Which GODEBUG behaviours of a module differ between two toolchains and language versions.

use std::collections::BTreeSet;

use goshift_version::GoVersion;
use serde::Serialize;

use crate::godebug::{DefaultGodebug, GodebugOverride, GodebugTable, default_godebug};

/// One side of the comparison: a toolchain, its table and the module's language version.
#[derive(Debug, Clone, Copy)]
pub struct GodebugSide<'a> {
    /// The toolchain release.
    pub toolchain: &'a GoVersion,
    /// Its `src/internal/godebugs/table.go`.
    pub table: &'a GodebugTable,
    /// The language version the module is built with on this side.
    pub language: &'a GoVersion,
}

/// How a setting behaves on one side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "value")]
pub enum Behaviour {
    /// The toolchain's own default (the behaviour after the change).
    Default,
    /// A value from the table's `Old`, a directive or a godebug line.
    Set(String),
    /// The toolchain predates the setting, so it behaves as before the change (`Old`).
    Predates(String),
}

impl Behaviour {
    /// The value the behaviour amounts to, `None` for the toolchain's default.
    pub fn value(&self) -> Option<&str> {
        match self {
            Self::Default => None,
            Self::Set(value) | Self::Predates(value) => Some(value),
        }
    }
}

/// A setting whose behaviour differs between the two sides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GodebugChange {
    /// The setting.
    pub name: String,
    /// The package that reads it.
    pub package: String,
    /// The minor version at which its default changed, 0 if it never did.
    pub changed: u64,
    /// The behaviour before.
    pub from: Behaviour,
    /// The behaviour after.
    pub to: Behaviour,
    /// Whether the project imports the package (`None`: the imports are unknown).
    pub imported: Option<bool>,
    /// The line that keeps the old behaviour under the new version, when there is one.
    pub keep: Option<String>,
    /// The new toolchain no longer knows the setting: the old behaviour cannot be kept.
    pub removed: bool,
}

/// The GODEBUG part of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GodebugSection {
    /// The default GODEBUG Go computes before (`go list -f '{{.DefaultGODEBUG}}'`).
    pub from_default: String,
    /// The same after.
    pub to_default: String,
    /// The default with the new toolchain and the `go` line left as it is: what a
    /// toolchain-only upgrade gives.
    pub to_default_same_go_line: String,
    /// Every setting that differs; those of imported packages first, then by name.
    pub changes: Vec<GodebugChange>,
    /// Explicit settings the new toolchain does not know: Go refuses to build with them.
    pub unknown_to_new: Vec<GodebugOverride>,
}

/// Compares the GODEBUG behaviour of the module on both sides. `imports` are the packages
/// the project imports (`go list -deps`), `None` when they could not be listed.
pub fn compare(
    from: GodebugSide<'_>,
    to: GodebugSide<'_>,
    overrides: &[GodebugOverride],
    imports: Option<&BTreeSet<String>>,
) -> GodebugSection {
    let from_defaults = default_godebug(from.table, from.toolchain, from.language, overrides);
    let to_defaults = default_godebug(to.table, to.toolchain, to.language, overrides);
    let names: BTreeSet<&str> = from
        .table
        .settings
        .iter()
        .chain(&to.table.settings)
        .map(|s| s.name.as_str())
        .collect();
    let mut changes = Vec::new();
    for name in names {
        let before = behaviour(name, from, to, &from_defaults);
        let after = behaviour(name, to, from, &to_defaults);
        if before.value() == after.value() {
            continue;
        }
        let Some(setting) = to.table.lookup(name).or_else(|| from.table.lookup(name)) else {
            continue;
        };
        let removed = to.table.lookup(name).is_none();
        let keep = match (&before, removed) {
            (_, true) => None,
            (Behaviour::Default, false) => Some(keep_line(to.toolchain, name, "")),
            (Behaviour::Set(value) | Behaviour::Predates(value), false) => {
                Some(keep_line(to.toolchain, name, value))
            }
        };
        changes.push(GodebugChange {
            name: name.to_owned(),
            package: setting.package.clone(),
            changed: setting.changed,
            from: before,
            to: after,
            imported: imports.map(|set| set.contains(&setting.package)),
            keep: keep.filter(|line| !line.ends_with('=')),
            removed,
        });
    }
    changes.sort_by_key(|c| (c.imported != Some(true), c.name.clone()));
    let unknown_to_new = overrides
        .iter()
        .filter(|o| o.key != "default" && to.table.lookup(&o.key).is_none())
        .filter(|o| !o.from_modfile || to.toolchain.minor() >= 23 || to.toolchain.major() > 1)
        .cloned()
        .collect();
    let same_go_line = default_godebug(to.table, to.toolchain, from.language, overrides);
    GodebugSection {
        from_default: from_defaults.to_go_string(),
        to_default: to_defaults.to_go_string(),
        to_default_same_go_line: same_go_line.to_go_string(),
        changes,
        unknown_to_new,
    }
}

/// The behaviour of `name` on `side`; `other` supplies the change of a setting that `side`'s
/// toolchain predates.
fn behaviour(
    name: &str,
    side: GodebugSide<'_>,
    other: GodebugSide<'_>,
    defaults: &DefaultGodebug,
) -> Behaviour {
    if let Some((value, _)) = defaults.settings.get(name) {
        return Behaviour::Set(value.clone());
    }
    if side.table.lookup(name).is_some() {
        return Behaviour::Default;
    }
    match other.table.lookup(name) {
        Some(setting)
            if setting.changed > 0
                && side.toolchain.major() == 1
                && side.toolchain.minor() < setting.changed =>
        {
            Behaviour::Predates(setting.old.clone())
        }
        _ => Behaviour::Default,
    }
}

/// The line that keeps a value: a `godebug` line in go.mod from Go 1.23 on, a `//go:debug`
/// directive above the package clause of each main package before.
fn keep_line(toolchain: &GoVersion, name: &str, value: &str) -> String {
    if toolchain.major() > 1 || toolchain.minor() >= 23 {
        format!("godebug {name}={value}")
    } else {
        format!("//go:debug {name}={value}")
    }
}
