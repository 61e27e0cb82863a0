//! The driver's side of the re-exec handoff ([`crate::handoff`]): handing everything to a
//! new supervisor process on `SIGHUP` or `goshift supervise --reload`, and adopting it in
//! that process.

use std::ffi::OsString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;

use crate::activation::{Inherited, store_name};
use crate::config::Config;
use crate::control::Reply;
use crate::error::StartError;
use crate::handoff::{self, Kept, ReloadReport, RetiredState, ServiceState, State};
use crate::machine::{Adopted, Input, Rules};
use crate::phase::{Phase, PhaseEvent, Trigger};
use crate::release::{self, BuildFacts, Release};

use super::generation::Launch;
use super::{Options, Supervisor};

/// How a supervisor re-executes itself to hand over to a new process.
#[derive(Debug, Clone)]
pub struct Reexec {
    /// The goshift binary's path, executed at each reload: an upgraded binary put there runs
    /// next (`/proc/self/exe` would be the old one).
    pub program: PathBuf,
    /// The arguments, the program name first; the new process finds the service file in the
    /// handed state, not here.
    pub args: Vec<OsString>,
    /// The service file running now (absolute), which `SIGHUP` reloads.
    pub config: PathBuf,
    /// Arguments that make `program` print its handoff format
    /// ([`handoff::format_line`](crate::handoff::format_line)), asked before each exec: a
    /// program that answers another is refused while nothing has changed. `None` skips the
    /// question (a host program that is not goshift).
    pub format_args: Option<Vec<OsString>>,
}

/// A reload this process came from, and who waits for its end.
#[derive(Debug)]
pub(super) struct Resumed {
    report: ReloadReport,
    waiters: Vec<Sender<Reply>>,
    /// The upgrades it asked for were handed to the core.
    begun: bool,
}

/// How long a goshift binary may take to say its handoff format.
const FORMAT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

fn handoff_error(message: String) -> StartError {
    StartError::Handoff { message }
}

impl Supervisor {
    /// Lets `SIGHUP` and reload requests re-execute `reexec` (without it, `SIGHUP` only
    /// upgrades to the `current` releases and a reload request is refused).
    pub fn reexec(&mut self, reexec: Reexec) {
        if let Some(resumed) = &mut self.resumed {
            resumed.report.program_path.clone_from(&reexec.program);
        }
        self.reexec = Some(reexec);
    }

    /// A supervisor that takes over what its predecessor (this same process, before
    /// `execve`) handed over in `state`; `config` is the service file `state` names.
    pub fn adopt(
        config: Config,
        options: Options,
        state: &State,
        facts: &dyn Fn(&Path) -> BuildFacts,
    ) -> Result<Self, StartError> {
        let mut handed = Vec::new();
        for service in &state.services {
            for (name, fd, _) in &service.listeners {
                let fd =
                    handoff::take_fd(*fd, &format!("listener {name}")).map_err(handoff_error)?;
                handed.push((store_name(&service.name, name), fd));
            }
        }
        let control = state
            .control
            .map(|fd| handoff::take_fd(fd, "the control socket"))
            .transpose()
            .map_err(handoff_error)?
            .map(std::os::unix::net::UnixListener::from);
        let (mut supervisor, machines) = Self::assemble(
            config,
            options,
            Inherited::from_sockets(handed),
            facts,
            control,
        )?;
        supervisor
            .take_over(state, machines)
            .map_err(handoff_error)?;
        Ok(supervisor)
    }

    /// Adopts the generations of `state` and builds the core around them.
    fn take_over(&mut self, state: &State, machines: Vec<(Rules, Release)>) -> Result<(), String> {
        let mut adopted = Vec::new();
        let mut report = ReloadReport {
            pid: std::process::id(),
            previous_program_path: state.previous_program.clone(),
            config_path: state.config.clone(),
            trigger: state.trigger.clone(),
            ..ReloadReport::default()
        };
        for index in 0..self.services.len() {
            let name = self.services[index].config.name.clone();
            let Some(handed) = state.services.iter().find(|s| s.name == name) else {
                report.started.push(name);
                adopted.push(None);
                continue;
            };
            adopted.push(Some(self.adopt_generation(index, handed, state)?));
            if !state.changed.contains(&name) {
                report.kept.push(Kept {
                    service: name,
                    pid: handed.pid,
                });
            }
        }
        for retired in &state.retired {
            handoff::retire(retired)?;
            report.stopped.push(retired.name.clone());
        }
        // An adopted service restarts with the release it runs.
        let machines = machines
            .into_iter()
            .zip(&adopted)
            .map(|((rules, first), a)| {
                (
                    rules,
                    a.as_ref().map_or(first, |a| a.running.release.clone()),
                )
            })
            .collect();
        self.core =
            crate::machine::Core::adopt(machines, adopted, state.next_generation, super::now());
        self.resumed = Some(Resumed {
            report,
            waiters: Vec::new(),
            begun: false,
        });
        Ok(())
    }

    fn adopt_generation(
        &mut self,
        index: usize,
        handed: &ServiceState,
        state: &State,
    ) -> Result<Adopted, String> {
        let io = &mut self.services[index];
        for (name, _, path) in &handed.listeners {
            if let Some(listener) = io.listeners.iter_mut().find(|l| l.name == *name) {
                listener.unix_path.clone_from(path);
            }
        }
        let release = |id: &str| {
            io.store
                .get(id)
                .map_err(|e| format!("service `{}`: release {id}: {e}", handed.name))
        };
        let running = crate::machine::Running {
            generation: handed.generation,
            pid: handed.pid,
            release: release(&handed.release)?,
            previous: handed.previous.as_deref().map(release).transpose()?,
            status_text: handed.status_text.clone(),
            restarts: handed.restarts,
        };
        let io = &self.services[index];
        let launch = Launch {
            service_index: index,
            config: &io.config,
            listeners: &io.listeners,
            run_dir: &self.run_dir,
            base_env: &self.base_env,
            events: &self.events,
            sink: &io.sink,
        };
        let process = launch.adopt(handed)?;
        let io = &mut self.services[index];
        io.outputs
            .push_back(std::sync::Arc::clone(&process.capture));
        self.processes.insert(handed.generation, process);
        Ok(Adopted {
            running,
            changed: state.changed.contains(&handed.name),
        })
    }

    /// Once running after a handoff: the reload's upgrades (changed settings, `current`
    /// moved) begin, and `READY=1` follows their end.
    pub(super) fn resume_reload(&mut self) {
        let Some(resumed) = &mut self.resumed else {
            return;
        };
        if !resumed.begun {
            resumed.begun = true;
            self.feed(Input::Reload(self.reload_targets()));
        }
    }

    /// `SIGHUP`: a re-exec with the running service file and binary, which then upgrades
    /// the services whose `current` moved. Without a re-exec (a library caller), or when it
    /// cannot happen, only the upgrades, and `STATUS=` says why the re-exec did not.
    pub(super) fn on_sighup(&mut self) {
        if let Some(config) = self.reexec.as_ref().map(|r| r.config.clone()) {
            let error = self.hand_off(&config, "SIGHUP");
            self.core.reload_failed(format!("no re-exec: {error}"));
        }
        self.feed(Input::Reload(self.reload_targets()));
    }

    /// `goshift supervise --reload [FILE]`: the reply comes only on failure; on success the
    /// connection closes with the exec and the client asks the new process for the report.
    pub(super) fn on_reload(&mut self, config: Option<PathBuf>, reply: &Sender<Reply>) {
        let Some(running) = self.reexec.as_ref().map(|r| r.config.clone()) else {
            let _ = reply.send(Reply::Error {
                message: "this supervisor runs inside another program and cannot re-execute itself; restart that program instead".into(),
            });
            return;
        };
        let path = config.unwrap_or(running);
        let error = self.hand_off(&path, "goshift supervise --reload");
        let _ = reply.send(Reply::Error {
            message: format!("the reload did not happen and nothing changed: {error}"),
        });
    }

    /// The report of the reload this process came from, once its upgrades ended.
    pub(super) fn on_reloaded(&mut self, reply: Sender<Reply>) {
        match &mut self.resumed {
            Some(resumed) => resumed.waiters.push(reply),
            None => {
                let _ = reply.send(Reply::Error {
                    message: "this supervisor process did not start from a reload (it was started, not re-executed)".into(),
                });
            }
        }
        self.answer_reloaded();
    }

    /// Answers those who wait for the reload's report once it is over.
    pub(super) fn answer_reloaded(&mut self) {
        if self.core.reloading() {
            return;
        }
        if let Some(resumed) = &mut self.resumed
            && resumed.begun
        {
            for waiter in resumed.waiters.drain(..) {
                let _ = waiter.send(Reply::Reloaded {
                    report: resumed.report.clone(),
                });
            }
        }
    }

    /// Notes what a reload's upgrades did, for its report.
    pub(super) fn note_reload(&mut self, event: &PhaseEvent) {
        let Some(resumed) = &mut self.resumed else {
            return;
        };
        let report = &mut resumed.report;
        let detail = event.detail.clone().unwrap_or_default();
        match (event.trigger, event.phase) {
            (Some(Trigger::Reload), Phase::Upgraded) => report.upgraded.push(event.service.clone()),
            (Some(Trigger::Reload), Phase::RolledBack) => report
                .failures
                .push(format!("{}: rolled back ({detail})", event.service)),
            (None, _) if detail.starts_with("SIGHUP: not upgraded") => {
                report.failures.push(format!("{}: {detail}", event.service));
            }
            _ => {}
        }
    }

    /// Hands everything to a new process of the goshift binary; returns only why not.
    fn hand_off(&mut self, path: &Path, trigger: &str) -> String {
        let (state, memfd) = match self.handoff_state(path, trigger) {
            Ok(prepared) => prepared,
            Err(error) => return error,
        };
        let Some(reexec) = &self.reexec else {
            return "no program to re-execute".into();
        };
        let mut fds = state.fds();
        fds.push(memfd.as_raw_fd());
        let restore = |fds: &[i32]| {
            for fd in fds {
                let _ = handoff::set_cloexec(*fd, true);
            }
        };
        for (done, fd) in fds.iter().enumerate() {
            if let Err(error) = handoff::set_cloexec(*fd, false) {
                restore(&fds[..done]);
                return format!("descriptor {fd} could not be kept across the exec: {error}");
            }
        }
        let dropped = self.unstore_dropped(&state);
        let error = handoff::exec(&reexec.program, &reexec.args, memfd.as_raw_fd());
        restore(&fds);
        self.restore_dropped(&dropped);
        format!(
            "executing `{}` failed: {error}; the running supervisor carries on unchanged",
            reexec.program.display()
        )
    }

    /// Checks the new file, the plan and the binary, and writes the state to hand over.
    fn handoff_state(&self, path: &Path, trigger: &str) -> Result<(State, OwnedFd), String> {
        let reexec = self.reexec.as_ref().ok_or("no program to re-execute")?;
        // A child's parent is the thread that forked it: any other thread dies at the exec,
        // and the children's parent-death signal with it.
        if nix::unistd::gettid() != nix::unistd::getpid() {
            return Err("the supervisor runs on a thread other than the process's main one, so its children would die with the exec; run `Supervisor::run` on the main thread, or restart the supervisor instead".into());
        }
        let new = Config::load(path)
            .map_err(|e| format!("the service file `{}` is not valid: {e}", path.display()))?;
        let plan = handoff::plan(&self.config, &new)?;
        let running = self.core.handoff_ready()?;
        self.preflight(&new, &plan)?;
        release::check_program(&reexec.program).map_err(|e| {
            format!(
                "the goshift binary `{}` cannot be run: {e}",
                reexec.program.display()
            )
        })?;
        if let Some(args) = &reexec.format_args {
            handoff::check_format(&reexec.program, args, FORMAT_TIMEOUT)?;
        }
        let previous = std::fs::read_link("/proc/self/exe").unwrap_or_default();
        let mut state = State::new(
            std::process::id(),
            path.to_owned(),
            trigger.into(),
            previous,
        );
        state.next_generation = self.core.next_generation();
        state.control = self.control_fd;
        state.changed.clone_from(&plan.upgrade);
        let kept = handoff::kept_listeners(&self.config, &new);
        for (io, run) in self.services.iter().zip(&running) {
            let name = &io.config.name;
            let process = self.processes.get(&run.generation);
            if plan.stop.contains(name) {
                state.retired.push(RetiredState {
                    name: name.clone(),
                    pid: run.pid,
                    signal: io.config.stop.signal,
                    grace_ms: u64::try_from(io.config.stop.grace.as_millis()).unwrap_or(u64::MAX),
                    output: process.and_then(|p| p.output_fds),
                });
                continue;
            }
            let listeners = kept.get(name).map_or(&[][..], Vec::as_slice);
            state
                .services
                .push(service_state(io, run, process, listeners));
        }
        let memfd = handoff::write_memfd(&state)
            .map_err(|e| format!("the handoff state could not be written: {e}"))?;
        Ok((state, memfd))
    }
}

impl Supervisor {
    /// Takes the listeners not handed over (removed, moved) out of the service manager's
    /// file-descriptor store, so a later restart is not given a stale socket under a name the
    /// new file uses. Returns them, `(index of the service, of the listener, store name)`.
    fn unstore_dropped(&self, state: &State) -> Vec<(usize, usize, String)> {
        let Some(manager) = &self.manager_notify else {
            return Vec::new();
        };
        let mut dropped = Vec::new();
        for (index, io) in self.services.iter().enumerate() {
            let handed = state.services.iter().find(|s| s.name == io.config.name);
            for (at, listener) in io.listeners.iter().enumerate() {
                if handed.is_some_and(|h| h.listeners.iter().any(|(n, _, _)| *n == listener.name)) {
                    continue;
                }
                let name = store_name(&io.config.name, &listener.name);
                let _ = crate::notify::send_to_manager(
                    manager,
                    &format!("FDSTOREREMOVE=1\nFDNAME={name}"),
                );
                dropped.push((index, at, name));
            }
        }
        dropped
    }

    /// The exec failed: the listeners taken out of the store go back in.
    fn restore_dropped(&self, dropped: &[(usize, usize, String)]) {
        if let Some(manager) = &self.manager_notify {
            for (index, at, name) in dropped {
                let fd = &self.services[*index].listeners[*at].fd;
                let _ = crate::notify::store_with_manager(manager, name, fd);
            }
        }
    }

    /// What the new process will start or bind, tried here first: a release that cannot run
    /// or an address that cannot be bound refuses the reload instead of ending the new
    /// process (and every generation with it).
    fn preflight(&self, new: &Config, plan: &handoff::Plan) -> Result<(), String> {
        let kept = handoff::kept_listeners(&self.config, new);
        for (name, service) in &new.services {
            if plan.start.contains(name) || plan.upgrade.contains(name) {
                let store = release::ReleaseStore::new(&self.home, name);
                let binary = match store.current() {
                    Ok(Some(current)) => current.binary,
                    _ => service.binary.clone(),
                };
                release::check_program(&binary)
                    .map_err(|e| format!("service `{name}` could not start: {e}"))?;
            }
            let held = kept.get(name).map_or(&[][..], Vec::as_slice);
            for listener in service.listen.iter().filter(|l| !held.contains(&l.name)) {
                crate::listen::bind(name, listener).map_err(|e| {
                    let cause = std::error::Error::source(&e)
                        .map_or_else(String::new, |c| format!(": {c}"));
                    format!("{e}{cause}")
                })?;
            }
        }
        Ok(())
    }
}

/// What is handed over of a service that keeps running: its generation, and the listeners
/// named in `kept`.
fn service_state(
    io: &super::ServiceIo,
    run: &crate::machine::Running,
    process: Option<&super::generation::Process>,
    kept: &[String],
) -> ServiceState {
    ServiceState {
        name: io.config.name.clone(),
        generation: run.generation,
        pid: run.pid,
        release: run.release.id().to_owned(),
        previous: run.previous.as_ref().map(|r| r.id().to_owned()),
        status_text: run.status_text.clone(),
        restarts: run.restarts,
        listeners: io
            .listeners
            .iter()
            .filter(|l| kept.contains(&l.name))
            .map(|l| (l.name.clone(), l.raw(), l.unix_path.clone()))
            .collect(),
        notify: process.and_then(|p| p.notify_fd.clone()),
        output: process.and_then(|p| p.output_fds),
        admin: process.and_then(|p| p.admin),
    }
}
