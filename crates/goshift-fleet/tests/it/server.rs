//! A single etcd member on free loopback ports in a temporary directory, killed on drop.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use goshift_fleet::{Etcd, EtcdOptions, Fleet, Keys};

/// A running etcd.
pub(crate) struct EtcdServer {
    child: Child,
    pub(crate) url: String,
    _dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn etcd_binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("etcd"))
        .find(|candidate| candidate.is_file())
}

impl EtcdServer {
    /// Starts etcd, or returns `None` after saying why on stderr when it is not installed
    /// (and panics instead when `CI` is set).
    #[expect(
        clippy::print_stderr,
        reason = "a skipped test says so where cargo shows it"
    )]
    pub(crate) fn start(test: &str) -> Option<Self> {
        let Some(binary) = etcd_binary() else {
            assert!(
                std::env::var_os("CI").is_none(),
                "{test}: etcd is not installed, and CI is set (`apt-get install etcd-server`)"
            );
            eprintln!("SKIPPED {test}: etcd is not installed (`apt-get install etcd-server`)");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let client = free_port();
        let peer = free_port();
        let url = format!("http://127.0.0.1:{client}");
        let peer_url = format!("http://127.0.0.1:{peer}");
        let log = std::fs::File::create(dir.path().join("etcd.log")).unwrap();
        let child = Command::new(binary)
            .arg("--name=test")
            .arg(format!("--data-dir={}", dir.path().join("data").display()))
            .arg(format!("--listen-client-urls={url}"))
            .arg(format!("--advertise-client-urls={url}"))
            .arg(format!("--listen-peer-urls={peer_url}"))
            .arg(format!("--initial-advertise-peer-urls={peer_url}"))
            .arg(format!("--initial-cluster=test={peer_url}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let server = Self {
            child,
            url,
            _dir: dir,
        };
        let etcd = server.client();
        let deadline = Instant::now() + Duration::from_secs(20);
        while etcd.get("/probe").is_err() {
            assert!(Instant::now() < deadline, "etcd did not answer within 20s");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(server)
    }

    pub(crate) fn client(&self) -> Etcd {
        Etcd::new(EtcdOptions {
            endpoints: vec![self.url.clone()],
            ..EtcdOptions::default()
        })
        .unwrap()
    }

    pub(crate) fn fleet(&self) -> Fleet {
        Fleet::new(self.client(), Keys::new("/goshift/").unwrap())
    }
}

impl Drop for EtcdServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `check` until it holds, failing after `limit`.
pub(crate) fn wait_for(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
