//! `lbsim report DIR`: regenerates the charts and reports of a sweep from `DIR/results.json`
//! without simulating again (to restyle them, or to try another SLO or report load).

use std::path::Path;

use anyhow::{Context, Result, bail};

use lbsim::report::{findings::Slo, write_all};
use lbsim::results::SweepResults;

pub fn report(dir: &Path, slo: Option<String>, load: Option<f64>) -> Result<()> {
    let path = dir.join("results.json");
    if !path.is_file() {
        bail!("{}: no results.json there (run `lbsim sweep` first to produce it)", dir.display());
    }
    // The charts are rewritten: not while a sweep is writing into the same folder.
    let _lock = lbsim::sweep::lock::acquire(dir, &std::env::args().collect::<Vec<_>>())?;
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading {} (run `lbsim sweep` first to produce it)", path.display()))?;
    let mut results: SweepResults =
        serde_json::from_str(&text).with_context(|| format!("{} is not a sweep's results file", path.display()))?;
    if let Some(slo) = slo {
        Slo::parse(&slo)?;
        results.report.slo = Some(slo);
    }
    if let Some(load) = load {
        let loads: Vec<f64> = results.points.iter().filter_map(|p| p.results.first()).map(|r| r.load).collect();
        lbsim::results::check_swept_load(load, &loads).map_err(|m| anyhow::anyhow!("--load: {m}"))?;
        results.report.load = Some(load);
        // The number-in-system series were recorded at the sweep's report load: record them
        // at the new one (a short simulation), so that every per-load chart shows one load.
        if lbsim::sweep::journal::exists(dir) {
            if let Err(e) = lbsim::sweep::output::retake_timeseries(dir, &mut results) {
                eprintln!("note: the requests-over-time chart keeps the sweep's load ({e:#})");
            }
        } else {
            eprintln!("note: the requests-over-time chart keeps the sweep's load (no journal in {})", dir.display());
        }
    }
    for written in write_all(&results, dir)? {
        println!("{}", written.display());
    }
    Ok(())
}
