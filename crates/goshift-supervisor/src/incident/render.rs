//! `report.md`: the report for people, in the order they need it.

use std::fmt::Write;

use super::Report;

/// A fenced block that no line of `text` can close early.
fn fenced(out: &mut String, text: &str) {
    let mut fence = String::from("```");
    while text.contains(&fence) {
        fence.push('`');
    }
    let _ = writeln!(out, "{fence}text");
    out.push_str(text);
    if !text.ends_with('\n') {
        out.push('\n');
    }
    let _ = writeln!(out, "{fence}\n");
}

/// Renders a report.
pub(super) fn markdown(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Incident {}: service `{}`, generation {} {}\n",
        report.id,
        report.service,
        report.generation,
        report.trigger.describe()
    );
    let _ = writeln!(out, "- recorded: {}", report.recorded);
    let _ = writeln!(
        out,
        "- pid: {}",
        report.pid.map_or_else(|| "-".to_owned(), |p| p.to_string())
    );
    release_lines(&mut out, report);
    out.push('\n');
    trigger_section(&mut out, report);
    timeline_section(&mut out, report);
    let _ = writeln!(out, "## Output (tail)\n");
    fenced(&mut out, &report.output_tail);
    let _ = writeln!(out, "## Goroutine dump\n");
    match &report.goroutine_dump {
        Some(dump) => fenced(&mut out, dump),
        None => {
            let _ = writeln!(out, "(not taken)\n");
        }
    }
    if !report.profiles.is_empty() {
        let _ = writeln!(out, "## Profiles\n");
        for p in &report.profiles {
            let _ = writeln!(out, "- [{p}]({p})");
        }
        out.push('\n');
    }
    proc_section(&mut out, report);
    out
}

/// The release's id, hash, build and staging.
fn release_lines(out: &mut String, report: &Report) {
    let Some(p) = &report.release else {
        let _ = writeln!(out, "- release: unknown");
        return;
    };
    let _ = writeln!(out, "- release: {} (sha256 {})", p.id, p.sha256);
    let _ = writeln!(
        out,
        "- built by: {}, module {}, revision {}",
        p.go_version.as_deref().unwrap_or("unknown Go"),
        p.main_module.as_deref().unwrap_or("unknown"),
        p.revision.as_deref().unwrap_or("unknown")
    );
    let _ = writeln!(
        out,
        "- staged: {} from `{}`{}",
        p.staged_at,
        p.source.display(),
        p.reason
            .as_deref()
            .map(|r| format!(", reason: {r}"))
            .unwrap_or_default()
    );
}

/// The failed measurements that led to the incident, when a check did.
fn trigger_section(out: &mut String, report: &Report) {
    if report.measurements.is_empty() {
        return;
    }
    let _ = writeln!(out, "## What triggered it\n");
    for m in &report.measurements {
        let _ = writeln!(out, "- {} `{}`: {}", m.at, m.check, m.reasons.join("; "));
    }
    out.push('\n');
}

fn timeline_section(out: &mut String, report: &Report) {
    let _ = writeln!(out, "## Timeline\n");
    if report.timeline.is_empty() {
        let _ = writeln!(out, "(none recorded)");
    }
    for t in &report.timeline {
        let _ = writeln!(
            out,
            "- {} {}{}",
            t.at,
            t.phase,
            if t.detail.is_empty() {
                String::new()
            } else {
                format!(": {}", t.detail)
            }
        );
    }
    out.push('\n');
}

/// The `/proc` snapshot's section.
fn proc_section(out: &mut String, report: &Report) {
    let _ = writeln!(out, "## /proc\n");
    let Some(proc) = &report.proc else {
        let _ = writeln!(out, "(the process was gone)");
        return;
    };
    for (title, text) in [
        ("status", &proc.status),
        ("limits", &proc.limits),
        ("smaps_rollup", &proc.smaps_rollup),
    ] {
        if let Some(text) = text {
            let _ = writeln!(out, "### {title}\n");
            fenced(out, text);
        }
    }
    if let Some(fds) = &proc.fds {
        let _ = writeln!(out, "### Open files ({})\n", fds.len());
        let list = fds.iter().fold(String::new(), |mut list, (fd, target)| {
            let _ = writeln!(list, "{fd} -> {target}");
            list
        });
        fenced(out, &list);
    }
    if let Some(environment) = &proc.environment {
        let _ = writeln!(out, "### Environment (secrets redacted)\n");
        fenced(out, &(environment.join("\n") + "\n"));
    }
    if !proc.unreadable.is_empty() {
        let _ = writeln!(out, "### Not readable\n");
        for u in &proc.unreadable {
            let _ = writeln!(out, "- {u}");
        }
    }
}
