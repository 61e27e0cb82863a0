//! Go's toolchain selection rules through the `go` proxy and `goshift current`, with fake
//! toolchains: `toolchain default`, Go's env file, `go -C`, malformed go.mod files, what Go
//! refuses, and the visible, switchable substitution of a newer installed release.

use std::process::Output;

use crate::project::{go, stderr, stdout, store, write};

/// The version a fake toolchain reports it is (`fake go1.22.10 version | …`).
fn ran(output: &Output) -> String {
    assert!(output.status.success(), "{}", stderr(output));
    let text = stdout(output);
    text.strip_prefix("fake go")
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("not a fake toolchain's output: {text}"))
        .to_owned()
}

#[test]
fn toolchain_default_never_switches() {
    let context = store();
    let work = context.work();
    write(
        &work.join("go.mod"),
        "module m\n\ngo 1.23.4\n\ntoolchain default\n",
    );
    assert_eq!(
        ran(&go(&context, &work, &["version"]).output().unwrap()),
        "1.22.10"
    );
    let output = go(&context, &work, &["version"])
        .env("GOTOOLCHAIN", "go1.21.13+auto")
        .output()
        .unwrap();
    assert_eq!(ran(&output), "1.21.13");
    let output = context.run(["current"]);
    assert_eq!(
        stdout(&output),
        "go1.22.10 (toolchain default in ./go.mod: no switching)\n"
    );
}

#[test]
fn gotoolchain_from_go_env_file() {
    let context = store();
    let work = context.work();
    // Where `go env -w` writes: $XDG_CONFIG_HOME/go/env in the sandbox.
    let file = context.root().join("config/go/env");
    write(&file, "GOTOOLCHAIN=go1.21.13\n");
    assert_eq!(
        ran(&go(&context, &work, &["version"]).output().unwrap()),
        "1.21.13"
    );
    let output = context.run(["current"]);
    assert_eq!(
        context.filter(&stdout(&output)),
        "go1.21.13 (set by GOTOOLCHAIN=go1.21.13 in [ROOT]/config/go/env)\n"
    );
    // The environment wins over the file, and GOENV=off ignores the file.
    let output = go(&context, &work, &["version"])
        .env("GOTOOLCHAIN", "go1.23.4")
        .output()
        .unwrap();
    assert_eq!(ran(&output), "1.23.4");
    let output = go(&context, &work, &["version"])
        .env("GOENV", "off")
        .output()
        .unwrap();
    assert_eq!(ran(&output), "1.22.10");
    // GOENV names another file.
    let other = context.root().join("other.env");
    write(&other, "GOTOOLCHAIN=go1.23.4+auto\n");
    let output = go(&context, &work, &["version"])
        .env("GOENV", &other)
        .output()
        .unwrap();
    assert_eq!(ran(&output), "1.23.4");
}

#[test]
fn go_dash_c_resolves_for_that_directory() {
    let context = store();
    let work = context.work();
    write(&work.join("new/go.mod"), "module n\n\ngo 1.23.4\n");
    for args in [
        &["-C", "new", "version"][..],
        &["-C=new", "version"],
        &["--C", "new", "version"],
    ] {
        let output = go(&context, &work, args).output().unwrap();
        assert_eq!(ran(&output), "1.23.4", "{args:?}");
        assert!(
            stdout(&output).contains(&args.join(" ")),
            "arguments pass through"
        );
    }
    // Only as the first flag, as in Go.
    let output = go(&context, &work, &["version", "-C", "new"])
        .output()
        .unwrap();
    assert_eq!(ran(&output), "1.22.10");
}

#[test]
fn malformed_go_mod_runs_what_go_would_and_says_so() {
    let context = store();
    let work = context.work();
    write(&work.join("go.mod"), "module m\n\ngo 1.23.4\ngo 1.21\n");
    let output = go(&context, &work, &["version"]).output().unwrap();
    assert_eq!(
        ran(&output),
        "1.23.4",
        "the first go line, as Go's switch reads it"
    );
    let message = context.filter(&stderr(&output));
    assert!(
        message.starts_with(
            "warning: `[ROOT]/cwd/go.mod` line 4: repeated `go` directive; running go1.23.4"
        ),
        "{message}"
    );
    write(&work.join("go.mod"), "module m\n\ngo 1.22.x\n");
    let output = go(&context, &work, &["version"]).output().unwrap();
    assert_eq!(
        ran(&output),
        "1.22.10",
        "an unreadable go line leaves the default"
    );
    write(&work.join("go.mod"), "\u{feff}module m\n\ngo 1.21.13\n");
    let output = go(&context, &work, &["version"]).output().unwrap();
    assert_eq!(ran(&output), "1.22.10");
    assert!(
        stderr(&output).contains("which reports the error"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn refuses_what_go_refuses() {
    let context = store();
    let work = context.work();
    let output = go(&context, &work, &["version"])
        .env("GOTOOLCHAIN", "go1.22")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(stdout(&output), "");
    let message = stderr(&output);
    assert!(
        message.starts_with(
            "error: invalid toolchain: go1.22 is a language version but not a toolchain version (go1.22.x)"
        ),
        "{message}"
    );
    assert!(
        message.contains("hint: name a release of that line, such as the installed `go1.22.10`"),
        "the hint names the installed release, not an install that changes nothing: {message}"
    );
    assert!(!message.contains("goshift install"), "{message}");
    let output = go(&context, &work, &["version"])
        .env("GOTOOLCHAIN", "go1.22.10 ")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output)
            .contains("invalid GOTOOLCHAIN `go1.22.10 `: a toolchain name has no blanks"),
        "{}",
        stderr(&output)
    );
    write(
        &work.join("go.mod"),
        "module m\n\ngo 1.21\n\ntoolchain go1.23\n",
    );
    let output = go(&context, &work, &["version"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("go1.23 is a language version but not a toolchain version"),
        "{}",
        stderr(&output)
    );
    std::fs::remove_file(work.join("go.mod")).unwrap();
    let output = go(&context, &work, &["version"])
        .env("GOWORK", "ws/go.work")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).starts_with("error: invalid GOWORK `ws/go.work`: not an absolute path"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn substitution_is_visible_and_switchable() {
    let context = store();
    let work = context.work();
    context.set_default_toolchain("1.21.13");
    write(&work.join("go.mod"), "module m\n\ngo 1.22\n");
    assert_eq!(
        ran(&go(&context, &work, &["version"]).output().unwrap()),
        "1.23.4"
    );
    let output = context.run(["current"]);
    assert_eq!(
        stdout(&output),
        "go1.23.4 (go 1.22 minimum in ./go.mod; Go would run go1.22.0, running the newest installed match)\n"
    );
    let output = context.run(["config", "set", "toolchain_selection", "exact"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let output = go(&context, &work, &["version"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(stdout(&output), "", "nothing runs");
    assert!(
        stderr(&output).contains("run `goshift install 1.22.0`"),
        "{}",
        stderr(&output)
    );
    let output = context.run(["current"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("goshift install 1.22.0"),
        "{}",
        stderr(&output)
    );
    // An exact match is installed: both selections run it.
    write(&work.join("go.mod"), "module m\n\ngo 1.23.4\n");
    assert_eq!(
        ran(&go(&context, &work, &["version"]).output().unwrap()),
        "1.23.4"
    );
    let output = context.run(["config", "set", "toolchain_selection", "fastest"]);
    assert_eq!(output.status.code(), Some(2));
}
