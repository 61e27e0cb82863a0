//! The re-exec handoff with real processes: a supervisor process (this test binary, started
//! with `GOSHIFT_TEST_HOST_CONFIG`) re-executes itself on a reload request; its generation
//! keeps its pid and keeps serving on the listener, a changed service file is applied, and a
//! bad one changes nothing.
//!
//! No libtest harness: the supervisor must run on the main thread, the one that forks the
//! children and calls `execve` (a child's parent is the thread that forked it; any other
//! thread dies at the exec, and the children with it).
#![expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
#![expect(clippy::print_stderr, reason = "the test runner's report")]

use std::ffi::OsString;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use goshift_supervisor::handoff;
use goshift_supervisor::{
    BuildFacts, Client, Config, Options, Readiness, Reexec, ReleaseStore, ReloadReport, Reply,
    Request, ServiceStatus, Supervisor,
};
use goshift_testkit::service::service_variant;

const WAIT: Duration = Duration::from_secs(30);

const HOST_CONFIG: &str = "GOSHIFT_TEST_HOST_CONFIG";
const HOST_HOME: &str = "GOSHIFT_TEST_HOST_HOME";
const HOST_PROGRAM: &str = "GOSHIFT_TEST_HOST_PROGRAM";

const TESTS: [(&str, fn()); 3] = [
    (
        "a_reexec_keeps_the_generation_serving_on_its_listener",
        a_reexec_keeps_the_generation_serving_on_its_listener,
    ),
    (
        "a_reload_applies_a_changed_service_file_and_refuses_a_bad_one",
        a_reload_applies_a_changed_service_file_and_refuses_a_bad_one,
    ),
    (
        "a_reload_whose_binary_cannot_run_leaves_the_supervisor_as_it_was",
        a_reload_whose_binary_cannot_run_leaves_the_supervisor_as_it_was,
    ),
];

/// The host when started as one, else every test whose name contains the first non-flag
/// argument (all without one), one after the other.
fn main() -> std::process::ExitCode {
    if std::env::var_os(HOST_CONFIG).is_some() {
        host();
        return std::process::ExitCode::SUCCESS;
    }
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let mut failed = Vec::new();
    for (name, test) in TESTS {
        if filter.as_deref().is_some_and(|f| !name.contains(f)) {
            continue;
        }
        eprintln!("test handoff::{name} ...");
        if std::panic::catch_unwind(test).is_err() {
            failed.push(name);
        }
    }
    if failed.is_empty() {
        eprintln!("handoff: ok");
        std::process::ExitCode::SUCCESS
    } else {
        eprintln!("handoff: FAILED: {}", failed.join(", "));
        std::process::ExitCode::FAILURE
    }
}

fn host_args() -> Vec<OsString> {
    vec![std::env::current_exe().unwrap().into_os_string()]
}

/// The supervisor process: started by the tests below, re-executed by its own reloads
/// (then it adopts what its predecessor handed over).
fn host() {
    let config = PathBuf::from(std::env::var_os(HOST_CONFIG).expect(HOST_CONFIG));
    let options = Options {
        home: std::env::var_os(HOST_HOME).expect(HOST_HOME).into(),
        control: None,
        base_env: vec![("PATH".into(), std::env::var_os("PATH").unwrap_or_default())],
        manager_notify: None,
    };
    let facts = |_: &Path| BuildFacts::default();
    let mut supervisor = match std::env::var(handoff::ENV_FD) {
        Ok(fd) => {
            let state = handoff::read(&fd).unwrap();
            let loaded = Config::load(state.config()).unwrap();
            Supervisor::adopt(loaded, options, &state, &facts).unwrap()
        }
        Err(_) => Supervisor::new(Config::load(&config).unwrap(), options, &facts).unwrap(),
    };
    let program = std::env::var_os(HOST_PROGRAM)
        .map_or_else(|| std::env::current_exe().unwrap(), PathBuf::from);
    supervisor.reexec(Reexec {
        program,
        args: host_args(),
        config,
        // The host program is not goshift: it has no `supervise --handoff-format`.
        format_args: None,
    });
    supervisor.run();
}

struct Host {
    child: Child,
    client: Client,
    dir: tempfile::TempDir,
}

fn service_table(name: &str, binary: &Path, port: u16, extra: &str) -> String {
    format!(
        "[services.{name}]\nbinary = \"{}\"\nlisten = [{{ name = \"http\", address = \"tcp://127.0.0.1:{port}\" }}]\nstop = {{ grace = \"5s\" }}\nwatch = \"200ms\"\n{extra}\n",
        binary.display()
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Host {
    fn start(text: &str, program: Option<&Path>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("supervisor.toml");
        std::fs::write(
            &config,
            text.replace("{dir}", &dir.path().display().to_string()),
        )
        .unwrap();
        let home = dir.path().join("home");
        let mut command = Command::new(std::env::current_exe().unwrap());
        command
            .env(HOST_CONFIG, &config)
            .env(HOST_HOME, &home)
            .env_remove(handoff::ENV_FD)
            .stdout(Stdio::null());
        if let Some(program) = program {
            command.env(HOST_PROGRAM, program);
        }
        let child = command.spawn().unwrap();
        let client = Client::new(home.join("run").join("supervisor.sock"));
        let host = Self { child, client, dir };
        host.wait_ready(|_| true);
        host
    }

    fn ask(&self, request: &Request) -> Vec<Reply> {
        let mut replies = Vec::new();
        self.client.request(request, |r| replies.push(r)).unwrap();
        replies
    }

    fn status(&self) -> Vec<ServiceStatus> {
        match self.ask(&Request::Status).as_slice() {
            [Reply::Status { services }] => services.clone(),
            other => panic!("{other:?}"),
        }
    }

    /// Waits (bounded) until every service is ready and `also` holds.
    fn wait_ready(&self, also: impl Fn(&[ServiceStatus]) -> bool) -> Vec<ServiceStatus> {
        let until = Instant::now() + WAIT;
        loop {
            let mut replies = Vec::new();
            if self
                .client
                .request(&Request::Status, |r| replies.push(r))
                .is_ok()
                && let [Reply::Status { services }] = replies.as_slice()
                && services.iter().all(|s| s.readiness == Readiness::Ready)
                && also(services)
            {
                return services.clone();
            }
            assert!(Instant::now() < until, "not ready: {replies:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A reload that is expected to hand over: no reply before the exec, then the report.
    fn reload(&self, config: Option<PathBuf>) -> ReloadReport {
        let refused = self.ask(&Request::Reload { config });
        assert!(refused.is_empty(), "the reload was refused: {refused:?}");
        match self.ask(&Request::Reloaded).as_slice() {
            [Reply::Reloaded { report }] => report.clone(),
            other => panic!("{other:?}"),
        }
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn stop(mut self) {
        assert_eq!(self.ask(&Request::Stop), [Reply::Accepted]);
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{status}");
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `variant=… pid=…` from `/` on `port`, over a fresh connection.
fn serving_pid(port: u16) -> u32 {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    write!(
        stream,
        "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    let mut buf = [0_u8; 1024];
    while !response.contains("count=") {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "closed before the body: {response}");
        response.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    let pid = response.split("pid=").nth(1).unwrap();
    pid.split_whitespace().next().unwrap().parse().unwrap()
}

fn pid_of(services: &[ServiceStatus], name: &str) -> u32 {
    services
        .iter()
        .find(|s| s.name == name)
        .and_then(|s| s.pid)
        .unwrap()
}

fn a_reexec_keeps_the_generation_serving_on_its_listener() {
    let scratch = tempfile::tempdir().unwrap();
    let v1 = service_variant(scratch.path(), "v1", None);
    let port = free_port();
    let host = Host::start(&service_table("api", &v1, port, ""), None);
    let before = pid_of(&host.status(), "api");
    assert_eq!(serving_pid(port), before);
    let report = host.reload(None);
    assert_eq!(report.pid, host.child.id(), "the same process, re-executed");
    assert_eq!(report.kept, [kept("api", before)]);
    assert!(report.failures.is_empty(), "{report:?}");
    assert_eq!(pid_of(&host.status(), "api"), before);
    assert_eq!(serving_pid(port), before, "the generation still serves");
    // The adopted generation is still reaped: killed, it is restarted.
    nix_kill(before, libc::SIGKILL);
    let after = host.wait_ready(|s| s[0].pid.is_some_and(|p| p != before));
    assert_eq!(after[0].restarts, 1, "{after:?}");
    assert_eq!(serving_pid(port), pid_of(&after, "api"));
    host.stop();
}

fn a_reload_applies_a_changed_service_file_and_refuses_a_bad_one() {
    let scratch = tempfile::tempdir().unwrap();
    let v1 = service_variant(scratch.path(), "v1", None);
    let (api, web) = (free_port(), free_port());
    let first = service_table("api", &v1, api, "") + &service_table("web", &v1, web, "");
    let host = Host::start(&first, None);
    let running = host.status();
    let bad = host.write("bad.toml", "[services.api]\nbinary = 3\n");
    match host.ask(&Request::Reload { config: Some(bad) }).as_slice() {
        [Reply::Error { message }] => assert!(message.contains("is not valid"), "{message}"),
        other => panic!("{other:?}"),
    }
    let pids = |s: &[ServiceStatus]| {
        s.iter()
            .map(|s| (s.name.clone(), s.pid))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        pids(&host.status()),
        pids(&running),
        "a refused reload changes nothing"
    );
    // web's arguments change, api stays, db is added.
    let db = free_port();
    let second = service_table("api", &v1, api, "")
        + &service_table("web", &v1, web, "args = [\"-changed\"]")
        + &service_table("db", &v1, db, "");
    let report = host.reload(Some(host.write("second.toml", &second)));
    assert_eq!(report.kept, [kept("api", pid_of(&running, "api"))]);
    assert_eq!(report.upgraded, ["web"]);
    assert_eq!(report.started, ["db"]);
    let now = host.wait_ready(|s| s.len() == 3);
    assert_eq!(pid_of(&now, "api"), pid_of(&running, "api"));
    assert_ne!(pid_of(&now, "web"), pid_of(&running, "web"));
    assert_eq!(serving_pid(web), pid_of(&now, "web"));
    assert_eq!(serving_pid(db), pid_of(&now, "db"));
    // web removed: stopped.
    let third = service_table("api", &v1, api, "") + &service_table("db", &v1, db, "");
    let report = host.reload(Some(host.write("third.toml", &third)));
    assert_eq!(report.stopped, ["web"]);
    assert_eq!(report.kept.len(), 2, "{report:?}");
    assert_eq!(serving_pid(api), pid_of(&running, "api"));
    // A changed service whose `current` release crashes at start is rolled back, and the
    // report says so; it keeps serving on its old generation.
    let store = ReleaseStore::new(&host.dir.path().join("home"), "db");
    let crashing = service_variant(scratch.path(), "crashing", Some("crash-at-start"));
    let staged = store.stage(&crashing, BuildFacts::default(), None).unwrap();
    store.set_current(staged.id()).unwrap();
    let db_before = pid_of(&host.status(), "db");
    let fourth =
        service_table("api", &v1, api, "") + &service_table("db", &v1, db, "args = [\"-changed\"]");
    let report = host.reload(Some(host.write("fourth.toml", &fourth)));
    assert!(
        report.failures.len() == 1 && report.failures[0].starts_with("db: rolled back"),
        "{report:?}"
    );
    assert_eq!(serving_pid(db), db_before);
    host.stop();
}

fn a_reload_whose_binary_cannot_run_leaves_the_supervisor_as_it_was() {
    let scratch = tempfile::tempdir().unwrap();
    let v1 = service_variant(scratch.path(), "v1", None);
    let port = free_port();
    let missing = scratch.path().join("no-such-goshift");
    // A long watch window, so the upgrade below is still running when the reload comes.
    let table = service_table("api", &v1, port, "").replace("200ms", "60s");
    let host = Host::start(&table, Some(&missing));
    let before = pid_of(&host.status(), "api");
    match host.ask(&Request::Reload { config: None }).as_slice() {
        [Reply::Error { message }] => assert!(
            message.contains("nothing changed") && message.contains("no-such-goshift"),
            "{message}"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(serving_pid(port), before);
    // An added service whose binary is missing is found before the exec, not after it.
    let added = service_table("api", &v1, port, "")
        + &service_table("db", &scratch.path().join("no-such-db"), free_port(), "");
    let added = host.write("added.toml", &added);
    match host
        .ask(&Request::Reload {
            config: Some(added),
        })
        .as_slice()
    {
        [Reply::Error { message }] => assert!(
            message.contains("service `db` could not start") && message.contains("no-such-db"),
            "{message}"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(pid_of(&host.status(), "api"), before);
    a_reload_during_an_upgrade_is_refused(&host, scratch.path());
    assert!(
        matches!(host.ask(&Request::Reloaded).as_slice(), [Reply::Error { message }] if message.contains("did not start from a reload"))
    );
    host.stop();
}

fn kept(service: &str, pid: u32) -> handoff::Kept {
    handoff::Kept {
        service: service.to_owned(),
        pid,
    }
}

fn nix_kill(pid: u32, signal: i32) {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(pid).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::try_from(signal).unwrap()).unwrap();
}

/// While an upgrade runs, a reload is refused with the reason (not queued).
fn a_reload_during_an_upgrade_is_refused(host: &Host, scratch: &Path) {
    let store = ReleaseStore::new(&host.dir.path().join("home"), "api");
    let v2 = service_variant(scratch, "v2", None);
    let release = store.stage(&v2, BuildFacts::default(), None).unwrap();
    let client = Client::new(host.dir.path().join("home/run/supervisor.sock"));
    let request = Request::Upgrade {
        service: "api".into(),
        release: release.id().to_owned(),
        reason: None,
    };
    // The upgrade's client waits for its outcome; the supervisor's stop ends it.
    drop(std::thread::spawn(move || client.request(&request, |_| {})));
    host.wait_ready(|s| s[0].upgrading.is_some());
    match host.ask(&Request::Reload { config: None }).as_slice() {
        [Reply::Error { message }] => assert!(
            message.contains("service `api` is busy") && message.contains("is in progress"),
            "{message}"
        ),
        other => panic!("{other:?}"),
    }
}
