//! Resolution table: every source, precedence, nesting, go.work over go.mod,
//! `toolchain default`, and the `GOTOOLCHAIN` forms.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::*;

#[derive(Debug, Default)]
struct Store {
    default: Option<GoVersion>,
    installed: Vec<GoVersion>,
    default_reads: usize,
    listings: usize,
}

impl Toolchains for Store {
    fn default_version(&mut self) -> Option<GoVersion> {
        self.default_reads += 1;
        self.default.clone()
    }
    fn installed(&mut self) -> Vec<GoVersion> {
        self.listings += 1;
        self.installed.clone()
    }
}

fn v(text: &str) -> GoVersion {
    text.parse().unwrap()
}

fn store(default: Option<&str>, installed: &[&str]) -> Store {
    Store {
        default: default.map(v),
        installed: installed.iter().map(|i| v(i)).collect(),
        ..Store::default()
    }
}

struct Case {
    files: BTreeMap<PathBuf, String>,
    go_version: Option<&'static str>,
    gotoolchain: Option<&'static str>,
    gowork: Option<&'static str>,
    selection: Selection,
    start: &'static str,
}

fn case(files: &[(&str, &str)]) -> Case {
    Case {
        files: files
            .iter()
            .map(|(p, t)| (PathBuf::from(p), (*t).to_owned()))
            .collect(),
        go_version: None,
        gotoolchain: None,
        gowork: None,
        selection: Selection::NewestInstalled,
        start: "/w/p/sub",
    }
}

impl Case {
    fn run(&self, store: &mut Store) -> Result<Resolution, ResolveError> {
        let request = Request {
            go_version: self.go_version,
            gotoolchain: self.gotoolchain,
            gotoolchain_file: None,
            gowork: self.gowork,
            selection: self.selection,
            start: Path::new(self.start),
        };
        let mut read = |path: &Path| Ok(self.files.get(path).cloned());
        resolve(&request, &mut read, store)
    }

    fn version(&self, store: &mut Store) -> String {
        self.run(store).unwrap().version.to_string()
    }
}

const INSTALLED: &[&str] = &["1.21.13", "1.22.0", "1.22.10", "1.23.4"];

#[test]
fn default_when_nothing_else() {
    let mut s = store(Some("1.22.10"), INSTALLED);
    let resolution = case(&[]).run(&mut s).unwrap();
    assert_eq!(resolution.version, v("1.22.10"));
    assert_eq!(resolution.source, Source::Default);
    assert_eq!(
        s.listings, 0,
        "the store is not listed when the default is enough"
    );
    let error = case(&[]).run(&mut store(None, INSTALLED)).unwrap_err();
    assert!(matches!(error, ResolveError::NoDefault));
}

#[test]
fn env_beats_everything() {
    let mut c = case(&[("/w/p/.go-version", "1.21.13\n")]);
    c.go_version = Some("1.23.4");
    c.gotoolchain = Some("go1.22.0");
    let mut s = store(Some("1.22.10"), INSTALLED);
    let resolution = c.run(&mut s).unwrap();
    assert_eq!(resolution.version, v("1.23.4"));
    assert_eq!(
        resolution.source,
        Source::Env {
            var: "GOSHIFT_GO_VERSION"
        }
    );
    assert_eq!(s.default_reads, 0);
    c.go_version = Some("1.22");
    assert_eq!(c.version(&mut store(None, INSTALLED)), "1.22.10");
    c.go_version = Some("1.22.x");
    assert!(matches!(
        c.run(&mut store(None, INSTALLED)),
        Err(ResolveError::InvalidEnv { .. })
    ));
}

#[test]
fn gotoolchain_forms() {
    let files = [
        ("/w/p/go.mod", "module m\ngo 1.22.0\n"),
        ("/w/.go-version", "1.21.13\n"),
    ];
    let mut c = case(&files[..1]);
    c.gotoolchain = Some("go1.21.13");
    let resolution = c.run(&mut store(Some("1.23.4"), INSTALLED)).unwrap();
    assert_eq!(resolution.version, v("1.21.13"));
    assert_eq!(
        resolution.source,
        Source::GoToolchain {
            value: "go1.21.13".to_owned(),
            file: None,
        }
    );
    c.gotoolchain = Some("local");
    assert_eq!(c.version(&mut store(Some("1.21.13"), INSTALLED)), "1.21.13");
    // A floor that go.mod raises, and one that satisfies it.
    c.gotoolchain = Some("go1.21.13+auto");
    let resolution = c.run(&mut store(Some("1.23.4"), INSTALLED)).unwrap();
    assert_eq!(resolution.version, v("1.22.0"));
    c.gotoolchain = Some("go1.22.10+path");
    let resolution = c.run(&mut store(Some("1.21.13"), INSTALLED)).unwrap();
    assert_eq!(resolution.version, v("1.22.10"));
    assert!(matches!(
        resolution.source,
        Source::GoMod(Requirement {
            met_by: MetBy::GoToolchainFloor,
            ..
        })
    ));
    // A floor with no project file is the version.
    let mut bare = case(&[]);
    bare.gotoolchain = Some("go1.23.4+auto");
    assert_eq!(
        bare.version(&mut store(Some("1.21.13"), INSTALLED)),
        "1.23.4"
    );
    for nothing in ["auto", "path", "local+auto", ""] {
        bare.gotoolchain = Some(nothing);
        assert_eq!(
            bare.version(&mut store(Some("1.21.13"), INSTALLED)),
            "1.21.13"
        );
    }
    bare.gotoolchain = Some("go1.22+never");
    assert!(matches!(
        bare.run(&mut store(Some("1.21.13"), INSTALLED)),
        Err(ResolveError::GoToolchain(_))
    ));
    // The floor does not override a `.go-version` pin.
    let mut pinned = case(&files[1..]);
    pinned.gotoolchain = Some("go1.23.4+auto");
    assert_eq!(
        pinned.version(&mut store(Some("1.22.10"), INSTALLED)),
        "1.21.13"
    );
}

#[test]
fn nearest_go_version_wins_over_project_files() {
    let c = case(&[
        ("/w/.go-version", "1.21.13\n"),
        ("/w/p/go.mod", "module m\ngo 1.23.4\n"),
        ("/w/p/sub/.go-version", "# local pin\n1.22.0\n"),
    ]);
    let resolution = c.run(&mut store(Some("1.22.10"), INSTALLED)).unwrap();
    assert_eq!(resolution.version, v("1.22.0"));
    assert_eq!(
        resolution.source,
        Source::GoVersionFile {
            path: PathBuf::from("/w/p/sub/.go-version"),
            line: 2
        }
    );
    let above = case(&[
        ("/w/.go-version", "1.21.13\n"),
        ("/w/p/go.mod", "module m\ngo 1.23.4\n"),
    ]);
    assert_eq!(
        above.version(&mut store(Some("1.22.10"), INSTALLED)),
        "1.21.13"
    );
    let broken = case(&[("/w/p/.go-version", "1.21.x\n")]);
    match broken.run(&mut store(Some("1.22.10"), INSTALLED)) {
        Err(ResolveError::GoVersionFile(error)) => {
            assert_eq!(error.path, Path::new("/w/p/.go-version"));
            assert_eq!(error.line, 1);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn tool_versions_is_a_pin_as_asdf_and_mise_read_it() {
    // `.tool-versions` beats `.go-version` in the same directory and go.mod below it.
    let c = case(&[
        ("/w/p/.go-version", "1.21.13\n"),
        ("/w/p/.tool-versions", "nodejs 20.1.0\ngolang 1.22.0\n"),
        ("/w/p/sub/go.mod", "module m\ngo 1.23.4\n"),
    ]);
    let resolution = c.run(&mut store(Some("1.22.10"), INSTALLED)).unwrap();
    assert_eq!(resolution.version, v("1.22.0"));
    assert_eq!(
        resolution.source,
        Source::ToolVersions {
            path: PathBuf::from("/w/p/.tool-versions"),
            line: 2
        }
    );
    assert_eq!(
        resolution.source.describe(Path::new("/w/p")),
        "pinned in ./.tool-versions"
    );
    // The nearest pin wins, whichever file it is; a file without Go (or `system`) is no pin.
    let nearer = case(&[
        ("/w/.tool-versions", "go 1.23.4\n"),
        ("/w/p/.go-version", "1.21.13\n"),
        ("/w/p/sub/.tool-versions", "nodejs 20.1.0\n"),
    ]);
    assert_eq!(
        nearer.version(&mut store(Some("1.22.10"), INSTALLED)),
        "1.21.13"
    );
    let system = case(&[
        ("/w/p/.tool-versions", "golang system\n"),
        ("/w/p/go.mod", "module m\ngo 1.23\n"),
    ]);
    assert_eq!(
        system.version(&mut store(Some("1.22.10"), INSTALLED)),
        "1.23.4"
    );
}

#[test]
fn tool_versions_fuzzy_versions_and_fallbacks() {
    // mise's fuzzy versions and asdf's fallbacks.
    let fuzzy = case(&[("/w/p/.tool-versions", "go prefix:1.22\n")]);
    assert_eq!(
        fuzzy.version(&mut store(Some("1.21.13"), INSTALLED)),
        "1.22.10"
    );
    let fallback = case(&[("/w/p/.tool-versions", "golang 1.24.0 1.21 1.23.4\n")]);
    assert_eq!(
        fallback.version(&mut store(Some("1.22.10"), INSTALLED)),
        "1.21.13"
    );
    let missing = case(&[("/w/p/.tool-versions", "golang 1.24.0 1.25.1\n")]);
    assert_eq!(
        missing.version(&mut store(Some("1.22.10"), INSTALLED)),
        "1.24.0"
    );
    let broken = case(&[("/w/p/.tool-versions", "golang ref:master\n")]);
    match broken.run(&mut store(Some("1.22.10"), INSTALLED)) {
        Err(ResolveError::ToolVersions(error)) => {
            assert_eq!(error.path, Path::new("/w/p/.tool-versions"));
            assert_eq!(error.line, 1);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn go_mod_minimums() {
    // The default satisfies the go line.
    let c = case(&[("/w/p/go.mod", "module m\n\ngo 1.21\n")]);
    let resolution = c.run(&mut store(Some("1.22.10"), INSTALLED)).unwrap();
    assert_eq!(resolution.version, v("1.22.10"));
    assert_eq!(
        resolution.source,
        Source::GoMod(Requirement {
            path: PathBuf::from("/w/p/go.mod"),
            line: Some(3),
            directive: Directive::Go,
            minimum: v("1.21"),
            met_by: MetBy::Default,
            go_would_run: v("1.22.10"),
            malformed: None,
        })
    );
    assert_eq!(
        resolution.source.describe(Path::new("/w/p")),
        "go 1.21 line in ./go.mod, met by the default"
    );
    // `go 1.22` needs go1.22.0 (what Go switches to) when the default is older.
    let c = case(&[("/w/p/go.mod", "module m\ngo 1.22\n")]);
    assert_eq!(c.version(&mut store(Some("1.21.13"), INSTALLED)), "1.22.0");
    // Without go1.22.0, the newest installed release that satisfies it.
    assert_eq!(
        c.version(&mut store(
            Some("1.21.13"),
            &["1.21.13", "1.22.10", "1.23.4"]
        )),
        "1.23.4"
    );
    // A toolchain line newer than the default, installed exactly.
    let c = case(&[("/w/p/go.mod", "module m\ngo 1.21.0\ntoolchain go1.22.10\n")]);
    let resolution = c.run(&mut store(Some("1.21.13"), INSTALLED)).unwrap();
    assert_eq!(resolution.version, v("1.22.10"));
    assert_eq!(
        resolution.source.describe(Path::new("/w/p")),
        "toolchain line in ./go.mod"
    );
    // `toolchain default` leaves only the go line.
    let c = case(&[("/w/p/go.mod", "module m\ngo 1.21.0\ntoolchain default\n")]);
    assert_eq!(c.version(&mut store(Some("1.21.13"), INSTALLED)), "1.21.13");
    // A go line newer than the toolchain line wins.
    let c = case(&[("/w/p/go.mod", "module m\ngo 1.23.4\ntoolchain go1.22.0\n")]);
    assert_eq!(c.version(&mut store(Some("1.21.13"), INSTALLED)), "1.23.4");
    // A go.mod with no go line implies 1.16.
    let c = case(&[("/w/p/go.mod", "module m\n")]);
    assert_eq!(c.version(&mut store(Some("1.21.13"), INSTALLED)), "1.21.13");
}

#[test]
fn unsatisfied_names_the_install() {
    let c = case(&[("/w/p/go.mod", "module m\ngo 1.24\n")]);
    let error = c.run(&mut store(Some("1.22.10"), INSTALLED)).unwrap_err();
    assert_eq!(error.install_request().as_deref(), Some("1.24"));
    assert_eq!(
        error.to_string(),
        "the `go 1.24` line in `/w/p/go.mod` requires go >= 1.24, and no installed toolchain satisfies it"
    );
    let c = case(&[("/w/p/go.mod", "module m\ngo 1.22\ntoolchain go1.24.1\n")]);
    let error = c.run(&mut store(None, INSTALLED)).unwrap_err();
    assert_eq!(error.install_request().as_deref(), Some("1.24.1"));
}

#[test]
fn go_work_beats_a_nearer_go_mod() {
    let files = [
        ("/w/go.work", "go 1.23.4\n\nuse ./p\n"),
        ("/w/p/go.mod", "module m\ngo 1.21.0\n"),
    ];
    let c = case(&files);
    let resolution = c.run(&mut store(Some("1.21.13"), INSTALLED)).unwrap();
    assert_eq!(resolution.version, v("1.23.4"));
    assert!(matches!(resolution.source, Source::GoWork(_)));
    let mut off = case(&files);
    off.gowork = Some("off");
    assert_eq!(
        off.version(&mut store(Some("1.21.13"), INSTALLED)),
        "1.21.13"
    );
    let mut named = case(&[
        ("/elsewhere/ws.work", "go 1.22.10\n"),
        ("/w/p/go.mod", "module m\ngo 1.21.0\n"),
    ]);
    named.gowork = Some("/elsewhere/ws.work");
    assert_eq!(
        named.version(&mut store(Some("1.21.13"), INSTALLED)),
        "1.22.10"
    );
}

#[test]
fn nearest_go_mod_in_nested_modules() {
    let c = case(&[
        ("/w/p/go.mod", "module outer\ngo 1.23.4\n"),
        ("/w/p/sub/go.mod", "module inner\ngo 1.21.0\n"),
    ]);
    assert_eq!(c.version(&mut store(Some("1.21.13"), INSTALLED)), "1.21.13");
    let mut deeper = case(&[("/w/p/go.mod", "module outer\ngo 1.23.4\n")]);
    deeper.start = "/w/p/sub/a/b";
    assert_eq!(
        deeper.version(&mut store(Some("1.21.13"), INSTALLED)),
        "1.23.4"
    );
}

/// A go.mod that does not parse decides the toolchain the way Go's switch reads it (the first
/// `go` and `toolchain` lines), so the toolchain that runs reports the error itself.
#[test]
fn malformed_go_mod_is_read_as_go_reads_it_to_switch() {
    let cases = [
        ("module m\ngo 1.22.x\n", "1.21.13", 2),
        ("module m\ngo 1.22.0\ngo 1.23.4\n", "1.22.0", 3),
        ("\u{feff}module m\n\ngo 1.23.4 // comment\n", "1.23.4", 1),
        ("module m\ngo 1.21.0\nrequire (\n", "1.21.13", 3),
    ];
    for (text, version, line) in cases {
        let c = case(&[("/w/p/go.mod", text)]);
        let resolution = c.run(&mut store(Some("1.21.13"), INSTALLED)).unwrap();
        assert_eq!(resolution.version, v(version), "{text:?}");
        let Source::GoMod(requirement) = &resolution.source else {
            panic!("{text:?}: {resolution:?}");
        };
        let reason = requirement.malformed.as_deref().unwrap();
        assert!(
            reason.starts_with(&format!("`/w/p/go.mod` line {line}: ")),
            "{reason}"
        );
        assert!(
            resolution
                .source
                .describe(Path::new("/w/p"))
                .contains("the file does not parse"),
        );
    }
    // A toolchain line Go cannot read is refused, as Go refuses it.
    let c = case(&[(
        "/w/p/go.mod",
        "module m\ngo 1.21\ngo 1.22\ntoolchain bash\n",
    )]);
    assert!(matches!(
        c.run(&mut store(Some("1.21.13"), INSTALLED)),
        Err(ResolveError::InvalidToolchainLine { name, .. }) if name == "bash"
    ));
}

/// `toolchain default` never switches: the default (or the GOTOOLCHAIN minimum) runs even
/// when the go line asks for more, and that toolchain then says so, as in Go.
#[test]
fn toolchain_default_never_switches() {
    let mut c = case(&[("/w/p/go.mod", "module m\ngo 1.23.4\ntoolchain default\n")]);
    let resolution = c.run(&mut store(Some("1.21.13"), INSTALLED)).unwrap();
    assert_eq!(resolution.version, v("1.21.13"));
    assert_eq!(
        resolution.source.describe(Path::new("/w/p")),
        "toolchain default in ./go.mod: no switching"
    );
    c.gotoolchain = Some("go1.22.0+auto");
    assert_eq!(c.version(&mut store(Some("1.21.13"), INSTALLED)), "1.22.0");
}

/// What Go refuses to run: a language version as a toolchain (`go1.22`), named by
/// GOTOOLCHAIN or a toolchain line it would switch to, and a relative GOWORK.
#[test]
fn refuses_what_go_refuses() {
    let mut bare = case(&[]);
    for value in ["go1.22", "go1.22+auto"] {
        bare.gotoolchain = Some(value);
        let error = bare
            .run(&mut store(Some("1.21.13"), INSTALLED))
            .unwrap_err();
        assert!(
            matches!(&error, ResolveError::LanguageVersion { name, .. } if name == "go1.22"),
            "{value}: {error:?}"
        );
        assert!(
            error.to_string().starts_with(
                "invalid toolchain: go1.22 is a language version but not a toolchain version (go1.22.x)"
            ),
            "{error}"
        );
        assert_eq!(error.install_request(), None, "no install hint that loops");
    }
    // Before 1.21, `go1.20` is the release go1.20.0.
    bare.gotoolchain = Some("go1.20");
    assert_eq!(bare.version(&mut store(Some("1.21.13"), INSTALLED)), "1.20");
    let c = case(&[("/w/p/go.mod", "module m\ngo 1.21.0\ntoolchain go1.22\n")]);
    assert!(matches!(
        c.run(&mut store(Some("1.21.13"), INSTALLED)),
        Err(ResolveError::LanguageVersion { .. })
    ));
    // A default that is newer never switches to it, so Go never complains.
    assert_eq!(c.version(&mut store(Some("1.22.10"), INSTALLED)), "1.22.10");
    let mut relative = case(&[("/w/p/go.mod", "module m\ngo 1.21.0\n")]);
    relative.gowork = Some("ws/go.work");
    assert!(matches!(
        relative.run(&mut store(Some("1.21.13"), INSTALLED)),
        Err(ResolveError::RelativeGoWork { value }) if value == "ws/go.work"
    ));
    // A GOWORK naming a file that does not exist is ignored, as Go ignores it while
    // choosing a toolchain (`go work init` creates it).
    let mut missing = case(&[("/w/p/go.mod", "module m\ngo 1.22.10\n")]);
    missing.gowork = Some("/w/none.work");
    assert_eq!(
        missing.version(&mut store(Some("1.21.13"), INSTALLED)),
        "1.22.10"
    );
}

/// `go 1.22` makes Go run exactly go1.22.0. The default selection runs the newest installed
/// match instead and says so; `Selection::Exact` asks for go1.22.0.
#[test]
fn substitution_is_visible_and_switchable() {
    let mut c = case(&[("/w/p/go.mod", "module m\ngo 1.22\n")]);
    let only = ["1.21.13", "1.22.10"];
    let resolution = c.run(&mut store(Some("1.21.13"), &only)).unwrap();
    assert_eq!(resolution.version, v("1.22.10"));
    assert_eq!(
        resolution.source.describe(Path::new("/w/p")),
        "go 1.22 minimum in ./go.mod; Go would run go1.22.0, running the newest installed match"
    );
    c.selection = Selection::Exact;
    let error = c.run(&mut store(Some("1.21.13"), &only)).unwrap_err();
    assert_eq!(error.install_request().as_deref(), Some("1.22.0"));
    assert_eq!(c.version(&mut store(Some("1.21.13"), INSTALLED)), "1.22.0");
    let c = Case {
        selection: Selection::Exact,
        ..case(&[("/w/p/go.mod", "module m\ngo 1.21.14\n")])
    };
    let error = c.run(&mut store(Some("1.21.13"), &only)).unwrap_err();
    assert_eq!(error.install_request().as_deref(), Some("1.21.14"));
}

#[test]
fn pinned_line_needs_an_installed_release() {
    let c = case(&[("/w/p/.go-version", "1.22\n")]);
    assert_eq!(c.version(&mut store(None, INSTALLED)), "1.22.10");
    let error = c.run(&mut store(None, &["1.21.13"])).unwrap_err();
    assert_eq!(error.install_request().as_deref(), Some("1.22"));
}
