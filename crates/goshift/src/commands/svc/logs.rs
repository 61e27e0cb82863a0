//! `goshift svc logs`.

use goshift_supervisor::{GenerationLog, Reply, Request};

use crate::cli::{ControlArgs, SvcLogsArgs};
use crate::exit::ExitStatus;
use crate::settings::GlobalSettings;

/// Prints the kept output of a service's generations, oldest first (or JSON with `--json`).
pub(crate) fn logs(args: SvcLogsArgs, settings: &GlobalSettings) -> anyhow::Result<ExitStatus> {
    let SvcLogsArgs {
        name,
        generation,
        control: ControlArgs { control },
    } = args;
    let client = super::client(control, settings);
    let request = Request::Logs {
        service: name,
        generation,
    };
    let replies = super::ask(&client, &request, |_| {})?;
    let Some(generations) = replies.into_iter().find_map(|r| match r {
        Reply::Logs { generations, .. } => Some(generations),
        _ => None,
    }) else {
        anyhow::bail!("the supervisor sent no output");
    };
    let printer = &settings.printer;
    if printer.json() {
        printer.json_value(&generations)?;
        return Ok(ExitStatus::Success);
    }
    for log in &generations {
        printer.data(header(log));
        for (stream, text) in [("stdout", &log.stdout), ("stderr", &log.stderr)] {
            if text.is_empty() {
                printer.data(format!("-- {stream}: nothing"));
            } else {
                printer.data(format!("-- {stream}"));
                printer.data(text.strip_suffix('\n').unwrap_or(text));
            }
        }
    }
    if generations.is_empty() {
        printer.status("no generation has started yet");
    }
    Ok(ExitStatus::Success)
}

/// `generation 3, pid 4242, running; 12 lines dropped by the log`
fn header(log: &GenerationLog) -> String {
    let state = if log.live { "running" } else { "exited" };
    let dropped = match log.dropped_lines {
        0 => String::new(),
        1 => "; 1 line dropped by the log (still in the tail while it fits)".to_owned(),
        n => format!("; {n} lines dropped by the log (still in the tail while they fit)"),
    };
    format!(
        "== generation {}, pid {}, {state}{dropped}",
        log.generation, log.pid
    )
}
