//! Matching against a database holding real advisories, and syncing it.

use goshift_binary::symbols::Symbols;
use goshift_binary::vuln::{Database, FindingKind, MatchLevel, Source, go_semver_text, sync};
use goshift_binary::{BuildInfo, ExecutableFormat, ModInfo};

fn binary(go_version: &str, goos: &str, deps: &str) -> BuildInfo {
    let text = format!(
        "path\texample.com/app\nmod\texample.com/app\t(devel)\t\n{deps}build\tGOARCH=amd64\nbuild\tGOOS={goos}\n"
    );
    BuildInfo {
        go_version: go_version.to_owned(),
        format: ExecutableFormat::Elf,
        modinfo: ModInfo::parse(&text).unwrap(),
        build_id: None,
    }
}

fn database() -> (tempfile::TempDir, Database) {
    let source = tempfile::tempdir().unwrap();
    goshift_testkit::vulndb::write(&source.path().join("db"), false);
    let cache = source.path().join("cache").join("vulndb");
    sync(&Source::Dir(source.path().join("db")), &cache, &|_, _| {}).unwrap();
    let database = Database::open(&cache).unwrap();
    (source, database)
}

fn ids(database: &Database, info: &BuildInfo) -> Vec<String> {
    let mut ids: Vec<String> = database
        .check(info)
        .unwrap()
        .into_iter()
        .map(|f| f.id)
        .collect();
    ids.sort();
    ids
}

#[test]
fn go_versions_map_to_semver_like_govulncheck() {
    for (go, semver) in [
        ("go1.21.3", Some("1.21.3")),
        ("go1.21rc1", Some("1.21.0-rc.1")),
        ("go1.19", Some("1.19.0")),
        ("go1.18beta2", Some("1.18.0-beta.2")),
        ("go1.21.3 X:loopvar", Some("1.21.3")),
        ("devel go1.23-abcdef", None),
        ("go1.21.0-custom", None),
        ("", None),
    ] {
        assert_eq!(go_semver_text(go).as_deref(), semver, "{go}");
    }
}

#[test]
fn stdlib_findings_follow_the_published_ranges() {
    let (_dir, database) = database();
    assert_eq!(
        ids(&database, &binary("go1.21.2", "linux", "")),
        [
            "GO-2023-2102",
            "GO-2023-2186",
            "GO-2023-2382",
            "GO-2024-2687"
        ]
    );
    // Windows also gets the platform-limited advisory.
    assert_eq!(
        ids(&database, &binary("go1.21.2", "windows", "")),
        [
            "GO-2023-2102",
            "GO-2023-2185",
            "GO-2023-2186",
            "GO-2023-2382",
            "GO-2024-2687"
        ]
    );
    // The regression block of GO-2023-2185.
    let findings = database.check(&binary("go1.21.4", "windows", "")).unwrap();
    let regression = findings.iter().find(|f| f.id == "GO-2023-2185").unwrap();
    assert_eq!(regression.fixed.as_deref(), Some("go1.21.5"));
    assert_eq!(regression.packages, ["path/filepath"]);
    // A release candidate is inside `introduced: 1.21.0-0`.
    assert!(ids(&database, &binary("go1.21rc2", "linux", "")).contains(&"GO-2023-2045".to_owned()));
    let old = database.check(&binary("go1.20.9", "linux", "")).unwrap();
    let rapid_reset = old.iter().find(|f| f.id == "GO-2023-2102").unwrap();
    assert_eq!(rapid_reset.fixed.as_deref(), Some("go1.20.10"));
    assert_eq!(rapid_reset.kind, FindingKind::Stdlib);
    assert_eq!(rapid_reset.aliases[0], "CVE-2023-44487");
    assert!(ids(&database, &binary("go1.22.10", "linux", "")).is_empty());
}

/// Advisories for the `toolchain` module concern the Go command, so they apply to a Go
/// toolchain's own binaries (`cmd/go`), never to a program built with that toolchain.
#[test]
fn toolchain_findings_only_for_the_toolchain() {
    let (_dir, database) = database();
    let program = database.check(&binary("go1.21.0", "linux", "")).unwrap();
    assert!(
        program.iter().all(|f| f.kind != FindingKind::Toolchain),
        "{program:?}"
    );
    assert!(program.iter().any(|f| f.kind == FindingKind::Stdlib));
    let go_command = BuildInfo {
        go_version: "go1.21.0".to_owned(),
        format: ExecutableFormat::Elf,
        modinfo: ModInfo::parse("path\tcmd/go\nbuild\tGOARCH=amd64\nbuild\tGOOS=linux\n").unwrap(),
        build_id: None,
    };
    let findings = database.check(&go_command).unwrap();
    let toolchain = findings.iter().find(|f| f.id == "GO-2023-2042").unwrap();
    assert_eq!(toolchain.kind, FindingKind::Toolchain);
    assert_eq!(toolchain.module, "toolchain");
    assert_eq!(toolchain.fixed.as_deref(), Some("go1.21.1"));
    // Another command of the toolchain is not cmd/go, which the advisory names.
    let vet = BuildInfo {
        modinfo: ModInfo::parse("path\tcmd/vet\nbuild\tGOOS=linux\n").unwrap(),
        ..go_command
    };
    assert!(
        database
            .check(&vet)
            .unwrap()
            .iter()
            .all(|f| f.kind != FindingKind::Toolchain)
    );
}

/// The whole toolchain as one subject: the standard library's advisories and the
/// toolchain's, whichever command they name, in one lookup (what `impact` asks).
#[test]
fn a_whole_toolchain_gets_stdlib_and_every_toolchain_advisory() {
    let (_dir, database) = database();
    let whole = database.check_toolchain("go1.21.0").unwrap();
    let toolchain: Vec<&str> = whole
        .iter()
        .filter(|f| f.kind == FindingKind::Toolchain)
        .map(|f| f.id.as_str())
        .collect();
    assert_eq!(toolchain, ["GO-2023-2042"], "{whole:?}");
    // The standard library as a program built with it sees it, at module level: every
    // platform's advisories, as no platform is given.
    let mut stdlib: Vec<&str> = whole
        .iter()
        .filter(|f| f.kind == FindingKind::Stdlib)
        .map(|f| f.id.as_str())
        .collect();
    stdlib.sort_unstable();
    let mut windows = ids(&database, &binary("go1.21.0", "windows", ""));
    windows.retain(|id| !toolchain.contains(&id.as_str()));
    assert_eq!(stdlib, windows);
    assert!(whole.iter().all(|f| f.level == MatchLevel::Module));
    assert!(database.check_toolchain("go1.22.10").unwrap().is_empty());
    assert!(
        database
            .check_toolchain("devel go1.23-abcdef")
            .unwrap()
            .is_empty()
    );
}

/// A replaced module is matched by what was built: the replacement's path and version, as
/// govulncheck does.
#[test]
fn replaced_modules_match_the_replacement() {
    let (_dir, database) = database();
    let forked = binary(
        "go1.22.10",
        "linux",
        "dep\tgolang.org/x/net\tv0.16.0\n=>\tgithub.com/fork/net\tv0.16.0\th1:x=\n",
    );
    assert_eq!(ids(&database, &forked), Vec::<String>::new());
    let into_vulnerable = binary(
        "go1.22.10",
        "linux",
        "dep\texample.com/net\tv1.0.0\n=>\tgolang.org/x/net\tv0.16.0\th1:x=\n",
    );
    let findings = database.check(&into_vulnerable).unwrap();
    assert_eq!(findings.len(), 2, "{findings:?}");
    assert!(
        findings
            .iter()
            .all(|f| f.module == "golang.org/x/net" && f.version == "v0.16.0")
    );
    let local = binary(
        "go1.22.10",
        "linux",
        "dep\tgolang.org/x/net\tv0.16.0\n=>\t../net\t\t\n",
    );
    assert_eq!(ids(&database, &local), Vec::<String>::new());
}

#[test]
fn modules_match_by_their_built_version() {
    let (_dir, database) = database();
    let info = binary(
        "go1.22.10",
        "linux",
        "dep\tgolang.org/x/net\tv0.16.0\th1:x=\n",
    );
    let findings = database.check(&info).unwrap();
    let ids: Vec<_> = findings
        .iter()
        .map(|f| (f.id.as_str(), f.fixed.as_deref()))
        .collect();
    assert_eq!(
        ids,
        [
            ("GO-2023-2102", Some("v0.17.0")),
            ("GO-2024-2687", Some("v0.23.0"))
        ]
    );
    assert!(findings.iter().all(|f| f.kind == FindingKind::Module));
    // Replaced by a fixed version: nothing.
    let replaced = binary(
        "go1.22.10",
        "linux",
        "dep\tgolang.org/x/net\tv0.16.0\n=>\tgolang.org/x/net\tv0.23.0\th1:x=\n",
    );
    assert!(database.check(&replaced).unwrap().is_empty());
    // Devel and custom Go versions never match stdlib.
    assert!(
        database
            .check(&binary("devel go1.23-abc", "linux", ""))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn sync_reads_gzip_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    goshift_testkit::vulndb::write(&dir.path().join("db"), true);
    let cache = dir.path().join("cache").join("vulndb");
    let source = Source::Dir(dir.path().join("db"));
    let first = sync(&source, &cache, &|_, _| {}).unwrap();
    assert_eq!(first.modified, goshift_testkit::vulndb::MODIFIED);
    assert_eq!(first.advisories, goshift_testkit::vulndb::ADVISORIES.len());
    assert!(!first.up_to_date);
    let second = sync(&source, &cache, &|_, _| {}).unwrap();
    assert!(second.up_to_date);
    assert!(Database::open(&cache).is_ok());
}

#[test]
fn a_broken_source_leaves_the_cache_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    goshift_testkit::vulndb::write(&db, false);
    let cache = dir.path().join("cache").join("vulndb");
    sync(&Source::Dir(db.clone()), &cache, &|_, _| {}).unwrap();
    // A newer database whose advisory file is damaged.
    std::fs::write(
        db.join("index/db.json"),
        "{\"modified\":\"2025-01-01T00:00:00Z\"}",
    )
    .unwrap();
    std::fs::write(db.join("ID/GO-2023-2102.json"), "{not json").unwrap();
    let error = sync(&Source::Dir(db), &cache, &|_, _| {}).unwrap_err();
    assert!(error.to_string().contains("GO-2023-2102"), "{error}");
    let database = Database::open(&cache).unwrap();
    assert_eq!(database.modified(), goshift_testkit::vulndb::MODIFIED);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("cache"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 2, "{leftovers:?}");
}

#[test]
fn a_cache_swapped_for_a_link_mid_sync_receives_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    goshift_testkit::vulndb::write(&db, false);
    let cache_dir = dir.path().join("cache");
    let cache = cache_dir.join("vulndb");
    let outside = dir.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    // After the first advisory, `cache/` becomes a link to a directory holding an entry of
    // each name (the sync's staging copy among them, with its subdirectories).
    let swapped = std::sync::Once::new();
    let swap = || {
        for entry in std::fs::read_dir(&cache_dir).unwrap() {
            let name = entry.unwrap().file_name();
            for sub in ["index", "ID"] {
                std::fs::create_dir_all(outside.join(&name).join(sub)).unwrap();
            }
        }
        std::fs::rename(&cache_dir, dir.path().join("cache.moved")).unwrap();
        std::os::unix::fs::symlink(&outside, &cache_dir).unwrap();
    };
    sync(&Source::Dir(db), &cache, &|_, _| swapped.call_once(swap)).unwrap();
    assert!(swapped.is_completed());
    let mut found = Vec::new();
    for area in std::fs::read_dir(&outside).unwrap() {
        let area = area.unwrap().path();
        found.push(area.clone());
        for sub in ["index", "ID"] {
            assert_eq!(
                std::fs::read_dir(area.join(sub)).unwrap().count(),
                0,
                "{}",
                area.display()
            );
        }
    }
    assert_eq!(found.len(), 1, "{found:?}");
    // The database is complete where the sync opened its directory.
    let database = Database::open(&dir.path().join("cache.moved/vulndb")).unwrap();
    assert_eq!(
        database.advisory_count(),
        goshift_testkit::vulndb::ADVISORIES.len()
    );
}

#[test]
fn sources_parse() {
    assert_eq!(
        Source::parse("https://vuln.go.dev/").unwrap(),
        Source::Url("https://vuln.go.dev".to_owned())
    );
    assert_eq!(
        Source::parse("file:///srv/vulndb").unwrap(),
        Source::Dir("/srv/vulndb".into())
    );
    assert!(Source::parse("ftp://x").is_err());
}

/// With the binary's function table, an advisory is reported only when the code it names is
/// in the binary, and each finding says at which level it was matched.
#[test]
fn symbol_level_matching() {
    let (_dir, database) = database();
    let info = binary(
        "go1.21.2",
        "linux",
        "dep\tgolang.org/x/net\tv0.16.0\th1:x=\n",
    );
    let module_level = database.check(&info).unwrap();
    assert!(
        module_level
            .iter()
            .all(|f| f.level == MatchLevel::Module && f.symbols.is_empty())
    );
    let ids = |findings: &[goshift_binary::vuln::Finding]| -> Vec<(String, String)> {
        findings
            .iter()
            .map(|f| (f.id.clone(), f.module.clone()))
            .collect()
    };
    assert!(ids(&module_level).contains(&("GO-2023-2102".to_owned(), "stdlib".to_owned())));
    assert!(
        ids(&module_level).contains(&("GO-2023-2102".to_owned(), "golang.org/x/net".to_owned()))
    );

    // A program using net/http but not golang.org/x/net/http2.
    let symbols = Symbols::from_names(["main.main", "net/http.(*Server).Serve", "fmt.Println"]);
    let symbol_level = database.check_symbols(&info, Some(&symbols)).unwrap();
    let rapid_reset: Vec<_> = symbol_level
        .iter()
        .filter(|f| f.id == "GO-2023-2102")
        .collect();
    assert_eq!(rapid_reset.len(), 1, "{symbol_level:?}");
    assert_eq!(rapid_reset[0].module, "stdlib");
    assert_eq!(rapid_reset[0].level, MatchLevel::Symbol);
    assert_eq!(rapid_reset[0].symbols, ["net/http"]);
    // Every symbol-level finding is a module-level one too.
    for finding in &symbol_level {
        assert!(ids(&module_level).contains(&(finding.id.clone(), finding.module.clone())));
    }
    // Nothing of net/http: the net/http advisories go.
    let bare = Symbols::from_names(["main.main", "fmt.Println"]);
    let none = database.check_symbols(&info, Some(&bare)).unwrap();
    assert!(
        none.iter()
            .all(|f| f.level == MatchLevel::Module || !f.symbols.is_empty())
    );
    assert!(!none.iter().any(|f| f.id == "GO-2023-2102"), "{none:?}");
}
