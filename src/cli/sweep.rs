//! `lbsim sweep FILE`: the grid of `[sweep]` × strategies × replications, in parallel, into
//! an output folder; then the report stage.

use std::path::PathBuf;

use anyhow::Result;

use lbsim::config::ExperimentFile;
use lbsim::sweep::{self, Options, Shard};

/// The flags of `lbsim sweep`, as parsed.
pub struct Args {
    pub file: PathBuf,
    pub set: Vec<String>,
    pub out: Option<PathBuf>,
    pub jobs: Option<usize>,
    pub resume: bool,
    pub force: bool,
    pub shard: Option<String>,
    pub quiet: bool,
    pub yes: bool,
}

pub fn sweep(args: Args) -> Result<()> {
    let mut file = ExperimentFile::read(&args.file)?;
    for assignment in &args.set {
        file.set(assignment)?;
    }
    let shard = args.shard.as_deref().map(Shard::parse).transpose().map_err(anyhow::Error::msg)?;
    let options = Options {
        out: args.out,
        jobs: args.jobs,
        resume: args.resume,
        force: args.force,
        shard,
        quiet: args.quiet,
        yes: args.yes,
        command: std::env::args().collect(),
    };
    let outcome = sweep::run(&file, &options)?;
    let results = &outcome.results;
    let out = &outcome.out;
    if !args.quiet {
        let saturated = results.points.iter().flat_map(|p| &p.results).filter(|r| r.saturated).count();
        let what = match shard {
            Some(s) => format!("shard {s}: {} runs", outcome.ran + outcome.resumed),
            None => format!("{} points × {} strategies", results.points.len(), results.strategies.len()),
        };
        eprintln!("{what} done; results in {}", out.display());
        if saturated > 0 {
            eprintln!("  {saturated} point × strategy results are saturated (marked in results.csv)");
        }
        if let Some(s) = shard {
            eprintln!("  merge the {} shard folders with: lbsim merge DIR... --out DIR", s.count);
        }
    }
    if shard.is_none() {
        let written = lbsim::report::write_all(results, out)?;
        if !args.quiet {
            eprintln!("  {} charts and reports written: {}", written.len(), out.join("report.html").display());
        }
    }
    Ok(())
}
