//! The `[analysis]` section of a service: which checks judge a new generation, with their
//! thresholds, intervals, failure counts and actions.
//!
//! [`AnalysisConfig::parse`] reads the section's TOML on its own (the service file's parser
//! hands it over later); every value is validated here, so an evaluator never meets a ratio
//! of zero, a rate above one or a query with an unknown placeholder.

use std::time::Duration;

use serde::Deserialize;

use super::promql::Condition;

/// What a check does when it fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Roll the upgrade back.
    Rollback,
    /// Only log an event and count it in a metric.
    Alert,
}

/// What every check has: how often it measures, after how many consecutive failed
/// measurements it acts, and what it does then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cadence {
    /// Time between two measurements.
    pub interval: Duration,
    /// Consecutive failed measurements that trigger the action (at least 1).
    pub failures: u32,
    /// What happens then.
    pub action: Action,
}

/// A validated `[analysis]` section; a check that is absent is off.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AnalysisConfig {
    /// Connections queue on the shared socket while the new generation accepts none.
    pub not_accepting: Option<NotAcceptingCheck>,
    /// Resource use of the new generation against the old one.
    pub process: Option<ProcessCheck>,
    /// Requests sent to the service's own address.
    pub probe: Option<ProbeCheck>,
    /// The service's own Prometheus metrics.
    pub metrics: Option<MetricsCheck>,
    /// `PromQL` queries against a Prometheus server.
    pub prometheus: Option<PrometheusCheck>,
}

/// `not_accepting`: no threshold of its own; a measurement fails when the listening socket's
/// queue is not empty, has not shrunk, and the generation accepted nothing since the last one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotAcceptingCheck {
    /// Interval, failures, action.
    pub cadence: Cadence,
}

/// `process`: limits on the new generation's resource use; every limit is optional, at least
/// one is set.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessCheck {
    /// Interval, failures, action.
    pub cadence: Cadence,
    /// Resident memory, bytes.
    pub rss_max: Option<u64>,
    /// Resident memory against the old generation's, as a factor.
    pub rss_ratio_max: Option<f64>,
    /// Growth of resident memory, bytes per second.
    pub rss_growth_max: Option<u64>,
    /// CPU use in cores (1.0 is one core busy).
    pub cpu_max: Option<f64>,
    /// CPU use against the old generation's, as a factor.
    pub cpu_ratio_max: Option<f64>,
    /// Threads.
    pub threads_max: Option<u64>,
    /// Threads against the old generation's, as a factor.
    pub threads_ratio_max: Option<f64>,
    /// Open file descriptors.
    pub fds_max: Option<u64>,
    /// Open file descriptors against the old generation's, as a factor.
    pub fds_ratio_max: Option<f64>,
    /// Restarts of the new generation during the watch window.
    pub restarts_max: Option<u32>,
    /// Below this CPU use (cores), the CPU ratio is not judged: an idle old generation would
    /// make any work look like a regression.
    pub cpu_floor: f64,
}

/// One request of the probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeRequest {
    /// The method, e.g. `GET`.
    pub method: String,
    /// The path with its query, starting with `/`.
    pub path: String,
    /// The status that counts as success.
    pub status: u16,
    /// The longest a request may take; a slower one is a failure.
    pub timeout: Duration,
}

/// `probe`: requests to the service's own address.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeCheck {
    /// Interval, failures, action.
    pub cadence: Cadence,
    /// The requests, all sent each interval.
    pub requests: Vec<ProbeRequest>,
    /// Lowest share of successful requests (0 to 1).
    pub success_rate_min: Option<f64>,
    /// Highest p99 latency.
    pub p99_max: Option<Duration>,
    /// Highest p99 against the baseline's, as a factor.
    pub p99_ratio_max: Option<f64>,
    /// Latencies below this are never a regression against the baseline.
    pub baseline_floor: Duration,
}

/// `metrics`: the service's own exposition, scraped from `url`.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsCheck {
    /// Interval, failures, action.
    pub cadence: Cadence,
    /// An `http://` URL on loopback.
    pub url: String,
    /// A counter of requests with a status label, e.g. `http_requests_total`.
    pub requests: Option<String>,
    /// The label holding the status code.
    pub status_label: String,
    /// A histogram of latencies in seconds, e.g. `http_request_duration_seconds`.
    pub latency: Option<String>,
    /// The quantile of the histogram that is judged (0 to 1).
    pub quantile: f64,
    /// Lowest share of requests with a status below 500.
    pub success_rate_min: Option<f64>,
    /// Highest latency quantile.
    pub latency_max: Option<Duration>,
    /// Highest latency quantile against the baseline's, as a factor.
    pub latency_ratio_max: Option<f64>,
    /// Latencies below this are never a regression against the baseline.
    pub baseline_floor: Duration,
}

/// `prometheus`: `PromQL` queries against a server.
#[derive(Debug, Clone, PartialEq)]
pub struct PrometheusCheck {
    /// The server's base URL (`http://`), without `/api/v1/query`.
    pub url: String,
    /// The queries, each an analysis run of its own.
    pub queries: Vec<PrometheusQuery>,
}

/// One `PromQL` query, judged like an Argo Rollouts metric.
#[derive(Debug, Clone, PartialEq)]
pub struct PrometheusQuery {
    /// The name shown in events and metrics.
    pub name: String,
    /// The query, with `{{service}}`, `{{release}}` and `{{pid}}` placeholders.
    pub query: String,
    /// Holds for a successful measurement.
    pub success: Option<Condition>,
    /// Holds for a failed measurement.
    pub failure: Option<Condition>,
    /// Time between measurements.
    pub interval: Duration,
    /// Measurements to take; 0 measures until the watch window ends.
    pub count: u32,
    /// Failed measurements allowed; one more fails the run.
    pub failure_limit: u32,
    /// Inconclusive measurements allowed; one more makes the run inconclusive.
    pub inconclusive_limit: u32,
    /// Consecutive query errors allowed; one more is an error of the run.
    pub error_limit: u32,
    /// What a failed run does.
    pub action: Action,
}

/// An `[analysis]` section that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    /// The TOML is malformed, has unknown keys or values of the wrong type.
    #[error("the `[analysis]` section is invalid: {message}")]
    Syntax {
        /// The parser's message, with line and column.
        message: String,
    },
    /// A value that parses but cannot be used.
    #[error("`analysis.{field}`: `{value}` {problem}")]
    Invalid {
        /// Where, e.g. `probe.success_rate_min`.
        field: String,
        /// The value as written.
        value: String,
        /// Why it cannot be used and what to write instead.
        problem: String,
    },
    /// A check with nothing to judge.
    #[error("`analysis.{check}` sets no limit: {hint}")]
    NothingToJudge {
        /// The check.
        check: String,
        /// Which keys would give it something to judge.
        hint: String,
    },
}

fn invalid(field: &str, value: impl std::fmt::Display, problem: &str) -> AnalysisError {
    AnalysisError::Invalid {
        field: field.to_owned(),
        value: value.to_string(),
        problem: problem.to_owned(),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAnalysis {
    not_accepting: Option<RawNotAccepting>,
    process: Option<RawProcess>,
    probe: Option<RawProbe>,
    metrics: Option<RawMetrics>,
    prometheus: Option<RawPrometheus>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCadence {
    interval: Option<String>,
    failures: Option<i64>,
    action: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNotAccepting {
    #[serde(flatten)]
    cadence: RawCadence,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProcess {
    #[serde(flatten)]
    cadence: RawCadence,
    rss_max: Option<String>,
    rss_ratio_max: Option<f64>,
    rss_growth_max: Option<String>,
    cpu_max: Option<f64>,
    cpu_ratio_max: Option<f64>,
    cpu_floor: Option<f64>,
    threads_max: Option<i64>,
    threads_ratio_max: Option<f64>,
    fds_max: Option<i64>,
    fds_ratio_max: Option<f64>,
    restarts_max: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProbeRequest {
    method: Option<String>,
    path: String,
    status: Option<i64>,
    timeout: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProbe {
    #[serde(flatten)]
    cadence: RawCadence,
    requests: Vec<RawProbeRequest>,
    success_rate_min: Option<f64>,
    p99_max: Option<String>,
    p99_ratio_max: Option<f64>,
    baseline_floor: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMetrics {
    #[serde(flatten)]
    cadence: RawCadence,
    url: String,
    requests: Option<String>,
    status_label: Option<String>,
    latency: Option<String>,
    quantile: Option<f64>,
    success_rate_min: Option<f64>,
    latency_max: Option<String>,
    latency_ratio_max: Option<f64>,
    baseline_floor: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrometheus {
    url: String,
    queries: Vec<RawQuery>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuery {
    name: String,
    query: String,
    success: Option<String>,
    failure: Option<String>,
    interval: Option<String>,
    count: Option<i64>,
    failure_limit: Option<i64>,
    inconclusive_limit: Option<i64>,
    error_limit: Option<i64>,
    action: Option<String>,
}

/// The shortest interval any check may measure at.
pub const MIN_INTERVAL: Duration = Duration::from_millis(10);

impl AnalysisConfig {
    /// Parses and validates the contents of an `[analysis]` section (its keys, without the
    /// section header).
    pub fn parse(text: &str) -> Result<Self, AnalysisError> {
        let raw: RawAnalysis = toml::from_str(text).map_err(|e| AnalysisError::Syntax {
            message: e.to_string(),
        })?;
        Ok(Self {
            not_accepting: raw
                .not_accepting
                .map(|c| {
                    Ok::<_, AnalysisError>(NotAcceptingCheck {
                        cadence: cadence(
                            "not_accepting",
                            &c.cadence,
                            Duration::from_millis(250),
                            4,
                        )?,
                    })
                })
                .transpose()?,
            process: raw.process.as_ref().map(process).transpose()?,
            probe: raw.probe.map(probe).transpose()?,
            metrics: raw.metrics.map(metrics).transpose()?,
            prometheus: raw.prometheus.map(prometheus).transpose()?,
        })
    }
}

fn duration(field: &str, text: &str) -> Result<Duration, AnalysisError> {
    humantime::parse_duration(text).map_err(|e| {
        invalid(
            field,
            text,
            &format!("is not a duration ({e}); write e.g. `250ms` or `2s`"),
        )
    })
}

fn interval(field: &str, text: Option<&str>, default: Duration) -> Result<Duration, AnalysisError> {
    let Some(text) = text else {
        return Ok(default);
    };
    let value = duration(field, text)?;
    if value < MIN_INTERVAL {
        return Err(invalid(
            field,
            text,
            "is too short: measure at most every `10ms`",
        ));
    }
    Ok(value)
}

fn action(field: &str, text: Option<&str>) -> Result<Action, AnalysisError> {
    match text {
        None | Some("rollback") => Ok(Action::Rollback),
        Some("alert") => Ok(Action::Alert),
        Some(other) => Err(invalid(
            field,
            other,
            "is not an action: use `rollback` or `alert`",
        )),
    }
}

fn count(field: &str, value: Option<i64>, default: u32, min: u32) -> Result<u32, AnalysisError> {
    let Some(value) = value else {
        return Ok(default);
    };
    u32::try_from(value)
        .ok()
        .filter(|&v| v >= min && v <= 10_000)
        .ok_or_else(|| {
            invalid(
                field,
                value,
                &format!("is out of range: use {min} to 10000"),
            )
        })
}

fn cadence(
    check: &str,
    raw: &RawCadence,
    default_interval: Duration,
    default_failures: u32,
) -> Result<Cadence, AnalysisError> {
    Ok(Cadence {
        interval: interval(
            &format!("{check}.interval"),
            raw.interval.as_deref(),
            default_interval,
        )?,
        failures: count(
            &format!("{check}.failures"),
            raw.failures,
            default_failures,
            1,
        )?,
        action: action(&format!("{check}.action"), raw.action.as_deref())?,
    })
}

fn ratio(field: &str, value: Option<f64>) -> Result<Option<f64>, AnalysisError> {
    match value {
        Some(v) if !(v.is_finite() && v >= 1.0) => Err(invalid(
            field,
            v,
            "is not a usable factor: use a number of at least 1 (2 means twice the old generation's)",
        )),
        other => Ok(other),
    }
}

fn rate(field: &str, value: Option<f64>) -> Result<Option<f64>, AnalysisError> {
    match value {
        Some(v) if !(0.0..=1.0).contains(&v) => Err(invalid(
            field,
            v,
            "is not a share: use a number from 0 to 1, e.g. `0.99`",
        )),
        other => Ok(other),
    }
}

fn positive(field: &str, value: Option<f64>) -> Result<Option<f64>, AnalysisError> {
    match value {
        Some(v) if !(v.is_finite() && v > 0.0) => {
            Err(invalid(field, v, "must be a positive number"))
        }
        other => Ok(other),
    }
}

fn limit(field: &str, value: Option<i64>) -> Result<Option<u64>, AnalysisError> {
    value
        .map(|v| u64::try_from(v).map_err(|_| invalid(field, v, "must not be negative")))
        .transpose()
}

/// Parses a byte size: a whole number with an optional unit (`B`, `KB`, `MB`, `GB`, `KiB`,
/// `MiB`, `GiB`), e.g. `512MiB`.
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let number: u64 = digits.parse().ok()?;
    let factor: u64 = match unit.trim() {
        "" | "B" => 1,
        "KB" | "kB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        _ => return None,
    };
    number.checked_mul(factor)
}

fn size(field: &str, text: Option<&str>) -> Result<Option<u64>, AnalysisError> {
    text.map(|t| {
        parse_size(t).ok_or_else(|| {
            invalid(
                field,
                t,
                "is not a size: write a whole number with `B`, `KB`, `MB`, `GB`, `KiB`, `MiB` or `GiB`, e.g. `512MiB`",
            )
        })
    })
    .transpose()
}

fn process(raw: &RawProcess) -> Result<ProcessCheck, AnalysisError> {
    let check = ProcessCheck {
        cadence: cadence("process", &raw.cadence, Duration::from_millis(500), 3)?,
        rss_max: size("process.rss_max", raw.rss_max.as_deref())?,
        rss_ratio_max: ratio("process.rss_ratio_max", raw.rss_ratio_max)?,
        rss_growth_max: size("process.rss_growth_max", raw.rss_growth_max.as_deref())?,
        cpu_max: positive("process.cpu_max", raw.cpu_max)?,
        cpu_ratio_max: ratio("process.cpu_ratio_max", raw.cpu_ratio_max)?,
        cpu_floor: positive("process.cpu_floor", raw.cpu_floor)?.unwrap_or(0.05),
        threads_max: limit("process.threads_max", raw.threads_max)?,
        threads_ratio_max: ratio("process.threads_ratio_max", raw.threads_ratio_max)?,
        fds_max: limit("process.fds_max", raw.fds_max)?,
        fds_ratio_max: ratio("process.fds_ratio_max", raw.fds_ratio_max)?,
        restarts_max: limit("process.restarts_max", raw.restarts_max)?
            .map(|v| u32::try_from(v).unwrap_or(u32::MAX)),
    };
    let any = check.rss_max.is_some()
        || check.rss_ratio_max.is_some()
        || check.rss_growth_max.is_some()
        || check.cpu_max.is_some()
        || check.cpu_ratio_max.is_some()
        || check.threads_max.is_some()
        || check.threads_ratio_max.is_some()
        || check.fds_max.is_some()
        || check.fds_ratio_max.is_some()
        || check.restarts_max.is_some();
    if !any {
        return Err(AnalysisError::NothingToJudge {
            check: "process".into(),
            hint: "set at least one of `rss_max`, `rss_ratio_max`, `rss_growth_max`, `cpu_max`, `cpu_ratio_max`, `threads_max`, `threads_ratio_max`, `fds_max`, `fds_ratio_max`, `restarts_max`".into(),
        });
    }
    Ok(check)
}

fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn path(field: &str, text: &str) -> Result<String, AnalysisError> {
    if !text.starts_with('/') || text.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(invalid(
            field,
            text,
            "is not a request path: start it with `/` and leave out spaces and control characters",
        ));
    }
    Ok(text.to_owned())
}

fn probe(raw: RawProbe) -> Result<ProbeCheck, AnalysisError> {
    if raw.requests.is_empty() {
        return Err(AnalysisError::NothingToJudge {
            check: "probe".into(),
            hint: "add requests, e.g. `requests = [{ path = \"/healthz\" }]`".into(),
        });
    }
    let mut requests = Vec::new();
    for (i, r) in raw.requests.into_iter().enumerate() {
        let field = format!("probe.requests[{i}]");
        let method = r.method.unwrap_or_else(|| "GET".into());
        if !is_token(&method) {
            return Err(invalid(
                &format!("{field}.method"),
                &method,
                "is not an HTTP method: use e.g. `GET` or `HEAD`",
            ));
        }
        let status = r.status.unwrap_or(200);
        let status = u16::try_from(status)
            .ok()
            .filter(|s| (100..=599).contains(s))
            .ok_or_else(|| {
                invalid(
                    &format!("{field}.status"),
                    status,
                    "is not an HTTP status: use 100 to 599",
                )
            })?;
        requests.push(ProbeRequest {
            method,
            path: path(&format!("{field}.path"), &r.path)?,
            status,
            timeout: interval(
                &format!("{field}.timeout"),
                r.timeout.as_deref(),
                Duration::from_secs(1),
            )?,
        });
    }
    let check = ProbeCheck {
        cadence: cadence("probe", &raw.cadence, Duration::from_millis(500), 2)?,
        requests,
        success_rate_min: rate("probe.success_rate_min", raw.success_rate_min)?,
        p99_max: raw
            .p99_max
            .as_deref()
            .map(|t| duration("probe.p99_max", t))
            .transpose()?,
        p99_ratio_max: ratio("probe.p99_ratio_max", raw.p99_ratio_max)?,
        baseline_floor: raw
            .baseline_floor
            .as_deref()
            .map_or(Ok(Duration::from_millis(5)), |t| {
                duration("probe.baseline_floor", t)
            })?,
    };
    if check.success_rate_min.is_none() && check.p99_max.is_none() && check.p99_ratio_max.is_none()
    {
        return Err(AnalysisError::NothingToJudge {
            check: "probe".into(),
            hint: "set `success_rate_min`, `p99_max` or `p99_ratio_max`".into(),
        });
    }
    Ok(check)
}

/// Checks that a URL is `http://` on loopback: the supervisor scrapes its own children only.
fn loopback_http(field: &str, url: &str) -> Result<String, AnalysisError> {
    let problem =
        "is not a loopback URL: use `http://127.0.0.1:PORT/PATH` or `http://[::1]:PORT/PATH`";
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| invalid(field, url, problem))?;
    let authority = rest.split('/').next().unwrap_or_default();
    let host = authority
        .rsplit_once(':')
        .map_or(authority, |(host, _)| host);
    if !matches!(host, "127.0.0.1" | "[::1]" | "localhost") {
        return Err(invalid(field, url, problem));
    }
    Ok(url.to_owned())
}

fn metric_name(field: &str, name: Option<String>) -> Result<Option<String>, AnalysisError> {
    match name {
        Some(n)
            if n.is_empty()
                || n.starts_with(|c: char| c.is_ascii_digit())
                || !n
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':') =>
        {
            Err(invalid(
                field,
                n,
                "is not a metric name: use letters, digits, `_` and `:`, not starting with a digit",
            ))
        }
        other => Ok(other),
    }
}

fn metrics(raw: RawMetrics) -> Result<MetricsCheck, AnalysisError> {
    let quantile = raw.quantile.unwrap_or(0.99);
    if !(quantile > 0.0 && quantile < 1.0) {
        return Err(invalid(
            "metrics.quantile",
            quantile,
            "is not a quantile: use a number between 0 and 1, e.g. `0.99`",
        ));
    }
    let check = MetricsCheck {
        cadence: cadence("metrics", &raw.cadence, Duration::from_secs(1), 2)?,
        url: loopback_http("metrics.url", &raw.url)?,
        requests: metric_name("metrics.requests", raw.requests)?,
        status_label: metric_name(
            "metrics.status_label",
            Some(raw.status_label.unwrap_or_else(|| "code".into())),
        )?
        .unwrap_or_default(),
        latency: metric_name("metrics.latency", raw.latency)?,
        quantile,
        success_rate_min: rate("metrics.success_rate_min", raw.success_rate_min)?,
        latency_max: raw
            .latency_max
            .as_deref()
            .map(|t| duration("metrics.latency_max", t))
            .transpose()?,
        latency_ratio_max: ratio("metrics.latency_ratio_max", raw.latency_ratio_max)?,
        baseline_floor: raw
            .baseline_floor
            .as_deref()
            .map_or(Ok(Duration::from_millis(5)), |t| {
                duration("metrics.baseline_floor", t)
            })?,
    };
    if check.success_rate_min.is_some() && check.requests.is_none() {
        return Err(invalid(
            "metrics.success_rate_min",
            check.success_rate_min.unwrap_or_default(),
            "needs a counter: set `requests` to the name of the request counter",
        ));
    }
    if (check.latency_max.is_some() || check.latency_ratio_max.is_some()) && check.latency.is_none()
    {
        return Err(AnalysisError::NothingToJudge {
            check: "metrics.latency".into(),
            hint: "a latency limit needs `latency`, the name of a histogram in seconds".into(),
        });
    }
    if check.success_rate_min.is_none()
        && check.latency_max.is_none()
        && check.latency_ratio_max.is_none()
    {
        return Err(AnalysisError::NothingToJudge {
            check: "metrics".into(),
            hint: "set `success_rate_min`, `latency_max` or `latency_ratio_max`".into(),
        });
    }
    Ok(check)
}

/// The placeholders a query may use.
pub const PLACEHOLDERS: [&str; 3] = ["service", "release", "pid"];

fn template(field: &str, query: &str) -> Result<String, AnalysisError> {
    let mut rest = query;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| invalid(field, query, "has a `{{` without `}}`"))?;
        let name = after[..end].trim();
        if !PLACEHOLDERS.contains(&name) {
            return Err(invalid(
                field,
                query,
                &format!(
                    "uses the unknown placeholder `{{{{{name}}}}}`: use `{{{{service}}}}`, `{{{{release}}}}` or `{{{{pid}}}}`"
                ),
            ));
        }
        rest = &after[end + 2..];
    }
    Ok(query.to_owned())
}

fn prometheus(raw: RawPrometheus) -> Result<PrometheusCheck, AnalysisError> {
    if !raw.url.starts_with("http://") {
        return Err(invalid(
            "prometheus.url",
            &raw.url,
            "is not a plain HTTP URL: use the server's base URL, e.g. `http://127.0.0.1:9090` (for a server behind TLS, query it through a local proxy)",
        ));
    }
    if raw.queries.is_empty() {
        return Err(AnalysisError::NothingToJudge {
            check: "prometheus".into(),
            hint: "add `[[analysis.prometheus.queries]]` with `name`, `query` and `success` or `failure`".into(),
        });
    }
    let mut queries: Vec<PrometheusQuery> = Vec::new();
    for (i, q) in raw.queries.into_iter().enumerate() {
        let field = format!("prometheus.queries[{i}]");
        if q.name.is_empty() || queries.iter().any(|other| other.name == q.name) {
            return Err(invalid(
                &format!("{field}.name"),
                &q.name,
                "is empty or used twice: give every query its own name",
            ));
        }
        let condition = |key: &str, text: Option<String>| {
            text.map(|t| {
                Condition::parse(&t).map_err(|why| {
                    invalid(
                        &format!("{field}.{key}"),
                        &t,
                        &format!("is not a condition: {why}; write e.g. `result >= 0.99`"),
                    )
                })
            })
            .transpose()
        };
        let success = condition("success", q.success)?;
        let failure = condition("failure", q.failure)?;
        if success.is_none() && failure.is_none() {
            return Err(AnalysisError::NothingToJudge {
                check: field,
                hint: "set `success`, `failure` or both, e.g. `success = \"result >= 0.99\"`"
                    .into(),
            });
        }
        queries.push(PrometheusQuery {
            query: template(&format!("{field}.query"), &q.query)?,
            name: q.name,
            success,
            failure,
            interval: interval(
                &format!("{field}.interval"),
                q.interval.as_deref(),
                Duration::from_secs(1),
            )?,
            count: count(&format!("{field}.count"), q.count, 0, 0)?,
            failure_limit: count(&format!("{field}.failure_limit"), q.failure_limit, 0, 0)?,
            inconclusive_limit: count(
                &format!("{field}.inconclusive_limit"),
                q.inconclusive_limit,
                0,
                0,
            )?,
            error_limit: count(&format!("{field}.error_limit"), q.error_limit, 4, 0)?,
            action: action(&format!("{field}.action"), q.action.as_deref())?,
        });
    }
    Ok(PrometheusCheck {
        url: raw.url,
        queries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"
[not_accepting]
interval = "100ms"
failures = 5

[process]
rss_max = "512MiB"
rss_growth_max = "50MiB"
cpu_ratio_max = 3.0
action = "alert"

[probe]
interval = "250ms"
requests = [{ path = "/healthz" }, { method = "HEAD", path = "/?q=1", status = 204, timeout = "300ms" }]
success_rate_min = 0.99
p99_ratio_max = 2.0

[metrics]
url = "http://127.0.0.1:9100/metrics"
requests = "http_requests_total"
latency = "http_request_duration_seconds"
success_rate_min = 0.995
latency_ratio_max = 2.0

[prometheus]
url = "http://prometheus.internal:9090"

[[prometheus.queries]]
name = "success-rate"
query = 'sum(rate(http_requests_total{service="{{service}}",code!~"5.."}[30s])) / sum(rate(http_requests_total{service="{{service}}"}[30s]))'
success = "result >= 0.99"
interval = "5s"
count = 6
failure_limit = 1
"#;

    #[test]
    fn a_full_section() {
        let config = AnalysisConfig::parse(FULL).unwrap();
        let not_accepting = config.not_accepting.unwrap();
        assert_eq!(not_accepting.cadence.interval, Duration::from_millis(100));
        assert_eq!(not_accepting.cadence.failures, 5);
        assert_eq!(not_accepting.cadence.action, Action::Rollback);
        let process = config.process.unwrap();
        assert_eq!(process.rss_max, Some(512 << 20));
        assert_eq!(process.cadence.action, Action::Alert);
        assert_eq!(process.cadence.failures, 3, "the default");
        let probe = config.probe.unwrap();
        assert_eq!(probe.requests.len(), 2);
        assert_eq!(probe.requests[0].method, "GET");
        assert_eq!(probe.requests[0].status, 200);
        assert_eq!(probe.requests[1].timeout, Duration::from_millis(300));
        let metrics = config.metrics.unwrap();
        assert_eq!(metrics.status_label, "code");
        assert!((metrics.quantile - 0.99).abs() < f64::EPSILON);
        let prometheus = config.prometheus.unwrap();
        assert_eq!(prometheus.queries[0].count, 6);
        assert_eq!(prometheus.queries[0].error_limit, 4);
        assert!(prometheus.queries[0].success.as_ref().unwrap().holds(0.995));
    }

    #[test]
    fn an_empty_section_checks_nothing() {
        assert_eq!(
            AnalysisConfig::parse("").unwrap(),
            AnalysisConfig::default()
        );
        let only = AnalysisConfig::parse("[not_accepting]").unwrap();
        assert_eq!(
            only.not_accepting.unwrap().cadence.interval,
            Duration::from_millis(250)
        );
    }

    /// Sections that must be refused, and a part of the error they must give.
    const BAD_SECTIONS: &[(&str, &str)] = &[
        (
            "[probe]\nrequests = []\nsuccess_rate_min = 0.9",
            "add requests",
        ),
        (
            "[probe]\nrequests = [{ path = \"/\" }]",
            "set `success_rate_min`",
        ),
        (
            "[probe]\nrequests = [{ path = \"healthz\" }]\nsuccess_rate_min = 0.9",
            "start it with `/`",
        ),
        (
            "[probe]\nrequests = [{ path = \"/\", status = 700 }]\nsuccess_rate_min = 0.9",
            "100 to 599",
        ),
        (
            "[probe]\nrequests = [{ path = \"/\", method = \"GE T\" }]\nsuccess_rate_min = 0.9",
            "HTTP method",
        ),
        (
            "[probe]\nrequests = [{ path = \"/\" }]\nsuccess_rate_min = 1.5",
            "from 0 to 1",
        ),
        (
            "[probe]\nrequests = [{ path = \"/\" }]\np99_ratio_max = 0.5",
            "at least 1",
        ),
        (
            "[probe]\nrequests = [{ path = \"/\" }]\np99_max = \"fast\"",
            "not a duration",
        ),
        ("[not_accepting]\ninterval = \"1ms\"", "too short"),
        ("[not_accepting]\nfailures = 0", "1 to 10000"),
        (
            "[not_accepting]\naction = \"page\"",
            "`rollback` or `alert`",
        ),
        ("[not_accepting]\nthreshold = 3", "unknown field"),
        (
            "[process]\nrss_maxx = \"1GiB\"\nrss_max = \"1GiB\"",
            "unknown field",
        ),
        (
            "[probe]\nrequests = [{ path = \"/\" }]\nsuccess_rate_min = 0.9\nintervall = \"1s\"",
            "unknown field",
        ),
        ("[process]\ninterval = \"1s\"", "set at least one of"),
        ("[process]\nrss_max = \"12 parsecs\"", "not a size"),
        ("[process]\nthreads_max = -1", "negative"),
        (
            "[metrics]\nurl = \"http://10.0.0.1:9100/metrics\"\nrequests = \"r\"\nsuccess_rate_min = 0.9",
            "loopback",
        ),
        (
            "[metrics]\nurl = \"http://127.0.0.1:9100/metrics\"\nsuccess_rate_min = 0.9",
            "needs a counter",
        ),
        (
            "[metrics]\nurl = \"http://127.0.0.1:9100/metrics\"\nlatency_max = \"1s\"",
            "a latency limit needs",
        ),
        (
            "[metrics]\nurl = \"http://127.0.0.1:9100/\"\nrequests = \"1bad\"\nsuccess_rate_min = 0.9",
            "metric name",
        ),
        (
            "[metrics]\nurl = \"http://127.0.0.1:9100/\"\nrequests = \"r\"\nsuccess_rate_min = 0.9\nquantile = 1.0",
            "quantile",
        ),
        (
            "[prometheus]\nurl = \"prom:9090\"\nqueries = []",
            "HTTP URL",
        ),
        (
            "[prometheus]\nurl = \"https://prom:9090\"\nqueries = []",
            "local proxy",
        ),
        (
            "[prometheus]\nurl = \"http://p\"\nqueries = []",
            "add `[[analysis.prometheus.queries]]`",
        ),
        (
            "[prometheus]\nurl = \"http://p\"\nqueries = [{ name = \"a\", query = \"x\" }]",
            "set `success`, `failure`",
        ),
        (
            "[prometheus]\nurl = \"http://p\"\nqueries = [{ name = \"a\", query = \"x{{host}}\", success = \"result > 1\" }]",
            "unknown placeholder `{{host}}`",
        ),
        (
            "[prometheus]\nurl = \"http://p\"\nqueries = [{ name = \"a\", query = \"x{{pid\", success = \"result > 1\" }]",
            "without `}}`",
        ),
        (
            "[prometheus]\nurl = \"http://p\"\nqueries = [{ name = \"a\", query = \"x\", success = \"result is fine\" }]",
            "not a condition",
        ),
        (
            "[prometheus]\nurl = \"http://p\"\nqueries = [{ name = \"a\", query = \"x\", success = \"result > 1\" }, { name = \"a\", query = \"y\", failure = \"result > 1\" }]",
            "used twice",
        ),
    ];

    #[test]
    fn bad_sections_say_what_and_how_to_fix() {
        for &(text, expected) in BAD_SECTIONS {
            let error = AnalysisConfig::parse(text).unwrap_err().to_string();
            assert!(error.contains(expected), "{text}\n=> {error}");
        }
    }

    #[test]
    fn sizes() {
        let cases = [
            ("512MiB", Some(512 << 20)),
            ("1GB", Some(1_000_000_000)),
            ("300", Some(300)),
            ("4 KiB", Some(4096)),
            ("1.5GiB", None),
            ("MiB", None),
            ("99999999999999GiB", None),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_size(text), expected, "{text}");
        }
    }
}
