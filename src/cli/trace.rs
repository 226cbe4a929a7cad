//! `lbsim trace FILE --out trace.csv`: the requests a run of the experiment sees, as a trace.

use std::path::Path;

use anyhow::Result;

use lbsim::experiment::{Experiment, Warmup};
use lbsim::seed::RunSeed;
use lbsim::traffic::{Requests, trace_csv};
use lbsim::units::significant;

/// Writes the first `count` requests (default: warm-up + measured requests of the file) of
/// replication `replication` at the experiment's point.
pub fn trace(file: &Path, experiment: &Experiment, out: &Path, count: Option<u64>, replication: u64) -> Result<()> {
    let warmup = match experiment.plan.warmup {
        Warmup::Fixed(w) => w,
        // MSER-5 decides per run; a trace has no run, so keep the pilot's upper bound.
        Warmup::Auto => experiment.plan.requests / 10,
    };
    let count = count.unwrap_or(warmup + experiment.plan.requests);
    let model = &experiment.model;
    if model.closed_loop().is_some() {
        anyhow::bail!(
            "{}: closed-loop users send each request when the previous response comes back, so their \
             arrival times depend on the simulated cluster and a trace cannot be written ahead of a run; \
             use open-loop [arrivals] to write a trace",
            file.display()
        );
    }
    let seed = RunSeed::new(experiment.seed, 0, replication);
    let comment = format!(
        "lbsim trace of {} (experiment \"{}\", seed {}, replication {replication}): {count} requests\n\
         arrivals {}; offered load {}\n\
         service  {}\n\
         time: arrival (s); size: work (s on a speed-1 worker); client: client id",
        file.display(),
        experiment.name,
        experiment.seed,
        model.arrivals.describe(),
        significant(model.offered_load(), 3),
        model.service.describe(),
    );
    let text = trace_csv(&comment, Requests::new(model, seed).take(count as usize));
    lbsim::sweep::output::write_atomically(out, text.as_bytes())?;
    eprintln!("wrote {count} requests to {}", out.display());
    Ok(())
}
