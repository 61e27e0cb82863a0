//! Many simulated agents in one process, for `scripts/bench/fleet.sh`: the agent's real loop
//! (lease, read, report, watch) against a real etcd, with hosts that only remember the
//! toolchain they were told to use (nothing is installed).
//!
//! Usage: `fleet_sim ETCD_URL AGENTS ROUNDS IDLE_SECONDS`
//!
//! Measures etcd's request rate while the fleet is idle (from etcd's own
//! `grpc_server_started_total`), then, ROUNDS times, the time from a change of the desired
//! toolchain to each simulated host reporting it. Prints one `key value` line per result.
#![expect(clippy::print_stdout, reason = "the benchmark's results go to stdout")]
#![expect(
    clippy::unwrap_used,
    reason = "a benchmark stops at the first broken step"
)]
#![expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss,
    reason = "counts and percentiles of a benchmark, far below 2^52"
)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use goshift_fleet::agent::{self, AgentConfig, Host, UpgradeOutcome};
use goshift_fleet::model::{
    DesiredToolchain, HostProgress, HostStatus, LastChange, Rollout, Stamp,
};
use goshift_fleet::{Etcd, EtcdOptions, Fleet, Keys, now_rfc3339};

/// When each host first reported each version.
type Seen = Arc<Mutex<BTreeMap<(usize, String), Instant>>>;

struct SimHost {
    index: usize,
    default: Option<String>,
    seen: Seen,
}

impl Host for SimHost {
    fn converge_toolchain(
        &mut self,
        desired: &DesiredToolchain,
    ) -> Result<Option<LastChange>, String> {
        if self.default.as_deref() == Some(desired.version.as_str()) {
            return Ok(None);
        }
        self.default = Some(desired.version.clone());
        Ok(Some(LastChange {
            what: format!("use go{}", desired.version),
            result: "success".into(),
            at: now_rfc3339(),
            error: None,
        }))
    }

    fn upgrade(&mut self, _rollout: &Rollout) -> UpgradeOutcome {
        UpgradeOutcome::Refused {
            reason: "simulated hosts run no services".into(),
        }
    }

    fn resume(&mut self, rollout: &Rollout) -> UpgradeOutcome {
        self.upgrade(rollout)
    }

    fn revert(&mut self, _rollout: &Rollout, _progress: &HostProgress) -> Result<String, String> {
        Err("simulated hosts run no services".into())
    }

    fn status(&mut self) -> HostStatus {
        // Called right before the agent writes its report.
        if let Some(version) = &self.default {
            self.seen
                .lock()
                .unwrap()
                .entry((self.index, version.clone()))
                .or_insert_with(Instant::now);
        }
        HostStatus {
            host: format!("sim-{:04}", self.index),
            environment: "bench".into(),
            labels: BTreeMap::new(),
            goshift_version: "sim".into(),
            toolchains: self.default.iter().map(|v| format!("go{v}")).collect(),
            default_toolchain: self.default.as_ref().map(|v| format!("go{v}")),
            services: Vec::new(),
            audit: None,
            last_change: None,
            problems: Vec::new(),
            seen_revision: 0,
        }
    }
}

/// etcd's count of requests started (unary calls and streams), from its metrics.
fn requests_started(url: &str) -> u64 {
    let text = ureq::get(format!("{url}/metrics"))
        .call()
        .unwrap()
        .into_body()
        .read_to_string()
        .unwrap();
    text.lines()
        .filter(|line| line.starts_with("grpc_server_started_total{"))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// A client of `url` of its own, as each real host's agent has (its own connections).
fn client(url: &str) -> Fleet {
    let etcd = Etcd::new(EtcdOptions {
        endpoints: vec![url.to_owned()],
        ..EtcdOptions::default()
    })
    .unwrap();
    Fleet::new(etcd, Keys::new("/goshift-bench/").unwrap())
}

/// Starts `agents` agents, each on a thread of its own with its own client.
fn start_agents(url: &str, agents: usize, seen: &Seen, stop: &Arc<AtomicBool>) {
    for index in 0..agents {
        let fleet = client(url);
        let seen = Arc::clone(seen);
        let stop = Arc::clone(stop);
        let run = move || {
            let config = AgentConfig {
                host: format!("sim-{index:04}"),
                environment: "bench".into(),
                lease_ttl: Duration::from_mins(1),
                watch_wait: Duration::from_mins(1),
            };
            let mut host = SimHost {
                index,
                default: None,
                seen,
            };
            agent::run(&fleet, &config, &mut host, &stop, &mut |_| {}).unwrap();
        };
        let thread = std::thread::Builder::new().stack_size(256 << 10);
        drop(thread.spawn(run).unwrap());
    }
}

/// Waits until every agent holds a lease; prints how long that took.
fn wait_registered(fleet: &Fleet, agents: usize) {
    let alive = || {
        fleet
            .etcd()
            .get_prefix(&fleet.keys().alive_all())
            .map_or(0, |range| range.kvs.len())
    };
    let started = Instant::now();
    while alive() < agents {
        assert!(
            started.elapsed() < Duration::from_mins(5),
            "agents did not register"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    println!("agents {agents}");
    println!("registered_seconds {:.1}", started.elapsed().as_secs_f64());
}

/// etcd's request rate over `idle` while nothing changes, after the start-up burst.
fn measure_idle(url: &str, agents: usize, idle: Duration) {
    std::thread::sleep(Duration::from_secs(5));
    let before = requests_started(url);
    std::thread::sleep(idle);
    let after = requests_started(url);
    let rate = (after - before) as f64 / idle.as_secs_f64();
    println!("idle_requests_per_second {rate:.1}");
    println!(
        "idle_requests_per_host_per_10s {:.3}",
        rate * 10.0 / agents as f64
    );
}

/// Changes the desired toolchain to `version`; returns when, after the write.
fn change(fleet: &Fleet, version: &str) -> Instant {
    let read = fleet.desired_toolchain("bench").unwrap();
    let desired = DesiredToolchain {
        version: version.to_owned(),
        stamp: Stamp {
            changed_by: "bench".into(),
            changed_at: now_rfc3339(),
            reason: "benchmark".into(),
        },
    };
    let changed = Instant::now();
    fleet
        .set_toolchain("bench", &desired, read.revision, None)
        .unwrap();
    changed
}

/// From `changed` to each host reporting `version`, sorted.
fn latencies(seen: &Seen, agents: usize, version: &str, changed: Instant) -> Vec<Duration> {
    loop {
        let mut latencies: Vec<Duration> = {
            let seen = seen.lock().unwrap();
            (0..agents)
                .filter_map(|i| seen.get(&(i, version.to_owned())))
                .map(|at| at.saturating_duration_since(changed))
                .collect()
        };
        if latencies.len() == agents {
            latencies.sort();
            return latencies;
        }
        assert!(
            changed.elapsed() < Duration::from_mins(2),
            "only {} of {agents} hosts reported go{version}",
            latencies.len()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn print_percentiles(label: &str, sorted: &[Duration]) {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{label} p50_ms {:.0} p99_ms {:.0} max_ms {:.0}",
        ms(percentile(sorted, 0.5)),
        ms(percentile(sorted, 0.99)),
        ms(sorted[sorted.len() - 1])
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, agents, rounds, idle] = args.as_slice() else {
        panic!("usage: fleet_sim ETCD_URL AGENTS ROUNDS IDLE_SECONDS");
    };
    let agents: usize = agents.parse().unwrap();
    let rounds: usize = rounds.parse().unwrap();
    let idle = Duration::from_secs(idle.parse().unwrap());
    let fleet = client(url);
    let seen: Seen = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    start_agents(url, agents, &seen, &stop);
    wait_registered(&fleet, agents);
    measure_idle(url, agents, idle);
    let mut all = Vec::new();
    for round in 0..rounds {
        let version = format!("1.22.{}", 100 + round);
        let changed = change(&fleet, &version);
        let latencies = latencies(&seen, agents, &version, changed);
        print_percentiles(&format!("round {round}"), &latencies);
        all.extend(latencies);
        std::thread::sleep(Duration::from_secs(2));
    }
    all.sort();
    print_percentiles("convergence", &all);
    stop.store(true, Ordering::Relaxed);
    // The agents leave at the end of their current watch; the process does not wait.
}
