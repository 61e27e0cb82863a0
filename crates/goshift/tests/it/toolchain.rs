//! The toolchain store's commands against a loopback mirror of fake Go archives.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use goshift_testkit::TestContext;
use goshift_testkit::archive::{fake_go, host_platform};
use goshift_testkit::mirror::{IndexEntry, MirrorServer, index_json};

/// A sandbox plus a mirror serving fake Go archives and their index.
pub(crate) struct StoreTest {
    pub(crate) context: TestContext,
    pub(crate) mirror: MirrorServer,
}

/// A finished command: status and filtered output.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl StoreTest {
    /// A mirror with working fake archives of `versions`.
    pub(crate) fn new(versions: &[&str]) -> Self {
        let archives: Vec<(String, Vec<u8>)> = versions
            .iter()
            .map(|v| ((*v).to_owned(), fake_go(v)))
            .collect();
        Self::with_archives(&archives)
    }

    /// A mirror serving these archives, listed in the index with their real hashes.
    pub(crate) fn with_archives(archives: &[(String, Vec<u8>)]) -> Self {
        let mirror = MirrorServer::start();
        let mut entries = Vec::new();
        for (version, bytes) in archives {
            let entry = IndexEntry::host_archive(version, bytes);
            mirror.add(&entry.filename, bytes.clone());
            entries.push(entry);
        }
        mirror.add("index.json", index_json(&entries));
        Self {
            context: TestContext::new(env!("CARGO_BIN_EXE_goshift")),
            mirror,
        }
    }

    /// A `goshift` command pointed at the mirror.
    pub(crate) fn command(&self) -> Command {
        let mut command = self.context.command();
        command.env("GOSHIFT_INDEX_URL", self.mirror.url_of("index.json"));
        command
    }

    /// Runs `goshift ARGS…`.
    pub(crate) fn run(&self, args: &[&str]) -> Run {
        let output = self
            .command()
            .args(args)
            .output()
            .expect("failed to run goshift");
        self.finish(&output)
    }

    /// Filters an output.
    pub(crate) fn finish(&self, output: &Output) -> Run {
        Run {
            code: output.status.code(),
            stdout: self.filter(&String::from_utf8_lossy(&output.stdout)),
            stderr: self.filter(&String::from_utf8_lossy(&output.stderr)),
        }
    }

    /// Replaces sandbox paths, the mirror URL, timestamps and the platform.
    pub(crate) fn filter(&self, text: &str) -> String {
        let (os, arch) = host_platform();
        let text = self
            .context
            .filter(text)
            .replace(&self.mirror.url(), "[MIRROR]/")
            .replace(&format!("{os}-{arch}"), "[PLATFORM]")
            .replace(&format!("{os}/{arch}"), "[PLATFORM]");
        filter_times(&text)
    }

    /// `GOSHIFT_HOME`.
    pub(crate) fn home(&self) -> PathBuf {
        self.context.home()
    }

    /// Runs a command that must succeed, returning it.
    pub(crate) fn ok(&self, args: &[&str]) -> Run {
        let run = self.run(args);
        assert_eq!(run.code, Some(0), "goshift {args:?} failed: {run:#?}");
        run
    }

    /// Where verified archives are kept: the sandbox user's `~/.cache/goshift/archives`.
    pub(crate) fn archive_cache(&self) -> PathBuf {
        self.context.root().join("user/.cache/goshift/archives")
    }

    /// The names in a directory of the home, sorted.
    pub(crate) fn names(&self, dir: &str) -> Vec<String> {
        names(&self.home().join(dir))
    }
}

/// The names in `dir`, sorted; empty when it does not exist.
pub(crate) fn names(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .map(|e| {
            e.expect("failed to list a directory")
                .file_name()
                .into_string()
                .expect("failed to list a directory")
        })
        .collect();
    names.sort();
    names
}

/// Replaces RFC 3339 UTC timestamps (`2024-01-02T03:04:05Z`) with `[TIME]`.
fn filter_times(text: &str) -> String {
    let pattern = b"dddd-dd-ddTdd:dd:ddZ";
    let bytes = text.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < bytes.len() {
        let matches = bytes.len() - i >= pattern.len()
            && pattern.iter().zip(&bytes[i..]).all(|(p, b)| match p {
                b'd' => b.is_ascii_digit(),
                other => other == b,
            });
        if matches {
            out.push_str("[TIME]");
            i += pattern.len();
        } else {
            let c = text[i..]
                .chars()
                .next()
                .expect("a non-empty rest has a first char");
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

#[test]
fn first_install_becomes_the_default() {
    let test = StoreTest::new(&["1.21.13", "1.22.10"]);
    let run = test.ok(&["install", "1.22.10"]);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        "Downloading go1.22.10 from [MIRROR]/go1.22.10.[PLATFORM].tar.gz\n\
         Smoke-testing go1.22.10\n\
         Installed go1.22.10 in [ROOT]/home/toolchains/go1.22.10\n\
         Default is now go1.22.10 (there was none)\n"
    );
    assert_eq!(test.ok(&["list"]).stdout, "go1.22.10  (default)\n");
    assert_eq!(
        std::fs::read_link(test.home().join("default")).unwrap(),
        Path::new("toolchains/go1.22.10")
    );
    assert_eq!(test.names("bin"), ["go", "go1.22.10", "gofmt"]);
    assert_eq!(
        std::fs::read_link(test.home().join("bin/go")).unwrap(),
        Path::new(env!("CARGO_BIN_EXE_goshift"))
    );
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(test.home().join("manifests/go1.22.10.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["smoke_test"], "passed");
    assert_eq!(manifest["verification"], "index");
    assert_eq!(manifest["source"]["kind"], "download");
    assert!(
        manifest["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["path"] == "bin/go")
    );
    // The verified archive is kept for offline reinstalls.
    assert_eq!(names(&test.archive_cache()).len(), 1);
    assert!(test.names("staging").is_empty());

    // A second install keeps the default.
    let run = test.ok(&["install", "1.21.13"]);
    assert!(!run.stderr.contains("Default is now"), "{}", run.stderr);
    assert_eq!(
        test.ok(&["list"]).stdout,
        "go1.22.10  (default)\ngo1.21.13\n"
    );
    assert_eq!(test.names("bin"), ["go", "go1.21.13", "go1.22.10", "gofmt"]);
}

#[test]
fn several_versions_install_in_parallel_and_the_first_asked_is_the_default() {
    let test = StoreTest::new(&["1.21.13", "1.22.9", "1.22.10"]);
    let run = test.ok(&["install", "--no-smoke-test", "1.22", "1.21.13"]);
    assert!(
        run.stderr.starts_with(
            "Resolved `1.22` to go1.22.10\nSkipping the smoke test (--no-smoke-test)\n"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .ends_with("Default is now go1.22.10 (there was none)\n"),
        "{}",
        run.stderr
    );
    assert_eq!(
        test.ok(&["list"]).stdout,
        "go1.22.10  (default)\ngo1.21.13\n"
    );
    let manifest = std::fs::read_to_string(test.home().join("manifests/go1.21.13.json")).unwrap();
    assert!(
        manifest.contains("\"smoke_test\": \"skipped\""),
        "{manifest}"
    );
}

#[test]
fn latest_and_json_output() {
    let test = StoreTest::new(&["1.21.13", "1.22.10", "1.23rc1"]);
    let run = test.ok(&["install", "--json", "latest"]);
    let value: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(value[0]["version"], "1.22.10");
    assert_eq!(value[0]["status"], "installed");
    assert_eq!(value[0]["default"], true);
    assert_eq!(value[0]["smoke_test"], "passed");
    assert_eq!(value[0]["path"], "[ROOT]/home/toolchains/go1.22.10");
    let list: serde_json::Value =
        serde_json::from_str(&test.ok(&["list", "--json"]).stdout).unwrap();
    assert_eq!(
        list,
        serde_json::json!([{
            "version": "1.22.10",
            "path": "[ROOT]/home/toolchains/go1.22.10",
            "default": true,
            "installed": true,
            "stable": true,
            "archive": null,
        }])
    );
}

#[test]
fn an_installed_version_is_a_success_with_a_note_and_reinstall_reinstalls() {
    let test = StoreTest::new(&["1.22.10"]);
    test.ok(&["install", "1.22.10"]);
    let run = test.ok(&["install", "1.22.10"]);
    assert_eq!(
        run.stderr,
        "go1.22.10 is already installed (reinstall with `--reinstall`)\n"
    );
    let before = std::fs::read_to_string(test.home().join("manifests/go1.22.10.json")).unwrap();
    // `--force` only overrides the policy now; the old spelling says what reinstalls.
    let run = test.run(&["install", "--force", "--no-smoke-test", "1.22.10"]);
    assert_eq!(run.code, Some(2));
    assert_eq!(
        run.stderr,
        "error: go1.22.10 is already installed, and `--force` no longer reinstalls\n\n\
         hint: reinstall with `goshift install 1.22.10 --reinstall` (`--force` only overrides a policy refusal now)\n"
    );
    let run = test.ok(&["install", "--reinstall", "--no-smoke-test", "1.22.10"]);
    // The verified archive comes from the cache: no second download.
    assert_eq!(
        run.stderr,
        "Skipping the smoke test (--no-smoke-test)\n\
         Using the cached archive of go1.22.10\n\
         Installed go1.22.10 in [ROOT]/home/toolchains/go1.22.10\n"
    );
    let downloads = test
        .mirror
        .requested_paths()
        .iter()
        .filter(|p| p.ends_with(".tar.gz"))
        .count();
    assert_eq!(downloads, 1);
    let after = std::fs::read_to_string(test.home().join("manifests/go1.22.10.json")).unwrap();
    assert_ne!(before, after);
    assert!(after.contains("\"kind\": \"cache\""), "{after}");
    assert_eq!(test.ok(&["verify"]).stdout, "go1.22.10: ok (13 entries)\n");
    assert_eq!(test.ok(&["list"]).stdout, "go1.22.10  (default)\n");
}

#[test]
fn use_history_and_rollback() {
    let test = StoreTest::new(&["1.21.13", "1.22.10"]);
    test.ok(&["install", "--no-smoke-test", "1.21.13", "1.22.10"]);
    assert_eq!(
        test.ok(&["use", "1.22"]).stderr,
        "Default is now go1.22.10 (was go1.21.13)\n"
    );
    assert_eq!(
        test.ok(&["use", "1.22.10"]).stderr,
        "go1.22.10 is already the default\n"
    );
    assert_eq!(
        test.ok(&["rollback"]).stderr,
        "Rolled back the default: go1.22.10 -> go1.21.13\n\
         A second `goshift rollback` undoes this one (back to go1.22.10)\n"
    );
    assert_eq!(
        test.ok(&["rollback", "--to", "2"]).stderr,
        "Rolled back the default: go1.21.13 -> go1.22.10\n"
    );
    assert_eq!(
        test.ok(&["history"]).stdout,
        "  1  [TIME]  install    none -> go1.21.13\n  \
         2  [TIME]  use        go1.21.13 -> go1.22.10\n  \
         3  [TIME]  rollback   go1.22.10 -> go1.21.13\n  \
         4  [TIME]  rollback   go1.21.13 -> go1.22.10\n"
    );
    let history: serde_json::Value =
        serde_json::from_str(&test.ok(&["history", "--json"]).stdout).unwrap();
    assert_eq!(history[1]["action"], "use");
    assert_eq!(history[1]["from"], "1.21.13");
    assert_eq!(history[1]["to"], "1.22.10");
    assert_eq!(history[0]["from"], serde_json::Value::Null);
    let switch: serde_json::Value =
        serde_json::from_str(&test.ok(&["use", "--json", "1.21.13"]).stdout).unwrap();
    assert_eq!(
        switch,
        serde_json::json!({"from": "1.22.10", "to": "1.21.13", "seq": 5})
    );
    // `--quiet` silences the status line.
    let run = test.ok(&["use", "--quiet", "1.22.10"]);
    assert_eq!((run.stdout.as_str(), run.stderr.as_str()), ("", ""));
}

#[test]
fn uninstall_and_prune_never_take_the_default() {
    let test = StoreTest::new(&["1.20.14", "1.21.13", "1.22.9", "1.22.10"]);
    test.ok(&[
        "install",
        "--no-smoke-test",
        "1.21.13",
        "1.20.14",
        "1.22.9",
        "1.22.10",
    ]);
    let run = test.run(&["uninstall", "1.21.13"]);
    assert_eq!(run.code, Some(2));
    assert_eq!(
        run.stderr,
        "error: go1.21.13 is the default toolchain\n\n\
         hint: switch to another version first (`goshift use VERSION`), or pass `--remove-default` to remove go1.21.13 and leave no default\n"
    );
    assert_eq!(
        test.ok(&["uninstall", "1.22.9"]).stderr,
        "Uninstalled go1.22.9\n\
         Kept its verified archive in the cache (0.0 MiB) for a reinstall without download; `goshift cache clean` removes cached archives\n"
    );
    assert_eq!(
        test.names("bin"),
        ["go", "go1.20.14", "go1.21.13", "go1.22.10", "gofmt"]
    );
    assert_eq!(
        test.names("manifests"),
        ["go1.20.14.json", "go1.21.13.json", "go1.22.10.json"]
    );
    // Keep one: the newest stays, and so does the default.
    assert_eq!(
        test.ok(&["prune", "--keep", "1"]).stderr,
        "Removed go1.20.14\n"
    );
    assert_eq!(
        test.ok(&["list"]).stdout,
        "go1.22.10\ngo1.21.13  (default)\n"
    );
    assert_eq!(
        test.ok(&["prune", "--keep", "1"]).stderr,
        "Nothing to prune\n"
    );
    // `--force` only overrides the policy now; the old spelling says what removes the default.
    let run = test.run(&["uninstall", "--force", "1.21.13"]);
    assert_eq!(run.code, Some(2));
    assert_eq!(
        run.stderr,
        "error: go1.21.13 is the default, and `--force` no longer removes the default\n\n\
         hint: switch to another version first (`goshift use VERSION`), or pass `--remove-default` to remove go1.21.13 and leave no default (`--force` only overrides a policy refusal now)\n"
    );
    let run = test.ok(&["uninstall", "--remove-default", "1.21.13"]);
    assert_eq!(
        run.stderr,
        "Uninstalled go1.21.13\n\
         Kept its verified archive in the cache (0.0 MiB) for a reinstall without download; `goshift cache clean` removes cached archives\n\
         warning: go1.21.13 was the default; there is no default now (set one with `goshift use VERSION`)\n"
    );
    assert!(std::fs::symlink_metadata(test.home().join("default")).is_err());
    assert_eq!(test.names("toolchains"), ["go1.22.10"]);
    assert!(test.names("staging").is_empty());
    let history = test.ok(&["history"]).stdout;
    assert!(
        history.ends_with("uninstall  go1.21.13 -> none\n"),
        "{history}"
    );
}

#[test]
fn verify_names_each_changed_file() {
    let test = StoreTest::new(&["1.22.10"]);
    test.ok(&["install", "1.22.10"]);
    assert_eq!(
        test.ok(&["verify", "1.22.10"]).stdout,
        "go1.22.10: ok (13 entries)\n"
    );
    let root = test.home().join("toolchains/go1.22.10");
    std::fs::write(root.join("src/fmt/print.go"), "package fmt // changed\n").unwrap();
    std::fs::write(root.join("src/fmt/evil.go"), "package fmt\n").unwrap();
    std::fs::remove_file(root.join("LICENSE")).unwrap();
    std::fs::set_permissions(
        root.join("bin/gofmt"),
        std::fs::Permissions::from_mode(0o777),
    )
    .unwrap();
    let run = test.run(&["verify"]);
    assert_eq!(run.code, Some(1));
    let print_sha = goshift_testkit::mirror::sha256_hex(b"package fmt // changed\n");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines[0], "go1.22.10: 4 differences");
    assert_eq!(lines[1], "  missing  LICENSE");
    assert_eq!(lines[2], "  mode     bin/gofmt (expected 0755, found 0777)");
    assert_eq!(lines[3], "  added    src/fmt/evil.go");
    assert!(
        lines[4].starts_with("  changed  src/fmt/print.go (expected ")
            && lines[4].ends_with(&format!("found {print_sha})")),
        "{}",
        lines[4]
    );
    let report: serde_json::Value =
        serde_json::from_str(&test.run(&["verify", "--json"]).stdout).unwrap();
    assert_eq!(report[0]["differences"][0]["kind"], "missing");
    assert_eq!(report[0]["differences"][0]["path"], "LICENSE");
}

#[test]
fn import_copies_a_goroot() {
    let test = StoreTest::new(&[]);
    let goroot = test.context.root().join("distro/go");
    unpack_fake(&fake_go("1.19.8"), &goroot);
    let run = test.ok(&["import", goroot.to_str().unwrap()]);
    assert_eq!(
        run.stderr,
        "Copying go1.19.8 from [ROOT]/distro/go\n\
         Smoke-testing go1.19.8\n\
         Imported go1.19.8 into [ROOT]/home/toolchains/go1.19.8\n\
         Default is now go1.19.8 (there was none)\n"
    );
    assert_eq!(test.ok(&["list"]).stdout, "go1.19.8  (default)\n");
    assert_eq!(test.ok(&["verify"]).stdout, "go1.19.8: ok (13 entries)\n");
    let manifest = std::fs::read_to_string(test.home().join("manifests/go1.19.8.json")).unwrap();
    assert!(
        manifest.contains("\"verification\": \"imported\""),
        "{manifest}"
    );
    // The source stays untouched, and importing again needs `--reinstall`.
    assert!(goroot.join("bin/go").is_file());
    let run = test.run(&["import", goroot.to_str().unwrap()]);
    assert_eq!(run.code, Some(2));
    assert_eq!(
        run.stderr,
        "error: go1.19.8 is already installed\n\nhint: pass `--reinstall` to replace it with this copy\n"
    );
    let run = test.run(&["import", "--force", goroot.to_str().unwrap()]);
    assert_eq!(run.code, Some(2));
    assert_eq!(
        run.stderr,
        "error: go1.19.8 is already installed\n\nhint: `--force` no longer replaces an installed version: pass `--reinstall` to replace it with this copy\n"
    );
    let run = test.run(&["import", test.context.root().to_str().unwrap()]);
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr
            .starts_with("error: `[ROOT]` is not a GOROOT: it has no `bin/go`\n"),
        "{}",
        run.stderr
    );
}

/// Extracts a fake archive's `go/` into `dest` with the system `tar`.
pub(crate) fn unpack_fake(archive: &[u8], dest: &Path) {
    let parent = dest.parent().expect("failed to unpack a fake Go tree");
    std::fs::create_dir_all(parent).expect("failed to unpack a fake Go tree");
    let file = parent.join("archive.tar.gz");
    std::fs::write(&file, archive).expect("failed to unpack a fake Go tree");
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(&file)
        .current_dir(parent)
        .status()
        .expect("failed to unpack a fake Go tree");
    assert!(status.success());
    std::fs::remove_file(&file).expect("failed to unpack a fake Go tree");
    if dest.file_name().expect("failed to unpack a fake Go tree") != "go" {
        std::fs::rename(parent.join("go"), dest).expect("failed to unpack a fake Go tree");
    }
}

#[test]
fn env_prints_shell_lines_for_the_default() {
    let test = StoreTest::new(&["1.22.10"]);
    let run = test.run(&["env", "--default-toolchain"]);
    assert_eq!(run.code, Some(2));
    assert_eq!(
        run.stderr,
        "error: there is no default toolchain\n\nhint: install one with `goshift install latest`, or pick one with `goshift use VERSION`\n"
    );
    test.ok(&["install", "--no-smoke-test", "1.22.10"]);
    assert_eq!(
        test.ok(&["env", "--default-toolchain"]).stdout,
        "export PATH='[ROOT]/home/default/bin':\"$PATH\"\nexport GOROOT='[ROOT]/home/default'\n"
    );
    let value: serde_json::Value =
        serde_json::from_str(&test.ok(&["env", "--default-toolchain", "--json"]).stdout).unwrap();
    assert_eq!(
        value,
        serde_json::json!({
            "version": "1.22.10",
            "GOROOT": "[ROOT]/home/default",
            "PATH": "[ROOT]/home/default/bin",
        })
    );
}

#[test]
fn list_remote_shows_the_index() {
    let test = StoreTest::new(&["1.21.13", "1.22.10", "1.23rc1"]);
    test.ok(&["install", "--no-smoke-test", "1.21.13"]);
    assert_eq!(
        test.ok(&["list", "--remote"]).stdout,
        "go1.22.10\ngo1.21.13     installed\n"
    );
    assert_eq!(
        test.ok(&["list", "--remote", "--all"]).stdout,
        "go1.23rc1     unstable\ngo1.22.10\ngo1.21.13     installed\n"
    );
    let value: serde_json::Value =
        serde_json::from_str(&test.ok(&["list", "--remote", "--json"]).stdout).unwrap();
    assert_eq!(value[1]["version"], "1.21.13");
    assert_eq!(value[1]["installed"], true);
    assert_eq!(value[1]["archive"], "go1.21.13.[PLATFORM].tar.gz");
}

#[test]
fn install_from_a_local_archive() {
    let test = StoreTest::new(&["1.22.10"]);
    let archive = test.context.root().join("go1.21.13.tar.gz");
    let bytes = fake_go("1.21.13");
    std::fs::write(&archive, &bytes).unwrap();
    let archive = archive.to_str().unwrap();
    let sha = goshift_testkit::mirror::sha256_hex(&bytes);

    // Not in the index and no hash given: refused.
    let run = test.run(&["install", "1.21.13", "--archive", archive]);
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr.starts_with(
            "error: cannot verify the archive `[ROOT]/go1.21.13.tar.gz`: no trusted SHA-256\n"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.ends_with("hint: pass the hash published on go.dev/dl with `--sha256 HEX`, or accept the risk with `--allow-unverified`\n"),
        "{}",
        run.stderr
    );
    // A wrong hash: refused, nothing installed.
    let wrong = "0".repeat(64);
    let run = test.run(&[
        "install",
        "1.21.13",
        "--archive",
        archive,
        "--sha256",
        &wrong,
    ]);
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("checksum mismatch"), "{}", run.stderr);
    assert!(test.names("toolchains").is_empty());
    // The right hash.
    test.ok(&[
        "install",
        "1.21.13",
        "--archive",
        archive,
        "--sha256",
        &sha.to_uppercase(),
    ]);
    let manifest = std::fs::read_to_string(test.home().join("manifests/go1.21.13.json")).unwrap();
    assert!(
        manifest.contains("\"verification\": \"sha256-flag\""),
        "{manifest}"
    );
    // Unverified, loudly.
    let other = test.context.root().join("go1.20.1.tar.gz");
    std::fs::write(&other, fake_go("1.20.1")).unwrap();
    let run = test.ok(&[
        "install",
        "1.20.1",
        "--archive",
        other.to_str().unwrap(),
        "--allow-unverified",
    ]);
    assert!(
        run.stderr
            .contains("warning: installing `[ROOT]/go1.20.1.tar.gz` WITHOUT checking its SHA-256"),
        "{}",
        run.stderr
    );
    let manifest = std::fs::read_to_string(test.home().join("manifests/go1.20.1.json")).unwrap();
    assert!(
        manifest.contains("\"verification\": \"unverified\""),
        "{manifest}"
    );
}
