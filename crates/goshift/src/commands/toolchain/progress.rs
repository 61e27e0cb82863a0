//! A progress line on stderr for downloads running in parallel.
//!
//! Drawn only when stderr is a terminal and neither `--quiet` nor `--json` is given; then
//! one line shows every active download and is redrawn at most ten times a second. Status
//! lines printed through [`Progress::status`] erase the line first, so they never mix.

use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::printer::Printer;

const REDRAW_EVERY: Duration = Duration::from_millis(100);

/// The shared progress display of one command.
#[derive(Debug)]
pub(crate) struct Progress {
    printer: Printer,
    enabled: bool,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    bars: Vec<Bar>,
    next_id: usize,
    last_draw: Option<Instant>,
    drawn: bool,
}

#[derive(Debug)]
struct Bar {
    id: usize,
    name: String,
    done: u64,
    total: Option<u64>,
}

impl Progress {
    /// A display for `printer`'s stderr.
    pub(crate) fn new(printer: Printer) -> Self {
        Self {
            enabled: printer.stderr_is_terminal && !printer.quiet && !printer.json(),
            printer,
            state: Mutex::new(State::default()),
        }
    }

    /// Adds a bar; returns its id.
    pub(crate) fn start(&self, name: &str, total: Option<u64>) -> usize {
        let mut state = self.lock();
        let id = state.next_id;
        state.next_id += 1;
        state.bars.push(Bar {
            id,
            name: name.to_owned(),
            done: 0,
            total,
        });
        id
    }

    /// Sets a bar's bytes done, redrawing if it is time.
    pub(crate) fn update(&self, id: usize, done: u64) {
        if !self.enabled {
            return;
        }
        let mut state = self.lock();
        if let Some(bar) = state.bars.iter_mut().find(|b| b.id == id) {
            bar.done = done;
        }
        if state
            .last_draw
            .is_none_or(|last| last.elapsed() >= REDRAW_EVERY)
        {
            self.draw(&mut state);
        }
    }

    /// Removes a bar.
    pub(crate) fn finish(&self, id: usize) {
        let mut state = self.lock();
        state.bars.retain(|b| b.id != id);
        if self.enabled {
            self.erase(&mut state);
            self.draw(&mut state);
        }
    }

    /// Prints a status line without tearing the progress line.
    pub(crate) fn status(&self, line: &str) {
        let mut state = self.lock();
        self.erase(&mut state);
        self.printer.status(line);
        if self.enabled {
            self.draw(&mut state);
        }
    }

    /// Prints a warning without tearing the progress line.
    pub(crate) fn warn(&self, line: &str) {
        let mut state = self.lock();
        self.erase(&mut state);
        self.printer.warn(line);
        if self.enabled {
            self.draw(&mut state);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while drawing leaves nothing inconsistent worth refusing to print.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn erase(&self, state: &mut State) {
        if state.drawn {
            self.printer.stderr_raw("\r\x1b[2K");
            state.drawn = false;
        }
    }

    fn draw(&self, state: &mut State) {
        state.last_draw = Some(Instant::now());
        if state.bars.is_empty() {
            self.erase(state);
            return;
        }
        let mut line = String::from("\r\x1b[2K");
        for (index, bar) in state.bars.iter().enumerate() {
            if index > 0 {
                line.push_str("  ");
            }
            let _ = write!(line, "{} {}", bar.name, mib(bar.done));
            if let Some(total) = bar.total.filter(|t| *t > 0) {
                let percent = bar.done.saturating_mul(100) / total;
                let _ = write!(line, "/{} {percent:>3}%", mib(total));
            }
        }
        self.printer.stderr_raw(&line);
        state.drawn = true;
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        let mut state = self.lock();
        self.erase(&mut state);
    }
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
