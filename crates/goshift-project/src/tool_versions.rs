//! `.tool-versions`: the file asdf and mise pin tools with, read for its Go line.
//!
//! Each line is a tool name and one or more versions, `#` starts a comment. Go is the tool
//! `golang` (asdf's plugin) or `go` (mise). The first version is preferred and the others are
//! fallbacks, used when it is not installed. A version is `1.22.10` (or `go1.22.10`), a
//! language version `1.22` (the newest installed patch, mise's fuzzy match) or mise's
//! `prefix:1.22`. `system` first means the file does not pin Go: go.mod and the default
//! decide, as they would for a Go outside goshift. Other forms (`ref:`, `path:`, `latest`)
//! name no release goshift can run and are errors.

use std::path::{Path, PathBuf};

use goshift_version::GoVersion;

/// The file name.
pub const TOOL_VERSIONS: &str = ".tool-versions";

/// The Go line of a `.tool-versions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolVersionsPin {
    /// The versions in order of preference (at least one).
    pub versions: Vec<GoVersion>,
    /// The 1-based line.
    pub line: usize,
}

/// A Go line of a `.tool-versions` that goshift cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{}` line {line}: {reason}", path.display())]
pub struct ToolVersionsError {
    /// The file.
    pub path: PathBuf,
    /// The 1-based line.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

/// The fields of each content line, with its 1-based number.
fn entries(text: &str) -> impl Iterator<Item = (usize, Vec<&str>)> {
    text.lines().enumerate().filter_map(|(index, raw)| {
        let content = raw.split('#').next().unwrap_or_default();
        let fields: Vec<&str> = content.split_whitespace().collect();
        (!fields.is_empty()).then_some((index + 1, fields))
    })
}

fn is_go(tool: &str) -> bool {
    matches!(tool, "golang" | "go")
}

/// Whether the file pins Go: it has a Go line whose first version is not `system`. Cheap
/// enough for the `go` proxy's walk.
pub fn pins_go(text: &str) -> bool {
    entries(text)
        .find(|(_, fields)| is_go(fields[0]))
        .is_some_and(|(_, fields)| fields.get(1) != Some(&"system"))
}

/// The Go line of a `.tool-versions`, `None` when it does not pin Go; `path` is used in errors
/// only.
pub fn parse_tool_versions(
    path: &Path,
    text: &str,
) -> Result<Option<ToolVersionsPin>, ToolVersionsError> {
    let Some((line, fields)) = entries(text).find(|(_, fields)| is_go(fields[0])) else {
        return Ok(None);
    };
    let error = |reason: String| ToolVersionsError {
        path: path.to_owned(),
        line,
        reason,
    };
    let tool = fields[0];
    let values = &fields[1..];
    if values.is_empty() {
        return Err(error(format!(
            "`{tool}` has no version; write one such as `{tool} 1.22.10`"
        )));
    }
    if values[0] == "system" {
        return Ok(None);
    }
    let mut versions = Vec::with_capacity(values.len());
    for value in values.iter().take_while(|v| **v != "system") {
        let text = value.strip_prefix("prefix:").unwrap_or(value);
        let version = GoVersion::parse(text).map_err(|_| {
            error(format!(
                "`{value}` is not a Go release goshift can run (expected a version such as `1.22.10`, `1.22` or `prefix:1.22`)"
            ))
        })?;
        versions.push(version);
    }
    Ok(Some(ToolVersionsPin { versions, line }))
}

/// `text` with its Go line set to `version` (the tool name kept, fallbacks dropped), or a
/// `golang` line appended when it has none.
pub fn with_go_version(text: &str, version: &GoVersion) -> String {
    let found = entries(text).find(|(_, fields)| is_go(fields[0]));
    let mut lines: Vec<String> = text.split_inclusive('\n').map(ToOwned::to_owned).collect();
    if let Some((line, fields)) = found {
        let newline = if lines[line - 1].ends_with("\r\n") {
            "\r\n"
        } else if lines[line - 1].ends_with('\n') {
            "\n"
        } else {
            ""
        };
        lines[line - 1] = format!("{} {version}{newline}", fields[0]);
    } else {
        if lines.last().is_some_and(|l| !l.ends_with('\n')) {
            lines.push("\n".to_owned());
        }
        lines.push(format!("golang {version}\n"));
    }
    lines.concat()
}

/// `text` without its Go line; `None` when nothing but blanks and comments would remain.
pub fn without_go_line(text: &str) -> Option<String> {
    let found = entries(text).find(|(_, fields)| is_go(fields[0]));
    let rest: String = text
        .split_inclusive('\n')
        .enumerate()
        .filter(|(index, _)| found.as_ref().is_none_or(|(line, _)| index + 1 != *line))
        .map(|(_, line)| line)
        .collect();
    let keeps_content = entries(&rest).next().is_some();
    keeps_content.then_some(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Option<ToolVersionsPin>, ToolVersionsError> {
        parse_tool_versions(Path::new(".tool-versions"), text)
    }

    fn versions(text: &str) -> Vec<String> {
        parse(text)
            .unwrap()
            .unwrap()
            .versions
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn reads_the_asdf_and_mise_forms() {
        assert_eq!(versions("nodejs 20.1.0\ngolang 1.22.10\n"), ["1.22.10"]);
        assert_eq!(versions("go 1.22 # newest patch\n"), ["1.22"]);
        assert_eq!(
            versions("golang go1.21.13 1.22.10\n"),
            ["1.21.13", "1.22.10"]
        );
        assert_eq!(versions("go prefix:1.22\n"), ["1.22"]);
        assert_eq!(versions("golang 1.22.10 system\n"), ["1.22.10"]);
        assert_eq!(parse("  # only\n\nlua 5.4\n").unwrap(), None);
        assert_eq!(parse("golang system\n").unwrap(), None);
        assert_eq!(parse("golang 1.22.10\n").unwrap().unwrap().line, 1);
        assert_eq!(parse("\n\ngo 1.22.10\n").unwrap().unwrap().line, 3);
        assert!(pins_go("golang 1.22.10"));
        assert!(!pins_go("golang system 1.22.10"));
        assert!(!pins_go("gopls 1.0\n"));
    }

    #[test]
    fn refuses_what_names_no_release() {
        let error = parse("python 3.12\ngolang ref:master\n").unwrap_err();
        assert_eq!(error.line, 2);
        assert!(error.to_string().contains("`ref:master`"), "{error}");
        assert!(parse("go latest\n").is_err());
        assert!(parse("golang\n").unwrap_err().reason.contains("no version"));
    }

    #[test]
    fn edits_only_the_go_line() {
        let version: GoVersion = "1.23.4".parse().unwrap();
        assert_eq!(
            with_go_version("nodejs 20\ngo 1.22 1.21.13 # pinned\nlua 5.4\n", &version),
            "nodejs 20\ngo 1.23.4\nlua 5.4\n"
        );
        assert_eq!(
            with_go_version("nodejs 20", &version),
            "nodejs 20\ngolang 1.23.4\n"
        );
        assert_eq!(
            without_go_line("nodejs 20\r\ngolang 1.22.10\r\n").as_deref(),
            Some("nodejs 20\r\n")
        );
        assert_eq!(without_go_line("# tools\ngolang 1.22.10\n"), None);
    }
}
