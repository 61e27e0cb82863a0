use super::*;

const TABLE: &str = r#"package godebugs

type Info struct {
	Name    string
	Package string
	Changed int
	Old     string
	Opaque  bool
}

var All = []Info{
	{Name: "httpmuxgo121", Package: "net/http", Changed: 22, Old: "1"},
	//{Name: "multipartfiles", Package: "mime/multipart"},
	{Name: "netdns", Package: "net", Opaque: true},
	{Name: "panicnil", Package: "runtime", Changed: 21, Old: "1"},
	{Name: "tlsrsakex", Package: "crypto/tls", Changed: 22, Old: "1"},
	{Name: "x509sha1", Package: "crypto/x509"},
}

func Lookup(name string) *Info { return nil }
"#;

fn version(text: &str) -> GoVersion {
    GoVersion::parse(text).unwrap()
}

fn table() -> GodebugTable {
    GodebugTable::parse(TABLE).unwrap()
}

#[test]
fn parses_entries_and_skips_commented_ones() {
    let table = table();
    let names: Vec<&str> = table.settings.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "httpmuxgo121",
            "netdns",
            "panicnil",
            "tlsrsakex",
            "x509sha1"
        ]
    );
    let mux = table.lookup("httpmuxgo121").unwrap();
    assert_eq!(
        (mux.package.as_str(), mux.changed, mux.old.as_str()),
        ("net/http", 22, "1")
    );
    assert_eq!(table.lookup("netdns").unwrap().changed, 0);
    assert!(table.lookup("multipartfiles").is_none());
}

#[test]
fn a_file_without_the_table_or_with_a_bad_entry_is_an_error() {
    let error = GodebugTable::parse("package godebugs\n").unwrap_err();
    assert!(error.reason.contains("var All"), "{error}");
    let error =
        GodebugTable::parse("var All = []Info{\n\t{Name: \"a\", Changed: x},\n}\n").unwrap_err();
    assert_eq!(error.line, 2);
    assert!(error.reason.contains("`Changed` needs a number"), "{error}");
    let error = GodebugTable::parse("var All = []Info{\n\t{Name: \"a\"},\n").unwrap_err();
    assert!(error.reason.contains("no complete"), "{error}");
}

#[test]
fn defaults_follow_the_language_version() {
    let table = table();
    let toolchain = version("1.22.10");
    let cases = [
        ("1.20", "httpmuxgo121=1,panicnil=1,tlsrsakex=1"),
        ("1.21", "httpmuxgo121=1,tlsrsakex=1"),
        ("1.21.13", "httpmuxgo121=1,tlsrsakex=1"),
        ("1.22", ""),
        ("1.22.3", ""),
        ("1.23", ""),
    ];
    for (language, expected) in cases {
        let defaults = default_godebug(&table, &toolchain, &version(language), &[]);
        assert_eq!(defaults.to_go_string(), expected, "go {language}");
    }
}

fn directive(key: &str, value: &str) -> GodebugOverride {
    GodebugOverride {
        key: key.to_owned(),
        value: value.to_owned(),
        at: "main.go line 1".to_owned(),
        from_modfile: false,
    }
}

fn godebug_line(key: &str, value: &str) -> GodebugOverride {
    GodebugOverride {
        key: key.to_owned(),
        value: value.to_owned(),
        at: "go.mod line 5".to_owned(),
        from_modfile: true,
    }
}

#[test]
fn directives_override_and_later_ones_win() {
    let table = table();
    let defaults = default_godebug(
        &table,
        &version("1.22.10"),
        &version("1.22"),
        &[
            directive("httpmuxgo121", "0"),
            directive("httpmuxgo121", "1"),
            directive("x509sha1", "1"),
        ],
    );
    assert_eq!(defaults.to_go_string(), "httpmuxgo121=1,x509sha1=1");
    assert_eq!(
        defaults.settings["httpmuxgo121"].1,
        GodebugOrigin::Override {
            at: "main.go line 1".to_owned()
        }
    );
}

#[test]
fn modfile_godebug_lines_count_only_from_go_1_23() {
    let table = table();
    let lines = [godebug_line("panicnil", "1")];
    let old = default_godebug(&table, &version("1.22.10"), &version("1.22"), &lines);
    assert_eq!(old.to_go_string(), "");
    let new = default_godebug(&table, &version("1.23.4"), &version("1.22"), &lines);
    assert_eq!(new.to_go_string(), "panicnil=1");
}

#[test]
fn a_default_key_replaces_the_language_version() {
    let table = table();
    let defaults = default_godebug(
        &table,
        &version("1.23.4"),
        &version("1.23"),
        &[
            godebug_line("default", "go1.21"),
            directive("tlsrsakex", "0"),
        ],
    );
    assert_eq!(defaults.to_go_string(), "httpmuxgo121=1,tlsrsakex=0");
}

#[test]
fn reads_directives_before_the_package_clause_only() {
    let text = "// Copyright\n\n/* a block\ncomment */\n//go:debug httpmuxgo121=1\n//go:debug  panicnil = 1\n//go:debug bad\n//go:debugx=1\n\n// Package doc.\npackage main // trailing\n\n//go:debug tlsrsakex=1\nfunc main() {}\n";
    let header = parse_go_file_header(text);
    assert_eq!(header.package.as_deref(), Some("main"));
    let found: Vec<(&str, &str, usize)> = header
        .directives
        .iter()
        .map(|d| (d.key.as_str(), d.value.as_str(), d.line))
        .collect();
    assert_eq!(found, [("httpmuxgo121", "1", 5)]);
    assert_eq!(header.malformed, [6, 7]);
}

#[test]
fn a_file_without_a_package_clause_has_no_package() {
    assert_eq!(parse_go_file_header("// nothing\n").package, None);
    assert_eq!(
        parse_go_file_header("packagemain\n").package,
        None,
        "`package` must be a word of its own"
    );
}
