//! The checks of `goshift doctor`, one function each.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use goshift_fs::{EnvVars, LockFile, fs};
use goshift_project::Resolution;
use goshift_version::GoVersion;

use super::system::{available_bytes, kernel_release};
use super::{Class, Finding, Severity};
use crate::commands::project::resolve_here;
use crate::governance;
use crate::platform::glibc_version;
use crate::settings::GlobalSettings;
use crate::toolchains::StoreView;

/// Below this, installing one more toolchain may fail.
const LOW_DISK_BYTES: u64 = 1 << 30;
/// Below this, even a cached reinstall fails.
const CRITICAL_DISK_BYTES: u64 = 300 << 20;

/// Runs every check, in a stable order.
pub(super) fn run_all(settings: &GlobalSettings) -> Vec<Finding> {
    let store = StoreView::new(&settings.dirs.home);
    let resolution = resolution(settings, &store);
    let mut findings = vec![resolution.0];
    findings.extend(super::pins::pin_against_module(settings));
    let resolved = resolution.1;
    findings.extend(path_order(settings, &store));
    findings.push(goroot(settings, &store, resolved.as_ref()));
    findings.extend(gotoolchain(settings));
    findings.push(gopath_bin(settings));
    findings.push(kernel(resolved.as_ref()));
    findings.push(libc());
    findings.push(cgo(settings));
    findings.push(disk(settings));
    findings.extend(store_integrity(&store));
    findings.push(lock(settings));
    findings.push(config_file(settings));
    findings.push(policy_file(settings));
    findings
}

fn resolution(settings: &GlobalSettings, store: &StoreView<'_>) -> (Finding, Option<Resolution>) {
    const CHECK: &str = "resolution";
    match resolve_here(settings) {
        Ok(resolution) => {
            let described = format!(
                "{} ({})",
                resolution.version.toolchain_name(),
                resolution.source.describe(&settings.cwd)
            );
            let finding = if store.is_installed(&resolution.version) {
                Finding::ok(Class::Store, CHECK, format!("`go` here runs {described}"))
            } else if store.is_foreign(&resolution.version) {
                Finding::problem(
                    Severity::Error,
                    Class::Store,
                    CHECK,
                    format!(
                        "`go` here needs {described}, whose tree was not installed by goshift and is never run"
                    ),
                    format!(
                        "remove `{}`, then `goshift install {}`",
                        store.root(&resolution.version).display(),
                        resolution.version
                    ),
                )
            } else {
                Finding::problem(
                    Severity::Error,
                    Class::Store,
                    CHECK,
                    format!("`go` here needs {described}, which is not installed"),
                    format!("goshift install {}", resolution.version),
                )
            };
            (finding, Some(resolution))
        }
        Err(error) => {
            let fix = match crate::commands::project::install_request(&error) {
                Some((request, _)) => format!("goshift install {request}"),
                None if matches!(error, goshift_project::ResolveError::NoDefault) => {
                    "goshift install latest".to_owned()
                }
                None => "correct the file or variable named above".to_owned(),
            };
            let message =
                std::iter::successors(Some(&error as &dyn std::error::Error), |e| e.source())
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(": ");
            let finding =
                Finding::problem(Severity::Error, Class::Configuration, CHECK, message, fix);
            (finding, None)
        }
    }
}

pub(super) fn path_entries(settings: &GlobalSettings) -> Vec<PathBuf> {
    let path = settings.env.var_os(EnvVars::PATH).unwrap_or_default();
    std::env::split_paths(&path).collect()
}

pub(super) fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn shell_setup_hint(settings: &GlobalSettings) -> String {
    let shell = settings
        .env
        .var(EnvVars::SHELL)
        .and_then(|s| Path::new(&s).file_name()?.to_str().map(ToOwned::to_owned))
        .unwrap_or_else(|| "bash".to_owned());
    match shell.as_str() {
        "fish" => "add `goshift init fish | source` to ~/.config/fish/config.fish".to_owned(),
        "zsh" => "add `eval \"$(goshift init zsh)\"` to ~/.zshrc".to_owned(),
        _ => "add `eval \"$(goshift init bash)\"` to ~/.bashrc".to_owned(),
    }
}

fn path_order(settings: &GlobalSettings, store: &StoreView<'_>) -> Vec<Finding> {
    const CHECK: &str = "path";
    let bin = store.bin_dir();
    let entries = path_entries(settings);
    let mut findings = Vec::new();
    if !bin.join("go").exists() {
        findings.push(Finding::problem(
            Severity::Warning,
            Class::Store,
            "proxies",
            format!("there is no `go` proxy in `{}` yet", bin.display()),
            "install a toolchain (`goshift install latest`); the store creates the proxies",
        ));
    }
    let ours = entries.iter().position(|e| *e == bin);
    let first_go = entries.iter().position(|e| is_executable(&e.join("go")));
    match (ours, first_go) {
        (None, _) => findings.push(Finding::problem(
            Severity::Error,
            Class::Environment,
            CHECK,
            format!(
                "goshift's proxy directory `{}` is not on PATH",
                bin.display()
            ),
            shell_setup_hint(settings),
        )),
        (Some(ours), Some(first)) if first < ours => findings.push(Finding::problem(
            Severity::Error,
            Class::Environment,
            CHECK,
            format!(
                "another `go` comes first on PATH: `{}`",
                entries[first].join("go").display()
            ),
            format!(
                "put `{}` before `{}` on PATH ({}), or remove that Go installation",
                bin.display(),
                entries[first].display(),
                shell_setup_hint(settings)
            ),
        )),
        (Some(_), _) => findings.push(Finding::ok(
            Class::Environment,
            CHECK,
            format!("`{}` comes first for `go` on PATH", bin.display()),
        )),
    }
    findings.extend(super::shell::remembered_go(settings, &bin));
    findings
}

fn goroot(
    settings: &GlobalSettings,
    store: &StoreView<'_>,
    resolved: Option<&Resolution>,
) -> Finding {
    const CHECK: &str = "goroot";
    let Some(goroot) = settings.env.var(EnvVars::GOROOT) else {
        return Finding::ok(
            Class::Environment,
            CHECK,
            "GOROOT is not set in the environment",
        );
    };
    let matches = resolved.is_some_and(|r| Path::new(&goroot) == store.root(&r.version));
    if matches {
        return Finding::info(
            Class::Environment,
            CHECK,
            format!("GOROOT is set to `{goroot}`, the toolchain resolved here"),
        );
    }
    Finding::problem(
        Severity::Warning,
        Class::Environment,
        CHECK,
        format!(
            "GOROOT is set to `{goroot}`, which is not the toolchain resolved here; tools other than the proxy would mix two Go installations"
        ),
        "remove `GOROOT` from your shell startup files (`unset GOROOT`); Go finds its root by itself",
    )
}

/// Go's own settings file, written by `go env -w`.
fn go_env_file(settings: &GlobalSettings) -> Option<PathBuf> {
    if let Some(file) = settings.env.var(EnvVars::GOENV) {
        return (file != "off").then(|| PathBuf::from(file));
    }
    let config = match settings.env.var(EnvVars::XDG_CONFIG_HOME) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(settings.env.var(EnvVars::HOME)?).join(".config"),
    };
    Some(config.join("go").join("env"))
}

fn go_env_values(settings: &GlobalSettings) -> (Option<PathBuf>, BTreeMap<String, String>) {
    let file = go_env_file(settings);
    let values = file
        .as_deref()
        .and_then(|f| fs::read_to_string(f).ok())
        .map(|text| {
            text.lines()
                .filter_map(|line| line.split_once('='))
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                .collect()
        })
        .unwrap_or_default();
    (file, values)
}

fn gotoolchain(settings: &GlobalSettings) -> Vec<Finding> {
    const CHECK: &str = "gotoolchain";
    let mut findings = Vec::new();
    if let Some(value) = settings.env.var(EnvVars::GOTOOLCHAIN) {
        findings.push(Finding::problem(
            Severity::Warning,
            Class::Environment,
            CHECK,
            format!(
                "GOTOOLCHAIN={value} is set in the environment; it overrides .go-version and go.mod everywhere"
            ),
            "unset it (`unset GOTOOLCHAIN`) unless you mean to force one toolchain in this shell",
        ));
    }
    let (file, values) = go_env_values(settings);
    if let (Some(file), Some(value)) = (file, values.get("GOTOOLCHAIN")) {
        findings.push(Finding::problem(
            Severity::Warning,
            Class::Configuration,
            CHECK,
            format!(
                "`go env -w` stored GOTOOLCHAIN={value} in `{}`; Go applies it behind goshift's back when run outside the proxy",
                file.display()
            ),
            "go env -u GOTOOLCHAIN",
        ));
    }
    if findings.is_empty() {
        findings.push(Finding::ok(
            Class::Environment,
            CHECK,
            "GOTOOLCHAIN is neither in the environment nor in Go's env file",
        ));
    }
    findings
}

fn gopath_bin(settings: &GlobalSettings) -> Finding {
    const CHECK: &str = "gopath";
    let (_, values) = go_env_values(settings);
    let gopath = settings
        .env
        .var(EnvVars::GOPATH)
        .or_else(|| values.get("GOPATH").cloned())
        .or_else(|| settings.env.var(EnvVars::HOME).map(|h| format!("{h}/go")));
    let Some(gopath) = gopath else {
        return Finding::info(Class::Environment, CHECK, "no GOPATH and no HOME");
    };
    let first = std::env::split_paths(&OsString::from(&gopath))
        .next()
        .unwrap_or_default();
    let bin = first.join("bin");
    if path_entries(settings).contains(&bin) {
        return Finding::ok(
            Class::Environment,
            CHECK,
            format!("`{}` is on PATH", bin.display()),
        );
    }
    let severity = if bin.is_dir() {
        Severity::Warning
    } else {
        Severity::Info
    };
    Finding::problem(
        severity,
        Class::Environment,
        CHECK,
        format!(
            "`{}` (where `go install` puts commands) is not on PATH",
            bin.display()
        ),
        format!("add `{}` to PATH in your shell startup file", bin.display()),
    )
}

/// Linux kernel minimums by Go version (go.dev/wiki/MinimumRequirements, go.dev/wiki/Linux).
fn kernel_minimum(version: &GoVersion) -> (u64, u64, u64) {
    match (version.major(), version.minor()) {
        (1, minor) if minor <= 18 => (2, 6, 23),
        (1, minor) if minor <= 23 => (2, 6, 32),
        _ => (3, 2, 0),
    }
}

fn kernel(resolved: Option<&Resolution>) -> Finding {
    const CHECK: &str = "kernel";
    let Some((text, running)) = kernel_release() else {
        return Finding::info(Class::Environment, CHECK, "cannot read the kernel release");
    };
    let Some(resolved) = resolved else {
        return Finding::info(Class::Environment, CHECK, format!("Linux {text}"));
    };
    let minimum = kernel_minimum(&resolved.version);
    let shown = format!("{}.{}.{}", minimum.0, minimum.1, minimum.2);
    if running >= minimum {
        Finding::ok(
            Class::Environment,
            CHECK,
            format!(
                "Linux {text} meets {}'s minimum {shown}",
                resolved.version.toolchain_name()
            ),
        )
    } else {
        Finding::problem(
            Severity::Error,
            Class::Environment,
            CHECK,
            format!(
                "Linux {text} is older than {shown}, the minimum of {}",
                resolved.version.toolchain_name()
            ),
            "pin an older Go for this machine, or upgrade the kernel",
        )
    }
}

fn libc() -> Finding {
    const CHECK: &str = "libc";
    match glibc_version() {
        Some(version) => Finding::ok(
            Class::Environment,
            CHECK,
            format!(
                "glibc {version} (used only by cgo builds; Go's toolchain binaries are static)"
            ),
        ),
        None => Finding::info(
            Class::Environment,
            CHECK,
            "not glibc: cgo builds link against this system's C library",
        ),
    }
}

fn cgo(settings: &GlobalSettings) -> Finding {
    const CHECK: &str = "cgo";
    let wanted = settings.env.var(EnvVars::CGO_ENABLED);
    if wanted.as_deref() == Some("0") {
        return Finding::ok(Class::Environment, CHECK, "cgo is off (CGO_ENABLED=0)");
    }
    let compiler = settings
        .env
        .var(EnvVars::CC)
        .unwrap_or_else(|| "gcc".to_owned());
    let program = compiler
        .split_whitespace()
        .next()
        .unwrap_or("gcc")
        .to_owned();
    let found = if program.contains('/') {
        is_executable(Path::new(&program))
    } else {
        let entries = path_entries(settings);
        [program.as_str(), "cc", "clang"]
            .iter()
            .any(|name| entries.iter().any(|dir| is_executable(&dir.join(name))))
    };
    match (found, wanted.as_deref()) {
        (true, _) => Finding::ok(
            Class::Environment,
            CHECK,
            format!("a C compiler (`{program}`) is available for cgo"),
        ),
        (false, Some("1")) => Finding::problem(
            Severity::Error,
            Class::Environment,
            CHECK,
            "CGO_ENABLED=1 but no C compiler is on PATH",
            "install one (`apt-get install gcc`), or set CGO_ENABLED=0",
        ),
        (false, _) => Finding::info(
            Class::Environment,
            CHECK,
            "no C compiler on PATH, so Go turns cgo off (packages that need cgo will not build)",
        ),
    }
}

fn disk(settings: &GlobalSettings) -> Finding {
    const CHECK: &str = "disk";
    let home = &settings.dirs.home;
    let Some(bytes) = available_bytes(home) else {
        return Finding::info(Class::Store, CHECK, "cannot read free space");
    };
    #[expect(clippy::cast_precision_loss, reason = "an approximate size for people")]
    let shown = format!(
        "{:.1} GiB free under `{}`",
        bytes as f64 / f64::from(1u32 << 30),
        home.display()
    );
    if bytes < CRITICAL_DISK_BYTES {
        Finding::problem(
            Severity::Error,
            Class::Store,
            CHECK,
            shown,
            "free space or move GOSHIFT_HOME; an install needs about 300 MiB",
        )
    } else if bytes < LOW_DISK_BYTES {
        Finding::problem(
            Severity::Warning,
            Class::Store,
            CHECK,
            shown,
            "free space, or prune old toolchains with `goshift prune`",
        )
    } else {
        Finding::ok(Class::Store, CHECK, shown)
    }
}

/// The name of the store's integrity check.
const STORE_CHECK: &str = "store";

fn store_integrity(store: &StoreView<'_>) -> Vec<Finding> {
    let installed = store.installed_sorted();
    let mut findings: Vec<Finding> = installed
        .iter()
        .filter_map(|version| toolchain_problem(store, version))
        .collect();
    for root in store.foreign() {
        findings.push(Finding::problem(
            Severity::Error,
            Class::Store,
            STORE_CHECK,
            format!(
                "`{}` was not installed by goshift (no manifest of this user, or another owner); it is never run",
                root.display()
            ),
            format!("remove it with `rm -r {}` if you did not put it there", root.display()),
        ));
    }
    findings.extend(dangling_links(store));
    findings.extend(staging_leftovers(store));
    if findings.is_empty() {
        findings.push(Finding::ok(
            Class::Store,
            STORE_CHECK,
            format!(
                "{} toolchain{} installed, layout intact",
                installed.len(),
                if installed.len() == 1 { "" } else { "s" }
            ),
        ));
    }
    findings
}

/// An installed toolchain without an executable `bin/go`, or whose `VERSION` names another.
fn toolchain_problem(store: &StoreView<'_>, version: &GoVersion) -> Option<Finding> {
    let root = store.root(version);
    let go = root.join("bin").join("go");
    if !is_executable(&go) {
        return Some(Finding::problem(
            Severity::Error,
            Class::Store,
            STORE_CHECK,
            format!("{} has no executable `bin/go`", version.toolchain_name()),
            format!("goshift verify {version}, then reinstall it"),
        ));
    }
    let recorded = fs::read_to_string(root.join("VERSION")).ok();
    let first = recorded
        .as_deref()
        .and_then(|t| t.lines().next())
        .unwrap_or("");
    (first != version.toolchain_name()).then(|| {
        Finding::problem(
            Severity::Error,
            Class::Store,
            STORE_CHECK,
            format!(
                "`{}` says `{first}`, not {}",
                root.join("VERSION").display(),
                version.toolchain_name()
            ),
            format!("goshift verify {version}, then reinstall it"),
        )
    })
}

/// The default link and the proxies, when they point to nothing.
fn dangling_links(store: &StoreView<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    let link = store.default_link();
    if fs::symlink_metadata(&link).is_ok() && !link.exists() {
        findings.push(Finding::problem(
            Severity::Error,
            Class::Store,
            STORE_CHECK,
            format!("the default link `{}` points to nothing", link.display()),
            "goshift default <installed version>",
        ));
    }
    for name in ["go", "gofmt"] {
        let proxy = store.bin_dir().join(name);
        if fs::symlink_metadata(&proxy).is_ok() && !proxy.exists() {
            findings.push(Finding::problem(
                Severity::Error,
                Class::Store,
                STORE_CHECK,
                format!(
                    "the proxy `{}` points to nothing (was goshift moved?)",
                    proxy.display()
                ),
                "reinstall any toolchain to refresh the proxies",
            ));
        }
    }
    findings
}

fn staging_leftovers(store: &StoreView<'_>) -> Option<Finding> {
    let staging = store.bin_dir().with_file_name("staging");
    let leftovers = fs::read_dir(&staging).map_or(0, Iterator::count);
    (leftovers > 0).then(|| {
        Finding::problem(
            Severity::Warning,
            Class::Store,
            STORE_CHECK,
            format!(
                "{leftovers} leftover entr{} in `{}`",
                if leftovers == 1 { "y" } else { "ies" },
                staging.display()
            ),
            "the next install cleans it up; no action needed unless space is short",
        )
    })
}

fn lock(settings: &GlobalSettings) -> Finding {
    const CHECK: &str = "lock";
    let lock = LockFile::new(settings.dirs.in_home("lock"));
    match lock.is_held() {
        Ok(false) => Finding::ok(Class::Store, CHECK, "the store lock is free"),
        Ok(true) => {
            let holder = lock.last_holder();
            let alive = holder.is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists());
            match (holder, alive) {
                (Some(pid), true) => Finding::info(
                    Class::Store,
                    CHECK,
                    format!("goshift process {pid} holds the store lock (a change is in progress)"),
                ),
                _ => Finding::problem(
                    Severity::Warning,
                    Class::Store,
                    CHECK,
                    "the store lock is held by a process that cannot be identified",
                    format!("check `fuser {}`", lock.path().display()),
                ),
            }
        }
        Err(error) => Finding::problem(
            Severity::Warning,
            Class::Store,
            CHECK,
            format!("cannot check the store lock: {error}"),
            format!("check the permissions of `{}`", lock.path().display()),
        ),
    }
}

fn config_file(settings: &GlobalSettings) -> Finding {
    const CHECK: &str = "config";
    let path = settings.dirs.config_file();
    match &settings.config_error {
        Some(error) => Finding::problem(
            Severity::Error,
            Class::Configuration,
            CHECK,
            error.clone(),
            format!(
                "fix or remove `{}` (see `goshift config list`)",
                path.display()
            ),
        ),
        None if path.exists() => Finding::ok(
            Class::Configuration,
            CHECK,
            format!("`{}` is valid", path.display()),
        ),
        None => Finding::ok(
            Class::Configuration,
            CHECK,
            "no config file (defaults apply)",
        ),
    }
}

fn policy_file(settings: &GlobalSettings) -> Finding {
    const CHECK: &str = "policy";
    let Some(path) = governance::policy_path(settings) else {
        return Finding::ok(Class::Configuration, CHECK, "no policy file");
    };
    match governance::read_policy(&path) {
        Ok(_) => Finding::ok(
            Class::Configuration,
            CHECK,
            format!("`{}` is a valid policy", path.display()),
        ),
        Err(error) => Finding::problem(
            Severity::Error,
            Class::Configuration,
            CHECK,
            format!("{error:#}"),
            format!(
                "fix the policy (`goshift policy check {}` lists every problem), or point `--policy` at another file",
                path.display()
            ),
        ),
    }
}
