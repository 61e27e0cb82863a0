//! The agent's hands on this host: the toolchain store and the local supervisor, reached
//! through the same functions as the commands an operator would type.

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use goshift_fleet::agent::{Host, UpgradeOutcome};
use goshift_fleet::model::{
    AuditHead, DesiredToolchain, HostProgress, HostStatus, LastChange, Rollout, ServiceReport,
};
use goshift_fleet::now_rfc3339;
use goshift_supervisor::{Client, Readiness, ReleaseStore, Reply, Request, ServiceStatus};
use goshift_version::GoVersion;
use sha2::{Digest as _, Sha256};

use crate::cli::{ControlArgs, SvcRollbackArgs, SvcUpgradeArgs};
use crate::commands::svc;
use crate::commands::toolchain::{ToolchainSettings, install, use_version};
use crate::exit::ExitStatus;
use crate::governance;
use crate::settings::GlobalSettings;

/// How long a failed toolchain change is not tried again (unless the desired state changes).
const RETRY_AFTER: Duration = Duration::from_mins(5);
/// How long a resumed agent waits for an upgrade the supervisor is still carrying out.
const RESUME_LIMIT: Duration = Duration::from_mins(10);

/// This host.
pub(super) struct LocalHost {
    settings: GlobalSettings,
    toolchain: ToolchainSettings,
    host: String,
    environment: String,
    labels: BTreeMap<String, String>,
    control: Option<PathBuf>,
    no_smoke_test: bool,
    /// The last toolchain change that failed: what was desired, when, and why.
    failed: Option<(DesiredToolchain, Instant, String)>,
    /// The newest head of the local audit log seen intact since the agent started: later
    /// heads must extend it, so a log rewritten or cut short shows on the board even when
    /// what is left verifies on its own.
    audit_anchor: Option<goshift_audit::Head>,
}

impl LocalHost {
    pub(super) fn new(
        settings: &GlobalSettings,
        host: String,
        environment: String,
        labels: BTreeMap<String, String>,
        control: Option<PathBuf>,
        no_smoke_test: bool,
    ) -> anyhow::Result<Self> {
        let mut settings = settings.clone();
        // The policy sees the host's environment, as for a local command.
        settings.environment = Some(environment.clone());
        let toolchain = ToolchainSettings::resolve(&settings)?;
        Ok(Self {
            settings,
            toolchain,
            host,
            environment,
            labels,
            control,
            no_smoke_test,
            failed: None,
            audit_anchor: None,
        })
    }

    fn client(&self) -> Client {
        svc::client(self.control.clone(), &self.settings)
    }

    /// The supervisor's view of every service; none when no supervisor runs.
    fn services(&self) -> Vec<ServiceStatus> {
        let mut services = Vec::new();
        let _ = self.client().request(&Request::Status, |reply| {
            if let Reply::Status { services: list } = reply {
                services = list;
            }
        });
        services
    }

    fn service(&self, name: &str) -> Option<ServiceStatus> {
        self.services().into_iter().find(|s| s.name == name)
    }

    /// Downloads the rollout's artifact into `fleet/artifacts/<sha256>`, verified, through
    /// the handles of `fleet/` and `fleet/artifacts/` (a link there is refused, never
    /// followed).
    fn fetch_artifact(&self, rollout: &Rollout) -> anyhow::Result<PathBuf> {
        let home = goshift_fs::Dir::open_home(&self.settings.dirs.home)?;
        let dir = home.private_dir("fleet")?.private_dir("artifacts")?;
        let name = rollout.sha256.as_str();
        if name.len() != 64 || !name.bytes().all(|b| b.is_ascii_hexdigit()) {
            anyhow::bail!("the rollout's sha256 `{name}` is not 64 hexadecimal digits");
        }
        if dir
            .entry(name)?
            .is_some_and(|e| e.kind == goshift_fs::Kind::File)
        {
            return Ok(dir.join(name));
        }
        let partial = format!("{name}.partial");
        // Left by an interrupted fetch.
        if dir.entry(&partial)?.is_some() {
            dir.remove_file(&partial)?;
        }
        let mut download = self
            .toolchain
            .client
            .open(&rollout.artifact, false)
            .map_err(|e| anyhow::anyhow!("failed to fetch {}: {e}", rollout.artifact))?;
        let mut file = dir.create_file(&partial, 0o755)?;
        let mut hasher = Sha256::new();
        let mut buffer = vec![0u8; 64 << 10];
        loop {
            let read = download.read(&mut buffer)?;
            if read == 0 {
                break;
            }
            hasher.update(&buffer[..read]);
            file.write_all(&buffer[..read])?;
        }
        file.sync_all()?;
        drop(file);
        let actual = format!("{:x}", hasher.finalize());
        if actual != rollout.sha256 {
            let _ = dir.remove_file(&partial);
            anyhow::bail!(
                "{} has sha256 {actual}, but the rollout says {}; nothing was staged",
                rollout.artifact,
                rollout.sha256
            );
        }
        dir.rename(&partial, &dir, name)?;
        Ok(dir.join(name))
    }

    fn sha256_of_release(&self, service: &str, release: &str) -> Option<String> {
        ReleaseStore::new(&self.settings.dirs.home, service)
            .get(release)
            .ok()
            .map(|r| r.provenance.sha256)
    }
}

impl Host for LocalHost {
    fn converge_toolchain(
        &mut self,
        desired: &DesiredToolchain,
    ) -> Result<Option<LastChange>, String> {
        let version = GoVersion::parse(&desired.version)
            .map_err(|e| format!("`{}` is not a Go version: {e}", desired.version))?;
        let store = &self.toolchain.store;
        if store.default_version().ok().flatten().as_ref() == Some(&version) {
            self.failed = None;
            return Ok(None);
        }
        if let Some((failed, at, error)) = &self.failed
            && failed == desired
            && at.elapsed() < RETRY_AFTER
        {
            return Err(error.clone());
        }
        let reason = Some(format!(
            "fleet: {} (by {})",
            desired.stamp.reason, desired.stamp.changed_by
        ));
        let result = (|| -> anyhow::Result<()> {
            if !store.is_installed(&version) {
                let request = install::Request {
                    versions: vec![version.to_string()],
                    archive: None,
                    sha256: None,
                    smoke_test: !self.no_smoke_test,
                    replace: goshift_store::Replace::Never,
                    force: false,
                    allow_unverified: false,
                    reason: reason.clone(),
                };
                let status = install::install_request(request, &self.settings, &self.toolchain)?;
                anyhow::ensure!(status == ExitStatus::Success, "the install did not succeed");
            }
            let status = use_version::use_version(
                use_version::Request {
                    requested: version.to_string(),
                    force: false,
                    reason,
                },
                &self.settings,
                &self.toolchain,
            )?;
            anyhow::ensure!(status == ExitStatus::Success, "the switch did not succeed");
            Ok(())
        })();
        match result {
            Ok(()) => {
                self.failed = None;
                Ok(Some(LastChange {
                    what: format!("use {}", version.toolchain_name()),
                    result: "success".to_owned(),
                    at: now_rfc3339(),
                    error: None,
                }))
            }
            Err(error) => {
                let text = format!("{error:#}");
                self.failed = Some((desired.clone(), Instant::now(), text.clone()));
                Err(text)
            }
        }
    }

    fn upgrade(&mut self, rollout: &Rollout) -> UpgradeOutcome {
        let from = self.service(&rollout.service).and_then(|s| s.release);
        let binary = match self.fetch_artifact(rollout) {
            Ok(path) => path,
            Err(error) => {
                return UpgradeOutcome::Refused {
                    reason: format!("{error:#}"),
                };
            }
        };
        let result = svc::upgrade(
            SvcUpgradeArgs {
                name: rollout.service.clone(),
                binary,
                reason: Some(format!(
                    "fleet rollout {}: {}",
                    rollout.id, rollout.started.reason
                )),
                force: false,
                control: ControlArgs {
                    control: self.control.clone(),
                },
            },
            &self.settings,
        );
        let now = self.service(&rollout.service);
        match result {
            Ok(ExitStatus::Success) => UpgradeOutcome::Upgraded {
                from,
                to: now.and_then(|s| s.release).unwrap_or_default(),
            },
            Ok(_) => UpgradeOutcome::RolledBack {
                from,
                reason: now
                    .and_then(|s| s.last_upgrade)
                    .and_then(|o| o.reason)
                    .unwrap_or_else(|| "the new release rolled back".to_owned()),
            },
            Err(error) => UpgradeOutcome::Refused {
                reason: format!("{error:#}"),
            },
        }
    }

    fn resume(&mut self, rollout: &Rollout) -> UpgradeOutcome {
        let started = Instant::now();
        loop {
            let Some(service) = self.service(&rollout.service) else {
                return UpgradeOutcome::Refused {
                    reason: format!("the supervisor runs no service `{}`", rollout.service),
                };
            };
            if service.upgrading.is_none() || started.elapsed() > RESUME_LIMIT {
                let release = service.release.clone().unwrap_or_default();
                return if self
                    .sha256_of_release(&rollout.service, &release)
                    .as_deref()
                    == Some(rollout.sha256.as_str())
                {
                    UpgradeOutcome::Upgraded {
                        from: None,
                        to: release,
                    }
                } else {
                    UpgradeOutcome::RolledBack {
                        from: service.release,
                        reason: service
                            .last_upgrade
                            .and_then(|o| o.reason)
                            .unwrap_or_else(|| "the host does not run the new release".to_owned()),
                    }
                };
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    fn revert(&mut self, rollout: &Rollout, _progress: &HostProgress) -> Result<String, String> {
        let result = svc::rollback(
            SvcRollbackArgs {
                name: rollout.service.clone(),
                reason: Some(format!(
                    "fleet rollout {} failed: {}",
                    rollout.id,
                    rollout.state_reason.as_deref().unwrap_or("no reason given")
                )),
                control: ControlArgs {
                    control: self.control.clone(),
                },
            },
            &self.settings,
        );
        match result {
            Ok(ExitStatus::Success) => Ok(self
                .service(&rollout.service)
                .and_then(|s| s.release)
                .unwrap_or_default()),
            Ok(_) => Err("the previous release did not come back up".to_owned()),
            Err(error) => Err(format!("{error:#}")),
        }
    }

    fn status(&mut self) -> HostStatus {
        let store = &self.toolchain.store;
        let mut toolchains: Vec<String> = store
            .installed_versions()
            .unwrap_or_default()
            .iter()
            .map(GoVersion::toolchain_name)
            .collect();
        toolchains.reverse();
        let log = governance::audit_log(&self.settings);
        let audit = match goshift_audit::verify(log.path(), self.audit_anchor.as_ref()) {
            Ok(summary) => summary.head.map(|head| {
                self.audit_anchor = Some(head.clone());
                AuditHead {
                    seq: head.seq,
                    hash: head.hash,
                    intact: true,
                }
            }),
            // Reported even when nothing is left of the log, so the board shows it.
            Err(_) => Some(log.head().ok().flatten().map_or_else(
                || AuditHead {
                    seq: 0,
                    hash: String::new(),
                    intact: false,
                },
                |head| AuditHead {
                    seq: head.seq,
                    hash: head.hash,
                    intact: false,
                },
            )),
        };
        HostStatus {
            host: self.host.clone(),
            environment: self.environment.clone(),
            labels: self.labels.clone(),
            goshift_version: env!("CARGO_PKG_VERSION").to_owned(),
            toolchains,
            default_toolchain: store
                .default_version()
                .ok()
                .flatten()
                .map(|v| v.toolchain_name()),
            services: self
                .services()
                .into_iter()
                .map(|s| ServiceReport {
                    healthy: s.readiness == Readiness::Ready,
                    phase: format!("{:?}", s.phase).to_lowercase(),
                    name: s.name,
                    release: s.release,
                    go_version: s.go_version,
                })
                .collect(),
            audit,
            last_change: None,
            problems: Vec::new(),
            seen_revision: 0,
        }
    }
}
