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

/// A ramp of users that may outlast the run, found before it runs (see
/// [`Experiment::ramp_outlasting_run`]).
#[derive(Debug, Clone, PartialEq)]
pub struct RampEstimate {
    /// When the ramp's last stage ends (seconds).
    pub length: f64,
    /// The requests the run simulates: `[run] warmup` (when fixed) plus `[run] requests`.
    pub requests: u64,
    /// The earliest time by which the users can have sent them, at the closed loop's
    /// throughput bound min(N(t)/(D + Z), X_max) (seconds): the run ends then at the
    /// earliest.
    pub earliest_end: f64,
    /// The bound's terms: the cycle D + Z (seconds) and X_max (requests per second).
    pub cycle: f64,
    pub max_throughput: f64,
    /// The smallest `[run] requests` whose run cannot end before the ramp does (under the
    /// same bound).
    pub requests_needed: u64,
    /// The stages a run ending at `earliest_end` would not cover, whole or in part, by
    /// number and time span ([`crate::model::Profile::stages_after`]).
    pub unreached: String,
}

/// A ramp some of whose stages fall in a fixed warm-up, found before the run (see
/// [`Experiment::ramp_in_warmup`]).
#[derive(Debug, Clone, PartialEq)]
pub struct WarmupEstimate {
    /// The requests discarded (`[run] warmup`).
    pub warmup: u64,
    /// The earliest time by which the users can have sent them, at the throughput bound
    /// min(N(t)/(D + Z), X_max) (seconds): the warm-up lasts at least until then.
    pub earliest_end: f64,
    /// The bound's terms, as in [`RampEstimate`].
    pub cycle: f64,
    pub max_throughput: f64,
    /// The stages before `earliest_end`, whole or in part, by number and time span
    /// ([`crate::model::Profile::stages_before`]).
    pub discarded: String,
}

impl Experiment {
    /// The closed loop's throughput bound's terms: the cycle D + Z and X_max.
    fn bound_terms(&self) -> (f64, f64) {
        let (demand, max_throughput) = self.model.demand_and_max_throughput();
        let think = self.model.closed_loop().map_or(0.0, |u| u.mean_think());
        (demand + think, max_throughput)
    }

    /// A ramp of users that the run may not last through: `None` without a ramp, or when
    /// the run's requests take at least the ramp's length even at the throughput bound
    /// min(N(t)/(D + Z), X_max) along the profile. The bound is an upper one on how fast
    /// users whose requests complete can send (the run's real rate is lower, past the knee
    /// markedly), so `Some` says when the run ends at the earliest — later in practice —
    /// and `None` that it cannot end before the ramp does (unless refusals and failures
    /// answer users faster than any service would). The run itself reports whether it did
    /// ([`crate::runner::Warning::RampCutShort`]).
    pub fn ramp_outlasting_run(&self) -> Option<RampEstimate> {
        let users = self.model.closed_loop()?;
        let profile = users.profile();
        if users.ramp.is_empty() {
            return None;
        }
        let (cycle, max_throughput) = self.bound_terms();
        let warmup = match self.plan.warmup {
            Warmup::Fixed(w) => w,
            Warmup::Auto => 0,
        };
        let requests = warmup.saturating_add(self.plan.requests);
        let length = profile.length();
        let covering = profile.most_requests_by(length, cycle, max_throughput);
        if !covering.is_finite() || requests as f64 >= covering {
            return None;
        }
        let earliest_end = profile.earliest_time_for(requests as f64, cycle, max_throughput);
        Some(RampEstimate {
            length,
            requests,
            earliest_end,
            cycle,
            max_throughput,
            requests_needed: (covering.ceil() as u64).saturating_sub(warmup).max(1),
            unreached: profile.stages_after(earliest_end)?,
        })
    }

    /// Stages of a ramp of users that a fixed warm-up discards: `None` without a ramp or a
    /// warm-up. The warm-up's requests are sent no sooner than at the throughput bound, so
    /// the stages before [`WarmupEstimate::earliest_end`] are discarded whatever the run's
    /// real rate (and some after it too, as the real rate is lower). An automatic warm-up
    /// is not estimated here: MSER-5 chooses it from a pilot, and the run reports what it
    /// discarded ([`crate::runner::Warning::RampInWarmup`]).
    pub fn ramp_in_warmup(&self) -> Option<WarmupEstimate> {
        let users = self.model.closed_loop()?;
        let Warmup::Fixed(warmup) = self.plan.warmup else { return None };
        if users.ramp.is_empty() || warmup == 0 {
            return None;
        }
        let (cycle, max_throughput) = self.bound_terms();
        let profile = users.profile();
        let earliest_end = profile.earliest_time_for(warmup as f64, cycle, max_throughput);
        Some(WarmupEstimate {
            warmup,
            earliest_end,
            cycle,
            max_throughput,
            discarded: profile.stages_before(earliest_end)?,
        })
    }

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
