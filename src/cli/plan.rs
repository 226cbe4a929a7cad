//! `lbsim plan FILE --rate R --slo "p99 <= 250ms" [--vary KEY]`: the smallest size meeting an
//! SLO, per strategy (the work is in `lbsim::plan`).

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{Context as _, Result};

use lbsim::plan::{Question, Vary, cost, report, text};
use lbsim::slo::Slo;

pub struct Args {
    pub file: PathBuf,
    pub set: Vec<String>,
    pub rate: f64,
    pub slo: String,
    pub vary: Vec<String>,
    pub strategies: Vec<String>,
    pub max: Option<u32>,
    pub jobs: Option<usize>,
    pub json: bool,
    pub out: Option<PathBuf>,
    pub force: bool,
    pub yes: bool,
}

pub fn run(args: Args) -> Result<()> {
    let slo = Slo::parse(&args.slo)?;
    // Before the plan runs (minutes of simulation), so a wrong --out costs nothing.
    if let Some(out) = &args.out {
        if out.exists() && !out.is_dir() {
            anyhow::bail!(
                "--out {} is a file; it names the folder for plan.json, report.html, report.md and charts/",
                out.display()
            );
        }
        let present = lbsim::sweep::results_in(out);
        if !present.is_empty() && !args.force {
            anyhow::bail!(
                "{} already holds results ({}); use --force to overwrite them, or another --out",
                out.display(),
                present.join(", ")
            );
        }
    }
    let file = super::read(&args.file, &args.set)?;
    let base = file.resolve()?;
    let alternatives = if args.vary.is_empty() {
        vec![Vary::resolve(None, &base)?]
    } else {
        args.vary.iter().map(|v| Vary::resolve(Some(v), &base)).collect::<Result<Vec<_>>>()?
    };
    let question =
        Question { rate: args.rate, slo, vary: alternatives[0].clone(), max: args.max, strategies: args.strategies };
    let (jobs, note) = lbsim::budget::jobs(args.jobs, args.yes).map_err(anyhow::Error::msg)?;
    if let Some(note) = note {
        eprintln!("note: {note}");
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .thread_name(|i| format!("lbsim-plan-{i}"))
        .build()
        .context("cannot start the worker threads")?;
    if !args.json && std::io::stderr().is_terminal() {
        eprintln!("planning on {jobs} thread{}…", if jobs == 1 { "" } else { "s" });
    }
    let answer = pool.install(|| cost::compare(&file, &question, &alternatives))?;
    if let Some(out) = &args.out {
        let command: Vec<String> = std::env::args().collect();
        report::write_comparison(&answer, out, &command)?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&text::comparison_json(&answer))?);
    } else {
        print!("{}", text::comparison_table(&answer));
        if let Some(out) = &args.out {
            println!("\nreport: {}", out.join("report.html").display());
        }
    }
    Ok(())
}
