//! Which runs a sweep needs: every strategy at every point, `run.replications` times, plus,
//! with `run.precision`, further rounds of replications at the points whose confidence
//! intervals are still too wide.
//!
//! The plan is a pure function of the results so far ([`Store`]): whoever asks (one
//! machine, a resumed sweep, a shard, `lbsim merge`) gets the same answer from the same
//! results, whatever order runs finished in. That is what makes results reproducible across
//! job counts, interruptions and shard splits.

use std::collections::BTreeMap;

use crate::experiment::Experiment;
use crate::runner::{Replication, StrategyResult, combine};

/// One simulation run: a strategy (index in `[balancer] strategies`) at a grid point, one
/// replication. Ordered point, strategy, replication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RunKey {
    pub point: usize,
    pub strategy: usize,
    pub replication: u32,
}

/// Finished runs.
pub type Store = BTreeMap<RunKey, Replication>;

/// What a point still needs.
#[derive(Debug, Clone, PartialEq)]
pub enum PointState {
    /// Every strategy has this many replications and needs no more.
    Done(u32),
    /// These runs are missing for the current round.
    Needs(Vec<RunKey>),
}

/// The replication rule of a sweep.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rule {
    /// Replications every (point, strategy) gets.
    pub base: u32,
    /// Target relative half-width of the mean response time's 95 % interval.
    pub precision: Option<f64>,
    /// Cap on replications when `precision` is set.
    pub max: u32,
}

impl Rule {
    pub fn of(experiment: &Experiment) -> Self {
        let plan = &experiment.plan;
        let base = plan.replications.max(1);
        Rule { base, precision: plan.precision, max: plan.max_replications.max(base) }
    }

    /// The state of `point` (whose experiment is `experiment`) given `store`.
    ///
    /// Rounds: all strategies run `n` replications (starting from `base`); when they are all
    /// in, a strategy whose interval is still wider than `precision × mean` (and is not
    /// saturated: a transient has no steady-state mean to pin down) asks for more. The next
    /// round's `n` is the estimate of what is needed (half-width shrinks as 1/√n), at least
    /// n + 1 and at most 2n and `max`, the same for every strategy so that they stay paired
    /// on common random numbers.
    pub fn state(&self, point: usize, experiment: &Experiment, store: &Store) -> PointState {
        let strategies = experiment.strategies.len();
        let mut n = self.base;
        loop {
            let missing: Vec<RunKey> = (0..strategies)
                .flat_map(|strategy| (0..n).map(move |replication| RunKey { point, strategy, replication }))
                .filter(|k| !store.contains_key(k))
                .collect();
            if !missing.is_empty() {
                return PointState::Needs(missing);
            }
            let Some(precision) = self.precision else { return PointState::Done(n) };
            if n >= self.max {
                return PointState::Done(n);
            }
            let mut wanted = n;
            for (strategy, spec) in experiment.strategies.iter().enumerate() {
                let result = combine(experiment, spec, &replications(store, point, strategy, n));
                wanted = wanted.max(needed(&result, precision, n));
            }
            if wanted <= n {
                return PointState::Done(n);
            }
            n = wanted.clamp(n + 1, (2 * n).min(self.max));
        }
    }
}

/// Replications a result needs for `precision` (n when it already meets it).
fn needed(result: &StrategyResult, precision: f64, n: u32) -> u32 {
    let mean = result.mean_response.value;
    let half = result.mean_response.half_width();
    if result.saturated || !mean.is_finite() || !half.is_finite() || half <= precision * mean.abs() {
        return n;
    }
    let ratio = half / (precision * mean.abs());
    let estimate = (f64::from(n) * ratio * ratio).ceil();
    if estimate >= f64::from(u32::MAX) { u32::MAX } else { estimate as u32 }
}

/// Replications 0..n of one strategy at one point, in order (they must all be in `store`).
pub fn replications(store: &Store, point: usize, strategy: usize, n: u32) -> Vec<Replication> {
    (0..n).filter_map(|replication| store.get(&RunKey { point, strategy, replication }).cloned()).collect()
}
