//! Progress on stderr: a bar with completed/total and ETA on a terminal; plain lines (at each
//! further tenth of the runs, or after 5 s without one) when stderr is a file or a pipe
//! (batch jobs, CI logs), where a redrawn bar would be a mess of carriage returns; nothing
//! with `--quiet`.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Bar,
    Lines,
    Quiet,
}

impl Mode {
    /// The bar on a terminal, lines otherwise, nothing when `quiet`.
    pub fn detect(quiet: bool) -> Mode {
        if quiet {
            Mode::Quiet
        } else if std::io::stderr().is_terminal() {
            Mode::Bar
        } else {
            Mode::Lines
        }
    }
}

/// Shared by the worker threads.
pub struct Progress {
    mode: Mode,
    bar: Option<ProgressBar>,
    lines: Mutex<Lines>,
}

struct Lines {
    started: Instant,
    last: Instant,
    done: u64,
    /// Runs already done (journal) when this process started: not part of its pace.
    done_before: u64,
    total: u64,
    last_tenth: u64,
}

/// A plain line at least this often when runs are slow.
const LINE_EVERY: Duration = Duration::from_secs(5);

impl Progress {
    /// `done` runs already finished (from a journal) out of `total`.
    pub fn new(mode: Mode, done: u64, total: u64) -> Progress {
        let bar = (mode == Mode::Bar).then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{bar:40} {pos}/{len} runs  {elapsed_precise} elapsed, ETA {eta}  {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.set_position(done);
            bar.reset_eta();
            bar
        });
        let now = Instant::now();
        Progress {
            mode,
            bar,
            lines: Mutex::new(Lines {
                started: now,
                last: now,
                done,
                done_before: done,
                total,
                last_tenth: done * 10 / total.max(1),
            }),
        }
    }

    /// A message printed above the bar, or as a line.
    pub fn note(&self, message: &str) {
        match self.mode {
            Mode::Quiet => {}
            Mode::Bar => self.bar.as_ref().map_or((), |b| b.println(message)),
            Mode::Lines => eprintln!("{message}"),
        }
    }

    /// More runs to do (a precision round added some).
    pub fn add_total(&self, more: u64) {
        if let Some(bar) = &self.bar {
            bar.inc_length(more);
        }
        if let Ok(mut l) = self.lines.lock() {
            l.total += more;
        }
    }

    /// One run finished. Lines mode prints when a new tenth is reached, or every 5 s.
    pub fn inc(&self) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
        if self.mode != Mode::Lines {
            return;
        }
        let Ok(mut l) = self.lines.lock() else { return };
        l.done += 1;
        let now = Instant::now();
        let tenth = l.done * 10 / l.total.max(1);
        if tenth > l.last_tenth || now.duration_since(l.last) >= LINE_EVERY {
            l.last_tenth = tenth;
            l.last = now;
            let elapsed = now.duration_since(l.started).as_secs_f64();
            let pace = elapsed / (l.done - l.done_before).max(1) as f64;
            let eta = pace * l.total.saturating_sub(l.done) as f64;
            eprintln!(
                "  {}/{} runs ({:.0} %), {:.0}s elapsed, ETA {:.0}s",
                l.done,
                l.total,
                100.0 * l.done as f64 / l.total.max(1) as f64,
                elapsed,
                eta
            );
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
