//! One strategy on one experiment point: replications → estimates with 95 % confidence
//! intervals.
//!
//! A replication is one [`engine::simulate`] run, summarised into a [`Replication`] (plain
//! numbers, serialisable, so a sweep can journal it and combine later). [`combine`] turns
//! replications into a [`StrategyResult`]: with one replication the confidence intervals come
//! from the run's sections (batch means; for quantiles, the inverted bootstrap-t test of the
//! exceedance fraction over them, see [`crate::stats::quantile_interval`]); with several, from the spread between
//! replications (Student t; a quantile is that of their responses pooled). It also gives the
//! saturation verdict and the "too short to trust" warnings (see [`Warning`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::engine::{self, RunOutcome, Window};
use crate::experiment::{Experiment, StrategySpec, Warmup};
use crate::model::{ArrivalProcess, Hedge, Model};
use crate::seed::{Purpose, RunSeed};
use crate::stats::{
    Estimate, QuantileInterval, ResponseHistogram, f64_or_nan, mser_truncation, quantile_intervals, quantile_of_mixture,
};
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
    /// Requests that completed successfully per second (accepted requests minus those that
    /// failed: worker timeouts, resets); equals `throughput` when nothing fails.
    #[serde(default = "nan", deserialize_with = "f64_or_nan")]
    pub goodput: f64,
}

fn nan() -> f64 {
    f64::NAN
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
    /// Utilisation of each worker: the cores its process used on average over the window
    /// (0–1, what `top` shows as its %CPU; for sync workers without I/O on enough cores, the
    /// share of time it was busy), for backends simulated with explicit workers (cores, I/O,
    /// gthread/gevent, accept or lifecycle settings); empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub workers: Vec<f64>,
    /// Mean and p99 response time of this backend's requests (backends with explicit workers
    /// only, absent otherwise): compares groups of different worker classes in one cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_response: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99: Option<f64>,
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
    /// 95 % intervals of p50, p90, p95, p99 and p99.9 from batching the exceedance
    /// indicator; `[NaN, NaN]` (`null`) where the run holds too few exceedances for one.
    /// Empty in journals written before it existed (the section quantiles are used then).
    #[serde(default)]
    pub quantile_intervals: Vec<[Option<f64>; 2]>,
    /// MSER-5 found its minimum in the second half of the pilot: no steady state within it.
    #[serde(default)]
    pub warmup_unsettled: bool,
    /// Attempts beyond the first of the measured requests (balancer and client retries).
    #[serde(default)]
    pub retries: u64,
    /// Counts over time (`[run] series`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<engine::RunSeries>,
    /// Measured requests accepted but failed, by cause (in the order of `Cause::ALL`).
    #[serde(default)]
    pub failed: Vec<u64>,
    /// Hedged requests: the delay used and the second copies sent (absent without hedging).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hedging: Option<HedgeReplication>,
    /// Some response was clamped at the histogram's ceiling.
    #[serde(default)]
    pub beyond_histogram: bool,
    /// Responses above the SLO's limit per section (absent without an SLO).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub over_slo: Option<OverSloCounts>,
    /// Attempts of measured requests cancelled at their backend (client `cancel`,
    /// `hedge_cancel`).
    #[serde(default)]
    pub cancelled: u64,
    /// With a ramp of users: when the measurement window ended (seconds of simulated time),
    /// to tell how much of the ramp the run covered (absent otherwise, and in journals
    /// written before it existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<f64>,
    /// With a ramp of users: when the measurement window began, i.e. when the warm-up
    /// ended (seconds of simulated time; absent otherwise, and in journals written before
    /// it existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<f64>,
}

/// What one replication of a hedged run did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HedgeReplication {
    /// The hedge delay (seconds): fixed, or the pilot's quantile.
    pub delay: f64,
    /// Second copies sent for measured requests.
    pub copies: u64,
}

/// The quantile levels reported, in the order of [`Replication::quantile_intervals`].
pub const QUANTILES: [f64; 5] = [0.5, 0.9, 0.95, 0.99, 0.999];

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
    /// Fraction of the replications judged saturated (`saturated` is true when it is at
    /// least one half).
    #[serde(default)]
    pub saturated_fraction: f64,
    /// Why this result should not be trusted as it stands (run too short, interval too wide,
    /// …), in a fixed order; empty when there is nothing to say.
    #[serde(default)]
    pub warnings: Vec<Warning>,
    /// Attempts per measured request (1 + retries ÷ requests): the load amplification of
    /// retries (absent unless the balancer or the clients retry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts_per_request: Option<f64>,
    /// The first replication's counts over time (`[run] series`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<engine::RunSeries>,
    /// Closed-loop users: their number N, mean think time Z and cycle (absent for open-loop
    /// arrivals, whose `load` and `arrival_rate` are inputs; a closed loop's are measured:
    /// `arrival_rate` is the throughput X and `load` the carried load X·E[S] ÷ capacity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_loop: Option<ClosedLoopResult>,
    /// Hedged requests (absent without hedging).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hedging: Option<HedgeResult>,
    /// Failures by cause and goodput, for experiments some of whose models can fail an
    /// accepted request ([`Model::can_fail`]: faults, health checks, timeouts, `max_conns`,
    /// gunicorn `timeout`/`max_requests`); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failures: Option<FailureResult>,
    /// Lowest and highest utilisation of a single worker over every backend simulated with
    /// explicit workers (the spread of the kernel's accept); absent without such backends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_utilisation: Option<WorkerSpread>,
    /// P(response > the SLO's limit) with its 95 % interval (absent without an SLO).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub over_slo: Option<OverSlo>,
    /// Cancelled attempts, for experiments some of whose models cancel (a client's
    /// `cancel`, `hedge_cancel`); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled: Option<CancelResult>,
}

/// The attempts taken back out of their backends before they ended: work not done.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CancelResult {
    /// Cancelled attempts of measured requests, over all replications.
    pub cancelled: u64,
    /// `cancelled` ÷ measured requests.
    pub fraction: f64,
}

/// What failed, and what still succeeded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailureResult {
    /// Measured requests accepted but failed (after any retry), over all replications.
    pub failed: u64,
    /// `failed` by cause (`worker_timeout`, `backend_down`, `queue_timeout`, `no_backend`,
    /// `client_timeout`), every cause listed.
    pub by_cause: BTreeMap<String, u64>,
    /// `failed` ÷ measured requests.
    pub fraction: f64,
    /// Successfully completed requests per second (accepted minus failed).
    pub goodput: Estimate,
}

/// The lowest and highest utilisation of one worker (0–1, its process's %CPU).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WorkerSpread {
    pub min: f64,
    pub max: f64,
}

/// The fraction of responses slower than the SLO's limit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OverSlo {
    /// The limit, seconds.
    pub limit: f64,
    /// P(response > limit): the fraction of the measured responses above it, with its 95 %
    /// interval ([`crate::stats::exceedance_fraction`]; `null` bounds where the run holds too
    /// few such responses for an honest one).
    pub fraction: Estimate,
}

/// What one replication counted above the SLO's limit, per section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OverSloCounts {
    pub limit: f64,
    /// (responses above the limit, responses) of each section.
    pub sections: Vec<[u64; 2]>,
}

/// What hedging cost: the delay used and the extra copies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HedgeResult {
    /// The hedge delay (seconds; a quantile's, averaged over replications' pilots).
    pub delay: f64,
    /// Second copies sent for measured requests, over all replications.
    pub copies: u64,
    /// Requests sent to backends per request of a client: (requests + copies) ÷ requests.
    pub amplification: f64,
}

/// What a closed loop measured beyond the usual metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClosedLoopResult {
    /// Number of users N (with a ramp, the most at any time).
    pub users: u32,
    /// Mean think time Z (seconds).
    pub think: f64,
    /// A user's mean cycle, response plus think time: N ÷ X by Little's law (seconds), its
    /// interval from the throughput's. The interactive response-time law reads
    /// mean response = cycle − think. NaN with a ramp (N changes along the run).
    pub cycle: Estimate,
    /// Service demand D of one request (E[S] at the backends' mean speed, seconds): the
    /// response time of a lone user, network and queueing aside.
    pub demand: f64,
    /// The bottleneck's throughput, capacity ÷ E[S] (requests per second): X ≤ this.
    pub max_throughput: f64,
    /// The knee N* = (D + Z) · max_throughput: below it users rarely queue (X ≈ N/(D + Z)),
    /// above it X stays at the bottleneck's and each extra user adds N/X_max − Z of waiting.
    pub knee: f64,
    /// The users followed a ramp: the run's averages mix every population along it (left
    /// out of the JSON when false, so files without a ramp read and write as before).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ramped: bool,
    /// The ramp itself and how much of it the runs covered (absent without a ramp, and in
    /// results written before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ramp: Option<RampResult>,
}

/// A ramp of users as the results keep it: the profile, and when the runs ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RampResult {
    /// Users at time 0 (`[clients] users`).
    pub from: u32,
    /// The stages, `{"for": seconds, "to": users}` each.
    pub stages: Vec<crate::model::Stage>,
    /// When the earliest-ending replication's measurement window ended (seconds of simulated
    /// time; `null` when the replications did not record it). Before the ramp's end, the
    /// stages past it never happened: see [`Warning::RampCutShort`].
    #[serde(deserialize_with = "crate::stats::f64_or_nan")]
    pub ended_at: f64,
    /// When the latest-starting replication's measurement window began: its warm-up's end
    /// (seconds of simulated time; `null` when not recorded, as in results written before
    /// it was kept). Stages before it were discarded: see [`Warning::RampInWarmup`].
    #[serde(default = "nan", deserialize_with = "crate::stats::f64_or_nan")]
    pub started_at: f64,
}

impl RampResult {
    /// The profile the users followed.
    pub fn profile(&self) -> crate::model::Profile<'_> {
        crate::model::Profile { from: self.from, stages: &self.stages }
    }

    /// When the runs ended, if known.
    pub fn ended(&self) -> Option<f64> {
        self.ended_at.is_finite().then_some(self.ended_at)
    }

    /// What the runs missed of the ramp, in words (`None` when they covered it, or when the
    /// end is not known).
    pub fn shortfall(&self) -> Option<String> {
        self.ended().and_then(|t| self.profile().shortfall(t))
    }

    /// When the measured window began (the warm-up's end), if known.
    pub fn started(&self) -> Option<f64> {
        self.started_at.is_finite().then_some(self.started_at)
    }

    /// The stages the warm-up discarded, whole or in part, in words, with when it ended
    /// (`None` without a warm-up that reached into the ramp, or when its end is not known):
    /// `the warm-up ended at 12.5s: it discarded stage 1 of 2 (0s–10s: 0 → 5 users), and
    /// stage 2 of 2 (10s–30s: 5 users held) up to 12.5s`.
    pub fn discarded(&self) -> Option<String> {
        let start = self.started()?;
        Some(format!(
            "the warm-up ended at {}: it discarded {}",
            crate::units::format_duration(start),
            self.profile().stages_before(start)?
        ))
    }
}

impl ClosedLoopResult {
    /// The asymptotic bound on the run's throughput: min(N/(D + Z), capacity/E[S]) for a
    /// fixed population. With a ramp, N(t) changes along the run and the bound holds at each
    /// instant, so the run's mean throughput (completions ÷ window) is bounded by the
    /// bound's mean over the measured window: (1/(t₁ − t₀)) ∫ min(N(t)/(D + Z), X_max) dt
    /// from the warm-up's end t₀ to the window's end t₁ ([`RampResult`]'s `started_at` and
    /// `ended_at`, the window every replication measured). The peak's bound would hold only
    /// on the stages at the peak. Results that did not keep the window fall back to the
    /// ramp from 0 to its end; those that did not keep the ramp, to the peak's bound.
    pub fn throughput_bound(&self) -> f64 {
        let cycle = self.demand + self.think;
        let peak = (f64::from(self.users) / cycle).min(self.max_throughput);
        let Some(ramp) = &self.ramp else { return peak };
        let profile = ramp.profile();
        let start = ramp.started().unwrap_or(0.0);
        let end = ramp.ended().unwrap_or_else(|| profile.length());
        if end.is_nan() || end <= start {
            return peak;
        }
        let sent = profile.most_requests_by(end, cycle, self.max_throughput)
            - profile.most_requests_by(start, cycle, self.max_throughput);
        sent / (end - start)
    }
}

/// Fewest measured requests per backend (per replication) before results are called too
/// short: with fewer, a backend's p99 rests on fewer than 10 of its own responses.
pub const MIN_REQUESTS_PER_BACKEND: u64 = 1000;
/// The measured requests a replication of `e` needs for its results not to be called too
/// short ([`Warning::FewRequests`]: [`MIN_REQUESTS_PER_BACKEND`] a backend), when its plan
/// measures fewer: what `lbsim check` and `lbsim run` say before a run that would end with
/// that warning (a fleet of 10⁵ backends needs 10⁸ measured requests).
pub fn requests_needed_to_trust(e: &Experiment) -> Option<u64> {
    let needed = MIN_REQUESTS_PER_BACKEND.saturating_mul(e.model.backend_count().max(1) as u64);
    (e.plan.requests < needed).then_some(needed)
}

/// Largest share of a run's arrivals the warm-up may take before the result is called too
/// short to trust (the steady state was reached late, so the window is short).
pub const MAX_WARMUP_SHARE: f64 = 0.25;
/// Widest 95 % interval (half-width ÷ value) of the mean response or p99 before the result
/// is called imprecise.
pub const MAX_RELATIVE_HALF_WIDTH: f64 = 0.1;

/// Largest relative gap between the work a run's requests really brought (their sizes over
/// the measured window) and the load the model offers, before the run is called
/// unrepresentative. Over 10⁵ exponential requests the gap's standard deviation is 0.3 %,
/// so 10 % flags only runs whose sample misses the distribution (a heavy tail whose rare
/// giants never came, arrivals in bursts longer than the window): their figures describe
/// another load than the one labelled.
pub const MAX_WORK_GAP: f64 = 0.1;
/// Relative slack of the range checks on printed figures (floating-point rounding).
const RANGE_SLACK: f64 = 1e-6;

/// A reason not to trust a result as it stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Warning {
    /// Fewer than [`MIN_REQUESTS_PER_BACKEND`] measured requests per backend.
    FewRequests,
    /// The warm-up took more than [`MAX_WARMUP_SHARE`] of the arrivals simulated.
    LongWarmup,
    /// MSER-5 found no steady state in the pilot (its cut fell in the pilot's second half).
    NoSteadyState,
    /// The mean response's or p99's 95 % interval is wider than ±[`MAX_RELATIVE_HALF_WIDTH`].
    WideInterval,
    /// Too few responses above p99.9 for an honest interval: none is given.
    NoP999Interval,
    /// No honest interval for p99 (a run with too few responses above it, or replications
    /// each too short for an unbiased p99): none is given.
    NoP99Interval,
    /// The work the requests really brought differs from the offered load by more than
    /// [`MAX_WORK_GAP`]: the run is too short for the size distribution or the arrivals.
    UnrepresentativeWork,
    /// Some response reached the histogram's ceiling (10⁶ mean requests on the slowest
    /// backend): percentiles there are lower bounds.
    BeyondHistogram,
    /// A figure outside its physical range (utilisation outside [0, 1], percentiles out of
    /// order, a negative or non-finite time, throughput above the arrival rate): a defect.
    Implausible,
    /// The run's requests were done before its ramp of users ended: the later stages never
    /// happened ([`RampResult::shortfall`] says which, and when the run ended).
    RampCutShort,
    /// The request sizes have an infinite second moment (Pareto with α ≤ 2, or a mixture
    /// with such a component): no run is long enough for the mean response's interval, and
    /// behind first-come-first-served workers the true mean wait may be infinite.
    InfiniteVariance,
    /// The warm-up (fixed or MSER-5's) reached into the ramp of users: the stages before
    /// its end were simulated but not measured ([`RampResult::discarded`] says which).
    RampInWarmup,
    /// The number in system rose through the measured window at a load the cluster can
    /// carry (more than [`FILLING_T`] standard errors): the queues were still filling from
    /// empty, so the means and percentiles are low ([`still_filling`]).
    StillFilling,
}

impl Warning {
    /// The code used in `results.csv` and JSON.
    pub fn code(self) -> &'static str {
        match self {
            Warning::FewRequests => "few_requests",
            Warning::LongWarmup => "long_warmup",
            Warning::NoSteadyState => "no_steady_state",
            Warning::WideInterval => "wide_interval",
            Warning::NoP999Interval => "no_p999_interval",
            Warning::NoP99Interval => "no_p99_interval",
            Warning::UnrepresentativeWork => "unrepresentative_work",
            Warning::BeyondHistogram => "beyond_histogram",
            Warning::Implausible => "implausible",
            Warning::RampCutShort => "ramp_cut_short",
            Warning::InfiniteVariance => "infinite_variance",
            Warning::RampInWarmup => "ramp_in_warmup",
            Warning::StillFilling => "still_filling",
        }
    }

    /// What it means, in words.
    pub fn explain(self) -> String {
        match self {
            Warning::FewRequests => {
                format!("fewer than {MIN_REQUESTS_PER_BACKEND} measured requests per backend")
            }
            Warning::LongWarmup => {
                format!("the warm-up took more than {}% of the run", (MAX_WARMUP_SHARE * 100.0).round())
            }
            Warning::NoSteadyState => {
                "no steady state within the warm-up pilot (MSER-5 cut in its second half)".to_string()
            }
            Warning::WideInterval => format!(
                "the 95% interval of the mean or p99 is wider than ±{}%",
                (MAX_RELATIVE_HALF_WIDTH * 100.0).round()
            ),
            Warning::NoP999Interval => "too few responses above p99.9 for an interval; none given".to_string(),
            Warning::NoP99Interval => {
                "too few responses above p99 for an interval (with replications: too few in each); none given".to_string()
            }
            Warning::UnrepresentativeWork => format!(
                "the requests simulated brought more than {}% more or less work than the offered load: \
                 the run is too short for this size distribution's tail or these bursts",
                (MAX_WORK_GAP * 100.0).round()
            ),
            Warning::BeyondHistogram => {
                "some responses exceeded a million mean requests (the histogram's ceiling): percentiles there are lower bounds"
                    .to_string()
            }
            Warning::Implausible => "a figure is outside its physical range (utilisation outside 0–100%, \
                 percentiles out of order, a negative or non-finite time, or throughput above the arrival rate): \
                 a defect in lbsim, please report it with this experiment"
                .to_string(),
            Warning::RampCutShort => "the run's requests were done before its ramp of users ended, so the ramp's \
                 later stages never happened: raise [run] requests"
                .to_string(),
            Warning::InfiniteVariance => "the request sizes have infinite variance (E[S²] = ∞, as Pareto sizes have for α ≤ 2), \
                 so the mean response converges too slowly for its interval to cover it, and behind \
                 first-come-first-served workers the true mean wait may be infinite (it is for one worker fed \
                 at random: Pollaczek–Khinchine), the estimate growing with the run; percentiles and \
                 P(response > SLO) stay meaningful (bounded_pareto gives a heavy tail with finite moments)"
                .to_string(),
            Warning::RampInWarmup => "the warm-up reached into the ramp of users, so the stages before its end \
                 were simulated but not measured: set [run] warmup = 0 to measure the ramp from its start"
                .to_string(),
            Warning::StillFilling => "the number in system rose through the measured window though the cluster \
                 can carry the load: the queues were still filling from empty (or a heavy tail's giants piled \
                 up), so the means and percentiles are too low; use [run] warmup = \"auto\" and more requests"
                .to_string(),
        }
    }
}

impl StrategyResult {
    /// What warning `w` means for this result, in words: [`Warning::explain`], with the
    /// figures of this run where it has them (which stages of a ramp never happened).
    pub fn explain(&self, w: Warning) -> String {
        let ramp = self.closed_loop.as_ref().and_then(|c| c.ramp.as_ref());
        match w {
            Warning::RampCutShort => match ramp.and_then(RampResult::shortfall) {
                Some(shortfall) => format!("{shortfall} (raise [run] requests)"),
                None => w.explain(),
            },
            Warning::RampInWarmup => match ramp.and_then(RampResult::discarded) {
                Some(discarded) => format!("{discarded} (set [run] warmup = 0 to measure the ramp from its start)"),
                None => w.explain(),
            },
            // Rates and time averages over no time are 0/0: say so, not "more or less work".
            Warning::UnrepresentativeWork if self.zero_window() => format!(
                "every measured request arrived at one instant (a measurement window shorter than {MIN_WINDOW_IN_MEANS:e} mean \
                 requests), so throughput, utilisation and the number in system do not exist and are \
                 shown as {}: spread the arrivals over time (a trace's timestamps) or run more requests",
                crate::output::UNDEFINED
            ),
            _ => w.explain(),
        }
    }

    /// Whether requests were measured over a window of no length (every measured arrival at
    /// one instant), where every rate and time average is undefined (NaN).
    pub fn zero_window(&self) -> bool {
        self.requests > 0 && self.throughput.value.is_nan()
    }

    /// Lowest and highest backend utilisation; NaN (printed empty) when no backend has one
    /// (no backends, or a window of no length where utilisation is undefined).
    pub fn utilisation_range(&self) -> (f64, f64) {
        let measured = self.backends.iter().map(|b| b.utilisation).filter(|u| !u.is_nan());
        measured.fold((f64::NAN, f64::NAN), |(lo, hi), u| (lo.min(u), hi.max(u)))
    }
}

/// Static facts about every backend, as strategies see them when built.
pub fn backend_infos(model: &Model) -> Vec<BackendInfo> {
    let slowed = |b: u32| {
        model
            .faults
            .iter()
            .any(|f| matches!(f.kind, crate::model::FaultKind::Slowdown { .. }) && f.backends.contains(&b))
    };
    model
        .each_backend()
        .enumerate()
        .map(|(b, (g, i))| backend_info(model, g, g.backend_name(i), slowed(b as u32)))
        .collect()
}

/// What strategies see of one backend of group `g`, called `name`, which a fault slows
/// down when `slowed`.
pub fn backend_info(model: &Model, g: &crate::model::BackendGroup, name: String, slowed: bool) -> BackendInfo {
    BackendInfo {
        name,
        workers: g.workers,
        speed: g.speed,
        capacity: model.group_capacity(g),
        weight: model.group_weight(g),
        configured_weight: g.weight,
        // A model that cancels runs its sync groups on the station (`Backend::for_group`).
        fcfs: matches!(g.worker_class, crate::model::WorkerClass::Sync)
            && !g.needs_station(model.io_fraction)
            && !model.cancels(),
        speed_changes: slowed,
    }
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
    let requests = experiment.plan.requests.max(1);
    let mut model = spec.model(&experiment.model);
    if let Some(Hedge::Quantile(p)) = model.balancer.hedge {
        let delay = hedge_pilot(experiment, spec, &model, seed, p)?;
        model.to_mut().balancer.hedge = Some(Hedge::After(delay));
    }
    let model = &*model;
    let infos = backend_infos(model);
    let build = |seed: RunSeed| build_instances(model, &spec.name, &spec.params, seed);
    let (warmup, warmup_unsettled) = match experiment.plan.warmup {
        Warmup::Fixed(w) => (w, false),
        Warmup::Auto => {
            let pilot = seed.pilot();
            mser_warmup(model, &mut build(pilot)?, pilot, requests)
        }
    };
    let sections = SECTIONS.min(requests as u32);
    let window = Window { warmup, requests, sections, histograms: true, series: experiment.plan.series };
    let outcome = engine::simulate_instances(model, &mut build(seed)?, seed, &window);
    let shares = expected_shares(model, &infos, spec, seed);
    let mut summary = summarise(model, &infos, shares.as_deref(), replication, warmup, &outcome);
    summary.warmup_unsettled = warmup_unsettled;
    summary.over_slo = experiment.slo_limit.map(|limit| OverSloCounts {
        limit,
        sections: outcome.histograms.iter().map(|h| [h.count_above(limit), h.len()]).collect(),
    });
    summary.hedging = model
        .balancer
        .hedge
        .and_then(Hedge::delay)
        .map(|delay| HedgeReplication { delay, copies: outcome.sections.iter().map(|s| s.hedges).sum() });
    Ok(summary)
}

/// Each backend's share of the requests under `spec` in `model`, when the rule fixes it
/// ([`strategy::Strategy::shares`]) and nothing in the model sends a request elsewhere: the
/// plain balancer over backends that never fail, no client retries.
fn expected_shares(model: &Model, infos: &[BackendInfo], spec: &StrategySpec, seed: RunSeed) -> Option<Vec<f64>> {
    shares_of(model, infos, spec, seed).map(|s| s.of_requests)
}

/// [`expected_shares`] with how the rule spaces them, before a run (`lbsim check`): how
/// long the queues of a cluster started empty take to fill ([`crate::relaxation`]).
pub fn planned_shares(experiment: &Experiment, spec: &StrategySpec) -> Option<strategy::Shares> {
    let model = spec.model(&experiment.model);
    shares_of(&model, &backend_infos(&model), spec, RunSeed::new(experiment.seed, 0, 0))
}

/// How low strategy `spec`'s means read in `experiment` because its queues start empty
/// ([`crate::relaxation::empty_start`]), for a fixed warm-up: `None` when MSER-5 chooses it or
/// the estimate does not apply.
pub fn empty_start(experiment: &Experiment, spec: &StrategySpec) -> Option<crate::relaxation::EmptyStart> {
    let Warmup::Fixed(warmup) = experiment.plan.warmup else { return None };
    let shares = planned_shares(experiment, spec)?;
    crate::relaxation::empty_start(&spec.model(&experiment.model), &shares, warmup, experiment.plan.requests)
}

fn shares_of(model: &Model, infos: &[BackendInfo], spec: &StrategySpec, seed: RunSeed) -> Option<strategy::Shares> {
    if !model.is_plain() {
        return None;
    }
    let setup = Setup {
        backends: infos,
        service: &model.service,
        params: &spec.params,
        addresses: model.addresses,
        rng: seed.stream_of(Purpose::Strategy, 0),
    };
    strategy::shares(&spec.name, &setup).filter(|shares| shares.of_requests.len() == infos.len())
}

/// The hedge delay at the `p`-quantile of the response time without hedging: a pilot run of
/// `model` with hedging off, on the pilot's own random streams (see [`RunSeed::pilot`]),
/// `requests` measured after the experiment's warm-up (a tenth with `"auto"`).
fn hedge_pilot(
    experiment: &Experiment,
    spec: &StrategySpec,
    model: &Model,
    seed: RunSeed,
    p: f64,
) -> Result<f64, StrategyError> {
    let mut plain = model.clone();
    plain.balancer.hedge = None;
    let pilot = seed.pilot();
    let requests = experiment.plan.requests.max(1);
    let warmup = match experiment.plan.warmup {
        Warmup::Fixed(w) => w,
        Warmup::Auto => requests / 10,
    };
    let window = Window { warmup, requests, sections: SECTIONS.min(requests as u32), histograms: true, series: None };
    let mut strategies = build_instances(&plain, &spec.name, &spec.params, pilot)?;
    let outcome = engine::simulate_instances(&plain, &mut strategies, pilot, &window);
    let mut histogram = ResponseHistogram::new(plain.service.mean());
    for h in &outcome.histograms {
        histogram.merge(h);
    }
    Ok(histogram.quantile(p))
}

/// The MSER-5 warm-up: a pilot run of `requests` arrivals with nothing discarded, on its own
/// random streams (`seed` is the pilot's, see [`RunSeed::pilot`]), cut into batches of at
/// least 5; for each of two series, the batch means of response time and the batches' time
/// average of the number in system, the truncation that minimises the marginal standard
/// error of the rest, and the later of the two. Returns the warm-up and whether it is
/// unsettled: when a minimum is in the second half of the pilot (typical of an overloaded
/// or too-short run), half the pilot is discarded and the result is flagged.
///
/// Both series, because either can settle long before the other. Responses are stationary
/// from the first request when requests rarely wait (JSQ over many workers, a lightly
/// loaded cluster), while the cluster is still filling from empty: at load 0.9 over 10⁵
/// backends of 4 workers, 360 000 requests are in service in the steady state, reached after
/// several mean service times, 10⁶ arrivals. Cut by responses alone, the window kept the
/// filling, and the utilisation and number in system came out 3–4 % low.
fn mser_warmup(model: &Model, strategies: &mut [strategy::AnyStrategy], seed: RunSeed, requests: u64) -> (u64, bool) {
    let batches = (requests / 5).clamp(1, MSER_BATCHES);
    let batch = requests / batches;
    let pilot =
        Window { warmup: 0, requests: batch * batches, sections: batches as u32, histograms: false, series: None };
    let outcome = engine::simulate_instances(model, strategies, seed, &pilot);
    let responses: Vec<f64> = outcome.sections.iter().map(|s| s.mean_response()).collect();
    let in_system: Vec<f64> = outcome.sections.iter().map(|s| s.in_system_area / s.duration).collect();
    // (A series with a batch of no duration, arrivals at one instant, has nothing to say.)
    let cuts =
        [responses, in_system].map(|series| series.iter().all(|x| x.is_finite()).then(|| mser_truncation(&series)));
    let mut warmup = 0;
    for cut in cuts.into_iter().flatten() {
        match cut {
            Some(t) if t.settled => warmup = warmup.max(t.batches as u64 * batch),
            // Unsettled, or too short to batch: nothing to detect with.
            _ => return (requests / 2, true),
        }
    }
    (warmup, false)
}

/// The metrics of a section (or of the whole window, as one merged section).
fn metrics(s: &engine::Section, histogram: Option<&ResponseHistogram>, workers: f64, shortest: f64) -> Metrics {
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
        throughput: per_second((s.arrivals - s.rejected) as f64, s.duration, shortest, 1.0),
        utilisation: busy_share(s.busy_area, s.duration, shortest, workers),
        mean_in_system: per_second(s.in_system_area, s.duration, shortest, 1.0),
        rejected_fraction: s.rejected as f64 / s.arrivals as f64,
        goodput: per_second((s.arrivals - s.rejected - s.failed.iter().sum::<u64>()) as f64, s.duration, shortest, 1.0),
    }
}

/// Shortest window over which rates and time averages are given, in mean requests (on the
/// fastest backend): the histogram's resolution.
const MIN_WINDOW_IN_MEANS: f64 = 1e-6;

/// `amount ÷ duration`, undefined (NaN) over a window shorter than `shortest`: when every
/// measured request arrives at one instant (extreme bursts, a trace with one timestamp)
/// rates and time averages do not exist, and the quotient of two rounding errors would be
/// printed as if they did (throughputs of 10²⁹⁹/s, utilisations of −10²⁸²).
/// `per` scales the duration (workers, capacity) for averages per unit of it.
fn per_second(amount: f64, duration: f64, shortest: f64, per: f64) -> f64 {
    if duration > shortest { amount / (per * duration) } else { f64::NAN }
}

/// The share of a window its workers were busy ([`per_second`] of a busy area): at most 1.
/// A worker busy through the whole window has a busy area that the integrals' arithmetic
/// (the booked future less what is still ahead, at times of 10⁴ s) can round a few ulps past
/// the window, which was printed as a utilisation of 1.0000000000000022; within
/// [`RANGE_SLACK`] of 1 it is 1. Further past 1 it is left as it is, for the range check
/// ([`Warning::Implausible`]) to report.
fn busy_share(busy: f64, duration: f64, shortest: f64, per: f64) -> f64 {
    let share = per_second(busy, duration, shortest, per);
    if share > 1.0 && share <= 1.0 + RANGE_SLACK { 1.0 } else { share }
}

/// The figures of one replication from its run's outcome `o`. `shares`: each backend's
/// share of the requests when the strategy's rule fixes it (for the saturation verdict).
fn summarise(
    model: &Model,
    infos: &[BackendInfo],
    shares: Option<&[f64]>,
    replication: u32,
    warmup: u64,
    o: &RunOutcome,
) -> Replication {
    // The cluster's utilisation is its busy capacity over its capacity (the sections'
    // busy areas are weighted by speed): Σ workers × speed.
    let workers: f64 = infos.iter().map(|b| f64::from(b.workers) * b.speed).sum();
    let (fast, slow) = model.service_time_span();
    let shortest = fast * MIN_WINDOW_IN_MEANS;
    let sections: Vec<Metrics> =
        o.sections.iter().enumerate().map(|(k, s)| metrics(s, o.histograms.get(k), workers, shortest)).collect();
    let mut histogram = ResponseHistogram::spanning(fast, slow);
    for h in &o.histograms {
        histogram.merge(h);
    }
    // The whole window as one section.
    let whole = o.sections.iter().fold(engine::Section::default(), |a, s| a.plus(s));
    let overall = metrics(&whole, Some(&histogram), workers, shortest);
    let (arrivals, completed, rejected) = (whole.arrivals, whole.completed, whole.rejected);
    let backends: Vec<BackendMeasure> = infos
        .iter()
        .zip(&o.backends)
        .map(|(info, b)| BackendMeasure {
            name: info.name.clone(),
            utilisation: busy_share(b.integrals.busy, o.window, shortest, f64::from(info.workers)),
            throughput: per_second(b.completed as f64, o.window, shortest, 1.0),
            mean_in_system: per_second(b.integrals.in_system, o.window, shortest, 1.0),
            completed: b.completed,
            rejected: b.rejected,
            offered_load: per_second(b.offered_work, o.window, shortest, info.capacity),
            workers: b.worker_busy.iter().map(|busy| busy_share(*busy, o.window, shortest, 1.0)).collect(),
            mean_response: b.response.map(|r| r.0),
            p99: b.response.map(|r| r.1),
        })
        .collect();
    let saturated = is_saturated(model, &backends, infos, shares, o);
    let ccdf = histogram.ccdf(CCDF_POINTS).into_iter().map(|(t, p)| [t, p]).collect();
    let quantile_intervals = quantile_intervals(&o.histograms, &histogram, &QUANTILES)
        .into_iter()
        .map(|interval| match interval {
            QuantileInterval::Interval(low, high) => [Some(low), Some(high)],
            QuantileInterval::TooFew => [None, None],
        })
        .collect();
    let failed = whole.failed.to_vec();
    Replication {
        replication,
        warmup,
        arrivals,
        completed,
        rejected,
        overall,
        sections,
        backends,
        saturated,
        ccdf,
        quantile_intervals,
        warmup_unsettled: false,
        retries: whole.retries,
        series: o.series.clone(),
        hedging: None,
        failed,
        beyond_histogram: histogram.reached_ceiling(),
        over_slo: None,
        cancelled: whole.cancelled,
        ended_at: model.closed_loop().filter(|users| !users.ramp.is_empty()).map(|_| o.window_end),
        started_at: model.closed_loop().filter(|users| !users.ramp.is_empty()).map(|_| o.window_end - o.window),
    }
}

/// Standard errors by which a backend's backlog must rise over the window to count as
/// growing (a one-sided test at about the 0.1 % level for independent sections).
const GROWTH_T: f64 = 3.0;

/// The saturation verdict for one replication: true when the results describe a transient
/// (a backlog growing with the run, or pinned at its limit) rather than a steady state.
///
/// The rule, per backend that can queue (sync workers with an accept queue, or async
/// workers, whose connections share the CPU): it is overloaded when it was offered at least
/// as much work as it can do over the window (offered load ≥ 1 — work conservation then says
/// its backlog of work grew) **and** either its number in system trends upward through the
/// window (least-squares slope over the sections, more than [`GROWTH_T`] standard errors
/// above 0) or its accept queue ends at least half full (a backlog that grew until it hit its
/// limit, after which it no longer grows but turns work away). The replication is saturated
/// when any backend is overloaded, or when the model offers the cluster as a whole at least
/// its capacity and some backend can queue.
///
/// A loss system (sync workers, no accept queue) is never saturated: it rejects what it
/// cannot serve and has a steady state at any load (Erlang B); its rejections are reported
/// as the rejected fraction, not as saturation.
///
/// "Offered at least its capacity" must hold beyond chance: a backend's offered load over
/// the requests it received is noisy, and its queue, empty at the start, may still be
/// filling, so it rises whatever the load. At load 0.9 over 10⁵ backends with 20 requests
/// each, thousands were offered more than their capacity by chance and their queues rose,
/// and the run was called saturated; so was power of 2 choices at load 0.99 over 10⁵
/// backends with the 1 000 requests each that lbsim trusts. A backend counts only when its
/// offered load exceeds 1 by more than [`over_capacity_margin`].
///
/// When the strategy's rule fixes each backend's share of the requests (`shares`: random
/// dispatch, round robin and their weighted forms, on backends that never fail), a backend's
/// offered load is judged by its share of the work the whole cluster was offered, not by the
/// split the run happened to draw: over 10⁵ backends at load 0.9 with 1 000 requests each,
/// the split's noise (4.5 %) offered hundreds of them more than their capacity, their queues
/// rose through the window, and random and round robin were called saturated. The cluster's
/// total is known to 0.01 % there, and a backend whose share really exceeds its capacity
/// (random over unequal speeds) is still found at any run length.
fn is_saturated(
    model: &Model,
    measures: &[BackendMeasure],
    infos: &[BackendInfo],
    shares: Option<&[f64]>,
    outcome: &engine::RunOutcome,
) -> bool {
    if model.closed_loop().is_some() {
        // A closed loop holds at most its users: whatever the queues, the run is a steady
        // state (the throughput levels off at the bottleneck's capacity).
        return false;
    }
    let groups: Vec<&crate::model::BackendGroup> = model.each_backend().map(|(g, _)| g).collect();
    use crate::model::WorkerClass;
    // gthread and gevent workers accept connections into their own queues (up to
    // `worker_connections` each) before the kernel's accept queue holds any.
    let can_queue = |g: &crate::model::BackendGroup| match g.worker_class {
        WorkerClass::Sync => g.backlog > 0,
        WorkerClass::Async { .. } | WorkerClass::Gthread { .. } | WorkerClass::Gevent { .. } => true,
    };
    let held_by_workers = |g: &crate::model::BackendGroup| match g.worker_class {
        WorkerClass::Sync | WorkerClass::Async { .. } => f64::from(g.workers),
        WorkerClass::Gthread { worker_connections, .. } | WorkerClass::Gevent { worker_connections } => {
            f64::from(g.workers) * f64::from(worker_connections)
        }
    };
    if model.offered_load() >= 1.0 && groups.iter().any(|g| can_queue(g)) {
        return true;
    }
    // The backends offered at least their capacity: those whose backlog may be growing.
    let half_full = |i: usize| {
        let queue = f64::from(outcome.backends[i].in_system_at_end) - held_by_workers(groups[i]);
        groups[i].backlog > 0 && queue >= f64::from(groups[i].backlog) / 2.0
    };
    let offered_enough: Vec<usize> = match shares {
        Some(shares) => {
            // (offered load × capacity: the work per second each backend was offered.)
            let work: f64 = measures.iter().zip(infos).map(|(m, b)| m.offered_load * b.capacity).sum();
            (0..measures.len())
                .filter(|&i| can_queue(groups[i]) && shares[i] * work / infos[i].capacity >= 1.0)
                .collect()
        }
        None => {
            let mut offered_enough: Vec<usize> =
                (0..measures.len()).filter(|&i| can_queue(groups[i]) && measures[i].offered_load >= 1.0).collect();
            // An accept queue half full at the end is no chance filling: over the requests of
            // a short run it cannot fill, and in a long one a backend offered less than its
            // capacity rarely holds so many. (A retry storm whose backends are offered 1.01–1.03
            // of their capacity, queues past 1 000, is saturated though within the margin.)
            if offered_enough.iter().any(|&i| half_full(i)) {
                return true;
            }
            let sizes = &model.service;
            let cv2 = sizes.second_moment() / (sizes.mean() * sizes.mean()) - 1.0;
            let tested = offered_enough.len();
            offered_enough.retain(|&i| {
                let m = &measures[i];
                m.offered_load - 1.0 > over_capacity_margin(m.offered_load, m.completed + m.rejected, cv2, tested)
            });
            offered_enough
        }
    };
    if offered_enough.iter().any(|&i| half_full(i)) {
        return true;
    }
    // (Every backend's series has one value per section of the window.)
    let sections = outcome.in_system_by_section.len() / outcome.backends.len().max(1);
    let threshold = growth_threshold(offered_enough.len(), sections);
    offered_enough.iter().any(|&i| rises(&outcome.in_system_by_section(i), threshold))
}

/// By how much an offered load `load`, measured over `requests` requests whose sizes have
/// squared coefficient of variation `cv2`, must exceed 1 for one of `tested` such backends to
/// count as offered more than its capacity beyond chance: the one-sided normal quantile at
/// the trend test's level, P(Z > [`GROWTH_T`]), divided by `tested` (Bonferroni), times the
/// load's standard error. The work `requests` Poisson arrivals bring is a compound Poisson
/// sum, whose relative standard error is √((1 + cv²) / requests).
fn over_capacity_margin(load: f64, requests: u64, cv2: f64, tested: usize) -> f64 {
    use statrs::distribution::{ContinuousCDF, Normal};
    let normal = Normal::standard();
    let level = normal.sf(GROWTH_T) / tested.max(1) as f64;
    // (From the lower tail, which stays exact where 1 − level would round to 1.)
    let z = -normal.inverse_cdf(level);
    let z = if z.is_finite() { z.max(GROWTH_T) } else { GROWTH_T };
    let relative = ((1.0 + cv2.max(0.0)) / requests.max(1) as f64).sqrt();
    let margin = z * load * relative;
    if margin.is_nan() { f64::INFINITY } else { margin }
}

/// Standard errors by which one of `tested` backends' backlogs must rise over `sections`
/// sections to count as growing: [`GROWTH_T`] for one, and for more the level that keeps the
/// chance that any of them passes by chance what one alone has (Bonferroni). Without it, a
/// large cluster is always "saturated": at load 0.9 over 10⁵ backends, a short run offers
/// thousands of them a little more than their capacity by chance, and at 3 standard errors
/// some of their trends over 20 sections pass (the t test's 0.4 % each), though nothing grows.
fn growth_threshold(tested: usize, sections: usize) -> f64 {
    if tested <= 1 || sections < 3 {
        // (`rises` needs three sections at least.)
        return GROWTH_T;
    }
    let df = (sections - 2) as f64;
    let Ok(t) = statrs::distribution::StudentsT::new(0.0, 1.0, df) else { return GROWTH_T };
    use statrs::distribution::ContinuousCDF;
    let one = t.sf(GROWTH_T);
    let threshold = t.inverse_cdf(1.0 - one / tested as f64);
    if threshold.is_finite() { threshold.max(GROWTH_T) } else { GROWTH_T }
}

/// True when `series` trends upward: its least-squares slope is more than `threshold`
/// standard errors above zero.
fn rises(series: &[f64], threshold: f64) -> bool {
    let n = series.len();
    if n < 3 || series.iter().any(|y| !y.is_finite()) {
        return false;
    }
    let nf = n as f64;
    let x_mean = (nf - 1.0) / 2.0;
    let y_mean = series.iter().sum::<f64>() / nf;
    let sxx: f64 = (0..n).map(|i| (i as f64 - x_mean).powi(2)).sum();
    let sxy: f64 = series.iter().enumerate().map(|(i, y)| (i as f64 - x_mean) * (y - y_mean)).sum();
    let slope = sxy / sxx;
    let residual: f64 =
        series.iter().enumerate().map(|(i, y)| (y - y_mean - slope * (i as f64 - x_mean)).powi(2)).sum();
    let se = (residual / (nf - 2.0) / sxx).sqrt();
    slope > 0.0 && slope > threshold * se
}

/// Fewest expected exceedances of a quantile per replication for an interval from several
/// replications: below it a replication's tail quantile is a skewed, biased estimate (its
/// relative bias is of order one over the exceedances) and a t interval over them would be
/// misleading. The floor of an exceedance fraction's interval ([`crate::stats::MIN_EXCEEDANCES`]).
const MIN_EXCEEDANCES_PER_REPLICATION: f64 = crate::stats::MIN_EXCEEDANCES as f64;

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
    // Quantile `k` of [`QUANTILES`]: one replication gives its interval from its sections.
    // Several give the quantile of their responses pooled (from their CCDFs), with the half-
    // width of the t interval over their own quantiles when each holds enough exceedances:
    // the pooled quantile varies as their mean does (to first order, Bahadur), but the mean
    // of their quantiles carries each one's bias from its length, which more replications
    // do not reduce (twenty replications of 5 000 requests put the p99 of M/M/4 at ρ = 0.85
    // 5.6 % low, and its interval covered the truth 68 times in 100: an independent audit
    // over 200 seeds).
    let quantile = |k: usize, f: fn(&Metrics) -> f64| -> Estimate {
        match reps {
            [one] => match one.quantile_intervals.get(k) {
                Some([Some(low), Some(high)]) => Estimate { value: f(&one.overall), ci_low: *low, ci_high: *high },
                Some(_) => Estimate::without_interval(f(&one.overall)),
                None => estimate(f),
            },
            _ => {
                let fewest = reps.iter().map(|r| r.completed).min().unwrap_or(0) as f64;
                let spread = estimate(f);
                let ccdfs: Vec<&[[f64; 2]]> = reps.iter().map(|r| r.ccdf.as_slice()).collect();
                let weights: Vec<f64> = reps.iter().map(|r| r.completed as f64).collect();
                let pooled = quantile_of_mixture(&ccdfs, &weights, QUANTILES[k]);
                if !pooled.is_finite() {
                    // (No responses to pool.)
                    Estimate::without_interval(spread.value)
                } else if fewest * (1.0 - QUANTILES[k]) >= MIN_EXCEEDANCES_PER_REPLICATION && spread.has_interval() {
                    let half = spread.half_width();
                    Estimate { value: pooled, ci_low: pooled - half, ci_high: pooled + half }
                } else {
                    Estimate::without_interval(pooled)
                }
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
                // Given only when every replication has it.
                let avg_some = |f: fn(&BackendMeasure) -> Option<f64>| {
                    reps.iter().map(|r| f(&r.backends[i])).sum::<Option<f64>>().map(|sum| sum / n)
                };
                BackendMeasure {
                    name: first.backends[i].name.clone(),
                    utilisation: avg(|b| b.utilisation),
                    throughput: avg(|b| b.throughput),
                    mean_in_system: avg(|b| b.mean_in_system),
                    completed: reps.iter().map(|r| r.backends[i].completed).sum(),
                    rejected: reps.iter().map(|r| r.backends[i].rejected).sum(),
                    offered_load: avg(|b| b.offered_load),
                    workers: (0..first.backends[i].workers.len())
                        .map(|w| {
                            reps.iter().map(|r| r.backends[i].workers.get(w).copied().unwrap_or(f64::NAN)).sum::<f64>()
                                / n
                        })
                        .collect(),
                    mean_response: avg_some(|b| b.mean_response),
                    p99: avg_some(|b| b.p99),
                }
            })
            .collect(),
    };
    let model = &experiment.model;
    let failures = experiment.strategies.iter().any(|s| s.model(model).can_fail()).then(|| {
        let by_cause: BTreeMap<String, u64> = engine::Cause::ALL
            .iter()
            .map(|c| (c.name().to_string(), reps.iter().map(|r| r.failed.get(*c as usize).copied().unwrap_or(0)).sum()))
            .collect();
        let failed: u64 = by_cause.values().sum();
        let fraction = if arrivals == 0 { 0.0 } else { failed as f64 / arrivals as f64 };
        FailureResult { failed, by_cause, fraction, goodput: estimate(|m| m.goodput) }
    });
    let worker_utilisation = model.has_stations().then(|| {
        let per_worker = backends.iter().flat_map(|b: &BackendMeasure| b.workers.iter().copied());
        let (min, max) = per_worker.fold((f64::NAN, f64::NAN), |(lo, hi), u| (lo.min(u), hi.max(u)));
        WorkerSpread { min, max }
    });
    let saturated_fraction = reps.iter().filter(|r| r.saturated).count() as f64 / n;
    let throughput = estimate(|m| m.throughput);
    let (load, arrival_rate, closed_loop) = match model.closed_loop() {
        None => (model.offered_load(), model.arrivals.mean_rate(), None),
        Some(users) => {
            let n = f64::from(users.users);
            let cycle = if users.ramp.is_empty() {
                Estimate { value: n / throughput.value, ci_low: n / throughput.ci_high, ci_high: n / throughput.ci_low }
            } else {
                // N changes along the ramp: N/X has no meaning over the run.
                Estimate::without_interval(f64::NAN)
            };
            let (demand, max_throughput) = model.demand_and_max_throughput();
            let think = users.mean_think();
            let knee = (demand + think) * max_throughput;
            let ramped = !users.ramp.is_empty();
            let ramp = ramped.then(|| RampResult {
                from: users.users,
                stages: users.ramp.clone(),
                ended_at: reps.iter().filter_map(|r| r.ended_at).fold(f64::NAN, f64::min),
                started_at: reps.iter().filter_map(|r| r.started_at).fold(f64::NAN, f64::max),
            });
            let closed =
                ClosedLoopResult { users: users.max_users(), think, cycle, demand, max_throughput, knee, ramped, ramp };
            (throughput.value * model.service.mean() / model.capacity(), throughput.value, Some(closed))
        }
    };
    let hedging = reps.first().and_then(|r| r.hedging.as_ref()).map(|_| {
        let copies: u64 = reps.iter().filter_map(|r| r.hedging.as_ref()).map(|h| h.copies).sum();
        let delay = reps.iter().filter_map(|r| r.hedging.as_ref()).map(|h| h.delay).sum::<f64>() / n;
        let amplification = if arrivals == 0 { f64::NAN } else { (arrivals + copies) as f64 / arrivals as f64 };
        HedgeResult { delay, copies, amplification }
    });
    let mut result = StrategyResult {
        strategy: spec.label.clone(),
        load,
        arrival_rate,
        replications: reps.len() as u32,
        requests: arrivals,
        mean_response: estimate(|m| m.mean_response),
        p50: quantile(0, |m| m.p50),
        p90: quantile(1, |m| m.p90),
        p95: quantile(2, |m| m.p95),
        p99: quantile(3, |m| m.p99),
        p999: quantile(4, |m| m.p999),
        mean_wait: estimate(|m| m.mean_wait),
        mean_slowdown: estimate(|m| m.mean_slowdown),
        throughput,
        utilisation: estimate(|m| m.utilisation),
        mean_in_system: estimate(|m| m.mean_in_system),
        rejected,
        rejected_fraction: if arrivals == 0 { 0.0 } else { rejected as f64 / arrivals as f64 },
        saturated: saturated_fraction >= 0.5,
        backends,
        ccdf: reps.first().map(|r| r.ccdf.clone()).unwrap_or_default(),
        saturated_fraction,
        warnings: Vec::new(),
        attempts_per_request: {
            let m = spec.model(&experiment.model);
            (m.balancer.retries.is_active() || m.client.retries > 0).then(|| {
                let retries: u64 = reps.iter().map(|r| r.retries).sum();
                if arrivals == 0 { 1.0 } else { 1.0 + retries as f64 / arrivals as f64 }
            })
        },
        series: reps.first().and_then(|r| r.series.clone()),
        closed_loop,
        hedging,
        failures,
        worker_utilisation,
        over_slo: over_slo(reps),
        cancelled: experiment.strategies.iter().any(|s| s.model(model).cancels()).then(|| {
            let cancelled: u64 = reps.iter().map(|r| r.cancelled).sum();
            CancelResult { cancelled, fraction: if arrivals == 0 { 0.0 } else { cancelled as f64 / arrivals as f64 } }
        }),
    };
    result.warnings = warnings(experiment, reps, &result);
    result
}

/// P(response > the SLO's limit) over `reps`: the sections of one replication, or the
/// replications, are the batches of [`crate::stats::exceedance_fraction`]. `None` unless every
/// replication counted against the same limit (a sweep resumed after its SLO changed mixes
/// limits: the reports then leave the probability out rather than mix them).
fn over_slo(reps: &[Replication]) -> Option<OverSlo> {
    let limit = reps.first()?.over_slo.as_ref()?.limit;
    let counts: Vec<&OverSloCounts> = reps.iter().map(|r| r.over_slo.as_ref()).collect::<Option<_>>()?;
    if counts.iter().any(|c| c.limit != limit) {
        return None;
    }
    let batches: Vec<(u64, u64)> = match counts.as_slice() {
        [one] => one.sections.iter().map(|s| (s[0], s[1])).collect(),
        many => many.iter().map(|c| c.sections.iter().fold((0, 0), |(e, n), s| (e + s[0], n + s[1]))).collect(),
    };
    Some(OverSlo { limit, fraction: crate::stats::exceedance_fraction(&batches) })
}

/// The "too short to trust" warnings of a combined result (see [`Warning`]).
fn warnings(experiment: &Experiment, reps: &[Replication], r: &StrategyResult) -> Vec<Warning> {
    let mut out = Vec::new();
    let backends = experiment.model.backend_count().max(1) as u64;
    let fewest = reps.iter().map(|r| r.arrivals).min().unwrap_or(0);
    if fewest < MIN_REQUESTS_PER_BACKEND * backends {
        out.push(Warning::FewRequests);
    }
    if reps.iter().any(|r| r.warmup as f64 > MAX_WARMUP_SHARE * (r.warmup + r.arrivals) as f64) {
        out.push(Warning::LongWarmup);
    }
    if reps.iter().any(|r| r.warmup_unsettled) {
        out.push(Warning::NoSteadyState);
    }
    if still_filling(&experiment.model, reps, r) {
        out.push(Warning::StillFilling);
    }
    let wide = |e: &Estimate| e.has_interval() && e.relative_half_width() > MAX_RELATIVE_HALF_WIDTH;
    if wide(&r.mean_response) || wide(&r.p99) {
        out.push(Warning::WideInterval);
    }
    if r.p999.value.is_finite() && !r.p999.has_interval() {
        out.push(Warning::NoP999Interval);
    }
    if r.p99.value.is_finite() && !r.p99.has_interval() {
        out.push(Warning::NoP99Interval);
    }
    let work_gap = work_gap(&experiment.model, reps, r.load);
    // A window of no length (every measured arrival at one instant) has no rates at all.
    let instant = r.zero_window();
    if instant || work_gap.is_some_and(|gap| gap.abs() > MAX_WORK_GAP) {
        out.push(Warning::UnrepresentativeWork);
    }
    if reps.iter().any(|r| r.beyond_histogram) {
        out.push(Warning::BeyondHistogram);
    }
    let representative = work_gap.is_none_or(|gap| gap.abs() <= MAX_WORK_GAP);
    if !plausible(r, representative) {
        out.push(Warning::Implausible);
    }
    let ramp = r.closed_loop.as_ref().and_then(|c| c.ramp.as_ref());
    if ramp.is_some_and(|ramp| ramp.ended().is_some_and(|t| ramp.profile().cut(t).is_some())) {
        out.push(Warning::RampCutShort);
    }
    if experiment.model.service.second_moment().is_infinite() {
        out.push(Warning::InfiniteVariance);
    }
    // Without a warm-up the window begins at the first arrival, which is no discarding.
    let warmed = reps.iter().any(|r| r.warmup > 0);
    if warmed && ramp.is_some_and(|ramp| ramp.started().is_some_and(|t| t > 0.0)) {
        out.push(Warning::RampInWarmup);
    }
    out
}

/// Standard errors by which the cluster's number in system must rise through the window
/// for [`Warning::StillFilling`]: a one-sided t test at about the 0.05 % level over the
/// window's sections. Stricter than a backend's [`GROWTH_T`] because the sections of one run
/// are correlated (a queue outlives a section), which makes a steady run's trend look more
/// significant than it is: at 3, one of the examples' ~300 steady results was flagged.
const FILLING_T: f64 = 4.0;

/// Whether a result was measured while its queues were still filling: the cluster's mean
/// number in system, section by section (averaged over the replications), trends upward by
/// more than [`FILLING_T`] standard errors, in a model with a steady state to reach
/// (open-loop arrivals at a constant rate: Poisson, evenly spaced or gamma gaps; no faults;
/// an offered load below 1) that the saturation verdict did not already explain.
///
/// Why: the default warm-up is a tenth of the requests, and a queue relaxes to its steady
/// state in about ρ/(1 − √ρ)² of its own arrivals (M/M/1: 340 at ρ = 0.9). A fleet run with
/// the 1 000 requests a backend lbsim otherwise trusts discards 100 of them: at 10⁵
/// backends and load 0.9, random dispatch measured 96.0 ms [93.6, 98.5] against M/M/1's
/// 100 ms, the interval missing the truth, with no warning. Over many backends the cluster's
/// number in system is smooth, so the filling is plain to see.
fn still_filling(model: &Model, reps: &[Replication], r: &StrategyResult) -> bool {
    let steady_arrivals = matches!(
        model.arrivals,
        ArrivalProcess::Poisson { .. } | ArrivalProcess::Deterministic { .. } | ArrivalProcess::Gamma { .. }
    );
    let sections = reps.iter().map(|rep| rep.sections.len()).min().unwrap_or(0);
    // (A load that is not a number, closed-loop users', has no steady state to judge here.)
    let below_capacity = model.offered_load() < 1.0;
    if !steady_arrivals || !model.faults.is_empty() || !below_capacity || r.saturated || sections < 3 {
        return false;
    }
    let series: Vec<f64> = (0..sections)
        .map(|k| reps.iter().map(|rep| rep.sections[k].mean_in_system).sum::<f64>() / reps.len() as f64)
        .collect();
    rises(&series, FILLING_T)
}

/// Relative gap between the work the replications' requests brought over their windows
/// (mean over replications of Σ offered work ÷ capacity) and the offered load `load`; `None`
/// when either is not a positive finite number, and when retries or hedged copies sent some
/// requests' work more than once: the backends then receive more than the offered load by
/// design (the amplification is reported as such), so the gap says nothing about sampling.
fn work_gap(model: &Model, reps: &[Replication], load: f64) -> Option<f64> {
    // Each backend's capacity as its offered load counts it (with I/O phases, the group's
    // capacity under the model's I/O fraction).
    let capacities: Vec<f64> = model.each_backend().map(|(g, _)| model.group_capacity(g)).collect();
    let capacity: f64 = capacities.iter().sum();
    let amplified = reps.iter().any(|r| r.retries > 0 || r.hedging.as_ref().is_some_and(|h| h.copies > 0));
    if reps.is_empty() || amplified || !(load.is_finite() && load > 0.0 && capacity > 0.0) {
        return None;
    }
    let brought = reps
        .iter()
        .map(|r| r.backends.iter().zip(&capacities).map(|(b, c)| b.offered_load * c).sum::<f64>() / capacity)
        .sum::<f64>()
        / reps.len() as f64;
    brought.is_finite().then(|| brought / load - 1.0)
}

/// The range checks on a result's figures before they are printed. `representative`: the
/// run's requests brought the offered work, so its throughput cannot exceed the arrival rate
/// by more than the sampling noise of a window.
fn plausible(r: &StrategyResult, representative: bool) -> bool {
    // Comparisons with NaN are false: an undefined figure (no completions, a window of no
    // length) passes, and is explained by its own warning.
    let above = |a: f64, b: f64| a > b * (1.0 + RANGE_SLACK);
    let unit = |x: f64| x.is_nan() || (-RANGE_SLACK..=1.0 + RANGE_SLACK).contains(&x);
    let time = |x: f64| x.is_nan() || (x.is_finite() && x >= 0.0);
    let utilisation_ok = unit(r.utilisation.value) && r.backends.iter().all(|b| unit(b.utilisation));
    let quantiles = [r.p50.value, r.p90.value, r.p95.value, r.p99.value, r.p999.value];
    let ordered = quantiles.windows(2).all(|w| !above(w[0], w[1]));
    let times_ok = quantiles.iter().chain([&r.mean_response.value, &r.mean_wait.value]).all(|&x| time(x))
        && !above(r.mean_wait.value, r.mean_response.value);
    let throughput_ok = r.throughput.value.is_nan()
        || (r.throughput.value >= 0.0
            && (!representative || !above(r.throughput.value, r.arrival_rate * (1.0 + MAX_WORK_GAP))));
    utilisation_ok && ordered && times_ok && throughput_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_share_rounded_past_one_is_one_and_a_wrong_one_is_left_for_the_range_check() {
        // A window of 10⁴ s busy throughout, its area rounded two ulps of 10⁴ up.
        let window: f64 = 1e4;
        let rounded_up = f64::from_bits(window.to_bits() + 2);
        assert!(per_second(rounded_up, window, 0.0, 1.0) > 1.0);
        assert_eq!(busy_share(rounded_up, window, 0.0, 1.0), 1.0);
        assert_eq!(busy_share(0.9 * window, window, 0.0, 1.0), 0.9);
        // Past the slack it is a fault, and stays visible.
        assert_eq!(busy_share(1.01 * window, window, 0.0, 1.0), 1.01);
        assert!(busy_share(1.0, 0.0, 1e-9, 1.0).is_nan());
    }

    /// The trend test's level over several backends: Student's t with sections − 2 degrees
    /// of freedom at the one-backend false-alarm chance P(T > 3) divided by their number
    /// (18 degrees of freedom: P(T > 3) = 0.00384; the quantiles at 0.00384 / 2 and / 100
    /// are 3.316 and 5.087, by numerical integration of the t density).
    #[test]
    fn the_growth_threshold_keeps_one_backends_false_alarm_rate() {
        assert_eq!(growth_threshold(0, 20), GROWTH_T);
        assert_eq!(growth_threshold(1, 20), GROWTH_T);
        assert_eq!(growth_threshold(50, 2), GROWTH_T);
        assert!((growth_threshold(2, 20) - 3.316).abs() < 2e-3, "{}", growth_threshold(2, 20));
        assert!((growth_threshold(100, 20) - 5.087).abs() < 2e-3, "{}", growth_threshold(100, 20));
        assert!(growth_threshold(100_000, 20) > growth_threshold(100, 20));
    }
}
