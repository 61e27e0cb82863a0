//! Completion scripts, queried for versions in real bash, zsh and fish: installed versions
//! after `use`, `uninstall`, `pin` and friends, the index's releases after `install`.

use std::ffi::OsString;
use std::path::Path;
use std::process::Command;

use crate::pty::{Session, Shell};
use crate::toolchain::StoreTest;

/// 1.21.13 and 1.22.10 installed; the index also has 1.23.4.
fn setup() -> StoreTest {
    let test = StoreTest::new(&["1.21.13", "1.22.10", "1.23.4"]);
    test.ok(&["install", "--no-smoke-test", "1.21.13", "1.22.10"]);
    test
}

fn env(test: &StoreTest) -> Vec<(&'static str, OsString)> {
    let path = crate::pty::shell_path(&[]);
    let root = test.context.root();
    vec![
        ("PATH", path),
        ("HOME", root.join("user").into()),
        ("ZDOTDIR", root.join("user").into()),
        ("GOSHIFT_HOME", test.home().into()),
        ("XDG_CONFIG_HOME", root.join("config").into()),
        ("GOSHIFT_INDEX_URL", test.mirror.url_of("index.json").into()),
        ("NO_COLOR", "1".into()),
    ]
}

fn shell_output(test: &StoreTest, program: &Path, args: &[&str], script: &str) -> String {
    let output = Command::new(program)
        .args(args)
        .arg(script)
        .env_clear()
        .envs(env(test))
        .current_dir(test.context.work())
        .output()
        .expect("test setup");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn bash_completes_versions() {
    let Some(bash) = Shell::Bash.find() else {
        return;
    };
    let test = setup();
    let query = |words: &str| {
        format!(
            "COMP_WORDS=({words}); COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 )); COMPREPLY=(); \
             _goshift goshift \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; \
             echo \"[{words}] ${{COMPREPLY[*]}}\";"
        )
    };
    let script = [
        "eval \"$(goshift init bash)\";".to_owned(),
        query("goshift use ''"),
        query("goshift use 1.21"),
        query("goshift --color never rm ''"),
        query("goshift pin ''"),
        query("goshift each 1.21.13 ''"),
        query("goshift install ''"),
        query("goshift ins"),
    ]
    .concat();
    let out = shell_output(
        &test,
        &bash,
        &["--norc", "--noprofile", "-i", "-c"],
        &script,
    );
    let line = |words: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(&format!("[{words}] ")))
            .unwrap_or_else(|| panic!("no answer for `{words}`:\n{out}"))
            .to_owned()
    };
    assert_eq!(line("goshift use ''"), "1.22.10 1.21.13");
    assert_eq!(line("goshift use 1.21"), "1.21.13");
    assert_eq!(line("goshift --color never rm ''"), "1.22.10 1.21.13");
    assert_eq!(line("goshift pin ''"), "1.22.10 1.21.13");
    assert_eq!(line("goshift each 1.21.13 ''"), "1.22.10 1.21.13");
    assert_eq!(line("goshift install ''"), "latest 1.23.4 1.22.10 1.21.13");
    // Everything else is clap's.
    assert!(line("goshift ins").contains("install"), "{out}");
}

#[test]
fn fish_completes_versions() {
    let Some(fish) = Shell::Fish.find() else {
        return;
    };
    let test = setup();
    let script = "goshift init fish | source; \
        echo '[use]'; complete -C 'goshift use '; \
        echo '[rm]'; complete -C 'goshift rm 1.2'; \
        echo '[install]'; complete -C 'goshift install '";
    let out = shell_output(&test, &fish, &["--no-config", "-c"], script);
    let section = |name: &str| -> Vec<String> {
        out.split(&format!("[{name}]\n"))
            .nth(1)
            .unwrap_or_else(|| panic!("{out}"))
            .lines()
            .take_while(|l| !l.starts_with('['))
            .map(|l| l.split('\t').next().unwrap_or(l).to_owned())
            .collect()
    };
    // fish sorts the candidates itself.
    assert_eq!(section("use"), ["1.21.13", "1.22.10"], "{out}");
    assert_eq!(section("rm"), ["1.21.13", "1.22.10"], "{out}");
    let mut install = section("install");
    install.sort();
    assert_eq!(install, ["1.21.13", "1.22.10", "1.23.4", "latest"], "{out}");
}

/// zsh lists the versions after `goshift use <TAB><TAB>`, whether `goshift init` runs
/// before or after `compinit`.
#[test]
fn zsh_completes_versions_with_init_before_or_after_compinit() {
    let Some(zsh) = Shell::Zsh.find() else {
        return;
    };
    let test = setup();
    let compinit = "autoload -Uz compinit && compinit -u";
    let init = "eval \"$(goshift init zsh)\"";
    for order in [[compinit, init], [init, compinit]] {
        let mut session = Session::start(Shell::Zsh, &zsh, &test.context.work(), &env(&test));
        for line in order {
            session.run(line);
        }
        for (typed, expected) in [
            ("goshift use ", "1.21.13"),
            ("goshift install 1.23", "1.23.4"),
        ] {
            let start = session.position();
            session.type_keys(&format!("{typed}\t\t"));
            session.expect(expected, start);
            // Abandon the line and wait for a fresh prompt.
            session.type_keys("\x03");
            session.run("true");
        }
        assert!(
            session.transcript().contains("1.22.10"),
            "{order:?}:\n{}",
            session.transcript()
        );
    }
}
