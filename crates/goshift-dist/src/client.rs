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
}

/// An open download: the body as a [`Read`], and its length when the server announced it.
pub struct Download {
    reader: Box<dyn Read + Send>,
    content_length: Option<u64>,
}

impl Client {
    /// A client with connect and read timeouts and a `goshift/<version>` user agent, without
    /// a proxy.
    pub fn new() -> Self {
        Self {
            remote: agent(None),
            loopback: agent(None),
        }
    }

    /// Like [`Client::new`], with requests to remote hosts sent through `proxy`
    /// (`http://host:port`, `socks5://host:port`; typically the value of `HTTPS_PROXY`).
    pub fn with_proxy(proxy: &str) -> Result<Self, DistError> {
        let parsed = ureq::Proxy::new(proxy).map_err(|_| DistError::InvalidUrl {
            url: proxy.to_owned(),
            reason: "it is not a proxy URL such as `http://proxy.example:3128`",
        })?;
        Ok(Self {
            remote: agent(Some(parsed)),
            loopback: agent(None),
        })
    }

    /// Fetches and parses the index named by `sources`.
    pub fn fetch_index(&self, sources: &Sources) -> Result<Index, DistError> {
        let download = self.open(&sources.index_url, sources.allow_insecure_http)?;
        let mut bytes = Vec::new();
        let read = download
            .take(MAX_INDEX_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|source| DistError::Read { bytes: 0, source })?;
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
                Ok(Download {
                    reader: Box::new(file),
                    content_length,
                })
            }
            Location::Remote { .. } => self.open_remote(url, location, allow_insecure_http),
        }
    }

    /// Requests `url`, following redirects hop by hop so that every hop passes the URL
    /// policy and picks the loopback or remote agent for itself.
    fn open_remote(
        &self,
        url: &str,
        mut location: Location,
        allow_insecure_http: bool,
    ) -> Result<Download, DistError> {
        let mut current = url.to_owned();
        for _ in 0..=MAX_REDIRECTS {
            let agent = if location.is_loopback() {
                &self.loopback
            } else {
                &self.remote
            };
            let response = agent.get(&current).call().map_err(|error| match error {
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
            let body = response.into_body();
            let content_length = body.content_length();
            return Ok(Download {
                reader: Box::new(body.into_reader()),
                content_length,
            });
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
    /// The announced length of the body, if known.
    pub fn content_length(&self) -> Option<u64> {
        self.content_length
    }
}

impl Read for Download {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reader.read(buf)
    }
}

impl std::fmt::Debug for Download {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Download")
            .field("content_length", &self.content_length)
            .finish_non_exhaustive()
    }
}

fn agent(proxy: Option<ureq::Proxy>) -> ureq::Agent {
    ureq::Agent::config_builder()
        .user_agent(concat!("goshift/", env!("CARGO_PKG_VERSION")))
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .timeout_recv_response(Some(FIRST_BYTE_TIMEOUT))
        .timeout_per_read(Some(READ_TIMEOUT))
        .proxy(proxy)
        // Redirects are followed by `open_remote`, which checks every hop.
        .max_redirects(0)
        .build()
        .new_agent()
}
