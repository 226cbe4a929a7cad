//! `lbsim report DIR`: regenerates the charts and reports of a sweep from `DIR/results.json`
//! without simulating again (to restyle them, or to try another SLO or report load).

use std::path::Path;

use anyhow::{Context, Result};

use lbsim::report::{findings::Slo, write_all};
use lbsim::results::SweepResults;

pub fn report(dir: &Path, slo: Option<String>, load: Option<f64>) -> Result<()> {
    let path = dir.join("results.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading {} (run `lbsim sweep` first to produce it)", path.display()))?;
    let mut results: SweepResults =
        serde_json::from_str(&text).with_context(|| format!("{} is not a sweep's results file", path.display()))?;
    if let Some(slo) = slo {
        Slo::parse(&slo)?;
        results.report.slo = Some(slo);
    }
    if load.is_some() {
        results.report.load = load;
    }
    for written in write_all(&results, dir)? {
        println!("{}", written.display());
    }
    Ok(())
}
