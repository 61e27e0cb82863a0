//! `goshift scan DIR...`.

use std::path::Path;

use anyhow::Context as _;
use goshift_binary::scan::{Follow, ScanItem, ScanReport};
use goshift_binary::vuln::Database;

use crate::cli::ScanArgs;
use crate::commands::inspect::{Classification, Classifier, error_chain, open_database, vcs_text};
use crate::exit::ExitStatus;
use crate::settings::GlobalSettings;

/// Finds Go binaries and prints one row each.
pub(crate) fn scan(settings: &GlobalSettings, args: ScanArgs) -> anyhow::Result<ExitStatus> {
    let ScanArgs {
        dirs,
        threads,
        follow,
    } = args;
    let printer = &settings.printer;
    for dir in &dirs {
        if !dir.exists() {
            return Err(crate::error::hinted(
                format!("`{}` does not exist", dir.display()),
                "pass directories or files that exist",
            ));
        }
    }
    let threads = threads.unwrap_or_else(goshift_binary::scan::default_workers);
    let database = open_database(settings)?;
    let classifier = Classifier::load(settings)?;
    crate::platform::pad_allocator_arenas();
    let follow = if follow {
        Follow::Outside
    } else {
        Follow::Inside
    };
    let ScanReport {
        items,
        stats,
        mut links,
    } = goshift_binary::scan::scan_links(&dirs, threads, follow);
    let mut rows = Vec::new();
    let mut failures = 0;
    for item in items {
        match item {
            ScanItem::Binary { path, info } => {
                let named_by = links.remove(&path).unwrap_or_default();
                let vulnerabilities = match &database {
                    Some(database) => Some(
                        database
                            .check(&info)
                            .with_context(|| format!("failed to check `{}`", path.display()))?,
                    ),
                    None => None,
                };
                let policy = classifier
                    .as_ref()
                    .map(|c| c.classify(&info, vulnerabilities.as_deref()));
                let mut row = Row::new(&path, *info, vulnerabilities, policy);
                row.links = named_by.iter().map(|l| l.display().to_string()).collect();
                rows.push(row);
            }
            ScanItem::Failed { path, error } => {
                failures += 1;
                printer.warn(format!("{}: {}", path.display(), error_chain(&error)));
            }
        }
    }
    let outcome = report(settings, &rows, stats, failures, database.as_ref());
    // The process ends right after: freeing the build info of every binary, one allocation at
    // a time, would cost more than printing the table.
    std::mem::forget(rows);
    outcome
}

/// Prints the rows, as a table or JSON, and the summary.
fn report(
    settings: &GlobalSettings,
    rows: &[Row],
    stats: goshift_binary::scan::ScanStats,
    failures: usize,
    database: Option<&Database>,
) -> anyhow::Result<ExitStatus> {
    let printer = &settings.printer;
    let reported_links: usize = rows.iter().map(|row| row.links.len()).sum();
    let skipped = stats.symlinks.saturating_sub(reported_links);
    if printer.json() {
        let rows: Vec<_> = rows.iter().map(Row::json).collect();
        printer.json_value(&serde_json::json!({
            "binaries": rows,
            "files": stats.files,
            "symlinks": stats.symlinks,
            "symlinks_skipped": skipped,
            "links_outside_not_followed": stats.outside_not_followed,
            "failures": failures,
            "vulnerability_database": database.map(Database::modified),
        }))?;
    } else {
        print_table(settings, rows);
        printer.status(format!(
            "Scanned {} files: {} Go binaries{}{}",
            stats.files,
            rows.len(),
            if failures > 0 {
                format!(", {failures} unreadable")
            } else {
                String::new()
            },
            if skipped > 0 {
                format!(", {skipped} symlinks not followed")
            } else {
                String::new()
            },
        ));
        for row in rows {
            for link in &row.links {
                printer.status(format!(
                    "{link} -> {} (reported once, by its target)",
                    row.path
                ));
            }
        }
        if stats.outside_not_followed > 0 {
            printer.status(format!(
                "{} symlinks name files outside the scanned trees; read their Go binaries with `--follow`",
                stats.outside_not_followed
            ));
        }
        if database.is_none() {
            printer.status(
                "Vulnerabilities not checked: no database synced (run `goshift vuln sync`)",
            );
        }
    }
    Ok(ExitStatus::Success)
}

struct Row {
    path: String,
    /// Symbolic links that name this binary.
    links: Vec<String>,
    module: String,
    revision: String,
    platform: String,
    policy: Option<Classification>,
    vulnerabilities: Option<Vec<goshift_binary::vuln::Finding>>,
    info: goshift_binary::BuildInfo,
}

impl Row {
    fn new(
        path: &Path,
        info: goshift_binary::BuildInfo,
        vulnerabilities: Option<Vec<goshift_binary::vuln::Finding>>,
        policy: Option<Classification>,
    ) -> Self {
        let module = info.main_module().map_or_else(
            || "-".to_owned(),
            |m| format!("{}@{}", m.path, m.effective().version),
        );
        let revision = vcs_text(&info)
            .and_then(|_| info.setting("vcs.revision"))
            .map_or_else(
                || "-".to_owned(),
                |r| {
                    let short = &r[..r.len().min(12)];
                    if info.vcs_modified() {
                        format!("{short}+dirty")
                    } else {
                        short.to_owned()
                    }
                },
            );
        let platform = match (info.setting("GOOS"), info.setting("GOARCH")) {
            (Some(goos), Some(goarch)) => format!("{goos}/{goarch}"),
            _ => "-".to_owned(),
        };
        Self {
            path: path.display().to_string(),
            links: Vec::new(),
            module,
            revision,
            platform,
            policy,
            vulnerabilities,
            info,
        }
    }

    fn json(&self) -> serde_json::Value {
        let main = self.info.main_module();
        serde_json::json!({
            "path": self.path,
            "links": self.links,
            "version": self.info.go_version.strip_prefix("go").unwrap_or(&self.info.go_version),
            "main_module": main.map(|m| &m.path),
            "main_version": main.map(|m| &m.effective().version),
            "vcs_revision": self.info.setting("vcs.revision"),
            "vcs_modified": self.info.setting("vcs.modified").map(|v| v == "true"),
            "goos": self.info.setting("GOOS"),
            "goarch": self.info.setting("GOARCH"),
            "cgo": self.info.setting("CGO_ENABLED").map(|v| v == "1"),
            "build_id": self.info.build_id,
            "policy": self.policy,
            "vulnerabilities": self.vulnerabilities.as_ref().map(Vec::len),
            "advisories": self.vulnerabilities.as_ref().map(|f| f.iter().map(|f| &f.id).collect::<Vec<_>>()),
        })
    }
}

fn print_table(settings: &GlobalSettings, rows: &[Row]) {
    if rows.is_empty() {
        return;
    }
    let header = [
        "PATH", "GO", "MODULE", "REVISION", "PLATFORM", "CGO", "POLICY", "VULNS",
    ];
    let counts: Vec<String> = rows
        .iter()
        .map(|row| {
            row.vulnerabilities
                .as_ref()
                .map_or_else(|| "-".to_owned(), |f| f.len().to_string())
        })
        .collect();
    let mut widths = header.map(str::len);
    for (row, count) in rows.iter().zip(&counts) {
        for (width, cell) in widths.iter_mut().zip(cells(row, count)) {
            *width = (*width).max(cell.chars().count());
        }
    }
    // One write for the whole table: a tree of thousands of binaries is thousands of rows.
    let mut table = String::with_capacity((rows.len() + 1) * (widths.iter().sum::<usize>() + 16));
    let mut line = |cells: [&str; 8]| {
        for (index, (cell, width)) in cells.into_iter().zip(widths).enumerate() {
            table.push_str(cell);
            if index + 1 == cells.len() {
                table.push('\n');
            } else {
                // Padding by hand: `format!`'s width handling costs more than the rest of a
                // row when there are thousands.
                let pad = width.saturating_sub(cell.chars().count()) + 2;
                table.extend(std::iter::repeat_n(' ', pad));
            }
        }
    };
    line(header);
    for (row, count) in rows.iter().zip(&counts) {
        line(cells(row, count));
    }
    table.pop();
    settings.printer.data(table);
}

/// The cells of one row of the table.
fn cells<'a>(row: &'a Row, count: &'a str) -> [&'a str; 8] {
    [
        &row.path,
        &row.info.go_version,
        &row.module,
        &row.revision,
        &row.platform,
        row.info.setting("CGO_ENABLED").unwrap_or("-"),
        row.policy.as_ref().map_or("-", |p| p.status.as_str()),
        count,
    ]
}
