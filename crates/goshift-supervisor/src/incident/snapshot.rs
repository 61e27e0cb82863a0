//! What `/proc/PID` says about a generation at the moment of an incident: status, limits,
//! `smaps_rollup`, the open fds and the environment with secrets redacted.

use serde::{Deserialize, Serialize};

/// A snapshot of `/proc/PID`; a part that could not be read is `None` and its reason is in
/// `unreadable`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ProcSnapshot {
    /// The process.
    pub pid: u32,
    /// `/proc/PID/status`.
    pub status: Option<String>,
    /// `/proc/PID/limits`.
    pub limits: Option<String>,
    /// `/proc/PID/smaps_rollup`.
    pub smaps_rollup: Option<String>,
    /// `(fd, target)` of every open fd, by fd number.
    pub fds: Option<Vec<(u32, String)>>,
    /// `NAME=value` of `/proc/PID/environ`, secrets as `<redacted>`.
    pub environment: Option<Vec<String>>,
    /// `part: why` for each part that could not be read.
    pub unreadable: Vec<String>,
}

/// What an environment value is replaced with.
pub const REDACTED: &str = "<redacted>";

/// Parts of variable names that mark a secret, matched case-insensitively anywhere in the
/// name (`GITHUB_TOKEN`, `db_password`, `AWS_SECRET_ACCESS_KEY`, `SESSION_COOKIE`).
pub const SECRET_MARKERS: [&str; 12] = [
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "PASS",
    "KEY",
    "CREDENTIAL",
    "AUTH",
    "PRIVATE",
    "COOKIE",
    "SESSION",
    "SIGNATURE",
];

/// Whether a variable's value must not be kept.
pub fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    SECRET_MARKERS.iter().any(|marker| upper.contains(marker))
}

/// One `NAME=value` entry, redacted: the whole value for a secret name, else only the password
/// of a URL with credentials (`postgres://user:pw@host` → `postgres://user:<redacted>@host`).
pub fn redact(entry: &str) -> String {
    let Some((name, value)) = entry.split_once('=') else {
        return entry.to_owned();
    };
    if is_secret_name(name) {
        return format!("{name}={REDACTED}");
    }
    format!("{name}={}", redact_url_password(value))
}

fn redact_url_password(value: &str) -> String {
    let Some(scheme_end) = value.find("://") else {
        return value.to_owned();
    };
    let rest = &value[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return value.to_owned();
    };
    let Some(colon) = authority[..at].find(':') else {
        return value.to_owned();
    };
    format!(
        "{}{}{REDACTED}{}",
        &value[..scheme_end + 3],
        &authority[..=colon],
        &rest[at..]
    )
}

impl ProcSnapshot {
    /// Reads what it can of `/proc/PID`.
    pub fn capture(pid: u32) -> Self {
        let base = format!("/proc/{pid}");
        let mut snapshot = Self {
            pid,
            ..Self::default()
        };
        let mut text = |part: &str| match goshift_fs::fs::read_to_string(format!("{base}/{part}")) {
            Ok(text) => Some(text),
            Err(e) => {
                snapshot.unreadable.push(format!("{part}: {}", e.kind()));
                None
            }
        };
        let status = text("status");
        let limits = text("limits");
        let smaps_rollup = text("smaps_rollup");
        snapshot.status = status;
        snapshot.limits = limits;
        snapshot.smaps_rollup = smaps_rollup;
        match goshift_fs::fs::read(format!("{base}/environ")) {
            Ok(bytes) => {
                snapshot.environment = Some(
                    bytes
                        .split(|&b| b == 0)
                        .filter(|entry| !entry.is_empty())
                        .map(|entry| redact(&String::from_utf8_lossy(entry)))
                        .collect(),
                );
            }
            Err(e) => snapshot.unreadable.push(format!("environ: {}", e.kind())),
        }
        match goshift_fs::fs::read_dir(format!("{base}/fd")) {
            Ok(entries) => {
                let mut fds: Vec<(u32, String)> = entries
                    .filter_map(Result::ok)
                    .filter_map(|entry| {
                        let fd = entry.file_name().to_str()?.parse().ok()?;
                        let target = std::fs::read_link(entry.path()).ok()?;
                        Some((fd, target.display().to_string()))
                    })
                    .collect();
                fds.sort_unstable();
                snapshot.fds = Some(fds);
            }
            Err(e) => snapshot.unreadable.push(format!("fd: {}", e.kind())),
        }
        snapshot
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_by_name_and_in_urls() {
        let cases = [
            ("GITHUB_TOKEN=ghp_abc", "GITHUB_TOKEN=<redacted>"),
            ("db_password=hunter2", "db_password=<redacted>"),
            (
                "AWS_SECRET_ACCESS_KEY=x=y",
                "AWS_SECRET_ACCESS_KEY=<redacted>",
            ),
            ("API_KEY=", "API_KEY=<redacted>"),
            ("HOME=/home/svc", "HOME=/home/svc"),
            ("GOMAXPROCS=2", "GOMAXPROCS=2"),
            (
                "DATABASE_URL=postgres://app:s3cr3t@db:5432/app?x=1",
                "DATABASE_URL=postgres://app:<redacted>@db:5432/app?x=1",
            ),
            (
                "UPSTREAM=https://user@host/p",
                "UPSTREAM=https://user@host/p",
            ),
            ("UPSTREAM=https://host/a:b@c", "UPSTREAM=https://host/a:b@c"),
            ("NOEQUALS", "NOEQUALS"),
        ];
        for (entry, expected) in cases {
            assert_eq!(redact(entry), expected, "{entry}");
        }
    }
}
