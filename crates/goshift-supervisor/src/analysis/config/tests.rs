//! The `[analysis]` section: a full one, defaults, and every refusal with its message.

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
