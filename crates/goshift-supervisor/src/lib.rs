//! Zero-downtime upgrades of Go services.
//!
//! The [`Supervisor`] owns every listening socket for its whole life and runs each service as
//! a sequence of generations (child processes). A generation gets the sockets as fds 3.. with
//! `LISTEN_FDS`, `LISTEN_FDNAMES` and `LISTEN_PID` (systemd's socket-activation protocol, so a
//! Go service using `coreos/go-systemd` activation needs no change), its own `NOTIFY_SOCKET`
//! and, when a probe or the service file asks for it, a private admin listener
//! (`GOSHIFT_ADMIN_ADDR`). An upgrade starts the new
//! generation, waits until it is ready, only then asks the old one to stop, and rolls back
//! when the new one fails; the listening sockets never close, so clients wait in the backlog
//! instead of being refused.
//!
//! Every state change is a [`PhaseEvent`]; tests and logs subscribe to them.
//!
//! ```no_run
//! # use goshift_supervisor::{Config, Options, Supervisor, BuildFacts};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = Config::load("supervisor.toml".as_ref())?;
//! let options = Options {
//!     home: "/var/lib/goshift".into(),
//!     control: None,
//!     base_env: Vec::new(),
//!     manager_notify: None,
//! };
//! let mut supervisor = Supervisor::new(config, options, &|_| BuildFacts::default())?;
//! let events = supervisor.subscribe();
//! std::thread::spawn(move || events.iter().for_each(|e| eprintln!("{e:?}")));
//! supervisor.run();
//! # Ok(()) }
//! ```
//!
//! # Platform
//!
//! Linux only. The supervisor relies on `prctl(PR_SET_PDEATHSIG)` (children die with it),
//! `close_range` (no descriptor leaks into a service), `SO_PEERCRED` and `SCM_CREDENTIALS`
//! (who may control it and who may say `READY=1`) and `/proc` (descendants, connection
//! counts); other systems have no equivalent of the first two, so building it elsewhere stops
//! with an error saying so.
#![warn(missing_docs)]

#[cfg(not(target_os = "linux"))]
compile_error!(
    "goshift-supervisor runs on Linux only: it needs prctl(PR_SET_PDEATHSIG), close_range, \
     SO_PEERCRED, SCM_CREDENTIALS and /proc (see docs/supervisor.md, \"Platform\")"
);

mod activation;
pub mod analysis;
mod config;
mod control;
mod error;
pub mod handoff;
pub mod incident;
mod listen;
mod machine;
pub mod measure;
mod metrics;
mod notify;
mod output;
mod phase;
mod probe;
mod procfs;
mod release;
mod supervisor;
mod sys;

pub use activation::{ActivationEnv, Inherited};
pub use config::{
    Config, ListenAddress, ListenConfig, ReadyConfig, RestartConfig, ServiceConfig, StopConfig,
    parse_signal,
};
pub use control::{Client, Reply, Request};
pub use error::{ActivationError, ConfigError, ControlError, ReleaseError, StartError};
pub use handoff::ReloadReport;
pub use notify::{NotifyMessage, send_to_manager};
pub use output::{GenerationLog, GenerationOutput, OutputLine, Stream, TAIL_BYTES};
pub use phase::{
    Outcome, Phase, PhaseEvent, Readiness, RollbackReason, ServiceStatus, Trigger, UpgradeResult,
};
pub use release::{BuildFacts, Provenance, Release, ReleaseStore, check_program};
pub use supervisor::{Handle, KEPT_GENERATIONS, Options, Reexec, Supervisor};
pub use sys::SignalSet;

/// Blocks `SIGHUP`, `SIGTERM` and `SIGINT` in the calling thread (and so in every thread it
/// starts later) and delivers them to `handle` from a dedicated thread. Call it before any
/// other thread exists; children get an empty signal mask again.
pub fn forward_signals(handle: Handle) -> std::io::Result<()> {
    let set = SignalSet::new(&[libc::SIGHUP, libc::SIGTERM, libc::SIGINT]);
    set.block()?;
    std::thread::Builder::new()
        .name("signals".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            while let Ok(signal) = set.wait() {
                handle.signal(signal);
            }
        })?;
    Ok(())
}
