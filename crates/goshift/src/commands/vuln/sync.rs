//! `goshift vuln sync [--from URL|DIR]`.

use anyhow::Context as _;
use goshift_binary::vuln::{self, Source};

use crate::cli::VulnSyncArgs;
use crate::commands::inspect::database_dir;
use crate::error::WithHint as _;
use crate::exit::ExitStatus;
use crate::settings::GlobalSettings;

/// The official database.
const DEFAULT_SOURCE: &str = "https://vuln.go.dev";

/// Syncs the database into the cache.
pub(crate) fn sync(settings: &GlobalSettings, args: VulnSyncArgs) -> anyhow::Result<ExitStatus> {
    let VulnSyncArgs { from } = args;
    let printer = &settings.printer;
    let text = from.as_deref().unwrap_or(DEFAULT_SOURCE);
    let source = Source::parse(text)
        .hint("use an `https://` URL, a loopback `http://` URL, `file://DIR` or a directory")?;
    if let Source::Url(url) = &source
        && url.starts_with("http://")
        && !is_loopback(url)
    {
        return Err(crate::error::hinted(
            format!("refusing plain HTTP for `{url}`: the database would be unauthenticated"),
            "use `https://`, or sync from a local copy with `--from DIR`",
        ));
    }
    if let Source::Dir(dir) = &source
        && !dir.is_dir()
    {
        return Err(crate::error::hinted(
            format!("`{}` is not a directory", dir.display()),
            "pass a directory holding `index/db.json`, `index/modules.json` and `ID/`",
        ));
    }
    printer.status(format!("Syncing the vulnerability database from {text}"));
    let destination = database_dir(settings);
    let removed = clean_leftovers(&destination);
    if removed > 0 {
        printer.status(format!(
            "Cleaned up {removed} leftover(s) of interrupted syncs"
        ));
    }
    let report = vuln::sync(&source, &destination, &|done, total| {
        if printer.stderr_is_terminal && !printer.quiet {
            printer.stderr_raw(&format!("\r  {done}/{total} advisories"));
            if done == total {
                printer.stderr_raw("\n");
            }
        }
    })
    .with_context(|| format!("failed to sync the vulnerability database from `{text}`"))
    .hint(match source {
        Source::Url(_) => {
            "check the network, or sync from a mirror or a copy of the database: `goshift vuln sync --from URL|DIR`"
        }
        Source::Dir(_) => {
            "the directory must hold the database's layout: `index/db.json`, `index/modules.json`, `ID/GO-*.json` (or `.json.gz`)"
        }
    })?;
    if printer.json() {
        printer.json_value(&serde_json::json!({
            "source": text,
            "modified": report.modified,
            "advisories": report.advisories,
            "up_to_date": report.up_to_date,
            "path": destination,
        }))?;
    } else if report.up_to_date {
        printer.data(format!(
            "Vulnerability database already up to date (modified {}, {} advisories)",
            report.modified, report.advisories
        ));
    } else {
        printer.data(format!(
            "Synced {} advisories (database modified {})",
            report.advisories, report.modified
        ));
    }
    Ok(ExitStatus::Success)
}

fn is_loopback(url: &str) -> bool {
    let rest = url.trim_start_matches("http://");
    let host = rest.split('/').next().unwrap_or_default();
    let host = host.rsplit_once('@').map_or(host, |(_, host)| host);
    let name = if host.starts_with('[') {
        host.split(']')
            .next()
            .unwrap_or_default()
            .trim_start_matches('[')
    } else {
        host.split(':').next().unwrap_or_default()
    };
    name == "localhost"
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Removes what syncs killed midway left next to the database (`.vulndb.d.tmp-PID-N`
/// staging copies and `.vulndb.tmp-PID-N` moved-aside ones) when their process is gone. The
/// copy the `vulndb` link points at is the live database and stays. Returns how many were
/// removed; one that cannot be removed is left for the next sync.
fn clean_leftovers(destination: &std::path::Path) -> usize {
    let (Some(parent), Some(name)) = (destination.parent(), destination.file_name()) else {
        return 0;
    };
    // Listed and removed through the directory's handle, never through a link.
    let Ok(dir) = goshift_fs::Dir::open_private(parent) else {
        return 0;
    };
    let Ok(entries) = dir.names() else {
        return 0;
    };
    let live = dir.read_link(name).ok();
    let name = name.to_string_lossy();
    let prefixes = [format!(".{name}.d.tmp-"), format!(".{name}.tmp-")];
    let mut removed = 0;
    for file_name in entries {
        let Some(text) = file_name.to_str() else {
            continue;
        };
        let Some(rest) = prefixes.iter().find_map(|p| text.strip_prefix(p.as_str())) else {
            continue;
        };
        let owner = rest
            .split('-')
            .next()
            .and_then(|pid| pid.parse::<i32>().ok());
        if owner.is_none_or(goshift_fs::process_exists)
            || live.as_deref() == Some(std::path::Path::new(text))
        {
            continue;
        }
        if dir.remove_tree(&file_name).is_ok() {
            removed += 1;
        }
    }
    removed
}
