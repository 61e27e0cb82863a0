//! The gate's look ahead: for each module, the next Go version the policy allows, and what
//! would block the move there — dependencies whose go.mod needs a newer Go (read from the
//! module cache or a local replacement, without running `go`), and `//go:debug` directives
//! that the new toolchain does not know. A module with blockers is a violation, so CI says
//! so before anyone switches.

use std::path::{Path, PathBuf};

use goshift_fs::{EnvVars, fs};
use goshift_policy::gate::{Finding, GateReport, Level, Root, UPGRADE_BLOCKED};
use goshift_policy::{EvalContext, Verdict};
use goshift_project::{ModFile, parse_go_mod};
use goshift_version::GoVersion;

use crate::commands::impact::gather;
use crate::governance::{self, LoadedPolicy};
use crate::settings::GlobalSettings;
use crate::toolchains::StoreView;

/// Adds an `upgrade-blocked` finding for every module whose next allowed version has
/// blockers.
pub(super) fn check(
    settings: &GlobalSettings,
    loaded: &LoadedPolicy,
    environment: Option<&str>,
    roots: &[(Root, PathBuf)],
    report: &mut GateReport,
) -> anyhow::Result<()> {
    let mut known: Vec<GoVersion> = StoreView::new(&settings.dirs.home)
        .installed_sorted()
        .into_iter()
        .chain(
            loaded
                .policy
                .environments
                .values()
                .filter_map(|e| e.default.clone()),
        )
        .filter(GoVersion::is_stable)
        .collect();
    known.sort();
    known.dedup();
    let newest = known.last().cloned();
    let context = EvalContext {
        environment,
        newest: newest.as_ref(),
        today: Some(governance::today()),
    };
    let allowed: Vec<GoVersion> = known
        .into_iter()
        .filter(|v| loaded.policy.evaluate(v, &context).verdict != Verdict::Deny)
        .collect();
    let cache = module_cache(settings);
    let mut findings = Vec::new();
    for project in report.projects.iter().filter(|p| p.kind == "go.mod") {
        let path = roots[project.root].1.join(&project.file);
        let Ok(text) = fs::read_to_string(&path) else {
            continue;
        };
        let Ok(file) = parse_go_mod(&path, &text) else {
            continue;
        };
        let Some(go) = &file.go else { continue };
        let Some(next) = next_allowed(&allowed, &go.version) else {
            continue;
        };
        let module_dir = path.parent().unwrap_or(Path::new("/"));
        let blockers = blockers(settings, &file, module_dir, cache.as_deref(), next)?;
        if blockers.is_empty() {
            continue;
        }
        findings.push(Finding {
            rule: UPGRADE_BLOCKED.to_owned(),
            level: Level::Error,
            message: format!(
                "the next Go version the policy allows, {}, is blocked for this module: {} (`goshift impact --to {}` has the whole report)",
                next.toolchain_name(),
                blockers.join("; "),
                next
            ),
            root: project.root,
            file: project.file.clone(),
            line: go.line,
            advisories: Vec::new(),
        });
    }
    report.findings.extend(findings);
    Ok(())
}

/// The newest allowed release of the lowest language version above `current`.
fn next_allowed<'a>(allowed: &'a [GoVersion], current: &GoVersion) -> Option<&'a GoVersion> {
    let line = allowed
        .iter()
        .filter(|v| v.lang() > current.lang())
        .map(GoVersion::lang)
        .min()?;
    allowed.iter().filter(|v| v.lang() == line).max()
}

/// What stands between the module and `next`.
fn blockers(
    settings: &GlobalSettings,
    file: &ModFile,
    module_dir: &Path,
    cache: Option<&Path>,
    next: &GoVersion,
) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    for require in &file.require {
        let Some(dependency_go) =
            dependency_go(file, module_dir, cache, &require.path, &require.version)
        else {
            continue;
        };
        if dependency_go > *next {
            out.push(format!(
                "{}@{} needs go {dependency_go}",
                require.path, require.version
            ));
        }
    }
    if let Some((table, _)) = gather::godebug_table(settings, next)? {
        let (directives, _) = gather::directives(module_dir);
        for directive in directives
            .iter()
            .filter(|d| table.lookup(&d.key).is_none() && d.key != "default")
        {
            out.push(format!(
                "{} sets GODEBUG `{}`, which {} does not know",
                directive.at,
                directive.key,
                next.toolchain_name()
            ));
        }
    }
    Ok(out)
}

/// The `go` line of a dependency's go.mod: its local replacement's, else the module
/// cache's copy. `None` when neither is there.
fn dependency_go(
    file: &ModFile,
    module_dir: &Path,
    cache: Option<&Path>,
    path: &str,
    version: &str,
) -> Option<GoVersion> {
    let replacement = file
        .replace
        .iter()
        .find(|r| r.old.path == path && r.old.version.as_deref().is_none_or(|v| v == version));
    let go_mod = match replacement {
        Some(r) if r.new.version.is_none() => module_dir.join(&r.new.path).join("go.mod"),
        Some(r) => cache?.join(download_path(&r.new.path, r.new.version.as_deref()?)),
        None => cache?.join(download_path(path, version)),
    };
    let text = fs::read_to_string(&go_mod).ok()?;
    let parsed = parse_go_mod(&go_mod, &text).ok()?;
    parsed.go.map(|g| g.version)
}

/// `cache/download/<escaped path>/@v/<escaped version>.mod` below the module cache.
fn download_path(path: &str, version: &str) -> PathBuf {
    Path::new("cache")
        .join("download")
        .join(escape(path))
        .join("@v")
        .join(format!("{}.mod", escape(version)))
}

/// Go's module path escaping: an upper-case letter becomes `!` and its lower-case form.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii_uppercase() {
            out.push('!');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// `GOMODCACHE`, else the first `GOPATH` entry's `pkg/mod`, else `~/go/pkg/mod`.
fn module_cache(settings: &GlobalSettings) -> Option<PathBuf> {
    if let Some(cache) = settings
        .env
        .var_os(EnvVars::GOMODCACHE)
        .filter(|c| !c.is_empty())
    {
        return Some(PathBuf::from(cache));
    }
    let gopath = settings
        .env
        .var_os(EnvVars::GOPATH)
        .and_then(|p| std::env::split_paths(&p).next())
        .filter(|p| !p.as_os_str().is_empty())
        .or_else(|| {
            settings
                .env
                .var_os(EnvVars::HOME)
                .map(|home| PathBuf::from(home).join("go"))
        })?;
    Some(gopath.join("pkg").join("mod"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_upper_case_letters_as_go_does() {
        assert_eq!(
            download_path("github.com/BurntSushi/toml", "v1.3.2"),
            Path::new("cache/download/github.com/!burnt!sushi/toml/@v/v1.3.2.mod")
        );
    }

    #[test]
    fn the_next_allowed_version_is_the_newest_release_of_the_next_line() {
        let versions: Vec<GoVersion> = ["1.21.13", "1.22.1", "1.22.10", "1.23.4"]
            .iter()
            .map(|v| GoVersion::parse(v).unwrap())
            .collect();
        let next = |current: &str| {
            next_allowed(&versions, &GoVersion::parse(current).unwrap()).map(ToString::to_string)
        };
        assert_eq!(next("1.21").as_deref(), Some("1.22.10"));
        assert_eq!(next("1.21.0").as_deref(), Some("1.22.10"));
        assert_eq!(next("1.22.3").as_deref(), Some("1.23.4"));
        assert_eq!(next("1.23"), None);
    }
}
