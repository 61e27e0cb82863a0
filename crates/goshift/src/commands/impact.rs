//! `goshift impact [--from V] --to V [DIR]`: what changes for a project when its Go version
//! changes.
//!
//! Gathers the facts (both toolchains' GODEBUG tables, the project's files and directives,
//! `go list`, `go build`/`go vet`/`go test` under both versions with the `go` line raised on
//! the target side through `-modfile`, the vulnerability database, the policy) and prints the
//! report and its verdict. Exit 0 when the verdict is `go` or `go with changes`, 1 when
//! `blocked`, 2 when the report cannot be made.

pub(super) mod gather;
mod render;
mod runs;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use goshift_fs::{EnvVars, fs};
use goshift_project::impact::{
    self, Advisory, DependencyBlocker, GodebugSection, GodebugSide, ImpactReport, LanguageSection,
    LineEdit, Outcome, PolicyReason, PolicySection, RunsSection, SecuritySection,
};
use goshift_project::{
    FoundFile, GoWorkSetting, GodebugOverride, ModFile, discover, parse_go_mod, parse_go_work,
};
use goshift_version::GoVersion;

use crate::cli::{ImpactArgs, ImpactFormat};
use crate::commands::inspect::open_database;
use crate::commands::project::select_installed;
use crate::error::{WithHint as _, hinted};
use crate::exit::ExitStatus;
use crate::governance;
use crate::proxy::read_project_file;
use crate::settings::GlobalSettings;
use crate::toolchains::StoreView;

/// Makes and prints the report.
pub(crate) fn impact(settings: &GlobalSettings, args: ImpactArgs) -> anyhow::Result<ExitStatus> {
    let ImpactArgs {
        from,
        to,
        format,
        no_run,
        bench,
        dir,
    } = args;
    let format = if settings.printer.json() {
        ImpactFormat::Json
    } else {
        format
    };
    let shown = dir.unwrap_or_else(|| PathBuf::from("."));
    let dir = settings.cwd.join(&shown);
    if !dir.is_dir() {
        return Err(hinted(
            format!("`{}` is not a directory", shown.display()),
            "pass the directory of a Go module (one with a go.mod)",
        ));
    }
    let project = Project::load(settings, &dir, &shown)?;
    let store = StoreView::new(&settings.dirs.home);
    let to = pick(&store, &to).context("cannot choose the `--to` version")?;
    let from = match from {
        Some(text) => pick(&store, &text).context("cannot choose the `--from` version")?,
        None => resolved(settings, &dir)?,
    };
    let run = match (no_run, bench) {
        (true, _) => Run::Nothing,
        (false, false) => Run::Checks,
        (false, true) => Run::ChecksAndBenchmarks,
    };
    let report = report(
        settings,
        &project,
        shown.display().to_string(),
        from,
        to,
        run,
    )?;
    match format {
        ImpactFormat::Json => settings
            .printer
            .json_value(&json_vocabulary(serde_json::to_value(&report)?))?,
        ImpactFormat::Text => render::text(settings, &report),
        ImpactFormat::Markdown => render::markdown(settings, &report),
    }
    settings.printer.status(format!(
        "impact: {} → {}: {}",
        report.from.toolchain_name(),
        report.to.toolchain_name(),
        report.verdict.outcome
    ));
    Ok(if report.verdict.outcome == Outcome::Blocked {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

/// What to run under both versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Run {
    /// Nothing (`--no-run`).
    Nothing,
    /// Build, vet and test.
    Checks,
    /// Build, vet, test and the benchmarks (`--bench`).
    ChecksAndBenchmarks,
}

/// The project's files.
pub(crate) struct Project {
    /// The go.mod.
    pub(crate) go_mod: ModFile,
    /// Its directory: the module root.
    pub(crate) module_dir: PathBuf,
    /// The go.work in force, if any, with its path.
    pub(crate) go_work: Option<(ModFile, PathBuf)>,
    /// The go.mod's text, for the raised copy.
    go_mod_text: String,
}

impl Project {
    /// Finds and parses the go.mod (and go.work) that govern `dir`.
    pub(crate) fn load(
        settings: &GlobalSettings,
        dir: &Path,
        shown: &Path,
    ) -> anyhow::Result<Self> {
        let variable = settings.env.var(EnvVars::GOWORK);
        let setting = GoWorkSetting::from_value(variable.as_deref(), dir);
        let files = discover(dir, &setting, &mut read_project_file)?;
        let Some(FoundFile { path, text }) = files.go_mod else {
            return Err(hinted(
                format!("no go.mod in `{}` or above", shown.display()),
                "run `goshift impact` in a Go module, or pass its directory",
            ));
        };
        let go_mod =
            parse_go_mod(&path, &text).hint("fix the go.mod (`go mod tidy` rewrites it)")?;
        let go_work = match files.go_work {
            Some(found) => Some((
                parse_go_work(&found.path, &found.text).hint("fix the go.work")?,
                found.path,
            )),
            None => None,
        };
        Ok(Self {
            go_mod,
            module_dir: path.parent().unwrap_or(dir).to_owned(),
            go_work,
            go_mod_text: text,
        })
    }

    /// The `go` line of the module (Go's default 1.16 without one).
    pub(crate) fn module_language(&self) -> GoVersion {
        self.go_mod.go.as_ref().map_or_else(
            || GoVersion::parse("1.16").unwrap_or_else(|_| unreachable_version()),
            |g| g.version.clone(),
        )
    }

    /// The language version Go derives GODEBUG defaults from: go.work's `go` line in
    /// workspace mode (1.18 without one), else the module's.
    fn godebug_language(&self) -> GoVersion {
        match &self.go_work {
            Some((work, _)) => work.go.as_ref().map_or_else(
                || GoVersion::parse("1.18").unwrap_or_else(|_| unreachable_version()),
                |g| g.version.clone(),
            ),
            None => self.module_language(),
        }
    }

    /// The `godebug` lines in force: go.work's in workspace mode, else go.mod's.
    pub(crate) fn godebug_lines(&self) -> Vec<GodebugOverride> {
        let (file, name) = match &self.go_work {
            Some((work, _)) => (work, "go.work"),
            None => (&self.go_mod, "go.mod"),
        };
        file.godebug
            .iter()
            .map(|g| GodebugOverride {
                key: g.key.clone(),
                value: g.value.clone(),
                at: format!("{name} line {}", g.line),
                from_modfile: true,
            })
            .collect()
    }
}

/// `1.0`, for the impossible case of a constant that does not parse.
fn unreachable_version() -> GoVersion {
    GoVersion::parse("1.0").unwrap_or_else(|_| unreachable!("`1.0` is a Go version"))
}

/// An exact released version as given (installed or not), else the installed version a
/// request selects.
fn pick(store: &StoreView<'_>, text: &str) -> anyhow::Result<GoVersion> {
    match GoVersion::parse(text) {
        Ok(version) if version.is_stable() => Ok(version),
        _ => select_installed(store, text),
    }
}

/// What `dir` resolves to now, as the `go` proxy would choose.
fn resolved(settings: &GlobalSettings, dir: &Path) -> anyhow::Result<GoVersion> {
    crate::commands::project::resolve_in(settings, dir)
        .map(|r| r.version)
        .hint("pass `--from VERSION`, or install the toolchain the project asks for")
}

/// Gathers every section and the verdict.
fn report(
    settings: &GlobalSettings,
    project: &Project,
    shown: String,
    from: GoVersion,
    to: GoVersion,
    run: Run,
) -> anyhow::Result<ImpactReport> {
    let store = StoreView::new(&settings.dirs.home);
    let installed = |v: &GoVersion| store.is_installed(v).then(|| store.root(v));
    let sides = Sides {
        from_root: installed(&from),
        to_root: installed(&to),
        from,
        to,
    };
    let mut notes = Vec::new();
    let imports = listed_imports(settings, &sides, &project.module_dir, &mut notes);
    let godebug = project_godebug(settings, project, &sides, imports.as_ref(), &mut notes)?;
    let mut edits = impact::line_edits("go.mod", &project.go_mod, &sides.to);
    if let Some((work, _)) = &project.go_work {
        edits.extend(impact::line_edits("go.work", work, &sides.to));
    }
    let blockers = blockers(settings, project, &sides, &mut notes);
    let (runs, vet_output) = build_runs(settings, project, &sides, &edits, run, &mut notes)?;
    let language = language_section(project, &sides.to, vet_output.as_deref(), blockers, edits);
    let Sides { from, to, .. } = sides;
    let security = security(settings, &from, &to, imports.as_ref())?;
    let policy = policy(settings, &to)?;
    let verdict = impact::verdict(
        &to.toolchain_name(),
        godebug.as_ref(),
        &language,
        &security,
        runs.as_ref(),
        &policy,
    );
    Ok(ImpactReport {
        project: shown,
        from,
        to,
        godebug,
        language,
        security,
        runs,
        policy,
        notes,
        verdict,
    })
}

/// The two toolchains compared, and their trees when they are installed.
struct Sides {
    from: GoVersion,
    to: GoVersion,
    from_root: Option<PathBuf>,
    to_root: Option<PathBuf>,
}

impl Sides {
    /// A tree to run `go list` with: the target's, else the current one's.
    fn any_root(&self) -> Option<&PathBuf> {
        self.to_root.as_ref().or(self.from_root.as_ref())
    }
}

/// The packages the project imports, when a toolchain can list them.
fn listed_imports(
    settings: &GlobalSettings,
    sides: &Sides,
    dir: &Path,
    notes: &mut Vec<String>,
) -> Option<BTreeSet<String>> {
    let Some(root) = sides.any_root() else {
        notes.push(not_installed_note(
            "imports not listed",
            &sides.from,
            &sides.to,
        ));
        return None;
    };
    match gather::imports(settings, root, dir) {
        Ok(set) => Some(set),
        Err(error) => {
            notes.push(format!("imports not listed (`go list -deps` failed: {error}); GODEBUG settings and advisories are not sorted by use"));
            None
        }
    }
}

/// The GODEBUG section: the project's `godebug` lines and `//go:debug` directives against
/// both toolchains' defaults, at the language version each side builds with.
fn project_godebug(
    settings: &GlobalSettings,
    project: &Project,
    sides: &Sides,
    imports: Option<&BTreeSet<String>>,
    notes: &mut Vec<String>,
) -> anyhow::Result<Option<GodebugSection>> {
    let mut overrides = project.godebug_lines();
    let (directives, malformed) = gather::directives(&project.module_dir);
    overrides.extend(directives);
    for at in malformed {
        notes.push(format!(
            "{at}: malformed `//go:debug` directive (Go refuses to build it; write `//go:debug key=value`)"
        ));
    }
    let from_language = project.godebug_language();
    let raised = sides.to.lang();
    let to_language = if from_language.lang() < raised {
        raised
    } else {
        from_language.clone()
    };
    godebug_section(
        settings,
        (&sides.from, &from_language),
        (&sides.to, &to_language),
        &overrides,
        imports,
        notes,
    )
}

/// Modules (the main module first) that need a newer Go than the target.
fn blockers(
    settings: &GlobalSettings,
    project: &Project,
    sides: &Sides,
    notes: &mut Vec<String>,
) -> Option<Vec<DependencyBlocker>> {
    let mut blockers = sides
        .any_root()
        .and_then(|root| dependencies(settings, root, &project.module_dir, &sides.to, notes));
    let module_language = project.module_language();
    if module_language.lang() > sides.to.lang() {
        blockers.get_or_insert_with(Vec::new).insert(
            0,
            DependencyBlocker {
                module: project
                    .go_mod
                    .module
                    .as_ref()
                    .map_or_else(|| "the main module".to_owned(), |m| m.path.clone()),
                version: "(main module)".to_owned(),
                go: module_language.to_string(),
            },
        );
    }
    blockers
}

/// Builds, vets and tests on both sides when both are installed and `run` asks for it, and
/// the `go vet` output to look for loop captures in (from one side when only that ran).
fn build_runs(
    settings: &GlobalSettings,
    project: &Project,
    sides: &Sides,
    edits: &[LineEdit],
    run: Run,
    notes: &mut Vec<String>,
) -> anyhow::Result<(Option<RunsSection>, Option<String>)> {
    let (from, to) = (&sides.from, &sides.to);
    let mut vet_output = None;
    let runs = match (&sides.from_root, &sides.to_root, run) {
        (_, _, Run::Nothing) => None,
        (Some(from_root), Some(to_root), _) => {
            if project.go_work.is_some() {
                notes.push("workspace mode: the target side builds with the `go` lines as they are (`-modfile` does not apply to workspaces)".to_owned());
            }
            let (runs, output) = side_by_side(
                settings,
                project,
                (from, from_root),
                (to, to_root),
                edits,
                run == Run::ChecksAndBenchmarks,
            )?;
            vet_output = Some(output);
            Some(runs)
        }
        _ => {
            notes.push(not_installed_note("build, vet and tests not run", from, to));
            None
        }
    };
    if vet_output.is_none()
        && let Some(root) = sides.from_root.as_ref().or(sides.any_root())
    {
        let args = ["vet".to_owned(), "./...".to_owned()];
        let run = gather::go_output(settings, root, &project.module_dir, &args)?;
        vet_output = Some(format!("{}{}", run.stdout, run.stderr));
    }
    Ok((runs, vet_output))
}

fn language_section(
    project: &Project,
    to: &GoVersion,
    vet_output: Option<&str>,
    blockers: Option<Vec<DependencyBlocker>>,
    edits: Vec<LineEdit>,
) -> LanguageSection {
    let module_language = project.module_language();
    LanguageSection {
        from: module_language.to_string(),
        to: if module_language.lang() < to.lang() {
            to.lang().to_string()
        } else {
            module_language.to_string()
        },
        changes: impact::changes_between(&module_language, &to.lang()),
        loop_captures: vet_output.map(impact::loop_captures),
        blockers,
        edits,
    }
}

fn not_installed_note(what: &str, from: &GoVersion, to: &GoVersion) -> String {
    format!(
        "{what}: both {} and {} must be installed (`goshift install {}` and `goshift install {}`)",
        from.toolchain_name(),
        to.toolchain_name(),
        from,
        to
    )
}

/// Compares the GODEBUG defaults, when both tables can be read.
fn godebug_section(
    settings: &GlobalSettings,
    (from, from_language): (&GoVersion, &GoVersion),
    (to, to_language): (&GoVersion, &GoVersion),
    overrides: &[GodebugOverride],
    imports: Option<&BTreeSet<String>>,
    notes: &mut Vec<String>,
) -> anyhow::Result<Option<GodebugSection>> {
    let from_table = gather::godebug_table(settings, from)?;
    let to_table = gather::godebug_table(settings, to)?;
    for (version, table) in [(from, &from_table), (to, &to_table)] {
        if let Some((_, gather::TableSource::Archive(path))) = table {
            settings.printer.status(format!(
                "impact: read the GODEBUG table of {} from the cached archive `{}` (not installed)",
                version.toolchain_name(),
                path.display()
            ));
        }
    }
    let (Some((from_table, _)), Some((to_table, _))) = (from_table, to_table) else {
        notes.push(format!(
            "GODEBUG defaults not compared: the table of {} or {} is neither in an installed toolchain nor in the archive cache (`goshift install {}`)",
            from.toolchain_name(),
            to.toolchain_name(),
            to
        ));
        return Ok(None);
    };
    Ok(Some(impact::compare(
        GodebugSide {
            toolchain: from,
            table: &from_table,
            language: from_language,
        },
        GodebugSide {
            toolchain: to,
            table: &to_table,
            language: to_language,
        },
        overrides,
        imports,
    )))
}

/// The dependencies whose go line is newer than `to`.
fn dependencies(
    settings: &GlobalSettings,
    root: &Path,
    dir: &Path,
    to: &GoVersion,
    notes: &mut Vec<String>,
) -> Option<Vec<DependencyBlocker>> {
    let args = [
        "list",
        "-m",
        "-f",
        "{{.Path}} {{.Version}} {{.GoVersion}}",
        "all",
    ]
    .map(ToOwned::to_owned);
    match gather::go_output(settings, root, dir, &args) {
        Ok(run) if run.passed() => Some(impact::dependency_blockers(
            &impact::parse_module_list(&run.stdout),
            to,
        )),
        Ok(run) => {
            notes.push(format!(
                "dependencies not checked (`go list -m all` failed: {})",
                gather::first_line(&run.stderr)
            ));
            None
        }
        Err(error) => {
            notes.push(format!("dependencies not checked: {error:#}"));
            None
        }
    }
}

/// Runs both sides in a scratch directory that is removed afterwards; returns the runs and
/// the current side's `go vet` output.
fn side_by_side(
    settings: &GlobalSettings,
    project: &Project,
    (from, from_root): (&GoVersion, &Path),
    (to, to_root): (&GoVersion, &Path),
    edits: &[LineEdit],
    bench: bool,
) -> anyhow::Result<(RunsSection, String)> {
    // Under the home, not a shared temporary directory: the binaries of both sides can be
    // large, and the home is where goshift already keeps its caches.
    let scratch = Scratch(
        settings
            .dirs
            .home
            .join("cache")
            .join("impact")
            .join(std::process::id().to_string()),
    );
    let _ = fs::remove_dir_all(&scratch.0);
    fs::create_dir_all(&scratch.0)
        .context("failed to create a scratch directory for the builds")?;
    // The target side reads a copy of go.mod with the edits made, through `-modfile`; Go
    // then reads the go.sum next to that copy.
    let raised = if project.go_work.is_none() {
        let modfile = scratch.0.join("raised.mod");
        goshift_fs::write_atomic(
            &modfile,
            apply_edits(&project.go_mod_text, edits, "go.mod").as_bytes(),
        )?;
        let sum = project.module_dir.join("go.sum");
        if sum.is_file() {
            fs::copy(&sum, scratch.0.join("raised.sum"))?;
        }
        Some(modfile)
    } else {
        None
    };
    let from_side = runs::Side {
        name: from.toolchain_name(),
        root: from_root.to_owned(),
        modfile: None,
        bin_dir: scratch.0.join("bin-from"),
        bench,
    };
    let to_side = runs::Side {
        name: to.toolchain_name(),
        root: to_root.to_owned(),
        modfile: raised.as_deref(),
        bin_dir: scratch.0.join("bin-to"),
        bench,
    };
    let before = runs::run_side(settings, &project.module_dir, &from_side)?;
    let after = runs::run_side(settings, &project.module_dir, &to_side)?;
    Ok((RunsSection::new(before.runs, after.runs), before.vet_output))
}

/// A scratch directory removed when dropped.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// The file's text with the edits for `file` made: each edited line replaced, a missing
/// `go` line added after the `module` line.
fn apply_edits(text: &str, edits: &[LineEdit], file: &str) -> String {
    let mut lines: Vec<String> = text.lines().map(ToOwned::to_owned).collect();
    for edit in edits.iter().filter(|e| e.file == file) {
        match edit.line {
            Some(line) if line >= 1 && line <= lines.len() => {
                lines[line - 1].clone_from(&edit.after);
            }
            _ => {
                let at = lines
                    .iter()
                    .position(|l| l.trim_start().starts_with("module"))
                    .map_or(0, |i| i + 1);
                lines.insert(at, edit.after.clone());
            }
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// Advisories fixed between the versions and still open at the target.
fn security(
    settings: &GlobalSettings,
    from: &GoVersion,
    to: &GoVersion,
    imports: Option<&BTreeSet<String>>,
) -> anyhow::Result<SecuritySection> {
    let Some(database) = open_database(settings)? else {
        return Ok(SecuritySection::default());
    };
    // The standard library as a program built with `version` sees it, and the toolchain's
    // own advisories, whichever of its commands they concern: one lookup per version.
    let findings = |version: &GoVersion| database.check_toolchain(&version.toolchain_name());
    let advisory = |finding: &goshift_binary::vuln::Finding| Advisory {
        id: finding.id.clone(),
        aliases: finding.aliases.clone(),
        summary: finding.summary.clone(),
        module: finding.module.clone(),
        packages: finding.packages.clone(),
        imported: finding.module == "toolchain"
            || finding.packages.is_empty()
            || imports.is_none_or(|set| finding.packages.iter().any(|p| set.contains(p))),
        fixed: finding.fixed.clone(),
    };
    let before = findings(from)?;
    let after = findings(to)?;
    let mut fixed: Vec<Advisory> = before
        .iter()
        .filter(|b| !after.iter().any(|a| a.id == b.id))
        .map(advisory)
        .collect();
    let mut open: Vec<Advisory> = after.iter().map(advisory).collect();
    for list in [&mut fixed, &mut open] {
        list.sort_by(|a, b| (!a.imported, &a.id).cmp(&(!b.imported, &b.id)));
        list.dedup_by(|a, b| a.id == b.id);
    }
    Ok(SecuritySection {
        database_modified: Some(database.modified().to_owned()),
        fixed,
        open,
    })
}

/// What the policy in force says about the target here.
fn policy(settings: &GlobalSettings, to: &GoVersion) -> anyhow::Result<PolicySection> {
    let Some(loaded) = governance::load_policy(settings)? else {
        return Ok(PolicySection::default());
    };
    let environment = governance::environment(settings);
    let decision = governance::decide(settings, &loaded.policy, to, environment.as_deref());
    Ok(PolicySection {
        file: Some(loaded.path.display().to_string()),
        environment,
        verdict: Some(decision.verdict.to_string()),
        reasons: decision
            .reasons
            .iter()
            .filter(|r| r.verdict != goshift_policy::Verdict::Allow)
            .map(|r| PolicyReason {
                rule: r.rule.id().to_owned(),
                verdict: r.verdict.to_string(),
                message: r.message.clone(),
            })
            .collect(),
    })
}

/// The report in the JSON vocabulary of every command (`docs/json/README.md`): Go versions
/// without the `go` prefix, files and directories in fields named `path`. (`pointer_mut`,
/// because indexing a `null` for writing would turn it into an object.)
fn json_vocabulary(mut report: serde_json::Value) -> serde_json::Value {
    use crate::printer::strip_go_prefix as strip;
    fn rename_file(object: Option<&mut serde_json::Value>) {
        if let Some(map) = object.and_then(serde_json::Value::as_object_mut)
            && let Some(file) = map.remove("file")
        {
            map.insert("path".to_owned(), file);
        }
    }
    fn items<'a>(
        report: &'a mut serde_json::Value,
        pointer: &str,
    ) -> impl Iterator<Item = &'a mut serde_json::Value> {
        report
            .pointer_mut(pointer)
            .and_then(serde_json::Value::as_array_mut)
            .into_iter()
            .flatten()
    }
    strip(report.pointer_mut("/runs/from/version"));
    strip(report.pointer_mut("/runs/to/version"));
    for pointer in ["/security/fixed", "/security/open"] {
        for advisory in items(&mut report, pointer) {
            strip(advisory.get_mut("fixed"));
        }
    }
    rename_file(report.get_mut("policy"));
    for pointer in ["/language/edits", "/language/loop_captures"] {
        for item in items(&mut report, pointer) {
            rename_file(Some(item));
        }
    }
    report
}
