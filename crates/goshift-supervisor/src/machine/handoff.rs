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

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant, SystemTime};

    use super::super::tests::{Sim, release, rules};
    use super::super::{Effect, Input, Kind, ReloadTarget};
    use super::*;

    fn now() -> Now {
        Now {
            mono: Instant::now(),
            wall: SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_243_512),
        }
    }

    fn adopted(changed: bool) -> Adopted {
        Adopted {
            running: Running {
                generation: 5,
                pid: 500,
                release: release("r1"),
                previous: Some(release("r0")),
                status_text: Some("serving".into()),
                restarts: 2,
            },
            changed,
        }
    }

    /// Services `api` (adopted) and `web` (added), started.
    fn adopted_core(changed: bool) -> (Core, Vec<Effect>) {
        let services = vec![(rules("api"), release("r1")), (rules("web"), release("r1"))];
        let mut core = Core::adopt(services, vec![Some(adopted(changed)), None], 9, now());
        let effects = core.start(now());
        (core, effects)
    }

    fn spawns(effects: &[Effect]) -> Vec<(usize, u64)> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Spawn {
                    service,
                    generation,
                    ..
                } => Some((*service, *generation)),
                _ => None,
            })
            .collect()
    }

    fn reload_to_r1(core: &mut Core) -> Vec<Effect> {
        let target = || {
            Some(ReloadTarget {
                id: "r1".into(),
                release: Ok(release("r1")),
            })
        };
        core.handle(Input::Reload(vec![target(), target()]), now())
    }

    #[test]
    fn only_a_core_whose_services_all_serve_hands_over() {
        let mut sim = Sim::running();
        let running = sim.core.handoff_ready().unwrap();
        assert_eq!(
            (
                running[0].generation,
                running[0].pid,
                running[0].release.id()
            ),
            (1, 100, "r1")
        );
        sim.upgrade(Kind::Upgrade, "r2");
        let error = sim.core.handoff_ready().unwrap_err();
        assert!(
            error.contains("service `api` is busy (upgrade ") && error.contains("in progress"),
            "{error}"
        );
        let (starting, _) = Sim::new(vec![rules("api")]);
        let error = starting.core.handoff_ready().unwrap_err();
        assert!(error.contains("it is starting"), "{error}");
    }

    #[test]
    fn an_adopted_service_serves_at_once_and_an_added_one_starts() {
        let (core, effects) = adopted_core(false);
        assert_eq!(spawns(&effects), [(1, 9)], "only the added service starts");
        assert_eq!(
            core.live(),
            [(0, 5, 500)],
            "the added one has no pid until it started"
        );
        let (status, active) = core.status().remove(0);
        assert_eq!(
            (status.pid, active, status.restarts),
            (Some(500), Some(5), 2)
        );
        assert_eq!(core.previous("api").map(Release::id), Some("r0"));
        assert_eq!(core.next_generation(), 10);
    }

    #[test]
    fn a_reload_upgrades_a_changed_service_even_to_the_release_it_runs() {
        for (changed, expected) in [(true, vec![(0, 10)]), (false, vec![])] {
            let (mut core, _) = adopted_core(changed);
            let effects = reload_to_r1(&mut core);
            assert_eq!(spawns(&effects), expected, "changed: {changed}");
            assert_eq!(core.reloading(), changed);
        }
    }
}
