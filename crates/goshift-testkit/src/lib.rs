//! Test support for goshift's crates and binary.
//!
//! [`TestContext`] runs the real `goshift` executable in a sandbox: a temporary home, config
//! and working directory, and an environment scrubbed of the caller's goshift and Go
//! variables, so tests never touch the developer's machine.
#![warn(missing_docs)]

pub mod archive;
pub mod etcd;
mod fake_toolchain;
pub mod gobinary;
pub mod mirror;
pub mod service;
pub mod vulndb;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A sandbox for running `goshift`.
#[derive(Debug)]
pub struct TestContext {
    root: tempfile::TempDir,
    binary: PathBuf,
}

impl TestContext {
    /// A fresh sandbox that runs `binary` (pass `env!("CARGO_BIN_EXE_goshift")`).
    pub fn new(binary: impl Into<PathBuf>) -> Self {
        let root = tempfile::tempdir().expect("failed to create a temporary directory");
        for dir in ["home", "config", "cwd", "user"] {
            std::fs::create_dir_all(root.path().join(dir))
                .expect("failed to create a sandbox directory");
        }
        Self {
            root,
            binary: binary.into(),
        }
    }

    /// The sandbox root.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// `GOSHIFT_HOME` in the sandbox.
    pub fn home(&self) -> PathBuf {
        self.root.path().join("home")
    }

    /// The working directory commands run in.
    pub fn work(&self) -> PathBuf {
        self.root.path().join("cwd")
    }

    /// A `goshift` command with a scrubbed environment pointing into the sandbox.
    pub fn command(&self) -> Command {
        let mut command = Command::new(&self.binary);
        command.env_clear();
        command.env("PATH", std::env::var_os("PATH").unwrap_or_default());
        command.env("HOME", self.root.path().join("user"));
        command.env("GOSHIFT_HOME", self.home());
        command.env("XDG_CONFIG_HOME", self.root.path().join("config"));
        command.env("NO_COLOR", "1");
        command.env("GOSHIFT_LOCK_TIMEOUT", "30s");
        command.current_dir(self.work());
        command
    }

    /// Runs `goshift ARGS…` and captures its output.
    pub fn run<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.command()
            .args(args)
            .output()
            .expect("failed to run goshift")
    }

    /// Replaces sandbox paths in `text` with `[ROOT]`, so output can be compared exactly.
    pub fn filter(&self, text: &str) -> String {
        text.replace(&self.root.path().display().to_string(), "[ROOT]")
    }
}
