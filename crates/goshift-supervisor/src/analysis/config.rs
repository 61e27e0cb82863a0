//! The `[analysis]` section of a service: which checks judge a new generation, with their
//! thresholds, intervals, failure counts and actions.
//!
//! [`AnalysisConfig::parse`] reads the section's TOML on its own, [`AnalysisConfig::from_table`]
//! takes the table the service file's parser read; every value is validated here, so an evaluator never meets a ratio
//! of zero, a rate above one or a query with an unknown placeholder.

use std::time::Duration;

use serde::Deserialize;

use super::promql::Condition;

mod values;

pub use values::{PLACEHOLDERS, parse_size};
use values::{
    action, count, duration, interval, invalid, is_token, limit, loopback_http, metric_name, path,
    positive, rate, ratio, size, template,
};

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

/// The most `PromQL` queries one service may have; each runs on a thread of its own during
/// the watch window.
pub const MAX_QUERIES: usize = 64;

/// The shortest interval any check may measure at.
pub const MIN_INTERVAL: Duration = Duration::from_millis(10);

impl AnalysisConfig {
    /// Parses and validates the contents of an `[analysis]` section (its keys, without the
    /// section header).
    pub fn parse(text: &str) -> Result<Self, AnalysisError> {
        let raw: RawAnalysis = toml::from_str(text).map_err(|e| AnalysisError::Syntax {
            message: e.to_string(),
        })?;
        Self::from_raw(raw)
    }

    /// Validates an `[analysis]` table the service file's parser has already read.
    pub fn from_table(table: toml::Table) -> Result<Self, AnalysisError> {
        let raw: RawAnalysis =
            toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| AnalysisError::Syntax {
                    message: e.to_string(),
                })?;
        Self::from_raw(raw)
    }

    /// Whether no check is configured.
    pub fn is_empty(&self) -> bool {
        self.not_accepting.is_none()
            && self.process.is_none()
            && self.probe.is_none()
            && self.metrics.is_none()
            && self.prometheus.is_none()
    }

    fn from_raw(raw: RawAnalysis) -> Result<Self, AnalysisError> {
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

fn probe(raw: RawProbe) -> Result<ProbeCheck, AnalysisError> {
    if raw.requests.is_empty() {
        return Err(AnalysisError::NothingToJudge {
            check: "probe".into(),
            hint: "add requests, e.g. `requests = [{ path = \"/healthz\" }]`".into(),
        });
    }
    let requests = raw
        .requests
        .into_iter()
        .enumerate()
        .map(|(i, r)| probe_request(&format!("probe.requests[{i}]"), r))
        .collect::<Result<Vec<_>, _>>()?;
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

fn probe_request(field: &str, r: RawProbeRequest) -> Result<ProbeRequest, AnalysisError> {
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
    Ok(ProbeRequest {
        method,
        path: path(&format!("{field}.path"), &r.path)?,
        status,
        timeout: interval(
            &format!("{field}.timeout"),
            r.timeout.as_deref(),
            Duration::from_secs(1),
        )?,
    })
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
    if raw.queries.len() > MAX_QUERIES {
        return Err(invalid(
            "prometheus.queries",
            raw.queries.len(),
            &format!("is more queries than {MAX_QUERIES}: join related ones into one query"),
        ));
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
        queries.push(prometheus_query(field, q)?);
    }
    Ok(PrometheusCheck {
        url: raw.url,
        queries,
    })
}

fn prometheus_query(field: String, q: RawQuery) -> Result<PrometheusQuery, AnalysisError> {
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
            hint: "set `success`, `failure` or both, e.g. `success = \"result >= 0.99\"`".into(),
        });
    }
    let limit = |key: &str, value: Option<i64>, default: u32| {
        count(&format!("{field}.{key}"), value, default, 0)
    };
    Ok(PrometheusQuery {
        query: template(&format!("{field}.query"), &q.query)?,
        name: q.name,
        success,
        failure,
        interval: interval(
            &format!("{field}.interval"),
            q.interval.as_deref(),
            Duration::from_secs(1),
        )?,
        count: limit("count", q.count, 0)?,
        failure_limit: limit("failure_limit", q.failure_limit, 0)?,
        inconclusive_limit: limit("inconclusive_limit", q.inconclusive_limit, 0)?,
        error_limit: limit("error_limit", q.error_limit, 4)?,
        action: action(&format!("{field}.action"), q.action.as_deref())?,
    })
}

#[cfg(test)]
mod tests;
