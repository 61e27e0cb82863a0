//! The policy file's schema, and parsing with line and column in every error.
//!
//! Parsing happens in two passes: `toml` deserialises into spanned raw types (syntax errors,
//! unknown keys, wrong types and malformed versions come back with the span of the offending
//! value), then [`Policy::parse`] checks what the types cannot express (a `default` outside
//! `allowed`, an unknown status, a date that does not exist) and reports every such problem,
//! not only the first.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::ops::Range;

use goshift_version::{GoVersion, VersionRange};
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::Date;
use crate::permissions::Changers;

/// A validated policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Policy {
    /// Only the newest this-many Go lines (`1.N`) are allowed; `None`: no window.
    pub support_window: Option<u32>,
    /// A change freeze: every change needs `--force` and a reason.
    pub freeze: bool,
    /// Whether `--force` may override a denial at all (default true).
    pub allow_force: bool,
    /// Environments in which every change needs a reason.
    pub require_reason: Vec<String>,
    /// Blocked version ranges.
    pub blocked: Vec<Blocked>,
    /// Per-environment rules, by name.
    pub environments: BTreeMap<String, EnvironmentPolicy>,
}

/// A blocked version range, such as one with a known vulnerability.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Blocked {
    /// The versions blocked.
    pub versions: VersionRange,
    /// Why.
    pub reason: String,
    /// Advisory identifiers (`GO-2023-2102`, `CVE-2023-39325`).
    pub advisories: Vec<String>,
    /// Whether `--force --reason` may override this block (default true).
    pub overridable: bool,
    /// The 1-based line of the `[[blocked]]` entry in the policy file.
    pub line: usize,
}

/// The rules of one environment, and its row on the status board.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvironmentPolicy {
    /// Versions or ranges allowed; empty: any version not otherwise denied.
    pub allowed: Vec<VersionRange>,
    /// The version machines of this environment should use.
    pub default: Option<GoVersion>,
    /// Since when `default` is in force.
    pub since: Option<Date>,
    /// The rollout status of `default`.
    pub status: Option<Status>,
    /// Free-form notes.
    pub notes: Option<String>,
    /// Who may change it (`may_change`); `None`: anyone.
    pub may_change: Option<Changers>,
    /// The 1-based line of the `[environments.NAME]` table in the policy file.
    pub line: usize,
}

/// The rollout status of an environment's default version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Verified in this environment.
    Verified,
    /// Being rolled out and watched.
    Observing,
    /// Rollout paused: changes to this environment warn.
    Paused,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Verified => "verified",
            Self::Observing => "observing",
            Self::Paused => "paused",
        })
    }
}

/// One problem in a policy file, at a line and column (both 1-based).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

/// A policy file that is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", render(.origin, .diagnostics))]
pub struct PolicyError {
    /// The file name shown in messages.
    pub origin: String,
    /// Every problem found, in file order.
    pub diagnostics: Vec<Diagnostic>,
}

fn render(origin: &str, diagnostics: &[Diagnostic]) -> String {
    let mut text = format!("invalid policy `{origin}`");
    for diagnostic in diagnostics {
        let _ = write!(text, "\n  {origin}:{diagnostic}");
    }
    text
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a policy file of TOML tables")]
struct RawPolicy {
    support_window: Option<Spanned<Window>>,
    #[serde(default)]
    freeze: bool,
    allow_force: Option<bool>,
    #[serde(default)]
    require_reason: Vec<Spanned<String>>,
    #[serde(default)]
    blocked: Vec<Spanned<RawBlocked>>,
    #[serde(default)]
    environments: BTreeMap<Spanned<String>, Spanned<RawEnvironment>>,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a `[[blocked]]` table with `versions` and `reason`"
)]
struct RawBlocked {
    versions: VersionRange,
    reason: Spanned<String>,
    #[serde(default)]
    advisories: Vec<Spanned<String>>,
    overridable: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "an `[environments.NAME]` table")]
struct RawEnvironment {
    #[serde(default)]
    allowed: Vec<VersionRange>,
    default: Option<Spanned<GoVersion>>,
    since: Option<Spanned<String>>,
    status: Option<Status>,
    notes: Option<String>,
    may_change: Option<Spanned<Vec<Spanned<String>>>>,
}

/// `support_window` as written: a number of Go lines when it is one, else `None`, so that
/// the check can say what is wrong in the file's terms (a decimal, a string, a number too
/// large for any type) instead of the deserialiser's.
struct Window(Option<u32>);

impl<'de> Deserialize<'de> for Window {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Window;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a whole number of Go lines, 1 or more")
            }
            fn visit_i64<E>(self, value: i64) -> Result<Window, E> {
                Ok(Window(u32::try_from(value).ok().filter(|&n| n >= 1)))
            }
            fn visit_u64<E>(self, value: u64) -> Result<Window, E> {
                Ok(Window(u32::try_from(value).ok().filter(|&n| n >= 1)))
            }
            fn visit_i128<E>(self, _: i128) -> Result<Window, E> {
                Ok(Window(None))
            }
            fn visit_u128<E>(self, _: u128) -> Result<Window, E> {
                Ok(Window(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Window, E> {
                Ok(Window(None))
            }
            fn visit_str<E>(self, _: &str) -> Result<Window, E> {
                Ok(Window(None))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Window, E> {
                Ok(Window(None))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// serde's words for TOML's types, and TOML's.
const TOML_TERMS: [(&str, &str); 4] = [
    ("expected a sequence", "expected an array"),
    ("expected a map", "expected a table"),
    ("expected a boolean", "expected `true` or `false`"),
    ("floating point", "float"),
];

/// The problems found so far, each at the line and column of its span.
struct Problems<'a> {
    lines: LineIndex<'a>,
    found: Vec<Diagnostic>,
}

impl Problems<'_> {
    fn add(&mut self, span: Range<usize>, message: String) {
        let (line, column) = self.lines.position(span.start);
        self.found.push(Diagnostic {
            line,
            column,
            message,
        });
    }

    fn line(&self, span: &Range<usize>) -> usize {
        self.lines.position(span.start).0
    }
}

impl Policy {
    /// Parses and validates a policy file's text. `origin` names the file in messages.
    pub fn parse(text: &str, origin: &str) -> Result<Self, PolicyError> {
        let fail = |diagnostics| PolicyError {
            origin: origin.to_owned(),
            diagnostics,
        };
        let mut problems = Problems {
            lines: LineIndex::new(text),
            found: Vec::new(),
        };
        let raw =
            deserialize(text, &problems.lines).map_err(|diagnostic| fail(vec![diagnostic]))?;
        let support_window = check_support_window(raw.support_window, text, &mut problems);
        let blocked = check_blocked(raw.blocked, &mut problems);
        let environments = check_environments(raw.environments, &mut problems);
        let require_reason = check_require_reason(raw.require_reason, &mut problems);
        if !problems.found.is_empty() {
            problems.found.sort_by_key(|d| (d.line, d.column));
            return Err(fail(problems.found));
        }
        Ok(Self {
            support_window,
            freeze: raw.freeze,
            allow_force: raw.allow_force.unwrap_or(true),
            require_reason,
            blocked,
            environments,
        })
    }
    /// The status board: one row per environment, in name order.
    pub fn board(&self) -> Vec<BoardRow<'_>> {
        self.environments
            .iter()
            .map(|(name, environment)| BoardRow {
                environment: name,
                version: environment.default.as_ref(),
                since: environment.since,
                status: environment.status,
                notes: environment.notes.as_deref(),
            })
            .collect()
    }
}

/// One row of the version status board.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BoardRow<'a> {
    /// The environment.
    pub environment: &'a str,
    /// Its default version.
    pub version: Option<&'a GoVersion>,
    /// Since when.
    pub since: Option<Date>,
    /// Its rollout status.
    pub status: Option<Status>,
    /// Notes.
    pub notes: Option<&'a str>,
}

fn is_environment_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// `GO-2023-2102`, `CVE-2023-39325`, `GHSA-xxxx-xxxx-xxxx`: an upper-case prefix, then a dash.
fn is_advisory_id(id: &str) -> bool {
    let Some((prefix, rest)) = id.split_once('-') else {
        return false;
    };
    !prefix.is_empty()
        && prefix.chars().all(|c| c.is_ascii_uppercase())
        && !rest.is_empty()
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The first pass: TOML into the raw types, a failure told in TOML's terms at its place.
fn deserialize(text: &str, lines: &LineIndex<'_>) -> Result<RawPolicy, Diagnostic> {
    toml::from_str(text).map_err(|error| {
        let (line, column) = error
            .span()
            .map_or((1, 1), |span| lines.position(span.start));
        let mut message = error.message().trim().to_owned();
        for (serde_word, toml_word) in TOML_TERMS {
            message = message.replace(serde_word, toml_word);
        }
        Diagnostic {
            line,
            column,
            message,
        }
    })
}

fn check_support_window(
    window: Option<Spanned<Window>>,
    text: &str,
    problems: &mut Problems<'_>,
) -> Option<u32> {
    let window = window?;
    if window.get_ref().0.is_none() {
        let written = text.get(window.span()).unwrap_or("it").trim();
        problems.add(
            window.span(),
            format!(
                "`support_window` must be a whole number of Go lines, 1 or more, not {written}"
            ),
        );
    }
    window.into_inner().0
}

fn check_blocked(raw: Vec<Spanned<RawBlocked>>, problems: &mut Problems<'_>) -> Vec<Blocked> {
    let mut blocked = Vec::new();
    for entry in raw {
        let line = problems.line(&entry.span());
        let entry = entry.into_inner();
        if entry.reason.get_ref().trim().is_empty() {
            problems.add(
                entry.reason.span(),
                "`reason` is empty: say why these versions are blocked".to_owned(),
            );
        }
        for advisory in &entry.advisories {
            if !is_advisory_id(advisory.get_ref()) {
                problems.add(
                    advisory.span(),
                    format!(
                        "`{}` is not an advisory identifier (expected e.g. `GO-2023-2102` or `CVE-2023-39325`)",
                        advisory.get_ref()
                    ),
                );
            }
        }
        blocked.push(Blocked {
            versions: entry.versions,
            reason: entry.reason.into_inner(),
            advisories: entry
                .advisories
                .into_iter()
                .map(Spanned::into_inner)
                .collect(),
            overridable: entry.overridable.unwrap_or(true),
            line,
        });
    }
    blocked
}

fn check_environments(
    raw: BTreeMap<Spanned<String>, Spanned<RawEnvironment>>,
    problems: &mut Problems<'_>,
) -> BTreeMap<String, EnvironmentPolicy> {
    let mut environments = BTreeMap::new();
    for (name, environment) in raw {
        let line = problems.line(&name.span());
        if !is_environment_name(name.get_ref()) {
            problems.add(
                name.span(),
                format!(
                    "`{}` is not an environment name: use letters, digits, `-` and `_`",
                    name.get_ref()
                ),
            );
        }
        let environment = environment.into_inner();
        check_default_is_allowed(&environment, problems);
        let since = environment.since.and_then(|since| {
            let date = Date::parse(since.get_ref());
            if date.is_none() {
                problems.add(
                    since.span(),
                    format!(
                        "`since = \"{}\"` is not a date: write it as YYYY-MM-DD",
                        since.get_ref()
                    ),
                );
            }
            date
        });
        environments.insert(
            name.into_inner(),
            EnvironmentPolicy {
                allowed: environment.allowed,
                default: environment.default.map(Spanned::into_inner),
                since,
                status: environment.status,
                notes: environment.notes,
                may_change: environment.may_change.map(|entries| {
                    let span = entries.span();
                    Changers::parse(entries.into_inner(), span, &mut |span, message| {
                        problems.add(span, message);
                    })
                }),
                line,
            },
        );
    }
    environments
}

fn check_default_is_allowed(environment: &RawEnvironment, problems: &mut Problems<'_>) {
    if let Some(default) = &environment.default
        && !environment.allowed.is_empty()
        && !environment
            .allowed
            .iter()
            .any(|range| range.contains(default.get_ref()))
    {
        problems.add(
            default.span(),
            format!(
                "`default = \"{}\"` is not in this environment's `allowed` list: add it there or pick an allowed version",
                default.get_ref()
            ),
        );
    }
}

fn check_require_reason(raw: Vec<Spanned<String>>, problems: &mut Problems<'_>) -> Vec<String> {
    let mut require_reason = Vec::new();
    for name in raw {
        if !is_environment_name(name.get_ref()) {
            problems.add(
                name.span(),
                format!(
                    "`{}` in `require_reason` is not an environment name: use letters, digits, `-` and `_`",
                    name.get_ref()
                ),
            );
        }
        require_reason.push(name.into_inner());
    }
    require_reason
}

/// Maps byte offsets to 1-based line and column (column counted in characters).
struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    fn new(text: &'a str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self { text, starts }
    }

    fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.starts.partition_point(|&start| start <= offset);
        let start = self.starts[line - 1];
        let column = self
            .text
            .get(start..offset)
            .map_or(offset - start, |prefix| prefix.chars().count());
        (line, column + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Type errors are told in the file's terms: no Rust type (`RawEnvironment`, `i64`,
    /// `i128`) and no serde word (`sequence`, `struct`) reaches the user.
    #[test]
    fn type_errors_speak_toml() {
        for (text, expected) in [
            (
                "environments.prod = 5",
                "1:21: invalid type: integer `5`, expected an `[environments.NAME]` table",
            ),
            (
                "[environments.prod]\nallowed = \"x\"",
                "2:11: invalid type: string \"x\", expected an array",
            ),
            (
                "support_window = 1.5",
                "1:18: `support_window` must be a whole number of Go lines, 1 or more, not 1.5",
            ),
            (
                "support_window = 99999999999999999999",
                "1:18: `support_window` must be a whole number of Go lines, 1 or more, not 99999999999999999999",
            ),
            (
                "blocked = 3",
                "1:11: invalid type: integer `3`, expected an array",
            ),
            (
                "freeze = \"yes\"",
                "1:10: invalid type: string \"yes\", expected `true` or `false`",
            ),
            (
                "blocked = [3]",
                "1:12: invalid type: integer `3`, expected a `[[blocked]]` table with `versions` and `reason`",
            ),
            (
                "[[blocked]]\nreason = \"x\"",
                "1:1: missing field `versions`",
            ),
        ] {
            let error = Policy::parse(text, "p.toml").unwrap_err();
            assert_eq!(error.diagnostics.len(), 1, "{text}: {error}");
            let message = error.diagnostics[0].to_string();
            assert_eq!(message, expected, "{text}");
            for internal in ["Raw", "i64", "i128", "struct", "sequence", "floating point"] {
                assert!(!message.contains(internal), "{text}: {message}");
            }
        }
    }

    const EXAMPLE: &str = r#"support_window = 2
freeze = false
require_reason = ["prod"]

[[blocked]]
versions = ">=1.21.0, <1.21.3"
reason = "HTTP/2 rapid reset"
advisories = ["GO-2023-2102", "CVE-2023-39325"]

[environments.prod]
allowed = ["1.21.13", "1.22.10"]
default = "1.21.13"
since = "2024-03-01"
status = "verified"
notes = "all vendored modules build"
"#;

    fn errors(text: &str) -> Vec<String> {
        Policy::parse(text, "policy.toml")
            .unwrap_err()
            .diagnostics
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn parses_the_design_example() {
        let policy = Policy::parse(EXAMPLE, "policy.toml").unwrap();
        assert_eq!(policy.support_window, Some(2));
        assert_eq!(policy.require_reason, ["prod"]);
        assert_eq!(policy.blocked[0].advisories.len(), 2);
        assert_eq!(policy.blocked[0].line, 5);
        let prod = &policy.environments["prod"];
        assert_eq!(prod.line, 10);
        assert_eq!(prod.status, Some(Status::Verified));
        assert_eq!(prod.since.unwrap().to_string(), "2024-03-01");
        let board = policy.board();
        assert_eq!(board.len(), 1);
        assert_eq!(board[0].version.unwrap().to_string(), "1.21.13");
    }

    #[test]
    fn empty_policy_allows_everything() {
        let policy = Policy::parse("", "p").unwrap();
        assert!(policy.blocked.is_empty() && policy.allow_force && !policy.freeze);
    }

    #[test]
    fn syntax_error_has_line_and_column() {
        assert_eq!(
            errors("freeze = false\nsupport_window = = 2\n"),
            ["2:18: extra `=`, expected nothing"]
        );
    }

    #[test]
    fn malformed_policies_report_line_and_column() {
        let cases: &[(&str, &str)] = &[
            ("frezee = true\n", "1:1: unknown field `frezee`"),
            (
                "freeze = \"yes\"\n",
                "1:10: invalid type: string \"yes\", expected `true` or `false`",
            ),
            (
                "[[blocked]]\nversions = \">=1.21.x\"\nreason = \"r\"\n",
                "2:12: `>=1.21.x` is not a version range",
            ),
            (
                "[[blocked]]\nversions = \"1.21.1\"\n",
                "1:1: missing field `reason`",
            ),
            (
                "[[blocked]]\nversions = \"1.21.1\"\nreason = \" \"\n",
                "3:10: `reason` is empty",
            ),
            (
                "[[blocked]]\nversions = \"1.21.1\"\nreason = \"r\"\nadvisories = [\"cve 1\"]\n",
                "4:15: `cve 1` is not an advisory identifier",
            ),
            (
                "support_window = 0\n",
                "1:18: `support_window` must be a whole number",
            ),
            (
                "[environments.prod]\nallowed = [\"1.22\"]\ndefault = \"1.21.13\"\n",
                "3:11: `default = \"1.21.13\"` is not in this environment's `allowed` list",
            ),
            (
                "[environments.prod]\nsince = \"2024-02-30\"\n",
                "2:9: `since = \"2024-02-30\"` is not a date",
            ),
            (
                "[environments.prod]\nstatus = \"done\"\n",
                "2:10: unknown variant `done`, expected one of `verified`, `observing`, `paused`",
            ),
            (
                "[environments.prod]\ndefault = \"latest\"\n",
                "2:11: `latest` is not a Go version",
            ),
            (
                "require_reason = [\"pr od\"]\n",
                "1:19: `pr od` in `require_reason`",
            ),
        ];
        for (text, expected) in cases {
            let found = errors(text);
            assert!(
                found.iter().any(|e| e.starts_with(expected)),
                "{text:?}: expected {expected:?}, found {found:?}"
            );
        }
    }

    #[test]
    fn every_semantic_problem_is_reported() {
        let found = errors(
            "support_window = -1\n[environments.prod]\nsince = \"soon\"\n[environments.ci]\nsince = \"2024-13-01\"\n",
        );
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found[0].starts_with("1:18:"));
        assert!(found[1].starts_with("3:9:"));
        assert!(found[2].starts_with("5:9:"));
    }

    #[test]
    fn error_display_names_the_file() {
        let error = Policy::parse("freeze = 1\n", "/etc/goshift/policy.toml").unwrap_err();
        assert!(
            error
                .to_string()
                .contains("\n  /etc/goshift/policy.toml:1:10: invalid type"),
            "{error}"
        );
    }
}
