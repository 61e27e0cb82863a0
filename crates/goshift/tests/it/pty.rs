//! Real interactive shells inside a pseudo-terminal, driven line by line.
//!
//! A shell started with `-i` on a terminal runs its prompt hooks and keeps its table of
//! remembered commands between lines, as a user's shell does; a shell reading a script from
//! `-c` does neither. [`Session`] starts one, waits for the prompt before typing each line,
//! and returns everything the terminal showed.

use std::ffi::OsString;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

/// What each shell prints as its prompt in a session; typed lines never contain it.
pub(crate) const PROMPT: &str = "@@ready@@";

/// What each typed line prints when it is done.
const DONE: &str = "@@done@@";

/// How long a whole session may take before it is abandoned as hung.
const SESSION_LIMIT: Duration = Duration::from_mins(1);

/// A shell the tests drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shell {
    Bash,
    Zsh,
    Fish,
}

impl Shell {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Bash => "bash",
            Self::Zsh => "zsh",
            Self::Fish => "fish",
        }
    }

    /// The shell's executable, or `None` after saying loudly that it is missing. With `CI`
    /// set, a missing shell fails the test instead.
    pub(crate) fn find(self) -> Option<PathBuf> {
        let name = self.name();
        let found = std::env::var_os("PATH").and_then(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join(name))
                .find(|candidate| candidate.is_file())
        });
        if found.is_none() {
            let message = format!(
                "{name} is not installed, so this test cannot run (apt-get install {name})"
            );
            assert!(std::env::var_os("CI").is_none(), "{message}");
            #[expect(clippy::print_stderr, reason = "a skipped test says so in its output")]
            {
                eprintln!("SKIPPED: {message}");
            }
        }
        found
    }

    /// The arguments for an interactive shell without the user's startup files, whose prompt
    /// is [`PROMPT`].
    fn args(self) -> Vec<String> {
        match self {
            Self::Bash => vec!["--norc".into(), "--noprofile".into(), "-i".into()],
            Self::Zsh => vec!["-f".into(), "-i".into()],
            Self::Fish => vec![
                "--no-config".into(),
                "-i".into(),
                "-C".into(),
                format!(
                    "function fish_prompt; printf '%s' '{PROMPT}'; end; function fish_greeting; end; function fish_title; end"
                ),
            ],
        }
    }
}

/// `PATH` for a test shell: the directories in `first`, goshift's own directory (so
/// `goshift init` runs the binary under test), then the system's `PATH`.
pub(crate) fn shell_path(first: &[PathBuf]) -> OsString {
    let goshift_dir = Path::new(env!("CARGO_BIN_EXE_goshift"))
        .parent()
        .expect("test setup: the binary has a directory");
    let system = std::env::var_os("PATH").unwrap_or_default();
    std::env::join_paths(
        first
            .iter()
            .cloned()
            .chain(std::iter::once(goshift_dir.to_path_buf()))
            .chain(std::env::split_paths(&system)),
    )
    .expect("test setup: PATH entries never contain `:` here")
}

/// An interactive shell on a pseudo-terminal.
pub(crate) struct Session {
    child: Child,
    master: File,
    output: Receiver<Vec<u8>>,
    transcript: String,
    deadline: Instant,
}

impl Session {
    /// Starts `shell` in `cwd` with exactly the environment `env` (plus `TERM=xterm`: zsh
    /// turns its line editor, and so completion, off on a dumb terminal).
    pub(crate) fn start(
        shell: Shell,
        program: &Path,
        cwd: &Path,
        env: &[(&str, OsString)],
    ) -> Self {
        let (master, slave) = open_pty();
        let mut command = Command::new(program);
        command.args(shell.args()).env_clear().current_dir(cwd);
        for (key, value) in env {
            command.env(key, value);
        }
        command
            .env("TERM", "xterm")
            .env("PS1", PROMPT)
            .env("PROMPT", PROMPT);
        command
            .stdin(Stdio::from(
                slave.try_clone().expect("test setup: dup the terminal"),
            ))
            .stdout(Stdio::from(
                slave.try_clone().expect("test setup: dup the terminal"),
            ))
            .stderr(Stdio::from(slave));
        #[expect(
            unsafe_code,
            reason = "a shell needs the terminal as its controlling one"
        )]
        // SAFETY: between fork and exec the closure calls only async-signal-safe functions
        // (`setsid`, `ioctl`) and allocates nothing.
        unsafe {
            command.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().expect("test setup: start the shell");
        drop(command);
        let mut reader = master.try_clone().expect("test setup: dup the terminal");
        let (sender, output) = channel();
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            // Reading ends with an error (EIO) once the shell and its children have exited.
            while let Ok(n) = reader.read(&mut buffer) {
                if n == 0 || sender.send(buffer[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        let mut session = Self {
            child,
            master,
            output,
            transcript: String::new(),
            deadline: Instant::now() + SESSION_LIMIT,
        };
        session.wait_for_prompt();
        session
    }

    /// Types `line` at the next prompt and waits for the prompt after it; returns what the
    /// terminal showed in between.
    pub(crate) fn run(&mut self, line: &str) -> String {
        let start = self.transcript.len();
        // The marker is typed in two quoted halves, so only its output matches.
        let (head, tail) = DONE.split_at(4);
        self.master
            .write_all(format!("{line}; printf '%s\\n' '{head}''{tail}'\n").as_bytes())
            .expect("test setup: type into the terminal");
        self.wait_for(DONE, start);
        let end = start + self.transcript[start..].find(DONE).expect("just found");
        self.wait_for(PROMPT, end);
        self.transcript[start..end].to_owned()
    }

    /// Types `keys` as they are (no newline, no marker).
    pub(crate) fn type_keys(&mut self, keys: &str) {
        self.master
            .write_all(keys.as_bytes())
            .expect("test setup: type into the terminal");
    }

    /// Waits until `text` shows after what the terminal showed before `since`.
    pub(crate) fn expect(&mut self, text: &str, since: usize) {
        self.wait_for(text, since);
    }

    /// How much the terminal has shown so far, as a position for [`Session::expect`].
    pub(crate) fn position(&self) -> usize {
        self.transcript.len()
    }

    /// Everything the terminal showed so far.
    pub(crate) fn transcript(&self) -> &str {
        &self.transcript
    }

    fn wait_for_prompt(&mut self) {
        self.wait_for(PROMPT, self.transcript.len());
    }

    /// Reads until `text` shows after byte `start` of the transcript.
    fn wait_for(&mut self, text: &str, start: usize) {
        loop {
            if self.transcript[start..].contains(text) {
                return;
            }
            let left = self.deadline.saturating_duration_since(Instant::now());
            match self.output.recv_timeout(left) {
                Ok(bytes) => self.transcript.push_str(&String::from_utf8_lossy(&bytes)),
                Err(RecvTimeoutError::Timeout) => {
                    let _ = self.child.kill();
                    panic!(
                        "the shell did not show `{text}` in time; it showed:\n{}",
                        self.transcript
                    );
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("the shell exited; it showed:\n{}", self.transcript)
                }
            }
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A new pseudo-terminal: its master and slave ends.
fn open_pty() -> (File, OwnedFd) {
    let mut master = -1;
    let mut slave = -1;
    // Wide enough that no typed line wraps.
    let size = libc::winsize {
        ws_row: 50,
        ws_col: 1000,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    #[expect(unsafe_code, reason = "std has no pseudo-terminal API")]
    // SAFETY: both pointers point to writable `c_int`s and `size` to a `winsize`; the name
    // and termios are optional and passed as null.
    let result = unsafe {
        libc::openpty(
            &raw mut master,
            &raw mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &raw const size,
        )
    };
    assert_eq!(
        result,
        0,
        "test setup: openpty: {}",
        std::io::Error::last_os_error()
    );
    #[expect(
        unsafe_code,
        reason = "taking ownership of the descriptors openpty returned"
    )]
    // SAFETY: openpty succeeded, so both are open descriptors owned by nothing else.
    let (master, slave) = unsafe { (File::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    debug_assert!(master.as_raw_fd() >= 0);
    (master, slave)
}
