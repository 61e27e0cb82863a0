//! A supervisor running on its own thread with a TCP listener on a free loopback port.

use std::cell::RefCell;
use std::io::{IoSliceMut, Read, Write};
use std::net::TcpStream;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::sync::mpsc::Receiver;
use std::thread::JoinHandle;
use std::time::Duration;

use goshift_supervisor::{
    BuildFacts, Config, Handle, Inherited, Options, Outcome, OutputLine, Phase, PhaseEvent,
    Release, ReleaseStore, Reply, Request, Supervisor,
};
use goshift_testkit::service::service_variant;
use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};

pub(crate) const WAIT: Duration = Duration::from_secs(30);

pub(crate) struct Harness {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) handle: Handle,
    pub(crate) events: Receiver<PhaseEvent>,
    /// The children's output lines; nobody reads them unless a test does.
    pub(crate) output: Receiver<OutputLine>,
    pub(crate) port: u16,
    pub(crate) control: PathBuf,
    thread: Option<JoinHandle<()>>,
}

/// A stand-in for systemd: the datagram socket the supervisor reports its state to, and its
/// file-descriptor store.
pub(crate) struct Manager {
    socket: std::os::unix::net::UnixDatagram,
    pub(crate) path: PathBuf,
    /// What arrived with `FDSTORE=1`: `(FDNAME, fd)`.
    stored: RefCell<Vec<(String, OwnedFd)>>,
    _dir: tempfile::TempDir,
}

impl Manager {
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("manager.sock");
        let socket = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
        socket.set_read_timeout(Some(WAIT)).unwrap();
        Self {
            socket,
            path,
            stored: RefCell::new(Vec::new()),
            _dir: dir,
        }
    }

    /// The next message the supervisor sent, after the `FDSTORE=1` ones, which are kept.
    pub(crate) fn told(&self) -> String {
        loop {
            let mut buf = [0_u8; 512];
            let mut iov = [IoSliceMut::new(&mut buf)];
            let mut space = nix::cmsg_space!([RawFd; 4]);
            let message = recvmsg::<()>(
                self.socket.as_raw_fd(),
                &mut iov,
                Some(&mut space),
                MsgFlags::MSG_CMSG_CLOEXEC,
            )
            .unwrap();
            let mut fds = Vec::new();
            for cmsg in message.cmsgs().unwrap() {
                if let ControlMessageOwned::ScmRights(received) = cmsg {
                    fds.extend(received);
                }
            }
            let n = message.bytes;
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            let Some(name) = text.strip_prefix("FDSTORE=1\nFDNAME=").map(str::to_owned) else {
                assert!(fds.is_empty(), "descriptors sent with {text:?}");
                return text;
            };
            assert_eq!(fds.len(), 1, "{text:?} came with {} descriptors", fds.len());
            self.stored.borrow_mut().push((name, take_received(fds[0])));
        }
    }

    /// The next message that changes the unit's state (`READY=1`, `RELOADING=1`,
    /// `STOPPING=1`), skipping the `STATUS=` updates a crash-looping service sends between.
    pub(crate) fn told_state(&self) -> String {
        loop {
            let message = self.told();
            if !message.starts_with("STATUS=") {
                return message;
            }
        }
    }

    /// The descriptors stored so far (those sent before the last message [`told`] returned).
    pub(crate) fn stored(&self) -> Vec<(String, OwnedFd)> {
        std::mem::take(&mut *self.stored.borrow_mut())
    }
}

/// Owns a descriptor the kernel installed for a received `SCM_RIGHTS` message.
#[expect(
    unsafe_code,
    reason = "taking ownership of a descriptor received with SCM_RIGHTS"
)]
fn take_received(fd: RawFd) -> OwnedFd {
    // SAFETY: the kernel just installed `fd` in this process for the message received; nothing
    // else knows it, so this is its only owner.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// Extra settings for the `[services.api]` table.
#[derive(Default)]
pub(crate) struct Setup<'a> {
    pub(crate) first_fault: Option<&'a str>,
    pub(crate) service_lines: &'a str,
    /// Adds a Unix listener `grpc` at `<dir>/api.sock`, mode 0640.
    pub(crate) unix: bool,
    /// The service manager's notify socket the supervisor reports to.
    pub(crate) manager_notify: Option<PathBuf>,
    /// More service tables after `[services.api]`; `{bin}` is replaced with the path of a
    /// crash-at-start variant of the test service.
    pub(crate) more_services: &'a str,
    /// The port of the `http` listener (default: a free one).
    pub(crate) port: Option<u16>,
    /// Sockets passed as the service manager passes them (`LISTEN_FDS`), by name.
    pub(crate) inherited: Vec<(String, OwnedFd)>,
}

/// `lines` plus the test defaults for the keys it does not set.
fn with_defaults(lines: &str) -> String {
    let mut text = lines.to_owned();
    for (key, default) in [
        ("stop", "stop = { grace = \"5s\" }"),
        ("watch", "watch = \"300ms\""),
        ("restart", "restart = { backoff = \"50ms\", max = \"1s\" }"),
    ] {
        if !lines.lines().any(|l| l.trim_start().starts_with(key)) {
            text.push('\n');
            text.push_str(default);
        }
    }
    text
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Harness {
    pub(crate) fn start(setup: Setup<'_>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let v1 = service_variant(dir.path(), "v1", setup.first_fault);
        let port = setup.port.unwrap_or_else(free_port);
        let mut more = setup.more_services.to_owned();
        if more.contains("{bin}") {
            let crashing = service_variant(dir.path(), "crashing", Some("crash-at-start"));
            more = more.replace("{bin}", &crashing.display().to_string());
        }
        let text = format!(
            r#"
[services.api]
binary = "{}"
listen = [{{ name = "http", address = "tcp://127.0.0.1:{port}" }}{}]
{}
{more}
"#,
            v1.display(),
            if setup.unix {
                ", { name = \"grpc\", address = \"unix:api.sock\", mode = \"0640\" }"
            } else {
                ""
            },
            with_defaults(setup.service_lines)
        );
        let config = Config::parse(&text, dir.path()).unwrap();
        let options = Options {
            home: dir.path().join("home"),
            control: None,
            base_env: vec![("PATH".into(), std::env::var_os("PATH").unwrap_or_default())],
            manager_notify: setup.manager_notify.clone(),
        };
        let inherited = Inherited::from_sockets(setup.inherited);
        let mut supervisor =
            Supervisor::activated(config, options, inherited, &|_| BuildFacts::default()).unwrap();
        let events = supervisor.subscribe();
        let output = supervisor.subscribe_output();
        let handle = supervisor.handle();
        let control = supervisor.control_path().to_owned();
        let thread = std::thread::spawn(move || supervisor.run());
        Self {
            dir,
            handle,
            events,
            output,
            port,
            control,
            thread: Some(thread),
        }
    }

    /// `$GOSHIFT_HOME` of this supervisor.
    pub(crate) fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    pub(crate) fn store(&self) -> ReleaseStore {
        ReleaseStore::new(&self.dir.path().join("home"), "api")
    }

    /// Stages a variant of the test service as a release.
    pub(crate) fn stage(&self, name: &str, fault: Option<&str>) -> Release {
        let binary = service_variant(self.dir.path(), name, fault);
        self.store()
            .stage(&binary, BuildFacts::default(), None)
            .unwrap()
    }

    /// Waits for the next event of `phase`, returning it and everything before it.
    pub(crate) fn until(&self, phase: Phase) -> Vec<PhaseEvent> {
        let mut seen = Vec::new();
        loop {
            let event = self
                .events
                .recv_timeout(WAIT)
                .unwrap_or_else(|_| panic!("no {phase:?} phase; saw {seen:#?}"));
            let done = event.phase == phase;
            seen.push(event);
            if done {
                return seen;
            }
        }
    }

    /// Sends an upgrade request and collects its phase events and outcome.
    pub(crate) fn upgrade(&self, release: &str) -> (Vec<Phase>, Outcome) {
        self.finish(self.request_upgrade(release))
    }

    /// Sends an upgrade request; its replies come on the returned channel.
    pub(crate) fn request_upgrade(&self, release: &str) -> Receiver<Reply> {
        self.handle.request(Request::Upgrade {
            service: "api".into(),
            release: release.into(),
            reason: Some("test".into()),
        })
    }

    /// Points `current` at `release` and sends `SIGHUP`.
    pub(crate) fn reload(&self, release: &Release) {
        self.store().set_current(release.id()).unwrap();
        self.handle.signal(libc::SIGHUP);
    }

    pub(crate) fn finish(&self, replies: Receiver<Reply>) -> (Vec<Phase>, Outcome) {
        let mut phases = Vec::new();
        loop {
            match replies.recv_timeout(WAIT).expect("a reply") {
                Reply::Phase { event } => phases.push(event.phase),
                Reply::Outcome { outcome } => return (phases, outcome),
                other => panic!("unexpected reply {other:?}"),
            }
        }
    }

    /// `GET path` on the service's port with a fresh connection.
    pub(crate) fn get(&self, path: &str) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut response = String::new();
        // The service keeps the connection open (keep-alive by default in its loop), so read
        // the headers and the announced body only.
        let mut buf = [0_u8; 4096];
        loop {
            let n = stream.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            response.push_str(&String::from_utf8_lossy(&buf[..n]));
            if let Some((head, body)) = response.split_once("\r\n\r\n") {
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("Content-Length: "))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                if body.len() >= length {
                    return response;
                }
            }
        }
        response
    }

    pub(crate) fn stop(mut self) -> Vec<PhaseEvent> {
        self.handle.signal(libc::SIGTERM);
        let seen = self.until(Phase::Stopped);
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
        seen
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.handle.signal(libc::SIGTERM);
            if let Some(thread) = self.thread.take() {
                let _ = thread.join();
            }
        }
    }
}
