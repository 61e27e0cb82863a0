//! Fetching the index and archives over `https://`, loopback `http://` and `file://`.

use std::io::{self, Read};
use std::time::Duration;

use crate::sources::check_url;
use crate::url::{self, Location};
use crate::{DistError, Index, Sources};

/// How long to wait for a connection, for the first byte of a response, and between two
/// reads of a response body. A server that accepts and never answers fails within seconds.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(10);
const READ_TIMEOUT: Duration = Duration::from_mins(1);
/// The largest index accepted; go.dev's full index is about 2 MB.
const MAX_INDEX_BYTES: u64 = 64 << 20;
/// Redirects followed before giving up (go.dev redirects once, to dl.google.com).
const MAX_REDIRECTS: usize = 10;

/// An HTTP client for release indexes and archives.
///
/// A proxy, when the caller passes one ([`Client::with_proxy`]), is used for remote hosts
/// and never for loopback hosts. The client reads no environment variables itself.
#[derive(Debug, Clone)]
pub struct Client {
    remote: ureq::Agent,
    loopback: ureq::Agent,
    proxy: Option<ureq::Proxy>,
    limits: DownloadLimits,
}

/// How long a download may take and how slow it may get: a mirror that trickles bytes is cut
/// off instead of holding an install forever.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DownloadLimits {
    /// The longest a whole download (connecting, redirects, the body) may take.
    pub deadline: Duration,
    /// The slowest average rate, in bytes per second, from [`RATE_GRACE`] in; 0: no minimum.
    pub min_rate: u64,
    /// The longest reading the release index may take, all of it: far shorter than a
    /// download, so a server that answers and then stalls cannot hold a command for an hour.
    pub index_deadline: Duration,
}

/// What a [`Download`] reads, for the message when it runs out of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    Archive,
    Index,
}

/// How long a download runs before its average rate is checked.
pub const RATE_GRACE: Duration = Duration::from_secs(10);

impl Default for DownloadLimits {
    fn default() -> Self {
        Self {
            deadline: Duration::from_hours(1),
            min_rate: 4096,
            index_deadline: Duration::from_mins(1),
        }
    }
}

impl DownloadLimits {
    /// Why a download that read `bytes` in `elapsed` must stop, if it must.
    pub fn exceeded(&self, elapsed: Duration, bytes: u64) -> Option<String> {
        self.exceeded_by(Body::Archive, elapsed, bytes)
    }

    fn exceeded_by(&self, body: Body, elapsed: Duration, bytes: u64) -> Option<String> {
        if body == Body::Index && elapsed > self.index_deadline {
            return Some(format!(
                "the release index took longer than {}s (GOSHIFT_INDEX_TIMEOUT)",
                self.index_deadline.as_secs()
            ));
        }
        if elapsed > self.deadline {
            return Some(format!(
                "the download took longer than {}s (GOSHIFT_DOWNLOAD_TIMEOUT)",
                self.deadline.as_secs()
            ));
        }
        if self.min_rate > 0 && elapsed >= RATE_GRACE {
            let rate = u128::from(bytes) * 1000 / elapsed.as_millis().max(1);
            if rate < u128::from(self.min_rate) {
                return Some(format!(
                    "the download averaged {rate} bytes/s after {}s, below the minimum of {} bytes/s (GOSHIFT_DOWNLOAD_MIN_RATE)",
                    elapsed.as_secs(),
                    self.min_rate
                ));
            }
        }
        None
    }
}

/// An open download: the body as a [`Read`], and its length when the server announced it.
pub struct Download {
    reader: Box<dyn Read + Send>,
    content_length: Option<u64>,
    limits: DownloadLimits,
    body: Body,
    started: std::time::Instant,
    bytes: u64,
}

impl Client {
    /// A client with connect and read timeouts and a `goshift/<version>` user agent, without
    /// a proxy.
    pub fn new() -> Self {
        let limits = DownloadLimits::default();
        Self {
            remote: agent(None, limits),
            loopback: agent(None, limits),
            proxy: None,
            limits,
        }
    }

    /// The same client with other download limits.
    #[must_use]
    pub fn with_limits(self, limits: DownloadLimits) -> Self {
        Self {
            remote: agent(self.proxy.clone(), limits),
            loopback: agent(None, limits),
            proxy: self.proxy,
            limits,
        }
    }

    /// Like [`Client::new`], with requests to remote hosts sent through `proxy`
    /// (`http://host:port`, `socks5://host:port`; typically the value of `HTTPS_PROXY`).
    pub fn with_proxy(proxy: &str) -> Result<Self, DistError> {
        let parsed = ureq::Proxy::new(proxy).map_err(|_| DistError::InvalidUrl {
            url: proxy.to_owned(),
            reason: "it is not a proxy URL such as `http://proxy.example:3128`",
        })?;
        let limits = DownloadLimits::default();
        Ok(Self {
            remote: agent(Some(parsed.clone()), limits),
            loopback: agent(None, limits),
            proxy: Some(parsed),
            limits,
        })
    }

    /// Fetches and parses the index named by `sources`.
    pub fn fetch_index(&self, sources: &Sources) -> Result<Index, DistError> {
        let url = &sources.index_url;
        let location = check_url(url, sources.allow_insecure_http)?;
        let download = match location {
            Location::File(_) => self.open(url, sources.allow_insecure_http)?,
            Location::Remote { .. } => {
                self.open_remote(url, location, sources.allow_insecure_http, Body::Index)?
            }
        };
        let mut bytes = Vec::new();
        let read = download
            .take(MAX_INDEX_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|source| DistError::IndexRead {
                url: url.clone(),
                bytes: bytes.len() as u64,
                source,
            })?;
        if read as u64 > MAX_INDEX_BYTES {
            return Err(DistError::InvalidUrl {
                url: sources.index_url.clone(),
                reason: "the index is larger than 64 MiB, so it is not a release index",
            });
        }
        Index::parse(&bytes).map_err(|source| DistError::Index {
            url: sources.index_url.clone(),
            source: Box::new(source),
        })
    }

    /// Opens `url` for reading after checking the URL policy (`https://`, `file://`, and
    /// `http://` only for loopback hosts unless `allow_insecure_http`). A response other
    /// than 2xx is an error naming the status and the URL. Redirects are followed (up to
    /// 10), each hop checked against the same policy.
    pub fn open(&self, url: &str, allow_insecure_http: bool) -> Result<Download, DistError> {
        let location = check_url(url, allow_insecure_http)?;
        match location {
            Location::File(path) => {
                let file =
                    goshift_fs::fs::File::open(&path).map_err(|source| DistError::LocalFile {
                        path: path.clone(),
                        source,
                    })?;
                let content_length = file.metadata().ok().map(|meta| meta.len());
                Ok(Download::new(Box::new(file), content_length, self.limits))
            }
            Location::Remote { .. } => {
                self.open_remote(url, location, allow_insecure_http, Body::Archive)
            }
        }
    }

    /// Requests `url`, following redirects hop by hop so that every hop passes the URL
    /// policy and picks the loopback or remote agent for itself.
    fn open_remote(
        &self,
        url: &str,
        mut location: Location,
        allow_insecure_http: bool,
        body: Body,
    ) -> Result<Download, DistError> {
        let deadline = match body {
            Body::Archive => self.limits.deadline,
            Body::Index => self.limits.index_deadline.min(self.limits.deadline),
        };
        let started = std::time::Instant::now();
        let mut current = url.to_owned();
        for _ in 0..=MAX_REDIRECTS {
            let agent = if location.is_loopback() {
                &self.loopback
            } else {
                &self.remote
            };
            let left = deadline.saturating_sub(started.elapsed());
            let request = agent
                .get(&current)
                .config()
                .timeout_global(Some(left))
                .build();
            let response = request.call().map_err(|error| match error {
                ureq::Error::StatusCode(status) => DistError::HttpStatus {
                    url: current.clone(),
                    status,
                },
                other => DistError::Transport {
                    url: current.clone(),
                    source: Box::new(other),
                },
            })?;
            if response.status().is_redirection() {
                let target = response
                    .headers()
                    .get("location")
                    .and_then(|value| value.to_str().ok())
                    .ok_or_else(|| DistError::HttpStatus {
                        url: current.clone(),
                        status: response.status().as_u16(),
                    })?;
                current = url::resolve(&current, target);
                location = check_url(&current, allow_insecure_http)?;
                if matches!(location, Location::File(_)) {
                    return Err(DistError::InvalidUrl {
                        url: current,
                        reason: "a server may not redirect to a `file://` URL",
                    });
                }
                continue;
            }
            let response_body = response.into_body();
            let content_length = response_body.content_length();
            let mut download = Download::new(
                Box::new(response_body.into_reader()),
                content_length,
                self.limits,
            );
            download.body = body;
            download.started = started;
            return Ok(download);
        }
        Err(DistError::InvalidUrl {
            url: url.to_owned(),
            reason: "it redirects more than 10 times",
        })
    }
}

impl Default for Client {
    fn default() -> Self {
        Self::new()
    }
}

impl Download {
    fn new(
        reader: Box<dyn Read + Send>,
        content_length: Option<u64>,
        limits: DownloadLimits,
    ) -> Self {
        Self {
            reader,
            content_length,
            limits,
            body: Body::Archive,
            started: std::time::Instant::now(),
            bytes: 0,
        }
    }

    /// The announced length of the body, if known.
    pub fn content_length(&self) -> Option<u64> {
        self.content_length
    }
}

impl Read for Download {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.reader.read(buf).map_err(|error| {
            // ureq's overall deadline surfaces as a bare `timeout: global`: say which limit
            // it was. (The agent's clock started a moment before ours.)
            let elapsed = self.started.elapsed() + Duration::from_millis(100);
            let limit = match self.body {
                Body::Archive => self.limits.deadline,
                Body::Index => self.limits.index_deadline.min(self.limits.deadline),
            };
            if elapsed >= limit {
                let deadline = DownloadLimits {
                    min_rate: 0,
                    ..self.limits
                };
                let reason = deadline
                    .exceeded_by(self.body, elapsed.max(limit + Duration::from_millis(1)), 0)
                    .unwrap_or_default();
                return io::Error::new(io::ErrorKind::TimedOut, reason);
            }
            error
        })?;
        self.bytes += read as u64;
        if read > 0
            && let Some(reason) =
                self.limits
                    .exceeded_by(self.body, self.started.elapsed(), self.bytes)
        {
            return Err(io::Error::new(io::ErrorKind::TimedOut, reason));
        }
        Ok(read)
    }
}

impl std::fmt::Debug for Download {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Download")
            .field("content_length", &self.content_length)
            .finish_non_exhaustive()
    }
}

fn agent(proxy: Option<ureq::Proxy>, limits: DownloadLimits) -> ureq::Agent {
    ureq::Agent::config_builder()
        .user_agent(concat!("goshift/", env!("CARGO_PKG_VERSION")))
        .timeout_global(Some(limits.deadline))
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .timeout_recv_response(Some(FIRST_BYTE_TIMEOUT))
        .timeout_per_read(Some(READ_TIMEOUT))
        .proxy(proxy)
        // Redirects are followed by `open_remote`, which checks every hop.
        .max_redirects(0)
        .build()
        .new_agent()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_stop_a_slow_or_endless_download() {
        let limits = DownloadLimits {
            deadline: Duration::from_mins(1),
            min_rate: 1000,
            index_deadline: Duration::from_secs(30),
        };
        assert_eq!(limits.exceeded(Duration::from_secs(5), 0), None);
        assert_eq!(limits.exceeded(Duration::from_secs(20), 40_000), None);
        let slow = limits.exceeded(Duration::from_secs(20), 2).unwrap();
        assert!(slow.contains("below the minimum of 1000 bytes/s"), "{slow}");
        let late = limits.exceeded(Duration::from_secs(61), 1 << 30).unwrap();
        assert!(late.contains("took longer than 60s"), "{late}");
        let index = limits
            .exceeded_by(Body::Index, Duration::from_secs(31), 1 << 30)
            .unwrap();
        assert!(
            index.contains("the release index took longer than 30s"),
            "{index}"
        );
        assert_eq!(limits.exceeded(Duration::from_secs(31), 1 << 30), None);
        let unlimited_rate = DownloadLimits {
            min_rate: 0,
            ..limits
        };
        assert_eq!(unlimited_rate.exceeded(Duration::from_secs(20), 0), None);
    }
}
