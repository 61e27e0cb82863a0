//! The core's side of analysis: which checks measure a new generation and when, and what
//! their measurements add up to.
//!
//! From the new generation's readiness (the cutover) to the end of the watch window, each
//! configured check is due every `interval`: the core emits [`Effect::Measure`] and the
//! driver answers with [`Input::Measured`](super::Input::Measured) once it has measured and
//! judged (measuring is I/O; judging is the pure code in `crate::analysis`). A [`Tally`] per
//! check turns the measurements into a verdict: an alert is published and counted, a
//! rollback ends the upgrade with the check's [`RollbackReason`]. Before the cutover the old
//! generation is measured once as the baseline (`Role::Baseline`); during a bake, the process
//! signals measure it again beside the new one on every interval.

use std::time::{Duration, Instant};

use crate::analysis::{Action, AnalysisConfig, Cadence, Measurement, Tally, Verdict};
use crate::phase::RollbackReason;

use super::{Cx, Effect};

/// A check the core schedules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Check {
    /// `analysis.not_accepting`.
    NotAccepting,
    /// `analysis.process`.
    Process,
    /// `analysis.probe`.
    Probe,
    /// `analysis.metrics`.
    Metrics,
    /// `analysis.prometheus`: the query at this index of `queries`, a check of its own with
    /// its own interval.
    Prometheus(u8),
}

impl Check {
    /// The checks with one cadence each, in the order of the service file's docs.
    const FIXED: [Self; 4] = [
        Self::NotAccepting,
        Self::Process,
        Self::Probe,
        Self::Metrics,
    ];

    /// The check's name in the service file, events and metrics.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::NotAccepting => "not_accepting",
            Self::Process => "process",
            Self::Probe => "probe",
            Self::Metrics => "metrics",
            Self::Prometheus(_) => "prometheus",
        }
    }

    /// The reason of a rollback this check decides.
    pub(crate) fn reason(self) -> RollbackReason {
        match self {
            Self::NotAccepting => RollbackReason::NotAccepting,
            Self::Process => RollbackReason::ProcessSignals,
            Self::Probe => RollbackReason::Probe,
            Self::Metrics => RollbackReason::ServiceMetrics,
            Self::Prometheus(_) => RollbackReason::Prometheus,
        }
    }
}

/// Whom a measurement is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// The old generation, before the cutover: what the new one is compared with.
    Baseline,
    /// The new generation, from its readiness (through the bake, if any) to the end of the
    /// watch window.
    Watch,
}

/// One configured check with its cadence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CheckRule {
    pub(crate) check: Check,
    pub(crate) cadence: Cadence,
}

/// The checks of an `[analysis]` section the core schedules, in a fixed order. A `PromQL`
/// query is judged as a whole run by the driver (`crate::analysis::promql`), which hands in a
/// failed measurement only when the run failed: one decides.
pub(crate) fn rules(config: &AnalysisConfig) -> Vec<CheckRule> {
    let cadences = [
        config.not_accepting.as_ref().map(|c| c.cadence),
        config.process.as_ref().map(|c| c.cadence),
        config.probe.as_ref().map(|c| c.cadence),
        config.metrics.as_ref().map(|c| c.cadence),
    ];
    let fixed = Check::FIXED
        .into_iter()
        .zip(cadences)
        .filter_map(|(check, cadence)| cadence.map(|cadence| CheckRule { check, cadence }));
    let queries = config.prometheus.iter().flat_map(|p| &p.queries);
    let prometheus = (0..=u8::MAX).zip(queries).map(|(index, query)| CheckRule {
        check: Check::Prometheus(index),
        cadence: Cadence {
            interval: query.interval,
            failures: 1,
            action: query.action,
        },
    });
    fixed.chain(prometheus).collect()
}

#[derive(Debug)]
struct Scheduled {
    check: Check,
    interval: Duration,
    tally: Tally,
    next: Instant,
}

/// The checks running against one new generation.
#[derive(Debug, Default)]
pub(super) struct Analysis {
    scheduled: Vec<Scheduled>,
    /// Every failed measurement so far, `(check, reasons)`, for the incident.
    pub(super) failures: Vec<(Check, Vec<String>)>,
}

/// What a measurement led to.
#[derive(Debug)]
pub(super) enum Decision {
    Nothing,
    Alert(Verdict),
    Rollback(Check, Verdict),
}

impl Analysis {
    /// Every check, first due one interval from `now`.
    pub(super) fn start(rules: &[CheckRule], now: Instant) -> Self {
        Self {
            scheduled: rules
                .iter()
                .map(|rule| Scheduled {
                    check: rule.check,
                    interval: rule.cadence.interval,
                    tally: Tally::new(rule.check.label(), rule.cadence),
                    next: now + rule.cadence.interval,
                })
                .collect(),
            failures: Vec::new(),
        }
    }

    pub(super) fn deadline(&self) -> Option<Instant> {
        self.scheduled.iter().map(|s| s.next).min()
    }

    /// Asks for the measurements of the judged generation `(id, pid)` that are due, and
    /// schedules their next ones. During a bake the old generation serves `beside` it: the
    /// process signals measure it again just before the new one (a baseline taken under the
    /// same load); the probe and the scrape go to the shared address, so they have nothing
    /// of the old one's own to measure.
    pub(super) fn due(
        &mut self,
        service: usize,
        (generation, pid): (u64, u32),
        beside: Option<(u64, u32)>,
        cx: &mut Cx,
    ) {
        let now = cx.now.mono;
        for scheduled in &mut self.scheduled {
            if scheduled.next <= now {
                scheduled.next = now + scheduled.interval;
                if let (Check::Process, Some((old, old_pid))) = (scheduled.check, beside) {
                    cx.emit(Effect::Measure {
                        service,
                        generation: old,
                        pid: old_pid,
                        check: Check::Process,
                        role: Role::Baseline,
                    });
                }
                cx.emit(Effect::Measure {
                    service,
                    generation,
                    pid,
                    check: scheduled.check,
                    role: Role::Watch,
                });
            }
        }
    }

    /// Takes one measurement of `check` in.
    pub(super) fn record(&mut self, check: Check, measurement: Measurement) -> Decision {
        if let Measurement::Failed(reasons) = &measurement {
            self.failures.push((check, reasons.clone()));
        }
        let Some(scheduled) = self.scheduled.iter_mut().find(|s| s.check == check) else {
            return Decision::Nothing;
        };
        match scheduled.tally.record(measurement) {
            None => Decision::Nothing,
            Some(verdict) if verdict.action == Action::Alert => Decision::Alert(verdict),
            Some(verdict) => Decision::Rollback(check, verdict),
        }
    }
}

/// Asks for the baseline of every check, measured on the old generation `pid`.
pub(super) fn baseline(
    rules: &[CheckRule],
    service: usize,
    generation: u64,
    pid: u32,
    cx: &mut Cx,
) {
    for rule in rules {
        cx.emit(Effect::Measure {
            service,
            generation,
            pid,
            check: rule.check,
            role: Role::Baseline,
        });
    }
}

/// A verdict as one line: the check, how many measurements failed, their reasons.
pub(super) fn describe(verdict: &Verdict) -> String {
    format!(
        "check `{}` failed {} time(s) in a row: {}",
        verdict.check,
        verdict.reasons.len(),
        verdict.reasons.join(" | ")
    )
}

/// Every check's measurements and verdicts per service, from zero at the start, for the
/// metrics endpoint.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// `(service, check, result)` → count; result is `passed`, `failed` or `inconclusive`.
    measurements: std::collections::BTreeMap<(String, &'static str, &'static str), u64>,
    /// `(service, check, action)` → count; action is `alert` or `rollback`.
    verdicts: std::collections::BTreeMap<(String, &'static str, &'static str), u64>,
}

impl Counters {
    /// Zero for every configured check of every service.
    pub(crate) fn new(services: &[(String, Vec<CheckRule>)]) -> Self {
        let mut counters = Self::default();
        for (service, rules) in services {
            for rule in rules {
                let check = rule.check.label();
                for result in ["passed", "failed", "inconclusive"] {
                    counters
                        .measurements
                        .insert((service.clone(), check, result), 0);
                }
                for action in ["alert", "rollback"] {
                    counters
                        .verdicts
                        .insert((service.clone(), check, action), 0);
                }
            }
        }
        counters
    }

    pub(super) fn measured(&mut self, service: &str, check: Check, measurement: &Measurement) {
        let result = match measurement {
            Measurement::Passed => "passed",
            Measurement::Failed(_) => "failed",
            Measurement::Inconclusive(_) => "inconclusive",
        };
        *self
            .measurements
            .entry((service.to_owned(), check.label(), result))
            .or_default() += 1;
    }

    pub(super) fn verdict(&mut self, service: &str, check: Check, action: Action) {
        let action = match action {
            Action::Alert => "alert",
            Action::Rollback => "rollback",
        };
        *self
            .verdicts
            .entry((service.to_owned(), check.label(), action))
            .or_default() += 1;
    }

    /// The Prometheus text exposition of both counters; empty when no check is configured.
    pub(crate) fn render(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        if self.measurements.is_empty() {
            return out;
        }
        out.push_str("# HELP goshift_analysis_measurements_total Measurements of a new generation by the analysis checks, by result.\n# TYPE goshift_analysis_measurements_total counter\n");
        for ((service, check, result), count) in &self.measurements {
            let _ = writeln!(
                out,
                "goshift_analysis_measurements_total{{service=\"{service}\",check=\"{check}\",result=\"{result}\"}} {count}"
            );
        }
        out.push_str("# HELP goshift_analysis_verdicts_total Verdicts of the analysis checks, by action.\n# TYPE goshift_analysis_verdicts_total counter\n");
        for ((service, check, action), count) in &self.verdicts {
            let _ = writeln!(
                out,
                "goshift_analysis_verdicts_total{{service=\"{service}\",check=\"{check}\",action=\"{action}\"}} {count}"
            );
        }
        out
    }
}
