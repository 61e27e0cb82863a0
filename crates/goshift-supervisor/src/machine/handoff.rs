//! The core's side of the re-exec handoff: what a running core hands over (each service's
//! serving generation, only when nothing is in flight), and a core that starts from
//! generations a predecessor left running.

use crate::phase::{Phase, Readiness};
use crate::release::Release;

use super::service::{Gen, State};
use super::{Core, Now, Rules};

/// A serving generation as the core knows it.
#[derive(Debug, Clone)]
pub(crate) struct Running {
    pub(crate) generation: u64,
    pub(crate) pid: u32,
    pub(crate) release: Release,
    pub(crate) previous: Option<Release>,
    pub(crate) status_text: Option<String>,
    pub(crate) restarts: u64,
}

/// A generation a predecessor left running, and whether its service's settings changed.
#[derive(Debug, Clone)]
pub(crate) struct Adopted {
    pub(crate) running: Running,
    pub(crate) changed: bool,
}

impl Core {
    /// Each service's serving generation, when every service serves one and nothing is in
    /// flight (no upgrade, no start, no generation stopping); else why not.
    pub(crate) fn handoff_ready(&self) -> Result<Vec<Running>, String> {
        if self.cx.stopping {
            return Err("the supervisor is stopping".into());
        }
        let mut running = Vec::new();
        for service in &self.services {
            let name = &service.rules.name;
            let busy = match &service.state {
                State::Running(child) if service.retiring.is_empty() => {
                    running.push(Running {
                        generation: child.id,
                        pid: child.pid.unwrap_or_default(),
                        release: child.release.clone(),
                        previous: service.previous.clone(),
                        status_text: child.status_text.clone(),
                        restarts: self.cx.metrics.restarts(name),
                    });
                    continue;
                }
                State::Running(_) => "a previous generation is still stopping".to_owned(),
                State::Upgrading(upgrade) => format!("upgrade {} is in progress", upgrade.info.id),
                State::Starting(_) | State::Idle => "it is starting".to_owned(),
                State::Restarting { .. } => "it is restarting after a crash".to_owned(),
                State::Stopping => "it is stopping".to_owned(),
            };
            return Err(format!(
                "service `{name}` is busy ({busy}); reload once it serves and nothing else is in progress (`goshift svc status`)"
            ));
        }
        Ok(running)
    }

    /// A core whose services in `adopted` (by index) already serve; the others start with
    /// [`start`](Self::start). Generation ids continue from `next_generation`.
    pub(crate) fn adopt(
        services: Vec<(Rules, Release)>,
        adopted: Vec<Option<Adopted>>,
        next_generation: u64,
        now: Now,
    ) -> Self {
        let mut core = Self::new(services, now);
        core.cx.next_generation = next_generation.max(1);
        for (service, adopted) in core.services.iter_mut().zip(adopted) {
            let Some(Adopted { running, changed }) = adopted else {
                continue;
            };
            for _ in 0..running.restarts {
                core.cx.metrics.restart(&service.rules.name);
            }
            service.release = running.release.clone();
            service.previous = running.previous;
            service.settings_changed = changed;
            service.settled = true;
            service.phase = Phase::Running;
            service.state = State::Running(Gen {
                id: running.generation,
                pid: Some(running.pid),
                release: running.release,
                readiness: Readiness::Ready,
                deadline: now.mono,
                status_text: running.status_text,
            });
        }
        // The service manager heard `READY=1` from the predecessor.
        core.announced = true;
        core
    }

    /// The next generation id.
    pub(crate) fn next_generation(&self) -> u64 {
        self.cx.next_generation
    }

    /// Upgrades asked for by a reload have not all ended.
    pub(crate) fn reloading(&self) -> bool {
        self.cx.reloads_pending > 0 || self.services.iter().any(|s| s.pending_reload.is_some())
    }

    /// A reload failed before any upgrade (the re-exec): `STATUS=` says so at its end.
    pub(crate) fn reload_failed(&mut self, why: String) {
        self.cx.reload_failures.push(why);
    }
}
