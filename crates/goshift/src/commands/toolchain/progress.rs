//! Progress on stderr: one bar per download running in parallel, and spinners for waits.
//!
//! Drawn by `indicatif` only when stderr is a terminal and neither `--quiet` nor `--json` is
//! given: each bar fits the terminal's width (the bar itself takes what is left) and shows
//! bytes, speed and time left; a spinner shows what goshift waits for and for how long.
//! Status lines and warnings printed through [`Progress`] are drawn above the bars, so they
//! never tear them. Without a terminal (a pipe, a CI log) there are no bars and no escape
//! codes: a wait that lasts over a second prints a plain line saying what goshift waits for
//! and for how long, again every ten seconds.

use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::printer::Printer;

/// Redraws per second.
const REDRAW_HZ: u8 = 10;
/// Below this width, a bar drops the speed and the bar itself to stay on one line.
const NARROW: u16 = 60;

/// The shared progress display of one command.
#[derive(Debug)]
pub(crate) struct Progress {
    printer: Printer,
    enabled: bool,
    multi: MultiProgress,
    width: Option<u16>,
    bars: Mutex<Vec<(usize, ProgressBar)>>,
}

impl Progress {
    /// A display on `printer`'s stderr.
    pub(crate) fn new(printer: Printer) -> Self {
        let enabled = printer.stderr_is_terminal && !printer.quiet && !printer.json();
        let (target, width) = if enabled {
            let width = console::Term::stderr().size_checked().map(|(_, w)| w);
            (ProgressDrawTarget::stderr_with_hz(REDRAW_HZ), width)
        } else {
            (ProgressDrawTarget::hidden(), None)
        };
        Self::with_target(printer, enabled, target, width)
    }

    fn with_target(
        printer: Printer,
        enabled: bool,
        target: ProgressDrawTarget,
        width: Option<u16>,
    ) -> Self {
        Self {
            printer,
            enabled,
            multi: MultiProgress::with_draw_target(target),
            width,
            bars: Mutex::new(Vec::new()),
        }
    }

    /// Adds a bar for `name`, `total` bytes when known; returns its id.
    pub(crate) fn start(&self, name: &str, total: Option<u64>) -> usize {
        let narrow = self.width.is_some_and(|w| w < NARROW);
        let template = match (total, narrow) {
            (Some(_), false) => {
                "{prefix} {wide_bar} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} {eta}"
            }
            (Some(_), true) => "{prefix} {percent:>3}% {binary_bytes} {eta}",
            (None, false) => "{spinner} {prefix} {binary_bytes} {binary_bytes_per_sec} {elapsed}",
            (None, true) => "{spinner} {prefix} {binary_bytes}",
        };
        let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::hidden())
            .with_style(style(template))
            .with_prefix(name.to_owned());
        let bar = self.multi.add(bar);
        let mut bars = self.lock();
        let id = bars.last().map_or(0, |(id, _)| id + 1);
        bars.push((id, bar));
        id
    }

    /// Sets a bar's bytes done.
    pub(crate) fn update(&self, id: usize, done: u64) {
        if let Some((_, bar)) = self.lock().iter().find(|(bar_id, _)| *bar_id == id) {
            bar.set_position(done);
        }
    }

    /// Removes a bar.
    pub(crate) fn finish(&self, id: usize) {
        let mut bars = self.lock();
        if let Some(index) = bars.iter().position(|(bar_id, _)| *bar_id == id) {
            let (_, bar) = bars.remove(index);
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
    }

    /// Shows a spinner with `message` and the time elapsed until the returned guard is
    /// dropped: for waits of unknown length (an index download, a smoke test).
    pub(crate) fn wait(&self, message: &str) -> Wait {
        let spinner = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden())
            .with_style(style("{spinner} {msg} ({elapsed})"))
            .with_message(message.to_owned());
        let spinner = self.multi.add(spinner);
        if self.enabled {
            spinner.enable_steady_tick(Duration::from_millis(100));
        }
        let plain = (!self.enabled && !self.printer.quiet && !self.printer.json())
            .then(|| PlainNotices::start(self.printer, message.to_owned()));
        Wait {
            spinner,
            multi: self.multi.clone(),
            plain,
        }
    }

    /// Prints a status line above the bars.
    pub(crate) fn status(&self, line: &str) {
        self.multi.suspend(|| self.printer.status(line));
    }

    /// Prints a warning above the bars.
    pub(crate) fn warn(&self, line: &str) {
        self.multi.suspend(|| self.printer.warn(line));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(usize, ProgressBar)>> {
        // A panic while drawing leaves nothing inconsistent worth refusing to print.
        self.bars
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        let _ = self.multi.clear();
    }
}

/// A spinner shown until dropped (plain lines instead without a terminal).
#[derive(Debug)]
pub(crate) struct Wait {
    spinner: ProgressBar,
    multi: MultiProgress,
    plain: Option<PlainNotices>,
}

impl Drop for Wait {
    fn drop(&mut self) {
        self.spinner.finish_and_clear();
        self.multi.remove(&self.spinner);
        if let Some(plain) = self.plain.take() {
            plain.stop();
        }
    }
}

/// The first plain line of a wait, and the interval of the next ones.
const PLAIN_FIRST: Duration = Duration::from_secs(1);
const PLAIN_EVERY: Duration = Duration::from_secs(10);

/// The plain lines of a wait without a terminal: `Reading … (1s so far)` after a second, then
/// every ten seconds, from a thread that stops when the wait ends.
#[derive(Debug)]
struct PlainNotices {
    stop: std::sync::mpsc::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl PlainNotices {
    fn start(printer: Printer, message: String) -> Self {
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            let started = std::time::Instant::now();
            let mut next = PLAIN_FIRST;
            loop {
                let left = next.saturating_sub(started.elapsed());
                match stopped.recv_timeout(left) {
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                        let seconds = started.elapsed().as_secs();
                        printer.status(format!("{message} ({seconds}s so far)"));
                        next = if next == PLAIN_FIRST {
                            PLAIN_EVERY
                        } else {
                            next + PLAIN_EVERY
                        };
                    }
                    Ok(()) | Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return,
                }
            }
        });
        Self { stop, thread }
    }

    fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}

fn style(template: &str) -> ProgressStyle {
    // The templates are constants of this file; `tests::every_template_parses` checks them.
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

/// Bytes as MiB with one decimal: `68.0 MiB`.
pub(crate) fn mib(bytes: u64) -> String {
    #[expect(
        clippy::cast_precision_loss,
        reason = "display only; archive sizes are far below 2^52"
    )]
    let value = bytes as f64 / 1_048_576.0;
    format!("{value:.1} MiB")
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use indicatif::TermLike;

    use super::*;
    use crate::printer::Format;

    /// A terminal of a fixed width that records every line as it would look.
    #[derive(Debug, Clone)]
    struct Screen {
        width: u16,
        lines: Arc<Mutex<Vec<String>>>,
    }

    impl TermLike for Screen {
        fn width(&self) -> u16 {
            self.width
        }
        fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn write_line(&self, s: &str) -> std::io::Result<()> {
            self.write_str(s)
        }
        fn write_str(&self, s: &str) -> std::io::Result<()> {
            let mut lines = self.lines.lock().unwrap();
            lines.extend(
                s.split('\n')
                    .filter(|l| !l.is_empty())
                    .map(ToOwned::to_owned),
            );
            Ok(())
        }
        fn clear_line(&self) -> std::io::Result<()> {
            Ok(())
        }
        fn flush(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn printer() -> Printer {
        Printer {
            format: Format::Human,
            quiet: false,
            color: false,
            stderr_is_terminal: true,
            verbose: false,
        }
    }

    /// Two downloads in parallel, one of unknown size, drawn at each width: every line fits,
    /// and each bar shows its name, bytes and time left or elapsed.
    #[test]
    fn bars_fit_widths_40_80_and_200() {
        for width in [40u16, 80, 200] {
            let screen = Screen {
                width,
                lines: Arc::default(),
            };
            let target = ProgressDrawTarget::term_like_with_hz(Box::new(screen.clone()), 100);
            let progress = Progress::with_target(printer(), true, target, Some(width));
            let first = progress.start("go1.22.10", Some(70 << 20));
            let second = progress.start("go1.21.13", None);
            progress.update(first, 35 << 20);
            progress.update(second, 12 << 20);
            progress.multi.set_move_cursor(false);
            let _ = progress.multi.println("");
            let lines = screen.lines.lock().unwrap().clone();
            assert!(
                lines
                    .iter()
                    .any(|l| l.contains("go1.22.10") && l.contains("35.00 MiB")),
                "{width}: {lines:#?}"
            );
            assert!(
                lines
                    .iter()
                    .any(|l| l.contains("go1.21.13") && l.contains("12.00 MiB")),
                "{width}: {lines:#?}"
            );
            if width >= NARROW {
                assert!(
                    lines.iter().any(|l| l.contains("iB/s") && l.contains("==")),
                    "speed and a bar at {width}: {lines:#?}"
                );
            } else {
                assert!(
                    lines.iter().any(|l| l.contains("50%")),
                    "{width}: {lines:#?}"
                );
            }
            for line in &lines {
                assert!(
                    console::measure_text_width(line) <= usize::from(width),
                    "wider than {width}: `{line}`"
                );
            }
        }
    }

    /// A wait shows what it waits for and the time elapsed, and is gone when it ends.
    #[test]
    fn a_wait_shows_a_spinner_with_elapsed_time() {
        let screen = Screen {
            width: 80,
            lines: Arc::default(),
        };
        let target = ProgressDrawTarget::term_like_with_hz(Box::new(screen.clone()), 100);
        // No steady tick thread: the test draws with one tick of its own, deterministically.
        let progress = Progress::with_target(printer(), false, target, Some(80));
        let wait = progress.wait("Smoke-testing go1.22.10");
        wait.spinner.tick();
        let lines = screen.lines.lock().unwrap().clone();
        assert!(
            lines
                .iter()
                .any(|l| l.contains("Smoke-testing go1.22.10 (0s)")),
            "{lines:#?}"
        );
    }
}
