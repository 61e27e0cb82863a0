//! A small client for etcd's v3 JSON gateway (`/v3/kv/*`, `/v3/lease/*`, `/v3/watch`).
//!
//! Keys and values travel base64-encoded, 64-bit integers as decimal strings. Every call has a
//! bounded time; a member that cannot be reached is skipped for the next one of the list, and
//! the client remembers which member answered last.

use std::io::{BufRead, BufReader};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::EtcdError;

/// How long a plain call (range, put, txn, lease) may take, connection included.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// How long to wait for a connection to one member.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// The largest response read from a plain call.
const MAX_RESPONSE_BYTES: u64 = 256 << 20;

/// How to reach and authenticate to etcd.
#[derive(Debug, Clone, Default)]
pub struct EtcdOptions {
    /// The members' client URLs (`http://127.0.0.1:2379`, `https://etcd-1:2379`).
    pub endpoints: Vec<String>,
    /// A PEM file of the certificate authorities that sign the members' certificates
    /// (default: the system's roots).
    pub ca_file: Option<Vec<u8>>,
    /// A PEM client certificate and its key, for members that require client certificates.
    pub client_cert: Option<(Vec<u8>, Vec<u8>)>,
    /// An etcd user and password (etcd's own authentication).
    pub user: Option<(String, String)>,
}

/// A key and its value as etcd keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    /// The key.
    pub key: String,
    /// The value's bytes.
    pub value: Vec<u8>,
    /// The revision that created the key.
    pub create_revision: i64,
    /// The revision of the last change.
    pub mod_revision: i64,
    /// The lease the key is bound to (0: none).
    pub lease: i64,
}

/// The keys read by one range, and the store's revision at that moment.
#[derive(Debug, Clone, Default)]
pub struct Range {
    /// The store's revision when the range was read.
    pub revision: i64,
    /// The keys, in key order.
    pub kvs: Vec<KeyValue>,
}

/// The result of a conditional write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxnOutcome {
    /// The comparison held and the write was made at this revision.
    Written {
        /// The store's revision after the write.
        revision: i64,
    },
    /// The comparison failed; the key as it is now (`None`: it does not exist).
    Conflict {
        /// The key's current value.
        current: Option<KeyValue>,
    },
}

/// One write of a transaction.
#[derive(Debug, Clone)]
pub enum Write {
    /// Sets a key, bound to a lease when `lease` is not 0.
    Put {
        /// The key.
        key: String,
        /// The value.
        value: Vec<u8>,
        /// The lease (0: none).
        lease: i64,
    },
    /// Deletes a key.
    Delete {
        /// The key.
        key: String,
    },
    /// Deletes every key under a prefix.
    DeletePrefix {
        /// The prefix.
        prefix: String,
    },
}

/// One change a watch saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchEvent {
    /// Whether the key was deleted (its `value` is then empty).
    pub deleted: bool,
    /// The key as the change left it.
    pub kv: KeyValue,
}

/// What a watch saw before it returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchOutcome {
    /// Keys changed: every change under the prefix from the start revision up to `revision`,
    /// in order, so a view read before the start and brought up to date with them is the
    /// prefix as it was at `revision`.
    Changed {
        /// The revision of the newest event.
        revision: i64,
        /// The changes.
        events: Vec<WatchEvent>,
    },
    /// Nothing changed within the wait.
    Quiet,
    /// The start revision was compacted away: everything must be read again.
    Compacted {
        /// The oldest revision still kept.
        compact_revision: i64,
    },
}

/// A client of the v3 JSON gateway.
#[derive(Debug, Clone)]
pub struct Etcd {
    endpoints: Vec<String>,
    agent: ureq::Agent,
    /// The member that answered last: calls start there.
    preferred: Arc<AtomicUsize>,
    user: Option<(String, String)>,
    token: Arc<std::sync::Mutex<Option<String>>>,
}

impl Etcd {
    /// A client for `options`; checks the endpoint URLs and TLS files, contacts nothing.
    pub fn new(options: EtcdOptions) -> Result<Self, EtcdError> {
        let EtcdOptions {
            endpoints,
            ca_file,
            client_cert,
            user,
        } = options;
        if endpoints.is_empty() {
            return Err(EtcdError::NoEndpoints);
        }
        let mut cleaned = Vec::new();
        for endpoint in endpoints {
            let endpoint = endpoint.trim().trim_end_matches('/').to_owned();
            let rest = endpoint
                .strip_prefix("http://")
                .or_else(|| endpoint.strip_prefix("https://"));
            match rest {
                Some(host) if !host.is_empty() && !host.contains('/') => cleaned.push(endpoint),
                _ => return Err(EtcdError::BadEndpoint { endpoint }),
            }
        }
        let mut tls = ureq::tls::TlsConfig::builder();
        if let Some(pem) = ca_file {
            let certs = ureq::tls::parse_pem(&pem)
                .filter_map(|item| match item {
                    Ok(ureq::tls::PemItem::Certificate(cert)) => Some(Ok(cert)),
                    Ok(_) => None,
                    Err(error) => Some(Err(error)),
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(|error| EtcdError::Tls {
                    what: "the CA file",
                    reason: error.to_string(),
                })?;
            if certs.is_empty() {
                return Err(EtcdError::Tls {
                    what: "the CA file",
                    reason: "it holds no PEM certificate".to_owned(),
                });
            }
            tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&certs));
        }
        if let Some((cert, key)) = client_cert {
            let cert = ureq::tls::Certificate::from_pem(&cert).map_err(|e| EtcdError::Tls {
                what: "the client certificate",
                reason: e.to_string(),
            })?;
            let key = ureq::tls::PrivateKey::from_pem(&key).map_err(|e| EtcdError::Tls {
                what: "the client key",
                reason: e.to_string(),
            })?;
            tls = tls.client_cert(Some(ureq::tls::ClientCert::new_with_certs(&[cert], key)));
        }
        let agent = ureq::Agent::config_builder()
            .user_agent(concat!("goshift/", env!("CARGO_PKG_VERSION")))
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_global(Some(CALL_TIMEOUT))
            .http_status_as_error(false)
            .tls_config(tls.build())
            .build()
            .new_agent();
        Ok(Self {
            endpoints: cleaned,
            agent,
            preferred: Arc::new(AtomicUsize::new(0)),
            user,
            token: Arc::new(std::sync::Mutex::new(None)),
        })
    }

    /// The members' URLs.
    pub fn endpoints(&self) -> &[String] {
        &self.endpoints
    }

    /// Reads one key.
    pub fn get(&self, key: &str) -> Result<(Option<KeyValue>, i64), EtcdError> {
        let reply = self.call("/v3/kv/range", &json!({ "key": encode(key) }))?;
        let range = parse_range(&reply)?;
        Ok((range.kvs.into_iter().next(), range.revision))
    }

    /// Reads every key under `prefix`.
    pub fn get_prefix(&self, prefix: &str) -> Result<Range, EtcdError> {
        let reply = self.call(
            "/v3/kv/range",
            &json!({ "key": encode(prefix), "range_end": encode_bytes(&prefix_end(prefix)) }),
        )?;
        parse_range(&reply)
    }

    /// Sets a key unconditionally.
    pub fn put(&self, key: &str, value: &[u8], lease: i64) -> Result<i64, EtcdError> {
        let reply = self.call("/v3/kv/put", &put_body(key, value, lease))?;
        Ok(header_revision(&reply))
    }

    /// Deletes a key; returns whether it existed.
    pub fn delete(&self, key: &str) -> Result<bool, EtcdError> {
        let reply = self.call("/v3/kv/deleterange", &json!({ "key": encode(key) }))?;
        Ok(int(&reply["deleted"]) > 0)
    }

    /// Makes `writes` only if `key` was last changed at `mod_revision` (0: the key does not
    /// exist). The conflict names the key as it is now.
    pub fn txn_if_unchanged(
        &self,
        key: &str,
        mod_revision: i64,
        writes: &[Write],
    ) -> Result<TxnOutcome, EtcdError> {
        let compare = json!({
            "target": "MOD",
            "result": "EQUAL",
            "key": encode(key),
            "mod_revision": mod_revision.to_string(),
        });
        let success = writes_json(writes);
        let reply = self.call(
            "/v3/kv/txn",
            &json!({
                "compare": [compare],
                "success": success,
                "failure": [{ "request_range": { "key": encode(key) } }],
            }),
        )?;
        if reply["succeeded"].as_bool() == Some(true) {
            return Ok(TxnOutcome::Written {
                revision: header_revision(&reply),
            });
        }
        let current = reply["responses"]
            .as_array()
            .and_then(|responses| responses.first())
            .map(|response| parse_range(&response["response_range"]))
            .transpose()?
            .and_then(|range| range.kvs.into_iter().next());
        Ok(TxnOutcome::Conflict { current })
    }

    /// Makes `writes` only if no key under `prefix` changed after `revision` (the revision a
    /// decision was read at), so a decision taken on a stale view is never written. Returns
    /// whether the writes were made. (A key deleted since is not seen; deletions only free
    /// slots here.)
    pub fn txn_if_prefix_unchanged(
        &self,
        prefix: &str,
        revision: i64,
        writes: &[Write],
    ) -> Result<bool, EtcdError> {
        let compare = json!({
            "target": "MOD",
            "result": "LESS",
            "key": encode(prefix),
            "range_end": encode_bytes(&prefix_end(prefix)),
            "mod_revision": (revision + 1).to_string(),
        });
        let reply = self.call(
            "/v3/kv/txn",
            &json!({ "compare": [compare], "success": writes_json(writes) }),
        )?;
        Ok(reply["succeeded"].as_bool() == Some(true))
    }

    /// Grants a lease of `ttl` seconds.
    pub fn grant_lease(&self, ttl: i64) -> Result<i64, EtcdError> {
        let reply = self.call("/v3/lease/grant", &json!({ "TTL": ttl.to_string() }))?;
        let id = int(&reply["ID"]);
        if id == 0 {
            return Err(EtcdError::Decode {
                what: "the lease grant",
                reason: "no lease id".to_owned(),
            });
        }
        Ok(id)
    }

    /// Renews a lease; returns its remaining time to live in seconds, 0 when it expired.
    pub fn keep_alive(&self, lease: i64) -> Result<i64, EtcdError> {
        let reply = self.call("/v3/lease/keepalive", &json!({ "ID": lease.to_string() }))?;
        Ok(int(&reply["result"]["TTL"]))
    }

    /// Ends a lease now, deleting the keys bound to it.
    pub fn revoke_lease(&self, lease: i64) -> Result<(), EtcdError> {
        match self.call("/v3/lease/revoke", &json!({ "ID": lease.to_string() })) {
            Ok(_) => Ok(()),
            // Already gone: what was asked holds.
            Err(EtcdError::Server { message, .. }) if message.contains("lease not found") => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// Waits up to `wait` for a change under `prefix` at or after `start_revision`.
    pub fn watch_prefix(
        &self,
        prefix: &str,
        start_revision: i64,
        wait: Duration,
    ) -> Result<WatchOutcome, EtcdError> {
        let body = json!({
            "create_request": {
                "key": encode(prefix),
                "range_end": encode_bytes(&prefix_end(prefix)),
                "start_revision": start_revision.to_string(),
            }
        });
        let (index, response) = self.send("/v3/watch", &body, Some(wait))?;
        let mut reader = BufReader::new(response.into_body().into_reader());
        let mut line = String::new();
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) => return Ok(WatchOutcome::Quiet),
                Ok(_) => {}
                Err(error) if is_timeout(&error) => return Ok(WatchOutcome::Quiet),
                Err(error) => {
                    return Err(EtcdError::Unreachable {
                        endpoints: self.endpoints[index].clone(),
                        reason: error.to_string(),
                    });
                }
            }
            let message: Value =
                serde_json::from_str(line.trim()).map_err(|error| EtcdError::Decode {
                    what: "a watch response",
                    reason: error.to_string(),
                })?;
            if let Some(error) = message.get("error") {
                return Err(server_error(&self.endpoints[index], error));
            }
            let result = &message["result"];
            let compact = int(&result["compact_revision"]);
            if compact > 0 {
                return Ok(WatchOutcome::Compacted {
                    compact_revision: compact,
                });
            }
            if result["canceled"].as_bool() == Some(true) {
                return Err(EtcdError::Server {
                    endpoint: self.endpoints[index].clone(),
                    message: result["cancel_reason"]
                        .as_str()
                        .unwrap_or("the watch was canceled")
                        .to_owned(),
                });
            }
            if let Some(events) = result["events"].as_array()
                && !events.is_empty()
            {
                return parse_events(events, header_revision(result));
            }
        }
    }

    /// Posts `body` to `path` and returns the JSON reply; a gateway error is an error.
    fn call(&self, path: &str, body: &Value) -> Result<Value, EtcdError> {
        let (index, response) = self.send(path, body, None)?;
        let endpoint = &self.endpoints[index];
        let value = read_json(endpoint, response, path)?;
        // The keep-alive stream wraps its answer in `result`; it may carry the error there.
        if let Some(error) = value.get("result").and_then(|r| r.get("error")) {
            return Err(server_error(endpoint, error));
        }
        Ok(value)
    }

    /// Sends a request to the first member that answers, starting with the one that
    /// answered last. `wait` replaces the call timeout (watches).
    fn send(
        &self,
        path: &str,
        body: &Value,
        wait: Option<Duration>,
    ) -> Result<(usize, ureq::http::Response<ureq::Body>), EtcdError> {
        let first = self.preferred.load(Ordering::Relaxed) % self.endpoints.len();
        let mut failures = Vec::new();
        for step in 0..self.endpoints.len() {
            let index = (first + step) % self.endpoints.len();
            let endpoint = &self.endpoints[index];
            let mut request = self
                .agent
                .post(format!("{endpoint}{path}"))
                .header("content-type", "application/json");
            if let Some(token) = self.token(index)? {
                request = request.header("authorization", token);
            }
            let request = match wait {
                Some(wait) => request.config().timeout_global(Some(wait)).build(),
                None => request.config().build(),
            };
            match request.send(body.to_string()) {
                Ok(response) => {
                    let status = response.status().as_u16();
                    if status == 401 || status == 403 {
                        *self.lock_token() = None;
                    }
                    if status >= 500 && status != 503 && self.endpoints.len() > step + 1 {
                        failures.push(format!("{endpoint}: HTTP {status}"));
                        continue;
                    }
                    if status == 404 {
                        return Err(EtcdError::Server {
                            endpoint: endpoint.clone(),
                            message: format!(
                                "{path} does not exist: is this etcd 3.4 or newer, with its JSON gateway on?"
                            ),
                        });
                    }
                    self.preferred.store(index, Ordering::Relaxed);
                    return Ok((index, response));
                }
                Err(error) => failures.push(format!("{endpoint}: {error}")),
            }
        }
        Err(EtcdError::Unreachable {
            endpoints: self.endpoints.join(", "),
            reason: failures.join("; "),
        })
    }

    fn lock_token(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.token
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The auth token, fetched from member `index` when there is a user and none yet.
    fn token(&self, index: usize) -> Result<Option<String>, EtcdError> {
        let Some((name, password)) = &self.user else {
            return Ok(None);
        };
        if let Some(token) = self.lock_token().clone() {
            return Ok(Some(token));
        }
        let endpoint = &self.endpoints[index];
        let response = self
            .agent
            .post(format!("{endpoint}/v3/auth/authenticate"))
            .send(json!({ "name": name, "password": password }).to_string())
            .map_err(|error| EtcdError::Unreachable {
                endpoints: endpoint.clone(),
                reason: error.to_string(),
            })?;
        let value = read_json(endpoint, response, "/v3/auth/authenticate")?;
        let token = value["token"]
            .as_str()
            .ok_or_else(|| EtcdError::Decode {
                what: "the authentication reply",
                reason: "no token".to_owned(),
            })?
            .to_owned();
        *self.lock_token() = Some(token.clone());
        Ok(Some(token))
    }
}

/// The `success` operations of a transaction.
fn writes_json(writes: &[Write]) -> Vec<Value> {
    writes
        .iter()
        .map(|write| match write {
            Write::Put { key, value, lease } => {
                json!({ "request_put": put_body(key, value, *lease) })
            }
            Write::Delete { key } => json!({ "request_delete_range": { "key": encode(key) } }),
            Write::DeletePrefix { prefix } => json!({ "request_delete_range": {
                "key": encode(prefix),
                "range_end": encode_bytes(&prefix_end(prefix)),
            } }),
        })
        .collect()
}

/// Reads a reply's JSON body; a gateway error in it is an error.
fn read_json(
    endpoint: &str,
    response: ureq::http::Response<ureq::Body>,
    path: &str,
) -> Result<Value, EtcdError> {
    let text = response
        .into_body()
        .with_config()
        .limit(MAX_RESPONSE_BYTES)
        .read_to_string()
        .map_err(|error| EtcdError::Unreachable {
            endpoints: endpoint.to_owned(),
            reason: error.to_string(),
        })?;
    let value: Value = serde_json::from_str(&text).map_err(|error| EtcdError::Decode {
        what: "a reply",
        reason: format!("{error} (from {endpoint}{path})"),
    })?;
    if let Some(error) = value.get("error") {
        return Err(server_error(endpoint, error));
    }
    Ok(value)
}

/// The first key after every key that starts with `prefix`: etcd's `range_end` for a prefix.
pub fn prefix_end(prefix: &str) -> Vec<u8> {
    let mut end = prefix.as_bytes().to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    // Every byte was 0xff: the range runs to the end of the key space.
    vec![0]
}

fn encode(text: &str) -> String {
    BASE64.encode(text.as_bytes())
}

fn encode_bytes(bytes: &[u8]) -> String {
    BASE64.encode(bytes)
}

fn put_body(key: &str, value: &[u8], lease: i64) -> Value {
    let mut body = json!({ "key": encode(key), "value": encode_bytes(value) });
    if lease != 0 {
        body["lease"] = json!(lease.to_string());
    }
    body
}

/// A gateway integer: a decimal string, a JSON number, or absent (0).
fn int(value: &Value) -> i64 {
    match value {
        Value::String(text) => text.parse().unwrap_or(0),
        Value::Number(number) => number.as_i64().unwrap_or(0),
        _ => 0,
    }
}

fn header_revision(reply: &Value) -> i64 {
    int(&reply["header"]["revision"])
}

#[derive(Deserialize)]
struct RawKv {
    key: String,
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    create_revision: Value,
    #[serde(default)]
    mod_revision: Value,
    #[serde(default)]
    lease: Value,
}

fn parse_range(reply: &Value) -> Result<Range, EtcdError> {
    let kvs = reply["kvs"]
        .as_array()
        .into_iter()
        .flatten()
        .map(parse_kv)
        .collect::<Result<_, _>>()?;
    Ok(Range {
        revision: header_revision(reply),
        kvs,
    })
}

/// The events of a watch response (a `PUT` has no `type`: the gateway leaves out defaults).
fn parse_events(events: &[Value], header: i64) -> Result<WatchOutcome, EtcdError> {
    let events = events
        .iter()
        .map(|event| {
            Ok(WatchEvent {
                deleted: event["type"] == "DELETE",
                kv: parse_kv(&event["kv"])?,
            })
        })
        .collect::<Result<Vec<_>, EtcdError>>()?;
    let revision = events
        .iter()
        .map(|event| event.kv.mod_revision)
        .max()
        .unwrap_or(header);
    Ok(WatchOutcome::Changed { revision, events })
}

fn parse_kv(item: &Value) -> Result<KeyValue, EtcdError> {
    let raw: RawKv = serde_json::from_value(item.clone()).map_err(|error| EtcdError::Decode {
        what: "a key",
        reason: error.to_string(),
    })?;
    let key = BASE64
        .decode(&raw.key)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| EtcdError::Decode {
            what: "a key",
            reason: format!("`{}` is not base64 of UTF-8 text", raw.key),
        })?;
    let value = BASE64
        .decode(raw.value.unwrap_or_default())
        .map_err(|error| EtcdError::Decode {
            what: "a value",
            reason: format!("{key}: {error}"),
        })?;
    Ok(KeyValue {
        key,
        value,
        create_revision: int(&raw.create_revision),
        mod_revision: int(&raw.mod_revision),
        lease: int(&raw.lease),
    })
}

fn server_error(endpoint: &str, error: &Value) -> EtcdError {
    let message = match error {
        Value::String(text) => text.clone(),
        other => other["message"]
            .as_str()
            .map_or_else(|| other.to_string(), ToOwned::to_owned),
    };
    if message.contains("required revision has been compacted") {
        return EtcdError::Compacted;
    }
    EtcdError::Server {
        endpoint: endpoint.to_owned(),
        message,
    }
}

fn is_timeout(error: &std::io::Error) -> bool {
    if matches!(
        error.kind(),
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
    ) {
        return true;
    }
    error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<ureq::Error>())
        .is_some_and(|inner| matches!(inner, ureq::Error::Timeout(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_ends() {
        assert_eq!(prefix_end("/goshift/"), b"/goshift0".to_vec());
        assert_eq!(prefix_end("a\u{7f}"), b"a\x80".to_vec());
        assert_eq!(prefix_end(""), vec![0]);
    }

    #[test]
    fn integers_come_as_strings_or_numbers() {
        assert_eq!(int(&json!("42")), 42);
        assert_eq!(int(&json!(7)), 7);
        assert_eq!(int(&Value::Null), 0);
    }

    #[test]
    fn ranges_decode() {
        let reply = json!({
            "header": { "revision": "9" },
            "kvs": [{ "key": encode("k"), "value": encode("v"), "mod_revision": "8", "create_revision": "3" }]
        });
        let range = parse_range(&reply).unwrap();
        assert_eq!(range.revision, 9);
        assert_eq!(range.kvs[0].key, "k");
        assert_eq!(range.kvs[0].value, b"v");
        assert_eq!(range.kvs[0].mod_revision, 8);
        assert!(parse_range(&json!({ "kvs": [{ "key": "!!" }] })).is_err());
    }

    #[test]
    fn endpoints_are_checked() {
        let bad = |endpoint: &str| {
            Etcd::new(EtcdOptions {
                endpoints: vec![endpoint.to_owned()],
                ..EtcdOptions::default()
            })
            .is_err()
        };
        assert!(bad("127.0.0.1:2379"));
        assert!(bad("ftp://x"));
        assert!(bad("http://host/path"));
        assert!(!bad("http://127.0.0.1:2379/"));
        assert!(matches!(
            Etcd::new(EtcdOptions::default()),
            Err(EtcdError::NoEndpoints)
        ));
    }
}
