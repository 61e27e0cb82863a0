//! The release store: `services/<name>/releases/<id>/` holds a copy of each binary with its
//! provenance, and `services/<name>/current` points at the release that should run.
//!
//! A binary is checked (readable, executable, an ELF for this OS and architecture or a `#!`
//! script) and hashed before it is copied; the copy is written to a temporary directory and
//! renamed into place, so a release directory is either complete or absent. Staging the same
//! bytes again returns the existing release.

use std::io::{Read, Seek as _, SeekFrom, Write as _};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use goshift_fs::{Dir, fs};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::ReleaseError;

/// Where a release came from and what it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// The release id (`20261121T064512Z-1a2b3c4d`).
    pub id: String,
    /// The SHA-256 of the binary, hex.
    pub sha256: String,
    /// The size in bytes.
    pub size: u64,
    /// The path it was staged from.
    pub source: PathBuf,
    /// When it was staged (RFC 3339, UTC).
    pub staged_at: String,
    /// The Go version that built it, from its build info, when known.
    pub go_version: Option<String>,
    /// The main module path, when known.
    pub main_module: Option<String>,
    /// The `vcs.revision` build setting, when known.
    pub revision: Option<String>,
    /// The reason given when it was staged.
    pub reason: Option<String>,
}

/// A staged release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    /// Its provenance.
    pub provenance: Provenance,
    /// The binary inside the store.
    pub binary: PathBuf,
}

impl Release {
    /// The release id.
    pub fn id(&self) -> &str {
        &self.provenance.id
    }
}

/// Build information read from a binary by the caller (the supervisor does not parse Go
/// build info itself).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildFacts {
    /// The Go version.
    pub go_version: Option<String>,
    /// The main module path.
    pub main_module: Option<String>,
    /// `vcs.revision`.
    pub revision: Option<String>,
}

/// One service's releases.
#[derive(Debug, Clone)]
pub struct ReleaseStore {
    service: String,
    root: PathBuf,
}

const BINARY_NAME: &str = "binary";
const PROVENANCE: &str = "provenance.json";

impl ReleaseStore {
    /// The store of `service` under `home` (`$GOSHIFT_HOME`).
    pub fn new(home: &Path, service: &str) -> Self {
        Self {
            service: service.to_owned(),
            root: home.join("services").join(service),
        }
    }

    /// `services/<name>`.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Checks `binary`, then copies it into the store with its provenance, or returns the
    /// release that already holds the same bytes (also when another process staged them a
    /// moment before: staging takes the service's `stage.lock`).
    pub fn stage(
        &self,
        binary: &Path,
        facts: BuildFacts,
        reason: Option<String>,
    ) -> Result<Release, ReleaseError> {
        check_program(binary)?;
        let read_error = |source| ReleaseError::Read {
            path: binary.to_owned(),
            source,
        };
        // The binary is hashed in pieces, not read whole: staging a 7 MiB binary that is
        // already in the store (the common case: upgrading back to an earlier build) then
        // costs no 7 MiB buffer and its page faults.
        let mut file = fs::File::open(binary).map_err(read_error)?;
        let (sha256, size) = hash_pieces(&mut file, |_| Ok(())).map_err(read_error)?;
        let (_staging_lock, root) = self.lock_staging()?;
        if let Some(existing) = self.find_by_sha256(&sha256)? {
            return Ok(existing);
        }
        let now = SystemTime::now();
        let id = format!("{}-{}", compact_utc(now), &sha256[..8]);
        let provenance = Provenance {
            id: id.clone(),
            sha256,
            size,
            source: binary.to_owned(),
            staged_at: rfc3339_utc(now),
            go_version: facts.go_version,
            main_module: facts.main_module,
            revision: facts.revision,
            reason,
        };
        let target = self.write_release(&root, &mut file, &provenance)?;
        Ok(Release {
            provenance,
            binary: target.join(BINARY_NAME),
        })
    }

    /// Takes the service's `stage.lock`. Staging is serialised per service: two upgrades of
    /// the same bytes at once share one release instead of racing for its directory
    /// ("Directory not empty").
    /// Returns the guard and `services/<name>` opened: the release is written through that
    /// handle.
    fn lock_staging(&self) -> Result<(goshift_fs::LockGuard, Dir), ReleaseError> {
        let lock_path = self.root.join("stage.lock");
        // `services/` and `services/<name>` are goshift's own: each is opened once without
        // following a link (a link planted for either is refused naming it; a release written
        // through it would leave the home) and used through its handle.
        let store_error = |path: PathBuf| move |source| ReleaseError::Store { path, source };
        let services = self.root.parent().unwrap_or(Path::new("."));
        let root = Dir::open_private(services)
            .map_err(store_error(services.to_owned()))?
            .private_dir(&self.service)
            .map_err(store_error(self.root.clone()))?;
        let guard = goshift_fs::LockFile::beneath(&root, "stage.lock")
            .acquire(STAGE_LOCK_TIMEOUT, |_| {})
            .map_err(|error| ReleaseError::Store {
                path: lock_path,
                source: std::io::Error::other(error),
            })?;
        Ok((guard, root))
    }

    /// Copies `file` (hashed again as it is written) and its provenance into a new release
    /// directory, published with one rename; returns that directory. Nothing is left behind
    /// on failure.
    fn write_release(
        &self,
        root: &Dir,
        file: &mut fs::File,
        provenance: &Provenance,
    ) -> Result<PathBuf, ReleaseError> {
        let releases_path = self.root.join("releases");
        let releases = root
            .private_dir("releases")
            .map_err(|source| ReleaseError::Store {
                path: releases_path.clone(),
                source,
            })?;
        let target = releases_path.join(&provenance.id);
        let staging = goshift_fs::temp_name(Path::new(&provenance.id)).into_os_string();
        let result = (|| {
            let dir = releases.create_dir(&staging)?;
            file.seek(SeekFrom::Start(0))?;
            if !copy_checked(file, dir.create_file(BINARY_NAME, 0o755)?, provenance)? {
                return Ok(false);
            }
            let json = serde_json::to_vec_pretty(provenance).map_err(std::io::Error::other)?;
            dir.write_atomic(PROVENANCE, &json, 0o644)?;
            releases.rename(&staging, &releases, &provenance.id)?;
            releases.sync()?;
            Ok(true)
        })();
        if !matches!(result, Ok(true)) {
            let _ = releases.remove_tree(&staging);
        }
        match result {
            Ok(true) => Ok(target),
            Ok(false) => Err(ReleaseError::Changed {
                path: provenance.source.clone(),
            }),
            Err(source) => Err(ReleaseError::Store {
                path: target,
                source,
            }),
        }
    }

    /// The release with this id.
    pub fn get(&self, id: &str) -> Result<Release, ReleaseError> {
        let unknown = || ReleaseError::UnknownRelease {
            service: self.service.clone(),
            id: id.to_owned(),
        };
        if id.is_empty() || id.contains('/') || id.starts_with('.') {
            return Err(unknown());
        }
        let dir = self.root.join("releases").join(id);
        let text = match fs::read(dir.join(PROVENANCE)) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(unknown()),
            Err(source) => {
                return Err(ReleaseError::Store {
                    path: dir.join(PROVENANCE),
                    source,
                });
            }
        };
        let provenance: Provenance =
            serde_json::from_slice(&text).map_err(|e| ReleaseError::Store {
                path: dir.join(PROVENANCE),
                source: std::io::Error::other(e),
            })?;
        Ok(Release {
            provenance,
            binary: dir.join(BINARY_NAME),
        })
    }

    /// Every release, oldest first.
    pub fn list(&self) -> Result<Vec<Release>, ReleaseError> {
        self.ids()?.iter().map(|id| self.get(id)).collect()
    }

    /// The ids of every release, oldest first.
    fn ids(&self) -> Result<Vec<String>, ReleaseError> {
        let releases = self.root.join("releases");
        let entries = match fs::read_dir(&releases) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(ReleaseError::Store {
                    path: releases,
                    source,
                });
            }
        };
        let mut ids: Vec<String> = entries
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|name| !name.starts_with('.'))
            .collect();
        ids.sort();
        Ok(ids)
    }

    /// The release `current` points at, if the link exists.
    pub fn current(&self) -> Result<Option<Release>, ReleaseError> {
        let link = self.root.join("current");
        match fs::read_link(&link) {
            Ok(target) => {
                let id = target
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default()
                    .to_owned();
                self.get(&id).map(Some)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(ReleaseError::Store { path: link, source }),
        }
    }

    /// Points `current` at `id` atomically.
    pub fn set_current(&self, id: &str) -> Result<(), ReleaseError> {
        let link = self.root.join("current");
        goshift_fs::replace_symlink(&Path::new("releases").join(id), &link)
            .map_err(|source| ReleaseError::Store { path: link, source })
    }

    fn find_by_sha256(&self, sha256: &str) -> Result<Option<Release>, ReleaseError> {
        // An id ends in the hash's first eight digits: only those releases' provenance is read.
        let suffix = format!("-{}", sha256.get(..8).unwrap_or(sha256));
        for id in self.ids()?.iter().filter(|id| id.ends_with(&suffix)) {
            let release = self.get(id)?;
            if release.provenance.sha256 == sha256 {
                return Ok(Some(release));
            }
        }
        Ok(None)
    }
}

/// Refuses what cannot run here: a missing or non-executable file, or an ELF for another OS
/// or architecture. `#!` scripts are accepted.
pub fn check_program(path: &Path) -> Result<(), ReleaseError> {
    let read_error = |source| ReleaseError::Read {
        path: path.to_owned(),
        source,
    };
    let metadata = fs::metadata(path).map_err(read_error)?;
    if !metadata.is_file() {
        return Err(ReleaseError::NotAProgram {
            path: path.to_owned(),
            reason: "it is not a regular file".into(),
        });
    }
    let mode = metadata.permissions().mode();
    if mode & 0o111 == 0 {
        return Err(ReleaseError::NotExecutable {
            path: path.to_owned(),
            mode: mode & 0o7777,
        });
    }
    let header = read_header(path).map_err(read_error)?;
    if header.starts_with(b"#!") {
        return Ok(());
    }
    check_elf(path, &header)
}

/// The first 20 bytes of `path`, or fewer when it is shorter.
fn read_header(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut header = [0_u8; 20];
    let mut file = fs::File::open(path)?;
    let mut filled = 0;
    while filled < header.len() {
        match file.read(&mut header[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(header[..filled].to_vec())
}

/// Refuses a `header` that is not an ELF file for this OS and architecture.
fn check_elf(path: &Path, header: &[u8]) -> Result<(), ReleaseError> {
    if !header.starts_with(b"\x7fELF") || header.len() < 20 {
        return Err(ReleaseError::NotAProgram {
            path: path.to_owned(),
            reason: "it is neither an ELF executable nor a `#!` script".into(),
        });
    }
    let class = header[4];
    let little_endian = header[5] == 1;
    let osabi = header[7];
    let machine = if little_endian {
        u16::from_le_bytes([header[18], header[19]])
    } else {
        u16::from_be_bytes([header[18], header[19]])
    };
    let (host_machine, host_class) = host_machine();
    let os_ok = matches!(osabi, 0 | 3);
    if !os_ok
        || machine != host_machine
        || class != host_class
        || little_endian != cfg!(target_endian = "little")
    {
        return Err(ReleaseError::WrongPlatform {
            path: path.to_owned(),
            found: format!(
                "{}/{}",
                osabi_name(osabi),
                machine_name(machine, class, little_endian)
            ),
            expected: format!("{}/{}", std::env::consts::OS, std::env::consts::ARCH),
        });
    }
    Ok(())
}

fn host_machine() -> (u16, u8) {
    let class = if cfg!(target_pointer_width = "64") {
        2
    } else {
        1
    };
    let machine = match std::env::consts::ARCH {
        "x86_64" => 62,
        "x86" => 3,
        "aarch64" => 183,
        "arm" => 40,
        "riscv64" => 243,
        "powerpc64" => 21,
        "s390x" => 22,
        "loongarch64" => 258,
        _ => 0,
    };
    (machine, class)
}

fn osabi_name(osabi: u8) -> &'static str {
    match osabi {
        0 | 3 => "linux",
        9 => "freebsd",
        12 => "openbsd",
        2 => "netbsd",
        6 => "solaris",
        _ => "another OS",
    }
}

fn machine_name(machine: u16, class: u8, little_endian: bool) -> String {
    let name = match (machine, class) {
        (62, 2) => "amd64",
        (3, 1) => "386",
        (183, 2) => "arm64",
        (40, 1) => "arm",
        (243, 2) => "riscv64",
        (21, 2) if little_endian => "ppc64le",
        (21, 2) => "ppc64",
        (22, 2) => "s390x",
        (258, 2) => "loong64",
        _ => {
            return format!(
                "machine {machine} ({}-bit)",
                if class == 2 { 64 } else { 32 }
            );
        }
    };
    name.to_owned()
}

/// Reads `file` from where it is to its end in pieces, hands each piece to `sink`, and returns
/// the SHA-256 (hex) and the number of bytes read.
fn hash_pieces(
    file: &mut fs::File,
    mut sink: impl FnMut(&[u8]) -> std::io::Result<()>,
) -> std::io::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 128 * 1024];
    let mut size = 0;
    loop {
        let read = match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        hasher.update(&buffer[..read]);
        sink(&buffer[..read])?;
        size += read as u64;
    }
    Ok((format!("{:x}", hasher.finalize()), size))
}

/// Copies `file` (from where it is) into `copy` (a new executable, its mode set exactly),
/// hashing it again as it is written, and syncs it; returns false when the bytes are not the
/// ones `provenance` names (the file changed since it was hashed). The store keeps exactly
/// what its provenance says.
fn copy_checked(
    file: &mut fs::File,
    mut copy: std::fs::File,
    provenance: &Provenance,
) -> std::io::Result<bool> {
    let (sha256, size) = hash_pieces(file, |piece| copy.write_all(piece))?;
    if sha256 != provenance.sha256 || size != provenance.size {
        return Ok(false);
    }
    copy.sync_all()?;
    Ok(true)
}

/// `20261121T064512Z`.
pub(crate) fn compact_utc(time: SystemTime) -> String {
    rfc3339_utc(time).replace(['-', ':'], "")
}

/// `2026-11-21T06:45:12Z`. humantime formats the years 1970 to 9999 only; a clock outside
/// them reads as the nearest end.
pub(crate) fn rfc3339_utc(time: SystemTime) -> String {
    let last = UNIX_EPOCH + std::time::Duration::from_secs(253_402_300_799);
    humantime::format_rfc3339_seconds(time.clamp(UNIX_EPOCH, last)).to_string()
}

/// How long staging waits for another process staging a release of the same service.
const STAGE_LOCK_TIMEOUT: std::time::Duration = std::time::Duration::from_mins(2);

#[cfg(test)]
mod tests {
    use super::*;
    use goshift_fs::fs::os::unix::fs::OpenOptionsExt as _;
    use std::time::Duration;

    #[test]
    fn formats_utc() {
        let t = UNIX_EPOCH + Duration::from_secs(1_795_243_512);
        assert_eq!(rfc3339_utc(t), "2026-11-21T06:45:12Z");
        assert_eq!(compact_utc(t), "20261121T064512Z");
        assert_eq!(rfc3339_utc(UNIX_EPOCH), "1970-01-01T00:00:00Z");
    }

    fn write_exec(path: &Path, bytes: &[u8]) {
        std::fs::write(path, bytes).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn refuses_foreign_and_broken_binaries() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        assert!(matches!(
            check_program(&missing),
            Err(ReleaseError::Read { .. })
        ));

        let text = dir.path().join("text");
        write_exec(&text, b"hello world, not a program");
        assert!(matches!(
            check_program(&text),
            Err(ReleaseError::NotAProgram { .. })
        ));

        let mut elf = vec![0_u8; 64];
        elf[..4].copy_from_slice(b"\x7fELF");
        elf[4] = 2;
        elf[5] = 1;
        elf[18..20].copy_from_slice(&183_u16.to_le_bytes());
        let arm = dir.path().join("arm64");
        write_exec(&arm, &elf);
        let error = check_program(&arm).unwrap_err().to_string();
        if std::env::consts::ARCH == "x86_64" {
            assert!(error.contains("built for linux/arm64"), "{error}");
        }

        let script = dir.path().join("script");
        write_exec(&script, b"#!/bin/sh\nexit 0\n");
        check_program(&script).unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            check_program(&script),
            Err(ReleaseError::NotExecutable { .. })
        ));

        check_program(&std::env::current_exe().unwrap()).unwrap();
    }

    #[test]
    fn concurrent_stagings_of_the_same_bytes_share_one_release() {
        let dir = tempfile::tempdir().unwrap();
        let binary = dir.path().join("service");
        write_exec(&binary, b"#!/bin/sh\nexit 0\n");
        let releases: Vec<Release> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..16)
                .map(|_| {
                    scope.spawn(|| {
                        ReleaseStore::new(dir.path(), "api")
                            .stage(&binary, BuildFacts::default(), None)
                            .unwrap()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(releases.iter().all(|r| r == &releases[0]), "{releases:#?}");
        assert_eq!(
            ReleaseStore::new(dir.path(), "api").list().unwrap().len(),
            1
        );
    }

    #[test]
    fn stages_once_per_content() {
        let dir = tempfile::tempdir().unwrap();
        let store = ReleaseStore::new(dir.path(), "api");
        let binary = std::env::current_exe().unwrap();
        let first = store.stage(&binary, BuildFacts::default(), None).unwrap();
        let again = store.stage(&binary, BuildFacts::default(), None).unwrap();
        assert_eq!(first, again);
        assert_eq!(store.list().unwrap().len(), 1);
        assert_eq!(store.current().unwrap(), None);
        store.set_current(first.id()).unwrap();
        assert_eq!(store.current().unwrap(), Some(first.clone()));
        let bytes = std::fs::read(&binary).unwrap();
        assert!(
            bytes.len() > 128 * 1024,
            "several pieces are hashed and copied"
        );
        assert_eq!(std::fs::read(&first.binary).unwrap(), bytes);
        assert_eq!(
            first.provenance.sha256,
            format!("{:x}", Sha256::digest(&bytes))
        );
        assert_eq!(first.provenance.size, bytes.len() as u64);
        assert_eq!(
            std::fs::metadata(&first.binary)
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o755
        );
        assert!(matches!(
            store.get("nope"),
            Err(ReleaseError::UnknownRelease { .. })
        ));
    }

    /// The umask is per process and tests share one: the body runs in a copy of this test
    /// binary that a shell starts with `umask 077`.
    #[test]
    fn a_release_is_executable_under_a_narrow_umask() {
        const CHILD: &str = "GOSHIFT_TEST_UNDER_UMASK_077";
        const NAME: &str = "release::tests::a_release_is_executable_under_a_narrow_umask";
        if std::env::var_os(CHILD).is_none() {
            let output = std::process::Command::new("sh")
                .args(["-c", "umask 077 && exec \"$0\" --exact \"$1\" --nocapture"])
                .arg(std::env::current_exe().unwrap())
                .arg(NAME)
                .env(CHILD, "1")
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&output.stdout);
            assert!(output.status.success(), "{text}");
            assert!(text.contains("1 passed"), "the body did not run: {text}");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let probe = dir.path().join("probe");
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o777)
            .open(&probe)
            .unwrap();
        let probe_mode = fs::metadata(&probe).unwrap().permissions().mode() & 0o777;
        assert_eq!(probe_mode, 0o700, "the umask is not 077 here");
        let source = dir.path().join("app");
        write_exec(&source, b"#!/bin/sh\nexit 0\n");
        let release = ReleaseStore::new(dir.path(), "api")
            .stage(&source, BuildFacts::default(), None)
            .unwrap();
        let mode = fs::metadata(&release.binary).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o755);
        check_program(&release.binary).unwrap();
    }

    fn new_file(path: &Path) -> std::fs::File {
        std::fs::File::create_new(path).unwrap()
    }

    #[test]
    fn a_binary_that_changed_since_it_was_hashed_is_not_kept() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("app");
        write_exec(&source, b"#!/bin/sh\nexit 0\n");
        let mut file = fs::File::open(&source).unwrap();
        let (sha256, size) = hash_pieces(&mut file, |_| Ok(())).unwrap();
        let provenance = Provenance {
            id: "20261121T064512Z-00000000".into(),
            sha256,
            size,
            source: source.clone(),
            staged_at: String::new(),
            go_version: None,
            main_module: None,
            revision: None,
            reason: None,
        };
        write_exec(&source, b"#!/bin/sh\nexit 1\n");
        let mut file = fs::File::open(&source).unwrap();
        assert!(!copy_checked(&mut file, new_file(&dir.path().join("copy")), &provenance).unwrap());
        write_exec(&source, b"#!/bin/sh\nexit 0\n");
        let mut file = fs::File::open(&source).unwrap();
        assert!(copy_checked(&mut file, new_file(&dir.path().join("copy2")), &provenance).unwrap());
        assert_eq!(
            std::fs::read(dir.path().join("copy2")).unwrap(),
            b"#!/bin/sh\nexit 0\n"
        );
    }
}
