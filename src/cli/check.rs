//! `lbsim check FILE`: validate without simulating.

use std::path::Path;

use anyhow::Result;

use lbsim::experiment::Experiment;

pub fn check(file: &Path, experiment: &Experiment) -> Result<()> {
    let model = &experiment.model;
    println!(
        "{}: ok — experiment \"{}\", {} backends, load {:.3} ({:.4}/s), {} strateg{}",
        file.display(),
        experiment.name,
        model.backend_count(),
        model.offered_load(),
        model.arrivals.mean_rate(),
        experiment.strategies.len(),
        if experiment.strategies.len() == 1 { "y" } else { "ies" }
    );
    Ok(())
}
