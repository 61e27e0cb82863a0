//! Carrying out [`Effect::Incident`](crate::machine::Effect::Incident): the evidence of a
//! generation that is given up on, taken in the order that keeps most of it.
//!
//! On the loop thread, at once, while the process still runs: the `/proc/PID` snapshot, for
//! an analysis rollback the profiles from `/debug/pprof` on the generation's admin listener
//! (when it serves them; each bounded by [`PROFILE_TIMEOUT`]), then `SIGQUIT` (a Go program
//! prints every goroutine's stack to stderr and exits; `GOTRACEBACK=all` is set for every
//! generation unless the service sets it). Nothing waits before the signal: a generation
//! given up on must not keep taking connections from the shared socket. Then, on a thread of
//! its own: a bounded wait for the dump to arrive in the output tail, and the incident written
//! under `services/NAME/incidents/ID/`. When the core asked for a kill after the dump, the
//! thread sends `SIGKILL` once the wait is over, and only while the pid is still a child of
//! this process (a reaped pid may have been reused).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::incident::{self, IncidentInput, ProcSnapshot, TimelineEntry, TriggerMeasurement};
use crate::machine::{AfterDump, IncidentRequest};
use crate::output::Capture;

/// How long the dump may take to arrive before the incident is written without it.
const DUMP_WAIT: Duration = Duration::from_secs(2);
/// The output is taken as complete once it stopped growing for this long.
const QUIET: Duration = Duration::from_millis(150);
/// The most of each stream kept as the output tail of the report.
const TAIL_KEPT: usize = 16 * 1024;
/// The longest one profile may take.
const PROFILE_TIMEOUT: Duration = Duration::from_millis(250);
/// Profiles fetched when the admin listener serves them.
const PROFILES: [(&str, &str); 2] = [
    ("goroutine.txt", "/debug/pprof/goroutine?debug=2"),
    ("heap.pb.gz", "/debug/pprof/heap"),
];

/// What the loop hands to the capture thread.
pub(super) struct Job {
    pub(super) home: PathBuf,
    pub(super) service: String,
    pub(super) request: IncidentRequest,
    pub(super) timeline: Vec<TimelineEntry>,
    pub(super) capture: Option<Arc<Capture>>,
    pub(super) admin: Option<SocketAddr>,
}

/// Takes the snapshot now and the rest on a thread; returns at once.
pub(super) fn start(job: Job, written: impl FnOnce(Result<String, String>) + Send + 'static) {
    let pid = job.request.pid;
    let gone = job.request.after == AfterDump::Gone;
    let proc = (!gone).then(|| ProcSnapshot::capture(pid));
    let profiles = match (job.request.trigger, job.admin) {
        (incident::Trigger::AnalysisRollback, Some(admin)) => fetch_profiles(admin),
        _ => Vec::new(),
    };
    // A generation already gone: its last words (a panic's goroutines) are in the tail.
    let before = if gone {
        0
    } else {
        job.capture
            .as_ref()
            .map_or(0, |c| c.snapshot().stderr.len())
    };
    if !gone {
        crate::sys::kill(pid, libc::SIGQUIT);
    }
    let kill = job.request.after == AfterDump::Kill;
    let spawned = std::thread::Builder::new()
        .name("incident".into())
        .spawn(move || written(record(job, proc, profiles, before)));
    if spawned.is_err() && kill && is_our_child(pid) {
        // No thread to wait for the dump: the kill the core asked for happens now.
        crate::sys::kill(pid, libc::SIGKILL);
    }
}

fn record(
    job: Job,
    proc: Option<ProcSnapshot>,
    profiles: Vec<(String, Vec<u8>)>,
    before: usize,
) -> Result<String, String> {
    let Job {
        home,
        service,
        request,
        timeline,
        capture,
        admin: _,
    } = job;
    let pid = request.pid;
    wait_for_output(capture.as_deref(), pid);
    let output = capture.as_ref().map(|c| c.snapshot());
    if request.after == AfterDump::Kill && is_our_child(pid) {
        crate::sys::kill(pid, libc::SIGKILL);
    }
    let (tail, dump) = output.map_or((String::new(), None), |o| {
        let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
        let dump = goroutine_dump(&stderr, before);
        let tail = format!(
            "stdout:\n{}\nstderr:\n{}",
            last(&String::from_utf8_lossy(&o.stdout), TAIL_KEPT),
            last(&stderr, TAIL_KEPT)
        );
        (tail, dump)
    });
    let now = humantime::format_rfc3339_millis(SystemTime::now()).to_string();
    let input = IncidentInput {
        id: Some(request.id),
        service,
        generation: request.generation,
        pid: Some(pid),
        trigger: Some(request.trigger),
        release: request.release.map(|r| r.provenance),
        timeline,
        measurements: request
            .measurements
            .into_iter()
            .map(|(check, reasons)| TriggerMeasurement {
                check,
                at: now.clone(),
                reasons,
            })
            .collect(),
        output_tail: tail,
        goroutine_dump: dump,
        profiles,
    };
    incident::write(&home, input, proc, SystemTime::now())
        .map(|i| i.report.id)
        .map_err(|e| e.to_string())
}

/// Waits until the process is gone and its output stopped growing, or [`DUMP_WAIT`].
fn wait_for_output(capture: Option<&Capture>, pid: u32) {
    let start = Instant::now();
    let size = |c: Option<&Capture>| c.map_or(0, |c| c.snapshot().stderr.len());
    let mut last = (size(capture), Instant::now());
    while start.elapsed() < DUMP_WAIT {
        std::thread::sleep(Duration::from_millis(25));
        let now = size(capture);
        if now != last.0 {
            last = (now, Instant::now());
        } else if !is_our_child(pid) && last.1.elapsed() >= QUIET {
            return;
        }
    }
}

/// Whether `pid` is still a (not yet reaped) child of this process.
fn is_our_child(pid: u32) -> bool {
    let Ok(stat) = goshift_fs::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
        return false;
    };
    let mut fields = rest.split_whitespace();
    let state = fields.next();
    let parent = fields.next().and_then(|p| p.parse::<u32>().ok());
    state != Some("Z") && parent == Some(std::process::id())
}

/// The goroutine dump: what the output shows from `SIGQUIT` on, written after `before`.
fn goroutine_dump(stderr: &str, before: usize) -> Option<String> {
    // A full tail has moved on since `before` was taken: the offset means nothing then.
    let before = if before >= crate::output::TAIL_BYTES {
        0
    } else {
        before
    };
    let fresh = stderr.get(before.min(stderr.len())..).unwrap_or(stderr);
    let start = fresh
        .find("SIGQUIT")
        .or_else(|| fresh.find("panic: "))
        .or_else(|| fresh.find("goroutine "))?;
    Some(fresh[start..].to_owned())
}

/// The last `limit` bytes of `text`, from a character boundary.
fn last(text: &str, limit: usize) -> &str {
    let mut start = text.len().saturating_sub(limit);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

/// Profiles the admin listener serves; none when it serves no `/debug/pprof`.
fn fetch_profiles(admin: SocketAddr) -> Vec<(String, Vec<u8>)> {
    let host = admin.to_string();
    PROFILES
        .iter()
        .filter_map(|(name, path)| {
            let response = crate::measure::http::request(
                admin,
                &host,
                "GET",
                path,
                PROFILE_TIMEOUT,
                8 * 1024 * 1024,
            )
            .ok()?;
            (response.status == 200).then(|| ((*name).to_owned(), response.body))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dump_starts_at_sigquit_after_what_was_there() {
        let before = "panic: old\ngoroutine 9 [running]:\n";
        let stderr =
            format!("{before}SIGQUIT: quit\nPC=0x1 m=0\n\ngoroutine 1 [select]:\nmain.main()\n");
        let dump = goroutine_dump(&stderr, before.len()).unwrap();
        assert!(dump.starts_with("SIGQUIT: quit"), "{dump}");
        assert!(dump.contains("goroutine 1 [select]"), "{dump}");
        assert_eq!(goroutine_dump(before, before.len()), None);
        let full =
            "x".repeat(crate::output::TAIL_BYTES - 20) + "SIGQUIT: quit\ngoroutine 1 [select]:\n";
        let dump = goroutine_dump(&full, crate::output::TAIL_BYTES).unwrap();
        assert!(
            dump.starts_with("SIGQUIT: quit"),
            "a rotated tail is searched whole"
        );
    }

    #[test]
    fn the_tail_cuts_at_a_character_boundary() {
        assert_eq!(last("aé", 1), "");
        assert_eq!(last("aéb", 2), "b");
        assert_eq!(last("abc", 10), "abc");
    }
}
