//! go.mod and go.work: one parser for resolution, `goshift mod` and the CI gate.
//!
//! [`parse_go_mod`] and [`parse_go_work`] read a main module's or workspace's file strictly,
//! as `go` does: an unknown directive, a repeated `go` line or a malformed version is an
//! error naming the line. The result keeps every directive with its line number; its JSON
//! form uses the field names of `go mod edit -json` (`Module`, `Go`, `Require`, …) so the two
//! can be compared directly.

mod directive;

use std::path::{Path, PathBuf};

use goshift_version::GoVersion;
use serde::Serialize;

use crate::lex::{self, Line, TokenKind};

pub use goshift_version::is_valid_module_version;

/// Which kind of file was parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum FileKind {
    /// A module's `go.mod`.
    GoMod,
    /// A workspace's `go.work`.
    GoWork,
}

impl FileKind {
    /// The file name: `go.mod` or `go.work`.
    pub fn file_name(self) -> &'static str {
        match self {
            Self::GoMod => "go.mod",
            Self::GoWork => "go.work",
        }
    }
}

/// A parsed go.mod or go.work.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ModFile {
    /// The `module` directive (go.mod only; a go.mod may lack it, see [`ModFile::json`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub module: Option<ModulePath>,
    /// The `go` directive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub go: Option<GoLine>,
    /// The `toolchain` directive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub toolchain: Option<ToolchainLine>,
    /// `godebug key=value` settings.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub godebug: Vec<Godebug>,
    /// `require` lines.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub require: Vec<Require>,
    /// `exclude` lines.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<ModuleVersion>,
    /// `replace` lines.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub replace: Vec<Replace>,
    /// `retract` lines.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub retract: Vec<Retract>,
    /// `tool` lines (Go 1.24).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tool: Vec<PathLine>,
    /// `ignore` lines.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignore: Vec<PathLine>,
    /// `use` lines (go.work only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub r#use: Vec<Use>,
}

/// The `module` directive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ModulePath {
    /// The module path.
    pub path: String,
    /// The message of a `// Deprecated:` comment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deprecated: Option<String>,
    /// The line it is on.
    #[serde(skip)]
    pub line: usize,
}

/// The `go` directive: the minimum Go version (a mandatory minimum since Go 1.21).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct GoLine {
    /// The version as written (`1.22`, `1.22.3`, `1.23rc1`).
    pub version: GoVersion,
    /// The line it is on.
    #[serde(skip)]
    pub line: usize,
}

/// The `toolchain` directive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ToolchainLine {
    /// The name as written: `go1.22.10`, `go1.22.1-bigcorp` or `default`.
    pub name: String,
    /// The line it is on.
    #[serde(skip)]
    pub line: usize,
}

impl ToolchainLine {
    /// The version this toolchain name stands for, or `None` for `default`. A suffix after
    /// `-` (a non-standard build such as `go1.22.1-bigcorp`) compares equal to the base
    /// version, as in Go.
    pub fn version(&self) -> Option<Result<GoVersion, goshift_version::ParseVersionError>> {
        if self.name == "default" {
            return None;
        }
        let base = self
            .name
            .split(['-', ' ', '\t'])
            .next()
            .unwrap_or(&self.name);
        Some(GoVersion::parse(base))
    }
}

/// A `godebug key=value` setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Godebug {
    /// The key.
    pub key: String,
    /// The value.
    pub value: String,
    /// The line it is on.
    #[serde(skip)]
    pub line: usize,
}

/// A `require` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Require {
    /// The module path.
    pub path: String,
    /// The version (`v1.2.3`, `v4.1.2+incompatible`, a pseudo-version).
    pub version: String,
    /// Marked `// indirect`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub indirect: bool,
    /// The line it is on.
    #[serde(skip)]
    pub line: usize,
}

/// A module path with a version (`exclude`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ModuleVersion {
    /// The module path.
    pub path: String,
    /// The version.
    pub version: String,
    /// The line it is on.
    #[serde(skip)]
    pub line: usize,
}

/// One side of a `replace`: a module path or a directory, with an optional version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReplaceSide {
    /// The module path, or the directory for a local replacement.
    pub path: String,
    /// The version, if one was written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// A `replace` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Replace {
    /// What is replaced.
    pub old: ReplaceSide,
    /// The replacement.
    pub new: ReplaceSide,
    /// The line it is on.
    #[serde(skip)]
    pub line: usize,
}

/// A `retract` line: one version (`low == high`) or a closed interval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Retract {
    /// The lowest retracted version.
    pub low: String,
    /// The highest retracted version.
    pub high: String,
    /// The comment explaining why.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub rationale: String,
    /// The line it is on.
    #[serde(skip)]
    pub line: usize,
}

/// A directive that names a path only (`tool`, `ignore`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PathLine {
    /// The path.
    pub path: String,
    /// The line it is on.
    #[serde(skip)]
    pub line: usize,
}

/// A go.work `use` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Use {
    /// The module directory.
    pub disk_path: String,
    /// The line it is on.
    #[serde(skip)]
    pub line: usize,
}

/// A go.mod or go.work that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{}` line {line}: {reason}", path.display())]
pub struct ModFileError {
    /// The file.
    pub path: PathBuf,
    /// The 1-based line.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

/// Parses a main module's go.mod. `path` is used in error messages only.
pub fn parse_go_mod(path: &Path, text: &str) -> Result<ModFile, ModFileError> {
    parse(FileKind::GoMod, path, text)
}

/// Parses a workspace's go.work. `path` is used in error messages only.
pub fn parse_go_work(path: &Path, text: &str) -> Result<ModFile, ModFileError> {
    parse(FileKind::GoWork, path, text)
}

impl ModFile {
    /// What `go mod edit -json` prints (`go work edit -json` for a go.work), without empty
    /// fields: a go.mod without a `module` line shows `"Module":{"Path":""}`, as Go prints it.
    pub fn go_json(&self, kind: FileKind) -> impl Serialize + '_ {
        match kind {
            FileKind::GoMod => GoJson::Mod(GoModJson {
                module: self.module.as_ref().map_or(
                    ModuleJson::Missing(MissingModule { path: "" }),
                    ModuleJson::Present,
                ),
                go: self.go.as_ref(),
                toolchain: self.toolchain.as_ref(),
                go_debug: &self.godebug,
                require: &self.require,
                exclude: &self.exclude,
                replace: &self.replace,
                retract: &self.retract,
                tool: &self.tool,
                ignore: &self.ignore,
            }),
            FileKind::GoWork => GoJson::Work(GoWorkJson {
                go: self.go.as_ref(),
                toolchain: self.toolchain.as_ref(),
                godebug: &self.godebug,
                r#use: &self.r#use,
                replace: &self.replace,
            }),
        }
    }

    /// The effective `go` version: the `go` line, or what Go implies without one (1.16 for
    /// go.mod, 1.18 for go.work).
    pub fn go_version(&self, kind: FileKind) -> GoVersion {
        if let Some(go) = &self.go {
            return go.version.clone();
        }
        let implied = match kind {
            FileKind::GoMod => "1.16",
            FileKind::GoWork => "1.18",
        };
        // Both literals are valid versions.
        GoVersion::parse(implied).unwrap_or_else(|_| unreachable!("`{implied}` is a version"))
    }
}

/// Parses either kind of file.
pub fn parse(kind: FileKind, path: &Path, text: &str) -> Result<ModFile, ModFileError> {
    let error = |line: usize, reason: String| ModFileError {
        path: path.to_owned(),
        line,
        reason,
    };
    let lines = lex::lex(text).map_err(|e| error(e.line, e.reason))?;
    let mut file = ModFile::default();
    let mut before: Vec<String> = Vec::new();
    let mut block: Option<Block> = None;
    for line in &lines {
        if line.tokens.is_empty() {
            match &line.comment {
                Some(comment) => before.push(comment.trim().to_owned()),
                None => before.clear(),
            }
            continue;
        }
        let closes = line.tokens.len() == 1 && line.tokens[0].kind == TokenKind::RParen;
        let entry = match &block {
            Some(_) if closes => {
                block = None;
                before.clear();
                continue;
            }
            Some(open) => block_entry(open, line, &mut before),
            None => match top_level_entry(kind, line, &mut before, &mut block) {
                Ok(Some(entry)) => entry,
                Ok(None) => continue,
                Err(reason) => return Err(error(line.number, reason)),
            },
        };
        directive::apply(kind, &mut file, &entry).map_err(|reason| error(line.number, reason))?;
    }
    if let Some(open) = block {
        return Err(error(
            open.line,
            format!("the `{} (` block is never closed with `)`", open.keyword),
        ));
    }
    // Like `go mod edit`, an empty go.mod or one without a `module` line parses: Go reports
    // the missing line when it loads the module, with its own message.
    Ok(file)
}

/// A directive inside the `open` block.
fn block_entry<'l>(open: &Block, line: &'l Line, before: &mut Vec<String>) -> Entry<'l> {
    let comments = Comments {
        before: std::mem::take(before),
        suffix: line.comment.clone(),
        block: open.comments.clone(),
    };
    Entry {
        keyword: open.keyword.clone(),
        args: line,
        skip: 0,
        comments,
    }
}

/// A line outside any block: a directive, or `None` for one that opens a block (then
/// `block` is that block) or is an empty block `keyword ( )`.
fn top_level_entry<'l>(
    kind: FileKind,
    line: &'l Line,
    before: &mut Vec<String>,
    block: &mut Option<Block>,
) -> Result<Option<Entry<'l>>, String> {
    let keyword = &line.tokens[0];
    if keyword.kind != TokenKind::Word {
        return Err(format!("expected a directive, found `{}`", keyword.text));
    }
    let last = line.tokens.len() - 1;
    let opens = line.tokens[last].kind == TokenKind::LParen;
    let empty_block = last == 2
        && line.tokens[1].kind == TokenKind::LParen
        && line.tokens[2].kind == TokenKind::RParen;
    if !opens && !empty_block {
        return Ok(Some(Entry {
            keyword: keyword.text.clone(),
            args: line,
            skip: 1,
            comments: Comments {
                before: std::mem::take(before),
                suffix: line.comment.clone(),
                block: Vec::new(),
            },
        }));
    }
    if last != 1 && !empty_block {
        return Err(format!(
            "a `{}` block must open with `{} (` alone on its line",
            keyword.text, keyword.text
        ));
    }
    directive::check_block_allowed(kind, &keyword.text)?;
    if opens {
        let mut comments = std::mem::take(before);
        if let Some(suffix) = &line.comment {
            comments.push(suffix.trim().to_owned());
        }
        *block = Some(Block {
            keyword: keyword.text.clone(),
            comments,
            line: line.number,
        });
    }
    Ok(None)
}

/// [`ModFile::go_json`]: what `go mod edit -json` or `go work edit -json` prints.
enum GoJson<'a> {
    Mod(GoModJson<'a>),
    Work(GoWorkJson<'a>),
}

impl Serialize for GoJson<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Mod(file) => file.serialize(serializer),
            Self::Work(file) => file.serialize(serializer),
        }
    }
}

/// Go's `fileJSON` (`cmd/go/internal/modcmd`): its fields in its order, the godebug lines
/// named `GoDebug` (Go 1.25 and later; 1.23 and 1.24 leave them out).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct GoModJson<'a> {
    module: ModuleJson<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    go: Option<&'a GoLine>,
    #[serde(skip_serializing_if = "Option::is_none")]
    toolchain: Option<&'a ToolchainLine>,
    #[serde(rename = "GoDebug", skip_serializing_if = "<[_]>::is_empty")]
    go_debug: &'a [Godebug],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    require: &'a [Require],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    exclude: &'a [ModuleVersion],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    replace: &'a [Replace],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    retract: &'a [Retract],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    tool: &'a [PathLine],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    ignore: &'a [PathLine],
}

/// Go's `workfileJSON` (`cmd/go/internal/workcmd`), where the godebug lines are `Godebug`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct GoWorkJson<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    go: Option<&'a GoLine>,
    #[serde(skip_serializing_if = "Option::is_none")]
    toolchain: Option<&'a ToolchainLine>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    godebug: &'a [Godebug],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    r#use: &'a [Use],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    replace: &'a [Replace],
}

/// A go.mod's module: `{"Path":""}` when it has no `module` line, as Go prints it.
#[derive(Serialize)]
#[serde(untagged)]
enum ModuleJson<'a> {
    Present(&'a ModulePath),
    Missing(MissingModule),
}

#[derive(Serialize)]
struct MissingModule {
    #[serde(rename = "Path")]
    path: &'static str,
}

/// An open `keyword (` block.
#[derive(Debug)]
struct Block {
    keyword: String,
    comments: Vec<String>,
    line: usize,
}

/// Comments attached to one directive, as Go attaches them.
#[derive(Debug, Default)]
struct Comments {
    /// Comment lines right before the directive.
    before: Vec<String>,
    /// The comment at the end of its line.
    suffix: Option<String>,
    /// Comments of the enclosing block (used when the line has none).
    block: Vec<String>,
}

/// One directive: its keyword and argument tokens (`args.tokens[skip..]`).
#[derive(Debug)]
struct Entry<'a> {
    keyword: String,
    args: &'a Line,
    skip: usize,
    comments: Comments,
}

#[cfg(test)]
mod tests;
