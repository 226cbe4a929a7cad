//! `lbsim trace FILE --out trace.csv`: the requests a run of the experiment sees, as a trace.

use std::path::Path;

use anyhow::Result;

use lbsim::experiment::{Experiment, Warmup};
use lbsim::seed::RunSeed;
use lbsim::traffic::{Requests, write_trace_csv};
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
    // Rows are streamed to the file, so memory is no limit, but the disk is: refuse a count
    // whose trace would not fit (rather than fill the disk and fail), measuring the rows'
    // length on the first thousand.
    let folder = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut sample = Vec::new();
    let sampled = count.min(1000);
    write_trace_csv(&mut sample, "", Requests::new(model, seed).take(sampled as usize))?;
    let bytes = (sample.len() as f64 - "time,size,client\n".len() as f64) / sampled.max(1) as f64 * count as f64;
    if let Some(free) = lbsim::budget::free_disk(folder) {
        if bytes > free {
            anyhow::bail!(
                "{count} requests make a trace of about {}, more than the {} free in {}; ask for fewer with --requests",
                lbsim::budget::format_bytes(bytes),
                lbsim::budget::format_bytes(free),
                folder.display()
            );
        }
    }
    // Ctrl-C stops the writing and removes the partial trace (a hidden temporary file that
    // the default signal action would leave behind).
    lbsim::sweep::install_stop_handler(
        "interrupted: stopping; the partial trace is removed (interrupt again to exit at once)…",
        "interrupted again: exiting now; the partial trace was removed",
    );
    let requests = Requests::new(model, seed).take(count as usize);
    lbsim::sweep::output::write_atomically_interruptible(out, |file| write_trace_csv(file, &comment, requests))?;
    eprintln!("wrote {count} requests to {}", out.display());
    Ok(())
}
