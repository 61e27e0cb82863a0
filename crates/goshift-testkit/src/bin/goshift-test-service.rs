//! A small HTTP service for supervisor tests: it takes its listeners from systemd socket
//! activation (`LISTEN_FDS`, `LISTEN_PID`, `LISTEN_FDNAMES`), says `READY=1` on
//! `NOTIFY_SOCKET`, serves `/healthz`, `/` (variant, pid, counter) and `/fds` (its open file
//! descriptors), and drains on SIGTERM.
//!
//! Fault modes come from `GOSHIFT_TEST_FAULT` or from a trailer appended to the binary
//! itself (see `goshift_testkit::service`), so a "faulty build" is a different binary:
//! `crash-at-start`, `never-ready`, `ready-then-panic`, `ignore-sigterm`, `slow-drain`,
//! `bind-own-port`, `5xx`, `ready-5xx` (says `READY=1`, then answers every request with a
//! 500), `accept-nothing` (says `READY=1` and never accepts on the service's sockets), `systemd-notify` (readiness through the `systemd-notify` tool),
//! `slow-start` (ready after `GOSHIFT_TEST_START_MS`), `slow-start-extend` (the same, after
//! asking for more time with `EXTEND_TIMEOUT_USEC`).
#![expect(
    clippy::print_stderr,
    reason = "a test program reporting its own failures"
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{FromRawFd, IntoRawFd};
use std::os::unix::net::{UnixDatagram, UnixListener, UnixStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

/// An inherited listening socket: TCP or Unix.
#[derive(Debug)]
enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener),
}

/// An accepted connection.
#[derive(Debug)]
enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Stream {
    fn try_clone(&self) -> std::io::Result<Self> {
        Ok(match self {
            Self::Tcp(s) => Self::Tcp(s.try_clone()?),
            Self::Unix(s) => Self::Unix(s.try_clone()?),
        })
    }

    fn set_read_timeout(&self, timeout: Option<Duration>) -> std::io::Result<()> {
        match self {
            Self::Tcp(s) => s.set_read_timeout(timeout),
            Self::Unix(s) => s.set_read_timeout(timeout),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Self::Tcp(s) => s.read(buf),
            Self::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Self::Tcp(s) => s.write(buf),
            Self::Unix(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[derive(Debug, Default)]
struct Shared {
    draining: AtomicBool,
    requests: AtomicU64,
    open_connections: AtomicUsize,
    fault: String,
    variant: String,
}

fn main() {
    let (variant, trailer_fault) = read_trailer();
    let fault = std::env::var("GOSHIFT_TEST_FAULT")
        .ok()
        .filter(|f| !f.is_empty())
        .or(trailer_fault)
        .unwrap_or_default();
    if fault == "crash-at-start" {
        eprintln!("test service: crashing at start as asked");
        std::process::exit(3);
    }
    let listeners = match inherited_listeners() {
        Ok(listeners) => listeners,
        Err(message) => {
            eprintln!("test service: {message}");
            std::process::exit(4);
        }
    };
    if fault == "bind-own-port"
        && let Some(error) = bind_own_port(&listeners)
    {
        eprintln!("test service: {error}");
        std::process::exit(5);
    }
    let shared = Arc::new(Shared {
        fault: fault.clone(),
        variant,
        ..Shared::default()
    });
    block_signals();
    let (acceptors, idle) = start_accepting(listeners, &shared);
    if fault == "slow-start" || fault == "slow-start-extend" {
        if fault == "slow-start-extend" {
            notify("EXTEND_TIMEOUT_USEC=10000000\nSTATUS=warming up");
        }
        std::thread::sleep(milliseconds_from_env("GOSHIFT_TEST_START_MS", 600));
    }
    announce_ready(&fault);
    if fault == "ready-then-panic" {
        std::thread::sleep(milliseconds_from_env("GOSHIFT_TEST_PANIC_AFTER_MS", 100));
        eprintln!("test service: panicking after ready as asked");
        std::process::exit(101);
    }
    wait_for_stop(&shared);
    drop(idle);
    shared.draining.store(true, Ordering::SeqCst);
    for acceptor in acceptors {
        let _ = acceptor.join();
    }
    while shared.open_connections.load(Ordering::SeqCst) > 0 {
        std::thread::sleep(Duration::from_millis(5));
    }
    if fault == "slow-drain" {
        std::thread::sleep(milliseconds_from_env("GOSHIFT_TEST_DRAIN_MS", 300));
    }
}

/// A service that ignores the inherited socket and binds the same address itself: the
/// error binding it, if any.
fn bind_own_port(listeners: &[(String, Listener)]) -> Option<String> {
    let (_, Listener::Tcp(listener)) = listeners.iter().find(|(name, _)| name != "admin")? else {
        return None;
    };
    let address = listener.local_addr().ok()?;
    TcpListener::bind(address)
        .err()
        .map(|error| format!("bind {address}: {error}"))
}

/// One accepting thread per listener; with `accept-nothing`, the service's own sockets are
/// returned instead, held open and never accepted on.
fn start_accepting(
    listeners: Vec<(String, Listener)>,
    shared: &Arc<Shared>,
) -> (Vec<std::thread::JoinHandle<()>>, Vec<Listener>) {
    let mut acceptors = Vec::new();
    let mut idle = Vec::new();
    for (name, listener) in listeners {
        if shared.fault == "accept-nothing" && name != "admin" {
            idle.push(listener);
            continue;
        }
        let shared = Arc::clone(shared);
        acceptors.push(std::thread::spawn(move || accept_loop(&listener, &shared)));
    }
    (acceptors, idle)
}

fn announce_ready(fault: &str) {
    match fault {
        "never-ready" | "5xx" => {}
        "systemd-notify" => {
            let status = std::process::Command::new("systemd-notify")
                .arg("--ready")
                .status();
            if !status.as_ref().is_ok_and(std::process::ExitStatus::success) {
                eprintln!("test service: systemd-notify --ready failed: {status:?}");
            }
        }
        _ => notify("READY=1\nSTATUS=serving"),
    }
}

fn milliseconds_from_env(var: &str, default: u64) -> Duration {
    let ms = std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    Duration::from_millis(ms)
}

/// `(variant, fault)` from a `#goshift-test-variant name=… fault=…` line at the end of our
/// own executable.
fn read_trailer() -> (String, Option<String>) {
    let Ok(bytes) = std::fs::read("/proc/self/exe") else {
        return ("base".into(), None);
    };
    let tail = &bytes[bytes.len().saturating_sub(512)..];
    let text = String::from_utf8_lossy(tail);
    let Some(line) = text
        .rsplit("#goshift-test-variant ")
        .next()
        .filter(|_| text.contains("#goshift-test-variant "))
    else {
        return ("base".into(), None);
    };
    let mut variant = "base".to_owned();
    let mut fault = None;
    for field in line.split_whitespace() {
        if let Some(v) = field.strip_prefix("name=") {
            v.clone_into(&mut variant);
        } else if let Some(f) = field.strip_prefix("fault=") {
            fault = Some(f.to_owned()).filter(|f| !f.is_empty());
        }
    }
    (variant, fault)
}

#[expect(
    unsafe_code,
    reason = "adopting inherited fds and marking them close-on-exec"
)]
fn inherited_listeners() -> Result<Vec<(String, Listener)>, String> {
    let pid: u32 = std::env::var("LISTEN_PID")
        .map_err(|_| "LISTEN_PID is not set".to_owned())?
        .parse()
        .map_err(|_| "LISTEN_PID is not a number".to_owned())?;
    if pid != std::process::id() {
        return Err(format!(
            "LISTEN_PID is {pid}, but this process is {}",
            std::process::id()
        ));
    }
    let count: i32 = std::env::var("LISTEN_FDS")
        .map_err(|_| "LISTEN_FDS is not set".to_owned())?
        .parse()
        .map_err(|_| "LISTEN_FDS is not a number".to_owned())?;
    let names: Vec<String> = std::env::var("LISTEN_FDNAMES")
        .unwrap_or_default()
        .split(':')
        .map(ToOwned::to_owned)
        .collect();
    let mut listeners = Vec::new();
    for i in 0..count {
        let fd = 3 + i;
        // SAFETY: fds 3..3+LISTEN_FDS are ours by the socket-activation protocol.
        unsafe {
            libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
        }
        // SAFETY: as above; each fd is adopted exactly once.
        let tcp = unsafe { TcpListener::from_raw_fd(fd) };
        // A Unix socket has no inet address; adopt it as what it is.
        let listener = if tcp.local_addr().is_ok() {
            Listener::Tcp(tcp)
        } else {
            // SAFETY: the same fd, handed over from the TcpListener wrapper.
            Listener::Unix(unsafe { UnixListener::from_raw_fd(tcp.into_raw_fd()) })
        };
        let name = names
            .get(usize::try_from(i).unwrap_or(0))
            .cloned()
            .unwrap_or_else(|| format!("fd{fd}"));
        listeners.push((name, listener));
    }
    Ok(listeners)
}

fn notify(message: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    if let Ok(socket) = UnixDatagram::unbound()
        && let Err(error) = socket.send_to(message.as_bytes(), path)
    {
        eprintln!("test service: notify: {error}");
    }
}

#[expect(unsafe_code, reason = "signal mask for sigwait")]
fn block_signals() {
    // SAFETY: building and installing a signal mask for this thread and its future threads.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&raw mut set);
        libc::sigaddset(&raw mut set, libc::SIGTERM);
        libc::sigaddset(&raw mut set, libc::SIGINT);
        libc::pthread_sigmask(libc::SIG_BLOCK, &raw const set, std::ptr::null_mut());
    }
}

#[expect(unsafe_code, reason = "sigwait")]
fn wait_for_stop(shared: &Shared) {
    loop {
        let mut signal = 0;
        // SAFETY: a valid, blocked set and an int to write to.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&raw mut set);
            libc::sigaddset(&raw mut set, libc::SIGTERM);
            libc::sigaddset(&raw mut set, libc::SIGINT);
            libc::sigwait(&raw const set, &raw mut signal);
        }
        if shared.fault == "ignore-sigterm" && signal == libc::SIGTERM {
            eprintln!("test service: ignoring SIGTERM as asked");
            continue;
        }
        return;
    }
}

fn accept_loop(listener: &Listener, shared: &Arc<Shared>) {
    // Non-blocking accept with a short poll, so a drain is noticed; the listener is shared
    // with other generations, so a blocking accept could wait for a connection another
    // process took.
    let _ = match listener {
        Listener::Tcp(l) => l.set_nonblocking(true),
        Listener::Unix(l) => l.set_nonblocking(true),
    };
    while !shared.draining.load(Ordering::SeqCst) {
        let accepted = match listener {
            Listener::Tcp(l) => l.accept().and_then(|(s, _)| {
                s.set_nonblocking(false)?;
                Ok(Stream::Tcp(s))
            }),
            Listener::Unix(l) => l.accept().and_then(|(s, _)| {
                s.set_nonblocking(false)?;
                Ok(Stream::Unix(s))
            }),
        };
        match accepted {
            Ok(stream) => {
                shared.open_connections.fetch_add(1, Ordering::SeqCst);
                let shared = Arc::clone(shared);
                std::thread::spawn(move || {
                    serve(stream, &shared);
                    shared.open_connections.fetch_sub(1, Ordering::SeqCst);
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(2)),
        }
    }
}

fn serve(stream: Stream, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(Duration::from_millis(20)));
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        loop {
            match reader.read_line(&mut line) {
                Ok(0) => return,
                Ok(_) if line.ends_with('\n') => break,
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    if line.is_empty() && shared.draining.load(Ordering::SeqCst) {
                        return;
                    }
                }
                Err(_) => return,
            }
        }
        let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
        let mut content_length = 0;
        loop {
            let mut header = String::new();
            match reader.read_line(&mut header) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    continue;
                }
                Err(_) => return,
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((k, v)) = header.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                content_length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0_u8; content_length];
        let _ = reader.read_exact(&mut body);
        let (status, text) = respond(&path, shared);
        let close = shared.draining.load(Ordering::SeqCst);
        let response = format!(
            "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n{}\r\n{text}",
            text.len(),
            if close { "Connection: close\r\n" } else { "" }
        );
        if writer.write_all(response.as_bytes()).is_err() || close {
            return;
        }
    }
}

fn respond(path: &str, shared: &Shared) -> (&'static str, String) {
    if shared.fault == "5xx" || shared.fault == "ready-5xx" {
        return ("500 Internal Server Error", "failing as asked\n".into());
    }
    match path {
        "/healthz" if shared.fault == "never-ready" => {
            ("503 Service Unavailable", "not ready\n".into())
        }
        "/healthz" => ("200 OK", "ok\n".into()),
        "/fds" => {
            let mut fds: Vec<String> = std::fs::read_dir("/proc/self/fd")
                .map(|entries| {
                    entries
                        .filter_map(Result::ok)
                        .filter_map(|e| {
                            let target = std::fs::read_link(e.path()).ok()?;
                            Some(format!(
                                "{} {}",
                                e.file_name().to_string_lossy(),
                                target.display()
                            ))
                        })
                        .collect()
                })
                .unwrap_or_default();
            fds.sort();
            ("200 OK", fds.join("\n") + "\n")
        }
        _ => {
            let n = shared.requests.fetch_add(1, Ordering::SeqCst) + 1;
            (
                "200 OK",
                format!(
                    "variant={} pid={} count={n}\n",
                    shared.variant,
                    std::process::id()
                ),
            )
        }
    }
}
