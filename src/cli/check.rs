//! `lbsim check FILE`: validate without simulating — the experiment, and its `[sweep]` and
//! `[report]` sections (every grid point resolves, the SLO parses, the report load is
//! swept), so that nothing a sweep would trip on is found only after it ran.

use std::path::Path;

use anyhow::Result;

use lbsim::budget::{Cost, MAX_POINTS, group_digits};
use lbsim::config::ExperimentFile;
use lbsim::sweep::{Sweep, grid::Grid, spec};
use lbsim::units::significant;

pub fn check(path: &Path, file: &ExperimentFile) -> Result<()> {
    let experiment = file.resolve()?;
    let model = &experiment.model;
    let plural = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let labels: Vec<&str> = experiment.strategies.iter().map(|s| s.label.as_str()).collect();
    let traffic = match model.closed_loop() {
        Some(users) => format!("{} (throughput measured)", users.describe()),
        None => {
            format!("load {} ({}/s)", significant(model.offered_load(), 3), significant(model.arrivals.mean_rate(), 4))
        }
    };
    println!(
        "{}: ok — experiment \"{}\": {}, {traffic}, {}: {}",
        path.display(),
        experiment.name,
        plural(model.backend_count(), "backend", "backends"),
        plural(labels.len(), "strategy", "strategies"),
        labels.join(", ")
    );
    let points = Grid::new(spec::axes(file)?).len();
    spec::report_options(file)?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if points > MAX_POINTS {
        // Resolving a million points is the cost `lbsim sweep` asks about: estimate instead.
        let cost = Cost::of(std::slice::from_ref(&experiment), cores).scaled(points);
        println!(
            "  sweep: {} points, {} (lbsim sweep will ask for --yes)",
            group_digits(points as u64),
            cost.describe()
        );
        return Ok(());
    }
    if file.item("sweep").is_some() || file.item("report").is_some() {
        let sweep = Sweep::prepare(file)?;
        let cost = Cost::of(&sweep.points, cores);
        let ask = if cost.refusal("").is_some() { " (lbsim sweep will ask for --yes)" } else { "" };
        println!("  sweep: {}, {}{ask}", plural(points, "point", "points"), cost.describe());
        for warning in lbsim::config::ramp_warnings_of_points(file, &sweep.points) {
            println!("  warning: {warning}");
        }
        for warning in lbsim::budget::warnings_before_running(&sweep.points, cores) {
            println!("  warning: {warning}");
        }
    } else {
        for warning in lbsim::config::ramp_warnings(file, &experiment) {
            println!("  warning: {warning}");
        }
        for warning in lbsim::budget::warnings_before_running(std::slice::from_ref(&experiment), cores) {
            println!("  warning: {warning}");
        }
    }
    Ok(())
}
