//! `goshift svc incidents [NAME]`.

use goshift_supervisor::incident;

use crate::cli::SvcIncidentsArgs;
use crate::error::WithHint;
use crate::exit::ExitStatus;
use crate::settings::GlobalSettings;

/// Lists the incidents of one service or of all, oldest first: a table, or the reports as a
/// JSON array with `--json`.
pub(crate) fn incidents(
    args: SvcIncidentsArgs,
    settings: &GlobalSettings,
) -> anyhow::Result<ExitStatus> {
    let SvcIncidentsArgs { name } = args;
    let found = incident::list(&settings.dirs.home, name.as_deref())
        .hint("`goshift svc incidents` reads `services/*/incidents/` under the goshift home")?;
    let printer = &settings.printer;
    if printer.json() {
        let reports: Vec<&incident::Report> = found.iter().map(|i| &i.report).collect();
        printer.json_value(&reports)?;
        return Ok(ExitStatus::Success);
    }
    if found.is_empty() {
        printer.status(match &name {
            Some(name) => format!("No incidents recorded for service `{name}`"),
            None => "No incidents recorded".to_owned(),
        });
        return Ok(ExitStatus::Success);
    }
    let rows: Vec<[String; 5]> = found
        .iter()
        .map(|i| {
            let r = &i.report;
            [
                r.id.clone(),
                r.service.clone(),
                r.recorded.clone(),
                r.trigger.describe().to_owned(),
                r.release
                    .as_ref()
                    .map_or_else(|| "-".to_owned(), |p| p.id.clone()),
            ]
        })
        .collect();
    let header = ["ID", "SERVICE", "RECORDED", "WHAT", "RELEASE"].map(str::to_owned);
    let mut widths = [0_usize; 5];
    for row in std::iter::once(&header).chain(&rows) {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        printer.data(line.join("  ").trim_end());
    }
    printer.status("`goshift svc incident ID` shows one");
    Ok(ExitStatus::Success)
}
