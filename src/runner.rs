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
use crate::stats::{Estimate, ResponseHistogram, f64_or_nan, mser_truncation};
use crate::strategy::{self, BackendInfo, Params, Setup, StrategyError};

/// Sections (batches) a single replication is cut into for its confidence intervals: 20
/// batches give a t quantile of 2.09, close to the normal's 1.96, while each batch stays long
/// enough for batch means to be nearly independent.
pub const SECTIONS: u32 = 20;

/// Most batch means an MSER-5 pilot keeps (bounded memory whatever the run length).
const MSER_BATCHES: u64 = 2000;

/// The metrics of a run, or of one section of it. Times in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    #[serde(deserialize_with = "f64_or_nan")]
    pub mean_response: f64,
    #[serde(deserialize_with = "f64_or_nan")]
    pub p50: f64,
    #[serde(deserialize_with = "f64_or_nan")]
    pub p90: f64,
    #[serde(deserialize_with = "f64_or_nan")]
    pub p95: f64,
    #[serde(deserialize_with = "f64_or_nan")]
    pub p99: f64,
    #[serde(deserialize_with = "f64_or_nan")]
    pub p999: f64,
    #[serde(deserialize_with = "f64_or_nan")]
    pub mean_wait: f64,
    #[serde(deserialize_with = "f64_or_nan")]
    pub mean_slowdown: f64,
    /// Completed requests per second over the window.
    #[serde(deserialize_with = "f64_or_nan")]
    pub throughput: f64,
    /// Busy worker-time ÷ available worker-time, whole cluster.
    #[serde(deserialize_with = "f64_or_nan")]
    pub utilisation: f64,
    /// Time-average number of requests in the whole cluster.
    #[serde(deserialize_with = "f64_or_nan")]
    pub mean_in_system: f64,
    #[serde(deserialize_with = "f64_or_nan")]
    pub rejected_fraction: f64,
}

/// One backend's figures over a replication's window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackendMeasure {
    pub name: String,
    #[serde(deserialize_with = "f64_or_nan")]
    pub utilisation: f64,
    #[serde(deserialize_with = "f64_or_nan")]
    pub throughput: f64,
    #[serde(deserialize_with = "f64_or_nan")]
    pub mean_in_system: f64,
    pub completed: u64,
    pub rejected: u64,
    /// Offered work ÷ capacity over the window (what this backend was asked to do).
    #[serde(deserialize_with = "f64_or_nan")]
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
    pub mean_response: Estimate,
    pub p50: Estimate,
    pub p90: Estimate,
    pub p95: Estimate,
    pub p99: Estimate,
    pub p999: Estimate,
    pub mean_wait: Estimate,
    pub mean_slowdown: Estimate,
    pub throughput: Estimate,
    pub utilisation: Estimate,
    pub mean_in_system: Estimate,
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
            configured_weight: g.weight,
            fcfs: matches!(g.worker_class, crate::model::WorkerClass::Sync),
        })
        .collect()
}

/// One strategy `name` per balancer instance of `model`, built for its backends; instance k
/// draws from the k-th strategy stream of `seed` (instance 0 from the stream a single
/// balancer always used, so one instance reproduces earlier results exactly).
pub fn build_instances(
    model: &Model,
    name: &str,
    params: &Params,
    seed: RunSeed,
) -> Result<Vec<strategy::AnyStrategy>, StrategyError> {
    let infos = backend_infos(model);
    (0..u64::from(model.balancer.instances.max(1)))
        .map(|k| {
            strategy::build(
                name,
                &Setup {
                    backends: &infos,
                    service: &model.service,
                    params,
                    addresses: model.addresses,
                    rng: seed.stream_of(Purpose::Strategy, k),
                },
            )
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
    let build = || build_instances(model, &spec.name, &spec.params, seed);
    let requests = experiment.plan.requests.max(1);
    let warmup = match experiment.plan.warmup {
        Warmup::Fixed(w) => w,
        Warmup::Auto => mser_warmup(model, &mut build()?, seed, requests),
    };
    let sections = SECTIONS.min(requests as u32);
    let window = Window { warmup, requests, sections, histograms: true };
    let outcome = engine::simulate_instances(model, &mut build()?, seed, &window);
    Ok(summarise(model, &infos, replication, warmup, &outcome))
}

/// The MSER-5 warm-up: a pilot run of `requests` arrivals with nothing discarded, cut into
/// batches of at least 5; the truncation that minimises the marginal standard error of the
/// batch means of response time. When no steady state shows (the minimum is in the second
/// half, typical of an overloaded system), half the pilot is discarded.
fn mser_warmup(model: &Model, strategies: &mut [strategy::AnyStrategy], seed: RunSeed, requests: u64) -> u64 {
    let batches = (requests / 5).clamp(1, MSER_BATCHES);
    let batch = requests / batches;
    let pilot = Window { warmup: 0, requests: batch * batches, sections: batches as u32, histograms: false };
    let outcome = engine::simulate_instances(model, strategies, seed, &pilot);
    let means: Vec<f64> = outcome.sections.iter().map(|s| s.mean_response()).collect();
    match mser_truncation(&means) {
        Some(d) => d as u64 * batch,
        None => requests / 2,
    }
}

/// The metrics of a section (or of the whole window, as one merged section).
fn metrics(s: &engine::Section, histogram: Option<&ResponseHistogram>, workers: f64) -> Metrics {
    let n = s.completed as f64;
    let q = |p: f64| histogram.map_or(f64::NAN, |h| h.quantile(p));
    Metrics {
        mean_response: s.sum_response / n,
        p50: q(0.5),
        p90: q(0.9),
        p95: q(0.95),
        p99: q(0.99),
        p999: q(0.999),
        mean_wait: s.sum_wait / n,
        mean_slowdown: s.sum_slowdown / n,
        throughput: (s.arrivals - s.rejected) as f64 / s.duration,
        utilisation: s.busy_area / (workers * s.duration),
        mean_in_system: s.in_system_area / s.duration,
        rejected_fraction: s.rejected as f64 / s.arrivals as f64,
    }
}

fn summarise(model: &Model, infos: &[BackendInfo], replication: u32, warmup: u64, o: &RunOutcome) -> Replication {
    let workers: f64 = infos.iter().map(|b| f64::from(b.workers)).sum();
    let sections: Vec<Metrics> =
        o.sections.iter().enumerate().map(|(k, s)| metrics(s, o.histograms.get(k), workers)).collect();
    let mut histogram = ResponseHistogram::new(model.service.mean());
    for h in &o.histograms {
        histogram.merge(h);
    }
    // The whole window as one section.
    let whole = o.sections.iter().fold(engine::Section::default(), |a, s| engine::Section {
        arrivals: a.arrivals + s.arrivals,
        rejected: a.rejected + s.rejected,
        completed: a.completed + s.completed,
        failed: std::array::from_fn(|c| a.failed[c] + s.failed[c]),
        sum_response: a.sum_response + s.sum_response,
        sum_wait: a.sum_wait + s.sum_wait,
        sum_slowdown: a.sum_slowdown + s.sum_slowdown,
        duration: a.duration + s.duration,
        in_system_area: a.in_system_area + s.in_system_area,
        busy_area: a.busy_area + s.busy_area,
    });
    let overall = metrics(&whole, Some(&histogram), workers);
    let (arrivals, completed, rejected) = (whole.arrivals, whole.completed, whole.rejected);
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
    let estimate = |f: fn(&Metrics) -> f64| -> Estimate {
        match reps {
            [one] => {
                let sections: Vec<f64> = one.sections.iter().map(f).collect();
                Estimate::from_observations(f(&one.overall), &sections)
            }
            _ => {
                let values: Vec<f64> = reps.iter().map(|r| f(&r.overall)).collect();
                Estimate::mean_of(&values)
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
