//! `goshift agent`: one per host, long-running. Registers the host in etcd under a lease and
//! brings it to its environment's desired state (see `goshift_fleet::agent`), through the
//! same functions `goshift install`, `goshift use`, `goshift svc upgrade` and `goshift svc
//! rollback` run, so every change is verified, checked against the policy and audited as
//! if an operator had typed it on the host.

mod host;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use goshift_audit::Actor;
use goshift_fleet::agent::AgentConfig;

use crate::cli::AgentArgs;
use crate::config::FleetConfig;
use crate::error::hinted;
use crate::exit::ExitStatus;
use crate::printer::Printer;
use crate::settings::{GlobalSettings, parse_duration};

/// The default lease: an idle agent renews it every 20 s.
const DEFAULT_LEASE_TTL: Duration = Duration::from_mins(1);
/// How long a stop waits for the loop to end cleanly (and revoke its lease).
const STOP_GRACE: Duration = Duration::from_secs(3);
/// The longest watch: an idle agent reads its environment again once a minute.
const WATCH_WAIT: Duration = Duration::from_mins(1);

/// Runs the agent until SIGTERM or SIGINT.
pub(crate) fn agent(args: AgentArgs, settings: &GlobalSettings) -> anyhow::Result<ExitStatus> {
    let AgentArgs {
        etcd,
        host,
        labels,
        lease_ttl,
        control,
        no_smoke_test,
    } = args;
    let (config, labels) = resolve(settings, host, &labels, lease_ttl)?;
    let fleet = super::fleet::connect(etcd, settings)?;
    let mut local = host::LocalHost::new(
        settings,
        config.host.clone(),
        config.environment.clone(),
        labels,
        control,
        no_smoke_test,
    )?;
    let signals = goshift_supervisor::SignalSet::new(&[libc::SIGTERM, libc::SIGINT]);
    signals.block()?;
    let stop = Arc::new(AtomicBool::new(false));
    let printer = settings.printer;
    printer.status(format!(
        "Agent of `{}` in environment `{}` following {} under `{}`",
        config.host,
        config.environment,
        fleet.etcd().endpoints().join(","),
        fleet.keys().prefix()
    ));
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let stop_loop = Arc::clone(&stop);
    std::thread::Builder::new()
        .name("agent".into())
        .spawn(move || {
            let result =
                goshift_fleet::agent::run(&fleet, &config, &mut local, &stop_loop, &mut |line| {
                    printer.status(line);
                });
            let _ = done_tx.send(result);
        })?;
    let stop_signals = Arc::clone(&stop);
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            if signals.wait().is_ok() {
                stop_signals.store(true, Ordering::Relaxed);
            }
        })?;
    wait_for_the_loop(&done_rx, &stop, printer)
}

/// The agent's configuration and labels, from the flags, the config file and the system.
fn resolve(
    settings: &GlobalSettings,
    host: Option<String>,
    labels: &[String],
    lease_ttl: Option<String>,
) -> anyhow::Result<(AgentConfig, BTreeMap<String, String>)> {
    let FleetConfig {
        host: config_host,
        labels: config_labels,
        lease_ttl: config_lease_ttl,
        ..
    } = settings.config.fleet.clone().unwrap_or_default();
    let environment = super::fleet::target_environment(settings)?;
    let host = host
        .or(config_host)
        .unwrap_or_else(|| Actor::from_os().host);
    goshift_fleet::check_name("a host", &host)?;
    let labels = if labels.is_empty() {
        config_labels
    } else {
        parse_labels(labels)?
    };
    let lease_ttl = match lease_ttl.or(config_lease_ttl) {
        None => DEFAULT_LEASE_TTL,
        Some(text) => parse_duration(&text)
            .ok()
            .filter(|d| d.as_secs() >= 2)
            .ok_or_else(|| {
                hinted(
                    format!("invalid lease time to live: `{text}`"),
                    "give at least 2 seconds, such as `60s`",
                )
            })?,
    };
    let config = AgentConfig {
        host,
        environment,
        lease_ttl,
        watch_wait: WATCH_WAIT,
    };
    Ok((config, labels))
}

/// Waits for the agent's loop to end. The loop ends on a signal at its next step; in the
/// middle of a watch or an upgrade it may not get there soon, so the process leaves after a
/// grace period and the lease expires on its own (a local upgrade under way is finished by
/// the supervisor).
fn wait_for_the_loop(
    done: &Receiver<Result<(), goshift_fleet::FleetError>>,
    stop: &AtomicBool,
    printer: Printer,
) -> anyhow::Result<ExitStatus> {
    let mut waited_after_stop = Duration::ZERO;
    loop {
        match done.recv_timeout(Duration::from_millis(200)) {
            Ok(result) => {
                result?;
                printer.status("Agent stopped");
                return Ok(ExitStatus::Success);
            }
            Err(RecvTimeoutError::Disconnected) => {
                anyhow::bail!("the agent's loop ended without a result")
            }
            Err(RecvTimeoutError::Timeout) => {}
        }
        if stop.load(Ordering::Relaxed) {
            waited_after_stop += Duration::from_millis(200);
            if waited_after_stop >= STOP_GRACE {
                printer.status("Agent stopped (its lease expires on its own)");
                return Ok(ExitStatus::Success);
            }
        }
    }
}

/// Parses `k=v` labels.
fn parse_labels(items: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    items
        .iter()
        .map(|item| match item.split_once('=') {
            Some((key, value)) if !key.trim().is_empty() => {
                Ok((key.trim().to_owned(), value.trim().to_owned()))
            }
            _ => Err(hinted(
                format!("`{item}` is not a label"),
                "labels look like `--labels rack=r12,role=build`",
            )),
        })
        .collect()
}
