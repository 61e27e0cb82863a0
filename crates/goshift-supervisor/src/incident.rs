//! Incidents: the evidence kept when a generation is rolled back or killed.
//!
//! One directory per incident, `services/NAME/incidents/ID/`, holding `report.json` (the
//! [`Report`], for tools) and `report.md` (the same for people), plus `profiles/` when the
//! service served any. The directory is assembled under a hidden temporary name in
//! `incidents/` and renamed into place once every file is written and synced, so a reader
//! sees a whole incident or none.
//!
//! The supervisor fills an [`IncidentInput`] (the timeline, the measurements that triggered,
//! the tail of the generation's output, its goroutine dump) and calls [`write`], which adds a
//! [`ProcSnapshot`] when the process is still there. [`list`] and [`read`] serve
//! `goshift svc incidents` and `goshift svc incident ID`.

mod render;
mod snapshot;

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use goshift_fs::Dir;
use serde::{Deserialize, Serialize};

use crate::release::Provenance;

pub use snapshot::{ProcSnapshot, REDACTED, SECRET_MARKERS, is_secret_name, redact};

/// Why an incident was recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// An analysis check rolled the upgrade back.
    AnalysisRollback,
    /// A generation being rolled back is about to be killed.
    RollbackKill,
    /// A generation ignored its stop signal for its whole grace period.
    StopIgnored,
    /// The new generation died after the cutover (its own last words are the evidence).
    DiedInWatch,
    /// The new generation died during the bake, beside the old one that kept serving.
    DiedInBake,
}

impl Trigger {
    /// The words used in `report.md` and listings.
    pub fn describe(self) -> &'static str {
        match self {
            Self::AnalysisRollback => "rolled back by analysis",
            Self::RollbackKill => "killed while rolling back",
            Self::StopIgnored => "ignored its stop signal",
            Self::DiedInWatch => "died after the cutover",
            Self::DiedInBake => "died during the bake",
        }
    }
}

/// One step of the upgrade's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// RFC 3339, UTC.
    pub at: String,
    /// The phase, e.g. `spawned`, `ready`, `watching`.
    pub phase: String,
    /// Details, e.g. the pid.
    pub detail: String,
}

/// A measurement that led to the incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriggerMeasurement {
    /// The check, e.g. `probe`.
    pub check: String,
    /// RFC 3339, UTC.
    pub at: String,
    /// What was measured against which limit.
    pub reasons: Vec<String>,
}

/// What the supervisor knows when it records an incident.
#[derive(Debug, Clone, Default)]
pub struct IncidentInput {
    /// The id to record it under (`[A-Za-z0-9._-]`), named in events before it is written;
    /// `None` derives one from the time and the generation. A taken id gets a suffix.
    pub id: Option<String>,
    /// The service.
    pub service: String,
    /// The generation concerned.
    pub generation: u64,
    /// Its pid.
    pub pid: Option<u32>,
    /// Why.
    pub trigger: Option<Trigger>,
    /// The release it ran.
    pub release: Option<Provenance>,
    /// The upgrade's phases so far.
    pub timeline: Vec<TimelineEntry>,
    /// The measurements that triggered it.
    pub measurements: Vec<TriggerMeasurement>,
    /// The tail of the generation's captured output.
    pub output_tail: String,
    /// The goroutine dump (its output after `SIGQUIT` with `GOTRACEBACK=all`), when taken.
    pub goroutine_dump: Option<String>,
    /// Profiles fetched from `/debug/pprof` on the admin listener: `(name, bytes)`.
    pub profiles: Vec<(String, Vec<u8>)>,
}

/// What `report.json` holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// The incident's id, also its directory's name.
    pub id: String,
    /// The service.
    pub service: String,
    /// When it was recorded, RFC 3339, UTC.
    pub recorded: String,
    /// Why.
    pub trigger: Trigger,
    /// The generation concerned.
    pub generation: u64,
    /// Its pid.
    pub pid: Option<u32>,
    /// The release it ran.
    pub release: Option<Provenance>,
    /// The upgrade's phases.
    pub timeline: Vec<TimelineEntry>,
    /// The measurements that triggered it.
    pub measurements: Vec<TriggerMeasurement>,
    /// The tail of its output.
    pub output_tail: String,
    /// The goroutine dump, when taken.
    pub goroutine_dump: Option<String>,
    /// `/proc/PID` at the time, when the process was still there.
    pub proc: Option<ProcSnapshot>,
    /// The profile files, relative to the incident's directory.
    pub profiles: Vec<String>,
}

/// An incident on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incident {
    /// Its report.
    pub report: Report,
    /// Its directory.
    pub dir: PathBuf,
}

/// Why an incident could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum IncidentError {
    /// No trigger was given.
    #[error("an incident of service `{service}` needs a trigger")]
    NoTrigger {
        /// The service.
        service: String,
    },
    /// A name that cannot be a directory name here.
    #[error(
        "`{name}` is not a valid {what}: use letters, digits, `-`, `_` and `.`, not starting with `.`"
    )]
    BadName {
        /// What kind of name.
        what: &'static str,
        /// The name.
        name: String,
    },
    /// No incident with this id.
    #[error("no incident `{id}` under `{}`", home.display())]
    NotFound {
        /// The id.
        id: String,
        /// The goshift home searched.
        home: PathBuf,
    },
    /// Reading or writing failed.
    #[error("failed to {action} `{}`", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A `report.json` that does not parse.
    #[error("`{}` is not an incident report: {message}", path.display())]
    BadReport {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> IncidentError {
    let path = path.to_owned();
    move |source| IncidentError::Io {
        action,
        path,
        source,
    }
}

fn check_name(what: &'static str, name: &str) -> Result<(), IncidentError> {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(IncidentError::BadName {
            what,
            name: name.to_owned(),
        })
    }
}

/// `services/NAME/incidents` under `home`.
pub fn incidents_dir(home: &Path, service: &str) -> PathBuf {
    home.join("services").join(service).join("incidents")
}

/// The id of an incident recorded at `at`: `YYYYMMDDTHHMMSSZ-gN`, sortable by time.
fn base_id(at: SystemTime, generation: u64) -> String {
    let stamp = humantime::format_rfc3339_seconds(at).to_string();
    let compact: String = stamp.chars().filter(|c| !matches!(c, '-' | ':')).collect();
    format!("{compact}-g{generation}")
}

/// Writes an incident at time `at`, with `proc` as the process snapshot (the caller takes it
/// with [`ProcSnapshot::capture`] while the process still runs); returns where it is. Nothing
/// is visible under `incidents/` until the whole directory is in place.
pub fn write(
    home: &Path,
    input: IncidentInput,
    proc: Option<ProcSnapshot>,
    at: SystemTime,
) -> Result<Incident, IncidentError> {
    check_name("service name", &input.service)?;
    let trigger = input.trigger.ok_or_else(|| IncidentError::NoTrigger {
        service: input.service.clone(),
    })?;
    let path = incidents_dir(home, &input.service);
    let parent = open_incidents(home, &input.service).map_err(io("create", &path))?;
    let base = match &input.id {
        Some(id) => {
            check_name("incident id", id)?;
            id.clone()
        }
        None => base_id(at, input.generation),
    };
    let mut id = base.clone();
    let mut n = 1;
    while parent.entry(&id).map_err(io("inspect", &path))?.is_some() {
        n += 1;
        id = format!("{base}-{n}");
    }
    let staging = format!(".{id}.partial");
    let report = match assemble(&parent, &staging, &id, input, trigger, proc, at) {
        Ok(report) => report,
        Err(error) => {
            let _ = parent.remove_tree(&staging);
            return Err(error);
        }
    };
    let dir = parent.join(&id);
    if let Err(source) = parent.rename(&staging, &parent, &id) {
        let _ = parent.remove_tree(&staging);
        return Err(IncidentError::Io {
            action: "move into place",
            path: dir,
            source,
        });
    }
    parent.sync().map_err(io("sync", &path))?;
    Ok(Incident { report, dir })
}

/// `services/<service>/incidents/` of `home`, each directory opened through its parent's
/// handle (created when missing): a link in place of any of them is refused by name, and
/// the incident is written through the handle, never through a path looked up again.
fn open_incidents(home: &Path, service: &str) -> std::io::Result<Dir> {
    Dir::open_home(home)?
        .private_dir("services")?
        .private_dir(service)?
        .private_dir("incidents")
}

/// Writes the incident into `parent/staging` (a new directory), through its handle.
fn assemble(
    parent: &Dir,
    staging: &str,
    id: &str,
    input: IncidentInput,
    trigger: Trigger,
    proc: Option<ProcSnapshot>,
    at: SystemTime,
) -> Result<Report, IncidentError> {
    let shown = parent.join(staging);
    parent.remove_tree(staging).map_err(io("clear", &shown))?;
    let staging = parent.create_dir(staging).map_err(io("create", &shown))?;
    let mut profiles = Vec::new();
    if !input.profiles.is_empty() {
        let path = staging.join("profiles");
        let dir = staging
            .create_dir("profiles")
            .map_err(io("create", &path))?;
        for (name, bytes) in &input.profiles {
            check_name("profile name", name)?;
            dir.write_atomic(name, bytes, 0o644)
                .map_err(io("write", &dir.join(name)))?;
            profiles.push(format!("profiles/{name}"));
        }
    }
    let report = Report {
        id: id.to_owned(),
        service: input.service,
        recorded: humantime::format_rfc3339_millis(at).to_string(),
        trigger,
        generation: input.generation,
        pid: input.pid,
        release: input.release,
        timeline: input.timeline,
        measurements: input.measurements,
        output_tail: input.output_tail,
        goroutine_dump: input.goroutine_dump,
        proc,
        profiles,
    };
    let json = serde_json::to_vec_pretty(&report).map_err(|e| IncidentError::BadReport {
        path: staging.join("report.json"),
        message: e.to_string(),
    })?;
    // Each write is synced and its directory with it.
    for (name, bytes) in [
        ("report.json", json),
        ("report.md", render::markdown(&report).into_bytes()),
    ] {
        staging
            .write_atomic(name, &bytes, 0o644)
            .map_err(io("write", &staging.join(name)))?;
    }
    Ok(report)
}

fn load(dir: &Path) -> Result<Incident, IncidentError> {
    let path = dir.join("report.json");
    let bytes = goshift_fs::fs::read(&path).map_err(io("read", &path))?;
    let report = serde_json::from_slice(&bytes).map_err(|e| IncidentError::BadReport {
        path,
        message: e.to_string(),
    })?;
    Ok(Incident {
        report,
        dir: dir.to_owned(),
    })
}

/// The services with an `incidents/` directory, by name.
fn services_with_incidents(home: &Path) -> Result<Vec<String>, IncidentError> {
    let services = home.join("services");
    let entries = match std::fs::read_dir(&services) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io("read", &services)(e)),
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| incidents_dir(home, name).is_dir())
        .collect();
    names.sort();
    Ok(names)
}

/// Every incident of `service` (or of every service), oldest first. Hidden directories (one
/// being assembled) are skipped; a directory whose report does not parse is an error naming it.
pub fn list(home: &Path, service: Option<&str>) -> Result<Vec<Incident>, IncidentError> {
    let services = match service {
        Some(name) => {
            check_name("service name", name)?;
            vec![name.to_owned()]
        }
        None => services_with_incidents(home)?,
    };
    let mut incidents = Vec::new();
    for name in services {
        let dir = incidents_dir(home, &name);
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io("read", &dir)(e)),
        };
        for entry in entries.filter_map(Result::ok) {
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            incidents.push(load(&entry.path())?);
        }
    }
    incidents.sort_by(|a, b| {
        (&a.report.recorded, &a.report.id).cmp(&(&b.report.recorded, &b.report.id))
    });
    Ok(incidents)
}

/// The incident with this id, in whichever service has it.
pub fn read(home: &Path, id: &str) -> Result<Incident, IncidentError> {
    check_name("incident id", id)?;
    for name in services_with_incidents(home)? {
        let dir = incidents_dir(home, &name).join(id);
        if dir.is_dir() {
            return load(&dir);
        }
    }
    Err(IncidentError::NotFound {
        id: id.to_owned(),
        home: home.to_owned(),
    })
}

/// `report.md` of an incident as written.
pub fn markdown(incident: &Incident) -> Result<String, IncidentError> {
    let path = incident.dir.join("report.md");
    goshift_fs::fs::read_to_string(&path).map_err(io("read", &path))
}

#[cfg(test)]
mod tests;
