//! `goshift snapshot create|restore`: the machine's Go setup in one self-checking file.
//!
//! A snapshot file is a header line, `goshift-snapshot 1 sha256=<hex>`, then a JSON body;
//! the hash covers the body's bytes exactly, so a truncated, edited or foreign file is refused
//! before anything is read from it. The body ([`Snapshot`]) holds the installed versions with
//! their archive hashes, the default, the history file, the policy in force, the audit head,
//! `go env` of the default and the inventory of `$GOPATH/bin`.

mod create;
mod restore;

use std::path::Path;

use anyhow::Context as _;
use goshift_audit::Head;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::cli::SnapshotCommand;
use crate::error::hinted;
use crate::exit::ExitStatus;
use crate::settings::GlobalSettings;

/// The first word of every snapshot file.
const MAGIC: &str = "goshift-snapshot";
/// The format version this goshift writes and reads.
const FORMAT: u32 = 1;

/// Runs a `goshift snapshot` command.
pub(crate) fn run(
    settings: &GlobalSettings,
    command: SnapshotCommand,
) -> anyhow::Result<ExitStatus> {
    match command {
        SnapshotCommand::Create { output } => create::create(settings, output.as_deref()),
        SnapshotCommand::Restore {
            file,
            dry_run,
            force,
            reason,
        } => restore::restore(settings, &file, dry_run, force, reason.as_ref()),
    }
}

/// Everything a snapshot records.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Snapshot {
    /// When it was taken (RFC 3339, UTC).
    created: String,
    /// Where it was taken.
    host: String,
    /// The installed toolchains.
    toolchains: Vec<SnapshotToolchain>,
    /// The default version.
    default: Option<String>,
    /// The store's history file, byte for byte.
    history: String,
    /// The policy in force.
    policy: Option<SnapshotPolicy>,
    /// The audit log's head.
    audit_head: Option<Head>,
    /// `go env -json` of the default toolchain.
    go_env: Option<serde_json::Value>,
    /// The programs in `$GOPATH/bin`.
    tools: Vec<Tool>,
}

/// One installed toolchain.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SnapshotToolchain {
    /// The version, such as `1.22.10`.
    version: String,
    /// The SHA-256 of the archive it was installed from (none for imported trees).
    archive_sha256: Option<String>,
    /// Where it came from, as its manifest says.
    source: serde_json::Value,
}

/// The policy file in force when the snapshot was taken.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SnapshotPolicy {
    /// Its path.
    path: String,
    /// Its text.
    text: String,
}

/// A program in `$GOPATH/bin`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Tool {
    /// The file name.
    name: String,
    /// The file's SHA-256.
    sha256: String,
    /// The main package path from its build info (`go version -m`), if it is a Go program.
    path: Option<String>,
    /// The main module's version from its build info.
    version: Option<String>,
}

impl Tool {
    /// The `go install` line that brings the tool back, when its build info names one.
    fn install_line(&self) -> Option<String> {
        let path = self.path.as_deref()?;
        let version = self
            .version
            .as_deref()
            .filter(|v| *v != "(devel)")
            .unwrap_or("latest");
        Some(format!("go install {path}@{version}"))
    }
}

/// Serialises a snapshot with its header.
fn encode(snapshot: &Snapshot) -> anyhow::Result<Vec<u8>> {
    let body = serde_json::to_vec_pretty(snapshot)?;
    let hash = format!("{:x}", Sha256::digest(&body));
    let mut bytes = format!("{MAGIC} {FORMAT} sha256={hash}\n").into_bytes();
    bytes.extend_from_slice(&body);
    bytes.push(b'\n');
    Ok(bytes)
}

/// The largest snapshot goshift reads (a snapshot holds text: the history, the policy, the
/// tools' lists).
const MAX_SNAPSHOT_BYTES: u64 = 64 << 20;

/// Reads and checks a snapshot file: header, format, checksum, then the body.
fn decode(path: &Path) -> anyhow::Result<Snapshot> {
    let bytes = goshift_fs::read_limited(path, MAX_SNAPSHOT_BYTES)
        .context("failed to read the snapshot")?;
    let refuse = |what: &str| {
        hinted(
            format!("`{}` is not a usable snapshot: {what}", path.display()),
            "use a file written by `goshift snapshot create`; nothing was changed",
        )
    };
    let newline = bytes
        .iter()
        .position(|&b| b == b'\n')
        .ok_or_else(|| refuse("it has no header line"))?;
    let header =
        std::str::from_utf8(&bytes[..newline]).map_err(|_| refuse("its header is not text"))?;
    let mut words = header.split(' ');
    if words.next() != Some(MAGIC) {
        return Err(refuse(
            "it does not start with `goshift-snapshot` (a foreign file)",
        ));
    }
    let format = words.next().unwrap_or_default();
    if format != FORMAT.to_string() {
        return Err(refuse(&format!(
            "it has format `{format}`, and this goshift reads format {FORMAT}"
        )));
    }
    let expected = words
        .next()
        .and_then(|w| w.strip_prefix("sha256="))
        .ok_or_else(|| refuse("its header has no checksum"))?;
    let mut body = &bytes[newline + 1..];
    if let Some(stripped) = body.strip_suffix(b"\n") {
        body = stripped;
    }
    let actual = format!("{:x}", Sha256::digest(body));
    if actual != expected {
        return Err(refuse(&format!(
            "its checksum does not match (header {expected}, content {actual}): the file is truncated or was edited"
        )));
    }
    serde_json::from_slice(body).map_err(|e| refuse(&format!("its content is not a snapshot: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use goshift_fs::fs;

    fn snapshot() -> Snapshot {
        Snapshot {
            created: "2024-03-01T12:00:00Z".to_owned(),
            host: "build-1".to_owned(),
            toolchains: vec![SnapshotToolchain {
                version: "1.22.10".to_owned(),
                archive_sha256: Some("ab".repeat(32)),
                source: serde_json::json!({ "kind": "download" }),
            }],
            default: Some("1.22.10".to_owned()),
            history: "{\"seq\":1}\n".to_owned(),
            policy: None,
            audit_head: None,
            go_env: None,
            tools: Vec::new(),
        }
    }

    #[test]
    fn round_trip_and_every_kind_of_damage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.snap");
        let bytes = encode(&snapshot()).unwrap();
        fs::write(&path, &bytes).unwrap();
        assert_eq!(decode(&path).unwrap().default.as_deref(), Some("1.22.10"));

        let cases: Vec<(&str, Vec<u8>)> = vec![
            (
                "checksum does not match",
                bytes[..bytes.len() - 20].to_vec(),
            ),
            (
                "checksum does not match",
                String::from_utf8(bytes.clone())
                    .unwrap()
                    .replace("1.22.10", "1.22.11")
                    .into_bytes(),
            ),
            ("foreign file", b"{\"toolchains\": []}\n".to_vec()),
            ("no header line", b"goshift-snapshot 1".to_vec()),
            (
                "format `2`",
                String::from_utf8(bytes.clone())
                    .unwrap()
                    .replacen("goshift-snapshot 1", "goshift-snapshot 2", 1)
                    .into_bytes(),
            ),
        ];
        for (expected, damaged) in cases {
            fs::write(&path, &damaged).unwrap();
            let error = format!("{:#}", decode(&path).unwrap_err());
            assert!(error.contains(expected), "{expected}: {error}");
        }
    }

    #[test]
    fn install_lines_come_from_build_info() {
        let tool = Tool {
            name: "gopls".to_owned(),
            sha256: String::new(),
            path: Some("golang.org/x/tools/gopls".to_owned()),
            version: Some("v0.16.2".to_owned()),
        };
        assert_eq!(
            tool.install_line().as_deref(),
            Some("go install golang.org/x/tools/gopls@v0.16.2")
        );
    }
}
