//! The bake (`bake` in the service file): once the new generation is ready, both generations
//! serve from the shared listeners for the bake period, and the checks judge the new one.
//! Which generation takes a connection is the kernel's choice, per connection.
//!
//! Ways out of `Baking`:
//! - the period passes: the old generation gets its stop signal (`Draining`), and the upgrade
//!   goes on as without a bake;
//! - a check rolls back, the new generation dies, or `svc rollback` is asked for: the new
//!   generation goes (its goroutine dump, its last words, its stop signal) and the old one,
//!   which never got a signal, serves on: `RolledBack`, with `current` unchanged;
//! - the old generation dies: nothing is left to fall back on warm, so the bake ends early
//!   and the watch window starts with the new generation serving alone;
//! - the supervisor stops: both get their stop signal and the upgrade is abandoned.

use std::time::Duration;

use crate::incident::Trigger;
use crate::phase::{Phase, PhaseEvent, RollbackReason};

use super::super::Cx;
use super::super::service::{Gen, Service};
use super::{Begun, Failure, Info, Step};

impl Service {
    /// The new generation is ready beside the old one: both serve for `bake`.
    pub(super) fn start_bake(
        &mut self,
        info: &mut Info,
        old: Gen,
        new: Gen,
        bake: Duration,
        cx: &mut Cx,
    ) -> Step {
        let event = PhaseEvent {
            old_pid: old.pid,
            detail: Some(format!(
                "both generations serve for {}",
                humantime::format_duration(bake)
            )),
            ..info.event(self, cx, Phase::Baking)
        };
        self.publish(cx, event, info.waiter);
        Step::Baking {
            old,
            new,
            until: cx.now.mono + bake,
        }
    }

    /// The bake passed: the old generation gets its stop signal now. The supervisor's share
    /// of the cutover counts from here, not from the readiness.
    pub(super) fn bake_passed(
        &mut self,
        index: usize,
        info: &mut Info,
        old: Gen,
        new: Gen,
        cx: &mut Cx,
    ) -> Step {
        info.ready_at = Some(cx.now.mono);
        self.retire(index, &old, cx);
        self.cut_over(info, Some(old), new, cx)
    }

    /// The new generation died during the bake: its last words are kept, and the old one
    /// serves on.
    pub(super) fn died_in_bake(
        &mut self,
        index: usize,
        mut info: Info,
        old: Gen,
        new: &Gen,
        status: &str,
        cx: &mut Cx,
    ) {
        self.record_incident(index, &mut info, new, Trigger::DiedInBake, cx);
        let failure = Failure {
            reason: RollbackReason::DiedInBake,
            detail: format!("the new generation died during the bake ({status})"),
            failed_pid: new.pid,
        };
        self.fail_before_cutover(index, &info, Some(old), &failure, cx);
    }

    /// The old generation died during the bake: the new one serves alone, and the watch
    /// window starts now.
    pub(super) fn old_died_in_bake(
        &mut self,
        info: &Info,
        new: Gen,
        status: &str,
        cx: &mut Cx,
    ) -> Step {
        let event = PhaseEvent {
            detail: Some(format!(
                "the old generation exited during the bake ({status}); the new one serves alone"
            )),
            ..info.event(self, cx, Phase::Watching)
        };
        self.publish(cx, event, info.waiter);
        Step::Watching {
            new,
            until: cx.now.mono + self.rules.watch,
        }
    }

    /// `svc rollback` during the bake: the new generation gets its stop signal (it drains its
    /// connections like any retired generation) and the old one serves on. The requester
    /// gets the same outcome as the upgrade's own waiter.
    pub(super) fn rollback_bake(
        &mut self,
        index: usize,
        info: &Info,
        old: Gen,
        new: &Gen,
        cx: &mut Cx,
    ) -> Begun {
        self.retire(index, new, cx);
        let failure = Failure {
            reason: RollbackReason::Requested,
            detail: "`svc rollback` during the bake: the new generation got its stop signal; \
                     the old one never stopped serving"
                .into(),
            failed_pid: new.pid,
        };
        self.fail_before_cutover(index, info, Some(old), &failure, cx);
        match self.last_outcome.clone() {
            Some(outcome) => Begun::Ended(Box::new(outcome)),
            None => Begun::Refused("the bake ended without an outcome".into()),
        }
    }
}
