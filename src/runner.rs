//! One strategy on one experiment point: replications → estimates with 95 % confidence
//! intervals.
//!
//! A replication is one [`engine::simulate`] run, summarised into a [`Replication`] (plain
//! numbers, serialisable, so a sweep can journal it and combine later). [`combine`] turns
//! replications into a [`StrategyResult`]: with one replication the confidence intervals come
//! from the run's sections (batch means); with several, from the spread between
//! replications (Student t).

use serde::{Deserialize, Serialize};

use crate::engine::{self, RunOutcome, Window};
use crate::experiment::{Experiment, StrategySpec, Warmup};
use crate::model::Model;
use crate::seed::{Purpose, RunSeed};
use crate::stats::{Estimate, ResponseHistogram, mser_truncation};
use crate::strategy::{self, BackendInfo, Setup, StrategyError};

/// Sections (batches) a single replication is cut into for its confidence intervals: 20
/// batches give a t quantile of 2.09, close to the normal's 1.96, while each batch stays long
/// enough for batch means to be nearly independent.
pub const SECTIONS: u32 = 20;

/// Most batch means an MSER-5 pilot keeps (bounded memory whatever the run length).
const MSER_BATCHES: u64 = 2000;

/// The metrics of a run, or of one section of it. Times in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub mean_response: f64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub p999: f64,
    pub mean_wait: f64,
    pub mean_slowdown: f64,
    /// Completed requests per second over the window.
    pub throughput: f64,
    /// Busy worker-time ÷ available worker-time, whole cluster.
    pub utilisation: f64,
    /// Time-average number of requests in the whole cluster.
    pub mean_in_system: f64,
    pub rejected_fraction: f64,
}

/// One backend's figures over a replication's window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackendMeasure {
    pub name: String,
    pub utilisation: f64,
    pub throughput: f64,
    pub mean_in_system: f64,
    pub completed: u64,
    pub rejected: u64,
    /// Offered work ÷ capacity over the window (what this backend was asked to do).
    pub offered_load: f64,
}

/// The summary of one replication: everything [`combine`] needs, nothing more.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Replication {
    pub replication: u32,
    /// Arrivals discarded (after MSER-5 when the warm-up is automatic).
    pub warmup: u64,
    pub arrivals: u64,
    pub completed: u64,
    pub rejected: u64,
    pub overall: Metrics,
    /// The same metrics per section (for confidence intervals from a single replication).
    pub sections: Vec<Metrics>,
    pub backends: Vec<BackendMeasure>,
    pub saturated: bool,
    /// The response-time distribution as (t, P(T > t)) points, for CCDF charts.
    pub ccdf: Vec<[f64; 2]>,
}

/// Points kept of a response-time CCDF (enough for a smooth log-log curve).
const CCDF_POINTS: usize = 120;

/// A strategy's results at one experiment point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StrategyResult {
    /// The strategy's label (its name, or `name(k=v)`, or the user's label).
    pub strategy: String,
    /// Offered load (arrival rate × mean work ÷ capacity).
    pub load: f64,
    /// Requests per second.
    pub arrival_rate: f64,
    pub replications: u32,
    /// Measured arrivals over all replications.
    pub requests: u64,
    pub mean_response: EstimateRecord,
    pub p50: EstimateRecord,
    pub p90: EstimateRecord,
    pub p95: EstimateRecord,
    pub p99: EstimateRecord,
    pub p999: EstimateRecord,
    pub mean_wait: EstimateRecord,
    pub mean_slowdown: EstimateRecord,
    pub throughput: EstimateRecord,
    pub utilisation: EstimateRecord,
    pub mean_in_system: EstimateRecord,
    /// Measured requests rejected, over all replications.
    pub rejected: u64,
    pub rejected_fraction: f64,
    pub saturated: bool,
    /// Per backend, averaged over replications.
    pub backends: Vec<BackendMeasure>,
    /// Response-time CCDF of the first replication, (t, P(T > t)).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ccdf: Vec<[f64; 2]>,
}

/// An [`Estimate`] as stored in results (same fields, serialisable both ways).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EstimateRecord {
    pub value: f64,
    pub ci_low: f64,
    pub ci_high: f64,
}

impl From<Estimate> for EstimateRecord {
    fn from(e: Estimate) -> Self {
        EstimateRecord { value: e.value, ci_low: e.ci_low, ci_high: e.ci_high }
    }
}

impl EstimateRecord {
    pub fn half_width(&self) -> f64 {
        (self.ci_high - self.ci_low) / 2.0
    }
    /// True when `x` is inside the 95 % interval.
    pub fn contains(&self, x: f64) -> bool {
        self.ci_low <= x && x <= self.ci_high
    }
}

impl StrategyResult {
    /// Lowest and highest backend utilisation.
    pub fn utilisation_range(&self) -> (f64, f64) {
        self.backends
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), b| (lo.min(b.utilisation), hi.max(b.utilisation)))
    }
}

/// Static facts about every backend, as strategies see them when built.
pub fn backend_infos(model: &Model) -> Vec<BackendInfo> {
    model
        .each_backend()
        .map(|(g, i)| BackendInfo {
            name: g.backend_name(i),
            workers: g.workers,
            speed: g.speed,
            capacity: g.capacity(),
            weight: g.weight(),
            fcfs: matches!(g.worker_class, crate::model::WorkerClass::Sync),
        })
        .collect()
}

/// Runs every replication of `spec` at experiment point `point` and combines them.
pub fn run_strategy(experiment: &Experiment, spec: &StrategySpec, point: u64) -> Result<StrategyResult, StrategyError> {
    let replications = (0..experiment.plan.replications)
        .map(|r| run_replication(experiment, spec, point, r))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(combine(experiment, spec, &replications))
}

/// Runs replication `replication` of `spec` at `point`. Its random streams depend only on
/// (experiment seed, point, replication), so every strategy sees the same traffic.
pub fn run_replication(
    experiment: &Experiment,
    spec: &StrategySpec,
    point: u64,
    replication: u32,
) -> Result<Replication, StrategyError> {
    let seed = RunSeed::new(experiment.seed, point, u64::from(replication));
    let model = &experiment.model;
    let infos = backend_infos(model);
    let build = || {
        strategy::build(
            &spec.name,
            &Setup {
                backends: &infos,
                service: &model.service,
                params: &spec.params,
                rng: seed.stream(Purpose::Strategy),
            },
        )
    };
    let requests = experiment.plan.requests.max(1);
    let warmup = match experiment.plan.warmup {
        Warmup::Fixed(w) => w,
        Warmup::Auto => mser_warmup(model, &mut build()?, seed, requests),
    };
    let sections = SECTIONS.min(requests as u32);
    let window = Window { warmup, requests, sections, histograms: true };
    let outcome = engine::simulate(model, &mut build()?, seed, &window);
    Ok(summarise(model, &infos, replication, warmup, &outcome))
}

/// The MSER-5 warm-up: a pilot run of `requests` arrivals with nothing discarded, cut into
/// batches of at least 5; the truncation that minimises the marginal standard error of the
/// batch means of response time. When no steady state shows (the minimum is in the second
/// half, typical of an overloaded system), half the pilot is discarded.
fn mser_warmup(model: &Model, strategy: &mut strategy::AnyStrategy, seed: RunSeed, requests: u64) -> u64 {
    let batches = (requests / 5).clamp(1, MSER_BATCHES);
    let batch = requests / batches;
    let pilot = Window { warmup: 0, requests: batch * batches, sections: batches as u32, histograms: false };
    let outcome = engine::simulate(model, strategy, seed, &pilot);
    let means: Vec<f64> = outcome.sections.iter().map(|s| s.mean_response()).collect();
    match mser_truncation(&means) {
        Some(d) => d as u64 * batch,
        None => requests / 2,
    }
}

fn metrics(
    completed: u64,
    arrivals: u64,
    rejected: u64,
    sums: (f64, f64, f64),
    histogram: Option<&ResponseHistogram>,
    duration: f64,
    in_system_area: f64,
    busy_area: f64,
    workers: f64,
) -> Metrics {
    let n = completed as f64;
    let q = |p: f64| histogram.map_or(f64::NAN, |h| h.quantile(p));
    Metrics {
        mean_response: sums.0 / n,
        p50: q(0.5),
        p90: q(0.9),
        p95: q(0.95),
        p99: q(0.99),
        p999: q(0.999),
        mean_wait: sums.1 / n,
        mean_slowdown: sums.2 / n,
        throughput: (arrivals - rejected) as f64 / duration,
        utilisation: busy_area / (workers * duration),
        mean_in_system: in_system_area / duration,
        rejected_fraction: rejected as f64 / arrivals as f64,
    }
}

fn summarise(model: &Model, infos: &[BackendInfo], replication: u32, warmup: u64, o: &RunOutcome) -> Replication {
    let workers: f64 = infos.iter().map(|b| f64::from(b.workers)).sum();
    let sections: Vec<Metrics> = o
        .sections
        .iter()
        .enumerate()
        .map(|(k, s)| {
            metrics(
                s.completed,
                s.arrivals,
                s.rejected,
                (s.sum_response, s.sum_wait, s.sum_slowdown),
                o.histograms.get(k),
                s.duration,
                s.in_system_area,
                s.busy_area,
                workers,
            )
        })
        .collect();
    let mut histogram = ResponseHistogram::new(model.service.mean());
    for h in &o.histograms {
        histogram.merge(h);
    }
    let sum = |f: fn(&engine::Section) -> f64| o.sections.iter().map(f).sum::<f64>();
    let count = |f: fn(&engine::Section) -> u64| o.sections.iter().map(f).sum::<u64>();
    let (arrivals, completed, rejected) = (count(|s| s.arrivals), count(|s| s.completed), count(|s| s.rejected));
    let overall = metrics(
        completed,
        arrivals,
        rejected,
        (sum(|s| s.sum_response), sum(|s| s.sum_wait), sum(|s| s.sum_slowdown)),
        Some(&histogram),
        o.window,
        sum(|s| s.in_system_area),
        sum(|s| s.busy_area),
        workers,
    );
    let backends: Vec<BackendMeasure> = infos
        .iter()
        .zip(&o.backends)
        .map(|(info, b)| BackendMeasure {
            name: info.name.clone(),
            utilisation: b.integrals.busy / (f64::from(info.workers) * o.window),
            throughput: b.completed as f64 / o.window,
            mean_in_system: b.integrals.in_system / o.window,
            completed: b.completed,
            rejected: b.rejected,
            offered_load: b.offered_work / (info.capacity * o.window),
        })
        .collect();
    // Saturated: more work offered than the cluster can do, or a backend that was asked for
    // more than its capacity and ended the window with its queue half full, or requests
    // turned away in numbers (more than 1 in 1000): the results then describe a transient
    // that depends on the backlog and the run length, not a steady state.
    let limit = |g: &crate::model::BackendGroup| f64::from(g.workers) + f64::from(g.backlog);
    let limits: Vec<f64> = model.each_backend().map(|(g, _)| limit(g)).collect();
    let overloaded_backend = backends
        .iter()
        .zip(&o.backends)
        .zip(&limits)
        .any(|((m, b), lim)| m.offered_load >= 1.0 && f64::from(b.in_system_at_end) >= lim / 2.0);
    let saturated = model.offered_load() >= 1.0 || overloaded_backend || overall.rejected_fraction > 1e-3;
    let ccdf = histogram.ccdf(CCDF_POINTS).into_iter().map(|(t, p)| [t, p]).collect();
    Replication { replication, warmup, arrivals, completed, rejected, overall, sections, backends, saturated, ccdf }
}

/// Combines replications of one strategy at one point into estimates with 95 % intervals.
pub fn combine(experiment: &Experiment, spec: &StrategySpec, reps: &[Replication]) -> StrategyResult {
    let estimate = |f: fn(&Metrics) -> f64| -> EstimateRecord {
        match reps {
            [one] => {
                let sections: Vec<f64> = one.sections.iter().map(f).collect();
                Estimate::from_observations(f(&one.overall), &sections).into()
            }
            _ => {
                let values: Vec<f64> = reps.iter().map(|r| f(&r.overall)).collect();
                Estimate::mean_of(&values).into()
            }
        }
    };
    let arrivals: u64 = reps.iter().map(|r| r.arrivals).sum();
    let rejected: u64 = reps.iter().map(|r| r.rejected).sum();
    let n = reps.len().max(1) as f64;
    let backends = match reps.first() {
        None => Vec::new(),
        Some(first) => (0..first.backends.len())
            .map(|i| {
                let avg = |f: fn(&BackendMeasure) -> f64| reps.iter().map(|r| f(&r.backends[i])).sum::<f64>() / n;
                BackendMeasure {
                    name: first.backends[i].name.clone(),
                    utilisation: avg(|b| b.utilisation),
                    throughput: avg(|b| b.throughput),
                    mean_in_system: avg(|b| b.mean_in_system),
                    completed: reps.iter().map(|r| r.backends[i].completed).sum(),
                    rejected: reps.iter().map(|r| r.backends[i].rejected).sum(),
                    offered_load: avg(|b| b.offered_load),
                }
            })
            .collect(),
    };
    let model = &experiment.model;
    StrategyResult {
        strategy: spec.label.clone(),
        load: model.offered_load(),
        arrival_rate: model.arrivals.mean_rate(),
        replications: reps.len() as u32,
        requests: arrivals,
        mean_response: estimate(|m| m.mean_response),
        p50: estimate(|m| m.p50),
        p90: estimate(|m| m.p90),
        p95: estimate(|m| m.p95),
        p99: estimate(|m| m.p99),
        p999: estimate(|m| m.p999),
        mean_wait: estimate(|m| m.mean_wait),
        mean_slowdown: estimate(|m| m.mean_slowdown),
        throughput: estimate(|m| m.throughput),
        utilisation: estimate(|m| m.utilisation),
        mean_in_system: estimate(|m| m.mean_in_system),
        rejected,
        rejected_fraction: if arrivals == 0 { 0.0 } else { rejected as f64 / arrivals as f64 },
        saturated: reps.iter().any(|r| r.saturated),
        backends,
        ccdf: reps.first().map(|r| r.ccdf.clone()).unwrap_or_default(),
    }
}
