//! The service's own Prometheus metrics, compared by rate over a window: two scrapes, at its
//! start and end, give the requests answered in between (from a counter with a status label)
//! and their latency quantile (from a histogram's buckets). The baseline is the same window
//! over the old release, scraped before the upgrade.

use std::collections::BTreeMap;
use std::time::Duration;

use super::config::MetricsCheck;
use super::{Measurement, over_limits};
use crate::measure::exposition::{Sample, histogram_quantile};

/// What happened between two scrapes.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Window {
    /// Requests counted in the window.
    pub requests: f64,
    /// Share of them with a status below 500; `None` without requests or without a counter.
    pub success_rate: Option<f64>,
    /// The configured quantile of the latency, seconds; `None` without observations.
    pub latency: Option<f64>,
}

/// The series of one metric, keyed by their labels except `skip`.
fn series<'a>(
    samples: &'a [Sample],
    name: &str,
    skip: &str,
) -> BTreeMap<Vec<(&'a str, &'a str)>, f64> {
    let mut out = BTreeMap::new();
    for sample in samples.iter().filter(|s| s.name == name) {
        let key: Vec<(&str, &str)> = sample
            .labels
            .iter()
            .filter(|(k, _)| k != skip)
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        out.insert(key, sample.value);
    }
    out
}

/// The increase of a counter series; a reset (a lower value) counts from zero, as
/// Prometheus' `rate` does.
fn increase(start: Option<f64>, end: f64) -> f64 {
    match start {
        Some(start) if end >= start => end - start,
        _ => end,
    }
}

/// Whether a status label's value is a server error: `500`…`599`, or a class like `5xx`.
fn is_server_error(status: &str) -> bool {
    status.starts_with('5')
}

/// The window between two scrapes.
pub fn window(check: &MetricsCheck, start: &[Sample], end: &[Sample]) -> Window {
    let mut result = Window::default();
    if let Some(name) = &check.requests {
        let before = series(start, name, "");
        let mut total = 0.0;
        let mut errors = 0.0;
        for (labels, &value) in &series(end, name, "") {
            let delta = increase(before.get(labels).copied(), value);
            total += delta;
            let status = labels
                .iter()
                .find(|(k, _)| *k == check.status_label)
                .map_or("", |(_, v)| *v);
            if is_server_error(status) {
                errors += delta;
            }
        }
        result.requests = total;
        result.success_rate = (total > 0.0).then(|| (total - errors) / total);
    }
    if let Some(name) = &check.latency {
        let bucket = format!("{name}_bucket");
        let le_of = |labels: &[(&str, &str)]| {
            labels
                .iter()
                .find(|(k, _)| *k == "le")
                .and_then(|(_, v)| match *v {
                    "+Inf" | "Inf" => Some(f64::INFINITY),
                    text => text.parse::<f64>().ok(),
                })
        };
        let before = series(start, &bucket, "");
        // Summed over every other label, by bound; bounds kept as their bits for the map.
        let mut by_bound: BTreeMap<u64, (f64, f64)> = BTreeMap::new();
        for (labels, &value) in &series(end, &bucket, "") {
            let Some(le) = le_of(labels) else { continue };
            let delta = increase(before.get(labels).copied(), value);
            by_bound.entry(le.to_bits()).or_insert((le, 0.0)).1 += delta;
        }
        let buckets: Vec<(f64, f64)> = by_bound.into_values().collect();
        result.latency = histogram_quantile(check.quantile, &buckets);
    }
    result
}

/// Judges the new generation's window against the limits and the baseline's window.
pub fn judge(check: &MetricsCheck, baseline: Option<&Window>, window: &Window) -> Measurement {
    if window.requests <= 0.0 && window.latency.is_none() {
        return Measurement::Inconclusive("no requests in the window".into());
    }
    let mut reasons = Vec::new();
    if let (Some(min), Some(rate)) = (check.success_rate_min, window.success_rate)
        && rate < min
    {
        reasons.push(format!(
            "success rate {rate:.3} over {:.0} requests is under {min}",
            window.requests
        ));
    }
    if let Some(latency) = window.latency {
        let ms = |seconds: f64| seconds * 1000.0;
        let millis = |d: Duration| d.as_secs_f64() * 1000.0;
        reasons.extend(over_limits(
            &format!("latency q{}", check.quantile),
            ms(latency),
            check.latency_max.map(millis),
            check
                .latency_ratio_max
                .zip(baseline.and_then(|b| b.latency))
                .map(|(r, b)| (ms(b), r)),
            millis(check.baseline_floor),
            " ms",
        ));
    }
    Measurement::from_reasons(reasons)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::config::AnalysisConfig;
    use crate::measure::exposition::parse;

    fn check() -> MetricsCheck {
        AnalysisConfig::parse(
            "[metrics]\nurl = \"http://127.0.0.1:9000/metrics\"\nrequests = \"http_requests_total\"\n\
             latency = \"http_request_duration_seconds\"\nsuccess_rate_min = 0.99\n\
             latency_max = \"500ms\"\nlatency_ratio_max = 2.0",
        )
        .unwrap()
        .metrics
        .unwrap()
    }

    /// An exposition with `ok` 200s, `errors` 500s (split over two methods) and latency
    /// buckets 0.01/0.1/1/+Inf holding `fast`, `medium`, `slow` observations.
    fn scrape(ok: u64, errors: u64, fast: u64, medium: u64, slow: u64) -> Vec<Sample> {
        let (b1, b2, b3) = (fast, fast + medium, fast + medium + slow);
        parse(&format!(
            "# TYPE http_requests_total counter\n\
             http_requests_total{{code=\"200\",method=\"GET\"}} {ok}\n\
             http_requests_total{{code=\"500\",method=\"GET\"}} {e1}\n\
             http_requests_total{{code=\"500\",method=\"POST\"}} {e2}\n\
             http_request_duration_seconds_bucket{{le=\"0.01\"}} {b1}\n\
             http_request_duration_seconds_bucket{{le=\"0.1\"}} {b2}\n\
             http_request_duration_seconds_bucket{{le=\"1\"}} {b3}\n\
             http_request_duration_seconds_bucket{{le=\"+Inf\"}} {b3}\n\
             http_request_duration_seconds_count {b3}\n",
            e1 = errors / 2,
            e2 = errors - errors / 2,
        ))
        .unwrap()
    }

    #[test]
    fn by_rate_over_the_window() {
        type Case = (&'static str, (Vec<Sample>, Vec<Sample>), usize);
        let check = check();
        let base = window(
            &check,
            &scrape(1000, 0, 1000, 0, 0),
            &scrape(2000, 0, 2000, 0, 0),
        );
        assert!((base.requests - 1000.0).abs() < 1e-9);
        assert_eq!(base.success_rate, Some(1.0));
        let cases: Vec<Case> = vec![
            (
                "healthy: the history before the window does not count",
                (scrape(5000, 400, 5000, 0, 0), scrape(6000, 400, 6000, 0, 0)),
                0,
            ),
            (
                "every answer a 500",
                (scrape(100, 0, 100, 0, 0), scrape(100, 1000, 1100, 0, 0)),
                1,
            ),
            (
                "2 % errors",
                (scrape(0, 0, 0, 0, 0), scrape(980, 20, 1000, 0, 0)),
                1,
            ),
            (
                "slow: every request in the 10-100 ms bucket",
                (scrape(0, 0, 0, 0, 0), scrape(1000, 0, 0, 1000, 0)),
                1,
            ),
            (
                "slow and over the absolute limit",
                (scrape(0, 0, 0, 0, 0), scrape(1000, 0, 0, 0, 1000)),
                2,
            ),
            (
                "a counter reset counts from zero",
                (scrape(9000, 0, 9000, 0, 0), scrape(10, 10, 20, 0, 0)),
                1,
            ),
        ];
        for (name, (start, end), count) in cases {
            let w = window(&check, &start, &end);
            let got = judge(&check, Some(&base), &w);
            assert_eq!(got.failure_count(), count, "{name}: {w:?} {got:?}");
        }
        let idle = window(&check, &scrape(10, 0, 10, 0, 0), &scrape(10, 0, 10, 0, 0));
        assert!(matches!(
            judge(&check, Some(&base), &idle),
            Measurement::Inconclusive(_)
        ));
    }

    #[test]
    fn status_classes_count_as_errors_too() {
        let check = check();
        let start =
            parse("http_requests_total{code=\"2xx\"} 0\nhttp_requests_total{code=\"5xx\"} 0")
                .unwrap();
        let end =
            parse("http_requests_total{code=\"2xx\"} 90\nhttp_requests_total{code=\"5xx\"} 10")
                .unwrap();
        let w = window(&check, &start, &end);
        assert_eq!(w.success_rate, Some(0.9));
        assert_eq!(judge(&check, None, &w).failure_count(), 1);
    }
}
