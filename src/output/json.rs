//! The JSON printed by `lbsim run --json`. Field names are a public contract (issue #2):
//! times are in seconds.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::runner::StrategyResult;

/// `{"experiment": NAME, "results": [...]}`.
#[derive(Debug, Serialize)]
pub struct RunJson<'a> {
    pub experiment: &'a str,
    pub results: Vec<ResultJson<'a>>,
}

#[derive(Debug, Serialize)]
pub struct ResultJson<'a> {
    pub strategy: &'a str,
    pub load: f64,
    pub arrival_rate: f64,
    pub replications: u32,
    pub requests: u64,
    pub mean_response: f64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub p999: f64,
    pub mean_wait: f64,
    pub mean_slowdown: f64,
    pub throughput: f64,
    pub utilisation: f64,
    pub mean_in_system: f64,
    pub rejected: u64,
    pub saturated: bool,
    /// Fraction of the replications judged saturated.
    pub saturated_fraction: f64,
    /// Codes of the "too short to trust" warnings (`few_requests`, `long_warmup`,
    /// `no_steady_state`, `wide_interval`, `no_p999_interval`, `no_p99_interval`, `unrepresentative_work`,
    /// `beyond_histogram`, `implausible`, `ramp_cut_short`, `infinite_variance`, `ramp_in_warmup`,
    /// `still_filling`).
    pub warnings: Vec<&'static str>,
    /// 95 % confidence intervals, `[low, high]`, by metric name.
    pub ci95: BTreeMap<&'static str, [f64; 2]>,
    pub backends: Vec<BackendJson<'a>>,
    /// Closed-loop users only: N, mean think time Z and the cycle N/X (its interval is
    /// `ci95.cycle`); `load` and `arrival_rate` are then measured, not given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_loop: Option<ClosedLoopJson<'a>>,
    /// Attempts per request (1 + retries ÷ requests), when the balancer or clients retry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempts_per_request: Option<f64>,
    /// Hedged requests only: the delay, the second copies sent, the amplification.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hedging: Option<&'a crate::runner::HedgeResult>,
    /// Models that can fail an accepted request only (faults, health checks, timeouts,
    /// `max_conns`, gunicorn `timeout`/`max_requests`): the measured requests that failed,
    /// by cause (`worker_timeout`, `backend_down`, `queue_timeout`, `no_backend`,
    /// `client_timeout`), their fraction, and the goodput (successful completions per
    /// second; its interval is `ci95.goodput`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_by_cause: Option<&'a BTreeMap<String, u64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_fraction: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub goodput: Option<f64>,
    /// Backends with explicit workers only: the lowest and highest utilisation of a single
    /// worker (each worker's own figures are in `backends[].workers`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worker_utilisation_min: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worker_utilisation_max: Option<f64>,
    /// With an SLO (a sweep's `[report] slo`, `lbsim plan --slo`): its limit and
    /// P(response > limit) with its 95 % interval (`null` bounds when too few responses
    /// exceed it for an honest one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub over_slo: Option<OverSloJson>,
    /// Models that cancel (a client's `cancel`, `hedge_cancel`) only: attempts taken back
    /// out of their backend, and their number ÷ requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancelled: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancelled_fraction: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct OverSloJson {
    pub limit: f64,
    pub fraction: f64,
    pub ci95: [f64; 2],
}

#[derive(Debug, Serialize)]
pub struct ClosedLoopJson<'a> {
    pub users: u32,
    pub think: f64,
    pub cycle: f64,
    /// With a ramp of users only: `from` (users at time 0), the `stages` (`{"for": seconds,
    /// "to": users}`), `ended_at`, when the (earliest) run's measurement window ended:
    /// before the ramp's end, the stages past it never happened (warning `ramp_cut_short`),
    /// and `started_at`, when the (latest) window began, at the warm-up's end: the stages
    /// before it were not measured (warning `ramp_in_warmup` when there was a warm-up).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ramp: Option<&'a crate::runner::RampResult>,
}

#[derive(Debug, Serialize)]
pub struct BackendJson<'a> {
    pub name: &'a str,
    pub utilisation: f64,
    pub throughput: f64,
    pub mean_in_system: f64,
    pub completed: u64,
    /// Utilisation of each worker (backends with explicit workers only).
    #[serde(skip_serializing_if = "<[f64]>::is_empty")]
    pub workers: &'a [f64],
}

/// The JSON document for one experiment's results.
pub fn run_json<'a>(experiment: &'a str, results: &'a [StrategyResult]) -> RunJson<'a> {
    let results = results
        .iter()
        .map(|r| {
            let ci95 = [
                ("mean_response", r.mean_response),
                ("p50", r.p50),
                ("p90", r.p90),
                ("p95", r.p95),
                ("p99", r.p99),
                ("p999", r.p999),
                ("mean_wait", r.mean_wait),
                ("mean_slowdown", r.mean_slowdown),
                ("throughput", r.throughput),
                ("utilisation", r.utilisation),
                ("mean_in_system", r.mean_in_system),
            ]
            .into_iter()
            .chain(r.closed_loop.as_ref().map(|c| ("cycle", c.cycle)))
            .chain(r.failures.as_ref().map(|f| ("goodput", f.goodput)))
            .map(|(name, e)| (name, [e.ci_low, e.ci_high]))
            .collect();
            ResultJson {
                strategy: &r.strategy,
                load: r.load,
                arrival_rate: r.arrival_rate,
                replications: r.replications,
                requests: r.requests,
                mean_response: r.mean_response.value,
                p50: r.p50.value,
                p90: r.p90.value,
                p95: r.p95.value,
                p99: r.p99.value,
                p999: r.p999.value,
                mean_wait: r.mean_wait.value,
                mean_slowdown: r.mean_slowdown.value,
                throughput: r.throughput.value,
                utilisation: r.utilisation.value,
                mean_in_system: r.mean_in_system.value,
                rejected: r.rejected,
                saturated: r.saturated,
                saturated_fraction: r.saturated_fraction,
                warnings: r.warnings.iter().map(|w| w.code()).collect(),
                ci95,
                backends: r
                    .backends
                    .iter()
                    .map(|b| BackendJson {
                        name: &b.name,
                        utilisation: b.utilisation,
                        throughput: b.throughput,
                        mean_in_system: b.mean_in_system,
                        completed: b.completed,
                        workers: &b.workers,
                    })
                    .collect(),
                closed_loop: r.closed_loop.as_ref().map(|c| ClosedLoopJson {
                    users: c.users,
                    think: c.think,
                    cycle: c.cycle.value,
                    ramp: c.ramp.as_ref(),
                }),
                attempts_per_request: r.attempts_per_request,
                hedging: r.hedging.as_ref(),
                failed: r.failures.as_ref().map(|f| f.failed),
                failed_by_cause: r.failures.as_ref().map(|f| &f.by_cause),
                failed_fraction: r.failures.as_ref().map(|f| f.fraction),
                goodput: r.failures.as_ref().map(|f| f.goodput.value),
                worker_utilisation_min: r.worker_utilisation.map(|w| w.min).filter(|x| x.is_finite()),
                worker_utilisation_max: r.worker_utilisation.map(|w| w.max).filter(|x| x.is_finite()),
                over_slo: r.over_slo.map(|o| OverSloJson {
                    limit: o.limit,
                    fraction: o.fraction.value,
                    ci95: [o.fraction.ci_low, o.fraction.ci_high],
                }),
                cancelled: r.cancelled.map(|c| c.cancelled),
                cancelled_fraction: r.cancelled.map(|c| c.fraction),
            }
        })
        .collect();
    RunJson { experiment, results }
}
