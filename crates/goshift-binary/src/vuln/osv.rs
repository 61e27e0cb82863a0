//! The parts of the OSV schema the Go vulnerability database uses.

use serde::{Deserialize, Serialize};

/// One advisory (`ID/GO-YYYY-NNNN.json`).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Entry {
    /// `GO-YYYY-NNNN`.
    pub id: String,
    /// Last modification time (RFC 3339).
    #[serde(default)]
    pub modified: String,
    /// Set when the advisory was withdrawn.
    #[serde(default)]
    pub withdrawn: Option<String>,
    /// CVE and GHSA identifiers.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// One-line summary.
    #[serde(default)]
    pub summary: String,
    /// Affected modules.
    #[serde(default)]
    pub affected: Vec<Affected>,
    /// Database-specific fields, such as the advisory's URL.
    #[serde(default)]
    pub database_specific: Option<DatabaseSpecific>,
}

/// One affected module with its version ranges.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Affected {
    /// The module.
    pub package: Package,
    /// Version ranges; none means every version.
    #[serde(default)]
    pub ranges: Vec<Range>,
    /// Affected packages and platforms.
    #[serde(default)]
    pub ecosystem_specific: Option<EcosystemSpecific>,
}

/// The affected module's name: a module path, `stdlib` or `toolchain`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Package {
    /// Module path.
    pub name: String,
    /// Always `Go`.
    #[serde(default)]
    pub ecosystem: String,
}

/// A version range.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Range {
    /// Only `SEMVER` ranges are evaluated.
    #[serde(rename = "type")]
    pub kind: String,
    /// `introduced`/`fixed` events.
    #[serde(default)]
    pub events: Vec<Event>,
}

/// One event: exactly one of the fields is set.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct Event {
    /// The first affected version (`0` for the beginning of time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introduced: Option<String>,
    /// The first fixed version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
}

/// Go-specific detail of an affected module.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct EcosystemSpecific {
    /// Affected packages.
    #[serde(default)]
    pub imports: Vec<Import>,
}

/// An affected package, optionally limited to platforms.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Import {
    /// Package import path.
    pub path: String,
    /// Operating systems; empty means all.
    #[serde(default)]
    pub goos: Vec<String>,
    /// Architectures; empty means all.
    #[serde(default)]
    pub goarch: Vec<String>,
    /// The vulnerable functions (`Reader.Read`, `Parse`); empty means the whole package.
    #[serde(default)]
    pub symbols: Vec<String>,
}

/// Database-specific fields.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct DatabaseSpecific {
    /// The advisory's page.
    #[serde(default)]
    pub url: Option<String>,
}

/// `index/db.json`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct DbIndex {
    /// When the database last changed (RFC 3339).
    pub modified: String,
}

/// One module in `index/modules.json`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ModuleIndex {
    /// Module path (`stdlib`, `toolchain`, or a module).
    pub path: String,
    /// Advisories for the module.
    #[serde(default)]
    pub vulns: Vec<ModuleVuln>,
}

/// An advisory in the module index.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ModuleVuln {
    /// The advisory ID.
    pub id: String,
    /// The newest fixed version, if any.
    #[serde(default)]
    pub fixed: Option<String>,
}
