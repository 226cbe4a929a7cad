//! An experiment as loaded from a file: the model, how to measure it, which strategies to run.

use std::borrow::Cow;

use crate::model::{BalancerOverride, Model};
use crate::strategy::Params;

/// How much to simulate and what to throw away.
#[derive(Debug, Clone, PartialEq)]
pub struct RunPlan {
    /// Requests measured per replication.
    pub requests: u64,
    /// Requests discarded first.
    pub warmup: Warmup,
    /// Independent replications (different random streams).
    pub replications: u32,
    /// Sweeps only: add replications until the 95 % CI half-width of the mean response
    /// time is within this fraction of the mean.
    pub precision: Option<f64>,
    /// Upper bound on replications when `precision` is set.
    pub max_replications: u32,
    /// Record a time series with windows this long (`[run] series = "1s"`).
    pub series: Option<f64>,
}

/// Warm-up deletion.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Warmup {
    /// Discard this many requests.
    Fixed(u64),
    /// Choose the truncation point with MSER-5 from a pilot run.
    Auto,
}

/// One strategy to run, as named in `[balancer] strategies`.
#[derive(Debug, Clone, PartialEq)]
pub struct StrategySpec {
    /// Registry name (`"power_of_d"`).
    pub name: String,
    /// What results call it: the name, or `name(d=3)` when parameters were given, or the
    /// user's `label`.
    pub label: String,
    pub params: Params,
    /// Balancer settings this strategy's runs change (usually none).
    pub balancer: BalancerOverride,
}

impl StrategySpec {
    /// A strategy with default parameters under its own name.
    pub fn named(name: &str) -> Self {
        StrategySpec {
            name: name.to_string(),
            label: name.to_string(),
            params: Params::new(name),
            balancer: BalancerOverride::default(),
        }
    }

    /// The model this strategy runs on: `model` with the strategy's balancer overrides.
    pub fn model<'m>(&self, model: &'m Model) -> Cow<'m, Model> {
        if self.balancer.is_empty() {
            return Cow::Borrowed(model);
        }
        let mut m = model.clone();
        m.balancer = self.balancer.apply(&model.balancer, model.backends.len());
        if let Some(client) = self.balancer.client {
            m.client = client;
        }
        Cow::Owned(m)
    }
}

/// How the arrival rate was specified.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Intensity {
    /// Offered utilisation; the rate is derived from it.
    Load(f64),
    /// Requests per second; the load is reported.
    Rate(f64),
    /// Neither: the trace's own timing.
    Native,
    /// Neither: closed-loop users, whose rate is an output.
    Users,
}

/// A validated experiment.
#[derive(Debug, Clone)]
pub struct Experiment {
    pub name: String,
    /// Free text from `[experiment] description`, shown in reports.
    pub description: Option<String>,
    pub seed: u64,
    pub plan: RunPlan,
    pub intensity: Intensity,
    /// The model with the arrival rate already resolved from `intensity`.
    pub model: Model,
    pub strategies: Vec<StrategySpec>,
    /// The SLO's limit (seconds), when a sweep's `[report] slo` or `lbsim plan --slo` gives
    /// one: each run then also counts its responses above it, for P(response > limit). Not
    /// part of what is simulated (a sweep whose SLO changes still resumes).
    pub slo_limit: Option<f64>,
    /// What each backend group costs (`[[backends]] cost`), one per `model.backends` group:
    /// every group has one, or none does. Not part of what is simulated.
    pub costs: Vec<Option<Cost>>,
}

/// What one backend of a group costs per hour (`lbsim plan` names the cheapest
/// configuration): a part per backend and a part per worker, in any currency.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Cost {
    pub backend: f64,
    pub worker: f64,
}

impl Cost {
    /// One backend with `workers` workers, per hour.
    pub fn per_backend(&self, workers: u32) -> f64 {
        self.backend + self.worker * f64::from(workers)
    }
}

impl Experiment {
    /// The cluster's cost per hour, Σ count × (backend + worker × workers) over the groups
    /// (`None` when the file gives no costs).
    pub fn cost_per_hour(&self) -> Option<f64> {
        if self.costs.is_empty() {
            return None;
        }
        self.model
            .backends
            .iter()
            .zip(&self.costs)
            .map(|(g, c)| c.map(|c| f64::from(g.count) * c.per_backend(g.workers)))
            .sum()
    }
}
