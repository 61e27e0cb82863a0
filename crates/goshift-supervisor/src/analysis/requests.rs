//! Request probe results: the share of answers with the expected status, and the p99 latency
//! against an absolute limit and against the baseline (the old release, probed the same way
//! before the upgrade).

use std::time::Duration;

use super::config::ProbeCheck;
use super::{Measurement, over_limits};

/// One probe request's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeResult {
    /// The status received, or why none was (refused, timed out, malformed).
    pub status: Result<u16, String>,
    /// The status that counts as success.
    pub expected: u16,
    /// From connecting to the end of the answer's head.
    pub latency: Duration,
}

impl ProbeResult {
    fn ok(&self) -> bool {
        self.status.as_ref().is_ok_and(|&s| s == self.expected)
    }
}

/// The p99 of the latencies (nearest rank), `None` for none.
pub fn p99(results: &[ProbeResult]) -> Option<Duration> {
    let mut latencies: Vec<Duration> = results.iter().map(|r| r.latency).collect();
    latencies.sort_unstable();
    let n = latencies.len();
    // Nearest rank: the ceil(0.99 n)-th smallest, 1-based.
    let rank = (n * 99).div_ceil(100).max(1);
    latencies.get(rank - 1).copied()
}

/// The baseline: the old release's p99 over its probe results.
pub fn baseline(results: &[ProbeResult]) -> Option<Duration> {
    p99(&results
        .iter()
        .filter(|r| r.ok())
        .cloned()
        .collect::<Vec<_>>())
}

/// Judges one interval's results.
pub fn judge(
    check: &ProbeCheck,
    baseline: Option<Duration>,
    results: &[ProbeResult],
) -> Measurement {
    if results.is_empty() {
        return Measurement::Inconclusive("no probe results".into());
    }
    let mut reasons = Vec::new();
    let ok = results.iter().filter(|r| r.ok()).count();
    #[expect(clippy::cast_precision_loss, reason = "a few probe results")]
    let rate = ok as f64 / results.len() as f64;
    if let Some(min) = check.success_rate_min
        && rate < min
    {
        let example = results
            .iter()
            .find(|r| !r.ok())
            .map(|r| match &r.status {
                Ok(status) => format!("status {status}, expected {}", r.expected),
                Err(why) => why.clone(),
            })
            .unwrap_or_default();
        reasons.push(format!(
            "success rate {rate:.3} ({ok} of {}) is under {min} (e.g. {example})",
            results.len()
        ));
    }
    if let Some(p99) = p99(results) {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        reasons.extend(over_limits(
            "p99",
            ms(p99),
            check.p99_max.map(ms),
            check.p99_ratio_max.zip(baseline).map(|(r, b)| (ms(b), r)),
            ms(check.baseline_floor),
            " ms",
        ));
    }
    Measurement::from_reasons(reasons)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::config::AnalysisConfig;

    fn check(toml: &str) -> ProbeCheck {
        AnalysisConfig::parse(&format!("[probe]\nrequests = [{{ path = \"/\" }}]\n{toml}"))
            .unwrap()
            .probe
            .unwrap()
    }

    fn results(n: usize, status: Result<u16, &str>, ms: u64) -> Vec<ProbeResult> {
        (0..n)
            .map(|_| ProbeResult {
                status: status.map_err(str::to_owned),
                expected: 200,
                latency: Duration::from_millis(ms),
            })
            .collect()
    }

    #[test]
    fn p99_is_the_nearest_rank() {
        assert_eq!(p99(&[]), None);
        let mut r = results(99, Ok(200), 1);
        r.extend(results(1, Ok(200), 50));
        assert_eq!(p99(&r), Some(Duration::from_millis(1)));
        r.extend(results(1, Ok(200), 50));
        assert_eq!(p99(&r), Some(Duration::from_millis(50)));
        assert_eq!(p99(&results(1, Ok(200), 7)), Some(Duration::from_millis(7)));
    }

    /// Name, limits, baseline p99, results, the number of failed limits.
    type Case = (
        &'static str,
        &'static str,
        Option<Duration>,
        Vec<ProbeResult>,
        usize,
    );

    const LIMITS: &str = "success_rate_min = 0.99\np99_max = \"200ms\"\np99_ratio_max = 2.0";

    fn rate_and_latency_cases() -> Vec<Case> {
        let base = Some(Duration::from_millis(2));
        let limits = LIMITS;
        let mixed = {
            let mut r = results(95, Ok(200), 1);
            r.extend(results(5, Err("connection refused"), 1));
            r
        };
        vec![
            ("healthy", limits, base, results(20, Ok(200), 2), 0),
            (
                "every answer a 500",
                limits,
                base,
                results(20, Ok(500), 1),
                1,
            ),
            ("5 % refused", limits, base, mixed, 1),
            (
                "50 ms per request: over 2x the baseline",
                limits,
                base,
                results(20, Ok(200), 50),
                1,
            ),
            (
                "over the absolute limit and the ratio",
                limits,
                base,
                results(20, Ok(200), 300),
                2,
            ),
            (
                "the floor: 4 ms is within 2x the 5 ms floor",
                limits,
                Some(Duration::from_micros(300)),
                results(20, Ok(200), 4),
                0,
            ),
            (
                "no baseline: only the absolute limit",
                "p99_ratio_max = 2.0",
                None,
                results(20, Ok(200), 300),
                0,
            ),
            (
                "timeouts fail the rate",
                "success_rate_min = 1.0",
                None,
                results(3, Err("timed out after 1s"), 1000),
                1,
            ),
        ]
    }

    #[test]
    fn success_rate_and_latency() {
        for (name, toml, baseline, results, count) in rate_and_latency_cases() {
            let got = judge(&check(toml), baseline, &results);
            assert_eq!(got.failure_count(), count, "{name}: {got:?}");
        }
        assert!(matches!(
            judge(&check(LIMITS), Some(Duration::from_millis(2)), &[]),
            Measurement::Inconclusive(_)
        ));
    }

    #[test]
    fn the_baseline_counts_successful_answers_only() {
        let mut r = results(10, Ok(200), 2);
        r.extend(results(1, Err("refused"), 1000));
        assert_eq!(baseline(&r), Some(Duration::from_millis(2)));
    }
}
