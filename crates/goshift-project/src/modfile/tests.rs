use std::path::Path;

use super::*;

fn go_mod(text: &str) -> Result<ModFile, ModFileError> {
    parse_go_mod(Path::new("go.mod"), text)
}

const FULL: &str = r#"// Deprecated: use example.com/new instead.
module "example.com/old" // trailing

go 1.22.3

toolchain go1.23.4

godebug (
	default=go1.21
	panicnil=1
)

require example.com/single v1.0.0

require (
	example.com/a v1.2.3
	example.com/b v4.1.2+incompatible // indirect
	`example.com/c` v0.0.0-20200722182040-012345abcdef // indirect; kept for tests
)

exclude example.com/a v1.2.2

replace (
	example.com/a => ../a
	example.com/b v4.1.2+incompatible => example.com/fork v4.1.3+incompatible
)

// Published with a broken API.
retract v1.0.1

retract [v1.1.0, v1.1.9] // Data race.

tool example.com/cmd/gen
"#;

#[test]
fn parses_every_directive() {
    let file = go_mod(FULL).unwrap();
    let module = file.module.as_ref().unwrap();
    assert_eq!(module.path, "example.com/old");
    assert_eq!(
        module.deprecated.as_deref(),
        Some("use example.com/new instead.\ntrailing")
    );
    assert_eq!(file.go.as_ref().unwrap().version.to_string(), "1.22.3");
    assert_eq!(file.go.as_ref().unwrap().line, 4);
    assert_eq!(file.toolchain.as_ref().unwrap().name, "go1.23.4");
    assert_eq!(file.godebug.len(), 2);
    assert_eq!(
        (file.godebug[0].key.as_str(), file.godebug[0].value.as_str()),
        ("default", "go1.21")
    );
    let requires: Vec<(&str, &str, bool)> = file
        .require
        .iter()
        .map(|r| (r.path.as_str(), r.version.as_str(), r.indirect))
        .collect();
    assert_eq!(
        requires,
        [
            ("example.com/single", "v1.0.0", false),
            ("example.com/a", "v1.2.3", false),
            ("example.com/b", "v4.1.2+incompatible", true),
            ("example.com/c", "v0.0.0-20200722182040-012345abcdef", true),
        ]
    );
    assert_eq!(file.require[2].line, 17);
    assert_eq!(file.exclude[0].version, "v1.2.2");
    assert_eq!(file.replace[0].new.path, "../a");
    assert_eq!(file.replace[0].old.version, None);
    assert_eq!(
        file.replace[1].new.version.as_deref(),
        Some("v4.1.3+incompatible")
    );
    assert_eq!(file.retract[0].rationale, "Published with a broken API.");
    assert_eq!(
        (
            file.retract[1].low.as_str(),
            file.retract[1].high.as_str(),
            file.retract[1].rationale.as_str()
        ),
        ("v1.1.0", "v1.1.9", "Data race.")
    );
    assert_eq!(file.tool[0].path, "example.com/cmd/gen");
}

#[test]
fn json_uses_go_mod_edit_names() {
    let file =
        go_mod("module m\ngo 1.22\nrequire a.com/x v1.0.0 // indirect\nreplace a.com/x => ./x\n")
            .unwrap();
    let json = serde_json::to_string(&file).unwrap();
    assert_eq!(
        json,
        r#"{"Module":{"Path":"m"},"Go":"1.22","Require":[{"Path":"a.com/x","Version":"v1.0.0","Indirect":true}],"Replace":[{"Old":{"Path":"a.com/x"},"New":{"Path":"./x"}}]}"#
    );
}

/// `go mod edit -json` of Go 1.25 and later names a go.mod's godebug lines `GoDebug` and
/// `go work edit -json` a go.work's `Godebug` (Go 1.26.6 and 1.27.3 in the real tier;
/// `cmd/go/testdata/script/mod_removed_godebug.txt`), each in Go's field order.
#[test]
fn json_names_godebug_as_each_go_command_does() {
    let file = go_mod(
        "module example.com/bar

godebug x509sha1=1

require a.com/x v1.0.0
",
    )
    .unwrap();
    assert_eq!(
        serde_json::to_string(&file.go_json(FileKind::GoMod)).unwrap(),
        r#"{"Module":{"Path":"example.com/bar"},"GoDebug":[{"Key":"x509sha1","Value":"1"}],"Require":[{"Path":"a.com/x","Version":"v1.0.0"}]}"#
    );
    let work = parse_go_work(
        std::path::Path::new("go.work"),
        "go 1.23

godebug panicnil=1

use ./a
",
    )
    .unwrap();
    assert_eq!(
        serde_json::to_string(&work.go_json(FileKind::GoWork)).unwrap(),
        r#"{"Go":"1.23","Godebug":[{"Key":"panicnil","Value":"1"}],"Use":[{"DiskPath":"./a"}]}"#
    );
    let no_module = go_mod(
        "godebug foo=1
",
    )
    .unwrap();
    assert_eq!(
        serde_json::to_string(&no_module.go_json(FileKind::GoMod)).unwrap(),
        r#"{"Module":{"Path":""},"GoDebug":[{"Key":"foo","Value":"1"}]}"#
    );
}

#[test]
fn errors_name_the_line() {
    let cases: &[(&str, usize, &str)] = &[
        ("module m\ngo 1.22\ngo 1.23\n", 3, "repeated `go` directive"),
        ("module m\ngo 1.22.x\n", 2, "invalid go version `1.22.x`"),
        ("module m\ngo 01.22\n", 2, "invalid go version"),
        (
            "module m\ntoolchain 1.22.0\n",
            2,
            "invalid toolchain version `1.22.0`",
        ),
        (
            "module m\n\nfrobnicate x\n",
            3,
            "unknown directive `frobnicate`",
        ),
        (
            "module m\nrequire a.com/x 1.0.0\n",
            2,
            "invalid module version `1.0.0`",
        ),
        (
            "module m\nrequire a.com/x\n",
            2,
            "`require` takes 2 arguments, found 1",
        ),
        ("module m\nrequire (\n\ta.com/x v1.0.0\n", 2, "never closed"),
        ("module m\ngo (\n", 2, "cannot be written as a block"),
        ("module m\nreplace a.com/x ./x\n", 2, "missing `=>`"),
        (
            "module m\nreplace a.com/x => ./x v1.0.0\n",
            2,
            "cannot have a version",
        ),
        (
            "module m\nreplace a.com/x => b.com/y\n",
            2,
            "needs a version",
        ),
        ("module m\nretract [v1.0.0]\n", 2, "retract [LOW, HIGH]"),
        ("module m\ngodebug nokey\n", 2, "expected key=value"),
        ("module \"m\n", 1, "unterminated string"),
        ("module m\nuse ./x\n", 2, "unknown directive `use`"),
    ];
    for (text, line, reason) in cases {
        let error = go_mod(text).unwrap_err();
        assert_eq!(error.line, *line, "{text:?}: {error}");
        assert!(error.reason.contains(reason), "{text:?}: {error}");
        assert!(
            error
                .to_string()
                .starts_with(&format!("`go.mod` line {line}: "))
        );
    }
}

#[test]
fn go_work_and_implied_versions() {
    let work = parse_go_work(
        Path::new("go.work"),
        "go 1.22.0\ntoolchain go1.22.10\n\nuse (\n\t./a\n\t./b\n)\nreplace x.com/y => ./y\n",
    )
    .unwrap();
    let uses: Vec<&str> = work.r#use.iter().map(|u| u.disk_path.as_str()).collect();
    assert_eq!(uses, ["./a", "./b"]);
    assert_eq!(work.toolchain.unwrap().name, "go1.22.10");
    assert!(parse_go_work(Path::new("go.work"), "module m\n").is_err());
    let empty = parse_go_work(Path::new("go.work"), "use ./a\n").unwrap();
    assert_eq!(empty.go_version(FileKind::GoWork).to_string(), "1.18");
    let module = go_mod("module m\n").unwrap();
    assert_eq!(module.go_version(FileKind::GoMod).to_string(), "1.16");
}

/// `go mod edit -json` reads an empty go.mod and one without a `module` line
/// (`"Module":{"Path":""}`), and takes any word as a retracted version (`retract latest`): only
/// loading the module checks more.
#[test]
fn what_go_mod_edit_accepts() {
    let empty = go_mod("").unwrap();
    assert!(empty.module.is_none());
    assert!(empty.go.is_none());
    let headless = go_mod("go 1.21\nrequire example.com/a v1.0.0\n").unwrap();
    assert!(headless.module.is_none());
    assert_eq!(headless.require.len(), 1);
    let retracted = go_mod("go 1.16\n\nretract latest\nretract [v1.0.0, latest] // why\n").unwrap();
    let ranges: Vec<(&str, &str)> = retracted
        .retract
        .iter()
        .map(|r| (r.low.as_str(), r.high.as_str()))
        .collect();
    assert_eq!(ranges, [("latest", "latest"), ("v1.0.0", "latest")]);
    assert_eq!(retracted.retract[1].rationale, "why");
}

#[test]
fn toolchain_names() {
    let file = go_mod("module m\ngo 1.21\ntoolchain go1.21.1-bigcorp\n").unwrap();
    let toolchain = file.toolchain.unwrap();
    assert_eq!(toolchain.version().unwrap().unwrap().to_string(), "1.21.1");
    let file = go_mod("module m\ntoolchain default\n").unwrap();
    assert!(file.toolchain.unwrap().version().is_none());
}

#[test]
fn crlf_comments_and_empty_blocks() {
    let file = go_mod("module m\r\n// just a note\r\nrequire ()\r\ngo 1.21rc2 // rc\r\n").unwrap();
    assert!(file.require.is_empty());
    assert_eq!(file.go.unwrap().version.to_string(), "1.21rc2");
}

proptest::proptest! {
    #[test]
    fn never_panics(text in "(module|go|require|replace|retract|\\(|\\)|\\[|\\]|=>|,|\"|`|//|v1\\.2\\.3|1\\.22| |\n|a\\.com/x|\\\\)*") {
        let _ = go_mod(&text);
        let _ = parse_go_work(Path::new("go.work"), &text);
    }
}
