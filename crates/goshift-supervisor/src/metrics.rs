//! Prometheus counters and the text exposition, plus the tiny HTTP endpoint serving it.
//!
//! Two parts: [`Metrics`], the counters the core keeps (upgrades, rollbacks, restarts), and
//! [`Runtime`], what the driver samples from `/proc` at each scrape (every live generation's
//! resources and accepted connections, the listeners' accept queues, the supervisor itself).
//! The analysis checks' measurements and verdicts are a third part, rendered after these.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::mpsc::{self, Sender};
use std::time::Duration;

use crate::analysis::process::ProcessSample;
use crate::phase::{RollbackReason, UpgradeResult};

const BUCKETS: [f64; 11] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0];

/// Counters kept by the event loop. Every series of a service exists from the start, at 0,
/// so `increase()` over a window sees the first event after a restart of the supervisor.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    upgrades: BTreeMap<(String, &'static str), u64>,
    rollbacks: BTreeMap<(String, &'static str), u64>,
    graceful_failures: BTreeMap<String, u64>,
    restarts: BTreeMap<String, u64>,
    durations: BTreeMap<String, Histogram>,
}

#[derive(Debug, Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

/// What the loop knows about a live generation when rendering.
#[derive(Debug)]
pub(crate) struct Live {
    pub(crate) service: String,
    pub(crate) generation: u64,
    pub(crate) connections: usize,
}

/// The serving release of a service, for `goshift_release_info`.
#[derive(Debug)]
pub(crate) struct ReleaseInfo {
    pub(crate) service: String,
    pub(crate) release: String,
    pub(crate) go_version: String,
    pub(crate) revision: String,
}

const RESULTS: [UpgradeResult; 2] = [UpgradeResult::Upgraded, UpgradeResult::RolledBack];

fn result_label(result: UpgradeResult) -> &'static str {
    match result {
        UpgradeResult::Upgraded => "upgraded",
        UpgradeResult::RolledBack => "rolled_back",
        UpgradeResult::Unchanged => "unchanged",
    }
}

impl Metrics {
    /// Counters for `services`, every label at 0.
    pub(crate) fn new(services: &[String]) -> Self {
        let mut metrics = Self::default();
        for service in services {
            for result in RESULTS {
                metrics
                    .upgrades
                    .insert((service.clone(), result_label(result)), 0);
            }
            for reason in RollbackReason::ALL {
                metrics
                    .rollbacks
                    .insert((service.clone(), reason.label()), 0);
            }
            metrics.graceful_failures.insert(service.clone(), 0);
            metrics.restarts.insert(service.clone(), 0);
            metrics
                .durations
                .insert(service.clone(), Histogram::default());
        }
        metrics
    }

    pub(crate) fn upgrade(&mut self, service: &str, result: UpgradeResult, seconds: f64) {
        *self
            .upgrades
            .entry((service.to_owned(), result_label(result)))
            .or_default() += 1;
        let histogram = self.durations.entry(service.to_owned()).or_default();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                histogram.counts[i] += 1;
            }
        }
        histogram.sum += seconds;
        histogram.count += 1;
    }

    pub(crate) fn rollback(&mut self, service: &str, reason: RollbackReason) {
        *self
            .rollbacks
            .entry((service.to_owned(), reason.label()))
            .or_default() += 1;
    }

    pub(crate) fn graceful_failure(&mut self, service: &str) {
        *self
            .graceful_failures
            .entry(service.to_owned())
            .or_default() += 1;
    }

    pub(crate) fn restart(&mut self, service: &str) {
        *self.restarts.entry(service.to_owned()).or_default() += 1;
    }

    pub(crate) fn restarts(&self, service: &str) -> u64 {
        self.restarts.get(service).copied().unwrap_or(0)
    }

    /// The Prometheus text exposition.
    /// `dropped` is each service's count of child output lines the log dropped.
    pub(crate) fn render(
        &self,
        live: &[Live],
        releases: &[ReleaseInfo],
        dropped: &[(String, u64)],
    ) -> String {
        let mut out = String::new();
        self.render_durations(&mut out);
        self.render_labelled(&mut out);
        for (name, help, series) in [
            (
                "goshift_graceful_shutdown_failures_total",
                "Generations killed after their grace period.",
                &self.graceful_failures,
            ),
            (
                "goshift_child_restarts_total",
                "Restarts after deaths outside upgrades.",
                &self.restarts,
            ),
        ] {
            header(&mut out, name, help, "counter");
            for (service, n) in series {
                let _ = writeln!(out, "{name}{{service=\"{}\"}} {n}", escape(service));
            }
        }
        let name = "goshift_child_output_dropped_lines_total";
        header(
            &mut out,
            name,
            "Lines of child output the log dropped because it fell behind.",
            "counter",
        );
        for (service, n) in dropped {
            let _ = writeln!(out, "{name}{{service=\"{}\"}} {n}", escape(service));
        }
        render_gauges(&mut out, live, releases);
        out
    }

    /// The counters with a second label: upgrades by result, rollbacks by reason.
    fn render_labelled(&self, out: &mut String) {
        header(
            out,
            "goshift_upgrades_total",
            "Upgrades by result.",
            "counter",
        );
        for ((service, result), n) in &self.upgrades {
            let _ = writeln!(
                out,
                "goshift_upgrades_total{{service=\"{}\",result=\"{result}\"}} {n}",
                escape(service)
            );
        }
        header(
            out,
            "goshift_rollbacks_total",
            "Automatic and requested rollbacks by reason.",
            "counter",
        );
        for ((service, reason), n) in &self.rollbacks {
            let _ = writeln!(
                out,
                "goshift_rollbacks_total{{service=\"{}\",reason=\"{reason}\"}} {n}",
                escape(service)
            );
        }
    }

    fn render_durations(&self, out: &mut String) {
        header(
            out,
            "goshift_upgrade_duration_seconds",
            "Time from upgrade request to outcome.",
            "histogram",
        );
        for (service, h) in &self.durations {
            let service = escape(service);
            for (i, bound) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "goshift_upgrade_duration_seconds_bucket{{service=\"{service}\",le=\"{bound}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(
                out,
                "goshift_upgrade_duration_seconds_bucket{{service=\"{service}\",le=\"+Inf\"}} {}\ngoshift_upgrade_duration_seconds_sum{{service=\"{service}\"}} {}\ngoshift_upgrade_duration_seconds_count{{service=\"{service}\"}} {}",
                h.count, h.sum, h.count
            );
        }
    }
}

fn render_gauges(out: &mut String, live: &[Live], releases: &[ReleaseInfo]) {
    header(
        out,
        "goshift_active_connections",
        "Established TCP connections per generation, from /proc.",
        "gauge",
    );
    for l in live {
        let _ = writeln!(
            out,
            "goshift_active_connections{{service=\"{}\",generation=\"{}\"}} {}",
            escape(&l.service),
            l.generation,
            l.connections
        );
    }
    header(out, "goshift_release_info", "The serving release.", "gauge");
    for r in releases {
        let _ = writeln!(
            out,
            "goshift_release_info{{service=\"{}\",release=\"{}\",go_version=\"{}\",revision=\"{}\"}} 1",
            escape(&r.service),
            escape(&r.release),
            escape(&r.go_version),
            escape(&r.revision)
        );
    }
}

/// One live generation as sampled at a scrape.
#[derive(Debug)]
pub(crate) struct GenerationSample {
    pub(crate) service: String,
    pub(crate) generation: u64,
    pub(crate) pid: u32,
    pub(crate) release: String,
    /// `None` when `/proc/PID` could not be read (the process just exited).
    pub(crate) process: Option<ProcessSample>,
    /// Connections it was seen holding on the service's TCP listeners, so far.
    pub(crate) accepted: u64,
}

/// One TCP listener's accept queue.
#[derive(Debug)]
pub(crate) struct QueueSample {
    pub(crate) service: String,
    pub(crate) listener: String,
    /// Connections the kernel completed that no generation accepted yet.
    pub(crate) waiting: u64,
}

/// What the driver samples from `/proc` at each scrape.
#[derive(Debug, Default)]
pub(crate) struct Runtime {
    pub(crate) generations: Vec<GenerationSample>,
    pub(crate) queues: Vec<QueueSample>,
    /// The supervisor's own process.
    pub(crate) supervisor: Option<ProcessSample>,
}

/// A generation's series: name, help, type, and its value when sampled.
type GenerationSeries = (
    &'static str,
    &'static str,
    &'static str,
    fn(&ProcessSample) -> f64,
);

const GENERATION_SERIES: [GenerationSeries; 4] = [
    (
        "goshift_generation_resident_memory_bytes",
        "Resident memory of each live generation, from /proc/PID/status.",
        "gauge",
        |p| float(p.rss),
    ),
    (
        "goshift_generation_cpu_seconds_total",
        "User and system CPU time of each live generation, from /proc/PID/stat.",
        "counter",
        |p| p.cpu.as_secs_f64(),
    ),
    (
        "goshift_generation_open_fds",
        "Open file descriptors of each live generation.",
        "gauge",
        |p| float(p.fds),
    ),
    (
        "goshift_generation_threads",
        "Threads of each live generation.",
        "gauge",
        |p| float(p.threads),
    ),
];

#[expect(
    clippy::cast_precision_loss,
    reason = "sizes and counts far below 2^52"
)]
fn float(value: u64) -> f64 {
    value as f64
}

impl Runtime {
    /// Appends the sampled series to `out`.
    pub(crate) fn render(&self, out: &mut String) {
        self.render_generations(out);
        self.render_queues(out);
        let Some(own) = &self.supervisor else {
            return;
        };
        for (name, help, kind, value) in [
            (
                "process_resident_memory_bytes",
                "Resident memory of the supervisor.",
                "gauge",
                float(own.rss),
            ),
            (
                "process_cpu_seconds_total",
                "User and system CPU time of the supervisor.",
                "counter",
                own.cpu.as_secs_f64(),
            ),
            (
                "process_open_fds",
                "Open file descriptors of the supervisor.",
                "gauge",
                float(own.fds),
            ),
        ] {
            header(out, name, help, kind);
            let _ = writeln!(out, "{name} {value}");
        }
    }

    fn render_generations(&self, out: &mut String) {
        let name = "goshift_generation_info";
        header(
            out,
            name,
            "Each live generation: its pid and the release it runs.",
            "gauge",
        );
        for g in &self.generations {
            let _ = writeln!(
                out,
                "{name}{{service=\"{}\",generation=\"{}\",pid=\"{}\",release=\"{}\"}} 1",
                escape(&g.service),
                g.generation,
                g.pid,
                escape(&g.release)
            );
        }
        for (name, help, kind, value) in GENERATION_SERIES {
            header(out, name, help, kind);
            for g in &self.generations {
                if let Some(process) = &g.process {
                    let _ = writeln!(
                        out,
                        "{name}{{service=\"{}\",generation=\"{}\"}} {}",
                        escape(&g.service),
                        g.generation,
                        value(process)
                    );
                }
            }
        }
        let name = "goshift_generation_accepted_connections_total";
        header(
            out,
            name,
            "Connections each live generation was seen holding on its service's TCP listeners (sampled at each scrape: a lower bound).",
            "counter",
        );
        for g in &self.generations {
            let _ = writeln!(
                out,
                "{name}{{service=\"{}\",generation=\"{}\"}} {}",
                escape(&g.service),
                g.generation,
                g.accepted
            );
        }
    }

    fn render_queues(&self, out: &mut String) {
        let name = "goshift_listen_queue_length";
        header(
            out,
            name,
            "Connections waiting in a TCP listener's accept queue that no generation accepted yet.",
            "gauge",
        );
        for q in &self.queues {
            let _ = writeln!(
                out,
                "{name}{{service=\"{}\",listener=\"{}\"}} {}",
                escape(&q.service),
                escape(&q.listener),
                q.waiting
            );
        }
    }
}

fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Serves `GET /metrics` (any path) on `listener`; each request asks `fetch` for the text.
pub(crate) fn serve(listener: TcpListener, fetch: impl Fn(Sender<String>) + Send + 'static) {
    let _ = std::thread::Builder::new()
        .name("metrics".into())
        .stack_size(128 * 1024)
        .spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                let mut request = [0_u8; 1024];
                let _ = stream.read(&mut request);
                let (tx, rx) = mpsc::channel();
                fetch(tx);
                let body = rx.recv_timeout(Duration::from_secs(5)).unwrap_or_default();
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histogram() {
        let mut metrics = Metrics::new(&["api".to_owned()]);
        metrics.upgrade("api", UpgradeResult::Upgraded, 0.3);
        metrics.rollback("api", RollbackReason::ReadyTimeout);
        metrics.graceful_failure("api");
        metrics.restart("api");
        let text = metrics.render(
            &[Live {
                service: "api".into(),
                generation: 2,
                connections: 5,
            }],
            &[ReleaseInfo {
                service: "api".into(),
                release: "r1".into(),
                go_version: "go1.22.10".into(),
                revision: String::new(),
            }],
            &[("api".into(), 0)],
        );
        for needle in [
            "goshift_upgrade_duration_seconds_bucket{service=\"api\",le=\"0.25\"} 0",
            "goshift_upgrade_duration_seconds_bucket{service=\"api\",le=\"0.5\"} 1",
            "goshift_upgrades_total{service=\"api\",result=\"upgraded\"} 1",
            "goshift_rollbacks_total{service=\"api\",reason=\"ready_timeout\"} 1",
            "goshift_graceful_shutdown_failures_total{service=\"api\"} 1",
            "goshift_child_restarts_total{service=\"api\"} 1",
            "goshift_child_output_dropped_lines_total{service=\"api\"} 0",
            "goshift_active_connections{service=\"api\",generation=\"2\"} 5",
            "goshift_release_info{service=\"api\",release=\"r1\",go_version=\"go1.22.10\",revision=\"\"} 1",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
    }

    #[test]
    fn renders_the_sampled_runtime() {
        let process = ProcessSample {
            at: Duration::ZERO,
            rss: 4096,
            cpu: Duration::from_millis(1500),
            threads: 7,
            fds: 9,
        };
        let runtime = Runtime {
            generations: vec![
                GenerationSample {
                    service: "api".into(),
                    generation: 3,
                    pid: 42,
                    release: "r\"1".into(),
                    process: Some(process),
                    accepted: 5,
                },
                GenerationSample {
                    service: "api".into(),
                    generation: 4,
                    pid: 43,
                    release: "r2".into(),
                    process: None,
                    accepted: 0,
                },
            ],
            queues: vec![QueueSample {
                service: "api".into(),
                listener: "http".into(),
                waiting: 2,
            }],
            supervisor: Some(process),
        };
        let mut text = String::new();
        runtime.render(&mut text);
        for needle in [
            "goshift_generation_info{service=\"api\",generation=\"3\",pid=\"42\",release=\"r\\\"1\"} 1",
            "goshift_generation_resident_memory_bytes{service=\"api\",generation=\"3\"} 4096",
            "goshift_generation_cpu_seconds_total{service=\"api\",generation=\"3\"} 1.5",
            "goshift_generation_open_fds{service=\"api\",generation=\"3\"} 9",
            "goshift_generation_threads{service=\"api\",generation=\"3\"} 7",
            "goshift_generation_accepted_connections_total{service=\"api\",generation=\"4\"} 0",
            "goshift_listen_queue_length{service=\"api\",listener=\"http\"} 2",
            "process_resident_memory_bytes 4096",
            "process_cpu_seconds_total 1.5",
            "process_open_fds 9",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
        // A generation whose /proc could not be read has its info, not made-up numbers.
        assert!(!text.contains("goshift_generation_open_fds{service=\"api\",generation=\"4\"}"));
    }
}
