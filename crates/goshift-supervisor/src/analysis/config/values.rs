//! Checks of single values of the `[analysis]` section, each turning a bad value into an
//! error that names the field and says what to write instead.

use std::time::Duration;

use super::{Action, AnalysisError, MIN_INTERVAL};

/// The placeholders a query may use.
pub const PLACEHOLDERS: [&str; 3] = ["service", "release", "pid"];

/// Parses a byte size: a whole number with an optional unit (`B`, `KB`, `MB`, `GB`, `KiB`,
/// `MiB`, `GiB`), e.g. `512MiB`.
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let number: u64 = digits.parse().ok()?;
    let factor: u64 = match unit.trim() {
        "" | "B" => 1,
        "KB" | "kB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        _ => return None,
    };
    number.checked_mul(factor)
}

pub(super) fn invalid(field: &str, value: impl std::fmt::Display, problem: &str) -> AnalysisError {
    AnalysisError::Invalid {
        field: field.to_owned(),
        value: value.to_string(),
        problem: problem.to_owned(),
    }
}

pub(super) fn duration(field: &str, text: &str) -> Result<Duration, AnalysisError> {
    humantime::parse_duration(text).map_err(|e| {
        invalid(
            field,
            text,
            &format!("is not a duration ({e}); write e.g. `250ms` or `2s`"),
        )
    })
}

pub(super) fn interval(
    field: &str,
    text: Option<&str>,
    default: Duration,
) -> Result<Duration, AnalysisError> {
    let Some(text) = text else {
        return Ok(default);
    };
    let value = duration(field, text)?;
    if value < MIN_INTERVAL {
        return Err(invalid(
            field,
            text,
            "is too short: measure at most every `10ms`",
        ));
    }
    Ok(value)
}

pub(super) fn action(field: &str, text: Option<&str>) -> Result<Action, AnalysisError> {
    match text {
        None | Some("rollback") => Ok(Action::Rollback),
        Some("alert") => Ok(Action::Alert),
        Some(other) => Err(invalid(
            field,
            other,
            "is not an action: use `rollback` or `alert`",
        )),
    }
}

pub(super) fn count(
    field: &str,
    value: Option<i64>,
    default: u32,
    min: u32,
) -> Result<u32, AnalysisError> {
    let Some(value) = value else {
        return Ok(default);
    };
    u32::try_from(value)
        .ok()
        .filter(|&v| v >= min && v <= 10_000)
        .ok_or_else(|| {
            invalid(
                field,
                value,
                &format!("is out of range: use {min} to 10000"),
            )
        })
}

pub(super) fn ratio(field: &str, value: Option<f64>) -> Result<Option<f64>, AnalysisError> {
    match value {
        Some(v) if !(v.is_finite() && v >= 1.0) => Err(invalid(
            field,
            v,
            "is not a usable factor: use a number of at least 1 (2 means twice the old generation's)",
        )),
        other => Ok(other),
    }
}

pub(super) fn rate(field: &str, value: Option<f64>) -> Result<Option<f64>, AnalysisError> {
    match value {
        Some(v) if !(0.0..=1.0).contains(&v) => Err(invalid(
            field,
            v,
            "is not a share: use a number from 0 to 1, e.g. `0.99`",
        )),
        other => Ok(other),
    }
}

pub(super) fn positive(field: &str, value: Option<f64>) -> Result<Option<f64>, AnalysisError> {
    match value {
        Some(v) if !(v.is_finite() && v > 0.0) => {
            Err(invalid(field, v, "must be a positive number"))
        }
        other => Ok(other),
    }
}

pub(super) fn limit(field: &str, value: Option<i64>) -> Result<Option<u64>, AnalysisError> {
    value
        .map(|v| u64::try_from(v).map_err(|_| invalid(field, v, "must not be negative")))
        .transpose()
}

pub(super) fn size(field: &str, text: Option<&str>) -> Result<Option<u64>, AnalysisError> {
    text.map(|t| {
        parse_size(t).ok_or_else(|| {
            invalid(
                field,
                t,
                "is not a size: write a whole number with `B`, `KB`, `MB`, `GB`, `KiB`, `MiB` or `GiB`, e.g. `512MiB`",
            )
        })
    })
    .transpose()
}

pub(super) fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

pub(super) fn path(field: &str, text: &str) -> Result<String, AnalysisError> {
    if !text.starts_with('/') || text.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(invalid(
            field,
            text,
            "is not a request path: start it with `/` and leave out spaces and control characters",
        ));
    }
    Ok(text.to_owned())
}

/// Checks that a URL is `http://` on loopback: the supervisor scrapes its own children only.
pub(super) fn loopback_http(field: &str, url: &str) -> Result<String, AnalysisError> {
    let problem =
        "is not a loopback URL: use `http://127.0.0.1:PORT/PATH` or `http://[::1]:PORT/PATH`";
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| invalid(field, url, problem))?;
    let authority = rest.split('/').next().unwrap_or_default();
    let host = authority
        .rsplit_once(':')
        .map_or(authority, |(host, _)| host);
    if !matches!(host, "127.0.0.1" | "[::1]" | "localhost") {
        return Err(invalid(field, url, problem));
    }
    Ok(url.to_owned())
}

pub(super) fn metric_name(
    field: &str,
    name: Option<String>,
) -> Result<Option<String>, AnalysisError> {
    match name {
        Some(n)
            if n.is_empty()
                || n.starts_with(|c: char| c.is_ascii_digit())
                || !n
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':') =>
        {
            Err(invalid(
                field,
                n,
                "is not a metric name: use letters, digits, `_` and `:`, not starting with a digit",
            ))
        }
        other => Ok(other),
    }
}

pub(super) fn template(field: &str, query: &str) -> Result<String, AnalysisError> {
    let mut rest = query;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| invalid(field, query, "has a `{{` without `}}`"))?;
        let name = after[..end].trim();
        if !PLACEHOLDERS.contains(&name) {
            return Err(invalid(
                field,
                query,
                &format!(
                    "uses the unknown placeholder `{{{{{name}}}}}`: use `{{{{service}}}}`, `{{{{release}}}}` or `{{{{pid}}}}`"
                ),
            ));
        }
        rest = &after[end + 2..];
    }
    Ok(query.to_owned())
}
