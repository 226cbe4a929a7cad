//! `lbsim check FILE`: validate without simulating.

use std::path::Path;

use anyhow::Result;

use lbsim::experiment::Experiment;
use lbsim::units::significant;

pub fn check(file: &Path, experiment: &Experiment) -> Result<()> {
    let model = &experiment.model;
    let plural = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let labels: Vec<&str> = experiment.strategies.iter().map(|s| s.label.as_str()).collect();
    println!(
        "{}: ok — experiment \"{}\": {}, load {} ({}/s), {}: {}",
        file.display(),
        experiment.name,
        plural(model.backend_count(), "backend", "backends"),
        significant(model.offered_load(), 3),
        significant(model.arrivals.mean_rate(), 4),
        plural(labels.len(), "strategy", "strategies"),
        labels.join(", ")
    );
    Ok(())
}
