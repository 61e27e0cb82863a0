//! The agent's lease: granted, renewed every third of its time to live from a thread of its
//! own so a long install or upgrade never lets it lapse, and granted anew when it expired.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::AgentConfig;
use crate::EtcdError;
use crate::fleet::Fleet;

/// The lease shared by the loop and the keep-alive thread.
#[derive(Debug)]
pub(super) struct Lease {
    pub(super) id: AtomicI64,
}

/// Sleeps for `duration`, or until `stop` is set.
pub(super) fn sleep_unless_stopped(duration: Duration, stop: &AtomicBool) {
    let end = Instant::now() + duration;
    while !stop.load(Ordering::Relaxed) && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(50).min(end - Instant::now()));
    }
}

/// Renews the lease every third of its time to live; grants a new one (and marks the host
/// alive under it) when it expired or none exists yet. Stops with `stop`.
pub(super) fn spawn_keeper(
    fleet: &Fleet,
    config: &AgentConfig,
    lease: &Arc<Lease>,
    stop: &AtomicBool,
    messages: &Arc<Mutex<Vec<String>>>,
) -> Keeper {
    let fleet = fleet.clone();
    let lease = Arc::clone(lease);
    let messages = Arc::clone(messages);
    let done = Arc::new(AtomicBool::new(stop.load(Ordering::Relaxed)));
    let done_here = Arc::clone(&done);
    let ttl = config.lease_ttl.max(Duration::from_secs(2));
    let host = config.host.clone();
    let environment = config.environment.clone();
    let thread = std::thread::spawn(move || {
        let say = |text: String| {
            if let Ok(mut m) = messages.lock() {
                m.push(text);
            }
        };
        // A first lease before the loop's first report.
        let _ = renew(&fleet, &lease, ttl, &host, &environment);
        while !done_here.load(Ordering::Relaxed) {
            sleep_unless_stopped(ttl / 3, &done_here);
            if done_here.load(Ordering::Relaxed) {
                break;
            }
            if let Err(error) = renew(&fleet, &lease, ttl, &host, &environment) {
                say(format!("renewing the lease failed: {error}"));
            }
        }
    });
    Keeper {
        done,
        thread: Some(thread),
    }
}

/// Stops the keep-alive thread when dropped.
pub(super) struct Keeper {
    done: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Keeper {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn renew(
    fleet: &Fleet,
    lease: &Lease,
    ttl: Duration,
    host: &str,
    environment: &str,
) -> Result<(), EtcdError> {
    let id = lease.id.load(Ordering::Relaxed);
    if id != 0 && fleet.etcd().keep_alive(id)? > 0 {
        return Ok(());
    }
    let ttl_seconds = i64::try_from(ttl.as_secs()).unwrap_or(60);
    let id = fleet.etcd().grant_lease(ttl_seconds)?;
    let alive = serde_json::json!({ "environment": environment, "lease": id.to_string() });
    fleet
        .etcd()
        .put(&fleet.keys().alive(host), alive.to_string().as_bytes(), id)?;
    lease.id.store(id, Ordering::Relaxed);
    Ok(())
}
