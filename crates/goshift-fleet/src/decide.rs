//! What a host does next in a rollout: a pure function of what etcd holds, so every rule is
//! tested as a table.
//!
//! The rules:
//! - Only a `running` rollout starts upgrades. `paused`, `aborted` and `completed` start
//!   nothing; `failed` makes the hosts it upgraded revert when `auto_revert` is on.
//! - A host upgrades only while it holds a slot. Until `canary` hosts have upgraded, at most
//!   `canary` hosts are started (the canaries); the others wait until the canaries have been
//!   up for `min_healthy_seconds`; then `max_parallel` slots are open.
//! - A canary host watches its own service's health from its upgrade until the canaries have
//!   been up for `min_healthy_seconds`; the rollout is not complete before that.
//! - A rollout is complete once every live host of the environment has upgraded.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{HostProgress, HostState, Rollout, RolloutState, Slot};

/// What one host sees of a rollout.
#[derive(Debug, Clone)]
pub struct RolloutView<'a> {
    /// The rollout.
    pub rollout: &'a Rollout,
    /// Every host's progress (entries of older rollouts are ignored).
    pub progress: &'a BTreeMap<String, HostProgress>,
    /// The slots held, by number.
    pub slots: &'a BTreeMap<u32, Slot>,
    /// The live hosts of the environment (their agents hold leases).
    pub live_hosts: &'a BTreeSet<String>,
    /// Now, in seconds since the epoch.
    pub now: u64,
}

/// The next step of one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Nothing to do for this host.
    Idle,
    /// Wait: until a time (seconds since the epoch) or, without one, for a change in etcd.
    Wait {
        /// When to look again.
        until: Option<u64>,
        /// Why, for the log.
        why: String,
    },
    /// Take slot `slot` and upgrade.
    Upgrade {
        /// The free slot to take.
        slot: u32,
    },
    /// The agent stopped in the middle of this host's upgrade: find out locally how it
    /// ended.
    Resume,
    /// Return to the release before the rollout.
    Revert,
    /// Every live host has upgraded: mark the rollout completed.
    Complete,
    /// This host is a canary within `min_healthy`: check its service's health, and fail the
    /// rollout if it is not healthy; look again until `until` (without it, until the other
    /// canaries have upgraded).
    Watch {
        /// When the canaries have been healthy long enough.
        until: Option<u64>,
    },
}

impl RolloutView<'_> {
    fn of_this_rollout(&self) -> impl Iterator<Item = (&String, &HostProgress)> {
        self.progress
            .iter()
            .filter(|(_, p)| p.rollout == self.rollout.id)
    }

    fn mine(&self, host: &str) -> Option<&HostProgress> {
        self.progress
            .get(host)
            .filter(|p| p.rollout == self.rollout.id)
    }

    /// [`Step::Watch`] when `host` is one of the rollout's canaries and their `min_healthy`
    /// has not passed.
    fn canary_watch(&self, host: &str) -> Option<Step> {
        let canary = self.rollout.canary as usize;
        if canary == 0 {
            return None;
        }
        let mut upgraded: Vec<(u64, &String)> = self
            .of_this_rollout()
            .filter(|(_, p)| p.state == HostState::Upgraded)
            .map(|(name, p)| (p.since, name))
            .collect();
        upgraded.sort_unstable();
        let position = upgraded.iter().position(|(_, name)| *name == host)?;
        if position >= canary {
            return None;
        }
        let Some((last, _)) = upgraded.get(canary - 1) else {
            return Some(Step::Watch { until: None });
        };
        let healthy_at = last.saturating_add(self.rollout.min_healthy_seconds);
        (healthy_at > self.now).then_some(Step::Watch {
            until: Some(healthy_at),
        })
    }

    /// The next step of `host`.
    pub fn next_step(&self, host: &str) -> Step {
        let rollout = self.rollout;
        let mine = self.mine(host).map(|p| p.state);
        match rollout.state {
            RolloutState::Failed => {
                return if rollout.auto_revert && mine == Some(HostState::Upgraded) {
                    Step::Revert
                } else {
                    Step::Idle
                };
            }
            RolloutState::Aborted | RolloutState::Completed => return Step::Idle,
            RolloutState::Paused | RolloutState::Running => {}
        }
        match mine {
            Some(HostState::Upgrading) => return Step::Resume,
            Some(state) => {
                if state == HostState::Upgraded
                    && rollout.state == RolloutState::Running
                    && let Some(watch) = self.canary_watch(host)
                {
                    return watch;
                }
                let everyone = self.live_hosts.iter().all(|live| {
                    self.mine(live)
                        .is_some_and(|p| p.state == HostState::Upgraded)
                });
                return if rollout.state == RolloutState::Running && everyone {
                    Step::Complete
                } else {
                    Step::Idle
                };
            }
            None => {}
        }
        if rollout.state == RolloutState::Paused {
            return Step::Wait {
                until: None,
                why: "the rollout is paused".to_owned(),
            };
        }
        let mut upgraded: Vec<u64> = self
            .of_this_rollout()
            .filter(|(_, p)| p.state == HostState::Upgraded)
            .map(|(_, p)| p.since)
            .collect();
        upgraded.sort_unstable();
        let started = self
            .of_this_rollout()
            .filter(|(_, p)| matches!(p.state, HostState::Upgraded | HostState::Upgrading))
            .count();
        let canary = rollout.canary as usize;
        let open = if canary > 0 && upgraded.len() < canary {
            if started >= canary {
                return Step::Wait {
                    until: None,
                    why: format!("{started} canary host(s) are upgrading"),
                };
            }
            rollout.canary.min(rollout.max_parallel)
        } else {
            if canary > 0 {
                let healthy_at = upgraded[canary - 1].saturating_add(rollout.min_healthy_seconds);
                if healthy_at > self.now {
                    return Step::Wait {
                        until: Some(healthy_at),
                        why: format!(
                            "the canary host(s) must stay healthy for {}s",
                            rollout.min_healthy_seconds
                        ),
                    };
                }
            }
            rollout.max_parallel
        };
        let held_by_this = self
            .slots
            .values()
            .filter(|slot| slot.rollout == rollout.id)
            .count();
        match (0..open.max(1)).find(|number| !self.slots.contains_key(number)) {
            Some(slot) if held_by_this < open.max(1) as usize => Step::Upgrade { slot },
            _ => Step::Wait {
                until: None,
                why: format!("all {} slot(s) are taken", open.max(1)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Stamp;

    fn rollout(state: RolloutState, max_parallel: u32, canary: u32) -> Rollout {
        Rollout {
            id: "r1".into(),
            service: "api".into(),
            environment: "prod".into(),
            artifact: "file:///x".into(),
            sha256: "0".repeat(64),
            max_parallel,
            canary,
            min_healthy_seconds: 30,
            auto_revert: true,
            state,
            state_reason: None,
            started: Stamp {
                changed_by: "op".into(),
                changed_at: "t".into(),
                reason: "r".into(),
            },
            changed: None,
        }
    }

    fn progress(entries: &[(&str, HostState, u64)]) -> BTreeMap<String, HostProgress> {
        entries
            .iter()
            .map(|(host, state, since)| {
                (
                    (*host).to_owned(),
                    HostProgress {
                        rollout: "r1".into(),
                        state: *state,
                        from_release: None,
                        release: None,
                        since: *since,
                        detail: None,
                    },
                )
            })
            .collect()
    }

    fn slots(held: &[(u32, &str)]) -> BTreeMap<u32, Slot> {
        held.iter()
            .map(|(n, host)| {
                (
                    *n,
                    Slot {
                        rollout: "r1".into(),
                        host: (*host).to_owned(),
                    },
                )
            })
            .collect()
    }

    type Check = Box<dyn Fn(&Step) -> bool>;
    /// A row: name, rollout, progress, slots, now, what the step of `h9` must be.
    type Row = (
        &'static str,
        Rollout,
        Vec<(&'static str, HostState, u64)>,
        Vec<(u32, &'static str)>,
        u64,
        Check,
    );

    /// One row: the rollout's state, `max_parallel`, `canary`, progress, slots, now → the
    /// step of host `h9`.
    #[test]
    #[expect(clippy::too_many_lines, reason = "a table, one row per rule")]
    fn the_next_step_of_a_host() {
        use HostState::{Failed, Upgraded, Upgrading};
        use RolloutState::{Aborted, Completed, Paused, Running};
        let wait = |until: Option<u64>| move |step: &Step| matches!(step, Step::Wait { until: u, .. } if *u == until);
        let is = |expected: Step| move |step: &Step| *step == expected;
        let live: BTreeSet<String> = ["h1", "h2", "h3", "h9"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let rows: Vec<Row> = vec![
            (
                "first canary takes slot 0",
                rollout(Running, 2, 1),
                vec![],
                vec![],
                100,
                Box::new(is(Step::Upgrade { slot: 0 })),
            ),
            (
                "a canary is upgrading: wait",
                rollout(Running, 2, 1),
                vec![("h1", Upgrading, 90)],
                vec![(0, "h1")],
                100,
                Box::new(wait(None)),
            ),
            (
                "canary up 10s of 30: wait until 120",
                rollout(Running, 2, 1),
                vec![("h1", Upgraded, 90)],
                vec![],
                100,
                Box::new(wait(Some(120))),
            ),
            (
                "canary healthy long enough: slot 0",
                rollout(Running, 2, 1),
                vec![("h1", Upgraded, 60)],
                vec![],
                100,
                Box::new(is(Step::Upgrade { slot: 0 })),
            ),
            (
                "after the canary, the second slot",
                rollout(Running, 2, 1),
                vec![("h1", Upgraded, 60), ("h2", Upgrading, 95)],
                vec![(0, "h2")],
                100,
                Box::new(is(Step::Upgrade { slot: 1 })),
            ),
            (
                "both slots taken: wait",
                rollout(Running, 2, 1),
                vec![("h1", Upgraded, 60)],
                vec![(0, "h2"), (1, "h3")],
                100,
                Box::new(wait(None)),
            ),
            (
                "no canary: max_parallel slots at once",
                rollout(Running, 3, 0),
                vec![],
                vec![(0, "h1"), (1, "h2")],
                100,
                Box::new(is(Step::Upgrade { slot: 2 })),
            ),
            (
                "paused: wait",
                rollout(Paused, 2, 0),
                vec![],
                vec![],
                100,
                Box::new(wait(None)),
            ),
            (
                "aborted: idle",
                rollout(Aborted, 2, 0),
                vec![],
                vec![],
                100,
                Box::new(is(Step::Idle)),
            ),
            (
                "completed: idle",
                rollout(Completed, 2, 0),
                vec![],
                vec![],
                100,
                Box::new(is(Step::Idle)),
            ),
            (
                "failed, upgraded here, auto-revert: revert",
                rollout(RolloutState::Failed, 2, 0),
                vec![("h9", Upgraded, 1)],
                vec![],
                100,
                Box::new(is(Step::Revert)),
            ),
            (
                "failed, not upgraded here: idle",
                rollout(RolloutState::Failed, 2, 0),
                vec![("h1", Failed, 1)],
                vec![],
                100,
                Box::new(is(Step::Idle)),
            ),
            (
                "killed mid-upgrade: resume",
                rollout(Running, 2, 0),
                vec![("h9", Upgrading, 1)],
                vec![],
                100,
                Box::new(is(Step::Resume)),
            ),
            (
                "paused while upgrading here: resume",
                rollout(Paused, 2, 0),
                vec![("h9", Upgrading, 1)],
                vec![],
                100,
                Box::new(is(Step::Resume)),
            ),
            (
                "upgraded here, others not yet: idle",
                rollout(Running, 2, 0),
                vec![("h9", Upgraded, 1)],
                vec![],
                100,
                Box::new(is(Step::Idle)),
            ),
            (
                "every live host upgraded: complete",
                rollout(Running, 2, 0),
                vec![
                    ("h1", Upgraded, 1),
                    ("h2", Upgraded, 1),
                    ("h3", Upgraded, 1),
                    ("h9", Upgraded, 1),
                ],
                vec![],
                100,
                Box::new(is(Step::Complete)),
            ),
            (
                "the canary here, up 10s of 30: watch its health until 120",
                rollout(Running, 2, 1),
                vec![("h9", Upgraded, 90)],
                vec![],
                100,
                Box::new(is(Step::Watch { until: Some(120) })),
            ),
            (
                "one of two canaries here, the other upgrading: watch with no end yet",
                rollout(Running, 2, 2),
                vec![("h9", Upgraded, 90), ("h1", Upgrading, 95)],
                vec![(0, "h1")],
                100,
                Box::new(is(Step::Watch { until: None })),
            ),
            (
                "every live host upgraded, the canary here still in its window: watch, not complete",
                rollout(Running, 2, 1),
                vec![
                    ("h9", Upgraded, 80),
                    ("h1", Upgraded, 95),
                    ("h2", Upgraded, 95),
                    ("h3", Upgraded, 95),
                ],
                vec![],
                100,
                Box::new(is(Step::Watch { until: Some(110) })),
            ),
            (
                "the canary here, healthy long enough: idle",
                rollout(Running, 2, 1),
                vec![("h9", Upgraded, 60)],
                vec![],
                100,
                Box::new(is(Step::Idle)),
            ),
            (
                "upgraded after the canaries: no watch",
                rollout(Running, 2, 1),
                vec![("h1", Upgraded, 60), ("h9", Upgraded, 95)],
                vec![],
                100,
                Box::new(is(Step::Idle)),
            ),
            (
                "a dead host's slot is gone: slot 0 free again",
                rollout(Running, 1, 0),
                vec![("h1", Upgrading, 1)],
                vec![],
                100,
                Box::new(is(Step::Upgrade { slot: 0 })),
            ),
        ];
        for (name, rollout, entries, held, now, check) in rows {
            let progress = progress(&entries);
            let slots = slots(&held);
            let view = RolloutView {
                rollout: &rollout,
                progress: &progress,
                slots: &slots,
                live_hosts: &live,
                now,
            };
            let step = view.next_step("h9");
            assert!(check(&step), "{name}: got {step:?}");
        }
    }

    /// The defect seen in e2e part 60: a host whose lease lapsed in the middle of a rollout
    /// (so it was no longer live) and still ran the old release did not keep the rollout
    /// from completing.
    #[test]
    fn a_host_whose_lease_lapsed_on_the_old_release_keeps_the_rollout_from_completing() {
        let rollout = rollout(RolloutState::Running, 2, 0);
        // h3 took part (it is one of the hosts the rollout started with) but its lease
        // lapsed before it upgraded.
        let progress = progress(&[
            ("h1", HostState::Upgraded, 1),
            ("h2", HostState::Upgraded, 1),
            ("h9", HostState::Upgraded, 1),
        ]);
        let live: BTreeSet<String> = ["h1", "h2", "h9"].iter().map(|s| (*s).to_owned()).collect();
        let slots = BTreeMap::new();
        let view = RolloutView {
            rollout: &rollout,
            progress: &progress,
            slots: &slots,
            live_hosts: &live,
            now: 100,
        };
        assert_ne!(view.next_step("h9"), Step::Complete);
    }

    #[test]
    fn progress_of_an_older_rollout_is_ignored() {
        let rollout = rollout(RolloutState::Running, 1, 0);
        let mut progress = progress(&[("h9", HostState::Upgraded, 1)]);
        progress.get_mut("h9").unwrap().rollout = "r0".into();
        let live = BTreeSet::new();
        let slots = BTreeMap::new();
        let view = RolloutView {
            rollout: &rollout,
            progress: &progress,
            slots: &slots,
            live_hosts: &live,
            now: 5,
        };
        assert_eq!(view.next_step("h9"), Step::Upgrade { slot: 0 });
    }
}
