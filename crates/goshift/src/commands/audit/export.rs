//! `goshift audit export --format jsonl|csv`.

use crate::cli::ExportFormat;
use crate::exit::ExitStatus;
use crate::governance;
use crate::settings::GlobalSettings;

/// Writes every record to stdout as JSON lines (as stored) or CSV.
pub(crate) fn export(
    settings: &GlobalSettings,
    format: ExportFormat,
) -> anyhow::Result<ExitStatus> {
    let log = governance::audit_log(settings);
    let mut buffer = Vec::with_capacity(1024);
    if format == ExportFormat::Csv {
        goshift_audit::write_csv_header(&mut buffer)?;
        flush(settings, &mut buffer);
    }
    for record in log.records()? {
        let record = record?;
        match format {
            ExportFormat::Jsonl => goshift_audit::write_jsonl_record(&record, &mut buffer)?,
            ExportFormat::Csv => goshift_audit::write_csv_record(&record, &mut buffer)?,
        }
        flush(settings, &mut buffer);
    }
    Ok(ExitStatus::Success)
}

/// Hands one finished line to the printer (which adds the newline).
fn flush(settings: &GlobalSettings, buffer: &mut Vec<u8>) {
    while buffer.last() == Some(&b'\n') {
        buffer.pop();
    }
    settings.printer.data(String::from_utf8_lossy(buffer));
    buffer.clear();
}
