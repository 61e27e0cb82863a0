//! The little URL handling this crate needs: scheme, host, and joining a file name.
//!
//! Only three schemes exist here (`https`, `http`, `file`), and URLs come from the user's
//! configuration, so a full URL parser would be weight without benefit.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

/// A URL split into the parts that decide how (and whether) it may be fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Location {
    /// `https://` or `http://`.
    Remote {
        /// `https` or `http`.
        secure: bool,
        /// Host name or address, without brackets or port.
        host: String,
    },
    /// `file://` with an absolute, percent-decoded path.
    File(PathBuf),
}

/// Why a URL is unusable, in words for an error message.
pub(crate) type Reason = &'static str;

impl Location {
    pub(crate) fn parse(url: &str) -> Result<Self, Reason> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or("it has no scheme; use `https://…` or `file://…`")?;
        match scheme.to_ascii_lowercase().as_str() {
            "file" => {
                // file:///abs/path, or file://localhost/abs/path.
                let path = rest.strip_prefix("localhost").unwrap_or(rest);
                if !path.starts_with('/') {
                    return Err(
                        "a `file://` URL needs an absolute path (`file:///dir/index.json`)",
                    );
                }
                let path = path.split(['?', '#']).next().unwrap_or(path);
                Ok(Self::File(PathBuf::from(percent_decode(path)?)))
            }
            scheme @ ("https" | "http") => {
                let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
                let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
                let host = if let Some(bracketed) = host_port.strip_prefix('[') {
                    bracketed
                        .split_once(']')
                        .map(|(host, _)| host)
                        .ok_or("its IPv6 address has no closing `]`")?
                } else {
                    host_port.split(':').next().unwrap_or("")
                };
                if host.is_empty() {
                    return Err("it has no host");
                }
                Ok(Self::Remote {
                    secure: scheme == "https",
                    host: host.to_ascii_lowercase(),
                })
            }
            _ => Err("only `https://`, `http://` and `file://` URLs are supported"),
        }
    }

    /// True for `localhost`, 127.0.0.0/8 and `::1` (also `::ffff:127.x.y.z`).
    pub(crate) fn is_loopback(&self) -> bool {
        match self {
            Self::File(_) => false,
            Self::Remote { host, .. } => {
                if host == "localhost" || host.ends_with(".localhost") {
                    return true;
                }
                match host.parse::<IpAddr>() {
                    Ok(IpAddr::V4(v4)) => v4.is_loopback(),
                    Ok(IpAddr::V6(v6)) => {
                        v6 == Ipv6Addr::LOCALHOST
                            || v6
                                .to_ipv4_mapped()
                                .is_some_and(|v4: Ipv4Addr| v4.is_loopback())
                    }
                    Err(_) => false,
                }
            }
        }
    }
}

/// `base` up to and including the last `/` of its path (query and fragment dropped), then
/// `name`.
pub(crate) fn sibling(base: &str, name: &str) -> String {
    let without_query = base.split(['?', '#']).next().unwrap_or(base);
    let path_start = without_query
        .find("://")
        .map_or(0, |at| at + 3)
        .min(without_query.len());
    let (head, path) = without_query.split_at(path_start);
    let directory = match path.rfind('/') {
        Some(slash) => &path[..=slash],
        // `https://host` has no path: the file goes at the root.
        None => return format!("{head}{path}/{name}"),
    };
    format!("{head}{directory}{name}")
}

/// A redirect target resolved against the URL that answered: absolute URLs as they are,
/// `/path` on the same origin, anything else next to the current path.
pub(crate) fn resolve(current: &str, target: &str) -> String {
    if target.contains("://") {
        return target.to_owned();
    }
    let origin_end = current
        .find("://")
        .map(|at| at + 3)
        .and_then(|start| current[start..].find('/').map(|slash| start + slash))
        .unwrap_or(current.len());
    if target.starts_with('/') {
        return format!("{}{target}", &current[..origin_end]);
    }
    sibling(current, target)
}

/// `base` with exactly one `/` before `name`.
pub(crate) fn join(base: &str, name: &str) -> String {
    format!("{}/{name}", base.trim_end_matches('/'))
}

fn percent_decode(text: &str) -> Result<String, Reason> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = bytes
                .get(index + 1..index + 3)
                .and_then(|pair| std::str::from_utf8(pair).ok())
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .ok_or("it has a malformed `%` escape")?;
            out.push(hex);
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "its path is not UTF-8 after decoding `%` escapes")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote(url: &str) -> (bool, String, bool) {
        let location = Location::parse(url).unwrap();
        let loopback = location.is_loopback();
        match location {
            Location::Remote { secure, host } => (secure, host, loopback),
            Location::File(path) => panic!("{url} parsed as a file: {}", path.display()),
        }
    }

    #[test]
    fn parses_hosts_and_loopback() {
        assert_eq!(
            remote("https://go.dev/dl/?mode=json"),
            (true, "go.dev".into(), false)
        );
        assert_eq!(
            remote("http://127.0.0.1:8080/x"),
            (false, "127.0.0.1".into(), true)
        );
        assert_eq!(
            remote("http://127.8.9.10/"),
            (false, "127.8.9.10".into(), true)
        );
        assert_eq!(remote("http://[::1]:9/x"), (false, "::1".into(), true));
        assert_eq!(
            remote("http://LOCALHOST:9"),
            (false, "localhost".into(), true)
        );
        assert_eq!(
            remote("http://user@10.0.0.1:9/"),
            (false, "10.0.0.1".into(), false)
        );
        assert_eq!(
            remote("http://127.0.0.1.example.com/"),
            (false, "127.0.0.1.example.com".into(), false)
        );
        assert!(!remote("http://[::2]/").2);
    }

    #[test]
    fn parses_file_urls() {
        assert_eq!(
            Location::parse("file:///srv/go%20dl/index.json").unwrap(),
            Location::File(PathBuf::from("/srv/go dl/index.json"))
        );
        assert_eq!(
            Location::parse("file://localhost/x").unwrap(),
            Location::File(PathBuf::from("/x"))
        );
        assert!(Location::parse("file://relative/x").is_err());
        assert!(Location::parse("file:///bad%zz").is_err());
    }

    #[test]
    fn rejects_other_schemes() {
        assert!(Location::parse("ftp://host/x").is_err());
        assert!(Location::parse("go.dev/dl").is_err());
        assert!(Location::parse("https:///x").is_err());
        assert!(Location::parse("http://[::1/x").is_err());
    }

    #[test]
    fn joins_names() {
        assert_eq!(
            sibling("https://go.dev/dl/?mode=json&include=all", "go1.tar.gz"),
            "https://go.dev/dl/go1.tar.gz"
        );
        assert_eq!(
            sibling("http://127.0.0.1:5/index.json", "go1.tar.gz"),
            "http://127.0.0.1:5/go1.tar.gz"
        );
        assert_eq!(sibling("https://host", "a"), "https://host/a");
        assert_eq!(
            sibling("file:///srv/dl/index.json", "a"),
            "file:///srv/dl/a"
        );
        assert_eq!(join("https://m/golang/", "a"), "https://m/golang/a");
        assert_eq!(
            resolve(
                "https://go.dev/dl/x.tar.gz",
                "https://dl.google.com/go/x.tar.gz"
            ),
            "https://dl.google.com/go/x.tar.gz"
        );
        assert_eq!(
            resolve("http://127.0.0.1:5/a/b?q", "/c"),
            "http://127.0.0.1:5/c"
        );
        assert_eq!(resolve("http://127.0.0.1:5", "/c"), "http://127.0.0.1:5/c");
        assert_eq!(
            resolve("http://127.0.0.1:5/a/b", "c"),
            "http://127.0.0.1:5/a/c"
        );
        assert_eq!(join("https://m/golang", "a"), "https://m/golang/a");
    }
}
