//! `goshift inspect`, `scan`, `vuln` and `sbom` against fabricated binaries and databases.

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::path::Path;

use goshift_testkit::TestContext;
use goshift_testkit::gobinary::{Container, GoBinary};

const MODINFO: &str = "path\texample.com/app/cmd/app\n\
mod\texample.com/app\tv1.2.3\th1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\
dep\tgolang.org/x/net\tv0.16.0\th1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\
build\t-buildmode=exe\n\
build\tCGO_ENABLED=0\n\
build\tGOARCH=amd64\n\
build\tGOOS=linux\n\
build\tvcs=git\n\
build\tvcs.revision=c7ea7c975ab86e174b22b585c63b43bcc86e8772\n\
build\tvcs.modified=false\n";

fn context() -> TestContext {
    TestContext::new(env!("CARGO_BIN_EXE_goshift"))
}

fn write_binary(dir: &Path, name: &str, container: Container, go_version: &str) {
    let bytes = GoBinary::new(container, go_version, MODINFO).build();
    std::fs::write(dir.join(name), bytes).expect("failed to write a fixture binary");
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn go_version_m_prints_what_go_prints() {
    let context = context();
    write_binary(&context.work(), "app", Container::Elf, "go1.21.2");
    let output = context.run(["inspect", "--go-version-m", "app"]);
    assert!(output.status.success());
    assert_eq!(
        stdout(&output),
        format!(
            "app: go1.21.2\n\t{}\n",
            MODINFO.trim_end().replace('\n', "\n\t")
        )
    );
}

#[test]
fn inspect_describes_a_binary() {
    let context = context();
    write_binary(&context.work(), "app.exe", Container::Pe, "go1.22.10");
    let output = context.run(["inspect", "app.exe"]);
    assert!(output.status.success());
    let text = stdout(&output);
    for expected in [
        "Go version    go1.22.10",
        "Format        PE",
        "Main module   example.com/app v1.2.3",
        "Platform      linux/amd64",
        "VCS           git c7ea7c975ab86e174b22b585c63b43bcc86e8772",
        "golang.org/x/net v0.16.0",
    ] {
        assert!(text.contains(expected), "{expected}\n{text}");
    }
    let json = context.run(["--json", "inspect", "app.exe"]);
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value[0]["build_info"]["go_version"], "go1.22.10");
    assert_eq!(value[0]["build_info"]["format"], "pe");
    assert_eq!(value[0]["build_info"]["main"]["version"], "v1.2.3");
}

#[test]
fn a_file_that_is_not_go_fails_with_a_clear_message() {
    let context = context();
    std::fs::write(context.work().join("notes.txt"), "hello").unwrap();
    let output = context.run(["inspect", "notes.txt"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "failed to read Go build information from `notes.txt`: not a Go binary: not an ELF"
        ),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("not a Go binary").count(),
        1,
        "the reason is said once: {stderr}"
    );
}

#[test]
fn scan_lists_go_binaries_and_skips_the_rest() {
    let context = context();
    let tree = context.work().join("tree");
    std::fs::create_dir_all(tree.join("a/b")).unwrap();
    write_binary(&tree, "one", Container::Elf, "go1.21.2");
    write_binary(&tree.join("a"), "two", Container::MachO, "go1.22.10");
    write_binary(&tree.join("a/b"), "three.exe", Container::Pe, "go1.20.9");
    std::fs::write(tree.join("a/readme.md"), "# hi").unwrap();
    std::os::unix::fs::symlink("/usr/bin", tree.join("escape")).unwrap();
    let output = context.run(["--json", "scan", "tree"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let rows = value["binaries"].as_array().unwrap();
    let paths: Vec<&str> = rows.iter().map(|r| r["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["tree/a/b/three.exe", "tree/a/two", "tree/one"]);
    assert_eq!(value["files"], 4);
    assert_eq!(value["symlinks_skipped"], 1);
    assert_eq!(
        rows[2]["vcs_revision"],
        "c7ea7c975ab86e174b22b585c63b43bcc86e8772"
    );
    assert_eq!(rows[2]["cgo"], false);

    let human = context.run(["scan", "tree"]);
    let text = stdout(&human);
    assert!(text.starts_with("PATH"), "{text}");
    assert!(text.contains("tree/one"), "{text}");
    assert!(text.contains("example.com/app@v1.2.3"), "{text}");
}

/// Symbolic links to Go binaries (`/usr/bin/go -> ../lib/go-1.19/bin/go`): one inside the
/// scanned tree is reported once, by its target, with the link; one outside only with
/// `--follow`.
#[test]
fn scan_reports_linked_binaries_once_and_follows_on_request() {
    let context = context();
    let tree = context.work().join("usr");
    std::fs::create_dir_all(tree.join("bin")).unwrap();
    std::fs::create_dir_all(tree.join("lib/go/bin")).unwrap();
    write_binary(&tree.join("lib/go/bin"), "go", Container::Elf, "go1.22.10");
    std::os::unix::fs::symlink("../lib/go/bin/go", tree.join("bin/go")).unwrap();
    let json = |args: &[&str]| -> serde_json::Value {
        let output = context.run(args);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap()
    };
    let value = json(&["--json", "scan", "usr"]);
    let rows = value["binaries"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{value}");
    assert_eq!(rows[0]["path"], "usr/lib/go/bin/go");
    assert_eq!(rows[0]["links"], serde_json::json!(["usr/bin/go"]));
    assert_eq!(value["symlinks_skipped"], 0);

    // Scanning only usr/bin: the target is outside.
    let value = json(&["--json", "scan", "usr/bin"]);
    assert_eq!(value["binaries"], serde_json::json!([]));
    assert_eq!(value["links_outside_not_followed"], 1);
    let human = context.run(["scan", "usr/bin"]);
    assert!(
        String::from_utf8_lossy(&human.stderr).contains("with `--follow`"),
        "{}",
        String::from_utf8_lossy(&human.stderr)
    );
    let value = json(&["--json", "scan", "--follow", "usr/bin"]);
    let rows = value["binaries"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{value}");
    let target = std::fs::canonicalize(tree.join("lib/go/bin/go")).unwrap();
    assert_eq!(rows[0]["path"], target.display().to_string());
    assert_eq!(rows[0]["links"], serde_json::json!(["usr/bin/go"]));
    assert_eq!(rows[0]["version"], "1.22.10");
}

#[test]
fn scan_table_columns_line_up_with_wide_characters_in_paths() {
    let context = context();
    let tree = context.work().join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    write_binary(&tree, "app", Container::Elf, "go1.21.2");
    write_binary(&tree, "zwei-äöü-東京", Container::Elf, "go1.22.10");
    let text = stdout(&context.run(["scan", "tree"]));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    // Columns are counted in characters: every cell of the GO and PLATFORM columns starts
    // where its header does.
    let column = |line: &str, header: &str| {
        let at = lines[0].find(header).unwrap();
        let chars = lines[0][..at].chars().count();
        line.chars()
            .skip(chars)
            .take_while(|c| *c != ' ')
            .collect::<String>()
    };
    assert_eq!(column(lines[1], "GO"), "go1.21.2", "{text}");
    assert_eq!(column(lines[2], "GO"), "go1.22.10", "{text}");
    assert_eq!(column(lines[2], "PLATFORM"), "linux/amd64", "{text}");
    assert!(
        lines[2].starts_with("tree/zwei-äöü-東京  go1.22.10"),
        "{text}"
    );
}

#[test]
fn vuln_sync_from_a_directory_then_check_offline() {
    let context = context();
    goshift_testkit::vulndb::write(&context.root().join("db"), true);
    let sync = context.run(["vuln", "sync", "--from", "../db"]);
    assert!(
        sync.status.success(),
        "{}",
        String::from_utf8_lossy(&sync.stderr)
    );
    assert!(stdout(&sync).contains(goshift_testkit::vulndb::MODIFIED));
    let synced = context.run(["--json", "vuln", "sync", "--from", "../db"]);
    crate::json_schema::follows_schema("vuln-sync", &synced.stdout);
    assert!(
        context
            .home()
            .join("cache/vulndb/index/modules.json")
            .is_file()
    );

    write_binary(&context.work(), "old", Container::Elf, "go1.21.2");
    let check = context.run(["vuln", "check", "old"]);
    assert_eq!(check.status.code(), Some(1));
    let found = context.run(["--json", "vuln", "check", "old"]);
    assert_eq!(found.status.code(), Some(1));
    crate::json_schema::follows_schema("vuln-check", &found.stdout);
    let text = stdout(&check);
    assert!(
        text.contains("GO-2023-2102 (CVE-2023-44487, CVE-2023-39325, GHSA-4374-p667-p6c8): stdlib go1.21.2, fixed in go1.21.3 [net/http]"),
        "{text}"
    );
    assert!(
        text.contains("golang.org/x/net v0.16.0, fixed in v0.17.0"),
        "{text}"
    );

    std::fs::remove_file(context.work().join("old")).unwrap();
    let fixed = GoBinary::new(Container::Elf, "go1.22.10", "path\tx\nmod\tx\t(devel)\t\n").build();
    std::fs::write(context.work().join("new"), fixed).unwrap();
    let clean = context.run(["--json", "vuln", "check", "."]);
    assert_eq!(clean.status.code(), Some(0), "{}", stdout(&clean));
    crate::json_schema::follows_schema("vuln-check", &clean.stdout);
}

#[test]
fn vuln_check_without_a_database_says_how_to_get_one() {
    let context = context();
    write_binary(&context.work(), "app", Container::Elf, "go1.21.2");
    let output = context.run(["vuln", "check", "app"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("hint: run `goshift vuln sync`"), "{stderr}");
}

#[test]
fn vuln_sync_over_loopback_http_with_gzip() {
    let context = context();
    let root = context.root().join("served");
    goshift_testkit::vulndb::write(&root, true);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let expected = goshift_testkit::vulndb::ADVISORIES.len() + 2;
    let server = std::thread::spawn(move || {
        // Serves exactly the files a sync asks for (`.json.gz` all exist), then stops.
        for stream in listener.incoming().take(expected) {
            let mut stream = stream.unwrap();
            let mut request = Vec::new();
            let mut buffer = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                let read = stream.read(&mut buffer).unwrap();
                if read == 0 {
                    break;
                }
                request.extend_from_slice(&buffer[..read]);
            }
            let line = String::from_utf8_lossy(&request);
            let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
            let file = root.join(path.trim_start_matches('/'));
            let (status, body) = match std::fs::read(&file) {
                Ok(body) => ("200 OK", body),
                Err(_) => ("404 Not Found", Vec::new()),
            };
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            stream.write_all(head.as_bytes()).unwrap();
            stream.write_all(&body).unwrap();
        }
    });
    let url = format!("http://{address}");
    let output = context.run(["vuln", "sync", "--from", &url]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout(&output).contains(&format!(
        "Synced {} advisories",
        goshift_testkit::vulndb::ADVISORIES.len()
    )));
    server.join().unwrap();
}

#[test]
fn plain_http_to_a_remote_host_is_refused() {
    let context = context();
    let output = context.run(["vuln", "sync", "--from", "http://vuln.example.com"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("refusing plain HTTP"));
}

#[test]
fn sbom_describes_modules_and_stdlib() {
    let context = context();
    write_binary(&context.work(), "app", Container::Elf, "go1.21.2");
    let output = context.run(["sbom", "app", "--spec", "1.5"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let bom = crate::json_schema::follows_schema("sbom", &output.stdout);
    assert_eq!(bom["specVersion"], "1.5");
    assert_eq!(bom["version"], 1);
    let main = &bom["metadata"]["component"];
    assert_eq!(main["type"], "application");
    assert_eq!(
        main["purl"],
        "pkg:golang/example.com/app@v1.2.3?goarch=amd64&goos=linux&type=module#cmd/app"
    );
    let components = bom["components"].as_array().unwrap();
    assert_eq!(components[0]["name"], "golang.org/x/net");
    assert_eq!(
        components[0]["hashes"][0]["content"],
        "0000000000000000000000000000000000000000000000000000000000000000"
    );
    assert_eq!(components[1]["purl"], "pkg:golang/stdlib@v1.21.2");
    let output = context.run(["sbom", "app", "--spec", "1.4"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn scan_classifies_binaries_by_policy() {
    let context = context();
    let tree = context.work().join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    write_binary(&tree, "blocked", Container::Elf, "go1.21.2");
    write_binary(&tree, "fine", Container::Elf, "go1.22.10");
    let devel = "path\tx/cmd\nmod\tx\t(devel)\t\nbuild\tvcs.modified=true\n";
    std::fs::write(
        tree.join("devel"),
        GoBinary::new(Container::Elf, "go1.22.10", devel).build(),
    )
    .unwrap();
    std::fs::write(
        context.work().join("policy.toml"),
        "[[blocked]]\nversions = \">=1.21.0, <1.21.3\"\nreason = \"HTTP/2 rapid reset\"\nadvisories = [\"GO-2023-2102\"]\n",
    )
    .unwrap();
    let output = context.run(["--json", "--policy", "policy.toml", "scan", "tree"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let status: Vec<(&str, &str)> = value["binaries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["path"].as_str().unwrap(),
                r["policy"]["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        status,
        [
            ("tree/blocked", "block"),
            ("tree/devel", "warn"),
            ("tree/fine", "ok")
        ]
    );
    let reasons = value["binaries"][1]["policy"]["reasons"].to_string();
    assert!(
        reasons.contains("(devel)") && reasons.contains("modified VCS tree"),
        "{reasons}"
    );

    // With the vulnerability database, a vulnerable dependency blocks too.
    goshift_testkit::vulndb::write(&context.root().join("db"), false);
    assert!(
        context
            .run(["vuln", "sync", "--from", "../db"])
            .status
            .success()
    );
    let output = context.run(["--policy", "policy.toml", "inspect", "tree/fine"]);
    let text = stdout(&output);
    assert!(text.contains("Policy        block"), "{text}");
    assert!(
        text.contains("known vulnerabilities: GO-2023-2102, GO-2024-2687"),
        "{text}"
    );
}
