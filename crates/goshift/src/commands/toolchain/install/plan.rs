//! Planning an install: each version request resolved against the release index (or a local
//! archive checked against it), with the hash every archive must have.

use std::path::Path;

use anyhow::Context as _;
use goshift_dist::{Expected, Index};
use goshift_store::{Archive, Origin, Plan, Replace, SmokeSettings, Verification};
use goshift_version::{GoVersion, VersionRequest};

use super::super::ToolchainSettings;
use super::super::progress::Progress;
use crate::error::{WithHint as _, hinted, with_hint};

/// The options every version of one install shares.
#[derive(Debug, Clone, Copy)]
pub(super) struct Options {
    pub(super) smoke_test: bool,
    pub(super) replace: Replace,
}

/// The plan of one version: `origin` and what its archive must be, with `options`.
fn plan(
    version: &GoVersion,
    archive: Archive,
    expected: Expected,
    verification: Verification,
    options: Options,
    toolchain: &ToolchainSettings,
) -> Plan {
    Plan {
        version: version.clone(),
        origin: Origin::Archive(archive),
        expected,
        verification,
        smoke_test: options.smoke_test.then(|| SmokeSettings {
            path: toolchain.smoke_path.clone(),
            timeout: toolchain.smoke_timeout,
        }),
        platform: toolchain.platform.clone(),
        replace: options.replace,
        goshift_exe: toolchain.goshift_exe.clone(),
    }
}

/// Resolves every request against the index.
pub(super) fn downloads(
    requests: &[VersionRequest],
    sha256: Option<&String>,
    options: Options,
    toolchain: &ToolchainSettings,
    progress: &Progress,
) -> anyhow::Result<Vec<Plan>> {
    if sha256.is_some() && requests.len() != 1 {
        return Err(hinted(
            "`--sha256` names one archive, but several versions were given",
            "install the versions one at a time",
        ));
    }
    let index = {
        let _wait = progress.wait(&format!(
            "Reading the release index from {}",
            toolchain.sources.index_url
        ));
        fetch_index(toolchain)?
    };
    let mut plans: Vec<Plan> = Vec::new();
    for request in requests {
        let include_unstable = matches!(request, VersionRequest::Exact(_));
        let (release, file) = index
            .resolve(request, &toolchain.platform, include_unstable)
            .map_err(anyhow::Error::from)
            .hint("`goshift list --remote --all` lists every release of the index")?;
        if !matches!(request, VersionRequest::Exact(_)) {
            progress.status(&format!("Resolved `{request}` to go{}", release.version));
        }
        check_index_file(file, sha256)?;
        if plans.iter().any(|plan| plan.version == release.version) {
            continue;
        }
        let archive = Archive::Download {
            url: toolchain.sources.archive_url(file)?,
            client: toolchain.client.clone(),
            allow_insecure_http: toolchain.sources.allow_insecure_http,
        };
        let expected = Expected {
            sha256: Some(file.sha256.clone()),
            size: Some(file.size),
            version: Some(release.version.clone()),
        };
        let verification = Verification::Index;
        plans.push(plan(
            &release.version,
            archive,
            expected,
            verification,
            options,
            toolchain,
        ));
    }
    Ok(plans)
}

/// Refuses an index entry without a hash or size, or whose hash is not the one given.
fn check_index_file(
    file: &goshift_dist::ReleaseFile,
    sha256: Option<&String>,
) -> anyhow::Result<()> {
    if file.sha256.is_empty() || file.size == 0 {
        let missing = if file.sha256.is_empty() {
            "sha256"
        } else {
            "size"
        };
        return Err(hinted(
            format!(
                "the index lists no {missing} for `{}`, so its bytes cannot be verified",
                file.filename
            ),
            "fix the index, or install the archive with `--archive FILE --sha256 HEX` using a hash published elsewhere",
        ));
    }
    if let Some(given) = sha256
        && given != &file.sha256
    {
        return Err(hinted(
            format!(
                "the index lists sha256 {} for `{}`, but `--sha256` says {given}",
                file.sha256, file.filename
            ),
            "check where the hash came from; the index is the trusted source",
        ));
    }
    Ok(())
}

/// What `install --archive` was given.
pub(super) struct LocalArchive<'a> {
    pub(super) path: &'a Path,
    pub(super) sha256: Option<String>,
    pub(super) allow_unverified: bool,
}

/// Plans the install of a local archive: one exact version, its hash from `--sha256`, else
/// from the index, else nothing with `--allow-unverified`.
pub(super) fn archive(
    requests: &[VersionRequest],
    local: LocalArchive<'_>,
    options: Options,
    toolchain: &ToolchainSettings,
    progress: &Progress,
) -> anyhow::Result<Plan> {
    let [VersionRequest::Exact(version)] = requests else {
        return Err(hinted(
            "`--archive` installs one exact version",
            "name the archive's version, e.g. `goshift install 1.22.10 --archive go1.22.10.linux-amd64.tar.gz`",
        ));
    };
    let path = local.path;
    if !path.is_file() {
        return Err(hinted(
            format!("the archive `{}` does not exist", path.display()),
            "check the path given to `--archive`",
        ));
    }
    let path = goshift_fs::fs::canonicalize(path)?;
    let (sha256, verification) = match local.sha256 {
        Some(sha256) => (Some(sha256), Verification::Sha256Flag),
        None => match index_hash(version, toolchain) {
            Ok(sha256) => (Some(sha256), Verification::Index),
            Err(error) if local.allow_unverified => {
                progress.warn(&format!(
                    "installing `{}` WITHOUT checking its SHA-256 ({error:#}); anyone who could change this file controls this toolchain",
                    path.display()
                ));
                (None, Verification::Unverified)
            }
            Err(error) => {
                return Err(with_hint(
                    error.context(format!(
                        "cannot verify the archive `{}`: no trusted SHA-256",
                        path.display()
                    )),
                    "pass the hash published on go.dev/dl with `--sha256 HEX`, or accept the risk with `--allow-unverified`",
                ));
            }
        },
    };
    let expected = Expected {
        sha256,
        size: None,
        version: Some(version.clone()),
    };
    let archive = Archive::File { path };
    Ok(plan(
        version,
        archive,
        expected,
        verification,
        options,
        toolchain,
    ))
}

/// The index's hash of `version`'s archive for the platform.
fn index_hash(version: &GoVersion, toolchain: &ToolchainSettings) -> anyhow::Result<String> {
    let index = fetch_index(toolchain)?;
    let (_, file) = index.resolve(
        &VersionRequest::Exact(version.clone()),
        &toolchain.platform,
        true,
    )?;
    Ok(file.sha256.clone())
}

fn fetch_index(toolchain: &ToolchainSettings) -> anyhow::Result<Index> {
    toolchain
        .client
        .fetch_index(&toolchain.sources)
        .context("failed to read the release index")
        .hint(super::super::index_hint(&toolchain.sources.index_url))
}

/// Checks a `--sha256` value: 64 hex digits, returned in lowercase.
pub(super) fn parse_sha256(text: &str) -> anyhow::Result<String> {
    let text = text.trim();
    if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(text.to_ascii_lowercase());
    }
    Err(hinted(
        format!("`{text}` is not a SHA-256: expected 64 hexadecimal digits"),
        "copy the checksum from go.dev/dl or the release index",
    ))
}
