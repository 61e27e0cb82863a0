//! What raising the `go` line changes: language changes, dependencies that need a newer Go,
//! and the line edits to make.

use goshift_version::GoVersion;
use serde::Serialize;

use crate::modfile::ModFile;

/// A change of the language or the go command that takes effect when the `go` line reaches
/// a version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LanguageChange {
    /// The language version it takes effect at (`1.22`).
    pub version: String,
    /// A short identifier (`loopvar`).
    pub id: &'static str,
    /// What changes, in one or two sentences.
    pub description: &'static str,
}

/// Language changes keyed on the `go` line, from the Go release notes.
const CHANGES: [(u64, &str, &str); 4] = [
    (
        21,
        "panicnil",
        "`panic(nil)` now panics with a `*runtime.PanicNilError`, so `recover()` never returns nil after a panic",
    ),
    (
        22,
        "loopvar",
        "every iteration of a `for` loop has its own loop variables: closures and goroutines that capture one no longer share it across iterations",
    ),
    (
        23,
        "rangefunc",
        "`for range` accepts iterator functions (`func(yield func(T) bool)`)",
    ),
    (
        24,
        "aliases",
        "type aliases may have type parameters, and `go vet` reports calls of `fmt.Printf`-like functions with a non-constant format and no arguments",
    ),
];

/// The language changes between the language versions `from` (exclusive) and `to`
/// (inclusive).
pub fn changes_between(from: &GoVersion, to: &GoVersion) -> Vec<LanguageChange> {
    if from.major() != 1 || to.major() != 1 {
        return Vec::new();
    }
    CHANGES
        .iter()
        .filter(|(minor, _, _)| from.minor() < *minor && *minor <= to.minor())
        .map(|(minor, id, description)| LanguageChange {
            version: format!("1.{minor}"),
            id,
            description,
        })
        .collect()
}

/// A loop whose variable a closure or goroutine captures (`go vet`'s `loopclosure`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoopCapture {
    /// The file, as vet printed it.
    pub file: String,
    /// The 1-based line.
    pub line: usize,
    /// The variable.
    pub variable: String,
}

/// Reads the `loop variable x captured by func literal` reports out of `go vet` output.
pub fn loop_captures(vet_output: &str) -> Vec<LoopCapture> {
    let mut out = Vec::new();
    for line in vet_output.lines() {
        let Some((location, message)) = split_location(line) else {
            continue;
        };
        let Some(variable) = message
            .strip_prefix("loop variable ")
            .and_then(|rest| rest.strip_suffix(" captured by func literal"))
        else {
            continue;
        };
        out.push(LoopCapture {
            file: location.0.to_owned(),
            line: location.1,
            variable: variable.to_owned(),
        });
    }
    out.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    out.dedup();
    out
}

/// Splits `file.go:12:5: message` (or `file.go:12: message`) into location and message.
pub(crate) fn split_location(line: &str) -> Option<((&str, usize), &str)> {
    let line = line.trim_start_matches("vet: ").trim();
    let go = line.find(".go:")?;
    let file = &line[..go + 3];
    let rest = &line[go + 4..];
    let (number, rest) = rest.split_once(':')?;
    let line_number = number.parse().ok()?;
    let rest = match rest.split_once(':') {
        Some((column, message)) if column.chars().all(|c| c.is_ascii_digit()) => message,
        _ => rest,
    };
    Some(((file, line_number), rest.trim()))
}

/// A dependency whose go.mod needs a newer Go than the target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DependencyBlocker {
    /// The module path.
    pub module: String,
    /// Its version.
    pub version: String,
    /// The `go` line of its go.mod.
    pub go: String,
}

/// A dependency with the `go` line of its go.mod, as `go list -m` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    /// The module path.
    pub module: String,
    /// Its version.
    pub version: String,
    /// Its `go` line, if it has one.
    pub go: Option<GoVersion>,
}

/// The dependencies that need a newer Go than `to`.
pub fn dependency_blockers(dependencies: &[Dependency], to: &GoVersion) -> Vec<DependencyBlocker> {
    let mut out: Vec<DependencyBlocker> = dependencies
        .iter()
        .filter_map(|d| {
            let go = d.go.as_ref()?;
            (go > to).then(|| DependencyBlocker {
                module: d.module.clone(),
                version: d.version.clone(),
                go: go.to_string(),
            })
        })
        .collect();
    out.sort_by(|a, b| a.module.cmp(&b.module));
    out
}

/// Reads `go list -m -f '{{.Path}} {{.Version}} {{.GoVersion}}' all` output.
pub fn parse_module_list(output: &str) -> Vec<Dependency> {
    output
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let module = fields.next()?.to_owned();
            let version = fields.next().unwrap_or_default().to_owned();
            let go = fields.next().and_then(|v| GoVersion::parse(v).ok());
            // The main module has no version.
            (!version.is_empty()).then_some(Dependency {
                module,
                version,
                go,
            })
        })
        .collect()
}

/// A line of go.mod or go.work to change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineEdit {
    /// The file, relative to the project.
    pub file: String,
    /// The line, when the directive exists.
    pub line: Option<usize>,
    /// What is there now.
    pub before: Option<String>,
    /// What to write instead.
    pub after: String,
}

/// The `go` and `toolchain` line edits that move a project file to `to`: the `go` line is
/// raised to the first release of `to`'s line when it is lower, and a `toolchain` line lower
/// than `to` is raised to it.
pub fn line_edits(file_name: &str, file: &ModFile, to: &GoVersion) -> Vec<LineEdit> {
    let mut edits = Vec::new();
    let target_go = format!("{}.{}.0", to.major(), to.minor());
    let target = GoVersion::parse(&target_go).unwrap_or_else(|_| to.clone());
    let go_below = file
        .go
        .as_ref()
        .is_none_or(|go| go.version.lang() < to.lang());
    if go_below {
        edits.push(LineEdit {
            file: file_name.to_owned(),
            line: file.go.as_ref().map(|g| g.line),
            before: file.go.as_ref().map(|g| format!("go {}", g.version)),
            after: format!("go {target}"),
        });
    }
    if let Some(toolchain) = &file.toolchain {
        let lower = match toolchain.version() {
            Some(Ok(version)) => version < *to,
            Some(Err(_)) | None => false,
        };
        if lower {
            edits.push(LineEdit {
                file: file_name.to_owned(),
                line: Some(toolchain.line),
                before: Some(format!("toolchain {}", toolchain.name)),
                after: format!("toolchain {}", to.toolchain_name()),
            });
        }
    }
    edits
}
