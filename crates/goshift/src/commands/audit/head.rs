//! `goshift audit head`.

use goshift_audit::GENESIS;
use serde_json::json;

use crate::exit::ExitStatus;
use crate::governance;
use crate::settings::GlobalSettings;

/// Prints the last record's `seq` and `hash` (`0` and 64 zeros for an empty log).
pub(crate) fn head(settings: &GlobalSettings) -> anyhow::Result<ExitStatus> {
    let head = governance::audit_log(settings).head()?;
    let (seq, hash) = head.map_or((0, GENESIS.to_owned()), |h| (h.seq, h.hash));
    if settings.printer.json() {
        settings
            .printer
            .json_value(&json!({ "seq": seq, "hash": hash }))?;
    } else {
        settings.printer.data(format!("{seq} {hash}"));
    }
    Ok(ExitStatus::Success)
}
