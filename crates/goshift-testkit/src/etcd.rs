//! A real etcd member on free loopback ports in a temporary directory, killed on drop.
//!
//! Needs Debian's `etcd-server` (`etcd` on `PATH`). Without it, [`EtcdServer::start`] says
//! so on stderr and returns `None`, so the test passes with a visible `SKIPPED` line; when
//! the `CI` variable is set a missing etcd fails the test instead.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running etcd.
#[derive(Debug)]
pub struct EtcdServer {
    child: Child,
    binary: PathBuf,
    url: String,
    port: u16,
    peer: u16,
    dir: tempfile::TempDir,
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("failed to find a free loopback port")
}

/// `etcd` on `PATH`; when it is missing, says on stderr that `test` is skipped and returns
/// `None`, or panics when `CI` is set.
fn etcd_or_skip(test: &str) -> Option<PathBuf> {
    program_or_skip(test, "etcd", "etcd-server")
}

/// `program` on `PATH`; when it is missing, says on stderr that `test` is skipped (naming the
/// Debian `package` to install) and returns `None`, or panics when `CI` is set.
#[expect(
    clippy::print_stderr,
    reason = "a skipped test says so where cargo shows it"
)]
pub fn program_or_skip(test: &str, program: &str, package: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(program))
            .find(|candidate| candidate.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: {program} is not installed, and CI is set (`apt-get install {package}`)"
        );
        eprintln!("SKIPPED {test}: {program} is not installed (`apt-get install {package}`)");
    }
    found
}

impl EtcdServer {
    /// Starts etcd and waits until it answers, or returns `None` after saying on stderr that
    /// `test` is skipped because etcd is not installed (panics instead when `CI` is set).
    pub fn start(test: &str) -> Option<Self> {
        let binary = etcd_or_skip(test)?;
        let dir = tempfile::tempdir().expect("failed to create a temporary directory");
        let port = free_port();
        let peer = free_port();
        let child = Self::spawn(&binary, dir.path(), port, peer);
        let mut server = Self {
            child,
            binary,
            url: format!("http://127.0.0.1:{port}"),
            port,
            peer,
            dir,
        };
        server.wait_until_it_answers();
        Some(server)
    }

    fn spawn(binary: &Path, dir: &Path, port: u16, peer: u16) -> Child {
        let url = format!("http://127.0.0.1:{port}");
        let peer_url = format!("http://127.0.0.1:{peer}");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("etcd.log"))
            .expect("etcd.log");
        Command::new(binary)
            .arg("--name=test")
            .arg(format!("--data-dir={}", dir.join("data").display()))
            .arg(format!("--listen-client-urls={url}"))
            .arg(format!("--advertise-client-urls={url}"))
            .arg(format!("--listen-peer-urls={peer_url}"))
            .arg(format!("--initial-advertise-peer-urls={peer_url}"))
            .arg(format!("--initial-cluster=test={peer_url}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("failed to start etcd")
    }

    fn wait_until_it_answers(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.answers() {
            assert!(
                Instant::now() < deadline,
                "etcd did not answer within 30s; its log:\n{}",
                std::fs::read_to_string(self.dir.path().join("etcd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills etcd (SIGKILL), keeping its data, and starts it again on the same ports after
    /// `down` has passed.
    pub fn restart_after(&mut self, down: Duration) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::thread::sleep(down);
        self.child = Self::spawn(&self.binary, self.dir.path(), self.port, self.peer);
        self.wait_until_it_answers();
    }

    /// The client URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The etcd process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends one JSON request to the gateway and returns the response body.
    pub fn post(&self, path: &str, body: &str) -> std::io::Result<String> {
        post(self.port, path, body)
    }

    fn answers(&self) -> bool {
        self.post("/v3/kv/range", r#"{"key":"AA=="}"#)
            .is_ok_and(|body| body.contains("header"))
    }
}

impl Drop for EtcdServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A cluster of etcd members on loopback, each killed on drop.
#[derive(Debug)]
pub struct EtcdCluster {
    members: Vec<Option<Child>>,
    ports: Vec<u16>,
    _dir: tempfile::TempDir,
}

impl EtcdCluster {
    /// Starts `size` members and waits until each answers, or returns `None` like
    /// [`EtcdServer::start`] when etcd is not installed.
    pub fn start(test: &str, size: usize) -> Option<Self> {
        let binary = etcd_or_skip(test)?;
        let dir = tempfile::tempdir().expect("failed to create a temporary directory");
        let ports: Vec<u16> = (0..size).map(|_| free_port()).collect();
        let peers: Vec<u16> = (0..size).map(|_| free_port()).collect();
        let initial: Vec<String> = peers
            .iter()
            .enumerate()
            .map(|(i, port)| format!("m{i}=http://127.0.0.1:{port}"))
            .collect();
        let members = (0..size)
            .map(|i| {
                let url = format!("http://127.0.0.1:{}", ports[i]);
                let peer = format!("http://127.0.0.1:{}", peers[i]);
                let log = std::fs::File::create(dir.path().join(format!("m{i}.log")))
                    .expect("member log");
                Some(
                    Command::new(&binary)
                        .arg(format!("--name=m{i}"))
                        .arg(format!(
                            "--data-dir={}",
                            dir.path().join(format!("m{i}")).display()
                        ))
                        .arg(format!("--listen-client-urls={url}"))
                        .arg(format!("--advertise-client-urls={url}"))
                        .arg(format!("--listen-peer-urls={peer}"))
                        .arg(format!("--initial-advertise-peer-urls={peer}"))
                        .arg(format!("--initial-cluster={}", initial.join(",")))
                        .arg("--initial-cluster-state=new")
                        // Raft timings for a loaded machine (scripts/e2e/etcd-lib.sh says
                        // why): with etcd's defaults of 100 and 1000 ms, members busy with
                        // parallel tests lose their leader on their own.
                        .arg("--heartbeat-interval=250")
                        .arg("--election-timeout=2500")
                        .stdout(Stdio::null())
                        .stderr(log)
                        .spawn()
                        .expect("failed to start etcd"),
                )
            })
            .collect();
        let cluster = Self {
            members,
            ports,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        for i in 0..size {
            while cluster.status(i).is_none() {
                assert!(
                    Instant::now() < deadline,
                    "member {i} did not answer within 30s"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Some(cluster)
    }

    /// Every member's client URL.
    pub fn urls(&self) -> Vec<String> {
        self.ports
            .iter()
            .map(|port| format!("http://127.0.0.1:{port}"))
            .collect()
    }

    /// `(member id, leader id)` as member `index` sees them, when it answers and knows a
    /// leader.
    fn status(&self, index: usize) -> Option<(String, String)> {
        let body = post(self.ports[index], "/v3/maintenance/status", "{}").ok()?;
        let member = field(&body, "member_id")?;
        let leader = field(&body, "leader")?;
        Some((member, leader))
    }

    /// The index of the current leader.
    pub fn leader(&self) -> Option<usize> {
        (0..self.ports.len()).find(|&i| {
            self.members[i].is_some()
                && self
                    .status(i)
                    .is_some_and(|(member, leader)| member == leader)
        })
    }

    /// Kills member `index` (SIGKILL) and waits for it.
    pub fn kill(&mut self, index: usize) {
        if let Some(mut child) = self.members[index].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        for index in 0..self.members.len() {
            self.kill(index);
        }
    }
}

/// The string value of `"name":"…"` in a JSON text (enough for etcd's flat status reply).
fn field(body: &str, name: &str) -> Option<String> {
    let start = body.find(&format!("\"{name}\":\""))? + name.len() + 4;
    let end = body[start..].find('"')? + start;
    Some(body[start..end].to_owned())
}

/// Sends one JSON request to a gateway on `port` and returns the body of a 200 response.
fn post(port: u16, path: &str, body: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    match response.split_once("\r\n\r\n") {
        Some((head, body)) if head.starts_with("HTTP/1.1 200") => Ok(body.to_owned()),
        _ => Err(std::io::Error::other(format!(
            "unexpected response: {response}"
        ))),
    }
}
