//! Parameter sweeps: a grid of experiment points × strategies × replications, run in
//! parallel, journaled as runs finish (resumable), shardable over machines and mergeable.
//!
//! - [`spec`]: the `[sweep]` axes and `[report]` options, validated with precise errors;
//! - [`grid`]: the Cartesian product of the axes (point index = position in the grid);
//! - [`plan`]: which runs are needed, as a pure function of the runs finished (precision
//!   rounds included), so any machine agrees on it;
//! - [`exec`]: the rayon pool that runs them;
//! - [`journal`]: the append-only record of finished runs (resume and merge read it);
//! - [`lock`]: one writer per output folder;
//! - [`shard`]: `--shard K/N` and `--shard auto` (Slurm, Kubernetes);
//! - [`merge`]: shard folders → the outputs of a single-machine sweep;
//! - [`output`]: `results.json` and `results.csv`, atomically;
//! - [`progress`]: the bar, or plain lines when stderr is not a terminal.
//!
//! The library does the work and returns [`SweepResults`]; the CLI prints and hands over to
//! the report stage.

pub mod exec;
pub mod grid;
pub mod journal;
pub mod lock;
pub mod merge;
pub mod output;
pub mod plan;
pub mod progress;
pub mod shard;
pub mod spec;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use anyhow::{Context, Result, bail};
use rayon::prelude::*;

use crate::config::ExperimentFile;
use crate::experiment::Experiment;
use crate::results::{Axis, ReportOptions, SweepResults};
use grid::Grid;
use journal::{Header, Journal};
use plan::{PointState, Rule, RunKey, Store};
use progress::{Mode, Progress};
pub use shard::Shard;

/// Environment variable of the interruption test hook: stop after this many runs finished,
/// exactly as Ctrl-C would (tests use it to check resume without timing a kill).
pub const STOP_AFTER_VAR: &str = "LBSIM_STOP_AFTER";

/// A sweep, resolved: one validated experiment per grid point.
#[derive(Debug, Clone)]
pub struct Sweep {
    /// The experiment file as written, with `--set` overrides (not the axes) applied.
    pub config: String,
    /// Its path as given.
    pub file: String,
    /// The file without axes applied (names, seed, strategies, summary).
    pub base: Experiment,
    pub grid: Grid,
    /// One per grid point, in grid order.
    pub points: Vec<Experiment>,
    pub report: ReportOptions,
    /// What determines the results ([`journal::identity`]).
    pub identity: String,
}

impl Sweep {
    /// Reads the axes, checks every point resolves, and builds the points' experiments.
    pub fn prepare(file: &ExperimentFile) -> Result<Sweep> {
        let axes: Vec<Axis> = spec::axes(file)?;
        let report = spec::report_options(file)?;
        let grid = Grid::new(axes);
        // Resolving a point can cost as much as a short run (strategies are built to check
        // their parameters; sita calibrates on a million sizes), so points resolve in
        // parallel, on the caller's rayon pool.
        let (base, points) = rayon::join(
            || file.resolve(),
            || {
                (0..grid.len())
                    .into_par_iter()
                    .map(|index| {
                        let values = grid.values(index);
                        let mut copy = file.clone();
                        for (axis, value) in grid.axes.iter().zip(&values) {
                            spec::set_axis(&mut copy, &axis.path, *value)?;
                        }
                        // An error about a value an axis set is located at that value in
                        // [sweep]; any other names the point it arose at.
                        copy.resolve().or_else(|e| match spec::locate_point_error(file, &grid, index, e) {
                            Ok(located) => Err(located.into()),
                            Err(e) => Err(anyhow::Error::from(e)).with_context(|| {
                                let at: Vec<String> =
                                    grid.axes.iter().zip(&values).map(|(a, v)| format!("{} = {v}", a.path)).collect();
                                format!("{}: sweep point {index} ({})", file.path().display(), at.join(", "))
                            }),
                        })
                    })
                    // Every point's outcome, then the first error in grid order: a parallel
                    // collect into a `Result` keeps whichever error a thread met first, so
                    // the same file named a different point from run to run.
                    .collect::<Vec<Result<Experiment>>>()
                    .into_iter()
                    .collect::<Result<Vec<Experiment>>>()
            },
        );
        let (mut base, mut points) = (base?, points?);
        // With an SLO every run also counts its responses above the limit (P(response > SLO)).
        let limit = report.slo.as_deref().and_then(|s| crate::slo::Slo::parse(s).ok()).map(|s| s.limit);
        base.slo_limit = limit;
        for point in &mut points {
            point.slo_limit = limit;
        }
        if report.load.is_some() && points.iter().any(|p| p.model.closed_loop().is_some()) {
            return Err(file
                .error_at_keys(
                    &["report", "load"],
                    false,
                    "report.load",
                    "closed-loop users have no offered load to pick a point by (their load is measured); remove \
                     [report] load: the per-load charts then show the point with the highest carried load below 1",
                )
                .into());
        }
        if let Some(load) = report.load {
            let loads: Vec<f64> = points.iter().map(|p| p.model.offered_load()).collect();
            if let Err(message) = crate::results::check_swept_load(load, &loads) {
                return Err(file.error_at_keys(&["report", "load"], false, "report.load", message).into());
            }
        }
        let identity = journal::identity(&points);
        Ok(Sweep {
            config: file.source_text(),
            file: file.path().display().to_string(),
            base,
            grid,
            points,
            report,
            identity,
        })
    }

    /// The journal header of this sweep.
    fn header(&self, shard: Option<Shard>) -> Header {
        Header::new(
            &self.base.name,
            &self.file,
            self.base.seed,
            &self.config,
            &self.identity,
            shard.map(|s| s.to_string()),
        )
    }

    /// The runs the plan still needs, all points (a shard keeps its own).
    fn needed(&self, store: &Store, shard: Option<Shard>) -> Vec<RunKey> {
        let mut out = Vec::new();
        let mut base_index = 0usize;
        for (point, experiment) in self.points.iter().enumerate() {
            let rule = Rule::of(experiment);
            let per_point = rule.base as usize * experiment.strategies.len();
            if let PointState::Needs(runs) = rule.state(point, experiment, store) {
                for run in runs {
                    let owned = match (shard, rule.precision) {
                        (None, _) => true,
                        (Some(s), Some(_)) => s.owns(point),
                        // Base run number i (point-major, then strategy, then replication).
                        (Some(s), None) => {
                            s.owns(base_index + run.strategy * rule.base as usize + run.replication as usize)
                        }
                    };
                    if owned {
                        out.push(run);
                    }
                }
            }
            base_index += per_point;
        }
        out
    }

    /// Label → strategy index at grid point `point`. Labels are per point: with a strategy
    /// parameter as an axis (`"balancer.strategies.0.d" = [1, 2]`) the same strategy is
    /// `power_of_d(d=1)` at one point and `power_of_d(d=2)` at the next.
    fn strategy_index(&self, point: usize, label: &str) -> Option<usize> {
        self.points.get(point)?.strategies.iter().position(|s| s.label == label)
    }

    /// The label of strategy `strategy` at grid point `point`.
    pub(crate) fn label(&self, point: usize, strategy: usize) -> &str {
        &self.points[point].strategies[strategy].label
    }

    /// Puts journal entries into a store, checking they fit this sweep.
    fn load_entries(&self, entries: Vec<journal::Entry>, store: &mut Store, source: &Path) -> Result<()> {
        for e in entries {
            let point = usize::try_from(e.point).ok().filter(|&p| p < self.points.len());
            let Some(point) = point else {
                bail!("{}: the journal has runs at point {}, beyond this sweep's grid", source.display(), e.point)
            };
            let Some(strategy) = self.strategy_index(point, &e.strategy) else {
                bail!(
                    "{}: the journal has runs of strategy \"{}\" at point {point}, which this experiment does not",
                    source.display(),
                    e.strategy
                )
            };
            store.insert(RunKey { point, strategy, replication: e.replication }, e.result);
        }
        Ok(())
    }
}

/// How to run a sweep (the CLI's flags).
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Output folder; default `output/<experiment name>`.
    pub out: Option<PathBuf>,
    /// Threads; default: every core.
    pub jobs: Option<usize>,
    pub resume: bool,
    pub force: bool,
    pub shard: Option<Shard>,
    pub quiet: bool,
    /// Start even when the estimate is past the limits of [`crate::budget`], and allow
    /// more `jobs` than cores.
    pub yes: bool,
    /// The command line, recorded in results.json.
    pub command: Vec<String>,
}

/// What a sweep produced.
#[derive(Debug)]
pub struct Outcome {
    pub results: SweepResults,
    pub out: PathBuf,
    /// Runs done in this process, and already in the journal before it.
    pub ran: u64,
    pub resumed: u64,
    /// The output folder's lock, held until the caller has written the reports too.
    pub lock: lock::FolderLock,
}

/// Files of a results folder that a new sweep replaces (`--force`).
const OUTPUT_FILES: [&str; 3] = [journal::FILE, "results.json", "results.csv"];

/// Files whose presence means a folder holds results (of a sweep, a merge, a report or a
/// plan) that a new sweep or plan must not overwrite without `--force`.
const RESULT_FILES: [&str; 7] =
    [journal::FILE, "results.json", "results.csv", "plan.json", "report.md", "report.html", "charts"];

/// The result files present in `dir`.
pub fn results_in(dir: &Path) -> Vec<&'static str> {
    RESULT_FILES.iter().copied().filter(|f| dir.join(f).exists()).collect()
}

/// The stop flag shared with the signal handler.
fn stop_flag() -> &'static AtomicBool {
    static STOP: AtomicBool = AtomicBool::new(false);
    &STOP
}

/// Ctrl-C and SIGTERM set the stop flag; a second one exits at once (the journal is safe:
/// each line is synced as written).
fn install_signal_handler() {
    install_stop_handler(
        "interrupted: finishing the runs in progress (interrupt again to exit at once)…",
        "interrupted again: exiting now; finished runs are in the journal (use --resume)",
    );
}

/// Makes Ctrl-C and SIGTERM set the stop flag ([`interrupted`]) and say `first`; a second
/// one says `again` and exits at once (130), after removing the temporary file an atomic
/// write has open ([`output::write_atomically_with`]). The sweep's handler, for any command
/// that stops cleanly on Ctrl-C: only one handler can be installed in a process, so the
/// first one installed stays.
pub fn install_stop_handler(first: &'static str, again: &'static str) {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let _ = ctrlc::set_handler(move || {
            if stop_flag().swap(true, Ordering::SeqCst) {
                output::remove_pending_temporary();
                eprintln!("\n{again}");
                std::process::exit(130);
            }
            eprintln!("\n{first}");
        });
    });
}

/// Whether Ctrl-C or SIGTERM has come since [`install_stop_handler`].
pub fn interrupted() -> bool {
    stop_flag().load(Ordering::SeqCst)
}

/// Runs (or resumes) the sweep of `file` and writes its outputs.
///
/// Returns an error when interrupted (after writing what finished), when a run fails, or when
/// the output folder holds results and neither `resume` nor `force` is set. When the sweep is
/// complete (every point, or a shard's every run) [`Outcome::results`] holds every point.
pub fn run(file: &ExperimentFile, options: &Options) -> Result<Outcome> {
    let (jobs, note) = crate::budget::jobs(options.jobs, options.yes).map_err(anyhow::Error::msg)?;
    if let Some(note) = note {
        if !options.quiet {
            eprintln!("note: {note}");
        }
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .thread_name(|i| format!("lbsim-sweep-{i}"))
        .build()
        .context("cannot start the worker threads")?;
    pool.install(|| run_on_pool(file, options, &pool))
}

fn run_on_pool(file: &ExperimentFile, options: &Options, pool: &rayon::ThreadPool) -> Result<Outcome> {
    let jobs = pool.current_num_threads();
    // A huge grid costs memory and minutes before the first run (every point is resolved
    // first): estimate it from the file as written and ask before resolving it.
    let points = Grid::new(spec::axes(file)?).len();
    if points > crate::budget::MAX_POINTS && !options.yes {
        let base = crate::budget::Cost::of(std::slice::from_ref(&file.resolve()?), jobs).scaled(points);
        bail!(
            "this sweep's grid has {} points (more than {}): {}; pass --yes to start it anyway",
            crate::budget::group_digits(points as u64),
            crate::budget::group_digits(crate::budget::MAX_POINTS as u64),
            base.describe()
        );
    }
    let sweep = Sweep::prepare(file)?;
    let cost = crate::budget::Cost::of(&sweep.points, jobs);
    if !options.yes {
        if let Some(refusal) = cost.refusal("this sweep") {
            bail!("{refusal}");
        }
    }
    // Shown even with --quiet: a ramp cut short, or partly discarded, changes what the
    // results mean.
    for warning in crate::config::ramp_warnings_of_points(file, &sweep.points) {
        eprintln!("warning: {warning}");
    }
    for warning in crate::budget::warnings_before_running(&sweep.points, jobs) {
        eprintln!("warning: {warning}");
    }
    let out = options.out.clone().unwrap_or_else(|| Path::new("output").join(&sweep.base.name));
    let header = sweep.header(options.shard);
    let mut store = Store::new();
    let folder_lock = lock::acquire(&out, &options.command)?;
    let present = results_in(&out);
    if options.resume && !journal::exists(&out) && !present.is_empty() {
        bail!(
            "{} holds results ({}) but no {}, so there is nothing to resume and they would be lost; \
             use --force to overwrite them, or another --out",
            out.display(),
            present.join(", "),
            journal::FILE
        );
    }
    let journal = if options.resume && journal::exists(&out) {
        let contents = journal::read(&out)?;
        if !contents.header.same_experiment(&header) {
            bail!(
                "{}: the journal there is from a different experiment: {}; its runs would not be this \
                 sweep's. Use --force to start again, or another --out",
                out.display(),
                contents.header.difference(&header)
            );
        }
        if contents.header.shard != header.shard {
            bail!(
                "{}: the journal there is from shard {}, not {}",
                out.display(),
                contents.header.shard.as_deref().unwrap_or("none (a whole sweep)"),
                header.shard.as_deref().unwrap_or("none (a whole sweep)")
            );
        }
        let journal = Journal::reopen(&out, &contents)?;
        sweep.load_entries(contents.entries, &mut store, &out.join(journal::FILE))?;
        journal
    } else {
        if !present.is_empty() && !options.force && !options.resume {
            bail!(
                "{} already holds sweep results ({}); use --resume to continue that sweep, or --force to overwrite them",
                out.display(),
                present.join(", ")
            );
        }
        for f in OUTPUT_FILES {
            let path = out.join(f);
            if path.exists() {
                std::fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))?;
            }
        }
        Journal::create(&out, &header)?
    };
    let resumed = store.len() as u64;
    let stop = stop_flag();
    stop.store(false, Ordering::SeqCst);
    install_signal_handler();
    let stop_after = match std::env::var(STOP_AFTER_VAR) {
        Ok(v) => Some(v.trim().parse::<u64>().with_context(|| format!("{STOP_AFTER_VAR} must be a whole number"))?),
        Err(_) => None,
    };
    let mut needed = sweep.needed(&store, options.shard);
    let progress = Progress::new(Mode::detect(options.quiet), resumed, resumed + needed.len() as u64);
    progress.note(&format!("{}: {}", sweep.base.name, cost.describe()));
    if resumed > 0 {
        progress.note(&format!("resuming: {resumed} runs already in the journal, {} to go", needed.len()));
    }
    let finished = AtomicU64::new(0);
    let executor = exec::Executor {
        points: &sweep.points,
        pool,
        journal: &journal,
        progress: &progress,
        stop,
        stop_after,
        finished: &finished,
    };
    let mut failure = None;
    let mut first = true;
    while !needed.is_empty() && !stop.load(Ordering::SeqCst) {
        if !first {
            progress.add_total(needed.len() as u64);
        }
        first = false;
        if let Err(e) = executor.execute(&needed, &mut store) {
            failure = Some(e);
            break;
        }
        needed = sweep.needed(&store, options.shard);
    }
    if needed.is_empty() && failure.is_none() && sweep.base.model.backend_count() > 10_000 {
        // On a large cluster this takes a while (10⁵ backends: 400 mean service times are
        // 3.6·10⁷ arrivals a strategy at load 0.9, seconds each), which silence would leave
        // unexplained; on a small one it is over at once.
        progress
            .note("every run done; sampling each strategy's queues over time for the charts, then writing the results");
    }
    progress.finish();
    let results = output::build(&sweep, &store, options.command.clone());
    output::write(&results, &out)?;
    if let Some(e) = failure {
        return Err(e);
    }
    let ran = finished.load(Ordering::SeqCst);
    if !needed.is_empty() {
        bail!(
            "interrupted: {} runs finished and are kept in {}; {} remain. Run the same command with --resume to finish",
            resumed + ran,
            out.join(journal::FILE).display(),
            sweep.needed(&store, options.shard).len()
        );
    }
    Ok(Outcome { results, out, ran, resumed, lock: folder_lock })
}
