//! The CI gate: its checks of project files, its report model and the SARIF 2.1.0 rendering.
//!
//! The binary scans directories and reads the files it finds; [`Checker::check`] turns each
//! into one [`Project`] and a [`Finding`] per problem (each pointing at a file and line
//! relative to the scanned root it was found under). The binary collects them in a
//! [`GateReport`] and renders it as text, JSON (the report serialised) or SARIF
//! ([`GateReport::to_sarif`]).

mod check;

pub use check::{Checker, ProjectFile, newest};

use serde::Serialize;
use serde_json::{Value, json};

use crate::Rule;

/// The URI of the official SARIF 2.1.0 schema, written into every SARIF log.
pub const SARIF_SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// Rule of a go.mod or go.work that cannot be parsed.
pub const INVALID_MODFILE: &str = "invalid-modfile";
/// Rule of a project directory for which no toolchain can be chosen on this machine.
pub const UNRESOLVED: &str = "unresolved";
/// Rule of a Go binary whose Go version or known vulnerabilities the policy blocks or warns
/// about.
pub const BINARY: &str = "go-binary";
/// Rule of a project whose next allowed Go version has blockers (dependencies that need a
/// newer Go, GODEBUG settings the new toolchain does not know).
pub const UPGRADE_BLOCKED: &str = "upgrade-blocked";

/// How serious a finding is. `Error` findings are violations: the gate exits 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Information.
    Note,
    /// Worth a look; does not fail the gate.
    Warning,
    /// A violation; fails the gate.
    Error,
}

impl Level {
    /// `note`, `warning` or `error` (SARIF's names).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Note => "note",
            Self::Warning => "warning",
            Self::Error => "error",
        }
    }
}

/// A directory the gate scanned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Root {
    /// As the user wrote it.
    pub display: String,
    /// Its absolute `file://` URI, ending in `/`.
    pub uri: String,
}

/// A go.mod or go.work found under a root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Project {
    /// Index into [`GateReport::roots`].
    pub root: usize,
    /// The file, relative to its root, with `/` separators (`path` in JSON).
    #[serde(rename = "path")]
    pub file: String,
    /// `go.mod` or `go.work`.
    pub kind: String,
    /// The module path (go.mod only).
    pub module: Option<String>,
    /// The `go` line's version.
    pub go: Option<String>,
    /// The `toolchain` line's name.
    pub toolchain: Option<String>,
    /// The version of the toolchain the directory resolves to on this machine (`1.22.10`), if
    /// one can be chosen.
    pub resolved: Option<String>,
    /// Why that toolchain (`go.mod toolchain line`, `default`, …).
    pub resolved_by: Option<String>,
}

/// One problem, at a line of a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The rule identifier: a [`Rule`] id, [`INVALID_MODFILE`] or [`UNRESOLVED`].
    pub rule: String,
    /// How serious.
    pub level: Level,
    /// A sentence for people.
    pub message: String,
    /// Index into [`GateReport::roots`].
    pub root: usize,
    /// The file, relative to its root (`path` in JSON).
    #[serde(rename = "path")]
    pub file: String,
    /// The 1-based line.
    pub line: usize,
    /// Advisory identifiers, for blocked versions.
    pub advisories: Vec<String>,
}

/// Everything the gate found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GateReport {
    /// The policy file used (`policy_path` in JSON).
    #[serde(rename = "policy_path")]
    pub policy: String,
    /// The environment evaluated, if any.
    pub environment: Option<String>,
    /// The scanned directories.
    pub roots: Vec<Root>,
    /// Every go.mod and go.work found, in path order.
    pub projects: Vec<Project>,
    /// Every finding, in path and line order.
    pub findings: Vec<Finding>,
}

impl GateReport {
    /// How many findings are violations (level `error`).
    pub fn violations(&self) -> usize {
        self.count(Level::Error)
    }

    /// How many findings have `level`.
    pub fn count(&self, level: Level) -> usize {
        self.findings.iter().filter(|f| f.level == level).count()
    }

    /// The rule identifiers the gate can report, with one-line descriptions.
    pub fn rules() -> Vec<(&'static str, &'static str)> {
        let mut rules: Vec<(&'static str, &'static str)> = Rule::ALL
            .iter()
            .map(|rule| (rule.id(), rule.description()))
            .collect();
        rules.push((
            INVALID_MODFILE,
            "The go.mod or go.work file cannot be parsed",
        ));
        rules.push((
            UNRESOLVED,
            "No installed toolchain satisfies the project on this machine",
        ));
        rules.push((
            BINARY,
            "A Go binary was built by a blocked Go version or has known vulnerabilities",
        ));
        rules.push((
            UPGRADE_BLOCKED,
            "The next Go version the policy allows has blockers for this project",
        ));
        rules
    }

    /// The report as a SARIF 2.1.0 log with one run: every rule in `tool.driver.rules`,
    /// every finding a result whose `physicalLocation` names the file relative to its root
    /// (`uriBaseId` `ROOT<n>`, defined in `originalUriBaseIds`) and the line.
    pub fn to_sarif(&self, tool_name: &str, tool_version: &str) -> Value {
        let rules = Self::rules();
        let rule_objects: Vec<Value> = rules
            .iter()
            .map(|(id, description)| {
                json!({
                    "id": id,
                    "shortDescription": { "text": description },
                    "defaultConfiguration": { "level": default_level(id) },
                })
            })
            .collect();
        let base_ids: serde_json::Map<String, Value> = self
            .roots
            .iter()
            .enumerate()
            .map(|(i, root)| (format!("ROOT{i}"), json!({ "uri": root.uri })))
            .collect();
        let results: Vec<Value> = self
            .findings
            .iter()
            .map(|finding| {
                let mut result = json!({
                    "ruleId": finding.rule,
                    "level": finding.level.as_str(),
                    "message": { "text": finding.message },
                    "locations": [{
                        "physicalLocation": {
                            "artifactLocation": {
                                "uri": finding.file,
                                "uriBaseId": format!("ROOT{}", finding.root),
                            },
                            "region": { "startLine": finding.line.max(1) },
                        }
                    }],
                });
                if let Some(index) = rules.iter().position(|(id, _)| *id == finding.rule) {
                    result["ruleIndex"] = json!(index);
                }
                if !finding.advisories.is_empty() {
                    result["properties"] = json!({ "advisories": finding.advisories });
                }
                result
            })
            .collect();
        json!({
            "$schema": SARIF_SCHEMA,
            "version": "2.1.0",
            "runs": [{
                "tool": {
                    "driver": {
                        "name": tool_name,
                        "version": tool_version,
                        "rules": rule_objects,
                    }
                },
                "originalUriBaseIds": base_ids,
                "results": results,
            }],
        })
    }
}

fn default_level(rule: &str) -> &'static str {
    match rule {
        UNRESOLVED => "note",
        "unknown-environment" | "rollout" | "require-reason" => "warning",
        _ => "error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sarif_has_rules_results_and_locations() {
        let report = GateReport {
            policy: "policy.toml".to_owned(),
            environment: Some("prod".to_owned()),
            roots: vec![Root {
                display: ".".to_owned(),
                uri: "file:///src/repo/".to_owned(),
            }],
            projects: Vec::new(),
            findings: vec![Finding {
                rule: "blocked".to_owned(),
                level: Level::Error,
                message: "toolchain go1.21.1 is blocked".to_owned(),
                root: 0,
                file: "svc/go.mod".to_owned(),
                line: 5,
                advisories: vec!["GO-2023-2102".to_owned()],
            }],
        };
        assert_eq!(report.violations(), 1);
        let sarif = report.to_sarif("goshift", "0.1.0");
        assert_eq!(sarif["version"], "2.1.0");
        let run = &sarif["runs"][0];
        assert_eq!(run["tool"]["driver"]["rules"][0]["id"], "blocked");
        assert_eq!(
            run["originalUriBaseIds"]["ROOT0"]["uri"],
            "file:///src/repo/"
        );
        let result = &run["results"][0];
        assert_eq!(result["ruleId"], "blocked");
        assert_eq!(result["ruleIndex"], 0);
        let location = &result["locations"][0]["physicalLocation"];
        assert_eq!(location["artifactLocation"]["uri"], "svc/go.mod");
        assert_eq!(location["artifactLocation"]["uriBaseId"], "ROOT0");
        assert_eq!(location["region"]["startLine"], 5);
        assert_eq!(result["properties"]["advisories"][0], "GO-2023-2102");
    }
}
