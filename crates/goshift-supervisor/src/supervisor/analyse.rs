//! Measuring for the analysis checks, off the loop thread: one worker thread per configured
//! check of a service, fed the core's [`Effect::Measure`](crate::machine::Effect::Measure)
//! requests. A worker measures (sockets, `/proc`, HTTP), judges with the pure evaluators of
//! `crate::analysis` against what it kept (the previous sample, the baseline) and hands the
//! result back as [`Input::Measured`]. A worker that falls behind (a probe waiting out its
//! timeout) skips to the newest request instead of queueing. Each `PromQL` query has a worker
//! of its own, which keeps the query's analysis run for the generation it measures.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::os::fd::OwnedFd;
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Duration, Instant};

use crate::analysis::accepting::{self, AcceptSample};
use crate::analysis::config::{MetricsCheck, ProbeCheck, ProcessCheck, PrometheusQuery};
use crate::analysis::process::{self, ProcessBaseline, ProcessSample};
use crate::analysis::promql::{self, QueryContext, QueryRun, RunStatus};
use crate::analysis::requests::{self, ProbeResult};
use crate::analysis::scrape::{self, Window};
use crate::analysis::{AnalysisConfig, Measurement};
use crate::config::ServiceConfig;
use crate::listen::Listener;
use crate::machine::{Check, Input, Role};
use crate::measure::exposition::{self, Sample};
use crate::measure::{http, prometheus, socket};

use super::Event;

/// The largest answer a probe or a scrape reads.
const BODY_LIMIT: usize = 4 * 1024 * 1024;
/// Between the two samples of a baseline.
const BASELINE_SPAN: Duration = Duration::from_millis(200);

/// One measurement asked for.
#[derive(Debug, Clone)]
pub(super) struct Job {
    pub(super) generation: u64,
    pub(super) pid: u32,
    /// The release the generation runs (`{{release}}` in a `PromQL` query).
    pub(super) release: String,
    pub(super) role: Role,
}

/// The workers of one service, by check.
#[derive(Debug, Default)]
pub(super) struct Analysts {
    workers: Vec<(Check, Sender<Job>)>,
}

impl Analysts {
    /// Starts a worker for every check the `[analysis]` section of `config` enables.
    pub(super) fn start(
        service: usize,
        config: &ServiceConfig,
        listeners: &[Listener],
        events: &Sender<Event>,
    ) -> std::io::Result<Self> {
        let mut analysts = Self::default();
        for (check, mut judge) in judges(&config.name, &config.analysis, listeners)? {
            let (tx, rx) = mpsc::channel::<Job>();
            let events = events.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("analysis-{}", check.label()))
                .spawn(move || work(&rx, service, check, &events, judge.as_mut()));
            if spawned.is_ok() {
                analysts.workers.push((check, tx));
            }
        }
        Ok(analysts)
    }

    /// Hands `job` to the worker of `check`; a check without a worker (no TCP listener to
    /// watch or probe) is never measured, which the configuration's docs say.
    pub(super) fn measure(&self, check: Check, job: Job) {
        if let Some((_, tx)) = self.workers.iter().find(|(c, _)| *c == check) {
            let _ = tx.send(job);
        }
    }
}

/// A judge for every check `config` enables that can be measured here: `not_accepting` and
/// `probe` need a TCP listener.
fn judges(
    name: &str,
    config: &AnalysisConfig,
    listeners: &[Listener],
) -> std::io::Result<Vec<(Check, Box<dyn Judge>)>> {
    let tcp = tcp_listeners(listeners)?;
    let address = tcp.first().map(|(_, address)| loopback(*address));
    let mut judges: Vec<(Check, Box<dyn Judge>)> = Vec::new();
    if config.not_accepting.is_some() && !tcp.is_empty() {
        judges.push((Check::NotAccepting, Box::new(NotAccepting::new(tcp))));
    }
    if let Some(check) = &config.process {
        judges.push((Check::Process, Box::new(Process::new(check.clone()))));
    }
    if let (Some(check), Some(address)) = (&config.probe, address) {
        let probe = Probe {
            check: check.clone(),
            address,
            baseline: None,
        };
        judges.push((Check::Probe, Box::new(probe)));
    }
    if let Some(check) = &config.metrics {
        let metrics = Metrics {
            check: check.clone(),
            baseline: None,
            last: None,
        };
        judges.push((Check::Metrics, Box::new(metrics)));
    }
    if let Some(check) = &config.prometheus {
        for (index, query) in (0..=u8::MAX).zip(&check.queries) {
            let judge = Prometheus::new(&check.url, query.clone(), name);
            judges.push((Check::Prometheus(index), Box::new(judge)));
        }
    }
    Ok(judges)
}

fn work(
    rx: &Receiver<Job>,
    service: usize,
    check: Check,
    events: &Sender<Event>,
    judge: &mut dyn Judge,
) {
    while let Ok(first) = rx.recv() {
        // Behind: only the newest request of each role still matters.
        let mut jobs = vec![first];
        jobs.extend(rx.try_iter());
        let newest = |role| jobs.iter().rev().find(|j| j.role == role);
        if let Some(job) = newest(Role::Baseline) {
            judge.baseline(job.pid);
        }
        let Some(job) = newest(Role::Watch) else {
            continue;
        };
        let Some(measurement) = judge.watch(job) else {
            continue;
        };
        let input = Input::Measured {
            service,
            generation: job.generation,
            check,
            role: Role::Watch,
            measurement,
        };
        if events.send(Event::Core(input)).is_err() {
            return;
        }
    }
}

/// One check's measuring and judging, with what it keeps between measurements.
trait Judge: Send {
    /// Measures the old generation before the cutover.
    fn baseline(&mut self, pid: u32);
    /// Measures the new generation and judges it; `None` when the check has nothing more
    /// to measure of it.
    fn watch(&mut self, job: &Job) -> Option<Measurement>;
}

/// Duplicates of the service's TCP listeners, with their addresses.
fn tcp_listeners(listeners: &[Listener]) -> std::io::Result<Vec<(OwnedFd, SocketAddr)>> {
    let mut tcp = Vec::new();
    for listener in listeners.iter().filter(|l| l.unix_path.is_none()) {
        let fd = listener.fd.try_clone()?;
        let std_listener = TcpListener::from(fd);
        let address = std_listener.local_addr()?;
        tcp.push((OwnedFd::from(std_listener), address));
    }
    Ok(tcp)
}

/// The address to reach a listener at: an unspecified one on the loopback of its family.
fn loopback(address: SocketAddr) -> SocketAddr {
    match address.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::from((Ipv4Addr::LOCALHOST, address.port()))
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::from((Ipv6Addr::LOCALHOST, address.port()))
        }
        _ => address,
    }
}

struct NotAccepting {
    listeners: Vec<(OwnedFd, SocketAddr)>,
    last: Option<(u64, AcceptSample)>,
    /// Connection inodes the generation was seen holding.
    seen: HashSet<u64>,
    /// The connections waiting in the queues at the last look.
    waiting: HashSet<(u128, u16)>,
    /// Connections seen waiting and neither waiting nor abandoned by their client (still
    /// queued, `CLOSE_WAIT`) at the next look: accepted. Short-lived connections accepted and
    /// closed between two looks never show in the fd table; this sees them.
    left: u64,
}

impl NotAccepting {
    fn new(listeners: Vec<(OwnedFd, SocketAddr)>) -> Self {
        Self {
            listeners,
            last: None,
            seen: HashSet::new(),
            waiting: HashSet::new(),
            left: 0,
        }
    }

    fn measure(&mut self, generation: u64, pid: u32) -> Measurement {
        if self.last.is_some_and(|(g, _)| g != generation) {
            self.last = None;
            self.seen.clear();
            self.waiting.clear();
            self.left = 0;
        }
        let mut queued = 0;
        let mut waiting = HashSet::new();
        let mut abandoned = HashSet::new();
        for (fd, address) in &self.listeners {
            match socket::accept_queue(fd) {
                Ok(Some(n)) => queued += n,
                Ok(None) => {}
                Err(error) => {
                    return Measurement::Inconclusive(format!(
                        "the accept queue of {address} could not be read: {error}"
                    ));
                }
            }
            self.seen
                .extend(socket::held_connections(pid, address.port()));
            let (queued_now, abandoned_now) = socket::queued_connections(address.port());
            waiting.extend(queued_now);
            abandoned.extend(abandoned_now);
        }
        self.left += self
            .waiting
            .iter()
            .filter(|c| !waiting.contains(*c) && !abandoned.contains(*c))
            .count() as u64;
        self.waiting = waiting;
        let sample = AcceptSample {
            queued,
            accepted: self.seen.len() as u64 + self.left,
        };
        let previous = self.last.map(|(_, s)| s);
        self.last = Some((generation, sample));
        accepting::judge(previous, sample)
    }
}

impl Judge for NotAccepting {
    fn baseline(&mut self, _pid: u32) {}

    fn watch(&mut self, job: &Job) -> Option<Measurement> {
        Some(self.measure(job.generation, job.pid))
    }
}

struct Process {
    check: ProcessCheck,
    epoch: Instant,
    ticks: u64,
    baseline: Option<ProcessBaseline>,
    last: Option<(u64, ProcessSample)>,
}

impl Process {
    fn new(check: ProcessCheck) -> Self {
        Self {
            check,
            epoch: Instant::now(),
            ticks: crate::measure::process::ticks_per_second(),
            baseline: None,
            last: None,
        }
    }

    fn sample(&self, pid: u32) -> Option<ProcessSample> {
        crate::measure::process::sample(pid, self.epoch.elapsed(), self.ticks)
    }
}

impl Judge for Process {
    fn baseline(&mut self, pid: u32) {
        let Some(before) = self.sample(pid) else {
            return;
        };
        std::thread::sleep(BASELINE_SPAN);
        if let Some(after) = self.sample(pid) {
            self.baseline = Some(ProcessBaseline::from_samples(&before, &after));
        }
    }

    fn watch(&mut self, job: &Job) -> Option<Measurement> {
        let pid = job.pid;
        let Some(sample) = self.sample(pid) else {
            return Some(Measurement::Inconclusive(format!(
                "/proc/{pid} could not be read"
            )));
        };
        let previous = self
            .last
            .filter(|(g, _)| *g == job.generation)
            .map(|(_, s)| s);
        self.last = Some((job.generation, sample));
        Some(match previous {
            None => Measurement::Inconclusive("first sample".into()),
            Some(before) => {
                process::judge(&self.check, self.baseline.as_ref(), &before, &sample, 0)
            }
        })
    }
}

struct Probe {
    check: ProbeCheck,
    address: SocketAddr,
    baseline: Option<Duration>,
}

impl Probe {
    fn run(&self) -> Vec<ProbeResult> {
        let host = self.address.to_string();
        self.check
            .requests
            .iter()
            .map(|request| {
                let start = Instant::now();
                let answer = http::request(
                    self.address,
                    &host,
                    &request.method,
                    &request.path,
                    request.timeout,
                    BODY_LIMIT,
                );
                ProbeResult {
                    status: answer.map(|r| r.status).map_err(|e| e.to_string()),
                    expected: request.status,
                    latency: start.elapsed(),
                }
            })
            .collect()
    }
}

impl Judge for Probe {
    fn baseline(&mut self, _pid: u32) {
        self.baseline = requests::baseline(&self.run());
    }

    fn watch(&mut self, _job: &Job) -> Option<Measurement> {
        Some(requests::judge(&self.check, self.baseline, &self.run()))
    }
}

struct Metrics {
    check: MetricsCheck,
    baseline: Option<Window>,
    last: Option<(u64, Vec<Sample>)>,
}

impl Metrics {
    fn scrape(&self) -> Result<Vec<Sample>, String> {
        let timeout = self
            .check
            .cadence
            .interval
            .clamp(Duration::from_millis(100), Duration::from_secs(2));
        let response =
            http::get(&self.check.url, timeout, BODY_LIMIT).map_err(|e| e.to_string())?;
        if response.status != 200 {
            return Err(format!("`{}` answered {}", self.check.url, response.status));
        }
        let text = String::from_utf8_lossy(&response.body);
        exposition::parse(&text).map_err(|e| e.to_string())
    }
}

impl Judge for Metrics {
    fn baseline(&mut self, _pid: u32) {
        let Ok(start) = self.scrape() else {
            return;
        };
        std::thread::sleep(self.check.cadence.interval.min(Duration::from_secs(1)));
        if let Ok(end) = self.scrape() {
            self.baseline = Some(scrape::window(&self.check, &start, &end));
        }
    }

    fn watch(&mut self, job: &Job) -> Option<Measurement> {
        let generation = job.generation;
        let samples = match self.scrape() {
            Ok(samples) => samples,
            Err(error) => {
                return Some(Measurement::Failed(vec![format!("scrape failed: {error}")]));
            }
        };
        let previous = self.last.take().filter(|(g, _)| *g == generation);
        let measurement = match &previous {
            None => Measurement::Inconclusive("first scrape".into()),
            Some((_, start)) => {
                let window = scrape::window(&self.check, start, &samples);
                scrape::judge(&self.check, self.baseline.as_ref(), &window)
            }
        };
        self.last = Some((generation, samples));
        Some(measurement)
    }
}

/// One `PromQL` query, as an analysis run per generation.
struct Prometheus {
    url: String,
    service: String,
    run: QueryRun,
    generation: Option<u64>,
}

impl Prometheus {
    fn new(url: &str, query: PrometheusQuery, service: &str) -> Self {
        Self {
            url: url.to_owned(),
            service: service.to_owned(),
            run: QueryRun::new(query),
            generation: None,
        }
    }
}

impl Judge for Prometheus {
    fn baseline(&mut self, _pid: u32) {}

    fn watch(&mut self, job: &Job) -> Option<Measurement> {
        if self.generation != Some(job.generation) {
            self.generation = Some(job.generation);
            self.run = QueryRun::new(self.run.query().clone());
        }
        if *self.run.status() != RunStatus::Running {
            return None;
        }
        let context = QueryContext {
            service: &self.service,
            release: &job.release,
            pid: job.pid,
        };
        let query = promql::render(&self.run.query().query, &context);
        let timeout = self
            .run
            .query()
            .interval
            .clamp(Duration::from_millis(100), Duration::from_secs(5));
        let result = prometheus::query(&self.url, &query, timeout);
        promql::measurement(&mut self.run, &result)
    }
}
