//! Command-line interface: argument parsing and one module per subcommand.

mod check;
mod fit;
mod loadgen;
mod merge;
mod plan;
mod report;
mod run;
mod strategies;
mod sweep;
mod trace;

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::{Parser, Subcommand};

use lbsim::config::ExperimentFile;

/// Simulate load-balancing strategies over backends with worker pools.
#[derive(Debug, Parser)]
#[command(name = "lbsim", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Simulate every strategy of an experiment file and print the results.
    Run {
        /// The experiment file (TOML).
        file: PathBuf,
        /// Override a key of the file, e.g. `--set arrivals.load=0.95` or
        /// `--set backends.web.count=8` (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Print one JSON object on stdout instead of a table.
        #[arg(long)]
        json: bool,
        /// No progress line on stderr (warnings about the file are still printed).
        #[arg(long, short = 'q')]
        quiet: bool,
        /// Start even when the run is estimated to take more than an hour or half the
        /// machine's memory.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Validate an experiment file without running it.
    Check {
        file: PathBuf,
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
    },
    /// List the balancing strategies with a one-line description and their parameters.
    Strategies,
    /// Run every strategy at every point of the file's [sweep] grid, in parallel, into a
    /// results folder (results.csv, results.json, journal.jsonl).
    Sweep {
        /// The experiment file (TOML) with a [sweep] section.
        file: PathBuf,
        /// Override a key of the file (repeatable), as for `run`.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Output folder [default: output/<experiment name>].
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Simulations run at once [default: every core].
        #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        jobs: Option<u32>,
        /// Continue an interrupted sweep in the same folder: only missing runs are done.
        #[arg(long, conflicts_with = "force")]
        resume: bool,
        /// Overwrite the results already in the output folder.
        #[arg(long)]
        force: bool,
        /// Run only shard K of N (e.g. 2/8), or `auto` from a Slurm job array
        /// (SLURM_ARRAY_TASK_ID) or a Kubernetes Indexed Job (JOB_COMPLETION_INDEX with
        /// LBSIM_SHARDS); combine the shard folders with `lbsim merge`.
        #[arg(long, value_name = "K/N|auto")]
        shard: Option<String>,
        /// No progress and no summary on stderr.
        #[arg(long, short = 'q')]
        quiet: bool,
        /// Start even when the sweep is estimated to take more than an hour, more than
        /// 100 000 runs or half the machine's memory, and allow more --jobs than cores.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// The smallest number of backends (or workers) that meets an SLO at a given rate, per
    /// strategy, with 95 % confidence, and the headroom at that size.
    Plan {
        /// The experiment file (TOML).
        file: PathBuf,
        /// Arrival rate to plan for, requests per second (replaces the file's load or rate).
        #[arg(long, value_name = "REQ/S", allow_negative_numbers = true)]
        rate: f64,
        /// Service-level objective, e.g. "p99 <= 250ms" or "mean <= 40ms".
        #[arg(long)]
        slo: String,
        /// The whole number to size: backends.NAME.count or backends.NAME.workers [default:
        /// the count of the only backend group]. Given several times, each is an alternative
        /// design (another alternative's group left out) and the answer is the cheapest, by
        /// the groups' `cost`.
        #[arg(long, value_name = "KEY")]
        vary: Vec<String>,
        /// Plan only for these strategies (labels as in the results, comma-separated).
        #[arg(long, value_delimiter = ',', value_name = "A,B")]
        strategies: Vec<String>,
        /// Largest value searched [default: 4 × the smallest value with offered load below 1,
        /// and at least 8 more].
        #[arg(long, value_name = "N")]
        max: Option<u32>,
        /// Override a key of the file (repeatable), as for `run`.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Simulations run at once [default: every core].
        #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        jobs: Option<u32>,
        /// Print one JSON object on stdout instead of the table.
        #[arg(long)]
        json: bool,
        /// Also write the plan report (plan.json, report.html, report.md, charts/) into DIR.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Overwrite the results or reports already in the --out folder.
        #[arg(long, requires = "out")]
        force: bool,
        /// Allow more --jobs than cores.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Combine the folders of a sharded sweep into the results of the whole sweep.
    Merge {
        /// The shard folders (each with a journal.jsonl).
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Output folder [default: output/<experiment name>].
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Overwrite the results already in the output folder.
        #[arg(long)]
        force: bool,
        #[arg(long, short = 'q')]
        quiet: bool,
    },
    /// Regenerate the charts and reports of a sweep from DIR/results.json, without simulating.
    Report {
        /// The sweep's output directory (holds results.json).
        dir: PathBuf,
        /// Service-level objective, e.g. `--slo "p99 <= 250ms"` (overrides `[report] slo`).
        #[arg(long)]
        slo: Option<String>,
        /// Offered load for the per-load charts (overrides `[report] load`).
        #[arg(long)]
        load: Option<f64>,
    },
    /// Write the requests a run of the experiment sees (arrival time, work, client) as a
    /// trace CSV, for `lbsim loadgen` or `[arrivals] process = "trace"`.
    Trace {
        /// The experiment file (TOML).
        file: PathBuf,
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// The trace file to write.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Number of requests [default: the file's warm-up + measured requests].
        #[arg(long, value_name = "N")]
        requests: Option<u64>,
        /// Which replication's random streams (0 is what `lbsim run` simulates first).
        #[arg(long, value_name = "R", default_value_t = 0)]
        replication: u64,
    },
    /// Replay a trace against a real HTTP server, open loop, recording each request's send
    /// time, response time, status and serving backend (X-Backend header).
    Loadgen {
        /// The trace CSV (time,size[,client]), e.g. from `lbsim trace`.
        trace: PathBuf,
        /// Where to send: http://HOST[:PORT][/PATH].
        #[arg(long)]
        url: String,
        /// The per-request records (CSV) to write.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Requests left out of the summary (the records keep them).
        #[arg(long, value_name = "N", default_value_t = 0)]
        warmup: usize,
        /// Replay only the first N requests of the trace.
        #[arg(long, value_name = "N")]
        requests: Option<usize>,
        /// Fraction of each request's work sent as CPU time (X-Cpu); the rest is I/O (X-Io).
        #[arg(long, value_name = "F", default_value_t = 0.0)]
        cpu_share: f64,
        /// Most requests in flight at once; more wait (and the wait shows as send lag).
        #[arg(long, value_name = "N", default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..))]
        max_in_flight: u32,
        /// Seconds before an unanswered request counts as failed.
        #[arg(long, value_name = "SECONDS", default_value_t = 60.0)]
        timeout: f64,
        /// Print the summary as one JSON object on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Fit an access log: write an experiment (arrival rate, fitted service-time
    /// distribution), the log's requests as a trace CSV, and a Q–Q chart.
    Fit {
        /// The access log.
        log: PathBuf,
        /// nginx (the `lbsim` log_format), haproxy (option httplog) or gunicorn (…%(D)s).
        #[arg(long, value_name = "FORMAT")]
        format: lbsim::fit::Format,
        /// The experiment file to write [default: LOG's name with .toml]; the trace, the
        /// samples and the Q–Q chart go beside it.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Workers per backend, when the log does not say (gunicorn logs with %(p)s do).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        workers: Option<u32>,
        /// Leave out lines that do not parse (and count them) instead of stopping.
        #[arg(long)]
        skip_bad: bool,
        /// Overwrite the experiment, trace, samples and charts already there.
        #[arg(long)]
        force: bool,
    },
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Run { file, set, json, quiet, yes } => {
            let file = read(&file, &set)?;
            let experiment = file.resolve()?;
            for warning in lbsim::config::ramp_warnings(&file, &experiment) {
                eprintln!("warning: {warning}");
            }
            // One strategy runs at a time: the estimate is for one core.
            for warning in lbsim::budget::warnings_before_running(std::slice::from_ref(&experiment), 1) {
                eprintln!("warning: {warning}");
            }
            run::run(&experiment, json, quiet, yes)
        }
        Command::Check { file, set } => check::check(&file, &read(&file, &set)?),
        Command::Strategies => strategies::list(),
        Command::Sweep { file, set, out, jobs, resume, force, shard, quiet, yes } => sweep::sweep(sweep::Args {
            file,
            set,
            out,
            jobs: jobs.map(|j| j as usize),
            resume,
            force,
            shard,
            quiet,
            yes,
        }),
        Command::Plan { file, rate, slo, vary, strategies, max, set, jobs, json, out, force, yes } => {
            plan::run(plan::Args {
                file,
                set,
                rate,
                slo,
                vary,
                strategies,
                max,
                jobs: jobs.map(|j| j as usize),
                json,
                out,
                force,
                yes,
            })
        }
        Command::Merge { dirs, out, force, quiet } => merge::merge(&dirs, out, force, quiet),
        Command::Report { dir, slo, load } => report::report(&dir, slo, load),
        Command::Fit { log, format, out, workers, skip_bad, force } => {
            fit::run(fit::Args { log, format, out, workers, skip_bad, force })
        }
        Command::Trace { file, set, out, requests, replication } => {
            let experiment_file = read(&file, &set)?;
            refuse_writing_over_inputs(std::slice::from_ref(&out), &experiment_file.inputs())?;
            trace::trace(&file, &experiment_file.resolve()?, &out, requests, replication)
        }
        Command::Loadgen { trace, url, out, warmup, requests, cpu_share, max_in_flight, timeout, json } => {
            loadgen::loadgen(loadgen::Args {
                trace,
                url,
                out,
                warmup,
                requests,
                cpu_share,
                max_in_flight: max_in_flight as usize,
                timeout,
                json,
            })
        }
    }
}

/// Reads `file` and applies `--set` overrides.
fn read(file: &Path, set: &[String]) -> Result<ExperimentFile> {
    let mut experiment_file = ExperimentFile::read(file)?;
    for assignment in set {
        experiment_file.set(assignment)?;
    }
    Ok(experiment_file)
}

/// Refuses to write any of `outputs` over one of the command's `inputs` (each with what it
/// is), before anything is written: the atomic write would replace the input with what was
/// made from it.
fn refuse_writing_over_inputs(outputs: &[PathBuf], inputs: &[(&str, PathBuf)]) -> Result<()> {
    for out in outputs {
        for (what, input) in inputs {
            if lbsim::sweep::output::same_path(out, input) {
                anyhow::bail!(
                    "{} is {what} ({}), which this command reads: writing there would replace it; give another --out",
                    out.display(),
                    input.display()
                );
            }
        }
    }
    Ok(())
}
