//! Matching Go binaries against the Go vulnerability database (OSV layout).
//!
//! The database lives in a directory in the official layout (`index/db.json`,
//! `index/modules.json`, `ID/GO-*.json`); [`sync`] fills it from `https://vuln.go.dev`, a
//! mirror or a local copy and swaps it in atomically, and [`Database`] reads it offline.
//! [`Database::check`] applies Go's rules: the binary's Go version, mapped to semver
//! (`go1.21rc1` → `1.21.0-rc.1`), is matched against `stdlib`, and against `toolchain` only
//! for the toolchain's own commands (`cmd/go`), never for a program it built; every dependency
//! by what was built (a replacement's own path and version); `(devel)` and unversioned
//! modules never match; platform-limited advisories only match the binary's `GOOS`/`GOARCH`.

pub mod osv;
mod sync;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use goshift_fs::fs;
use goshift_version::GoVersion;
use serde::Serialize;

pub use goshift_version::Semver;
pub use sync::{Source, SyncReport, sync};

use crate::BuildInfo;
use osv::{DbIndex, Entry, ModuleIndex};

/// Why the vulnerability database could not be used or synced.
#[derive(Debug, thiserror::Error)]
pub enum VulnError {
    /// No database has been synced to the cache yet.
    #[error("no vulnerability database at `{}`", path.display())]
    Missing {
        /// The expected location.
        path: PathBuf,
    },
    /// Reading or writing a database file failed.
    #[error("failed to access `{}`", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A database file is not valid JSON of the expected shape.
    #[error("invalid vulnerability database file `{name}`")]
    Json {
        /// The file, relative to the database root.
        name: String,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// Downloading from the source failed.
    #[error("failed to download `{url}`")]
    Http {
        /// The URL.
        url: String,
        /// The cause.
        #[source]
        source: Box<ureq::Error>,
    },
    /// The source lacks a required file.
    #[error("the vulnerability database at `{source_name}` has no `{name}`")]
    NotFound {
        /// The source.
        source_name: String,
        /// The missing file.
        name: String,
    },
    /// The `--from` value is not usable.
    #[error("unsupported vulnerability database source `{0}`")]
    BadSource(String),
    /// An entry's ID does not match its file name, or is not a Go advisory ID.
    #[error("advisory file `{name}` holds `{id}`")]
    Mismatch {
        /// The file.
        name: String,
        /// The ID inside.
        id: String,
    },
}

/// What kind of module a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FindingKind {
    /// The Go standard library the binary was built with.
    Stdlib,
    /// The Go command itself (module `toolchain`): reported for the toolchain's own binaries
    /// (`cmd/go`), never for a program built with it.
    Toolchain,
    /// A dependency or the main module.
    Module,
}

/// How precisely a finding was matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MatchLevel {
    /// A vulnerable function (or, for an advisory naming a whole package, a function of that
    /// package) is in the binary's function table, as govulncheck's binary mode matches.
    Symbol,
    /// The vulnerable module at an affected version is in the binary; whether its vulnerable
    /// code is was not (or could not be) checked.
    Module,
}

/// One advisory that applies to a binary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// `GO-YYYY-NNNN`.
    pub id: String,
    /// CVE and GHSA identifiers.
    pub aliases: Vec<String>,
    /// One-line summary.
    pub summary: String,
    /// What is affected.
    pub kind: FindingKind,
    /// Module path (`stdlib` and `toolchain` for Go itself).
    pub module: String,
    /// The version found in the binary (`go1.21.2` for Go itself).
    pub version: String,
    /// The first fixed version after it, in the same notation, if any.
    pub fixed: Option<String>,
    /// Affected packages.
    pub packages: Vec<String>,
    /// The advisory's page.
    pub url: Option<String>,
    /// How it was matched.
    pub level: MatchLevel,
    /// At symbol level, the vulnerable functions found in the binary (`net/http.Server.Serve`;
    /// the package path alone for an advisory naming a whole package).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub symbols: Vec<String>,
}

/// A synced database, read lazily from disk.
#[derive(Debug)]
pub struct Database {
    root: PathBuf,
    modified: String,
    modules: HashMap<String, Vec<osv::ModuleVuln>>,
    entries: Mutex<HashMap<String, Arc<Entry>>>,
}

impl Database {
    /// Opens the database in `root` (the official layout, uncompressed).
    pub fn open(root: &Path) -> Result<Self, VulnError> {
        if !root.join("index").join("db.json").is_file() {
            return Err(VulnError::Missing {
                path: root.to_owned(),
            });
        }
        let db: DbIndex = read_json(root, "index/db.json")?;
        let modules: Vec<ModuleIndex> = read_json(root, "index/modules.json")?;
        Ok(Self {
            root: root.to_owned(),
            modified: db.modified,
            modules: modules.into_iter().map(|m| (m.path, m.vulns)).collect(),
            entries: Mutex::new(HashMap::new()),
        })
    }

    /// When the database last changed (RFC 3339).
    pub fn modified(&self) -> &str {
        &self.modified
    }

    /// The number of advisories in the index.
    pub fn advisory_count(&self) -> usize {
        let mut ids: Vec<&str> = self
            .modules
            .values()
            .flatten()
            .map(|v| v.id.as_str())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    }

    /// Every advisory whose module and version are in the binary, ordered by module then ID
    /// (module level).
    pub fn check(&self, info: &BuildInfo) -> Result<Vec<Finding>, VulnError> {
        self.check_symbols(info, None)
    }

    /// Every advisory about the Go toolchain `go_version` (`go1.21.13`) as a whole, at module
    /// level: the standard library's, as every program it builds links them, and the
    /// toolchain's own, whichever of its commands they name. What an upgrade of the toolchain
    /// fixes or leaves open.
    pub fn check_toolchain(&self, go_version: &str) -> Result<Vec<Finding>, VulnError> {
        let mut findings = Vec::new();
        self.match_go(
            go_version,
            ("", ""),
            Command::AnyOfToolchain,
            None,
            &mut findings,
        )?;
        Ok(findings)
    }

    /// [`check`](Self::check) at symbol level when `symbols` (the binary's function table)
    /// is given: an advisory that names packages or functions is reported only when one of
    /// them is in the binary, with the functions found. Advisories that name no package, and
    /// those about the toolchain, stay at module level.
    pub fn check_symbols(
        &self,
        info: &BuildInfo,
        symbols: Option<&crate::symbols::Symbols>,
    ) -> Result<Vec<Finding>, VulnError> {
        let platform = (
            info.setting("GOOS").unwrap_or(""),
            info.setting("GOARCH").unwrap_or(""),
        );
        let mut findings = Vec::new();
        let command = Command::Main(&info.modinfo.path);
        self.match_go(&info.go_version, platform, command, symbols, &mut findings)?;
        let modules = info.modinfo.main.iter().chain(&info.modinfo.deps);
        for module in modules {
            // What was built: a replacement is matched by its own path and version, as
            // govulncheck does (a directory replacement has no version and never matches).
            let built = module.effective();
            let Some(version) = Semver::parse(&built.version) else {
                continue;
            };
            let subject = Subject {
                module: &built.path,
                kind: FindingKind::Module,
                shown: &built.version,
                version: &version,
                goos: platform.0,
                goarch: platform.1,
                command,
                symbols,
            };
            self.match_module(&subject, &mut findings)?;
        }
        findings.dedup_by(|a, b| a.id == b.id && a.module == b.module);
        Ok(findings)
    }

    /// The advisories about Go itself for `go_version`: `stdlib`, and `toolchain` when
    /// `command` is one of the toolchain's (a program built with it is not).
    fn match_go(
        &self,
        go_version: &str,
        (goos, goarch): (&str, &str),
        command: Command<'_>,
        symbols: Option<&crate::symbols::Symbols>,
        out: &mut Vec<Finding>,
    ) -> Result<(), VulnError> {
        let Some(version) = go_to_semver(go_version) else {
            return Ok(());
        };
        for (module, kind) in [
            ("stdlib", FindingKind::Stdlib),
            ("toolchain", FindingKind::Toolchain),
        ] {
            // Toolchain advisories concern the Go command: they apply to the toolchain's own
            // commands (`cmd/go`), not to the programs it builds.
            if kind == FindingKind::Toolchain && !command.is_toolchain() {
                continue;
            }
            let subject = Subject {
                module,
                kind,
                shown: go_version,
                version: &version,
                goos,
                goarch,
                command,
                symbols,
            };
            self.match_module(&subject, out)?;
        }
        Ok(())
    }

    fn match_module(&self, subject: &Subject<'_>, out: &mut Vec<Finding>) -> Result<(), VulnError> {
        let Some(vulns) = self.modules.get(subject.module) else {
            return Ok(());
        };
        for vuln in vulns {
            // The index's newest fix lets most advisories be skipped without reading them.
            if let Some(fixed) = vuln.fixed.as_deref().and_then(Semver::parse)
                && *subject.version >= fixed
            {
                continue;
            }
            let entry = self.entry(&vuln.id)?;
            if entry.withdrawn.is_some() {
                continue;
            }
            if let Some(finding) = evaluate(&entry, subject) {
                out.push(finding);
            }
        }
        Ok(())
    }

    fn entry(&self, id: &str) -> Result<Arc<Entry>, VulnError> {
        let mut cache = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = cache.get(id) {
            return Ok(Arc::clone(entry));
        }
        if !sync::is_advisory_id(id) {
            return Err(VulnError::Mismatch {
                name: "index/modules.json".to_owned(),
                id: id.to_owned(),
            });
        }
        let entry: Arc<Entry> = Arc::new(read_json(&self.root, &format!("ID/{id}.json"))?);
        cache.insert(id.to_owned(), Arc::clone(&entry));
        Ok(entry)
    }
}

/// The module being checked and the binary's platform.
struct Subject<'a> {
    module: &'a str,
    kind: FindingKind,
    shown: &'a str,
    version: &'a Semver,
    goos: &'a str,
    goarch: &'a str,
    /// The binary's main package, or the whole toolchain.
    command: Command<'a>,
    /// The binary's functions, for matching at symbol level.
    symbols: Option<&'a crate::symbols::Symbols>,
}

/// What runs the code a check is about.
#[derive(Debug, Clone, Copy)]
enum Command<'a> {
    /// A binary with this main package (`cmd/go` for the Go command, `example.com/app` for a
    /// program).
    Main(&'a str),
    /// Any command of a Go toolchain.
    AnyOfToolchain,
}

impl Command<'_> {
    fn is_toolchain(self) -> bool {
        match self {
            Self::Main(path) => path.starts_with("cmd/"),
            Self::AnyOfToolchain => true,
        }
    }

    /// Whether an advisory naming `package` of the toolchain concerns this command: the
    /// command's own package or one inside it (`cmd/go/internal/…` for `cmd/go`).
    fn runs(self, package: &str) -> bool {
        match self {
            Self::Main(path) => {
                package == path
                    || package
                        .strip_prefix(path)
                        .is_some_and(|rest| rest.starts_with('/'))
            }
            Self::AnyOfToolchain => true,
        }
    }
}

/// Go's `GoTagToSemver`: `go1.21.3` → `1.21.3`, `go1.21rc1` → `1.21.0-rc.1`, `go1.19` →
/// `1.19.0`; devel and custom builds have none.
pub fn go_to_semver(go_version: &str) -> Option<Semver> {
    Semver::parse(&go_semver_text(go_version)?)
}

/// [`go_to_semver`] as text, without a `v`.
pub fn go_semver_text(go_version: &str) -> Option<String> {
    let tag = go_version.split_whitespace().next()?;
    let bare = tag.strip_prefix("go")?;
    if bare == "1.0" {
        return None;
    }
    let version = GoVersion::parse(bare).ok()?;
    // A custom build (`go1.21.0-custom`) has no release to compare with.
    if version.suffix().is_some() {
        return None;
    }
    let kind = version.prerelease_kind();
    let numbered = bare.ends_with(|c: char| c.is_ascii_digit());
    if !(kind.is_empty() || (matches!(kind, "rc" | "beta") && numbered)) {
        return None;
    }
    Some(version.to_semver())
}

/// Applies one advisory to one module; returns a finding if any affected block matches.
fn evaluate(entry: &Entry, subject: &Subject<'_>) -> Option<Finding> {
    let mut packages = Vec::new();
    let mut found_symbols = Vec::new();
    let mut named_packages = false;
    let mut fixed: Option<Option<String>> = None;
    for affected in &entry.affected {
        let Some(matching) = applicable_imports(affected, subject) else {
            continue;
        };
        let Some(fix) = affects(&affected.ranges, subject.version) else {
            continue;
        };
        packages.extend(matching.iter().map(|i| i.path.clone()));
        named_packages |= !matching.is_empty();
        if let Some(symbols) = subject.symbols {
            found_symbols.extend(symbol_hits(&matching, symbols));
        }
        fixed = Some(earliest_fix(fixed.flatten(), fix));
    }
    let fixed = fixed?;
    packages.sort();
    packages.dedup();
    let level = match_level(subject, named_packages, &mut found_symbols)?;
    let fixed = fixed.map(|f| match subject.kind {
        FindingKind::Stdlib | FindingKind::Toolchain => semver_to_go(&f),
        FindingKind::Module => format!("v{f}"),
    });
    Some(Finding {
        id: entry.id.clone(),
        aliases: entry.aliases.clone(),
        summary: entry.summary.clone(),
        kind: subject.kind,
        module: subject.module.to_owned(),
        version: subject.shown.to_owned(),
        fixed,
        packages,
        url: entry.database_specific.as_ref().and_then(|d| d.url.clone()),
        level,
        symbols: found_symbols,
    })
}

/// The imports of an affected block that apply to the subject's platform, or `None` when the
/// block is not about this module, its imports are all for other platforms, or it is a
/// toolchain advisory naming commands of which the subject is none.
fn applicable_imports<'e>(
    affected: &'e osv::Affected,
    subject: &Subject<'_>,
) -> Option<Vec<&'e osv::Import>> {
    if affected.package.name != subject.module {
        return None;
    }
    let imports = affected
        .ecosystem_specific
        .as_ref()
        .map(|e| e.imports.as_slice())
        .unwrap_or_default();
    let platform_matches = |list: &[String], value: &str| {
        list.is_empty() || value.is_empty() || list.iter().any(|v| v == value)
    };
    let matching: Vec<&osv::Import> = imports
        .iter()
        .filter(|i| platform_matches(&i.goos, subject.goos))
        .filter(|i| platform_matches(&i.goarch, subject.goarch))
        .collect();
    if !imports.is_empty() && matching.is_empty() {
        return None;
    }
    // A toolchain advisory naming its commands applies to those commands only.
    if subject.kind == FindingKind::Toolchain
        && !matching.is_empty()
        && !matching.iter().any(|i| subject.command.runs(&i.path))
    {
        return None;
    }
    Some(matching)
}

/// With several matching blocks, the earliest fix is reported.
fn earliest_fix(so_far: Option<String>, fix: Option<String>) -> Option<String> {
    match (so_far, fix) {
        (Some(a), Some(b)) => Some(if Semver::parse(&a) <= Semver::parse(&b) {
            a
        } else {
            b
        }),
        (a, b) => a.or(b),
    }
}

/// At symbol level an advisory naming packages is reported only when its code is there:
/// `None` when it is not. The symbols found are kept, sorted, at symbol level only.
fn match_level(
    subject: &Subject<'_>,
    named_packages: bool,
    found_symbols: &mut Vec<String>,
) -> Option<MatchLevel> {
    if subject.symbols.is_some() && named_packages && subject.kind != FindingKind::Toolchain {
        if found_symbols.is_empty() {
            return None;
        }
        found_symbols.sort();
        found_symbols.dedup();
        Some(MatchLevel::Symbol)
    } else {
        found_symbols.clear();
        Some(MatchLevel::Module)
    }
}

/// The vulnerable functions of `imports` in the binary: `package.Symbol` for each listed
/// symbol found, the package path for a package listed without symbols of which any
/// function is found.
fn symbol_hits(imports: &[&osv::Import], symbols: &crate::symbols::Symbols) -> Vec<String> {
    let mut hits = Vec::new();
    for import in imports {
        if import.symbols.is_empty() {
            if symbols.has_package(&import.path) {
                hits.push(import.path.clone());
            }
        } else {
            hits.extend(
                import
                    .symbols
                    .iter()
                    .filter(|symbol| symbols.has(&import.path, symbol))
                    .map(|symbol| format!("{}.{symbol}", import.path)),
            );
        }
    }
    hits
}

/// Whether `version` is inside the SEMVER ranges; `Some(fix)` with the next fixed version
/// (raw, as written in the advisory) when it is.
#[expect(
    clippy::option_option,
    reason = "outer: affected or not; inner: the fix, which may not exist"
)]
fn affects(ranges: &[osv::Range], version: &Semver) -> Option<Option<String>> {
    let semver_ranges: Vec<&osv::Range> = ranges.iter().filter(|r| r.kind == "SEMVER").collect();
    if semver_ranges.is_empty() {
        return Some(None);
    }
    for range in semver_ranges {
        if range.events.is_empty() {
            return Some(None);
        }
        let mut events: Vec<(Option<Semver>, &osv::Event)> = range
            .events
            .iter()
            .map(|e| {
                let text = e.introduced.as_deref().or(e.fixed.as_deref()).unwrap_or("");
                let parsed = if e.introduced.as_deref() == Some("0") {
                    None
                } else {
                    Semver::parse(text)
                };
                (parsed, e)
            })
            .collect();
        // The beginning of time sorts first; unparseable versions sort like Go's invalid ones.
        events.sort_by(|a, b| match (&a.0, &b.0) {
            (None, None) => std::cmp::Ordering::Equal,
            (None, Some(_)) => std::cmp::Ordering::Less,
            (Some(_), None) => std::cmp::Ordering::Greater,
            (Some(x), Some(y)) => x.cmp(y),
        });
        let mut affected = false;
        for (parsed, event) in &events {
            if !affected && event.introduced.is_some() {
                affected = event.introduced.as_deref() == Some("0")
                    || parsed.as_ref().is_some_and(|p| version >= p);
            } else if affected && event.fixed.is_some() {
                // Every later fix is newer, so the first one past the version is the fix.
                if parsed.as_ref().is_some_and(|p| version < p) {
                    return Some(event.fixed.clone());
                }
                affected = false;
            }
        }
        if affected {
            return Some(None);
        }
    }
    None
}

/// Go's `SemverToGoTag`: `1.21.3` → `go1.21.3`, `1.20.0` → `go1.20`, `1.21.0-rc.1` →
/// `go1.21rc1`.
pub fn semver_to_go(version: &str) -> String {
    let version = version.strip_prefix('v').unwrap_or(version);
    let (core, pre) = version.split_once('-').unwrap_or((version, ""));
    let mut parts = core.splitn(3, '.');
    let major = parts.next().unwrap_or("1");
    let minor = parts.next().unwrap_or("0");
    let patch = parts.next().unwrap_or("0");
    let minor_number: u64 = minor.parse().unwrap_or(0);
    if !pre.is_empty() {
        return format!("go{major}.{minor}{}", pre.replace('.', ""));
    }
    if patch == "0" && major == "1" && minor_number < 21 {
        return format!("go{major}.{minor}");
    }
    format!("go{major}.{minor}.{patch}")
}

fn read_json<T: serde::de::DeserializeOwned>(root: &Path, name: &str) -> Result<T, VulnError> {
    let path = root.join(name);
    let bytes = fs::read(&path).map_err(|source| VulnError::Io {
        path: path.clone(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|source| VulnError::Json {
        name: name.to_owned(),
        source,
    })
}
