//! Readiness probes against a generation's private admin listener.
//!
//! HTTP: `GET path` answered with a 2xx status. TCP: the generation has accepted a
//! connection on its admin listener (seen in `/proc`, since the supervisor-bound socket
//! accepts connections into its backlog before the service ever calls `accept`).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::procfs;

/// What to probe.
#[derive(Debug, Clone)]
pub(crate) enum Probe {
    Http(String),
    Tcp,
}

/// A running probe; dropping it stops the thread.
#[derive(Debug)]
pub(crate) struct ProbeHandle {
    stop: Arc<AtomicBool>,
}

impl Drop for ProbeHandle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The probe period: how often a not-yet-ready generation is asked again.
const PERIOD: Duration = Duration::from_millis(25);

/// Probes `address` (owned by `pid`) every period until it succeeds once, then calls `ready`.
pub(crate) fn start(
    probe: Probe,
    address: SocketAddr,
    pid: u32,
    ready: impl FnOnce() + Send + 'static,
) -> ProbeHandle {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let _ = std::thread::Builder::new()
        .name("probe".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                let ok = match &probe {
                    Probe::Http(path) => http_ok(address, path),
                    Probe::Tcp => tcp_accepted(address, pid),
                };
                if ok {
                    if !flag.load(Ordering::Relaxed) {
                        ready();
                    }
                    return;
                }
                std::thread::sleep(PERIOD);
            }
        });
    ProbeHandle { stop }
}

fn http_ok(address: SocketAddr, path: &str) -> bool {
    let attempt = || -> std::io::Result<bool> {
        let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(1))?;
        stream.set_read_timeout(Some(Duration::from_secs(2)))?;
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nUser-Agent: goshift-probe\r\n\r\n"
        )?;
        let mut head = [0_u8; 12];
        stream.read_exact(&mut head)?;
        Ok(head.starts_with(b"HTTP/1.") && head[9] == b'2')
    };
    attempt().unwrap_or(false)
}

fn tcp_accepted(address: SocketAddr, pid: u32) -> bool {
    let Ok(stream) = TcpStream::connect_timeout(&address, Duration::from_secs(1)) else {
        return false;
    };
    let port = address.port();
    for _ in 0..8 {
        if procfs::established_connections(pid, Some(port)) > 0 {
            return true;
        }
        std::thread::sleep(PERIOD);
    }
    drop(stream);
    false
}
