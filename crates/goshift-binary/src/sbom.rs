//! CycloneDX 1.5/1.6 JSON documents for one Go binary.
//!
//! The main module is the application (`metadata.component`), with the main package's
//! sub-path as the purl's `#subpath` and the build settings as `cdx:gomod:build:…`
//! properties; each dependency is a `library` component (a replaced module appears as its
//! replacement) with a `pkg:golang/…` purl and its `h1:` sum as a SHA-256 hash; the standard
//! library is the component `stdlib` at the binary's Go version. A binary without a main
//! module (GOPATH mode, GOROOT's commands, `go build file.go`) is described by its main
//! package and the dependencies its build info lists. The document is a pure
//! function of its inputs: the caller supplies the timestamp, and the serial number derives
//! from the binary's hash.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::{BuildInfo, Module};

/// The CycloneDX specification version to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecVersion {
    /// CycloneDX 1.5.
    V1_5,
    /// CycloneDX 1.6.
    V1_6,
}

impl SpecVersion {
    /// Parses `1.5` or `1.6`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "1.5" => Some(Self::V1_5),
            "1.6" => Some(Self::V1_6),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::V1_5 => "1.5",
            Self::V1_6 => "1.6",
        }
    }
}

/// What the document says about itself.
#[derive(Debug, Clone)]
pub struct SbomOptions<'a> {
    /// The specification version.
    pub spec: SpecVersion,
    /// RFC 3339 creation time.
    pub timestamp: &'a str,
    /// The generating tool's name and version.
    pub tool: (&'a str, &'a str),
    /// SHA-256 of the binary, hex.
    pub binary_sha256: &'a str,
    /// The binary's file name.
    pub binary_name: &'a str,
}

/// Builds the CycloneDX document.
///
/// A binary built without a main module (a GOPATH-mode build such as Debian's, GOROOT's own
/// commands, `go build file.go`) is described by what its build info holds: the main package
/// as the application, without a version or purl, and the dependencies it lists; the
/// composition is `unknown` when it lists none, since a GOPATH build records none.
pub fn cyclonedx(info: &BuildInfo, options: &SbomOptions<'_>) -> Value {
    let main = info.main_module().filter(|m| !m.path.is_empty());
    let identity = MainIdentity::of(info, main, options.binary_name);
    let mut metadata_component = json!({
        "bom-ref": identity.reference,
        "type": "application",
        "name": identity.name,
    });
    if let Some(version) = identity.version {
        metadata_component["version"] = json!(version);
    }
    if let Some(main_purl) = &identity.purl {
        metadata_component["purl"] = json!(main_purl);
    }
    metadata_component["properties"] = json!(build_properties(info, options));
    if let Some(hash) = main.and_then(|main| h1_hex(&main.effective().sum)) {
        metadata_component["hashes"] = json!([{ "alg": "SHA-256", "content": hash }]);
    }
    let (mut components, mut refs) = dependency_components(info);
    if let Some((reference, component)) = stdlib_component(info) {
        components.push(component);
        refs.push(reference);
    }
    let main_ref = identity.reference;
    let mut dependencies = vec![json!({ "ref": main_ref, "dependsOn": refs })];
    dependencies.extend(refs.iter().map(|r| json!({ "ref": r })));

    // Module mode records every dependency; a build without a main module and without
    // dependencies may be a GOPATH build, which records none.
    let aggregate = if main.is_none() && info.modinfo.deps.is_empty() {
        "unknown"
    } else {
        "complete"
    };
    let spec = options.spec.as_str();
    json!({
        "$schema": format!("http://cyclonedx.org/schema/bom-{spec}.schema.json"),
        "bomFormat": "CycloneDX",
        "specVersion": spec,
        "serialNumber": serial_number(options.binary_sha256),
        "version": 1,
        "metadata": {
            "timestamp": options.timestamp,
            "tools": { "components": [{
                "type": "application",
                "name": options.tool.0,
                "version": options.tool.1,
            }]},
            "component": metadata_component,
        },
        "components": components,
        "dependencies": dependencies,
        "compositions": [
            { "aggregate": aggregate, "dependencies": [main_ref] },
        ],
    })
}

/// How the document names the application: its main module (with the package's subpath when
/// the main package is not the module's root), else its main package.
struct MainIdentity<'i> {
    reference: String,
    name: &'i str,
    version: Option<&'i str>,
    purl: Option<String>,
}

impl<'i> MainIdentity<'i> {
    fn of(info: &'i BuildInfo, main: Option<&'i Module>, binary_name: &'i str) -> Self {
        let Some(main) = main else {
            let name = if info.modinfo.path.is_empty() {
                binary_name
            } else {
                info.modinfo.path.as_str()
            };
            return Self {
                reference: format!("{name}?type=package"),
                name,
                version: None,
                purl: None,
            };
        };
        let subpath = info
            .modinfo
            .path
            .strip_prefix(&main.path)
            .and_then(|rest| rest.strip_prefix('/'))
            .filter(|rest| !rest.is_empty());
        let version = &main.effective().version;
        let mut reference = module_ref(&main.path, version);
        let mut main_purl = purl(
            &main.path,
            version,
            info.setting("GOOS"),
            info.setting("GOARCH"),
        );
        if let Some(subpath) = subpath {
            reference = format!("{reference}#{subpath}");
            main_purl = format!("{main_purl}#{subpath}");
        }
        Self {
            reference,
            name: main.path.as_str(),
            version: Some(version.as_str()),
            purl: Some(main_purl),
        }
    }
}

/// The binary's name, hash and Go version, and its build settings, as component properties.
fn build_properties(info: &BuildInfo, options: &SbomOptions<'_>) -> Vec<Value> {
    let mut properties = vec![
        property("cdx:gomod:binary:name", options.binary_name),
        property("cdx:gomod:binary:hash:SHA-256", options.binary_sha256),
        property("cdx:gomod:build:env:GOVERSION", &info.go_version),
    ];
    for setting in &info.modinfo.settings {
        let name = match setting.key.as_str() {
            "CGO_ENABLED" | "GOOS" | "GOARCH" | "GOAMD64" | "GOARM" | "GO386" | "GOARM64"
            | "GOEXPERIMENT" | "GOFIPS140" => format!("cdx:gomod:build:env:{}", setting.key),
            "vcs" | "vcs.revision" | "vcs.time" | "vcs.modified" => {
                format!("cdx:gomod:build:{}", setting.key.replace('.', ":"))
            }
            key => format!("cdx:gomod:build:setting:{key}"),
        };
        properties.push(property(&name, &setting.value));
    }
    if let Some(id) = &info.build_id {
        properties.push(property("cdx:gomod:binary:buildid", id));
    }
    properties
}

/// One library component per dependency module (the first of any repeated one), and their
/// references in the same order.
fn dependency_components(info: &BuildInfo) -> (Vec<Value>, Vec<String>) {
    let (goos, goarch) = (info.setting("GOOS"), info.setting("GOARCH"));
    let mut components = Vec::new();
    let mut refs = Vec::new();
    for dep in &info.modinfo.deps {
        // A local-directory replacement (`=> ../lib`) has no module identity of its own:
        // describe the module it stands in for.
        let built: &Module = match &dep.replace {
            Some(replacement) if !is_local_path(&replacement.path) => replacement,
            _ => dep,
        };
        let reference = module_ref(&built.path, &built.version);
        let mut component = json!({
            "bom-ref": reference,
            "type": "library",
            "name": built.path,
            "version": built.version,
            "scope": "required",
            "purl": purl(&built.path, &built.version, goos, goarch),
        });
        if let Some(hash) = h1_hex(&built.sum) {
            component["hashes"] = json!([{ "alg": "SHA-256", "content": hash }]);
        }
        if let Some(replacement) = &dep.replace {
            component["properties"] = if std::ptr::eq(built, dep) {
                json!([property("cdx:gomod:replacement", &replacement.path)])
            } else {
                json!([property(
                    "cdx:gomod:replaces",
                    &format!("{}@{}", dep.path, dep.version)
                )])
            };
        }
        if !refs.contains(&reference) {
            refs.push(reference);
            components.push(component);
        }
    }
    (components, refs)
}

/// The standard library the binary was built with, as a component, and its reference.
fn stdlib_component(info: &BuildInfo) -> Option<(String, Value)> {
    let semver = crate::vuln::go_semver_text(&info.go_version)?;
    let raw_go = info
        .go_version
        .split_whitespace()
        .next()
        .unwrap_or_default();
    let reference = format!("pkg:golang/stdlib@v{semver}");
    let component = json!({
        "bom-ref": reference,
        "type": "library",
        "name": "stdlib",
        "version": format!("v{semver}"),
        "scope": "required",
        "purl": reference,
        "properties": [property("cdx:gomod:build:env:GOVERSION", raw_go)],
    });
    Some((reference, component))
}

fn is_local_path(path: &str) -> bool {
    path.starts_with("./")
        || path.starts_with("../")
        || path.starts_with('/')
        || path == "."
        || path == ".."
}

fn property(name: &str, value: &str) -> Value {
    json!({ "name": name, "value": value })
}

fn module_ref(path: &str, version: &str) -> String {
    format!(
        "pkg:golang/{}@{}?type=module",
        encode_path(path),
        encode(version)
    )
}

/// `pkg:golang/<path>@<version>?goarch=…&goos=…&type=module` (qualifiers sorted).
fn purl(path: &str, version: &str, goos: Option<&str>, goarch: Option<&str>) -> String {
    let mut out = format!("pkg:golang/{}@{}?", encode_path(path), encode(version));
    if let Some(goarch) = goarch {
        let _ = write!(out, "goarch={}&", encode(goarch));
    }
    if let Some(goos) = goos {
        let _ = write!(out, "goos={}&", encode(goos));
    }
    out.push_str("type=module");
    out
}

/// Percent-encodes a purl segment (keeps unreserved characters).
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

fn encode_path(path: &str) -> String {
    path.split('/').map(encode).collect::<Vec<_>>().join("/")
}

/// The hex SHA-256 inside an `h1:` sum (base64 of the digest).
pub fn h1_hex(sum: &str) -> Option<String> {
    let digest = base64_decode(sum.strip_prefix("h1:")?)?;
    let digest = sha2::digest::Output::<sha2::Sha256>::from_exact_iter(digest)?;
    Some(format!("{digest:x}"))
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(u32::from(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        }))
    };
    let trimmed = text.trim_end_matches('=');
    if !text.len().is_multiple_of(4) || text.len() - trimmed.len() > 2 {
        return None;
    }
    let mut out = Vec::with_capacity(trimmed.len() * 3 / 4);
    for chunk in trimmed.as_bytes().chunks(4) {
        let mut acc = 0u32;
        for &c in chunk {
            acc = (acc << 6) | value(c)?;
        }
        // A chunk of n characters carries n - 1 whole bytes.
        let shift = match chunk.len() {
            4 => 0,
            3 => 6,
            2 => 12,
            _ => return None,
        };
        let bytes = (acc << shift).to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

/// A stable `urn:uuid:` from the binary's hash (UUID version 8, RFC 9562).
fn serial_number(sha256: &str) -> String {
    let hex: String = sha256
        .chars()
        .filter(char::is_ascii_hexdigit)
        .map(|c| c.to_ascii_lowercase())
        .chain(std::iter::repeat('0'))
        .take(32)
        .collect();
    let variant = match hex.as_bytes()[16] {
        b'0' | b'4' | b'8' | b'c' => '8',
        b'1' | b'5' | b'9' | b'd' => '9',
        b'2' | b'6' | b'a' | b'e' => 'a',
        _ => 'b',
    };
    format!(
        "urn:uuid:{}-{}-8{}-{variant}{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn h1_sums_become_hex() {
        // h1 of 32 zero bytes.
        assert_eq!(
            h1_hex("h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=").as_deref(),
            Some("0000000000000000000000000000000000000000000000000000000000000000")
        );
        assert_eq!(
            h1_hex("h1:n2t1Z1JzQdPRxHXMRr1LY3lTiGZgyIgdoO2cgo2Bqwc=").map(|h| h.len()),
            Some(64)
        );
        assert_eq!(h1_hex("h1:short="), None);
        assert_eq!(h1_hex("nonsense"), None);
    }

    #[test]
    fn purls_encode_plus_and_sort_qualifiers() {
        assert_eq!(
            purl(
                "github.com/Ex/old",
                "v4.1.2+incompatible",
                Some("linux"),
                Some("amd64")
            ),
            "pkg:golang/github.com/Ex/old@v4.1.2%2Bincompatible?goarch=amd64&goos=linux&type=module"
        );
    }

    #[test]
    fn serial_numbers_have_the_uuid_shape() {
        let serial = serial_number(&"ab".repeat(32));
        assert_eq!(serial, "urn:uuid:abababab-abab-8bab-abab-abababababab");
    }
}
