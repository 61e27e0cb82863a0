//! The shell set up by `goshift init`, typed into interactive bash, zsh and fish on a
//! terminal: once goshift creates its `go`, the shell runs it, even when it had remembered
//! another `go` before.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use goshift_testkit::TestContext;
use goshift_testkit::archive::fake_go;

use crate::pty::{Session, Shell};
use crate::toolchain::unpack_fake;

/// A sandbox with a distribution's Go 1.19.8 on PATH (as Debian's `/usr/bin/go`) and a Go
/// tree to import; goshift has no toolchain and no proxies yet.
pub(crate) struct ShellTest {
    pub(crate) context: TestContext,
    pub(crate) distro: PathBuf,
    system_bin: PathBuf,
}

impl ShellTest {
    pub(crate) fn new() -> Self {
        let context = TestContext::new(env!("CARGO_BIN_EXE_goshift"));
        let system_bin = context.root().join("usr/bin");
        unpack_fake(&fake_go("1.19.8"), &context.root().join("usr/lib/go"));
        std::fs::create_dir_all(&system_bin).expect("test setup");
        std::os::unix::fs::symlink(
            context.root().join("usr/lib/go/bin/go"),
            system_bin.join("go"),
        )
        .expect("test setup");
        let distro = context.root().join("download/go");
        unpack_fake(&fake_go("1.22.10"), &distro);
        Self {
            context,
            distro,
            system_bin,
        }
    }

    /// The environment of a login: goshift's own directory and the system's `go` on PATH.
    pub(crate) fn env(&self) -> Vec<(&'static str, OsString)> {
        let path = crate::pty::shell_path(std::slice::from_ref(&self.system_bin));
        let root = self.context.root();
        vec![
            ("PATH", path),
            ("HOME", root.join("user").into()),
            ("GOSHIFT_HOME", self.context.home().into()),
            ("XDG_CONFIG_HOME", root.join("config").into()),
            ("XDG_CACHE_HOME", root.join("cache").into()),
            ("ZDOTDIR", root.join("user").into()),
            ("NO_COLOR", "1".into()),
            ("GOSHIFT_LOCK_TIMEOUT", "30s".into()),
        ]
    }

    pub(crate) fn start(&self, shell: Shell, program: &Path) -> Session {
        Session::start(shell, program, &self.context.work(), &self.env())
    }

    /// `goshift import` of the 1.22.10 tree, which creates the proxies.
    pub(crate) fn import(&self) -> String {
        format!(
            "import --no-smoke-test --quiet '{}' >/dev/null",
            self.distro.display()
        )
    }
}

/// The versions `go version` printed, in order.
fn go_versions(text: &str) -> Vec<&str> {
    text.split("go version ")
        .skip(1)
        .filter_map(|rest| rest.split_whitespace().next())
        .filter(|word| word.starts_with("go1."))
        .collect()
}

fn init_line(shell: Shell) -> String {
    match shell {
        Shell::Fish => "goshift init fish | source".to_owned(),
        Shell::Bash | Shell::Zsh => format!("eval \"$(goshift init {})\"", shell.name()),
    }
}

/// The system's `go` runs first, then goshift installs and the next `go` is goshift's: in
/// the same command line (through goshift's shell function) and at the next prompt after a
/// change made by another process.
fn goshift_go_wins_after_install(shell: Shell) {
    let Some(program) = shell.find() else { return };
    let test = ShellTest::new();
    let mut session = test.start(shell, &program);
    session.run(&init_line(shell));
    let before = session.run("go version");
    assert_eq!(
        go_versions(&before),
        ["go1.19.8"],
        "{}",
        session.transcript()
    );
    let same_line = session.run(&format!("goshift {}; go version", test.import()));
    assert_eq!(
        go_versions(&same_line),
        ["go1.22.10"],
        "{}",
        session.transcript()
    );
    drop(session);

    // Another shell remembered the system's `go` when a second process installed.
    let test = ShellTest::new();
    let mut session = test.start(shell, &program);
    session.run(&init_line(shell));
    session.run("go version");
    let exe = env!("CARGO_BIN_EXE_goshift");
    session.run(&format!("'{exe}' {}", test.import()));
    let next = session.run("go version");
    assert_eq!(
        go_versions(&next),
        ["go1.22.10"],
        "{}",
        session.transcript()
    );
}

#[test]
fn bash_runs_goshifts_go_after_an_install() {
    goshift_go_wins_after_install(Shell::Bash);
}

#[test]
fn zsh_runs_goshifts_go_after_an_install() {
    goshift_go_wins_after_install(Shell::Zsh);
}

#[test]
fn fish_runs_goshifts_go_after_an_install() {
    goshift_go_wins_after_install(Shell::Fish);
}

/// `doctor` in a shell set up by hand (no hook) that remembered the system's `go` before
/// goshift created its own: it says so and how to fix it. Run through the hook, it is fine.
fn doctor_finds_a_remembered_go(shell: Shell) {
    let Some(program) = shell.find() else { return };
    let test = ShellTest::new();
    let mut session = test.start(shell, &program);
    let bin = test.context.home().join("bin");
    session.run(&format!("export PATH='{}':\"$PATH\"", bin.display()));
    assert_eq!(go_versions(&session.run("go version")), ["go1.19.8"]);
    session.run(&format!("goshift {}", test.import()));
    let doctor = session.run("goshift doctor");
    let rehash = if shell == Shell::Zsh {
        "rehash"
    } else {
        "hash -r"
    };
    assert!(
        doctor.contains(&format!(
            "warning  environment    shell: this {} started before goshift created `{}/go`, so it may still run `{}/usr/bin/go`",
            shell.name(),
            bin.display(),
            test.context.root().display()
        )) && doctor.contains(&format!("fix: run `{rehash}` in this shell")),
        "{}",
        session.transcript()
    );
    // It was right: the shell still runs the system's `go` until told to forget.
    assert_eq!(go_versions(&session.run("go version")), ["go1.19.8"]);
    session.run(rehash);
    assert_eq!(go_versions(&session.run("go version")), ["go1.22.10"]);

    session.run(&init_line(shell));
    let doctor = session.run("goshift doctor");
    assert!(
        doctor.contains(&format!(
            "ok       environment    shell: the {} hook of `goshift init` makes the shell run goshift's `go`",
            shell.name()
        )),
        "{}",
        session.transcript()
    );
}

#[test]
fn bash_doctor_finds_a_remembered_go() {
    doctor_finds_a_remembered_go(Shell::Bash);
}

#[test]
fn zsh_doctor_finds_a_remembered_go() {
    doctor_finds_a_remembered_go(Shell::Zsh);
}
