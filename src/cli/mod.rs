//! Command-line interface: argument parsing and one module per subcommand.

mod check;
mod report;
mod run;
mod strategies;

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
    },
    /// Validate an experiment file without running it.
    Check {
        file: PathBuf,
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
    },
    /// List the balancing strategies with a one-line description and their parameters.
    Strategies,
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
        Command::Run { file, set, json } => run::run(&load(&file, &set)?, json),
        Command::Check { file, set } => check::check(&file, &load(&file, &set)?),
        Command::Strategies => strategies::list(),
        Command::Report { dir, slo, load } => report::report(&dir, slo, load),
    }
}

/// Reads `file`, applies `--set` overrides and resolves the experiment.
fn load(file: &Path, set: &[String]) -> Result<Experiment> {
    let mut experiment_file = ExperimentFile::read(file)?;
    for assignment in set {
        experiment_file.set(assignment)?;
    }
    Ok(experiment_file.resolve()?)
}
