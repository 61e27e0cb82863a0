//! The `go` proxy: goshift invoked as `go`, `gofmt` or `go1.X.Y`.
//!
//! `$GOSHIFT_HOME/bin/go` (and `gofmt`, `go<version>`) are links to the goshift executable.
//! Invoked under such a name, goshift resolves the toolchain for the current directory and
//! `execve`s the real binary by its real path, so signals, stdin/stdout and the exit status
//! are the real `go`'s. The fast path reads the environment, walks up the directory tree for
//! `.go-version`/`go.work`/`go.mod`, reads the `default` link when a rule needs it, and
//! execs: no config file, no audit log, no network. `GOTOOLCHAIN=local` is set for the child
//! because goshift has already honoured the user's `GOTOOLCHAIN`, and `GOROOT` is set to the
//! chosen toolchain so a stale value in the environment cannot mix two toolchains.
//!
//! Only when the chosen version is missing is the config file read, for `auto_install`:
//! then `goshift install VERSION` runs as a child process and the proxy execs afterwards.

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::Context;
use goshift_fs::{Dirs, EnvVars, fs};
use goshift_project::{Request, Resolution, ResolveError, Source, resolve};
use goshift_version::GoVersion;

use crate::config::Config;
use crate::error::{self, WithHint, hinted};
use crate::exit::ExitStatus;
use crate::toolchains::StoreView;

/// The tool a proxy name stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tool {
    /// `go`, resolved per directory.
    Go,
    /// `gofmt`, resolved per directory.
    Gofmt,
    /// `go1.22.10`: that version's `go`, whatever the directory says.
    Versioned(GoVersion),
}

impl Tool {
    /// The tool `argv0` names, if goshift was invoked as a proxy.
    pub(crate) fn from_argv0(argv0: &OsStr) -> Option<Self> {
        let name = Path::new(argv0).file_name()?.to_str()?;
        match name {
            "go" => Some(Self::Go),
            "gofmt" => Some(Self::Gofmt),
            _ => {
                let version = name.strip_prefix("go1")?;
                GoVersion::parse(&format!("1{version}"))
                    .ok()
                    .map(Self::Versioned)
            }
        }
    }

    fn binary(&self) -> &'static str {
        match self {
            Self::Go | Self::Versioned(_) => "go",
            Self::Gofmt => "gofmt",
        }
    }
}

/// Runs the proxy. Returns only on failure: on success the process becomes the real tool.
pub(crate) fn run(tool: &Tool, args: &[OsString]) -> ExitStatus {
    let error = match exec(tool, args) {
        Ok(never) => match never {},
        Err(error) => error,
    };
    error::report(&error);
    ExitStatus::Error
}

/// Nested `go` commands (`go generate` running `go run`, …) pass through the proxy again;
/// more than this many in one chain of processes is a loop.
const MAX_DEPTH: u32 = 100;

fn exec(tool: &Tool, args: &[OsString]) -> anyhow::Result<std::convert::Infallible> {
    let depth = std::env::var(EnvVars::GOSHIFT_PROXY_DEPTH)
        .ok()
        .and_then(|d| d.parse::<u32>().ok())
        .unwrap_or(0);
    if depth >= MAX_DEPTH {
        return Err(hinted(
            format!(
                "the `go` proxy ran {depth} times in a row: a toolchain's `{}` leads back to goshift",
                tool.binary()
            ),
            "check `goshift doctor`; a toolchain's bin/go must be the real Go binary, not a link to the proxy",
        ));
    }
    let dirs = Dirs::from_env(|name| std::env::var_os(name))?;
    let store = StoreView::new(&dirs.home);
    let cwd = std::env::current_dir().context("failed to read the current directory")?;
    let mut auto_install = None;
    let mut installed: Vec<String> = Vec::new();
    loop {
        let resolution = match choose(tool, &store, &cwd) {
            Ok(resolution) => resolution,
            Err(error) => match crate::commands::project::install_request(&error) {
                // One automatic install per request: a release that still does not meet the
                // requirement stops here instead of installing again.
                Some((request, _))
                    if !installed.contains(&request)
                        && auto_install_enabled(&dirs, &mut auto_install)? =>
                {
                    install(&request)?;
                    installed.push(request);
                    continue;
                }
                Some((_, hint)) => {
                    return Err(error).hint(format!(
                        "{hint}, or set `auto_install = true` with `goshift config set auto_install true`"
                    ));
                }
                None => return Err(error.into()),
            },
        };
        let root = store.root(&resolution.version);
        let binary = root.join("bin").join(tool.binary());
        let error = Command::new(&binary)
            .arg0(&args[0])
            .args(&args[1..])
            .env(EnvVars::GOTOOLCHAIN, "local")
            .env(EnvVars::GOROOT, &root)
            .env(EnvVars::GOSHIFT_PROXY_DEPTH, (depth + 1).to_string())
            .exec();
        if error.kind() != io::ErrorKind::NotFound {
            return Err(error).with_context(|| format!("failed to run `{}`", binary.display()));
        }
        if root.is_dir() {
            return Err(hinted(
                format!(
                    "`{}` is missing from the installed {}",
                    binary.display(),
                    resolution.version.toolchain_name()
                ),
                format!(
                    "check the store with `goshift doctor`, then reinstall with `goshift install {} --force`",
                    resolution.version
                ),
            ));
        }
        if auto_install_enabled(&dirs, &mut auto_install)? {
            install(&resolution.version.to_string())?;
            continue;
        }
        return Err(not_installed(&resolution, &cwd));
    }
}

/// Resolves the version for `tool` in `cwd`.
fn choose(tool: &Tool, store: &StoreView<'_>, cwd: &Path) -> Result<Resolution, ResolveError> {
    if let Tool::Versioned(version) = tool {
        return Ok(Resolution {
            version: version.clone(),
            source: Source::ProxyName {
                name: version.toolchain_name(),
            },
        });
    }
    let go_version = std::env::var(EnvVars::GOSHIFT_GO_VERSION).ok();
    let gotoolchain = std::env::var(EnvVars::GOTOOLCHAIN).ok();
    let gowork = std::env::var(EnvVars::GOWORK).ok();
    let request = Request {
        go_version: go_version.as_deref(),
        gotoolchain: gotoolchain.as_deref(),
        gowork: gowork.as_deref(),
        start: cwd,
    };
    resolve(&request, &mut read_project_file, &mut store.clone())
}

/// Reads a project file; a missing file (or a directory of that name) is `None`.
pub(crate) fn read_project_file(path: &Path) -> io::Result<Option<String>> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(error)
            if matches!(
                error.kind(),
                io::ErrorKind::NotFound
                    | io::ErrorKind::NotADirectory
                    | io::ErrorKind::IsADirectory
            ) =>
        {
            Ok(None)
        }
        Err(error) => Err(error),
    }
}

fn not_installed(resolution: &Resolution, cwd: &Path) -> anyhow::Error {
    hinted(
        format!(
            "{} is not installed ({})",
            resolution.version.toolchain_name(),
            resolution.source.describe(cwd)
        ),
        install_hint(&resolution.version.to_string()),
    )
}

fn install_hint(request: &str) -> String {
    format!(
        "run `goshift install {request}`, or set `auto_install = true` with `goshift config set auto_install true`"
    )
}

/// Reads `auto_install` from the config file, once.
fn auto_install_enabled(dirs: &Dirs, cache: &mut Option<bool>) -> anyhow::Result<bool> {
    if let Some(enabled) = cache {
        return Ok(*enabled);
    }
    let config = Config::load(&dirs.config_file())?;
    let enabled = config.auto_install.unwrap_or(false);
    *cache = Some(enabled);
    Ok(enabled)
}

/// Runs `goshift install REQUEST` as a child of the goshift executable, its output on
/// stderr so that the proxied command's stdout stays clean. Policy checks and auditing
/// happen inside `install`, exactly as when a user runs it.
fn install(request: &str) -> anyhow::Result<()> {
    let exe = goshift_executable()?;
    let status = Command::new(&exe)
        .arg("install")
        .arg(request)
        .stdin(Stdio::null())
        .stdout(io::stderr())
        .status()
        .with_context(|| format!("failed to run `{} install {request}`", exe.display()))?;
    if !status.success() {
        anyhow::bail!("`goshift install {request}` failed ({status}); nothing was run");
    }
    Ok(())
}

/// The real path of the running goshift executable.
pub(crate) fn goshift_executable() -> anyhow::Result<PathBuf> {
    std::env::current_exe().context("failed to find the goshift executable")
}
