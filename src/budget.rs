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

/// Memory of one run of `e` in progress: every backend's state and its share of the run's
/// per-backend accounting, and the response-time histograms (20 sections). Measured with
/// `benches/scale.rs`: about 700 bytes per one-worker backend at 65 536 backends and 570 at
/// 10⁶, histograms included; counted here as 768 bytes per backend and 64 per worker. The
/// departure rings and heaps grow with the requests inside, not with the backlog, so they
/// are not counted: queues that fill their backlogs add 8–16 bytes per request inside.
pub fn bytes_per_run(e: &Experiment) -> f64 {
    let backends: f64 =
        e.model.backends.iter().map(|g| f64::from(g.count) * (768.0 + 64.0 * f64::from(g.workers))).sum();
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
            // Each backend adds a little to every request's cost: a cluster too large for the
            // caches makes requests wait for memory (1–3× slower at 65 536 backends than at
            // 16, benches/scale.rs), strategies that scan pay for the backends they look at
            // (jsq and least connections stop at the first idle one; a few look at all), and
            // section boundaries visit every backend. (n / 64 here, when scans were the rule,
            // put a 10-second run of 10⁵ backends at 2 hours.)
            let per_request = 1.0 + e.model.backend_count() as f64 / 4096.0;
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

    /// One experiment of `count` one-worker backends (default backlog).
    fn fleet(count: u32) -> Experiment {
        let text = format!(
            "[arrivals]\nprocess = \"poisson\"\nload = 0.9\n[service]\ndistribution = \"exponential\"\nmean = \"10ms\"\n\
             [[backends]]\nname = \"web\"\ncount = {count}\nworkers = 1\n[balancer]\nstrategies = [\"random\"]\n"
        );
        crate::config::ExperimentFile::parse("fleet.toml".as_ref(), &text).unwrap().resolve().unwrap()
    }

    #[test]
    fn memory_follows_the_backends_not_their_backlogs() {
        // Peak heap measured by benches/scale.rs (10⁷ requests at load 0.9, backlog 2048):
        // 51 MB at 65 536 backends, 574 MB at 10⁶. The estimate covers it without counting
        // a backlog's worth of departure slots per backend (which was 1.7 GB at 10⁵).
        let mb = |n| bytes_per_run(&fleet(n)) / 1e6;
        assert!((51.0..70.0).contains(&mb(65_536)), "{}", mb(65_536));
        assert!((574.0..900.0).contains(&mb(1_000_000)), "{}", mb(1_000_000));
    }

    #[test]
    fn a_large_fleet_is_not_mistaken_for_hours() {
        // 5 strategies × 5.5·10⁶ requests over 10⁵ one-worker backends took 9.7 s on the
        // 2-core development machine (power_of_d and jsq, `lbsim run`); the estimate stays
        // pessimistic but within the hour that starts without --yes.
        let mut e = fleet(100_000);
        e.plan.requests = 5_000_000;
        e.plan.warmup = Warmup::Fixed(500_000);
        let cost = Cost::of(std::slice::from_ref(&e), 1).scaled(5);
        assert!(cost.seconds > 10.0 && cost.seconds < MAX_SECONDS, "{}", cost.seconds);
        assert!(cost.refusal("this run").is_none());
    }

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
