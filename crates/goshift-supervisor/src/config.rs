//! The service file: what to run, which sockets to own, how to tell readiness and how to stop.
//!
//! [`Config::parse`] turns TOML text into a validated [`Config`]; every later step relies on
//! its invariants (unique listener names, parseable addresses, known signals, at least one
//! readiness source), so nothing is started when the file is wrong.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::analysis::AnalysisConfig;
use crate::error::ConfigError;

/// A validated service file.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The control socket path, if the file sets one.
    pub control: Option<PathBuf>,
    /// The address the Prometheus endpoint listens on, if any.
    pub metrics: Option<SocketAddr>,
    /// The services, by name.
    pub services: BTreeMap<String, ServiceConfig>,
}

/// One service.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceConfig {
    /// The service name (the key under `[services]`).
    pub name: String,
    /// The first release's binary; later ones come from the release store.
    pub binary: PathBuf,
    /// Arguments after the program name.
    pub args: Vec<String>,
    /// Extra environment variables.
    pub env: BTreeMap<String, String>,
    /// The working directory, if set.
    pub cwd: Option<PathBuf>,
    /// The listeners the supervisor binds and hands to every generation, in fd order.
    pub listen: Vec<ListenConfig>,
    /// How readiness is told.
    pub ready: ReadyConfig,
    /// How a generation is stopped.
    pub stop: StopConfig,
    /// How long after an upgrade a death of the new generation still rolls back.
    pub watch: Duration,
    /// How long both generations serve side by side once the new one is ready, before the
    /// old one gets its stop signal; `None` (the default) stops the old one at once.
    pub bake: Option<Duration>,
    /// Restart backoff for deaths outside an upgrade.
    pub restart: RestartConfig,
    /// The name in `LISTEN_FDNAMES` under which each generation gets a private admin
    /// listener, or `None` when it gets none (only its own sockets).
    pub admin: Option<String>,
    /// The checks that judge a new generation from its readiness to the end of the watch
    /// window (`[services.NAME.analysis]`); empty when the section is absent.
    pub analysis: AnalysisConfig,
}

/// The admin listener's name when none is given.
pub(crate) const DEFAULT_ADMIN_NAME: &str = "admin";

/// A named listening socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenConfig {
    /// The name given in `LISTEN_FDNAMES`.
    pub name: String,
    /// Where it listens.
    pub address: ListenAddress,
}

/// Where a listener listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenAddress {
    /// A TCP socket (IPv4 or IPv6).
    Tcp(SocketAddr),
    /// A Unix stream socket at a path, with the file mode to set.
    Unix {
        /// The socket path.
        path: PathBuf,
        /// The file mode (e.g. `0o660`).
        mode: u32,
    },
}

/// How readiness is told; any source that reports ready makes the generation ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadyConfig {
    /// `READY=1` on the generation's `NOTIFY_SOCKET` counts.
    pub notify: bool,
    /// An HTTP GET of this path on the admin listener answering 2xx counts.
    pub http: Option<String>,
    /// The generation accepting a TCP connection on its admin listener counts.
    pub tcp: bool,
    /// How long a new generation may take; `EXTEND_TIMEOUT_USEC` extends it.
    pub timeout: Duration,
}

/// How a generation is stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StopConfig {
    /// The signal that asks it to drain and exit.
    pub signal: i32,
    /// How long it may drain before `SIGKILL`.
    pub grace: Duration,
}

/// Restart backoff: doubles from `backoff` up to `max` while restarts keep failing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestartConfig {
    /// The first delay.
    pub backoff: Duration,
    /// The largest delay.
    pub max: Duration,
}

/// The most a service file may hold: real ones are a few KiB; a device such as `/dev/zero`
/// or a runaway file is refused instead of read until memory runs out.
const MAX_SERVICE_FILE_BYTES: u64 = 1 << 20;

impl Config {
    /// Reads and validates a service file: a regular file of at most 1 MiB.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text =
            goshift_fs::read_text_limited(path, MAX_SERVICE_FILE_BYTES).map_err(|source| {
                ConfigError::Read {
                    path: path.to_owned(),
                    source,
                }
            })?;
        Self::parse(&text, path.parent().unwrap_or(Path::new(".")))
    }

    /// Parses and validates TOML text; relative paths are taken relative to `base`.
    pub fn parse(text: &str, base: &Path) -> Result<Self, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            message: e.to_string(),
        })?;
        let metrics = raw
            .metrics
            .map(|text| {
                text.parse::<SocketAddr>()
                    .map_err(|_| ConfigError::BadAddress {
                        field: "metrics".into(),
                        address: text.clone(),
                    })
            })
            .transpose()?;
        if raw.services.is_empty() {
            return Err(ConfigError::NoServices);
        }
        let mut services = BTreeMap::new();
        for (name, service) in raw.services {
            let service = service.resolve(&name, base)?;
            services.insert(name, service);
        }
        Ok(Self {
            control: raw.control.map(|p| base.join(p)),
            metrics,
            services,
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    control: Option<PathBuf>,
    metrics: Option<String>,
    #[serde(default)]
    services: BTreeMap<String, RawService>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawService {
    binary: PathBuf,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    cwd: Option<PathBuf>,
    #[serde(default)]
    listen: Vec<RawListen>,
    #[serde(default)]
    ready: RawReady,
    #[serde(default)]
    stop: RawStop,
    watch: Option<String>,
    bake: Option<String>,
    #[serde(default)]
    restart: RawRestart,
    analysis: Option<toml::Table>,
    admin: Option<RawAdmin>,
}

/// `admin = true | false | "NAME"`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawAdmin {
    On(bool),
    Named(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawListen {
    name: String,
    address: String,
    mode: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReady {
    notify: Option<bool>,
    http: Option<String>,
    tcp: Option<bool>,
    timeout: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStop {
    signal: Option<String>,
    grace: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRestart {
    backoff: Option<String>,
    max: Option<String>,
}

impl RawStop {
    fn resolve(self, service: &str) -> Result<StopConfig, ConfigError> {
        Ok(StopConfig {
            signal: match self.signal {
                None => libc::SIGTERM,
                Some(text) => parse_signal(&text).ok_or_else(|| ConfigError::BadSignal {
                    service: service.to_owned(),
                    signal: text,
                })?,
            },
            grace: parse_duration(service, "stop.grace", self.grace, Duration::from_secs(30))?,
        })
    }
}

impl RawRestart {
    fn resolve(self, service: &str) -> Result<RestartConfig, ConfigError> {
        Ok(RestartConfig {
            backoff: parse_duration(
                service,
                "restart.backoff",
                self.backoff,
                Duration::from_secs(1),
            )?,
            max: parse_duration(service, "restart.max", self.max, Duration::from_secs(30))?,
        })
    }
}

impl RawService {
    fn resolve(self, name: &str, base: &Path) -> Result<ServiceConfig, ConfigError> {
        let Self {
            binary,
            args,
            env,
            cwd,
            listen,
            ready,
            stop,
            watch,
            bake,
            restart,
            admin,
            analysis,
        } = self;
        let service = name.to_owned();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(ConfigError::BadServiceName { name: service });
        }
        let stop = stop.resolve(&service)?;
        let watch = parse_duration(&service, "watch", watch, Duration::from_secs(10))?;
        let baking = parse_bake(&service, bake)?;
        let restart = restart.resolve(&service)?;
        let ready = ready.resolve(&service)?;
        let listen = resolve_listeners(listen, &service, base)?;
        let admin = resolve_admin(admin, &ready, &listen, &service)?;
        Ok(ServiceConfig {
            listen,
            ready,
            admin,
            name: service,
            binary: base.join(binary),
            args,
            env,
            cwd: cwd.map(|c| base.join(c)),
            stop,
            watch,
            bake: baking,
            restart,
            analysis: analysis
                .map(AnalysisConfig::from_table)
                .transpose()
                .map_err(|source| ConfigError::Analysis {
                    service: name.to_owned(),
                    source,
                })?
                .unwrap_or_default(),
        })
    }
}

/// The admin listener's name: passed when the service file asks for it, or when a readiness
/// probe needs it; never under a listener's name.
fn resolve_admin(
    admin: Option<RawAdmin>,
    ready: &ReadyConfig,
    listen: &[ListenConfig],
    service: &str,
) -> Result<Option<String>, ConfigError> {
    let probed = ready.http.is_some() || ready.tcp;
    let name = match admin {
        None => probed.then(|| DEFAULT_ADMIN_NAME.to_owned()),
        Some(RawAdmin::On(true)) => Some(DEFAULT_ADMIN_NAME.to_owned()),
        Some(RawAdmin::On(false)) if probed => {
            return Err(ConfigError::AdminNeeded {
                service: service.to_owned(),
            });
        }
        Some(RawAdmin::On(false)) => None,
        Some(RawAdmin::Named(name)) => {
            if !is_fd_name(&name) {
                return Err(ConfigError::BadAdminName {
                    service: service.to_owned(),
                    name,
                });
            }
            Some(name)
        }
    };
    if let Some(name) = &name
        && listen.iter().any(|l| &l.name == name)
    {
        return Err(ConfigError::AdminNameTaken {
            service: service.to_owned(),
            name: name.clone(),
        });
    }
    Ok(name)
}

/// A name `LISTEN_FDNAMES` can carry: 1 to 255 printable ASCII characters without `:`.
fn is_fd_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 255 && name.chars().all(|c| c.is_ascii_graphic() && c != ':')
}

/// A duration field of `service`, or `default` when it is not set.
fn parse_duration(
    service: &str,
    field: &str,
    value: Option<String>,
    default: Duration,
) -> Result<Duration, ConfigError> {
    value.map_or(Ok(default), |text| {
        humantime::parse_duration(&text).map_err(|e| ConfigError::BadDuration {
            service: service.to_owned(),
            field: field.to_owned(),
            value: text.clone(),
            reason: e.to_string(),
        })
    })
}

/// `bake`: off when absent; a zero period is refused rather than read as off, so that the
/// file says what it means.
fn parse_bake(service: &str, value: Option<String>) -> Result<Option<Duration>, ConfigError> {
    let Some(text) = value else {
        return Ok(None);
    };
    let bake = parse_duration(service, "bake", Some(text.clone()), Duration::ZERO)?;
    if bake.is_zero() {
        return Err(ConfigError::ZeroBake {
            service: service.to_owned(),
            value: text,
        });
    }
    Ok(Some(bake))
}

fn resolve_listeners(
    listen: Vec<RawListen>,
    service: &str,
    base: &Path,
) -> Result<Vec<ListenConfig>, ConfigError> {
    let mut listeners: Vec<ListenConfig> = Vec::new();
    for entry in listen {
        let listener = entry.resolve(service, base)?;
        if listeners.iter().any(|l| l.name == listener.name) {
            return Err(ConfigError::DuplicateListener {
                service: service.to_owned(),
                name: listener.name,
            });
        }
        listeners.push(listener);
    }
    Ok(listeners)
}

impl RawReady {
    /// `notify` defaults to on unless a probe is set; at least one source must be on.
    fn resolve(self, service: &str) -> Result<ReadyConfig, ConfigError> {
        let ready = ReadyConfig {
            notify: self
                .notify
                .unwrap_or(self.http.is_none() && self.tcp != Some(true)),
            tcp: self.tcp.unwrap_or(false),
            http: match self.http {
                Some(path) if !path.starts_with('/') => {
                    return Err(ConfigError::BadProbePath {
                        service: service.to_owned(),
                        path,
                    });
                }
                other => other,
            },
            timeout: parse_duration(
                service,
                "ready.timeout",
                self.timeout,
                Duration::from_secs(30),
            )?,
        };
        if !ready.notify && !ready.tcp && ready.http.is_none() {
            return Err(ConfigError::NoReadiness {
                service: service.to_owned(),
            });
        }
        Ok(ready)
    }
}

impl RawListen {
    fn resolve(self, service: &str, base: &Path) -> Result<ListenConfig, ConfigError> {
        let Self {
            name,
            address,
            mode,
        } = self;
        if !is_fd_name(&name) {
            return Err(ConfigError::BadListenerName {
                service: service.to_owned(),
                name,
            });
        }
        let bad = || ConfigError::BadAddress {
            field: format!("services.{service}.listen.{name}"),
            address: address.clone(),
        };
        let parsed = if let Some(rest) = address.strip_prefix("tcp://") {
            ListenAddress::Tcp(rest.parse().map_err(|_| bad())?)
        } else if let Some(rest) = address.strip_prefix("unix:") {
            let rest = rest.strip_prefix("//").unwrap_or(rest);
            if rest.is_empty() {
                return Err(bad());
            }
            let mode = match mode.as_deref() {
                None => 0o660,
                Some(text) => u32::from_str_radix(text.trim_start_matches("0o"), 8)
                    .ok()
                    .filter(|m| *m <= 0o777)
                    .ok_or_else(|| ConfigError::BadMode {
                        service: service.to_owned(),
                        mode: text.to_owned(),
                    })?,
            };
            ListenAddress::Unix {
                path: base.join(rest),
                mode,
            }
        } else {
            return Err(bad());
        };
        Ok(ListenConfig {
            name,
            address: parsed,
        })
    }
}

/// Parses a signal name (`SIGTERM`, `TERM`, `15`). `SIGQUIT` is refused: Go dumps every
/// goroutine's stack and exits on it, which is not a graceful stop.
pub fn parse_signal(text: &str) -> Option<i32> {
    let name = text.trim().to_ascii_uppercase();
    let name = name.strip_prefix("SIG").unwrap_or(&name);
    Some(match name {
        "TERM" | "15" => libc::SIGTERM,
        "INT" | "2" => libc::SIGINT,
        "HUP" | "1" => libc::SIGHUP,
        "USR1" => libc::SIGUSR1,
        "USR2" => libc::SIGUSR2,
        "KILL" | "9" => libc::SIGKILL,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
control = "run/sup.sock"
metrics = "127.0.0.1:9464"

[services.api]
binary = "/srv/api"
args = ["-v"]
env = { GOMAXPROCS = "2" }
listen = [{ name = "http", address = "tcp://[::1]:8080" },
          { name = "grpc", address = "unix:/run/api/grpc.sock", mode = "0600" }]
ready = { notify = true, timeout = "5s" }
stop = { signal = "SIGINT", grace = "2s" }
watch = "3s"
bake = "4s"
restart = { backoff = "100ms", max = "2s" }
"#;

    #[test]
    fn parses_a_full_file() {
        let config = Config::parse(GOOD, Path::new("/etc/goshift")).unwrap();
        assert_eq!(
            config.control,
            Some(PathBuf::from("/etc/goshift/run/sup.sock"))
        );
        let api = &config.services["api"];
        assert_eq!(api.listen.len(), 2);
        assert_eq!(
            api.listen[0].address,
            ListenAddress::Tcp("[::1]:8080".parse().unwrap())
        );
        assert_eq!(
            api.listen[1].address,
            ListenAddress::Unix {
                path: "/run/api/grpc.sock".into(),
                mode: 0o600
            }
        );
        assert_eq!(api.stop.signal, libc::SIGINT);
        assert_eq!(api.ready.timeout, Duration::from_secs(5));
        assert_eq!(api.restart.backoff, Duration::from_millis(100));
        assert_eq!(api.bake, Some(Duration::from_secs(4)));
        let plain = Config::parse("[services.a]\nbinary='x'", Path::new("/")).unwrap();
        assert_eq!(plain.services["a"].bake, None, "bake is off by default");
    }

    #[test]
    fn the_admin_listener_is_passed_only_when_used() {
        let admin = |lines: &str| {
            let text = format!("[services.a]\nbinary='x'\n{lines}");
            Config::parse(&text, Path::new("/")).unwrap().services["a"]
                .admin
                .clone()
        };
        assert_eq!(admin(""), None, "nothing uses it");
        assert_eq!(admin("ready={notify=true}"), None);
        assert_eq!(admin("ready={http='/healthz'}").as_deref(), Some("admin"));
        assert_eq!(admin("ready={tcp=true}").as_deref(), Some("admin"));
        assert_eq!(admin("admin=true").as_deref(), Some("admin"));
        assert_eq!(admin("admin=false"), None);
        assert_eq!(
            admin("admin='goshift-admin'\nready={http='/h'}").as_deref(),
            Some("goshift-admin")
        );
        // Without an admin listener, `admin` is an ordinary listener name.
        let text = "[services.a]\nbinary='x'\nlisten=[{name='admin',address='tcp://127.0.0.1:1'}]";
        assert_eq!(
            Config::parse(text, Path::new("/")).unwrap().services["a"].admin,
            None
        );
    }

    #[test]
    fn reads_the_analysis_section_with_the_service() {
        let text = "[services.a]\nbinary='x'\n[services.a.analysis.not_accepting]\n[services.a.analysis.probe]\nrequests=[{path='/healthz'}]\nsuccess_rate_min=0.9\naction='alert'\n";
        let config = Config::parse(text, Path::new("/")).unwrap();
        let analysis = &config.services["a"].analysis;
        assert!(analysis.not_accepting.is_some());
        let probe = analysis.probe.as_ref().unwrap();
        assert_eq!(probe.requests[0].path, "/healthz");
        assert_eq!(probe.cadence.action, crate::analysis::Action::Alert);
        let plain = Config::parse("[services.a]\nbinary='x'", Path::new("/")).unwrap();
        assert!(plain.services["a"].analysis.is_empty());
        let error = Config::parse(
            "[services.a]\nbinary='x'\n[services.a.analysis.probe]\nrequests=[]\n",
            Path::new("/"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("service `a`") && error.contains("analysis.probe"),
            "{error}"
        );
        let error = Config::parse(
            "[services.a]\nbinary='x'\n[services.a.analysis]\nsoon=1\n",
            Path::new("/"),
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("soon"), "{error}");
    }

    #[test]
    fn rejects_bad_files_with_a_reason() {
        let cases = [
            ("", "no services"),
            (
                "[services.a]\nbinary='x'\nstop={signal='SIGQUIT'}",
                "SIGQUIT",
            ),
            (
                "[services.a]\nbinary='x'\nlisten=[{name='h',address='tcp://nowhere'}]",
                "nowhere",
            ),
            (
                "[services.a]\nbinary='x'\nready={http='/h'}\nlisten=[{name='admin',address='tcp://127.0.0.1:1'}]",
                "also a listener's name",
            ),
            (
                "[services.a]\nbinary='x'\nadmin='probe'\nlisten=[{name='probe',address='tcp://127.0.0.1:1'}]",
                "also a listener's name",
            ),
            (
                "[services.a]\nbinary='x'\nadmin=false\nready={tcp=true}",
                "admin = false",
            ),
            (
                "[services.a]\nbinary='x'\nadmin='a:b'",
                "admin listener name",
            ),
            ("[services.a]\nbinary='x'\nadmin=''", "admin listener name"),
            ("[services.a]\nbinary='x'\nwatch='soon'", "soon"),
            ("[services.a]\nbinary='x'\nbake='soon'", "`bake` = `soon`"),
            ("[services.a]\nbinary='x'\nbake='0s'", "remove `bake`"),
            ("[services.a]\nbinary='x'\nbake=10", "bake"),
            ("[services.a]\nbinary='x'\nbogus=1", "bogus"),
            (
                "[services.a]\nbinary='x'\nready={notify=false}",
                "readiness",
            ),
            (
                "[services.a]\nbinary='x'\nlisten=[{name='h',address='tcp://127.0.0.1:1'},{name='h',address='tcp://127.0.0.1:2'}]",
                "twice",
            ),
        ];
        for (text, needle) in cases {
            let error = Config::parse(text, Path::new("/")).unwrap_err().to_string();
            assert!(error.contains(needle), "{text:?}: {error}");
        }
    }
}
