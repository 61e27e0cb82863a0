//! The commands a Go developer runs every day: `each`, `pin`, `unpin`, aliases, help,
//! `--version`, completions.

use std::path::Path;
use std::process::Output;

use goshift_testkit::TestContext;

use crate::project::{store, write};
use crate::toolchain::StoreTest;

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn each_json_keeps_the_commands_output_out_of_the_json() {
    let context = store();
    let output = context.run([
        "--json",
        "each",
        "--installed",
        "--",
        "sh",
        "-c",
        "go version; echo to-stderr >&2",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", stdout(&output)));
    let versions: Vec<&str> = json
        .as_array()
        .expect("an array of runs")
        .iter()
        .map(|run| run["version"].as_str().expect("a version"))
        .collect();
    assert_eq!(versions, ["1.21.13", "1.22.10", "1.23.4"]);
    let err = stderr(&output);
    for version in ["1.21.13", "1.22.10", "1.23.4"] {
        assert!(err.contains(&format!("fake go{version} version")), "{err}");
    }
    assert_eq!(
        err.lines().filter(|l| *l == "to-stderr").count(),
        3,
        "{err}"
    );
    // Without `--json`, the command's output stays on stdout, above the table.
    let output = context.run(["each", "1.21", "--", "go", "version"]);
    assert!(
        stdout(&output).starts_with("fake go1.21.13 version"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn pin_meets_go_mod_shows_unpins_and_writes_the_toolchain_line() {
    let context = store();
    let work = context.work();
    let go_mod = work.join("go.mod");
    write(
        &go_mod,
        "module example.com/m\n\ngo 1.22.0\n\nrequire golang.org/x/text v0.14.0\n",
    );
    let run = |args: &[&str]| {
        let output = context.run(args);
        (
            output.status.code(),
            context.filter(&stdout(&output)),
            context.filter(&stderr(&output)),
        )
    };

    // Below the `go` line: refused, with the fix, and nothing written.
    let (code, _, err) = run(&["pin", "1.21.13"]);
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(
        err,
        "error: cannot pin go1.21.13: ./go.mod needs Go 1.22.0 or newer (its `go` line), so the build would fail\n\n\
         hint: pin a version that meets it, such as `goshift pin 1.22`, or lower the `go` line first if the module supports older Go (`go mod edit -go=1.21.13`)\n"
    );
    assert!(!work.join(".go-version").exists());

    // Nothing pinned yet: `pin` says what `go` follows.
    let (code, out, err) = run(&["pin"]);
    assert_eq!((code, out.as_str()), (Some(0), ""));
    assert_eq!(
        err,
        "Nothing is pinned here: `go` follows the `go 1.22.0` line of ./go.mod (see `goshift current`)\n"
    );

    let (code, _, err) = run(&["pin", "1.22"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(err, "Pinned go1.22.10 in ./.go-version\n");
    let (_, out, _) = run(&["pin"]);
    assert_eq!(out, "go1.22.10 (pinned in ./.go-version)\n");
    let json: serde_json::Value = serde_json::from_str(&run(&["pin", "--json"]).1).expect("JSON");
    assert_eq!(json["version"], "1.22.10");
    assert_eq!(json["kind"], "go_version_file");

    // `--go-mod` writes the toolchain line, and says the `.go-version` still wins.
    let (code, _, err) = run(&["pin", "--go-mod", "1.23.4"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        std::fs::read_to_string(&go_mod).expect("go.mod"),
        "module example.com/m\n\ngo 1.22.0\ntoolchain go1.23.4\n\nrequire golang.org/x/text v0.14.0\n"
    );
    assert_eq!(
        err,
        "Set `toolchain go1.23.4` in ./go.mod\n\
         warning: ./.go-version still pins go1.22.10 and overrides this line; run `goshift unpin` there\n"
    );
    let (_, doctor, _) = run(&["doctor"]);
    assert!(
        doctor.contains(
            "warning  configuration  pin: `.go-version` (go1.22.10) overrides the `toolchain go1.23.4` line of ./go.mod, which Renovate and Dependabot update"
        ) && doctor.contains("fix: goshift unpin"),
        "{doctor}"
    );

    let (code, _, err) = run(&["unpin"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        err,
        "Unpinned go1.22.10 (removed ./.go-version)\n\
         `go` here now runs go1.23.4 (toolchain line in ./go.mod)\n"
    );
    assert!(!work.join(".go-version").exists());
    let (_, out, _) = run(&["pin"]);
    assert_eq!(out, "go1.23.4 (toolchain line in ./go.mod)\n");
    let (code, _, err) = run(&["unpin"]);
    assert_eq!(code, Some(2));
    assert!(err.starts_with("error: nothing is pinned here"), "{err}");
}

#[test]
fn rollback_says_what_a_second_one_does_and_how_to_step_further_back() {
    let test = StoreTest::new(&["1.20.14", "1.21.13", "1.22.10"]);
    test.ok(&[
        "install",
        "--no-smoke-test",
        "1.20.14",
        "1.21.13",
        "1.22.10",
    ]);
    test.ok(&["use", "1.21.13"]);
    test.ok(&["use", "1.22.10"]);
    assert_eq!(
        test.ok(&["rollback"]).stderr,
        "Rolled back the default: go1.22.10 -> go1.21.13\n\
         A second `goshift rollback` undoes this one (back to go1.22.10); to step further back, to go1.20.14, run `goshift rollback --to 1`\n"
    );
    assert_eq!(
        test.ok(&["rollback", "--to", "1"]).stderr,
        "Rolled back the default: go1.21.13 -> go1.20.14\n"
    );
    let help = test.ok(&["rollback", "--help"]).stdout;
    assert!(
        help.contains("a second `goshift rollback` undoes the first"),
        "{help}"
    );
}

#[test]
fn ls_and_rm_are_aliases() {
    // Real installs: `list` shows only toolchains with their manifest.
    let test = StoreTest::new(&["1.21.13", "1.22.10"]);
    test.ok(&["install", "--no-smoke-test", "1.22.10", "1.21.13"]);
    let listed = test.ok(&["ls"]).stdout;
    assert_eq!(listed, test.ok(&["list"]).stdout);
    assert!(listed.contains("go1.21.13"), "{listed}");
    test.ok(&["rm", "1.21.13"]);
    let after = test.ok(&["list"]).stdout;
    assert!(!after.contains("go1.21.13"), "{after}");
    assert!(after.contains("go1.22.10"), "{after}");
}

#[test]
fn help_lists_environment_variables_and_examples_and_wraps() {
    let context = store();
    let long = stdout(&context.run(["--help"]));
    for expected in [
        "Examples:",
        "goshift pin 1.22",
        "Environment variables:",
        "GOSHIFT_HOME",
        "GOSHIFT_INDEX_URL",
        "GOSHIFT_MIRROR",
        "GOSHIFT_LOG",
        "-v, --verbose",
    ] {
        assert!(long.contains(expected), "`{expected}` is missing:\n{long}");
    }
    assert!(stdout(&context.run(["-h"])).contains("Examples:"));
    assert!(stdout(&context.run(["pin", "--help"])).contains("Examples: `goshift pin 1.22`"));
    for width in [60, 80] {
        for args in [
            &["--help"][..],
            &["install", "--help"][..],
            &["pin", "--help"][..],
        ] {
            let output = context
                .command()
                .args(args)
                .env("COLUMNS", width.to_string())
                .output()
                .expect("test setup");
            let text = stdout(&output);
            let long_lines: Vec<&str> = text
                .lines()
                // A single word longer than the width (a URL) cannot be wrapped.
                .filter(|line| line.chars().count() > width && line.trim().contains(' '))
                .collect();
            assert!(
                long_lines.is_empty(),
                "{args:?} at {width}: {long_lines:#?}"
            );
        }
    }
}

#[test]
fn verbose_and_goshift_log_print_debug_lines() {
    let context = store();
    for (flag, log) in [
        (Some("-v"), None),
        (Some("--verbose"), None),
        (None, Some("debug")),
    ] {
        let mut command = context.command();
        command.args(flag).arg("list");
        if let Some(log) = log {
            command.env("GOSHIFT_LOG", log);
        }
        let output = command.output().expect("test setup");
        assert!(output.status.success(), "{}", stderr(&output));
        let err = context.filter(&stderr(&output));
        assert!(err.contains("debug: home: [ROOT]/home\n"), "{err}");
        assert!(
            err.contains("debug: release index: https://go.dev/dl/"),
            "{err}"
        );
        // Debug lines go to stderr only: stdout is what a plain `list` prints.
        assert_eq!(stdout(&output), stdout(&context.run(["list"])));
    }
    let quiet = context.run(["list"]);
    assert!(!stderr(&quiet).contains("debug:"), "{}", stderr(&quiet));
    let output = context
        .command()
        .arg("list")
        .env("GOSHIFT_LOG", "loud")
        .output()
        .expect("test setup");
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr(&output),
        "error: GOSHIFT_LOG is `loud`, not a log level\n\nhint: set GOSHIFT_LOG=debug for debug output, or unset it\n"
    );
}

#[test]
fn version_names_the_commit_and_the_build_date() {
    let context = store();
    let text = stdout(&context.run(["--version"]));
    let rest = text
        .strip_prefix(concat!("goshift ", env!("CARGO_PKG_VERSION"), " (commit "))
        .unwrap_or_else(|| panic!("{text}"));
    let (commit, date) = rest
        .trim_end()
        .strip_suffix(')')
        .and_then(|r| r.split_once(", built "))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        commit == "unknown"
            || (commit.len() == 12 && commit.bytes().all(|b| b.is_ascii_hexdigit())),
        "{text}"
    );
    let parts: Vec<&str> = date.split('-').collect();
    assert_eq!(
        parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
        [4, 2, 2],
        "{text}"
    );
    assert!(
        date.bytes().all(|b| b.is_ascii_digit() || b == b'-'),
        "{text}"
    );
}

#[test]
fn man_pages_are_generated_from_the_command_line() {
    let context = store();
    let dir = context.root().join("man");
    let output = context.run([std::ffi::OsStr::new("__manpages"), dir.as_os_str()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let page = |name: &str| {
        std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    assert!(page("goshift.1").contains(".TH goshift 1"));
    let install = page("goshift-install.1");
    assert!(install.contains(".TH goshift-install 1"), "{install}");
    assert!(install.contains(r"\-\-no\-smoke\-test"), "{install}");
    assert!(page("goshift-audit-verify.1").contains(".TH goshift-audit-verify 1"));
    let names: Vec<String> = std::fs::read_dir(&dir)
        .expect("the directory")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert!(
        !names.iter().any(|n| n.contains("help") || n.contains("__")),
        "{names:?}"
    );
    assert_eq!(stdout(&output).lines().count(), names.len());
}

/// The files every release carries, at the repository's root and in `contrib/`.
#[test]
fn licenses_changelog_and_the_systemd_unit_are_in_the_repository() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let read = |path: &str| {
        std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
    };
    assert!(read("LICENSE-MIT").starts_with("MIT License\n"));
    assert!(
        read("LICENSE-APACHE").contains("Apache License\n                           Version 2.0")
    );
    assert!(read("README.md").contains("[`LICENSE-MIT`](LICENSE-MIT)"));
    assert!(read("CHANGELOG.md").contains("\n## Unreleased\n"));
    let unit = read("contrib/systemd/goshift-supervisor.service");
    for line in [
        "Type=notify-reload",
        "NotifyAccess=main",
        "ExecStart=/usr/local/bin/goshift supervise --config /etc/goshift/supervisor.toml",
        "FileDescriptorStoreMax=64",
        "FileDescriptorStorePreserve=yes",
        "KillMode=mixed",
    ] {
        assert!(
            unit.lines().any(|l| l == line),
            "`{line}` is missing:\n{unit}"
        );
    }
    assert!(read("docs/supervisor.md").contains("contrib/systemd/goshift-supervisor.service"));
}

/// `scripts/e2e.sh` names a missing program and its package before any slow step: here a
/// PATH with everything the script needs except `wrk`, which the supervisor parts use.
#[test]
fn e2e_checks_for_the_programs_it_needs_up_front() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let context = store();
    let bin = context.root().join("bin");
    std::fs::create_dir_all(&bin).expect("test setup");
    let system = std::env::var_os("PATH").unwrap_or_default();
    let find = |name: &str| {
        std::env::split_paths(&system)
            .map(|dir| dir.join(name))
            .find(|path| path.is_file())
    };
    for name in [
        "bash",
        "dirname",
        "basename",
        "ls",
        "env",
        "sed",
        "sort",
        "tr",
        "python3",
        "curl",
        "tar",
        "sha256sum",
        "timeout",
        "flock",
        "ps",
        "awk",
        "zsh",
        "fish",
        "systemd-notify",
    ] {
        if let Some(path) = find(name) {
            std::os::unix::fs::symlink(path, bin.join(name)).expect("test setup");
        }
    }
    let output = std::process::Command::new(bin.join("bash"))
        .arg(root.join("scripts/e2e.sh"))
        .args(["--no-build", "51"])
        .env_clear()
        .env("PATH", &bin)
        .env("E2E_DIR", context.root().join("e2e"))
        .output()
        .expect("test setup");
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(
        err.contains("e2e: error: the selected parts need programs that are not installed: wrk\n"),
        "{err}"
    );
    assert!(
        err.contains("hint: install them with `sudo apt-get install wrk`"),
        "{err}"
    );
    assert!(!context.root().join("e2e").exists(), "nothing was set up");
}

#[test]
fn cache_dir_size_clean_and_uninstall_says_what_it_kept() {
    let test = StoreTest::new(&["1.21.13", "1.22.10"]);
    test.ok(&["install", "--no-smoke-test", "1.22.10", "1.21.13"]);
    // Verified archives live in the cache directory, not in the data directory.
    assert_eq!(
        test.ok(&["cache", "dir"]).stdout,
        "[ROOT]/user/.cache/goshift/archives\n"
    );
    assert_eq!(crate::toolchain::names(&test.archive_cache()).len(), 2);
    assert!(test.names("cache/archives").is_empty());
    let size: serde_json::Value =
        serde_json::from_str(&test.ok(&["cache", "size", "--json"]).stdout).expect("JSON");
    assert_eq!(size["archives"], 2);
    assert!(size["bytes"].as_u64().is_some_and(|b| b > 0), "{size}");
    assert_eq!(test.ok(&["cache", "size"]).stdout, "2 archives, 0.0 MiB\n");

    let run = test.ok(&["uninstall", "1.21.13"]);
    assert_eq!(
        run.stderr,
        "Uninstalled go1.21.13\n\
         Kept its verified archive in the cache (0.0 MiB) for a reinstall without download; `goshift cache clean` removes cached archives\n"
    );
    let run = test.ok(&["cache", "clean"]);
    assert_eq!(
        run.stderr,
        "Removed 2 cached archives (0.0 MiB) from [ROOT]/user/.cache/goshift/archives\n"
    );
    assert_eq!(test.ok(&["cache", "size"]).stdout, "0 archives, 0.0 MiB\n");
    // Installed toolchains stay; only the cache is emptied.
    assert_eq!(test.ok(&["list"]).stdout, "go1.22.10  (default)\n");
}

#[test]
fn the_cache_follows_xdg_and_goshift_cache_dir_and_old_archives_move_there() {
    let test = StoreTest::new(&["1.21.13", "1.22.10"]);
    let root = test.context.root().to_owned();
    let run = |env: &[(&str, &Path)], args: &[&str]| {
        let mut command = test.command();
        for (key, value) in env {
            command.env(key, value);
        }
        test.finish(&command.args(args).output().expect("test setup"))
    };
    let xdg = root.join("xdg-cache");
    let own = root.join("own-cache");
    assert_eq!(
        run(&[("XDG_CACHE_HOME", &xdg)], &["cache", "dir"]).stdout,
        "[ROOT]/xdg-cache/goshift/archives\n"
    );
    let both = [
        ("XDG_CACHE_HOME", xdg.as_path()),
        ("GOSHIFT_CACHE_DIR", own.as_path()),
    ];
    assert_eq!(
        run(&both, &["cache", "dir"]).stdout,
        "[ROOT]/own-cache/archives\n"
    );
    let relative = run(
        &[("GOSHIFT_CACHE_DIR", Path::new("rel"))],
        &["cache", "dir"],
    );
    assert_eq!(relative.code, Some(2), "{relative:#?}");
    assert!(
        relative
            .stderr
            .contains("GOSHIFT_CACHE_DIR must be an absolute path"),
        "{relative:#?}"
    );

    // A store whose archives are still in the data directory (`$GOSHIFT_HOME/cache/archives`):
    // they are counted, used for a reinstall without download, and moved to the cache
    // directory by the next change to the store.
    test.ok(&["install", "--no-smoke-test", "1.22.10", "1.21.13"]);
    let new_dir = test.archive_cache();
    let old_dir = test.home().join("cache/archives");
    std::fs::create_dir_all(&old_dir).unwrap();
    for name in crate::toolchain::names(&new_dir) {
        std::fs::rename(new_dir.join(&name), old_dir.join(&name)).unwrap();
    }
    assert_eq!(test.ok(&["cache", "size"]).stdout, "2 archives, 0.0 MiB\n");
    test.ok(&["uninstall", "1.21.13"]);
    assert!(
        test.names("cache/archives").is_empty(),
        "{:?}",
        test.names("cache/archives")
    );
    assert_eq!(crate::toolchain::names(&new_dir).len(), 2);
    test.mirror
        .add("go1.21.13.linux-amd64.tar.gz", b"gone".to_vec());
    let reinstall = test.ok(&["install", "--no-smoke-test", "1.21.13"]);
    assert!(reinstall.stderr.contains("cache"), "{reinstall:#?}");
}

#[test]
fn the_config_files_toolchain_table_and_top_level_keys_are_read() {
    let test = StoreTest::new(&["1.22.10"]);
    let config = test.context.root().join("config/goshift/config.toml");
    let index = test.mirror.url_of("index.json");
    // The table documented for the toolchain commands: every command accepts it, and `install`
    // takes its release index from it.
    write(&config, &format!("[toolchain]\nindex_url = \"{index}\"\n"));
    let run = |args: &[&str]| test.finish(&test.context.command().args(args).output().unwrap());
    let listed = run(&["config", "list"]);
    assert_eq!(listed.code, Some(0), "{listed:#?}");
    let remote = run(&["list", "--remote"]);
    assert_eq!(remote.code, Some(0), "{remote:#?}");
    assert!(remote.stdout.contains("1.22.10"), "{remote:#?}");
    // A typo inside the table is still an error naming it.
    write(&config, &format!("[toolchain]\nindex_ur = \"{index}\"\n"));
    let typo = run(&["list", "--remote"]);
    assert_eq!(typo.code, Some(2), "{typo:#?}");
    assert!(typo.stderr.contains("index_ur"), "{typo:#?}");
    // `goshift config set index_url` writes the top-level key; the toolchain commands read it.
    std::fs::remove_file(&config).unwrap();
    let set = run(&["config", "set", "index_url", &index]);
    assert_eq!(set.code, Some(0), "{set:#?}");
    let remote = run(&["list", "--remote"]);
    assert_eq!(remote.code, Some(0), "{remote:#?}");
    assert!(remote.stdout.contains("1.22.10"), "{remote:#?}");
}

#[test]
fn tool_versions_is_read_as_asdf_and_mise_users_expect() {
    let context = store();
    let work = context.work();
    let tool_versions = work.join(".tool-versions");
    let run = |args: &[&str]| run_filtered(&context, args);
    let go_version = || go_version_in(&context, &work);
    write(
        &work.join("go.mod"),
        "module m\n\ngo 1.21.0\ntoolchain go1.23.4\n",
    );
    write(&work.join(".go-version"), "1.22.10\n");
    // asdf's `golang` line decides before `.go-version` and go.mod, for `go` and `current`.
    write(&tool_versions, "nodejs 20.1.0\ngolang 1.21.13\n");
    assert_eq!(go_version(), "fake go1.21.13 version\n");
    let (code, out, err) = run(&["current"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out, "go1.21.13 (pinned in ./.tool-versions)\n");
    let (_, out, _) = run(&["pin"]);
    assert_eq!(out, "go1.21.13 (pinned in ./.tool-versions)\n");
    let (_, doctor, _) = run(&["doctor"]);
    assert!(
        doctor.contains("`.tool-versions` (go1.21.13) overrides the `toolchain go1.23.4` line"),
        "{doctor}"
    );
    // mise's `go` name and fuzzy versions.
    write(&tool_versions, "go 1.22\n");
    assert_eq!(go_version(), "fake go1.22.10 version\n");
    pin_and_unpin_keep_the_other_tools(&context, &work);
    // `system` pins nothing: `.go-version` (here) and go.mod decide.
    std::fs::remove_file(work.join(".go-version")).unwrap();
    write(&tool_versions, "golang system\n");
    assert_eq!(go_version(), "fake go1.23.4 version\n");
    // A Go line that names no release is an error naming the file and line.
    write(&tool_versions, "golang ref:master\n");
    let (code, _, err) = run(&["current"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("`[ROOT]/cwd/.tool-versions` line 1: `ref:master` is not a Go release"),
        "{err}"
    );
}

/// `pin` sets the line that decides and keeps the other tools; `unpin` removes only the Go
/// line, and `.go-version` decides again.
fn pin_and_unpin_keep_the_other_tools(context: &TestContext, work: &Path) {
    let tool_versions = work.join(".tool-versions");
    write(
        &tool_versions,
        "nodejs 20.1.0\ngolang 1.21.13 # for the release\n",
    );
    let (code, _, err) = run_filtered(context, &["pin", "1.23.4"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(err, "Pinned go1.23.4 in ./.tool-versions (was go1.21.13)\n");
    assert_eq!(
        std::fs::read_to_string(&tool_versions).unwrap(),
        "nodejs 20.1.0\ngolang 1.23.4\n"
    );
    assert_eq!(go_version_in(context, work), "fake go1.23.4 version\n");
    let (code, _, err) = run_filtered(context, &["unpin"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.starts_with("Unpinned go1.23.4 (removed its line from ./.tool-versions)\n"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(&tool_versions).unwrap(),
        "nodejs 20.1.0\n"
    );
    assert_eq!(go_version_in(context, work), "fake go1.22.10 version\n");
}

/// Runs goshift; its exit code and filtered stdout and stderr.
fn run_filtered(context: &TestContext, args: &[&str]) -> (Option<i32>, String, String) {
    let output = context.run(args);
    (
        output.status.code(),
        context.filter(&stdout(&output)),
        context.filter(&stderr(&output)),
    )
}

/// What the `go` proxy runs in `work`, as the fake toolchain's `go version` says.
fn go_version_in(context: &TestContext, work: &Path) -> String {
    let output = crate::project::go(context, work, &["version"])
        .output()
        .expect("test setup");
    // The fake toolchain appends its environment after ` | `.
    let out = stdout(&output);
    format!(
        "{}\n",
        out.split(" | ").next().unwrap_or_default().trim_end()
    )
}
