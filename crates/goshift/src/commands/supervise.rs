//! `goshift supervise`: run the services of a service file until stopped; `--reload`
//! hands a running one over to a new process.

mod reload;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::mpsc::Receiver;
use std::thread::JoinHandle;

use anyhow::Context;
use goshift_audit::Outcome;
use goshift_fs::EnvVars;
use goshift_supervisor::{
    ActivationEnv, Config, Inherited, Options, OutputLine, Phase, PhaseEvent, Reexec, Supervisor,
    Trigger,
};

use crate::cli::SuperviseArgs;
use crate::error::WithHint;
use crate::exit::ExitStatus;
use crate::governance::{self, Change};
use crate::settings::GlobalSettings;

/// Checks the file and the binaries, binds every socket, then runs until SIGTERM/SIGINT or
/// `goshift svc stop`. Phase events and the children's output go to stderr as JSON lines.
pub(crate) fn supervise(
    args: SuperviseArgs,
    settings: &GlobalSettings,
) -> anyhow::Result<ExitStatus> {
    let SuperviseArgs {
        config,
        reload,
        control,
        handoff_format,
    } = args;
    if handoff_format {
        settings
            .printer
            .data(goshift_supervisor::handoff::format_line());
        return Ok(ExitStatus::Success);
    }
    if let Some(file) = reload {
        return reload::reload(file, control, settings);
    }
    let mut supervisor = match settings.env.var(EnvVars::GOSHIFT_HANDOFF_FD) {
        Some(fd) => adopt(&fd, settings)?,
        None => start(config, settings)?,
    };
    crate::platform::one_allocator_arena();
    let events = supervisor.subscribe();
    let output = supervisor.subscribe_output();
    // Signals are blocked here, before any thread exists, and handled by one thread.
    goshift_supervisor::forward_signals(supervisor.handle())
        .context("failed to set up signal handling")?;
    settings.printer.status(format!(
        "supervising; control socket `{}`",
        supervisor.control_path().display()
    ));
    let log = log_events(events, settings)?;
    let output_log = log_output(output, settings)?;
    supervisor.run();
    // The supervisor is gone, so the event channel is closed: the log thread prints and
    // records the last events, then ends.
    let _ = log.join();
    // The reader threads end once the last children and their descendants closed the
    // pipes; do not wait for a descendant that outlives its generation.
    drop(output_log);
    Ok(ExitStatus::Success)
}

/// Loads the service file (`--config`, else `GOSHIFT_SUPERVISOR_CONFIG`, else the config
/// directory's `supervisor.toml`) and starts the supervisor with the sockets the service
/// manager passed.
fn start(config: Option<PathBuf>, settings: &GlobalSettings) -> anyhow::Result<Supervisor> {
    let path = config
        .or_else(|| {
            settings
                .env
                .var(EnvVars::GOSHIFT_SUPERVISOR_CONFIG)
                .map(PathBuf::from)
        })
        .unwrap_or_else(|| settings.dirs.config.join("supervisor.toml"));
    let path = settings.cwd.join(path);
    let config = Config::load(&path).hint("see docs/supervisor.md for the service file format")?;
    let activation = ActivationEnv {
        listen_pid: settings.env.var(EnvVars::LISTEN_PID),
        listen_fds: settings.env.var(EnvVars::LISTEN_FDS),
        listen_fdnames: settings.env.var(EnvVars::LISTEN_FDNAMES),
    };
    let inherited = Inherited::from_env(&activation, std::process::id())
        .context("the sockets passed by the service manager (LISTEN_FDS) cannot be used")
        .hint("see docs/supervisor.md, \"Restarting the supervisor\"")?;
    let mut supervisor = Supervisor::activated(
        config,
        options(settings),
        inherited,
        &super::svc::build_facts,
    )
    .with_context(|| format!("the supervisor could not start from `{}`", path.display()))?;
    for note in supervisor.notes() {
        settings.printer.warn(note);
    }
    supervisor.reexec(reexec(&path, settings));
    Ok(supervisor)
}

/// This process was re-executed by a supervisor (`--reload`, `SIGHUP`): takes over the
/// sockets and generations it handed over in descriptor `fd`.
fn adopt(fd: &str, settings: &GlobalSettings) -> anyhow::Result<Supervisor> {
    let state = goshift_supervisor::handoff::read(fd)
        .map_err(anyhow::Error::msg)
        .context("the state handed over by the previous supervisor process cannot be used")
        .hint("the services were lost with it; start the supervisor again (under systemd its listeners are kept in the file-descriptor store)")?;
    let path = state.config().to_owned();
    let config = Config::load(&path).hint("see docs/supervisor.md for the service file format")?;
    let mut supervisor =
        Supervisor::adopt(config, options(settings), &state, &super::svc::build_facts)
            .with_context(|| {
                format!(
                    "the supervisor could not take over from `{}`",
                    path.display()
                )
            })?;
    for note in supervisor.notes() {
        settings.printer.warn(note);
    }
    supervisor.reexec(reexec(&path, settings));
    settings.printer.status(format!(
        "took over from the previous supervisor process (pid {}, service file `{}`)",
        std::process::id(),
        path.display()
    ));
    Ok(supervisor)
}

/// How a reload re-executes: the goshift binary at the path it was started by (so an
/// upgraded binary put there runs next), with the same arguments.
fn reexec(config: &Path, settings: &GlobalSettings) -> Reexec {
    let args: Vec<OsString> = std::env::args_os().collect();
    let named = args
        .first()
        .map(PathBuf::from)
        .filter(|p| p.components().count() > 1)
        .map(|p| settings.cwd.join(p));
    let program = named
        .or_else(|| std::env::current_exe().ok())
        .unwrap_or_else(|| PathBuf::from("goshift"));
    Reexec {
        program,
        args,
        config: config.to_owned(),
        format_args: Some(vec!["supervise".into(), "--handoff-format".into()]),
    }
}

fn options(settings: &GlobalSettings) -> Options {
    Options {
        home: settings.dirs.home.clone(),
        control: settings
            .env
            .var(EnvVars::GOSHIFT_SUPERVISOR_SOCKET)
            .map(PathBuf::from),
        base_env: settings
            .env
            .vars()
            .filter(|(k, _)| *k != EnvVars::GOSHIFT_HANDOFF_FD)
            .map(|(k, v)| (k.into(), v.clone()))
            .collect(),
        manager_notify: settings.env.var(EnvVars::NOTIFY_SOCKET).map(PathBuf::from),
    }
}

/// Phase events, one JSON line each on stderr, and the ones the supervisor decided on its
/// own in the audit log.
fn log_events(
    events: Receiver<PhaseEvent>,
    settings: &GlobalSettings,
) -> anyhow::Result<JoinHandle<()>> {
    let printer = settings.printer;
    let audit_settings = settings.clone();
    std::thread::Builder::new()
        .name("log".into())
        .spawn(move || {
            for event in events {
                if let Ok(line) = serde_json::to_string(&event) {
                    printer.stderr_raw(&format!("{line}\n"));
                }
                if let Err(error) = audit(&audit_settings, &event) {
                    printer.warn(format!(
                        "failed to record `{:?}` in the audit log: {error:#}",
                        event.phase
                    ));
                }
            }
        })
        .context("failed to start the log thread")
}

/// Children's output, one JSON line each; a slow stderr makes the supervisor drop and count
/// lines, never wait.
fn log_output(
    output: Receiver<OutputLine>,
    settings: &GlobalSettings,
) -> anyhow::Result<JoinHandle<()>> {
    let printer = settings.printer;
    std::thread::Builder::new()
        .name("output-log".into())
        .spawn(move || {
            for line in output {
                if let Ok(line) = serde_json::to_string(&line) {
                    printer.stderr_raw(&format!("{line}\n"));
                }
            }
        })
        .context("failed to start the output log thread")
}

/// Records what the supervisor did on its own: upgrades started by SIGHUP (requests from
/// `goshift svc` are recorded by the requesting command, with its user) and each service's
/// stop.
fn audit(settings: &GlobalSettings, event: &PhaseEvent) -> anyhow::Result<()> {
    let (action, outcome) = match (event.phase, event.trigger) {
        (Phase::Upgraded, Some(Trigger::Reload)) => ("svc.reload", Outcome::Success),
        (Phase::RolledBack, Some(Trigger::Reload)) => ("svc.reload", Outcome::Failure),
        (Phase::Stopped, _) => ("svc.stopped", Outcome::Success),
        _ => return Ok(()),
    };
    let change = Change::new(action, &event.service).states(None, event.release.clone());
    governance::record(
        settings,
        &change,
        outcome,
        super::svc::audit_details(serde_json::to_value(event)?),
    )
}
