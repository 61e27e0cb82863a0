//! A small Go vulnerability database in the official layout, with real stdlib, toolchain
//! and module advisories (IDs, aliases and affected ranges as published), for hermetic
//! `vuln sync` and `vuln check` tests.
#![expect(
    clippy::unwrap_used,
    reason = "test support: a fixture that cannot be built must fail the test loudly"
)]

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

/// The database's modification time.
pub const MODIFIED: &str = "2024-05-01T12:00:00Z";

/// (id, aliases, summary, affected: [(module, events, imports: [(package, goos)])]).
type Advisory = (
    &'static str,
    &'static [&'static str],
    &'static str,
    &'static [(
        &'static str,
        &'static [(&'static str, &'static str)],
        &'static [(&'static str, &'static [&'static str])],
    )],
);

/// The advisories in the fixture database.
pub const ADVISORIES: &[Advisory] = &[
    (
        "GO-2023-2102",
        &["CVE-2023-44487", "CVE-2023-39325", "GHSA-4374-p667-p6c8"],
        "HTTP/2 rapid reset can cause excessive work in net/http",
        &[
            (
                "stdlib",
                &[
                    ("introduced", "0"),
                    ("fixed", "1.20.10"),
                    ("introduced", "1.21.0-0"),
                    ("fixed", "1.21.3"),
                ],
                &[("net/http", &[])],
            ),
            (
                "golang.org/x/net",
                &[("introduced", "0"), ("fixed", "0.17.0")],
                &[("golang.org/x/net/http2", &[])],
            ),
        ],
    ),
    (
        "GO-2023-2045",
        &["CVE-2023-39322"],
        "Memory exhaustion in QUIC connection handling in crypto/tls",
        &[(
            "stdlib",
            &[("introduced", "1.21.0-0"), ("fixed", "1.21.1")],
            &[("crypto/tls", &[])],
        )],
    ),
    (
        "GO-2023-2043",
        &["CVE-2023-39319"],
        "Improper handling of special tags within script contexts in html/template",
        &[(
            "stdlib",
            &[
                ("introduced", "0"),
                ("fixed", "1.20.8"),
                ("introduced", "1.21.0-0"),
                ("fixed", "1.21.1"),
            ],
            &[("html/template", &[])],
        )],
    ),
    (
        "GO-2023-2042",
        &["CVE-2023-39320"],
        "Arbitrary code execution via go.mod toolchain directive in cmd/go",
        &[(
            "toolchain",
            &[("introduced", "1.21.0-0"), ("fixed", "1.21.1")],
            &[("cmd/go", &[])],
        )],
    ),
    (
        "GO-2023-2185",
        &["CVE-2023-45283"],
        "Insecure parsing of Windows paths with a \\??\\ prefix in path/filepath",
        &[
            (
                "stdlib",
                &[
                    ("introduced", "0"),
                    ("fixed", "1.20.11"),
                    ("introduced", "1.21.0-0"),
                    ("fixed", "1.21.4"),
                ],
                &[
                    ("path/filepath", &["windows"]),
                    ("internal/safefilepath", &["windows"]),
                ],
            ),
            (
                "stdlib",
                &[
                    ("introduced", "1.20.11"),
                    ("fixed", "1.20.12"),
                    ("introduced", "1.21.4"),
                    ("fixed", "1.21.5"),
                ],
                &[("path/filepath", &["windows"])],
            ),
        ],
    ),
    (
        "GO-2023-2186",
        &["CVE-2023-45284"],
        "Incorrect detection of reserved device names on Windows in path/filepath",
        &[(
            "stdlib",
            &[
                ("introduced", "0"),
                ("fixed", "1.20.11"),
                ("introduced", "1.21.0-0"),
                ("fixed", "1.21.4"),
            ],
            &[("path/filepath", &[])],
        )],
    ),
    (
        "GO-2023-2382",
        &["CVE-2023-39326"],
        "Denial of service via chunk extensions in net/http",
        &[(
            "stdlib",
            &[
                ("introduced", "0"),
                ("fixed", "1.20.12"),
                ("introduced", "1.21.0-0"),
                ("fixed", "1.21.5"),
            ],
            &[("net/http/internal", &[])],
        )],
    ),
    (
        "GO-2024-2687",
        &["CVE-2023-45288", "GHSA-4v7x-pqxf-cx7m"],
        "HTTP/2 CONTINUATION flood in net/http",
        &[
            (
                "stdlib",
                &[
                    ("introduced", "0"),
                    ("fixed", "1.21.9"),
                    ("introduced", "1.22.0-0"),
                    ("fixed", "1.22.2"),
                ],
                &[("net/http", &[])],
            ),
            (
                "golang.org/x/net",
                &[("introduced", "0"), ("fixed", "0.23.0")],
                &[("golang.org/x/net/http2", &[])],
            ),
        ],
    ),
];

/// The OSV JSON of one advisory.
pub fn entry_json(advisory: &Advisory) -> String {
    let (id, aliases, summary, affected) = advisory;
    let quote = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
    let list = |items: &[&str]| items.iter().map(|s| quote(s)).collect::<Vec<_>>().join(",");
    let mut blocks = Vec::new();
    for (module, events, imports) in *affected {
        let events: Vec<String> = events
            .iter()
            .map(|(kind, version)| format!("{{{}:{}}}", quote(kind), quote(version)))
            .collect();
        let imports: Vec<String> = imports
            .iter()
            .map(|(path, goos)| {
                if goos.is_empty() {
                    format!("{{\"path\":{}}}", quote(path))
                } else {
                    format!("{{\"path\":{},\"goos\":[{}]}}", quote(path), list(goos))
                }
            })
            .collect();
        blocks.push(format!(
            "{{\"package\":{{\"name\":{},\"ecosystem\":\"Go\"}},\"ranges\":[{{\"type\":\"SEMVER\",\"events\":[{}]}}],\"ecosystem_specific\":{{\"imports\":[{}]}}}}",
            quote(module),
            events.join(","),
            imports.join(",")
        ));
    }
    format!(
        "{{\"schema_version\":\"1.3.1\",\"id\":{},\"modified\":{},\"published\":{},\"aliases\":[{}],\"summary\":{},\"affected\":[{}],\"database_specific\":{{\"url\":\"https://pkg.go.dev/vuln/{id}\",\"review_status\":\"REVIEWED\"}}}}",
        quote(id),
        quote(MODIFIED),
        quote(MODIFIED),
        list(aliases),
        quote(summary),
        blocks.join(",")
    )
}

/// `index/modules.json` for [`ADVISORIES`]: per module, each advisory with its newest fix.
pub fn modules_json() -> String {
    let mut modules: Vec<(&str, Vec<(&str, &str)>)> = Vec::new();
    for (id, _, _, affected) in ADVISORIES {
        for (module, events, _) in *affected {
            let fixed = events
                .iter()
                .filter(|(kind, _)| *kind == "fixed")
                .map(|(_, v)| *v)
                .next_back()
                .unwrap_or("");
            let slot = if let Some(index) = modules.iter().position(|(m, _)| m == module) {
                index
            } else {
                modules.push((module, Vec::new()));
                modules.len() - 1
            };
            if !modules[slot].1.iter().any(|(i, _)| i == id) {
                modules[slot].1.push((id, fixed));
            } else if let Some(entry) = modules[slot].1.iter_mut().find(|(i, _)| i == id) {
                // Several blocks for one module: keep the newest fix (they are in order here).
                entry.1 = fixed;
            }
        }
    }
    let mut out = String::from("[");
    for (index, (module, vulns)) in modules.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        let _ = write!(out, "{{\"path\":\"{module}\",\"vulns\":[");
        for (n, (id, fixed)) in vulns.iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            let _ = write!(
                out,
                "{{\"id\":\"{id}\",\"modified\":\"{MODIFIED}\",\"fixed\":\"{fixed}\"}}"
            );
        }
        out.push_str("]}");
    }
    out.push(']');
    out
}

/// Writes the database under `root`; `gzip` writes `.json.gz` files as vuln.go.dev serves
/// them (the index stays plain `.json` too, as a mirror may have both).
pub fn write(root: &Path, gzip: bool) {
    std::fs::create_dir_all(root.join("index")).unwrap();
    std::fs::create_dir_all(root.join("ID")).unwrap();
    let put = |name: &str, text: &str| {
        if gzip {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            encoder.write_all(text.as_bytes()).unwrap();
            std::fs::write(
                root.join(format!("{name}.json.gz")),
                encoder.finish().unwrap(),
            )
            .unwrap();
        } else {
            std::fs::write(root.join(format!("{name}.json")), text).unwrap();
        }
    };
    put("index/db", &format!("{{\"modified\":\"{MODIFIED}\"}}"));
    put("index/modules", &modules_json());
    for advisory in ADVISORIES {
        put(&format!("ID/{}", advisory.0), &entry_json(advisory));
    }
}
