//! Fetching indexes and archives through the loopback mirror, with faults.

use std::io::Read;
use std::time::Duration;

use goshift_dist::{Client, DistError, Expected, GoVersion, Platform, Sources, VersionRequest};
use goshift_testkit::archive::fake_go;
use goshift_testkit::mirror::{Fault, IndexEntry, MirrorServer, index_json};

use crate::Scratch;

const ARCHIVE: &str = "go1.22.10.linux-amd64.tar.gz";

/// A mirror serving `index.json` and two fake releases for linux/amd64.
fn mirror() -> (MirrorServer, Vec<u8>) {
    let server = MirrorServer::start();
    let new = fake_go("1.22.10");
    let old = fake_go("1.21.13");
    let entries = [
        IndexEntry::archive("1.22.10", "linux", "amd64", &new),
        IndexEntry::archive("1.21.13", "linux", "amd64", &old),
    ];
    server
        .add("index.json", index_json(&entries))
        .add(ARCHIVE, new.clone())
        .add("go1.21.13.linux-amd64.tar.gz", old);
    (server, new)
}

fn sources(server: &MirrorServer) -> Sources {
    Sources {
        index_url: server.url_of("index.json"),
        mirror: None,
        allow_insecure_http: false,
    }
}

/// Resolves, opens and unpacks `1.22.10` the way the store does.
fn install(server: &MirrorServer) -> (Scratch, Result<goshift_dist::Unpacked, DistError>) {
    let client = Client::new();
    let index = client.fetch_index(&sources(server)).unwrap();
    let request = VersionRequest::parse("1.22").unwrap();
    let (release, file) = index
        .resolve(&request, &Platform::parse("linux/amd64").unwrap(), false)
        .unwrap();
    let url = sources(server).archive_url(file).unwrap();
    assert_eq!(url, server.url_of(ARCHIVE));
    let expected = Expected {
        sha256: Some(file.sha256.clone()),
        size: Some(file.size),
        version: Some(release.version.clone()),
    };
    let scratch = Scratch::new();
    let result = client.open(&url, false).and_then(|download| {
        goshift_dist::unpack(
            download,
            &expected,
            &scratch.dest(),
            Some(&scratch.cache()),
            &mut |_| {},
        )
    });
    (scratch, result)
}

#[test]
fn installs_through_the_mirror_without_asking_it_for_hashes() {
    let (server, archive) = mirror();
    let (scratch, result) = install(&server);
    let unpacked = result.unwrap();
    assert_eq!(unpacked.version, GoVersion::parse("1.22.10").unwrap());
    assert_eq!(std::fs::read(scratch.cache()).unwrap(), archive);
    assert_eq!(
        server.requested_paths(),
        ["/index.json", &format!("/{ARCHIVE}")],
        "only the index and the archive are fetched, never a .sha256 file"
    );
    let agent = server.requests()[0].user_agent.clone().unwrap();
    assert!(agent.starts_with("goshift/"), "{agent}");
}

#[test]
fn open_reports_content_length() {
    let (server, archive) = mirror();
    let download = Client::new().open(&server.url_of(ARCHIVE), false).unwrap();
    assert_eq!(download.content_length(), Some(archive.len() as u64));
}

#[test]
fn not_found_and_server_errors_name_status_and_url() {
    let (server, _) = mirror();
    server.fault(ARCHIVE, Fault::Status(500));
    let (_scratch, result) = install(&server);
    match result {
        Err(error @ DistError::HttpStatus { status: 500, .. }) => {
            let message = error.to_string();
            assert!(message.contains(&server.url_of(ARCHIVE)), "{message}");
            assert!(message.contains("500"), "{message}");
        }
        other => panic!("expected HTTP 500, got {other:?}"),
    }
    let missing = server.url_of("go9.9.9.linux-amd64.tar.gz");
    let error = Client::new().open(&missing, false).unwrap_err();
    assert!(
        matches!(&error, DistError::HttpStatus { status: 404, url } if *url == missing),
        "{error:?}"
    );
    assert!(error.to_string().contains("does not exist"), "{error}");
}

#[test]
fn truncated_body_is_a_size_mismatch() {
    let (server, archive) = mirror();
    server.fault(ARCHIVE, Fault::Truncate(archive.len() / 3));
    let (scratch, result) = install(&server);
    assert!(
        matches!(result, Err(DistError::SizeMismatch { .. })),
        "{result:?}"
    );
    assert!(
        scratch.cache_listing().is_empty(),
        "no .partial file is left"
    );
}

#[test]
fn corrupted_body_is_a_checksum_mismatch() {
    let (server, archive) = mirror();
    server.fault(ARCHIVE, Fault::Corrupt(archive.len() / 2));
    let (scratch, result) = install(&server);
    assert!(
        matches!(result, Err(DistError::ChecksumMismatch { .. })),
        "{result:?}"
    );
    assert!(scratch.cache_listing().is_empty());
}

#[test]
fn connection_closed_mid_body_is_a_read_error() {
    let (server, archive) = mirror();
    server.fault(ARCHIVE, Fault::CloseAfter(archive.len() / 2));
    let (scratch, result) = install(&server);
    match result {
        Err(error @ DistError::Read { .. }) => {
            assert!(error.to_string().contains("retry"), "{error}");
        }
        other => panic!("expected a read error, got {other:?}"),
    }
    assert!(scratch.cache_listing().is_empty());
}

#[test]
fn slow_trickle_still_completes_and_reports_progress() {
    let (server, archive) = mirror();
    server.fault(
        ARCHIVE,
        Fault::Trickle {
            chunk: archive.len() / 8 + 1,
            delay: Duration::from_millis(5),
        },
    );
    let download = Client::new().open(&server.url_of(ARCHIVE), false).unwrap();
    let scratch = Scratch::new();
    let mut progress = Vec::new();
    let expected = crate::expect_exact(&archive, "1.22.10");
    goshift_dist::unpack(download, &expected, &scratch.dest(), None, &mut |n| {
        progress.push(n);
    })
    .unwrap();
    assert!(
        progress.len() >= 2,
        "progress is reported as data arrives: {progress:?}"
    );
    assert_eq!(progress.last().copied(), Some(archive.len() as u64));
}

#[test]
fn index_errors_name_the_url() {
    let (server, _) = mirror();
    server.add("index.json", "[{\"version\": \"go1.22.10\",");
    let error = Client::new().fetch_index(&sources(&server)).unwrap_err();
    match &error {
        DistError::Index { url, source } => {
            assert_eq!(*url, server.url_of("index.json"));
            assert!(source.to_string().contains("line 1"), "{source}");
        }
        other => panic!("expected an index error, got {other:?}"),
    }
}

#[test]
fn url_policy() {
    let client = Client::new();
    // Public plain http is refused before any connection is made.
    let error = client
        .open("http://example.invalid/go.tar.gz", false)
        .unwrap_err();
    assert!(matches!(error, DistError::InsecureHttp { .. }), "{error:?}");
    assert!(error.to_string().contains("GOSHIFT_ALLOW_HTTP=1"));
    // Unsupported schemes.
    let error = client.open("ftp://example.invalid/x", false).unwrap_err();
    assert!(matches!(error, DistError::InvalidUrl { .. }), "{error:?}");
    // Loopback http works (the mirror), also via `localhost`.
    let (server, _) = mirror();
    let local = format!("http://localhost:{}/index.json", server.address().port());
    assert!(client.open(&local, false).is_ok());
}

#[test]
fn redirect_to_public_http_is_refused() {
    let (server, _) = mirror();
    server.fault(
        ARCHIVE,
        Fault::Redirect(String::from("http://example.invalid/x.tar.gz")),
    );
    let error = Client::new()
        .open(&server.url_of(ARCHIVE), false)
        .unwrap_err();
    assert!(
        matches!(
            error,
            DistError::InsecureHttp { .. } | DistError::Transport { .. }
        ),
        "a redirect must not reach a public http host silently: {error:?}"
    );
}

#[test]
fn file_urls_serve_index_and_archives() {
    let (_server, archive) = mirror();
    let dir = tempfile::tempdir().unwrap();
    let entries = [IndexEntry::archive("1.22.10", "linux", "amd64", &archive)];
    std::fs::write(dir.path().join("index.json"), index_json(&entries)).unwrap();
    std::fs::write(dir.path().join(ARCHIVE), &archive).unwrap();
    let sources = Sources {
        index_url: format!("file://{}/index.json", dir.path().display()),
        mirror: None,
        allow_insecure_http: false,
    };
    let client = Client::new();
    let index = client.fetch_index(&sources).unwrap();
    let (_, file) = index
        .resolve(
            &VersionRequest::Latest,
            &Platform::parse("linux/amd64").unwrap(),
            false,
        )
        .unwrap();
    let url = sources.archive_url(file).unwrap();
    assert_eq!(url, format!("file://{}/{ARCHIVE}", dir.path().display()));
    let mut download = client.open(&url, false).unwrap();
    assert_eq!(download.content_length(), Some(archive.len() as u64));
    let mut bytes = Vec::new();
    download.read_to_end(&mut bytes).unwrap();
    assert_eq!(bytes, archive);
    let error = client
        .open(
            &format!("file://{}/missing.tar.gz", dir.path().display()),
            false,
        )
        .unwrap_err();
    assert!(matches!(error, DistError::LocalFile { .. }), "{error:?}");
}

#[test]
fn mirror_serves_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), b"from disk").unwrap();
    let server = MirrorServer::start();
    server.serve_dir(dir.path());
    let mut body = Vec::new();
    Client::new()
        .open(&server.url_of("a.txt"), false)
        .unwrap()
        .read_to_end(&mut body)
        .unwrap();
    assert_eq!(body, b"from disk");
    let error = Client::new()
        .open(&server.url_of("../etc/passwd"), false)
        .unwrap_err();
    assert!(
        matches!(error, DistError::HttpStatus { status: 404, .. }),
        "{error:?}"
    );
}

#[test]
fn proxy_is_never_used_for_loopback() {
    let error = Client::with_proxy("not a proxy").unwrap_err();
    assert!(matches!(error, DistError::InvalidUrl { .. }), "{error:?}");
    // A proxy nobody listens on: loopback requests must not go through it.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let client = Client::with_proxy(&proxy).unwrap();
    let (server, archive) = mirror();
    let download = client.open(&server.url_of(ARCHIVE), false).unwrap();
    assert_eq!(download.content_length(), Some(archive.len() as u64));
}
