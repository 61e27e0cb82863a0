//! GODEBUG defaults: a toolchain's table of settings and the defaults Go derives for a module.
//!
//! Every Go toolchain carries its table of known settings in `src/internal/godebugs/table.go`:
//! a name, the package that reads it, the minor version at which its default changed
//! (`Changed`) and the value that restores the behaviour from before (`Old`). The go command
//! computes a main package's default GODEBUG from that table and the main module's language
//! version: every setting whose default changed after that version gets its old value. Then
//! the `godebug` lines of go.mod (or go.work in workspace mode, Go 1.23 and later) and the
//! `//go:debug` directives of the main package override single settings, and a `default` key
//! among them replaces the language version. [`GodebugTable::parse`] reads a table,
//! [`parse_go_file_header`] reads a Go file's package clause and directives, and
//! [`default_godebug`] applies the rules.

use std::collections::BTreeMap;

use goshift_version::GoVersion;
use serde::Serialize;

/// One known setting of a toolchain's table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GodebugSetting {
    /// The setting's name (`panicnil`).
    pub name: String,
    /// The package that reads it (`runtime`).
    pub package: String,
    /// The minor version at which its default changed (22 for Go 1.22), 0 if it never did.
    pub changed: u64,
    /// The value that restores the behaviour from before `changed`.
    pub old: String,
}

/// A toolchain's `src/internal/godebugs/table.go`, sorted by name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GodebugTable {
    /// Every setting.
    pub settings: Vec<GodebugSetting>,
}

/// A table that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line} of the GODEBUG table: {reason}")]
pub struct GodebugTableError {
    /// The 1-based line.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

impl GodebugTable {
    /// Parses the `All` table of `table.go`: one `{Name: "…", Package: "…", Changed: N, Old:
    /// "…"}` literal per line; commented-out entries are skipped. A file without the table is
    /// an error, so a moved or renamed file is not mistaken for an empty table.
    pub fn parse(text: &str) -> Result<Self, GodebugTableError> {
        let mut settings = Vec::new();
        let mut inside = false;
        let mut seen_table = false;
        for (index, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if !inside {
                if line.starts_with("var All = []Info{") {
                    inside = true;
                    seen_table = true;
                }
                continue;
            }
            if line == "}" {
                inside = false;
                continue;
            }
            if line.is_empty() || line.starts_with("//") {
                continue;
            }
            let setting = parse_entry(line).map_err(|reason| GodebugTableError {
                line: index + 1,
                reason,
            })?;
            settings.push(setting);
        }
        if !seen_table || inside {
            return Err(GodebugTableError {
                line: text.lines().count().max(1),
                reason: "no complete `var All = []Info{ … }` table".to_owned(),
            });
        }
        settings.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Self { settings })
    }

    /// The setting called `name`.
    pub fn lookup(&self, name: &str) -> Option<&GodebugSetting> {
        self.settings
            .binary_search_by(|s| s.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.settings[i])
    }
}

/// One `{Name: "x", Package: "y", Changed: 21, Old: "1", Opaque: true},` literal.
fn parse_entry(line: &str) -> Result<GodebugSetting, String> {
    let body = line
        .strip_prefix('{')
        .and_then(|rest| rest.trim_end_matches(',').strip_suffix('}'))
        .ok_or_else(|| format!("expected an `{{Name: …}}` entry, found `{line}`"))?;
    let mut name = None;
    let mut package = String::new();
    let mut changed = 0;
    let mut old = String::new();
    for field in split_fields(body) {
        let (key, value) = field
            .split_once(':')
            .ok_or_else(|| format!("expected `Key: value`, found `{field}`"))?;
        let value = value.trim();
        let quoted = || {
            value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .map(ToOwned::to_owned)
                .ok_or_else(|| format!("`{}` needs a quoted string, found `{value}`", key.trim()))
        };
        match key.trim() {
            "Name" => name = Some(quoted()?),
            "Package" => package = quoted()?,
            "Old" => old = quoted()?,
            "Changed" => {
                changed = value
                    .parse()
                    .map_err(|_| format!("`Changed` needs a number, found `{value}`"))?;
            }
            // `Opaque`, and fields of later releases, do not matter for defaults.
            _ => {}
        }
    }
    let name = name.ok_or_else(|| format!("the entry has no `Name`: `{line}`"))?;
    Ok(GodebugSetting {
        name,
        package,
        changed,
        old,
    })
}

/// Splits `A: "x", B: 2` at commas outside quotes.
fn split_fields(body: &str) -> Vec<&str> {
    let mut fields = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    for (i, c) in body.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                fields.push(body[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    fields.push(body[start..].trim());
    fields.retain(|f| !f.is_empty());
    fields
}

/// A `//go:debug key=value` directive of a Go file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GoDebugDirective {
    /// The key.
    pub key: String,
    /// The value.
    pub value: String,
    /// The 1-based line.
    pub line: usize,
}

/// What the header of a Go file declares: its package and its `//go:debug` directives.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GoFileHeader {
    /// The package name, if a package clause was found.
    pub package: Option<String>,
    /// The `//go:debug` directives before the package clause, in order.
    pub directives: Vec<GoDebugDirective>,
    /// Malformed `//go:debug` lines, with their 1-based line (Go refuses to build them).
    pub malformed: Vec<usize>,
}

/// Reads a Go file's header: the `//go:debug key=value` line comments before the package
/// clause (Go reads directives only there) and the package name. Block comments are skipped.
/// As in Go, neither the key nor the value may hold spaces (`key = value` is malformed).
pub fn parse_go_file_header(text: &str) -> GoFileHeader {
    let mut header = GoFileHeader::default();
    let mut in_block = false;
    for (index, raw) in text.lines().enumerate() {
        let mut line = raw.trim();
        if in_block {
            match line.find("*/") {
                Some(end) => {
                    in_block = false;
                    line = line[end + 2..].trim();
                }
                None => continue,
            }
        }
        if let Some(rest) = line.strip_prefix("/*") {
            if let Some(end) = rest.find("*/") {
                line = rest[end + 2..].trim();
            } else {
                in_block = true;
                continue;
            }
        }
        if line.is_empty() {
            continue;
        }
        if let Some(directive) = raw.strip_prefix("//go:debug") {
            // The directive must start the line and be followed by space.
            if directive.starts_with([' ', '\t']) {
                match directive.trim().split_once('=') {
                    Some((key, value))
                        if !key.is_empty()
                            && !key.contains(char::is_whitespace)
                            && !value.contains(char::is_whitespace) =>
                    {
                        header.directives.push(GoDebugDirective {
                            key: key.to_owned(),
                            value: value.to_owned(),
                            line: index + 1,
                        });
                    }
                    _ => header.malformed.push(index + 1),
                }
            }
            continue;
        }
        if line.starts_with("//") {
            continue;
        }
        if let Some(rest) = line.strip_prefix("package") {
            let name: String = rest
                .trim_start()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() && rest.starts_with([' ', '\t']) {
                header.package = Some(name);
            }
        }
        break;
    }
    header
}

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum GodebugOrigin {
    /// The table's `Old` value, because the language version predates `Changed`.
    LanguageVersion {
        /// The language version that was compared.
        version: String,
    },
    /// An explicit override: a `godebug` line or a `//go:debug` directive.
    Override {
        /// Where it is written, such as `go.mod line 5` or `main.go line 1`.
        at: String,
    },
}

/// An explicit setting of the project: a `godebug` line of go.mod or go.work, or a
/// `//go:debug` directive of a main package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GodebugOverride {
    /// The key (`default` replaces the language version).
    pub key: String,
    /// The value.
    pub value: String,
    /// Where it is written, such as `go.mod line 5`.
    pub at: String,
    /// True for `godebug` lines, which only Go 1.23 and later read.
    pub from_modfile: bool,
}

/// The default GODEBUG of a main package: setting name → value and origin. Only settings
/// that differ from the toolchain's own defaults are present, as in Go's `DefaultGODEBUG`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DefaultGodebug {
    /// The settings.
    pub settings: BTreeMap<String, (String, GodebugOrigin)>,
}

impl DefaultGodebug {
    /// The `k=v,k=v` string Go embeds in binaries and `go list` prints as `DefaultGODEBUG`.
    pub fn to_go_string(&self) -> String {
        self.settings
            .iter()
            .map(|(k, (v, _))| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Go's default GODEBUG for a main package built by `toolchain` with the main module's (or
/// workspace's) language version `language` and the project's explicit `overrides` in
/// order (later wins). `godebug` lines count only when the toolchain reads them (1.23+).
pub fn default_godebug(
    table: &GodebugTable,
    toolchain: &GoVersion,
    language: &GoVersion,
    overrides: &[GodebugOverride],
) -> DefaultGodebug {
    let reads_modfile_lines = toolchain.major() > 1 || toolchain.minor() >= 23;
    let mut explicit: BTreeMap<String, (String, GodebugOrigin)> = BTreeMap::new();
    for item in overrides {
        if item.from_modfile && !reads_modfile_lines {
            continue;
        }
        explicit.insert(
            item.key.clone(),
            (
                item.value.clone(),
                GodebugOrigin::Override {
                    at: item.at.clone(),
                },
            ),
        );
    }
    let mut language = language.clone();
    if let Some((value, _)) = explicit.remove("default")
        && let Ok(version) = GoVersion::parse(value.strip_prefix("go").unwrap_or(&value))
    {
        language = version;
    }
    let mut settings = BTreeMap::new();
    // Go gives defaults only to `1.N` language versions.
    if language.major() == 1 {
        for setting in &table.settings {
            if language.minor() < setting.changed {
                settings.insert(
                    setting.name.clone(),
                    (
                        setting.old.clone(),
                        GodebugOrigin::LanguageVersion {
                            version: language.lang().to_string(),
                        },
                    ),
                );
            }
        }
    }
    settings.extend(explicit);
    DefaultGodebug { settings }
}

#[cfg(test)]
mod tests;
