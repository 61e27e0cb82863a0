//! A small HTTP/1.1 client for loopback: probes and scrapes of the supervisor's own children,
//! and Prometheus instant queries. One request per connection (`Connection: close`), every
//! step bounded by one deadline and the answer by a size limit, so a hung or flooding service
//! costs a probe its timeout and nothing more.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// An answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Header names in lower case, with their values.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
    /// From the start of the connection to the end of the head.
    pub head_latency: Duration,
}

/// Why a request has no answer.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The URL is not `http://HOST:PORT/PATH`.
    #[error("`{url}` is not a plain `http://` URL with a host and a path")]
    BadUrl {
        /// The URL.
        url: String,
    },
    /// Connecting, sending or receiving failed.
    #[error("request to {address} failed: {source}")]
    Io {
        /// Where.
        address: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The deadline passed.
    #[error("no complete answer from {address} within {timeout:?}")]
    Timeout {
        /// Where.
        address: String,
        /// The limit.
        timeout: Duration,
    },
    /// The answer is larger than allowed.
    #[error("the answer from {address} is larger than {limit} bytes")]
    TooLarge {
        /// Where.
        address: String,
        /// The limit.
        limit: usize,
    },
    /// The answer is not HTTP/1.x.
    #[error("the answer from {address} is not HTTP/1.1: {problem}")]
    Malformed {
        /// Where.
        address: String,
        /// What is wrong.
        problem: String,
    },
}

/// `http://host:port/path?query` split into the address to connect to, the `Host` header and
/// the request target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `host:port`, as written.
    pub authority: String,
    /// The path and query, at least `/`.
    pub path: String,
}

impl Target {
    /// Splits a URL; only `http://` with an explicit or default port 80.
    pub fn parse(url: &str) -> Result<Self, HttpError> {
        let bad = || HttpError::BadUrl {
            url: url.to_owned(),
        };
        let rest = url.strip_prefix("http://").ok_or_else(bad)?;
        let (authority, path) = rest.find('/').map_or((rest, "/"), |i| rest.split_at(i));
        if authority.is_empty() || authority.contains('@') {
            return Err(bad());
        }
        let authority = if authority.ends_with(']') || !authority.contains(':') {
            format!("{authority}:80")
        } else {
            authority.to_owned()
        };
        Ok(Self {
            authority,
            path: path.to_owned(),
        })
    }
}

/// Sends one request and reads the answer, all within `timeout`; a body above `limit` bytes
/// is an error.
pub fn request(
    address: SocketAddr,
    host: &str,
    method: &str,
    path: &str,
    timeout: Duration,
    limit: usize,
) -> Result<Response, HttpError> {
    let deadline = Deadline {
        start: Instant::now(),
        timeout,
        address: address.to_string(),
    };
    let mut stream =
        TcpStream::connect_timeout(&address, deadline.left()?).map_err(|e| deadline.io(e))?;
    stream
        .set_write_timeout(Some(deadline.left()?))
        .map_err(|e| deadline.io(e))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nUser-Agent: goshift-analysis\r\nAccept: */*\r\n\r\n"
    )
    .map_err(|e| deadline.io(e))?;
    let (raw, head_latency) = read_answer(&mut stream, method == "HEAD", limit, &deadline)?;
    let mut response = parse_response(&raw).map_err(|problem| HttpError::Malformed {
        address: deadline.address.clone(),
        problem,
    })?;
    if response.body.len() > limit {
        return Err(HttpError::TooLarge {
            address: deadline.address,
            limit,
        });
    }
    response.head_latency = head_latency;
    Ok(response)
}

/// One request's time limit, and the errors that name its address.
struct Deadline {
    start: Instant,
    timeout: Duration,
    address: String,
}

impl Deadline {
    /// The time left, or the timeout error once none is.
    fn left(&self) -> Result<Duration, HttpError> {
        self.timeout
            .checked_sub(self.start.elapsed())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| self.timed_out())
    }

    fn timed_out(&self) -> HttpError {
        HttpError::Timeout {
            address: self.address.clone(),
            timeout: self.timeout,
        }
    }

    /// An I/O error; a socket timeout is the deadline's.
    fn io(&self, source: std::io::Error) -> HttpError {
        if matches!(
            source.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ) {
            self.timed_out()
        } else {
            HttpError::Io {
                address: self.address.clone(),
                source,
            }
        }
    }
}

/// Reads the answer until its framing says it is complete or the peer closes; returns it
/// with the time the head took.
fn read_answer(
    stream: &mut TcpStream,
    head_only: bool,
    limit: usize,
    deadline: &Deadline,
) -> Result<(Vec<u8>, Duration), HttpError> {
    let mut raw = Vec::new();
    let mut head_end = None;
    let mut head_latency = Duration::ZERO;
    let mut buffer = [0_u8; 8192];
    loop {
        stream
            .set_read_timeout(Some(deadline.left()?))
            .map_err(|e| deadline.io(e))?;
        let n = stream.read(&mut buffer).map_err(|e| deadline.io(e))?;
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buffer[..n]);
        if head_end.is_none()
            && let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n")
        {
            head_end = Some(i + 4);
            head_latency = deadline.start.elapsed();
            // HEAD answers and 1xx/204/304 have no body; stop at the head.
            if head_only || body_forbidden(&raw) {
                break;
            }
        }
        if raw.len() > limit + head_end.unwrap_or(16 * 1024) {
            return Err(HttpError::TooLarge {
                address: deadline.address.clone(),
                limit,
            });
        }
        if let Some(end) = head_end
            && complete(&raw[..end], &raw[end..])
        {
            break;
        }
    }
    Ok((raw, head_latency))
}

/// Resolves a [`Target`]'s authority (loopback names resolve without DNS) and requests it.
pub fn get(url: &str, timeout: Duration, limit: usize) -> Result<Response, HttpError> {
    let target = Target::parse(url)?;
    let address = target
        .authority
        .to_socket_addrs()
        .map_err(|source| HttpError::Io {
            address: target.authority.clone(),
            source,
        })?
        .next()
        .ok_or_else(|| HttpError::BadUrl {
            url: url.to_owned(),
        })?;
    request(
        address,
        &target.authority,
        "GET",
        &target.path,
        timeout,
        limit,
    )
}

fn body_forbidden(raw: &[u8]) -> bool {
    let status = raw.get(9..12).and_then(|s| std::str::from_utf8(s).ok());
    matches!(status, Some(s) if s.starts_with('1') || s == "204" || s == "304")
}

/// Whether a body is complete by the head's framing (the connection's end also completes it).
fn complete(head: &[u8], body: &[u8]) -> bool {
    let head = String::from_utf8_lossy(head).to_ascii_lowercase();
    if head.contains("\r\ntransfer-encoding: chunked") {
        return dechunk(body).is_ok();
    }
    head.lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .is_some_and(|length| body.len() >= length)
}

/// Parses a complete answer: status line, headers, body (by `Content-Length`, chunked, or to
/// the end).
pub fn parse_response(raw: &[u8]) -> Result<Response, String> {
    let head_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("the head does not end")?;
    let head = std::str::from_utf8(&raw[..head_end]).map_err(|_| "the head is not text")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(format!("status line `{status_line}`"));
    }
    let status = parts
        .next()
        .and_then(|s| s.parse::<u16>().ok())
        .filter(|s| (100..=999).contains(s))
        .ok_or_else(|| format!("status line `{status_line}`"))?;
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("header line `{line}`"))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let rest = &raw[head_end + 4..];
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let body = if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        dechunk(rest)?
    } else if let Some(length) = header("content-length") {
        let length: usize = length
            .parse()
            .map_err(|_| format!("Content-Length `{length}`"))?;
        rest.get(..length)
            .ok_or_else(|| format!("the body ends after {} of {length} bytes", rest.len()))?
            .to_vec()
    } else {
        rest.to_vec()
    };
    Ok(Response {
        status,
        headers,
        body,
        head_latency: Duration::ZERO,
    })
}

/// Decodes a complete chunked body.
fn dechunk(mut data: &[u8]) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("a chunk size line does not end")?;
        let size_text =
            std::str::from_utf8(&data[..line_end]).map_err(|_| "a chunk size is not text")?;
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("chunk size `{size_text}`"))?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        let chunk = data.get(..size).ok_or("a chunk is cut short")?;
        body.extend_from_slice(chunk);
        data = data.get(size + 2..).ok_or("a chunk does not end")?;
    }
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;

    use super::*;

    /// A one-shot server on loopback answering every connection with `answer` (after reading
    /// the request head); returns its address.
    fn serve(answer: &'static [u8], connections: usize) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for _ in 0..connections {
                let Ok((mut stream, _)) = listener.accept() else {
                    return;
                };
                let mut head = Vec::new();
                let mut byte = [0_u8; 1];
                while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                    head.push(byte[0]);
                }
                let _ = stream.write_all(answer);
            }
        });
        address
    }

    const SECOND: Duration = Duration::from_secs(5);

    #[test]
    fn content_length_chunked_and_to_the_end() {
        let cases: [(&[u8], u16, &[u8]); 4] = [
            (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 200, b"hello"),
            (b"HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nbro\n\r\n3;x=y\r\nken\r\n0\r\n\r\n", 500, b"bro\nken"),
            (b"HTTP/1.0 204 No Content\r\n\r\n", 204, b""),
            (b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end", 200, b"until the end"),
        ];
        for (answer, status, body) in cases {
            let address = serve(answer, 1);
            let response = request(address, "svc", "GET", "/", SECOND, 1024).unwrap();
            assert_eq!(response.status, status);
            assert_eq!(response.body, body);
        }
    }

    #[test]
    fn failures_are_bounded_and_named() {
        // Nothing listens: refused.
        let closed = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let error = request(closed, "svc", "GET", "/", SECOND, 1024).unwrap_err();
        assert!(matches!(error, HttpError::Io { .. }), "{error}");
        // A socket that accepts into its backlog and never answers: the deadline.
        let silent = TcpListener::bind("127.0.0.1:0").unwrap();
        let error = request(
            silent.local_addr().unwrap(),
            "svc",
            "GET",
            "/",
            Duration::from_millis(200),
            1024,
        )
        .unwrap_err();
        assert!(matches!(error, HttpError::Timeout { .. }), "{error}");
        // Too large.
        let address = serve(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789", 1);
        let error = request(address, "svc", "GET", "/", SECOND, 10).unwrap_err();
        assert!(matches!(error, HttpError::TooLarge { .. }), "{error}");
        // Not HTTP.
        let address = serve(b"SSH-2.0-OpenSSH\r\n\r\n", 1);
        let error = request(address, "svc", "GET", "/", SECOND, 1024).unwrap_err();
        assert!(error.to_string().contains("not HTTP/1.1"), "{error}");
    }

    #[test]
    fn urls() {
        let target = Target::parse("http://127.0.0.1:9100/metrics?x=1").unwrap();
        assert_eq!(target.authority, "127.0.0.1:9100");
        assert_eq!(target.path, "/metrics?x=1");
        assert_eq!(Target::parse("http://[::1]").unwrap().authority, "[::1]:80");
        assert_eq!(Target::parse("http://localhost:8080").unwrap().path, "/");
        for bad in ["https://x/", "http://", "http://user@host/", "ftp://x"] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
        let address = serve(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 1);
        let response = get(&format!("http://{address}/healthz"), SECOND, 64).unwrap();
        assert_eq!(response.body, b"ok");
    }
}
