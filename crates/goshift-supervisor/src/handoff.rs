//! The re-exec handoff: a running supervisor passes its listeners and its running generations
//! to a new supervisor process by `execve` in place. The pid stays the same, so the
//! generations remain its children (their exit is still reaped) and a service manager's
//! `MAINPID` does not change.
//!
//! Before the exec, the descriptors to keep (listeners, the control socket, each generation's
//! notify socket and output pipes) lose close-on-exec, and the [`State`] (services, each one's
//! generation, pid, release, restart count, and which descriptor is what) is written as JSON
//! to a sealed memfd whose number is passed in [`ENV_FD`]. Everything else closes with the
//! exec. The new process reads the state, checks every descriptor it names, and adopts.
//!
//! [`plan`] decides what a new service file changes: a service whose settings are equal
//! keeps its generation; a changed one is upgraded in place to its `current` release; a
//! removed one is stopped; an added one is started.

use std::collections::BTreeMap;
use std::ffi::{CString, OsString};
use std::io::{Read, Seek, Write};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::Config;

/// The variable naming the descriptor of the handoff state.
pub const ENV_FD: &str = "GOSHIFT_HANDOFF_FD";

/// What the state says it is; anything else is refused.
const MAGIC: &str = "goshift-supervisor-handoff";

/// The state's format. A new supervisor refuses a version it does not know.
const VERSION: u32 = 1;

/// The largest state read: a few hundred bytes per service.
const MAX_STATE: u64 = 4 * 1024 * 1024;

/// What a reload did, as `goshift supervise --reload` reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReloadReport {
    /// The supervisor's pid, the same before and after.
    pub pid: u32,
    /// The goshift binary running now.
    pub program_path: PathBuf,
    /// The one that ran before (`(deleted)` when it was replaced on disk).
    pub previous_program_path: PathBuf,
    /// The service file loaded.
    pub config_path: PathBuf,
    /// `SIGHUP` or `goshift supervise --reload`.
    pub trigger: String,
    /// Services whose generation was kept.
    pub kept: Vec<Kept>,
    /// Services upgraded by the reload (changed settings, or `current` moved).
    pub upgraded: Vec<String>,
    /// Services the new file added, started.
    pub started: Vec<String>,
    /// Services the new file removed, stopped.
    pub stopped: Vec<String>,
    /// Why a service was not upgraded (rolled back, refused); empty when all went well.
    pub failures: Vec<String>,
}

/// A service whose generation a reload kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kept {
    /// The service.
    pub service: String,
    /// Its generation's pid, the same as before the reload.
    pub pid: u32,
}

/// What a supervisor hands its successor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    magic: String,
    version: u32,
    /// The pid that wrote it: the successor must be the same process.
    pub(crate) pid: u32,
    /// The service file the successor loads.
    pub(crate) config: PathBuf,
    /// The next generation id, so ids are never reused.
    pub(crate) next_generation: u64,
    /// The control socket's listening descriptor.
    pub(crate) control: Option<RawFd>,
    /// Services that keep running, by name.
    pub(crate) services: Vec<ServiceState>,
    /// Generations of services the new file removed: the successor stops them.
    pub(crate) retired: Vec<RetiredState>,
    /// Services whose settings changed: upgraded in place once adopted.
    pub(crate) changed: Vec<String>,
    /// What asked for it (`SIGHUP` or a request), for the log and the reply.
    pub(crate) trigger: String,
    /// The program the predecessor ran, for the report.
    pub(crate) previous_program: PathBuf,
}

/// One service's running generation and its descriptors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ServiceState {
    pub(crate) name: String,
    pub(crate) generation: u64,
    pub(crate) pid: u32,
    pub(crate) release: String,
    /// The release before, for `svc rollback`.
    pub(crate) previous: Option<String>,
    pub(crate) status_text: Option<String>,
    pub(crate) restarts: u64,
    /// `(name, fd, unix path)` of each listener kept.
    pub(crate) listeners: Vec<(String, RawFd, Option<PathBuf>)>,
    /// The generation's notify socket and its path.
    pub(crate) notify: Option<(RawFd, PathBuf)>,
    /// Its stdout and stderr pipes.
    pub(crate) output: Option<(RawFd, RawFd)>,
    pub(crate) admin: Option<SocketAddr>,
}

/// A generation whose service the new file removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RetiredState {
    pub(crate) name: String,
    pub(crate) pid: u32,
    pub(crate) signal: i32,
    pub(crate) grace_ms: u64,
    /// Its stdout and stderr pipes: read to the end, so it can still log while it drains.
    pub(crate) output: Option<(RawFd, RawFd)>,
}

impl State {
    /// An empty state written by `pid` for `config`.
    pub(crate) fn new(pid: u32, config: PathBuf, trigger: String, previous: PathBuf) -> Self {
        Self {
            magic: MAGIC.to_owned(),
            version: VERSION,
            pid,
            config,
            next_generation: 1,
            control: None,
            services: Vec::new(),
            retired: Vec::new(),
            changed: Vec::new(),
            trigger,
            previous_program: previous,
        }
    }

    /// The service file the successor loads.
    pub fn config(&self) -> &Path {
        &self.config
    }

    /// Every descriptor the state names.
    pub(crate) fn fds(&self) -> Vec<RawFd> {
        let mut fds: Vec<RawFd> = self.control.into_iter().collect();
        for service in &self.services {
            fds.extend(service.listeners.iter().map(|(_, fd, _)| *fd));
            fds.extend(service.notify.iter().map(|(fd, _)| *fd));
            fds.extend(service.output.iter().flat_map(|(o, e)| [*o, *e]));
        }
        for retired in &self.retired {
            fds.extend(retired.output.iter().flat_map(|(o, e)| [*o, *e]));
        }
        fds
    }

    /// The state as text.
    pub(crate) fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// A state read back, refused when it is not one this supervisor wrote for `pid`.
    pub(crate) fn decode(bytes: &[u8], pid: u32) -> Result<Self, String> {
        let value: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|e| format!("it is not a goshift handoff state (not JSON: {e})"))?;
        if value.get("magic").and_then(|m| m.as_str()) != Some(MAGIC) {
            return Err("it is not a goshift handoff state (no `magic` naming one)".into());
        }
        let version = value.get("version").and_then(serde_json::Value::as_u64);
        if version != Some(u64::from(VERSION)) {
            return Err(format!(
                "its format version is {}, this goshift reads version {VERSION}; hand off to a goshift of the same format, or restart the supervisor",
                version.map_or_else(|| "missing".to_owned(), |v| v.to_string())
            ));
        }
        let state: Self = serde_json::from_value(value)
            .map_err(|e| format!("the handoff state is malformed: {e}"))?;
        if state.pid != pid {
            return Err(format!(
                "it was written by pid {} for itself, and this is pid {pid}",
                state.pid
            ));
        }
        Ok(state)
    }
}

/// Writes `state` to a sealed memfd that survives `execve`; returns it.
pub(crate) fn write_memfd(state: &State) -> std::io::Result<OwnedFd> {
    let fd = memfd()?;
    let mut file = std::fs::File::from(fd);
    file.write_all(&state.encode())?;
    file.rewind()?;
    seal(&file)?;
    Ok(file.into())
}

/// What a goshift prints when asked for its handoff format (`goshift supervise
/// --handoff-format`): the state's magic and the format version it writes and reads.
pub fn format_line() -> String {
    format!("{MAGIC} {VERSION}")
}

/// Runs `program` with `args`, which make it print its handoff format ([`format_line`]), and
/// refuses a program that prints another, prints nothing or does not end within `timeout`.
/// A successor that could not read the state would end every generation with it, so this
/// runs before the exec, while nothing has changed.
pub(crate) fn check_format(
    program: &Path,
    args: &[OsString],
    timeout: std::time::Duration,
) -> Result<(), String> {
    let shown = program.display();
    let mut child = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("`{shown}` could not be started to ask its handoff format: {e}"))?;
    let deadline = std::time::Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            outcome => {
                let _ = child.kill();
                let _ = child.wait();
                let why = outcome.err().map_or_else(
                    || format!("it did not answer within {} ms", timeout.as_millis()),
                    |e| e.to_string(),
                );
                return Err(format!("`{shown}` was asked its handoff format: {why}"));
            }
        }
    };
    let mut said = String::new();
    if let Some(mut out) = child.stdout.take() {
        let _ = out.read_to_string(&mut said);
    }
    let said = said.trim();
    if status.success() && said == format_line() {
        return Ok(());
    }
    let said = if said.is_empty() {
        format!("nothing ({status})")
    } else {
        format!("`{}`", said.chars().take(80).collect::<String>())
    };
    Err(format!(
        "`{shown}` reads another handoff format: asked, it printed {said} where this supervisor \
         writes `{}`; install a goshift of the same format, or restart the supervisor instead \
         (its services start anew)",
        format_line()
    ))
}

#[expect(unsafe_code, reason = "memfd_create and fcntl on a descriptor we own")]
fn memfd() -> std::io::Result<OwnedFd> {
    // SAFETY: the name is a valid C string; the returned descriptor is new and ours.
    let fd = unsafe { libc::memfd_create(c"goshift-handoff".as_ptr(), libc::MFD_ALLOW_SEALING) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by memfd_create and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

const SEALS: libc::c_int =
    libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;

#[expect(unsafe_code, reason = "fcntl on a descriptor we own")]
fn seal(file: &std::fs::File) -> std::io::Result<()> {
    // SAFETY: F_ADD_SEALS takes an int and touches no memory of ours.
    if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_ADD_SEALS, SEALS) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Reads the state from descriptor `text` (the value of [`ENV_FD`]) and closes it; refused
/// when the descriptor is not a sealed memfd or the state not one for this process.
pub fn read(text: &str) -> Result<State, String> {
    let fd: RawFd = text
        .trim()
        .parse()
        .ok()
        .filter(|fd| *fd > 2)
        .ok_or_else(|| format!("{ENV_FD}={text} is not a descriptor number above 2"))?;
    let file = take_sealed(fd)?;
    let mut bytes = Vec::new();
    file.take(MAX_STATE)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("descriptor {fd} could not be read: {e}"))?;
    State::decode(&bytes, std::process::id())
}

#[expect(
    unsafe_code,
    reason = "taking ownership of the descriptor the predecessor passed"
)]
fn take_sealed(fd: RawFd) -> Result<std::fs::File, String> {
    // SAFETY: F_GET_SEALS reads flags and touches no memory; it fails on a closed descriptor
    // or one that is not a memfd.
    let seals = unsafe { libc::fcntl(fd, libc::F_GET_SEALS) };
    if seals < 0 || seals & libc::F_SEAL_WRITE == 0 {
        return Err(format!(
            "descriptor {fd} is not a sealed memfd written by a goshift supervisor ({})",
            if seals < 0 {
                std::io::Error::last_os_error().to_string()
            } else {
                "it can still be written".to_owned()
            }
        ));
    }
    // SAFETY: the descriptor is open (checked above), passed to this process for this use
    // alone, and read once at start.
    Ok(unsafe { std::fs::File::from_raw_fd(fd) })
}

/// Takes ownership of a descriptor the state names, after checking that it is open; it
/// becomes close-on-exec again.
#[expect(
    unsafe_code,
    reason = "taking ownership of a descriptor the predecessor passed"
)]
pub(crate) fn take_fd(fd: RawFd, what: &str) -> Result<OwnedFd, String> {
    // SAFETY: F_GETFD reads the descriptor's flags; it fails with EBADF when it is closed.
    if fd <= 2 || unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1 {
        return Err(format!(
            "the handoff names descriptor {fd} for {what}, which is not open"
        ));
    }
    // SAFETY: the predecessor passed `fd` for `what` alone and nothing here uses it yet.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    set_cloexec(fd, true).map_err(|e| format!("descriptor {fd} ({what}): {e}"))?;
    Ok(owned)
}

/// Sets or clears close-on-exec on `fd`.
#[expect(unsafe_code, reason = "fcntl on a descriptor the caller owns")]
pub(crate) fn set_cloexec(fd: RawFd, on: bool) -> std::io::Result<()> {
    let flag = if on { libc::FD_CLOEXEC } else { 0 };
    // SAFETY: F_SETFD takes an int and touches no memory of ours.
    if unsafe { libc::fcntl(fd, libc::F_SETFD, flag) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Replaces this process with `program args`, the environment without socket-activation
/// variables (the descriptors they named are handed over by the state) and with [`ENV_FD`]
/// set to `state_fd`. The signal mask is kept, so a signal that arrives meanwhile waits for
/// the successor. Returns only on failure.
#[expect(unsafe_code, reason = "execve")]
pub(crate) fn exec(program: &Path, args: &[OsString], state_fd: RawFd) -> std::io::Error {
    let c = |s: &[u8]| CString::new(s).map_err(|_| std::io::ErrorKind::InvalidInput);
    let strings = || -> Result<(CString, Vec<CString>, Vec<CString>), std::io::ErrorKind> {
        let program = c(program.as_os_str().as_bytes())?;
        let arg_strings = args
            .iter()
            .map(|a| c(a.as_bytes()))
            .collect::<Result<Vec<_>, _>>()?;
        let mut env_strings = Vec::new();
        for (key, value) in std::env::vars_os() {
            if [
                "LISTEN_FDS",
                "LISTEN_PID",
                "LISTEN_FDNAMES",
                "LISTEN_PIDFDID",
                ENV_FD,
            ]
            .iter()
            .any(|own| key == *own)
            {
                continue;
            }
            let mut pair = key.as_bytes().to_vec();
            pair.push(b'=');
            pair.extend_from_slice(value.as_bytes());
            env_strings.push(c(&pair)?);
        }
        env_strings.push(c(format!("{ENV_FD}={state_fd}").as_bytes())?);
        Ok((program, arg_strings, env_strings))
    };
    let (program, arg_strings, env_strings) = match strings() {
        Ok(all) => all,
        Err(kind) => return kind.into(),
    };
    let mut argv_ptrs: Vec<*const libc::c_char> = arg_strings.iter().map(|a| a.as_ptr()).collect();
    argv_ptrs.push(std::ptr::null());
    let mut envp_ptrs: Vec<*const libc::c_char> = env_strings.iter().map(|e| e.as_ptr()).collect();
    envp_ptrs.push(std::ptr::null());
    // SAFETY: every pointer is to a NUL-terminated string kept alive above, and both arrays
    // end with a null pointer, as execve requires.
    unsafe { libc::execve(program.as_ptr(), argv_ptrs.as_ptr(), envp_ptrs.as_ptr()) };
    std::io::Error::last_os_error()
}

/// Waits for child `pid` and says how it ended, as the standard library's exit status
/// reads; a child reaped before the handoff (by the predecessor's reaper thread, just
/// before the exec) is accounted as exited with its status lost.
#[expect(unsafe_code, reason = "waitpid on a child of this process")]
pub(crate) fn wait(pid: u32) -> String {
    use std::os::unix::process::ExitStatusExt as _;
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return format!("pid {pid} is out of range");
    };
    let mut status = 0;
    loop {
        // SAFETY: `status` is a valid int to write to; waitpid touches nothing else.
        let done = unsafe { libc::waitpid(pid, &raw mut status, 0) };
        if done == pid {
            return std::process::ExitStatus::from_raw(status).to_string();
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            return format!(
                "exited during the supervisor's re-exec; its exit status was lost ({error})"
            );
        }
    }
}

/// Stops the generation of a service the new file removed, on a thread: its stop signal,
/// `SIGKILL` after its grace period, and reaping. Its output is read and dropped, so a
/// service that logs while it drains does not die of a closed pipe.
pub(crate) fn retire(retired: &RetiredState) -> Result<(), String> {
    let output = retired
        .output
        .map(|(o, e)| Ok::<_, String>((take_fd(o, "a stdout pipe")?, take_fd(e, "a stderr pipe")?)))
        .transpose()?;
    let (pid, signal) = (retired.pid, retired.signal);
    let grace = std::time::Duration::from_millis(retired.grace_ms);
    if let Some((out, err)) = output {
        for pipe in [out, err] {
            let _ = std::thread::Builder::new()
                .name("retired-output".into())
                .stack_size(64 * 1024)
                .spawn(move || {
                    let _ = std::io::copy(&mut std::fs::File::from(pipe), &mut std::io::sink());
                });
        }
    }
    crate::sys::kill(pid, signal);
    std::thread::Builder::new()
        .name("retired-reaper".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let _ = tx.send(wait(pid));
            });
            if rx.recv_timeout(grace).is_err() {
                crate::sys::kill(pid, libc::SIGKILL);
            }
        })
        .map(drop)
        .map_err(|e| format!("the thread stopping pid {pid}: {e}"))
}

/// What a new service file changes, service by service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Same settings: the generation is kept.
    pub keep: Vec<String>,
    /// Settings changed: upgraded in place to `current` with the new settings.
    pub upgrade: Vec<String>,
    /// Not in the new file: stopped.
    pub stop: Vec<String>,
    /// New in the file: started.
    pub start: Vec<String>,
}

/// Compares the running file with the new one; refuses what a reload cannot apply.
pub fn plan(old: &Config, new: &Config) -> Result<Plan, String> {
    if old.control != new.control {
        return Err(
            "the new service file moves the control socket (`control`), which a reload cannot do: the client asking for the reload talks to the old one; restart the supervisor instead"
                .into(),
        );
    }
    let mut plan = Plan::default();
    for (name, service) in &new.services {
        match old.services.get(name) {
            None => plan.start.push(name.clone()),
            Some(running) if running == service => plan.keep.push(name.clone()),
            Some(_) => plan.upgrade.push(name.clone()),
        }
    }
    plan.stop = old
        .services
        .keys()
        .filter(|name| !new.services.contains_key(*name))
        .cloned()
        .collect();
    Ok(plan)
}

/// Listeners of `new` that a running service can hand over: same service, same name, same
/// address. The others are closed (removed) or bound anew (added, moved).
pub(crate) fn kept_listeners(old: &Config, new: &Config) -> BTreeMap<String, Vec<String>> {
    let mut kept = BTreeMap::new();
    for (name, service) in &new.services {
        let Some(running) = old.services.get(name) else {
            continue;
        };
        let names = service
            .listen
            .iter()
            .filter(|l| running.listen.contains(l))
            .map(|l| l.name.clone())
            .collect();
        kept.insert(name.clone(), names);
    }
    kept
}

#[cfg(test)]
mod tests;
