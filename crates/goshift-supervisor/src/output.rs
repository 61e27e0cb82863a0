//! Child output: each generation's stdout and stderr go through the supervisor, line by line
//! to whoever logs them (with service, generation and pid), and the last [`TAIL_BYTES`] of
//! each are kept in memory so the evidence of a failed generation outlives it.
//!
//! A reader thread per stream drains the pipe as fast as the child writes; it never waits for
//! the log. Lines go into a bounded channel with `try_send`: when the log falls behind, lines
//! are dropped and counted, the next line that gets through says how many were lost before
//! it, and `goshift_child_output_dropped_lines_total` adds them up. The tail keeps every byte
//! either way.

use std::collections::VecDeque;
#[cfg(test)]
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::process::{ChildStderr, ChildStdout};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use serde::{Deserialize, Serialize};

/// How much of each stream is kept per generation.
pub const TAIL_BYTES: usize = 64 * 1024;

/// A line longer than this is passed on in pieces of this size.
const MAX_LINE: usize = 16 * 1024;

/// How many lines may wait for the log before new ones are dropped. The channel allocates
/// every slot up front (about 100 bytes each), so this is resident memory.
pub(crate) const QUEUE_LINES: usize = 1024;

/// Which stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// One line a generation wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputLine {
    /// When the supervisor read it (RFC 3339, UTC, milliseconds).
    pub time: String,
    /// The service.
    pub service: String,
    /// The generation.
    pub generation: u64,
    /// Its pid.
    pub pid: u32,
    /// The stream.
    pub stream: Stream,
    /// The line, without its newline (invalid UTF-8 replaced).
    pub line: String,
    /// Lines of this stream dropped just before this one because the log fell behind.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub dropped_before: u64,
}

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if passes a reference"
)]
fn is_zero(value: &u64) -> bool {
    *value == 0
}

/// The last output of one generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerationOutput {
    /// The generation.
    pub generation: u64,
    /// Its pid.
    pub pid: u32,
    /// The last [`TAIL_BYTES`] of its stdout.
    pub stdout: Vec<u8>,
    /// The last [`TAIL_BYTES`] of its stderr.
    pub stderr: Vec<u8>,
    /// Lines the log dropped (they are still in the tails while they fit).
    pub dropped_lines: u64,
}

/// The kept output of one generation as the control socket sends it (`goshift svc logs`):
/// the tails as text, invalid UTF-8 replaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenerationLog {
    /// The generation.
    pub generation: u64,
    /// Its pid.
    pub pid: u32,
    /// Whether the process still runs.
    pub live: bool,
    /// The last [`TAIL_BYTES`] of its stdout.
    pub stdout: String,
    /// The last [`TAIL_BYTES`] of its stderr.
    pub stderr: String,
    /// Lines the log dropped because it fell behind (they are in the tails while they fit).
    pub dropped_lines: u64,
}

impl GenerationLog {
    /// `output` as text; `live` says whether its process still runs.
    pub fn new(output: &GenerationOutput, live: bool) -> Self {
        Self {
            generation: output.generation,
            pid: output.pid,
            live,
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            dropped_lines: output.dropped_lines,
        }
    }
}

/// The bytes kept of one stream: the newest `TAIL_BYTES`.
#[derive(Debug, Default)]
pub(crate) struct Tail {
    bytes: VecDeque<u8>,
}

impl Tail {
    fn push(&mut self, data: &[u8]) {
        let data = &data[data.len().saturating_sub(TAIL_BYTES)..];
        let excess = (self.bytes.len() + data.len()).saturating_sub(TAIL_BYTES);
        self.bytes.drain(..excess);
        self.bytes.extend(data);
    }

    fn snapshot(&self) -> Vec<u8> {
        self.bytes.iter().copied().collect()
    }
}

/// What the supervisor keeps of a generation's output while and after it runs.
#[derive(Debug)]
pub(crate) struct Capture {
    pub(crate) generation: u64,
    pub(crate) pid: u32,
    stdout: Mutex<Tail>,
    stderr: Mutex<Tail>,
    dropped: AtomicU64,
}

impl Capture {
    pub(crate) fn new(generation: u64, pid: u32) -> Arc<Self> {
        Arc::new(Self {
            generation,
            pid,
            stdout: Mutex::new(Tail::default()),
            stderr: Mutex::new(Tail::default()),
            dropped: AtomicU64::new(0),
        })
    }

    fn tail(&self, stream: Stream) -> &Mutex<Tail> {
        match stream {
            Stream::Stdout => &self.stdout,
            Stream::Stderr => &self.stderr,
        }
    }

    pub(crate) fn snapshot(&self) -> GenerationOutput {
        let tail = |stream| {
            self.tail(stream)
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .snapshot()
        };
        GenerationOutput {
            generation: self.generation,
            pid: self.pid,
            stdout: tail(Stream::Stdout),
            stderr: tail(Stream::Stderr),
            dropped_lines: self.dropped.load(Ordering::Relaxed),
        }
    }
}

/// Where a reader sends its lines.
#[derive(Debug, Clone)]
pub(crate) struct Sink {
    pub(crate) service: String,
    /// `None` when nobody logs the output: only the tail is kept.
    pub(crate) log: Option<SyncSender<OutputLine>>,
    /// The service's dropped-line counter.
    pub(crate) dropped: Arc<AtomicU64>,
}

/// One stream's partial line and the lines lost since the last one sent.
#[derive(Debug)]
struct Lines {
    stream: Stream,
    line: Vec<u8>,
    lost: u64,
}

impl Lines {
    fn new(stream: Stream) -> Self {
        Self {
            stream,
            line: Vec::new(),
            lost: 0,
        }
    }

    /// Keeps `data` in the tail and passes on every line it completes.
    fn take(&mut self, data: &[u8], capture: &Capture, sink: &Sink) {
        capture
            .tail(self.stream)
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(data);
        for piece in data.split_inclusive(|b| *b == b'\n') {
            self.line.extend_from_slice(piece);
            if self.line.ends_with(b"\n") || self.line.len() >= MAX_LINE {
                self.lost = pass_on(&self.line, self.stream, capture, sink, self.lost);
                self.line.clear();
            }
        }
    }

    /// The stream ended: a last line without a newline is passed on too.
    fn finish(&mut self, capture: &Capture, sink: &Sink) {
        if !self.line.is_empty() {
            pass_on(&self.line, self.stream, capture, sink, self.lost);
            self.line.clear();
        }
    }
}

/// Reads one stream until its end (for tests and single pipes).
#[cfg(test)]
fn read(mut pipe: impl Read, stream: Stream, capture: &Capture, sink: &Sink) {
    let mut buf = vec![0_u8; 8192];
    let mut lines = Lines::new(stream);
    while let Ok(n) = pipe.read(&mut buf) {
        if n == 0 {
            break;
        }
        lines.take(&buf[..n], capture, sink);
    }
    lines.finish(capture, sink);
}

/// Reads a generation's stdout and stderr on one thread until both end, keeping their tails
/// in `capture` and passing each line to `sink`. `buf` is allocated by the caller, so a
/// child that writes nothing costs this thread no allocation.
pub(crate) fn read_both(
    stdout: ChildStdout,
    stderr: ChildStderr,
    capture: &Capture,
    sink: &Sink,
    mut buf: Vec<u8>,
) {
    let mut pipes: [(Option<OwnedFd>, Lines); 2] = [
        (Some(stdout.into()), Lines::new(Stream::Stdout)),
        (Some(stderr.into()), Lines::new(Stream::Stderr)),
    ];
    // No allocation in this loop unless the child writes: a thread's first `malloc` may
    // give it an arena of its own, which stays resident.
    loop {
        let [(first, _), (second, _)] = &pipes;
        let polled = match (first, second) {
            (Some(a), Some(b)) => {
                let mut fds = [
                    PollFd::new(a.as_fd(), PollFlags::POLLIN),
                    PollFd::new(b.as_fd(), PollFlags::POLLIN),
                ];
                poll(&mut fds, PollTimeout::NONE).map(|_| [ready(&fds[0]), ready(&fds[1])])
            }
            (Some(a), None) => {
                let mut fds = [PollFd::new(a.as_fd(), PollFlags::POLLIN)];
                poll(&mut fds, PollTimeout::NONE).map(|_| [ready(&fds[0]), false])
            }
            (None, Some(b)) => {
                let mut fds = [PollFd::new(b.as_fd(), PollFlags::POLLIN)];
                poll(&mut fds, PollTimeout::NONE).map(|_| [false, ready(&fds[0])])
            }
            (None, None) => return,
        };
        let ready = match polled {
            Ok(ready) => ready,
            Err(Errno::EINTR) => continue,
            Err(_) => return,
        };
        for ((pipe, lines), ready) in pipes.iter_mut().zip(ready) {
            let Some(fd) = pipe.as_ref().filter(|_| ready) else {
                continue;
            };
            match nix::unistd::read(fd, &mut buf) {
                Ok(0) | Err(Errno::EBADF | Errno::EIO) => {
                    lines.finish(capture, sink);
                    *pipe = None;
                }
                Ok(n) => lines.take(&buf[..n], capture, sink),
                Err(_) => {}
            }
        }
    }
}

/// Whether poll found something to read, or the end, or an error (all end in `read`).
fn ready(fd: &PollFd<'_>) -> bool {
    fd.any().unwrap_or(true)
}

/// Sends one line unless the log is full; returns the lines lost since the last one sent.
fn pass_on(line: &[u8], stream: Stream, capture: &Capture, sink: &Sink, lost: u64) -> u64 {
    let Some(log) = &sink.log else {
        return 0;
    };
    let text = String::from_utf8_lossy(line);
    let text = text.strip_suffix('\n').unwrap_or(&text);
    let text = text.strip_suffix('\r').unwrap_or(text);
    let message = OutputLine {
        time: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
        service: sink.service.clone(),
        generation: capture.generation,
        pid: capture.pid,
        stream,
        line: text.to_owned(),
        dropped_before: lost,
    };
    // A disconnected log (nobody reads it any more) counts nothing against it.
    if let Err(TrySendError::Full(_)) = log.try_send(message) {
        capture.dropped.fetch_add(1, Ordering::Relaxed);
        sink.dropped.fetch_add(1, Ordering::Relaxed);
        return lost + 1;
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn the_tail_keeps_the_newest_bytes() {
        let mut tail = Tail::default();
        tail.push(&vec![b'a'; TAIL_BYTES]);
        tail.push(b"xyz");
        let bytes = tail.snapshot();
        assert_eq!(bytes.len(), TAIL_BYTES);
        assert!(bytes.ends_with(b"aaxyz"));
        tail.push(&vec![b'b'; TAIL_BYTES + 10]);
        assert_eq!(tail.snapshot(), vec![b'b'; TAIL_BYTES]);
    }

    #[test]
    fn lines_are_split_and_a_full_log_drops_and_counts() {
        let capture = Capture::new(3, 42);
        let (tx, rx) = mpsc::sync_channel(2);
        let sink = Sink {
            service: "api".into(),
            log: Some(tx),
            dropped: Arc::new(AtomicU64::new(0)),
        };
        let text = "one\ntwo\r\nthree\nfour\nfive";
        read(text.as_bytes(), Stream::Stderr, &capture, &sink);
        // The channel holds two lines; the other three were dropped and counted.
        let lines: Vec<OutputLine> = rx.try_iter().collect();
        assert_eq!(
            lines.iter().map(|l| l.line.as_str()).collect::<Vec<_>>(),
            ["one", "two"]
        );
        assert_eq!((lines[0].generation, lines[0].pid), (3, 42));
        assert_eq!(lines[0].stream, Stream::Stderr);
        assert_eq!(sink.dropped.load(Ordering::Relaxed), 3);
        let output = capture.snapshot();
        assert_eq!(output.dropped_lines, 3);
        assert_eq!(output.stderr, text.as_bytes());
        assert!(output.stdout.is_empty());
    }

    #[test]
    fn the_next_line_through_says_how_many_were_lost() {
        let capture = Capture::new(1, 1);
        let (tx, rx) = mpsc::sync_channel(1);
        let sink = Sink {
            service: "api".into(),
            log: Some(tx),
            dropped: Arc::new(AtomicU64::new(0)),
        };
        let lost = pass_on(b"a\n", Stream::Stdout, &capture, &sink, 0);
        assert_eq!(lost, 0);
        let lost = pass_on(b"b\n", Stream::Stdout, &capture, &sink, lost);
        let lost = pass_on(b"c\n", Stream::Stdout, &capture, &sink, lost);
        assert_eq!(lost, 2);
        assert_eq!(rx.recv().unwrap().line, "a");
        pass_on(b"d\n", Stream::Stdout, &capture, &sink, lost);
        let next = rx.recv().unwrap();
        assert_eq!((next.line.as_str(), next.dropped_before), ("d", 2));
    }
}
