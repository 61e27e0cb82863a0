//! A go.dev-style download server on loopback, with fault injection and a request log.
//!
//! [`MirrorServer`] speaks just enough HTTP/1.1 for goshift's client: `GET` and `HEAD`, one
//! request per connection, `Connection: close`. Files come from memory ([`MirrorServer::add`])
//! or a directory ([`MirrorServer::serve_dir`]); [`Fault`]s change how one path is served.
//! [`index_json`] builds the matching release index.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use sha2::{Digest, Sha256};

/// How a path is served wrongly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status and a short text body.
    Status(u16),
    /// Serve only the first `n` bytes, announced as the whole body (a short file).
    Truncate(usize),
    /// Announce the full length but close the connection after `n` body bytes.
    CloseAfter(usize),
    /// Flip all bits of the byte at this offset.
    Corrupt(usize),
    /// Send `chunk` bytes at a time with `delay` between chunks.
    Trickle {
        /// Bytes per write.
        chunk: usize,
        /// Pause between writes.
        delay: Duration,
    },
    /// Redirect (302) to this location.
    Redirect(String),
}

/// One request as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `GET`, `HEAD`, …
    pub method: String,
    /// The request target, query included (`/index.json`).
    pub path: String,
    /// The `User-Agent` header, if any.
    pub user_agent: Option<String>,
}

#[derive(Debug, Default)]
struct State {
    files: HashMap<String, Vec<u8>>,
    dir: Option<PathBuf>,
    faults: HashMap<String, Fault>,
    log: Vec<Request>,
}

/// A loopback HTTP server for archives and indexes; stops when dropped.
#[derive(Debug)]
pub struct MirrorServer {
    address: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl MirrorServer {
    /// Starts a server on `127.0.0.1` with an ephemeral port.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("failed to bind 127.0.0.1:0");
        let address = listener
            .local_addr()
            .expect("bound listener has an address");
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let state = Arc::clone(&state);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let state = Arc::clone(&state);
                    std::thread::spawn(move || {
                        // A client hanging up early is part of several tests.
                        let _ = serve(stream, &state);
                    });
                }
            })
        };
        Self {
            address,
            state,
            stop,
            thread: Some(thread),
        }
    }

    /// The base URL, with a trailing slash: `http://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.address)
    }

    /// The URL of `path` (relative, e.g. `index.json`).
    pub fn url_of(&self, path: &str) -> String {
        format!("{}{}", self.url(), path.trim_start_matches('/'))
    }

    /// The socket address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Serves `bytes` at `/path`.
    pub fn add(&self, path: &str, bytes: impl Into<Vec<u8>>) -> &Self {
        self.lock().files.insert(normalize(path), bytes.into());
        self
    }

    /// Serves the files of `dir` (read at request time) for paths not added in memory.
    pub fn serve_dir(&self, dir: &Path) -> &Self {
        self.lock().dir = Some(dir.to_path_buf());
        self
    }

    /// Serves `/path` with a fault from now on.
    pub fn fault(&self, path: &str, fault: Fault) -> &Self {
        self.lock().faults.insert(normalize(path), fault);
        self
    }

    /// Serves `/path` normally again.
    pub fn clear_fault(&self, path: &str) -> &Self {
        self.lock().faults.remove(&normalize(path));
        self
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Request> {
        self.lock().log.clone()
    }

    /// The paths requested so far, in arrival order.
    pub fn requested_paths(&self) -> Vec<String> {
        self.lock().log.iter().map(|r| r.path.clone()).collect()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Drop for MirrorServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.address);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// `/a/b` without query, with one leading slash.
fn normalize(path: &str) -> String {
    let path = path.split('?').next().unwrap_or(path);
    format!("/{}", path.trim_start_matches('/'))
}

fn serve(stream: TcpStream, state: &Mutex<State>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let request = read_request(&stream)?;
    let head_only = request.method == "HEAD";
    let (body, fault) = look_up(state, request);
    answer(stream, fault, body, head_only)
}

/// The request line and the user agent; the rest of the head is read and dropped.
fn read_request(stream: &TcpStream) -> std::io::Result<Request> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("").to_owned();
    let path = parts.next().unwrap_or("/").to_owned();
    let mut user_agent = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("user-agent")
        {
            user_agent = Some(value.trim().to_owned());
        }
    }
    Ok(Request {
        method,
        path,
        user_agent,
    })
}

/// Logs `request` and returns the file it asks for (served from memory, else from the
/// directory) and the fault set for its path.
fn look_up(state: &Mutex<State>, request: Request) -> (Option<Vec<u8>>, Option<Fault>) {
    let key = normalize(&request.path);
    let mut state = state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    state.log.push(request);
    let body = state.files.get(&key).cloned().or_else(|| {
        let dir = state.dir.as_ref()?;
        let relative = key.trim_start_matches('/');
        if relative
            .split('/')
            .any(|part| part == ".." || part.is_empty())
        {
            return None;
        }
        std::fs::read(dir.join(relative)).ok()
    });
    (body, state.faults.get(&key).cloned())
}

fn answer(
    mut stream: TcpStream,
    fault: Option<Fault>,
    body: Option<Vec<u8>>,
    head_only: bool,
) -> std::io::Result<()> {
    match (fault, body) {
        (Some(Fault::Status(status)), _) => respond(&mut stream, status, &[], head_only),
        (Some(Fault::Redirect(location)), _) => {
            write!(
                stream,
                "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
        }
        (_, None) => respond(&mut stream, 404, b"not found\n", head_only),
        (None, Some(body)) => respond(&mut stream, 200, &body, head_only),
        (Some(Fault::Truncate(n)), Some(body)) => {
            respond(&mut stream, 200, &body[..n.min(body.len())], head_only)
        }
        (Some(Fault::Corrupt(offset)), Some(mut body)) => {
            if let Some(byte) = body.get_mut(offset) {
                *byte = !*byte;
            }
            respond(&mut stream, 200, &body, head_only)
        }
        (Some(Fault::CloseAfter(n)), Some(body)) => {
            write_head(&mut stream, 200, body.len())?;
            stream.write_all(&body[..n.min(body.len())])?;
            stream.flush()?;
            stream.shutdown(std::net::Shutdown::Both)
        }
        (Some(Fault::Trickle { chunk, delay }), Some(body)) => {
            write_head(&mut stream, 200, body.len())?;
            for piece in body.chunks(chunk.max(1)) {
                stream.write_all(piece)?;
                stream.flush()?;
                std::thread::sleep(delay);
            }
            Ok(())
        }
    }
}

fn write_head(stream: &mut TcpStream, status: u16, length: usize) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        500 => "Internal Server Error",
        _ => "Status",
    };
    write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\nContent-Length: {length}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n"
    )
}

fn respond(
    stream: &mut TcpStream,
    status: u16,
    body: &[u8],
    head_only: bool,
) -> std::io::Result<()> {
    let body: &[u8] = if status == 200 || !body.is_empty() {
        body
    } else {
        b"error\n"
    };
    write_head(stream, status, body.len())?;
    if !head_only {
        stream.write_all(body)?;
    }
    stream.flush()
}

/// One file of a fabricated release, for [`index_json`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    /// Version without `go` (`1.22.10`).
    pub version: String,
    /// Whether the release is stable; defaults to "no `rc`/`beta` in the version".
    pub stable: bool,
    /// `GOOS`.
    pub os: String,
    /// Architecture as in archive names.
    pub arch: String,
    /// `archive`, `installer` or `source`.
    pub kind: String,
    /// File name (`go1.22.10.linux-amd64.tar.gz`).
    pub filename: String,
    /// Lowercase hex SHA-256 of the file.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
}

impl IndexEntry {
    /// The `.tar.gz` archive of `version` for `os/arch` with these bytes.
    pub fn archive(version: &str, os: &str, arch: &str, bytes: &[u8]) -> Self {
        let version = version.trim_start_matches("go").to_owned();
        Self {
            stable: !version.contains("rc") && !version.contains("beta"),
            filename: format!("go{version}.{os}-{arch}.tar.gz"),
            os: os.to_owned(),
            arch: arch.to_owned(),
            kind: String::from("archive"),
            sha256: sha256_hex(bytes),
            size: bytes.len() as u64,
            version,
        }
    }

    /// The archive of `version` for this machine's platform.
    pub fn host_archive(version: &str, bytes: &[u8]) -> Self {
        let (os, arch) = crate::archive::host_platform();
        Self::archive(version, os, arch, bytes)
    }
}

/// A go.dev-schema index (`[{version, stable, files: […]}]`) of `entries`, grouped by
/// version in first-appearance order.
pub fn index_json(entries: &[IndexEntry]) -> String {
    let mut releases: Vec<(String, bool, Vec<serde_json::Value>)> = Vec::new();
    for entry in entries {
        let file = serde_json::json!({
            "filename": entry.filename,
            "os": entry.os,
            "arch": entry.arch,
            "version": format!("go{}", entry.version),
            "sha256": entry.sha256,
            "size": entry.size,
            "kind": entry.kind,
        });
        match releases.iter_mut().find(|(v, _, _)| *v == entry.version) {
            Some((_, _, files)) => files.push(file),
            None => releases.push((entry.version.clone(), entry.stable, vec![file])),
        }
    }
    let releases: Vec<serde_json::Value> = releases
        .into_iter()
        .map(|(version, stable, files)| {
            serde_json::json!({ "version": format!("go{version}"), "stable": stable, "files": files })
        })
        .collect();
    serde_json::to_string_pretty(&releases).expect("JSON values always serialise")
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}
