use super::*;

const HASH: &str = "736ce492a19d756a92719a6121226087ccd91b652ed5caec40ad6dbfb2252092";

fn release(version: &str, stable: bool, platforms: &[&str]) -> String {
    let files: Vec<String> = platforms
        .iter()
        .map(|platform| {
            let (os, arch) = platform.split_once('/').unwrap();
            let ext = if os == "windows" { "zip" } else { "tar.gz" };
            format!(
                r#"{{"filename": "go{version}.{os}-{arch}.{ext}", "os": "{os}", "arch": "{arch}",
                    "version": "go{version}", "sha256": "{HASH}", "size": 100, "kind": "archive"}}"#
            )
        })
        .chain(std::iter::once(format!(
            r#"{{"filename": "go{version}.src.tar.gz", "os": "", "arch": "", "version": "go{version}",
                "sha256": "{HASH}", "size": 10, "kind": "source"}}"#
        )))
        .collect();
    format!(
        r#"{{"version": "go{version}", "stable": {stable}, "files": [{}]}}"#,
        files.join(",")
    )
}

fn index() -> Index {
    let linux = &["linux/amd64", "linux/arm64", "windows/amd64"][..];
    let releases = [
        release("1.23rc1", false, linux),
        release("1.22.10", true, &["linux/amd64"]),
        release("1.22.9", true, linux),
        release("1.22rc2", false, linux),
        release("1.21.13", true, linux),
        release("1.21.12", true, linux),
        release("1.20.14", true, linux),
    ];
    Index::parse(format!("[{}]", releases.join(",")).as_bytes()).unwrap()
}

fn request(text: &str) -> VersionRequest {
    VersionRequest::parse(text).unwrap()
}

fn amd64() -> Platform {
    Platform::parse("linux/amd64").unwrap()
}

fn resolved(text: &str, unstable: bool) -> String {
    let index = index();
    let (release, file) = index.resolve(&request(text), &amd64(), unstable).unwrap();
    assert_eq!(file.os, "linux");
    assert_eq!(file.kind, "archive");
    assert!(
        file.filename
            .starts_with(&format!("go{}.", release.version))
    );
    release.version.to_string()
}

#[test]
fn parses_go_dev_schema() {
    let index = index();
    let versions: Vec<String> = index
        .releases()
        .iter()
        .map(|r| r.version.to_string())
        .collect();
    assert_eq!(
        versions,
        [
            "1.23rc1", "1.22.10", "1.22.9", "1.22rc2", "1.21.13", "1.21.12", "1.20.14"
        ]
    );
    let release = &index.releases()[1];
    assert!(release.stable);
    assert_eq!(release.to_string(), "go1.22.10");
    let file = &release.files[0];
    assert_eq!(file.filename, "go1.22.10.linux-amd64.tar.gz");
    assert_eq!(file.version, "go1.22.10");
    assert_eq!(file.sha256, HASH);
    assert_eq!(file.size, 100);
    assert_eq!(release.files[1].kind, "source");
}

#[test]
fn sorts_an_unsorted_index_newest_first() {
    let json = format!(
        "[{}, {}, {}]",
        release("1.21.2", true, &["linux/amd64"]),
        release("1.22.0", true, &["linux/amd64"]),
        release("1.21.10", true, &["linux/amd64"])
    );
    let index = Index::parse(json.as_bytes()).unwrap();
    let versions: Vec<String> = index
        .releases()
        .iter()
        .map(|r| r.version.to_string())
        .collect();
    assert_eq!(versions, ["1.22.0", "1.21.10", "1.21.2"]);
}

#[test]
fn malformed_json_reports_line_and_column() {
    let error =
        Index::parse(b"[\n {\"version\": \"go1.22.0\",\n  \"stable\": tru }\n]").unwrap_err();
    let IndexError::Malformed { line, column, .. } = &error else {
        panic!("unexpected error {error:?}");
    };
    assert_eq!((*line, *column), (3, 16));
    assert!(error.to_string().contains("line 3, column 16"), "{error}");
    assert!(error.to_string().ends_with(": expected ident"), "{error}");

    let error = Index::parse(br#"{"version": "go1.22.0"}"#).unwrap_err();
    assert!(
        matches!(error, IndexError::Malformed { line: 1, .. }),
        "{error:?}"
    );
    assert!(matches!(
        Index::parse(b""),
        Err(IndexError::Malformed { .. })
    ));
}

#[test]
fn bad_version_names_the_entry() {
    let json = r#"[{"version": "go1.x", "stable": true, "files": []}]"#;
    let error = Index::parse(json.as_bytes()).unwrap_err();
    assert!(matches!(&error, IndexError::BadVersion { version, .. } if version == "go1.x"));
    assert!(error.to_string().contains("`go1.x`"), "{error}");
}

#[test]
fn bad_hash_names_the_entry() {
    let json = release("1.22.0", true, &["linux/amd64"]).replace(HASH, "abc123");
    let error = Index::parse(format!("[{json}]").as_bytes()).unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(&error, IndexError::BadFile { field: "sha256", filename, .. } if filename == "go1.22.0.linux-amd64.tar.gz"),
        "{error:?}"
    );
    assert!(message.contains("go1.22.0.linux-amd64.tar.gz"), "{message}");
    assert!(message.contains("`abc123`"), "{message}");
    assert!(message.contains("64 hexadecimal digits"), "{message}");
}

#[test]
fn empty_hash_is_kept_for_old_releases() {
    let json = release("1.4.3", true, &["linux/amd64"]).replace(HASH, "");
    let index = Index::parse(format!("[{json}]").as_bytes()).unwrap();
    assert_eq!(index.releases()[0].files[0].sha256, "");
}

#[test]
fn unsafe_filename_is_rejected() {
    for name in ["../evil.tar.gz", "a/b.tar.gz", ".hidden", "", "go 1.tar.gz"] {
        let json =
            release("1.22.0", true, &["linux/amd64"]).replace("go1.22.0.linux-amd64.tar.gz", name);
        let error = Index::parse(format!("[{json}]").as_bytes()).unwrap_err();
        assert!(
            matches!(
                error,
                IndexError::BadFile {
                    field: "filename",
                    ..
                }
            ),
            "{name}: {error:?}"
        );
    }
}

#[test]
fn resolves_exact_line_and_latest() {
    assert_eq!(resolved("1.22.9", false), "1.22.9");
    assert_eq!(resolved("1.22", false), "1.22.10");
    assert_eq!(resolved("1.21", false), "1.21.13");
    assert_eq!(resolved("latest", false), "1.22.10");
}

#[test]
fn exact_selects_unstable_releases_and_the_flag_widens_lines() {
    assert_eq!(resolved("1.23rc1", false), "1.23rc1");
    assert_eq!(resolved("1.22rc2", false), "1.22rc2");
    assert_eq!(resolved("latest", true), "1.23rc1");
    assert_eq!(resolved("1.23", true), "1.23rc1");
    let error = index()
        .resolve(&request("1.23"), &amd64(), false)
        .unwrap_err();
    assert!(matches!(error, ResolveError::UnknownVersion { .. }));
}

#[test]
fn unknown_version_suggests_same_line_first() {
    let error = index()
        .resolve(&request("1.22.99"), &amd64(), false)
        .unwrap_err();
    let ResolveError::UnknownVersion { suggestions, .. } = &error else {
        panic!("unexpected error {error:?}");
    };
    let suggestions: Vec<String> = suggestions.iter().map(ToString::to_string).collect();
    assert_eq!(suggestions, ["1.22.10", "1.22.9", "1.21.13", "1.21.12"]);
    let message = error.to_string();
    assert!(
        message.contains("no Go release matches `1.22.99`"),
        "{message}"
    );
    assert!(
        message.contains("nearest available: 1.22.10, 1.22.9"),
        "{message}"
    );
}

#[test]
fn unknown_line_suggests_neighbours() {
    let error = index()
        .resolve(&request("1.19"), &amd64(), false)
        .unwrap_err();
    let ResolveError::UnknownVersion { suggestions, .. } = &error else {
        panic!("unexpected error {error:?}");
    };
    let suggestions: Vec<String> = suggestions.iter().map(ToString::to_string).collect();
    assert_eq!(suggestions, ["1.22.10", "1.21.13", "1.20.14"]);
}

#[test]
fn missing_platform_lists_available_ones() {
    let platform = Platform::parse("darwin/arm64").unwrap();
    let error = index()
        .resolve(&request("1.22.9"), &platform, false)
        .unwrap_err();
    let ResolveError::NoArchive {
        version,
        platform: asked,
        available,
    } = &error
    else {
        panic!("unexpected error {error:?}");
    };
    assert_eq!(version.to_string(), "1.22.9");
    assert_eq!(asked, &platform);
    assert_eq!(available, &["linux/amd64", "linux/arm64", "windows/amd64"]);
    let message = error.to_string();
    assert!(
        message.contains("Go 1.22.9 has no archive for darwin/arm64"),
        "{message}"
    );
    // The newest patch of the line lacks arm64: resolving the line reports that release.
    let arm = Platform::parse("linux/arm64").unwrap();
    let error = index().resolve(&request("1.22"), &arm, false).unwrap_err();
    assert!(
        matches!(error, ResolveError::NoArchive { version, .. } if version.to_string() == "1.22.10")
    );
}

#[test]
fn prefers_tar_gz_over_zip() {
    let json = r#"[{"version": "go1.22.0", "stable": true, "files": [
        {"filename": "go1.22.0.windows-amd64.zip", "os": "windows", "arch": "amd64", "version": "go1.22.0", "sha256": "", "size": 1, "kind": "archive"},
        {"filename": "go1.22.0.windows-amd64.msi", "os": "windows", "arch": "amd64", "version": "go1.22.0", "sha256": "", "size": 1, "kind": "installer"},
        {"filename": "go1.22.0.windows-amd64.tar.gz", "os": "windows", "arch": "amd64", "version": "go1.22.0", "sha256": "", "size": 1, "kind": "archive"}]}]"#;
    let index = Index::parse(json.as_bytes()).unwrap();
    let platform = Platform::parse("windows/amd64").unwrap();
    let (_, file) = index.resolve(&request("1.22.0"), &platform, false).unwrap();
    assert_eq!(file.filename, "go1.22.0.windows-amd64.tar.gz");
}

#[test]
fn a_file_listed_twice_with_different_hashes_is_refused() {
    let one = release("1.22.0", true, &["linux/amd64"]);
    let other = one.replace(HASH, &"b".repeat(64));
    let error = Index::parse(format!("[{one},{other}]").as_bytes()).unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("lists `go1.22.0.linux-amd64.tar.gz` twice"),
        "{message}"
    );
    // Listed twice with the same hash is harmless.
    Index::parse(format!("[{one},{one}]").as_bytes()).unwrap();
}
