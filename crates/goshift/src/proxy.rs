//! The `go` proxy: goshift invoked as `go`, `gofmt` or `go1.X.Y`.
//!
//! `$GOSHIFT_HOME/bin/go` (and `gofmt`, `go<version>`) are links to the goshift executable.
//! Invoked under such a name, goshift resolves the toolchain for the current directory and
//! `execve`s the real binary by its real path, so signals, stdin/stdout and the exit status
//! are the real `go`'s. The fast path reads the environment, walks up the directory tree for
//! `.tool-versions`/`.go-version`/`go.work`/`go.mod`, reads the `default` link when a rule needs it, and
//! execs: no config file, no audit log, no network. `GOTOOLCHAIN=local` is set for the child
//! because goshift has already honoured the user's `GOTOOLCHAIN`, and `GOROOT` is set to the
//! chosen toolchain so a stale value in the environment cannot mix two toolchains.
//!
//! Only when the chosen version is missing is the config file read, for `auto_install`:
//! then `goshift install VERSION` runs as a child process and the proxy execs afterwards. It
//! is also read when a go.mod asks for a release that is not installed exactly, for
//! `toolchain_selection`. `GOTOOLCHAIN` and `GOWORK` are read as Go reads them: the
//! environment, else Go's env file (`go env -w`). `go -C DIR` resolves for DIR. A go.mod that
//! does not parse is read as Go's toolchain switch reads it, and the toolchain that runs
//! reports the error (with a warning naming it).

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::Context;
use goshift_fs::{Dirs, EnvVars};
use goshift_project::{MetBy, Request, Resolution, ResolveError, Selection, Source, resolve};
use goshift_version::GoVersion;

use crate::config::{Config, ToolchainSelection};
use crate::error::{self, WithHint, hinted};
use crate::exit::ExitStatus;
use crate::goenv::GoEnv;
use crate::printer::{ColorChoice, Format, Printer};
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
    let depth = proxy_depth(tool)?;
    let dirs = Dirs::from_env(|name| std::env::var_os(name))?;
    let store = StoreView::new(&dirs.home);
    let cwd = std::env::current_dir().context("failed to read the current directory")?;
    // `go -C DIR` runs in DIR, so DIR's project files choose the toolchain, as in Go.
    let start = match (tool, change_dir(args)) {
        (Tool::Go, Some(dir)) => cwd.join(dir),
        _ => cwd.clone(),
    };
    let mut config = None;
    let mut installed: Vec<String> = Vec::new();
    loop {
        let resolution = match choose(tool, &store, &start, &dirs, &mut config) {
            Ok(resolution) => resolution,
            Err(error) => {
                install_requested(error, &store, &dirs, &mut config, &mut installed)?;
                continue;
            }
        };
        if let Some(reason) = malformed(&resolution.source) {
            warn(&format!(
                "{reason}; running {} ({}), which reports the error, as Go would",
                resolution.version.toolchain_name(),
                resolution.source.describe(&cwd)
            ));
        }
        let version = &resolution.version;
        let root = store.root(version);
        if !store.is_installed(version) {
            if store.is_foreign(version) {
                return Err(foreign(&root, version));
            }
            if load_config(&dirs, &mut config)?.auto_install == Some(true) {
                install(&version.to_string())?;
                continue;
            }
            return Err(not_installed(&resolution, &cwd));
        }
        return Err(exec_tool(tool, &root, version, args, depth));
    }
}

/// How many proxies run above this one in the chain of processes; too many is a loop.
fn proxy_depth(tool: &Tool) -> anyhow::Result<u32> {
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
    Ok(depth)
}

/// Installs the toolchain a resolution `error` asks for when `auto_install` is on, and
/// returns so that resolution runs again; otherwise returns the error with its hint.
fn install_requested(
    error: ResolveError,
    store: &StoreView<'_>,
    dirs: &Dirs,
    config: &mut Option<Config>,
    installed: &mut Vec<String>,
) -> anyhow::Result<()> {
    match crate::commands::project::install_request(&error) {
        // One automatic install per request: a release that still does not meet the
        // requirement stops here instead of installing again.
        Some((request, _))
            if !installed.contains(&request)
                && load_config(dirs, config)?.auto_install == Some(true) =>
        {
            install(&request)?;
            installed.push(request);
            Ok(())
        }
        Some((_, hint)) => Err(error).hint(format!(
            "{hint}, or set `auto_install = true` with `goshift config set auto_install true`"
        )),
        None => match resolve_hint(&error, store) {
            Some(hint) => Err(error).hint(hint),
            None => Err(error.into()),
        },
    }
}

/// Becomes the toolchain's `tool`; returns only the error when that fails.
fn exec_tool(
    tool: &Tool,
    root: &Path,
    version: &GoVersion,
    args: &[OsString],
    depth: u32,
) -> anyhow::Error {
    let binary = root.join("bin").join(tool.binary());
    let error = Command::new(&binary)
        .arg0(&args[0])
        .args(&args[1..])
        .env(EnvVars::GOTOOLCHAIN, "local")
        .env(EnvVars::GOROOT, root)
        .env(EnvVars::GOSHIFT_PROXY_DEPTH, (depth + 1).to_string())
        .exec();
    if error.kind() != io::ErrorKind::NotFound {
        return anyhow::Error::new(error).context(format!("failed to run `{}`", binary.display()));
    }
    hinted(
        format!(
            "`{}` is missing from the installed {}",
            binary.display(),
            version.toolchain_name()
        ),
        format!(
            "check the store with `goshift doctor`, then reinstall with `goshift install {version} --reinstall`"
        ),
    )
}

/// The error for a `toolchains/go<version>` that goshift did not install: it is never run.
pub(crate) fn foreign(root: &Path, version: &GoVersion) -> anyhow::Error {
    hinted(
        format!(
            "`{}` was not installed by goshift (it has no manifest of this user, or another owner), so it is never run",
            root.display()
        ),
        format!(
            "remove it with `rm -r {}` if you did not put it there, then `goshift install {version}`",
            root.display()
        ),
    )
}

/// The directory of a leading `-C DIR` (or `-C=DIR`, `--C DIR`), which Go accepts only as
/// the first flag.
fn change_dir(args: &[OsString]) -> Option<&Path> {
    let first = args.get(1)?.to_str()?;
    match first {
        "-C" | "--C" => args.get(2).map(Path::new),
        _ => first
            .strip_prefix("-C=")
            .or_else(|| first.strip_prefix("--C="))
            .map(Path::new),
    }
}

/// Resolves the version for `tool` in `start`, reading `GOTOOLCHAIN` and `GOWORK` as Go does
/// (the environment, else Go's env file). The config file is read only when a go.mod asks for
/// a release that is not installed exactly, to learn `toolchain_selection`.
fn choose(
    tool: &Tool,
    store: &StoreView<'_>,
    start: &Path,
    dirs: &Dirs,
    config: &mut Option<Config>,
) -> anyhow::Result<Resolution, ResolveError> {
    if let Tool::Versioned(version) = tool {
        return Ok(Resolution {
            version: version.clone(),
            source: Source::ProxyName {
                name: version.toolchain_name(),
            },
        });
    }
    let mut go_env = GoEnv::new(|name| std::env::var(name).ok());
    let go_version = std::env::var(EnvVars::GOSHIFT_GO_VERSION).ok();
    let gotoolchain = go_env.get(EnvVars::GOTOOLCHAIN);
    let gowork = go_env.get(EnvVars::GOWORK);
    let mut request = Request {
        go_version: go_version.as_deref(),
        gotoolchain: gotoolchain.as_ref().map(|s| s.value.as_str()),
        gotoolchain_file: gotoolchain.as_ref().and_then(|s| s.file.as_deref()),
        gowork: gowork.as_ref().map(|s| s.value.as_str()),
        selection: Selection::NewestInstalled,
        start,
    };
    let resolution = resolve(&request, &mut read_project_file, &mut store.clone())?;
    if !substituted(&resolution.source) {
        return Ok(resolution);
    }
    // An unreadable config file leaves the default selection; `goshift config` reports it.
    let selection = load_config(dirs, config)
        .ok()
        .and_then(|config| config.toolchain_selection)
        .map_or(Selection::NewestInstalled, ToolchainSelection::selection);
    if selection == Selection::NewestInstalled {
        return Ok(resolution);
    }
    request.selection = selection;
    resolve(&request, &mut read_project_file, &mut store.clone())
}

/// The fix for a resolution error that no install fixes, if there is one.
pub(crate) fn resolve_hint(error: &ResolveError, store: &StoreView<'_>) -> Option<String> {
    match error {
        ResolveError::LanguageVersion { name, .. } => {
            let line = GoVersion::parse(name).ok()?;
            let newest = store
                .installed_sorted()
                .into_iter()
                .filter(|v| v.is_stable() && v.same_line(&line))
                .max();
            Some(match newest {
                Some(newest) => format!(
                    "name a release of that line, such as the installed `{}`",
                    newest.toolchain_name()
                ),
                None => format!(
                    "name a release of that line, such as `{name}.0` (`goshift install {line}` installs the newest)"
                ),
            })
        }
        ResolveError::RelativeGoWork { .. } => Some(
            "set `GOWORK` to an absolute path (`GOWORK=$PWD/go.work`), or to `off` or `auto`"
                .to_owned(),
        ),
        _ => None,
    }
}

/// Returns true if and only if a go.mod or go.work minimum was met by a newer release than
/// the one Go would run.
pub(crate) fn substituted(source: &Source) -> bool {
    matches!(
        source,
        Source::GoMod(requirement) | Source::GoWork(requirement)
            if requirement.met_by == MetBy::NewestInstalled
    )
}

/// Why the project file behind `source` does not parse, if it does not.
fn malformed(source: &Source) -> Option<&str> {
    match source {
        Source::GoMod(requirement) | Source::GoWork(requirement) => {
            requirement.malformed.as_deref()
        }
        _ => None,
    }
}

fn warn(message: &str) {
    let no_color = std::env::var_os(EnvVars::NO_COLOR).is_some_and(|v| !v.is_empty());
    Printer::detect(Format::Human, false, false, ColorChoice::Auto, no_color).warn(message);
}

/// The most a `go.mod`, `go.work` or `.go-version` may hold: the largest real ones are tens
/// of KiB; a device or a runaway file is refused instead of read until memory runs out.
pub(crate) const MAX_PROJECT_FILE_BYTES: u64 = 16 << 20;

/// Reads a project file; a missing file (or a directory of that name) is `None`. Anything but
/// a regular file, or one over [`MAX_PROJECT_FILE_BYTES`], is an error naming it.
pub(crate) fn read_project_file(path: &Path) -> io::Result<Option<String>> {
    goshift_fs::read_text_limited_if_exists(path, MAX_PROJECT_FILE_BYTES)
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

/// Reads the config file, once.
fn load_config<'a>(dirs: &Dirs, cache: &'a mut Option<Config>) -> anyhow::Result<&'a Config> {
    if cache.is_none() {
        *cache = Some(Config::load(&dirs.config_file())?);
    }
    Ok(cache.get_or_insert_default())
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
