//! What `install` and `import` give the store's install pipeline ([`Store::install`]): the
//! lock, the audit records around the publish, and the display of each step; and how its
//! errors read to the user.
//!
//! [`Store::install`]: goshift_store::Store::install

use std::fmt::Write as _;

use goshift_audit::{Intent, Outcome as AuditOutcome};
use goshift_fs::EnvVars;
use goshift_store::{Caller, Event, InstallError, Published, SmokeSkip, StepError, StoreError};
use goshift_version::GoVersion;

use super::progress::{Progress, Wait};
use super::{HeldLock, ToolchainSettings, home_error};
use crate::error::with_hint;
use crate::governance::{self, Change};
use crate::settings::GlobalSettings;

/// Which command runs the pipeline: the words of its messages and audit details differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Operation {
    Install,
    Import,
}

/// A command's side of one version's install.
pub(super) struct CommandCaller<'a> {
    settings: &'a GlobalSettings,
    toolchain: &'a ToolchainSettings,
    change: &'a Change,
    progress: &'a Progress,
    operation: Operation,
    name: String,
    bar: Option<usize>,
    wait: Option<Wait>,
    intent: Option<Intent>,
    /// Whether a failure is in the audit log already (a failed publish ends its intent).
    pub(super) recorded: bool,
}

impl<'a> CommandCaller<'a> {
    pub(super) fn new(
        settings: &'a GlobalSettings,
        toolchain: &'a ToolchainSettings,
        change: &'a Change,
        progress: &'a Progress,
        operation: Operation,
        version: &GoVersion,
    ) -> Self {
        Self {
            settings,
            toolchain,
            change,
            progress,
            operation,
            name: version.toolchain_name(),
            bar: None,
            wait: None,
            intent: None,
            recorded: false,
        }
    }

    /// The audit details of a successful publish.
    fn details(&self, published: &Published) -> serde_json::Value {
        match self.operation {
            Operation::Install => serde_json::json!({
                "source": published.source,
                "archive_sha256": published.archive_sha256,
                "verification": published.verification,
                "smoke_test": published.smoke_test,
            }),
            Operation::Import => serde_json::json!({ "smoke_test": published.smoke_test }),
        }
    }
}

impl Caller for CommandCaller<'_> {
    type Error = anyhow::Error;
    type Lock = HeldLock;

    fn lock(&mut self) -> anyhow::Result<HeldLock> {
        self.toolchain.lock(self.settings)
    }

    fn event(&mut self, event: Event<'_>) {
        let name = &self.name;
        let progress = self.progress;
        match event {
            Event::UsingCache => progress.status(&format!("Using the cached archive of {name}")),
            Event::Downloading { url } => {
                progress.status(&format!("Downloading {name} from {url}"));
            }
            Event::Copying { from } => {
                progress.status(&format!("Copying {name} from {}", from.display()));
            }
            Event::TransferStarted { total } => self.bar = Some(progress.start(name, total)),
            Event::Transferred { done } => {
                if let Some(bar) = self.bar {
                    progress.update(bar, done);
                }
            }
            Event::TransferEnded => {
                if let Some(bar) = self.bar.take() {
                    progress.finish(bar);
                }
            }
            Event::SmokeTestSkipped(SmokeSkip::Asked) => {
                // `install` says so once for all its versions, before any starts.
                if self.operation == Operation::Import {
                    progress.status("Skipping the smoke test (--no-smoke-test)");
                }
            }
            Event::SmokeTestSkipped(SmokeSkip::Foreign(platform)) => progress.status(&format!(
                "Skipping the smoke test of {name}: it is built for {platform}, not this machine"
            )),
            Event::SmokeTestStarted => {
                let line = format!("Smoke-testing {name}");
                progress.status(&line);
                if self.operation == Operation::Install {
                    self.wait = Some(progress.wait(&line));
                }
            }
            Event::SmokeTestEnded => self.wait = None,
        }
    }

    fn publishing(&mut self) -> anyhow::Result<()> {
        self.intent = Some(governance::begin(self.settings, self.change)?);
        Ok(())
    }

    fn published(&mut self, outcome: Result<&Published, &StoreError>) -> anyhow::Result<()> {
        let Some(intent) = self.intent.take() else {
            return Ok(());
        };
        let (settings, change) = (self.settings, self.change);
        match outcome {
            Ok(published) => {
                let details = self.details(published);
                governance::finish(settings, intent, change, AuditOutcome::Success, details)
            }
            Err(error) => {
                self.recorded = true;
                let details = serde_json::json!({ "error": chain_text(error) });
                if let Err(audit) =
                    governance::finish(settings, intent, change, AuditOutcome::Failure, details)
                {
                    settings.printer.warn(format!(
                        "failed to record the failure in the audit log: {audit:#}"
                    ));
                }
                Ok(())
            }
        }
    }
}

/// An error and its causes on one line, as `{:#}` shows an `anyhow::Error`.
fn chain_text(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(next) = cause {
        let _ = write!(text, ": {next}");
        cause = next.source();
    }
    text
}

/// A pipeline error as the user reads it: what failed, its causes and the fix.
pub(super) fn pipeline_error(
    error: InstallError<anyhow::Error>,
    operation: Operation,
    toolchain: &ToolchainSettings,
    version: &GoVersion,
) -> anyhow::Error {
    let step = match error {
        InstallError::Caller(error) => return error,
        InstallError::Step(step) => step,
    };
    match step {
        StepError::Stage(error) if operation == Operation::Install => {
            home_error(error, &toolchain.store.home().display().to_string())
        }
        StepError::Download(error @ goshift_dist::DistError::Transport { .. }) => with_hint(
            error.into(),
            format!(
                "archives come from `{}` when it is set, else from the index's host; set it to a reachable mirror",
                EnvVars::GOSHIFT_MIRROR
            ),
        ),
        StepError::Copy { from, source } => {
            anyhow::Error::from(source).context(format!("failed to copy `{}`", from.display()))
        }
        StepError::SmokeTest(error) => smoke_test_error(error, operation, version),
        StepError::Stage(error) | StepError::Publish(error) | StepError::Links(error) => {
            error.into()
        }
        StepError::CreateTree(error) | StepError::Open(error) => error.into(),
        StepError::Space(error) | StepError::Download(error) | StepError::Unpack(error) => {
            error.into()
        }
    }
}

/// A failed smoke test: nothing was installed, and how to skip the check.
fn smoke_test_error(
    error: goshift_store::SmokeError,
    operation: Operation,
    version: &GoVersion,
) -> anyhow::Error {
    let name = version.toolchain_name();
    let (done, hint) = match operation {
        Operation::Install => (
            "installed",
            "a toolchain that cannot build hello-world is broken; `--no-smoke-test` skips the check if you must",
        ),
        Operation::Import => ("imported", "`--no-smoke-test` skips the check if you must"),
    };
    let error = anyhow::Error::from(error).context(format!(
        "{name} failed its smoke test, so it was not {done}"
    ));
    with_hint(error, hint)
}
