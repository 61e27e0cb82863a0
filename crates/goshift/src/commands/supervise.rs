//! `goshift supervise`: run the services of a service file until stopped.

use std::path::PathBuf;

use anyhow::Context;
use goshift_fs::EnvVars;
use goshift_supervisor::{Config, Options, Supervisor};

use crate::cli::SuperviseArgs;
use crate::error::WithHint;
use crate::exit::ExitStatus;
use crate::settings::GlobalSettings;

/// Checks the file and the binaries, binds every socket, then runs until SIGTERM/SIGINT or
/// `goshift svc stop`. Phase events go to stderr as JSON lines.
pub(crate) fn supervise(
    args: SuperviseArgs,
    settings: &GlobalSettings,
) -> anyhow::Result<ExitStatus> {
    let SuperviseArgs { config } = args;
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
    let options = Options {
        home: settings.dirs.home.clone(),
        control: settings
            .env
            .var(EnvVars::GOSHIFT_SUPERVISOR_SOCKET)
            .map(PathBuf::from),
        base_env: settings
            .env
            .vars()
            .map(|(k, v)| (k.into(), v.clone()))
            .collect(),
        manager_notify: settings.env.var(EnvVars::NOTIFY_SOCKET).map(PathBuf::from),
    };
    let mut supervisor = Supervisor::new(config, options, &super::svc::build_facts)
        .with_context(|| format!("the supervisor could not start from `{}`", path.display()))?;
    let events = supervisor.subscribe();
    // Signals are blocked here, before any thread exists, and handled by one thread.
    goshift_supervisor::forward_signals(supervisor.handle())
        .context("failed to set up signal handling")?;
    let printer = settings.printer;
    printer.status(format!(
        "supervising; control socket `{}`",
        supervisor.control_path().display()
    ));
    std::thread::Builder::new()
        .name("log".into())
        .spawn(move || {
            for event in events {
                if let Ok(line) = serde_json::to_string(&event) {
                    printer.stderr_raw(&format!("{line}\n"));
                }
            }
        })
        .context("failed to start the log thread")?;
    supervisor.run();
    Ok(ExitStatus::Success)
}
