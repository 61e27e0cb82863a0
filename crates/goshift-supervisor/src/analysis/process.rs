//! Process signals of the new generation against the old one, measured just before the
//! cutover: RSS level and growth, CPU, threads, open files, restarts.

use std::time::Duration;

use super::config::ProcessCheck;
use super::{Measurement, over_limits};

/// One reading of a process (see `measure::process`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessSample {
    /// When it was taken, on any monotonic scale shared by the samples compared.
    pub at: Duration,
    /// Resident memory, bytes.
    pub rss: u64,
    /// User plus system CPU time so far.
    pub cpu: Duration,
    /// Threads.
    pub threads: u64,
    /// Open file descriptors.
    pub fds: u64,
}

/// The old generation's use, from two of its samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcessBaseline {
    /// Resident memory, bytes.
    pub rss: u64,
    /// CPU use in cores between the two samples.
    pub cpu: f64,
    /// Threads.
    pub threads: u64,
    /// Open file descriptors.
    pub fds: u64,
}

/// CPU use in cores between two samples; `None` when no time passed.
fn cores(before: &ProcessSample, after: &ProcessSample) -> Option<f64> {
    let wall = after.at.checked_sub(before.at)?.as_secs_f64();
    (wall > 0.0).then(|| after.cpu.saturating_sub(before.cpu).as_secs_f64() / wall)
}

impl ProcessBaseline {
    /// The baseline from an earlier and a later sample of the old generation.
    pub fn from_samples(before: &ProcessSample, after: &ProcessSample) -> Self {
        Self {
            rss: after.rss,
            cpu: cores(before, after).unwrap_or(0.0),
            threads: after.threads,
            fds: after.fds,
        }
    }
}

#[expect(
    clippy::cast_precision_loss,
    reason = "sizes and counts far below 2^52"
)]
fn float(value: u64) -> f64 {
    value as f64
}

/// Judges the new generation between two of its samples, against the baseline when there is
/// one; `restarts` counts its restarts in the watch window.
pub fn judge(
    check: &ProcessCheck,
    baseline: Option<&ProcessBaseline>,
    before: &ProcessSample,
    after: &ProcessSample,
    restarts: u32,
) -> Measurement {
    let mut reasons = rss_reasons(check, baseline, before, after);
    let against =
        |ratio: Option<f64>, base: f64| ratio.zip(baseline.map(|_| base)).map(|(r, b)| (b, r));
    if let Some(cpu) = cores(before, after) {
        reasons.extend(over_limits(
            "CPU",
            cpu,
            check.cpu_max,
            against(check.cpu_ratio_max, baseline.map_or(0.0, |b| b.cpu)),
            check.cpu_floor,
            " cores",
        ));
    }
    reasons.extend(over_limits(
        "threads",
        float(after.threads),
        check.threads_max.map(float),
        against(
            check.threads_ratio_max,
            baseline.map_or(0.0, |b| float(b.threads)),
        ),
        0.0,
        "",
    ));
    reasons.extend(over_limits(
        "open files",
        float(after.fds),
        check.fds_max.map(float),
        against(check.fds_ratio_max, baseline.map_or(0.0, |b| float(b.fds))),
        0.0,
        "",
    ));
    if let Some(limit) = check.restarts_max
        && restarts > limit
    {
        reasons.push(format!("{restarts} restarts, over the limit {limit}"));
    }
    Measurement::from_reasons(reasons)
}

/// RSS against its limit and the baseline, and its growth between the two samples.
fn rss_reasons(
    check: &ProcessCheck,
    baseline: Option<&ProcessBaseline>,
    before: &ProcessSample,
    after: &ProcessSample,
) -> Vec<String> {
    const MIB: f64 = 1024.0 * 1024.0;
    let mut reasons = over_limits(
        "RSS",
        float(after.rss) / MIB,
        check.rss_max.map(|v| float(v) / MIB),
        check
            .rss_ratio_max
            .zip(baseline.map(|b| float(b.rss) / MIB))
            .map(|(ratio, base)| (base, ratio)),
        0.0,
        " MiB",
    );
    if let Some(limit) = check.rss_growth_max {
        let seconds = after.at.saturating_sub(before.at).as_secs_f64();
        if seconds > 0.0 && after.rss > before.rss {
            let growth = float(after.rss - before.rss) / seconds;
            if growth > float(limit) {
                reasons.push(format!(
                    "RSS grows by {:.1} MiB/s, over the limit {:.1} MiB/s",
                    growth / MIB,
                    float(limit) / MIB
                ));
            }
        }
    }
    reasons
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::config::AnalysisConfig;

    fn check(toml: &str) -> ProcessCheck {
        AnalysisConfig::parse(&format!("[process]\n{toml}"))
            .unwrap()
            .process
            .unwrap()
    }

    fn sample(at_ms: u64, rss_mib: u64, cpu_ms: u64, threads: u64, fds: u64) -> ProcessSample {
        ProcessSample {
            at: Duration::from_millis(at_ms),
            rss: rss_mib << 20,
            cpu: Duration::from_millis(cpu_ms),
            threads,
            fds,
        }
    }

    /// Name, limits, the two samples, restarts, the number of failed limits.
    type Case = (
        &'static str,
        &'static str,
        (ProcessSample, ProcessSample),
        u32,
        usize,
    );

    /// Every limit once over and once within, against an old generation of 40 MiB, 0.2
    /// cores, 8 threads and 12 files: memory first.
    fn limit_cases() -> Vec<Case> {
        let steady = (sample(0, 42, 0, 9, 13), sample(500, 42, 100, 9, 13));
        vec![
            (
                "healthy against every limit",
                "rss_max = \"512MiB\"\nrss_ratio_max = 3.0\nrss_growth_max = \"20MiB\"\ncpu_ratio_max = 3.0\nthreads_ratio_max = 2.0\nfds_ratio_max = 2.0\nrestarts_max = 0",
                steady,
                0,
                0,
            ),
            (
                "leak: 200 MiB in half a second",
                "rss_growth_max = \"20MiB\"",
                (sample(0, 42, 0, 9, 13), sample(500, 142, 100, 9, 13)),
                0,
                1,
            ),
            (
                "leak: level and ratio",
                "rss_max = \"100MiB\"\nrss_ratio_max = 2.0",
                (sample(0, 142, 0, 9, 13), sample(500, 150, 100, 9, 13)),
                0,
                2,
            ),
            (
                "shrinking RSS is no growth",
                "rss_growth_max = \"1MiB\"",
                (sample(0, 142, 0, 9, 13), sample(500, 50, 100, 9, 13)),
                0,
                0,
            ),
        ]
    }

    /// CPU, threads, open files and restarts.
    fn other_cases() -> Vec<Case> {
        let steady = (sample(0, 42, 0, 9, 13), sample(500, 42, 100, 9, 13));
        vec![
            (
                "CPU: a busy loop, 1 core against 0.2",
                "cpu_ratio_max = 3.0",
                (sample(0, 42, 0, 9, 13), sample(500, 42, 500, 9, 13)),
                0,
                1,
            ),
            (
                "CPU: absolute",
                "cpu_max = 0.5",
                (sample(0, 42, 0, 9, 13), sample(500, 42, 400, 9, 13)),
                0,
                1,
            ),
            (
                "thread explosion",
                "threads_max = 100\nthreads_ratio_max = 2.0",
                (sample(0, 42, 0, 9, 13), sample(500, 42, 100, 400, 13)),
                0,
                2,
            ),
            (
                "fd leak",
                "fds_ratio_max = 2.0",
                (sample(0, 42, 0, 9, 13), sample(500, 42, 100, 9, 30)),
                0,
                1,
            ),
            ("restarts", "restarts_max = 0", steady, 1, 1),
        ]
    }

    #[test]
    fn limits_and_baseline() {
        let old =
            ProcessBaseline::from_samples(&sample(0, 40, 0, 8, 12), &sample(1000, 40, 200, 8, 12));
        assert!((old.cpu - 0.2).abs() < 1e-9);
        let cases = limit_cases().into_iter().chain(other_cases());
        for (name, toml, (before, after), restarts, count) in cases {
            let got = judge(&check(toml), Some(&old), &before, &after, restarts);
            assert_eq!(got.failure_count(), count, "{name}: {got:?}");
        }
    }

    #[test]
    fn an_idle_old_generation_does_not_make_work_a_regression() {
        let idle =
            ProcessBaseline::from_samples(&sample(0, 40, 0, 8, 12), &sample(1000, 40, 1, 8, 12));
        let check = check("cpu_ratio_max = 2.0");
        let light = judge(
            &check,
            Some(&idle),
            &sample(0, 40, 0, 8, 12),
            &sample(1000, 40, 30, 8, 12),
            0,
        );
        assert_eq!(light, Measurement::Passed, "under the 0.05-core floor");
        let heavy = judge(
            &check,
            Some(&idle),
            &sample(0, 40, 0, 8, 12),
            &sample(1000, 40, 900, 8, 12),
            0,
        );
        assert!(matches!(heavy, Measurement::Failed(_)), "{heavy:?}");
    }

    #[test]
    fn without_a_baseline_only_absolute_limits_count() {
        let check = check("rss_ratio_max = 1.5\nrss_max = \"1GiB\"");
        let got = judge(
            &check,
            None,
            &sample(0, 10, 0, 1, 1),
            &sample(500, 900, 0, 1, 1),
            0,
        );
        assert_eq!(got, Measurement::Passed);
    }
}
