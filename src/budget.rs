//! What a run or a sweep will cost, estimated before anything runs, so that a typo
//! (`replications = 1000000`, a 1000 × 1000 grid, `--jobs 100000000`) is caught with the
//! estimate in front of the user instead of an hour of silence or an exhausted machine.
//!
//! The figures are deliberately rough (a simulated request costs a few tens of nanoseconds,
//! more with many backends); they only have to tell minutes from days. Past the limits below
//! a command asks for `--yes`.

use crate::experiment::{Experiment, Warmup};

/// Simulated requests per second per core assumed by the estimate: the engine benchmark does
/// 10–30 M/s on one core for 16 backends; heavy strategies and big clusters are slower.
pub const REQUESTS_PER_SECOND_PER_CORE: f64 = 5e6;
/// Longest estimated wall time that starts without `--yes`.
pub const MAX_SECONDS: f64 = 3600.0;
/// Most runs (point × strategy × replication) that start without `--yes`.
pub const MAX_RUNS: u64 = 100_000;
/// Most grid points a sweep resolves without `--yes` (each point is a resolved experiment in
/// memory before the first run starts).
pub const MAX_POINTS: usize = 10_000;
/// Most threads a sweep starts even with `--yes`.
pub const MAX_JOBS: usize = 1024;

/// The estimated cost of a batch of runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Cost {
    /// Runs (point × strategy × replication; precision rounds may add more).
    pub runs: u64,
    /// Requests simulated over all runs (warm-up and MSER pilots included).
    pub requests: f64,
    /// Estimated wall time on `jobs` threads.
    pub seconds: f64,
    /// Estimated memory of one run in progress (bytes).
    pub bytes_per_run: f64,
    pub jobs: usize,
}

/// Requests one replication of `e` simulates: warm-up plus measured, plus the MSER-5 pilot
/// when the warm-up is automatic.
fn requests_per_replication(e: &Experiment) -> f64 {
    let requests = e.plan.requests as f64;
    match e.plan.warmup {
        Warmup::Fixed(w) => w as f64 + requests,
        Warmup::Auto => 2.5 * requests,
    }
}

/// Memory of one run of `e` in progress: every backend's state (a ring of departure times up
/// to 4096 entries, per-worker state) and the response-time histograms (20 sections).
pub fn bytes_per_run(e: &Experiment) -> f64 {
    let backends: f64 = e
        .model
        .backends
        .iter()
        .map(|g| {
            let ring = (f64::from(g.workers) + f64::from(g.backlog) + 1.0).min(4096.0) * 8.0;
            f64::from(g.count) * (ring + 16.0 * f64::from(g.workers) + 256.0)
        })
        .sum();
    const HISTOGRAMS: f64 = 21.0 * 250e3;
    backends + HISTOGRAMS
}

impl Cost {
    /// The cost of every strategy of every experiment in `points`, `replications` times
    /// each (its plan's), on `jobs` threads.
    pub fn of(points: &[Experiment], jobs: usize) -> Cost {
        let jobs = jobs.max(1);
        let mut runs = 0u64;
        let mut requests = 0.0;
        let mut bytes_per_run: f64 = 0.0;
        for e in points {
            let n = e.strategies.len() as u64 * u64::from(e.plan.replications.max(1));
            runs = runs.saturating_add(n);
            // Each backend adds a little to every request's cost (strategies that look at all
            // of them, time integrals at section boundaries).
            let per_request = 1.0 + e.model.backend_count() as f64 / 64.0;
            requests += n as f64 * requests_per_replication(e) * per_request;
            bytes_per_run = bytes_per_run.max(self::bytes_per_run(e));
        }
        let parallel = (jobs as f64).min(runs.max(1) as f64);
        let seconds = requests / (REQUESTS_PER_SECOND_PER_CORE * parallel);
        Cost { runs, requests, seconds, bytes_per_run, jobs }
    }

    /// The same cost for `points` times as many points (estimating a grid from its base).
    pub fn scaled(&self, points: usize) -> Cost {
        let k = points as f64;
        Cost {
            runs: self.runs.saturating_mul(points as u64),
            requests: self.requests * k,
            seconds: self.seconds * k,
            ..self.clone()
        }
    }

    /// `1 000 000 runs, about 6h on 2 cores, 5.3 MB each`.
    pub fn describe(&self) -> String {
        format!(
            "{} {}, about {} on {} {}, {} of memory per run",
            group_digits(self.runs),
            if self.runs == 1 { "run" } else { "runs" },
            format_span(self.seconds),
            self.jobs,
            if self.jobs == 1 { "core" } else { "cores" },
            format_bytes(self.bytes_per_run)
        )
    }

    /// Why this needs `--yes`, if it does: too long, too many runs, or more memory than the
    /// machine has. `what` names the command's work ("this sweep").
    pub fn refusal(&self, what: &str) -> Option<String> {
        let memory = self.bytes_per_run * self.jobs.min(self.runs.max(1) as usize) as f64;
        let reason = if self.seconds > MAX_SECONDS {
            Some(format!("more than {}", format_span(MAX_SECONDS)))
        } else if self.runs > MAX_RUNS {
            Some(format!("more than {} runs", group_digits(MAX_RUNS)))
        } else {
            match total_memory() {
                Some(total) if memory > total / 2.0 => Some(format!(
                    "{} of memory at once, more than half of this machine's {}",
                    format_bytes(memory),
                    format_bytes(total)
                )),
                _ => None,
            }
        };
        reason.map(|r| format!("{what} is {} ({r}); pass --yes to start it anyway", self.describe()))
    }
}

/// A wall time in words a person plans by: `40 s`, `12 min`, `6 h`, `12 days`.
pub fn format_span(seconds: f64) -> String {
    let s = seconds.max(1.0);
    if s < 120.0 {
        format!("{s:.0} s")
    } else if s < 7200.0 {
        format!("{:.0} min", s / 60.0)
    } else if s < 48.0 * 3600.0 {
        format!("{:.0} h", s / 3600.0)
    } else {
        format!("{:.0} days", s / 86400.0)
    }
}

/// `1 000 000`.
pub fn group_digits(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// `5.3 MB`, `7 GB`.
pub fn format_bytes(bytes: f64) -> String {
    let units = [("GB", 1e9), ("MB", 1e6), ("kB", 1e3)];
    for (unit, size) in units {
        if bytes >= size {
            return format!("{} {unit}", crate::units::significant(bytes / size, 2));
        }
    }
    format!("{bytes:.0} B")
}

/// The machine's memory (Linux: `/proc/meminfo`), if known.
fn total_memory() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024.0)
}

/// The threads a sweep uses: `--jobs` (default every core), capped at the cores unless
/// `yes`, and at [`MAX_JOBS`] always. Returns the count and, when the request was capped, a
/// note saying so.
pub fn jobs(requested: Option<usize>, yes: bool) -> Result<(usize, Option<String>), String> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    match requested {
        None => Ok((cores, None)),
        Some(n) if n > MAX_JOBS => Err(format!(
            "--jobs {n}: at most {MAX_JOBS} threads (this machine has {cores} {}); more only slow a sweep down",
            if cores == 1 { "core" } else { "cores" }
        )),
        Some(n) if n > cores && !yes => Ok((
            cores,
            Some(format!(
                "--jobs {n} is more than the {cores} cores of this machine: using {cores} (pass --yes to use {n} anyway)"
            )),
        )),
        Some(n) => Ok((n.max(1), None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_grouped_in_threes() {
        assert_eq!(group_digits(1_000_000), "1 000 000");
        assert_eq!(group_digits(999), "999");
        assert_eq!(group_digits(1000), "1 000");
    }

    #[test]
    fn jobs_are_capped_at_the_cores_unless_forced() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let (n, note) = jobs(Some(cores + 1), false).unwrap();
        assert_eq!(n, cores);
        assert!(note.unwrap().contains("--yes"));
        assert_eq!(jobs(Some(cores + 1), true).unwrap(), (cores + 1, None));
        assert!(jobs(Some(100_000_000), true).unwrap_err().contains("at most 1024"));
    }
}
