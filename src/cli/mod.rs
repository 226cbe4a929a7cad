//! Command-line interface: argument parsing and one module per subcommand.

mod check;
mod merge;
mod report;
mod run;
mod strategies;
mod sweep;

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::{Parser, Subcommand};

use lbsim::config::ExperimentFile;
use lbsim::experiment::Experiment;

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
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Run { file, set, json, yes } => run::run(&load(&file, &set)?, json, yes),
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
        Command::Merge { dirs, out, force, quiet } => merge::merge(&dirs, out, force, quiet),
        Command::Report { dir, slo, load } => report::report(&dir, slo, load),
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

/// Reads `file`, applies `--set` overrides and resolves the experiment.
fn load(file: &Path, set: &[String]) -> Result<Experiment> {
    Ok(read(file, set)?.resolve()?)
}
