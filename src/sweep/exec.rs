//! Running a batch of runs in parallel on a rayon pool of `--jobs` threads, journaling each
//! as it finishes.
//!
//! Order of completion does not matter to the results (seeds come from (experiment seed,
//! point, replication) only, see [`crate::seed::RunSeed`]), so threads just take runs as
//! they go. A stop request (Ctrl-C, SIGTERM, or the test hook `LBSIM_STOP_AFTER`) stops
//! handing out new runs; the runs already going finish and are journaled.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use anyhow::{Result, anyhow};
use rayon::prelude::*;

use super::journal::{Entry, Journal};
use super::plan::{RunKey, Store};
use super::progress::Progress;
use crate::experiment::Experiment;
use crate::runner::run_replication;

/// What the batch runs on.
pub struct Executor<'a> {
    /// One experiment per grid point.
    pub points: &'a [Experiment],
    /// `--jobs` threads.
    pub pool: &'a rayon::ThreadPool,
    pub journal: &'a Journal,
    pub progress: &'a Progress,
    /// Set to stop handing out runs.
    pub stop: &'a AtomicBool,
    /// Test hook: request a stop after this many runs finished in this process, as an
    /// interruption would.
    pub stop_after: Option<u64>,
    /// Runs finished in this process so far.
    pub finished: &'a AtomicU64,
}

impl Executor<'_> {
    /// Runs `runs`, adding each result to `store` and the journal. Returns early (with the
    /// finished runs stored) when a stop is requested; a failing run stops the batch and is
    /// returned as the error.
    pub fn execute(&self, runs: &[RunKey], store: &mut Store) -> Result<()> {
        let done = Mutex::new(Vec::with_capacity(runs.len()));
        let failure: Mutex<Option<anyhow::Error>> = Mutex::new(None);
        self.pool.install(|| {
            // One run per task: runs are long (milliseconds to minutes) next to rayon's
            // overhead, and uneven, so fine-grained stealing balances best.
            runs.par_iter().with_max_len(1).for_each(|key| {
                if self.stop.load(Ordering::SeqCst) {
                    return;
                }
                match self.run_one(key) {
                    Ok(entry) => {
                        done.lock().unwrap_or_else(|e| e.into_inner()).push((*key, entry.result));
                        self.progress.inc();
                        let n = self.finished.fetch_add(1, Ordering::SeqCst) + 1;
                        if self.stop_after.is_some_and(|limit| n >= limit) {
                            self.stop.store(true, Ordering::SeqCst);
                        }
                    }
                    Err(e) => {
                        self.stop.store(true, Ordering::SeqCst);
                        failure.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert(e);
                    }
                }
            });
        });
        for (key, result) in done.into_inner().unwrap_or_else(|e| e.into_inner()) {
            store.insert(key, result);
        }
        match failure.into_inner().unwrap_or_else(|e| e.into_inner()) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn run_one(&self, key: &RunKey) -> Result<Entry> {
        let experiment = &self.points[key.point];
        let spec = &experiment.strategies[key.strategy];
        let result = run_replication(experiment, spec, key.point as u64, key.replication)
            .map_err(|e| anyhow!("{} at sweep point {}: {e}", spec.label, key.point))?;
        let entry =
            Entry { point: key.point as u64, strategy: spec.label.clone(), replication: key.replication, result };
        self.journal.append(&entry)?;
        Ok(entry)
    }
}
