//! `goshift policy show`.

use std::fmt::Write as _;

use crate::exit::ExitStatus;
use crate::settings::GlobalSettings;

/// Prints the version status board: environment, version, since, status, notes.
pub(crate) fn show(settings: &GlobalSettings) -> anyhow::Result<ExitStatus> {
    let loaded = super::required(settings)?;
    let board = loaded.policy.board();
    if settings.printer.json() {
        settings.printer.json_value(&board)?;
        return Ok(ExitStatus::Success);
    }
    let rows: Vec<[String; 5]> = board
        .iter()
        .map(|row| {
            [
                row.environment.to_owned(),
                row.version
                    .map_or_else(|| "-".to_owned(), ToString::to_string),
                row.since.map_or_else(|| "-".to_owned(), |d| d.to_string()),
                row.status.map_or_else(|| "-".to_owned(), |s| s.to_string()),
                row.notes.unwrap_or("").to_owned(),
            ]
        })
        .collect();
    let header = ["ENVIRONMENT", "VERSION", "SINCE", "STATUS", "NOTES"].map(str::to_owned);
    let mut widths = [0usize; 4];
    for row in std::iter::once(&header).chain(&rows) {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (cell, width) in row.iter().zip(widths) {
            let _ = write!(line, "{cell:<width$}  ");
        }
        line.push_str(&row[4]);
        settings.printer.data(line.trim_end());
    }
    if rows.is_empty() {
        settings.printer.status(format!(
            "the policy `{}` has no `[environments.NAME]` tables",
            loaded.path.display()
        ));
    }
    Ok(ExitStatus::Success)
}
