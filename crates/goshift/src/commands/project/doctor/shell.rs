//! Whether the shell that started `goshift doctor` runs goshift's `go`.
//!
//! bash and zsh remember where they found a command. A shell that ran a system `go` before
//! goshift created its proxy keeps running that one, although the proxy now comes first on
//! `PATH`. The `goshift` shell function of `goshift init` says it is there
//! (`GOSHIFT_SHELL_HOOK`), and its hook forgets such a `go`. Without it, the shell may still
//! run the old one when it started before the proxy was created and another `go` exists
//! further down `PATH`.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use goshift_fs::{EnvVars, fs};

use super::checks::{is_executable, path_entries};
use super::{Class, Finding, Severity};
use crate::settings::GlobalSettings;

const CHECK: &str = "shell";

/// The finding about the calling shell's remembered `go`, if there is anything to say.
pub(super) fn remembered_go(settings: &GlobalSettings, bin: &Path) -> Option<Finding> {
    let proxy = bin.join("go");
    let created = fs::symlink_metadata(&proxy).ok()?;
    if let Some(shell) = settings.env.var(EnvVars::GOSHIFT_SHELL_HOOK) {
        return Some(Finding::ok(
            Class::Environment,
            CHECK,
            format!("the {shell} hook of `goshift init` makes the shell run goshift's `go`"),
        ));
    }
    let other = path_entries(settings)
        .into_iter()
        .filter(|dir| dir != bin)
        .map(|dir| dir.join("go"))
        .find(|go| is_executable(go))?;
    let parent = Parent::of_this_process()?;
    if !matches!(parent.name.as_str(), "bash" | "zsh") {
        return None;
    }
    let proxy_time = SystemTime::UNIX_EPOCH
        + Duration::new(
            u64::try_from(created.ctime()).ok()?,
            u32::try_from(created.ctime_nsec()).ok()?,
        );
    if parent.started >= proxy_time {
        return None;
    }
    let (rehash, init) = if parent.name == "zsh" {
        ("rehash", "eval \"$(goshift init zsh)\"` in ~/.zshrc")
    } else {
        ("hash -r", "eval \"$(goshift init bash)\"` in ~/.bashrc")
    };
    Some(Finding::problem(
        Severity::Warning,
        Class::Environment,
        CHECK,
        format!(
            "this {} started before goshift created `{}`, so it may still run `{}`, which it found earlier",
            parent.name,
            proxy.display(),
            other.display()
        ),
        format!(
            "run `{rehash}` in this shell (or open a new one); with `{init}` the shell does it by itself"
        ),
    ))
}

/// The process that started this one.
struct Parent {
    name: String,
    started: SystemTime,
}

impl Parent {
    fn of_this_process() -> Option<Self> {
        let pid = std::os::unix::process::parent_id();
        let proc = PathBuf::from(format!("/proc/{pid}"));
        let name = fs::read_to_string(proc.join("comm")).ok()?;
        let name = name.trim().trim_start_matches('-').to_owned();
        let stat = fs::read_to_string(proc.join("stat")).ok()?;
        // The fields after the parenthesised name; `starttime` is the 22nd field overall.
        let rest = &stat[stat.rfind(')')? + 1..];
        let ticks: u64 = rest.split_whitespace().nth(19)?.parse().ok()?;
        let per_second = super::system::clock_ticks_per_second()?;
        let since_boot = Duration::from_secs(ticks / per_second)
            + Duration::from_nanos((ticks % per_second) * 1_000_000_000 / per_second);
        let started = super::system::boot_time()? + since_boot;
        Some(Self { name, started })
    }
}
