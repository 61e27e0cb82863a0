//! The smoke test: does a toolchain actually work, offline, before it is published?
//!
//! Three checks, each with a timeout: `go version` names the expected version, `go env
//! GOROOT` is the toolchain's own directory, and a hello-world module builds with
//! `go build -o` and its output runs and prints the expected line. Go runs with a scrubbed
//! environment: `GOTOOLCHAIN=local` (never switch or download), `GOPROXY=off`,
//! `GOFLAGS=-mod=mod`, `CGO_ENABLED=0`, and `HOME`, `GOCACHE`, `GOPATH`, `GOTMPDIR` inside the scratch
//! directory, so the test neither reads nor pollutes the user's setup.

use std::ffi::OsString;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use goshift_fs::fs;
use goshift_version::GoVersion;

/// What to test and how.
#[derive(Debug, Clone)]
pub struct SmokeTest<'a> {
    /// The toolchain's GOROOT.
    pub goroot: &'a Path,
    /// The version it must report.
    pub expected: &'a GoVersion,
    /// An empty directory to work in (created if missing).
    pub scratch: &'a Path,
    /// `PATH` for the Go commands.
    pub path: OsString,
    /// The limit for each command.
    pub timeout: Duration,
}

/// What a passing smoke test saw.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SmokeReport {
    /// The output of `go version`.
    pub go_version: String,
    /// The output of `go env GOROOT`.
    pub goroot: PathBuf,
    /// What the hello-world program printed.
    pub hello: String,
}

/// Why a smoke test failed.
#[derive(Debug, thiserror::Error)]
pub enum SmokeError {
    /// A command could not be started.
    #[error("failed to start `{command}`")]
    Spawn {
        /// The command line.
        command: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A command exited unsuccessfully.
    #[error("`{command}` failed with {status}: {output}")]
    Failed {
        /// The command line.
        command: String,
        /// Its exit status.
        status: String,
        /// Its stdout and stderr.
        output: String,
    },
    /// A command ran past the timeout and was killed.
    #[error("`{command}` did not finish within {}s and was stopped", timeout.as_secs())]
    Timeout {
        /// The command line.
        command: String,
        /// The limit.
        timeout: Duration,
    },
    /// `go version` named another version.
    #[error("`go version` printed `{actual}`, expected go{expected}")]
    WrongVersion {
        /// The version being installed.
        expected: GoVersion,
        /// What `go version` printed.
        actual: String,
    },
    /// `go env GOROOT` named another directory.
    #[error("`go env GOROOT` printed `{actual}`, expected `{}`", expected.display())]
    WrongGoroot {
        /// The toolchain's directory.
        expected: PathBuf,
        /// What Go printed.
        actual: String,
    },
    /// The hello-world program printed something else.
    #[error("the hello-world program printed `{actual}`, expected `{expected}`")]
    WrongOutput {
        /// The expected line.
        expected: String,
        /// What it printed.
        actual: String,
    },
    /// The scratch files could not be written.
    #[error("failed to prepare the smoke test in `{}`", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

impl SmokeTest<'_> {
    /// Runs the three checks.
    pub fn run(&self) -> Result<SmokeReport, SmokeError> {
        let io_error = |path: &Path| {
            let path = path.to_owned();
            move |source| SmokeError::Io { path, source }
        };
        let home = self.scratch.join("home");
        let module = self.scratch.join("hello");
        let temp = self.scratch.join("tmp");
        for dir in [&home, &module, &temp] {
            fs::create_dir_all(dir).map_err(io_error(dir))?;
        }
        let go = self.goroot.join("bin").join("go");

        let output = self.run_go(&go, &["version"], self.scratch)?;
        let reported = output.split_whitespace().nth(2).unwrap_or_default();
        if reported != self.expected.toolchain_name() {
            return Err(SmokeError::WrongVersion {
                expected: self.expected.clone(),
                actual: output,
            });
        }
        let go_version = output;

        let goroot = self.run_go(&go, &["env", "GOROOT"], self.scratch)?;
        let same = match (
            fs::canonicalize(&goroot).ok(),
            fs::canonicalize(self.goroot).ok(),
        ) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        };
        if !same {
            return Err(SmokeError::WrongGoroot {
                expected: self.goroot.to_owned(),
                actual: goroot,
            });
        }

        let expected_line = format!("hello from {}", self.expected.toolchain_name());
        let go_mod = format!(
            "module goshift.invalid/hello\n\ngo {}.{}\n",
            self.expected.major(),
            self.expected.minor()
        );
        let main_go = format!(
            "package main\n\nimport \"fmt\"\n\nfunc main() {{\n\tfmt.Println(\"{expected_line}\")\n}}\n"
        );
        for (name, text) in [("go.mod", go_mod), ("main.go", main_go)] {
            let path = module.join(name);
            fs::write(&path, text).map_err(io_error(&path))?;
        }
        let program = self.scratch.join("hello-bin");
        let program_arg = program.to_string_lossy().into_owned();
        self.run_go(&go, &["build", "-o", &program_arg, "."], &module)?;
        let mut command = Command::new(&program);
        command.env_clear().current_dir(self.scratch);
        let hello = run_with_timeout(command, &program_arg, self.timeout)?;
        if hello != expected_line {
            return Err(SmokeError::WrongOutput {
                expected: expected_line,
                actual: hello,
            });
        }
        Ok(SmokeReport {
            go_version,
            goroot: PathBuf::from(goroot),
            hello,
        })
    }

    fn run_go(&self, go: &Path, args: &[&str], dir: &Path) -> Result<String, SmokeError> {
        let mut command = Command::new(go);
        command
            .args(args)
            .current_dir(dir)
            .env_clear()
            .env("PATH", &self.path)
            .env("HOME", self.scratch.join("home"))
            .env("GOCACHE", self.scratch.join("cache"))
            .env("GOPATH", self.scratch.join("gopath"))
            .env("GOTMPDIR", self.scratch.join("tmp"))
            .env("TMPDIR", self.scratch.join("tmp"))
            .env("GOTOOLCHAIN", "local")
            .env("GOPROXY", "off")
            .env("GOFLAGS", "-mod=mod")
            .env("GOENV", "off")
            .env("GOWORK", "off")
            .env("GOTELEMETRY", "off")
            .env("CGO_ENABLED", "0");
        let line = format!("go {}", args.join(" "));
        run_with_timeout(command, &line, self.timeout)
    }
}

/// Runs `command`, returning its trimmed stdout; kills it after `timeout`.
fn run_with_timeout(
    mut command: Command,
    line: &str,
    timeout: Duration,
) -> Result<String, SmokeError> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    crate::sys::die_with_parent(&mut command);
    let mut child = command.spawn().map_err(|source| SmokeError::Spawn {
        command: line.to_owned(),
        source,
    })?;
    let readers = [
        child.stdout.take().map(|s| drain(Box::new(s))),
        child.stderr.take().map(|s| drain(Box::new(s))),
    ];
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(SmokeError::Timeout {
                    command: line.to_owned(),
                    timeout,
                });
            }
            // Polling a child's exit needs no extra thread or signal handler; the command
            // runs for seconds, so 10 ms of latency is noise.
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(source) => {
                return Err(SmokeError::Spawn {
                    command: line.to_owned(),
                    source,
                });
            }
        }
    };
    let [stdout, stderr] = readers.map(|r| r.and_then(|h| h.join().ok()).unwrap_or_default());
    if !status.success() {
        let mut output = stdout.trim().to_owned();
        if !stderr.trim().is_empty() {
            if !output.is_empty() {
                output.push('\n');
            }
            output.push_str(stderr.trim());
        }
        return Err(SmokeError::Failed {
            command: line.to_owned(),
            status: status.to_string(),
            output,
        });
    }
    Ok(stdout.trim().to_owned())
}

fn drain(mut stream: Box<dyn Read + Send>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stream.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}
