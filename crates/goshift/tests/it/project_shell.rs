//! `goshift init` in real bash, zsh and fish: after `cd`, `go` resolves per directory.
//!
//! A shell that is not installed skips its test with a `SKIPPED:` line, and fails it when
//! `CI` is set (CI installs all three: `apt-get install bash zsh fish`).

use std::path::Path;
use std::process::Command;

use goshift_testkit::TestContext;

use crate::pty::Shell;

fn setup() -> TestContext {
    let context = TestContext::new(env!("CARGO_BIN_EXE_goshift"));
    for version in ["1.21.13", "1.22.10"] {
        context.fake_toolchain(version);
    }
    context.set_default_toolchain("1.22.10");
    context.link_proxies(&[]);
    let work = context.work();
    std::fs::create_dir_all(work.join("old")).expect("test setup");
    std::fs::write(work.join("old/.go-version"), "1.21.13\n").expect("test setup");
    std::fs::create_dir_all(work.join("new/cmd")).expect("test setup");
    std::fs::write(work.join("new/go.mod"), "module n\ngo 1.22.5\n").expect("test setup");
    context
}

/// Runs `script` in `shell` with a PATH that does not yet contain the proxies, the
/// sandbox's home, and goshift's directory on PATH for `goshift init` itself.
fn run_shell(context: &TestContext, shell: &Path, args: &[&str], script: &str) -> String {
    let path = crate::pty::shell_path(&[]);
    let output = Command::new(shell)
        .args(args)
        .arg(script)
        .env_clear()
        .env("PATH", path)
        .env("HOME", context.root().join("user"))
        .env("GOSHIFT_HOME", context.home())
        .env("XDG_CONFIG_HOME", context.root().join("config"))
        .env("ZDOTDIR", context.root().join("user"))
        .current_dir(context.work())
        .output()
        .expect("test setup");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{}: {stderr}", shell.display());
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn versions(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter_map(|line| line.strip_prefix("fake "))
        .map(|line| {
            line.split_whitespace()
                .next()
                .expect("test setup")
                .to_owned()
        })
        .collect()
}

const POSIX_SCRIPT: &str =
    "go version; cd old && go version; cd ../new/cmd && go version; cd / && go version";

#[test]
fn bash_resolves_per_directory_after_cd() {
    let Some(bash) = Shell::Bash.find() else {
        return;
    };
    let context = setup();
    let script = format!("eval \"$(goshift init bash)\"; {POSIX_SCRIPT}");
    let out = run_shell(&context, &bash, &["--norc", "--noprofile", "-c"], &script);
    assert_eq!(
        versions(&out),
        ["go1.22.10", "go1.21.13", "go1.22.10", "go1.22.10"],
        "{out}"
    );
    // An interactive shell loads completions without errors too.
    let script = "eval \"$(goshift init bash)\"; complete -p goshift";
    let out = run_shell(
        &context,
        &bash,
        &["--norc", "--noprofile", "-i", "-c"],
        script,
    );
    assert!(out.contains("goshift"), "{out}");
}

#[test]
fn zsh_resolves_per_directory_after_cd() {
    let Some(zsh) = Shell::Zsh.find() else {
        return;
    };
    let context = setup();
    let script = format!(
        "autoload -Uz compinit && compinit -u; eval \"$(goshift init zsh)\"; {POSIX_SCRIPT}"
    );
    let out = run_shell(&context, &zsh, &["-f", "-c"], &script);
    assert_eq!(
        versions(&out),
        ["go1.22.10", "go1.21.13", "go1.22.10", "go1.22.10"],
        "{out}"
    );
}

#[test]
fn fish_resolves_per_directory_after_cd() {
    let Some(fish) = Shell::Fish.find() else {
        return;
    };
    let context = setup();
    let script = "goshift init fish | source; go version; cd old; and go version; cd ../new/cmd; and go version; cd /; and go version; complete -C 'goshift ini'";
    let out = run_shell(&context, &fish, &["--no-config", "-c"], script);
    assert_eq!(
        versions(&out),
        ["go1.22.10", "go1.21.13", "go1.22.10", "go1.22.10"],
        "{out}"
    );
    assert!(out.contains("init"), "completions are loaded: {out}");
}

/// `eval "$(goshift env)"` sets up what `goshift init` does, minus the interactive parts: `go`
/// resolves per directory, `GOROOT` stays unset, and `doctor` agrees with the setup.
#[test]
fn env_sets_up_the_proxies_and_doctor_agrees() {
    let Some(bash) = Shell::Bash.find() else {
        return;
    };
    let context = setup();
    let output = context.run(["env"]);
    assert!(output.status.success());
    assert_eq!(
        context.filter(&String::from_utf8_lossy(&output.stdout)),
        "case \":${PATH}:\" in *:'[ROOT]/home/bin':*) ;; *) export PATH='[ROOT]/home/bin'\":${PATH}\" ;; esac\n"
    );
    let script = format!(
        "eval \"$(goshift env)\"; eval \"$(goshift env)\"; echo \"PATH=$PATH\"; echo \"GOROOT=${{GOROOT-unset}}\"; {POSIX_SCRIPT}; goshift doctor || true"
    );
    let out = context.filter(&run_shell(
        &context,
        &bash,
        &["--norc", "--noprofile", "-c"],
        &script,
    ));
    assert_eq!(
        versions(&out),
        ["go1.22.10", "go1.21.13", "go1.22.10", "go1.22.10"],
        "{out}"
    );
    assert!(out.contains("GOROOT=unset\n"), "{out}");
    let path = out
        .lines()
        .find_map(|line| line.strip_prefix("PATH="))
        .expect("the script prints PATH");
    assert!(path.starts_with("[ROOT]/home/bin:"), "{out}");
    assert_eq!(
        path.matches("[ROOT]/home/bin").count(),
        1,
        "added once: {out}"
    );
    assert!(
        out.contains("ok       environment    goroot: GOROOT is not set in the environment"),
        "{out}"
    );
    assert!(
        out.contains("ok       environment    path: `[ROOT]/home/bin` comes first"),
        "{out}"
    );
}
