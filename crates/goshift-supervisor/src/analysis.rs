//! Analysis of a new generation during the watch window, as pure code.
//!
//! Each check turns measurements into a [`Measurement`] (passed, failed with the reason, or
//! inconclusive), and a [`Tally`] turns a check's measurements into a [`Verdict`] once
//! `failures` of them failed in a row. Measuring is the driver's business (the sources live in
//! `measure/`); nothing here reads a clock, a file or a socket, so every rule is a table test.
//!
//! - [`accepting`]: connections queue on the shared socket while the generation accepts none;
//! - [`process`]: RSS level and growth, CPU, threads, open files and restarts against the old
//!   generation measured just before the cutover;
//! - [`requests`]: probe results, success rate and p99 against limits and the baseline;
//! - [`scrape`]: the service's own Prometheus counter and histogram, by rate over the window;
//! - [`promql`]: `PromQL` query results, in the manner of Argo Rollouts' analysis runs.
//!
//! The configuration is the `[analysis]` section of a service, [`AnalysisConfig`].

pub mod accepting;
pub mod config;
pub mod process;
pub mod promql;
pub mod requests;
pub mod scrape;

pub use config::{Action, AnalysisConfig, AnalysisError, Cadence};

/// One measurement of one check.
#[derive(Debug, Clone, PartialEq)]
pub enum Measurement {
    /// Within every limit.
    Passed,
    /// Over a limit; the reasons name the measured values and the limits.
    Failed(Vec<String>),
    /// Nothing to judge yet (no traffic in the window, a first sample without a previous one).
    Inconclusive(String),
}

impl Measurement {
    /// Failed when any reason is given, else passed.
    pub fn from_reasons(reasons: Vec<String>) -> Self {
        if reasons.is_empty() {
            Self::Passed
        } else {
            Self::Failed(reasons)
        }
    }
}

#[cfg(test)]
impl Measurement {
    /// For table tests: 0 when passed, the number of reasons when failed, `usize::MAX` when
    /// inconclusive.
    pub(crate) fn failure_count(&self) -> usize {
        match self {
            Self::Passed => 0,
            Self::Failed(reasons) => reasons.len(),
            Self::Inconclusive(_) => usize::MAX,
        }
    }
}

/// A check's decision.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// The check, e.g. `probe`.
    pub check: String,
    /// What to do.
    pub action: Action,
    /// The failed measurements that led to it, oldest first.
    pub reasons: Vec<String>,
}

/// Counts a check's consecutive failed measurements; an inconclusive one neither counts nor
/// resets, a passed one resets.
#[derive(Debug, Clone)]
pub struct Tally {
    check: String,
    cadence: Cadence,
    failed: Vec<String>,
    decided: bool,
}

impl Tally {
    /// A tally for `check` with its cadence.
    pub fn new(check: impl Into<String>, cadence: Cadence) -> Self {
        Self {
            check: check.into(),
            cadence,
            failed: Vec::new(),
            decided: false,
        }
    }

    /// Takes one measurement in; gives the verdict once, when the failures in a row reach the
    /// limit. An alert-only check starts counting again after its alert.
    pub fn record(&mut self, measurement: Measurement) -> Option<Verdict> {
        if self.decided {
            return None;
        }
        match measurement {
            Measurement::Passed => self.failed.clear(),
            Measurement::Inconclusive(_) => {}
            Measurement::Failed(reasons) => {
                self.failed.push(reasons.join("; "));
                if self.failed.len() >= self.cadence.failures as usize {
                    let verdict = Verdict {
                        check: self.check.clone(),
                        action: self.cadence.action,
                        reasons: std::mem::take(&mut self.failed),
                    };
                    self.decided = verdict.action == Action::Rollback;
                    return Some(verdict);
                }
            }
        }
        None
    }
}

/// `value` over `limit`, or over `baseline × ratio` when both are given; `floor` keeps a tiny
/// baseline from making noise a regression. Returns the reason.
pub(crate) fn over_limits(
    what: &str,
    value: f64,
    limit: Option<f64>,
    baseline: Option<(f64, f64)>,
    floor: f64,
    unit: &str,
) -> Vec<String> {
    let mut reasons = Vec::new();
    if let Some(limit) = limit
        && value > limit
    {
        reasons.push(format!(
            "{what} {value:.3}{unit} is over the limit {limit:.3}{unit}"
        ));
    }
    if let Some((base, ratio)) = baseline {
        let allowed = base.max(floor) * ratio;
        if value > allowed {
            reasons.push(format!(
                "{what} {value:.3}{unit} is over {ratio}× the baseline {base:.3}{unit}"
            ));
        }
    }
    reasons
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn cadence(failures: u32, action: Action) -> Cadence {
        Cadence {
            interval: Duration::from_millis(100),
            failures,
            action,
        }
    }

    fn failed(reason: &str) -> Measurement {
        Measurement::Failed(vec![reason.into()])
    }

    #[test]
    fn tally_acts_on_failures_in_a_row() {
        type Case = (&'static str, u32, Vec<Measurement>, Option<usize>);
        let cases: Vec<Case> = vec![
            (
                "one failure with a limit of 1",
                1,
                vec![failed("a")],
                Some(0),
            ),
            (
                "two in a row with a limit of 2",
                2,
                vec![failed("a"), failed("b")],
                Some(1),
            ),
            (
                "a pass in between resets",
                2,
                vec![failed("a"), Measurement::Passed, failed("b")],
                None,
            ),
            (
                "an inconclusive one neither counts nor resets",
                2,
                vec![
                    failed("a"),
                    Measurement::Inconclusive("idle".into()),
                    failed("b"),
                ],
                Some(2),
            ),
            ("passes only", 1, vec![Measurement::Passed; 5], None),
        ];
        for (name, failures, measurements, expected) in cases {
            let mut tally = Tally::new("probe", cadence(failures, Action::Rollback));
            let mut decided_at = None;
            for (i, m) in measurements.into_iter().enumerate() {
                if let Some(verdict) = tally.record(m) {
                    assert_eq!(verdict.check, "probe", "{name}");
                    assert_eq!(verdict.reasons.len(), failures as usize, "{name}");
                    assert!(decided_at.is_none(), "{name}: decided twice");
                    decided_at = Some(i);
                }
            }
            assert_eq!(decided_at, expected, "{name}");
        }
    }

    #[test]
    fn a_rollback_is_decided_once_an_alert_again() {
        let mut rollback = Tally::new("process", cadence(1, Action::Rollback));
        assert!(rollback.record(failed("a")).is_some());
        assert!(rollback.record(failed("b")).is_none());
        let mut alert = Tally::new("process", cadence(1, Action::Alert));
        assert_eq!(alert.record(failed("a")).unwrap().action, Action::Alert);
        assert_eq!(alert.record(failed("b")).unwrap().reasons, vec!["b"]);
    }

    #[test]
    fn limits_absolute_and_against_the_baseline() {
        let cases = [
            (5.0, Some(10.0), None, 0.0, 0),
            (11.0, Some(10.0), None, 0.0, 1),
            (3.0, None, Some((1.0, 2.0)), 0.0, 1),
            (3.0, None, Some((1.0, 2.0)), 5.0, 0),
            (30.0, Some(10.0), Some((1.0, 2.0)), 0.0, 2),
        ];
        for (value, limit, baseline, floor, count) in cases {
            let reasons = over_limits("p99", value, limit, baseline, floor, "ms");
            assert_eq!(
                reasons.len(),
                count,
                "{value} {limit:?} {baseline:?} {floor}: {reasons:?}"
            );
        }
    }
}
