//! How long a cluster started empty takes to fill, and how low a warm-up too short for it
//! leaves the means: the estimate behind the warning `lbsim check`, `run` and `sweep` give
//! before a run (the result's `still_filling` says it after, when it shows).
//!
//! Every run starts with its queues empty. A backend's number in system approaches its
//! steady level over the queue's relaxation time, in its own arrivals
//!
//!   τ ≈ (c_a² + c_s²) / 2 · ρ / (1 − √ρ)²
//!
//! (the exact spectral gap of M/M/1, ρ/(1 − √ρ)², scaled by the variability of its arrivals
//! and service times as the heavy-traffic diffusion scales it; Whitt, "Planning queueing
//! simulations", Management Science 35, 1989). At load 0.9 an M/M/1 queue relaxes over
//! about 340 of its arrivals. A fleet of 10⁵ backends measured for 1 000 requests each,
//! with the default warm-up of a tenth, gives each queue 100 arrivals to fill: its means
//! read 4 % low.
//!
//! The deficit left after a warm-up of k relaxation times is `DEFICIT` below: the integral
//! of (steady mean − E[N(t)]) ÷ steady mean from kτ on, in units of τ, computed from the
//! transient of M/M/1 at load 0.9 started empty (the forward equations, uniformised). A
//! window of R arrivals after a warm-up of W then reads low by
//!
//!   bias = τ · (D(W/τ) − D((W + R)/τ)) / R.
//!
//! Checked against runs (tests/statistics.rs) and against the same transient at other loads:
//! in units of τ the deficit is within 5 % of this table from load 0.8 to 0.95, 35 % larger
//! at load 0.5 (where τ is a few arrivals and no warm-up is short), and smaller with several
//! workers (0.85× at 4 workers, 0.5× at 16: the estimate errs on the side of warning).

use crate::model::{ArrivalProcess, Model, WorkerClass};
use crate::strategy::{Shares, Spacing};

/// The deficit D(k) after a warm-up of k relaxation times, at the knots k of the table
/// (see the module's documentation); between knots its logarithm is interpolated linearly.
const DEFICIT: [(f64, f64); 13] = [
    (0.0, 0.26091),
    (0.125, 0.18599),
    (0.25, 0.14136),
    (0.5, 0.08743),
    (0.75, 0.05673),
    (1.0, 0.03786),
    (1.5, 0.01779),
    (2.0, 0.00875),
    (2.5, 0.00444),
    (3.0, 0.00230),
    (4.0, 0.00065),
    (5.0, 0.00019),
    (6.0, 0.00006),
];
/// Beyond the table the deficit falls by this factor's logarithm per relaxation time (its
/// last knots fall by 0.29–0.31 per τ).
const DEFICIT_TAIL_RATE: f64 = 1.2;

/// The estimate holds for queues whose admission limit is at least this many times their
/// steady mean number in system (then the limit hardly ever binds).
const CAP_MARGIN: f64 = 10.0;

/// A predicted bias above this (the means reading more than 1 % low) is worth a warning:
/// a run that long is usually after a figure to a percent.
pub const BIAS_WORTH_A_WARNING: f64 = 0.01;
/// The bias the suggested warm-up leaves at most.
pub const BIAS_AFTER_SUGGESTED_WARMUP: f64 = 0.002;

/// The deficit left after a warm-up of `k` relaxation times (see [`DEFICIT`]).
pub fn deficit(k: f64) -> f64 {
    if k.is_nan() || k <= 0.0 {
        return DEFICIT[0].1;
    }
    let (last_k, last) = DEFICIT[DEFICIT.len() - 1];
    if k >= last_k {
        return last * (-DEFICIT_TAIL_RATE * (k - last_k)).exp();
    }
    let i = DEFICIT.partition_point(|&(knot, _)| knot <= k);
    let ((k0, d0), (k1, d1)) = (DEFICIT[i - 1], DEFICIT[i]);
    let t = (k - k0) / (k1 - k0);
    (d0.ln() + t * (d1.ln() - d0.ln())).exp()
}

/// A queue's relaxation time in its own arrivals, at load `load` with arrival gaps and
/// service times of squared coefficients of variation `gap_scv` and `service_scv`.
pub fn relaxation_arrivals(load: f64, gap_scv: f64, service_scv: f64) -> f64 {
    0.5 * (gap_scv + service_scv) * load / (1.0 - load.sqrt()).powi(2)
}

/// How low the mean number in system (and by Little's law the mean response) of a queue
/// started empty reads over a window of `window` of its arrivals after a warm-up of
/// `warmup`, its relaxation time being `relaxation` arrivals: a fraction (0.04 is 4 % low).
pub fn empty_start_bias(warmup: f64, window: f64, relaxation: f64) -> f64 {
    if !(window > 0.0 && relaxation > 0.0) {
        return 0.0;
    }
    relaxation * (deficit(warmup / relaxation) - deficit((warmup + window) / relaxation)) / window
}

/// What [`empty_start`] predicts for a cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct EmptyStart {
    /// How low the means read (a fraction), at the backend where that is most.
    pub bias: f64,
    /// That backend (an index over the model's backends).
    pub backend: usize,
    /// Its offered load.
    pub load: f64,
    /// Its queue's relaxation time, in its own arrivals.
    pub relaxation: f64,
    /// The arrivals its queue has to fill in during the warm-up.
    pub warmup_arrivals: f64,
    /// The warm-up (requests to the whole cluster) that would leave every backend's means
    /// at most [`BIAS_AFTER_SUGGESTED_WARMUP`] low, to two significant digits, rounded up.
    pub warmup_needed: u64,
}

/// How low a run of `requests` measured after `warmup` discarded reads because its queues
/// started empty, when the model lets each backend be judged alone: the balancer's rule
/// fixes the backends' `shares` (blind rules), arrivals are Poisson, evenly spaced or
/// gamma, and every backend has sync workers (FCFS) below capacity, no I/O phases and an
/// admission limit (workers + backlog) that its steady queue stays far below. The service
/// times must have a finite variance. `None` when any of this does not hold (rules
/// that look at the queues fill them faster; a model without a steady state has none to
/// reach).
pub fn empty_start(model: &Model, shares: &Shares, warmup: u64, requests: u64) -> Option<EmptyStart> {
    let cluster_gap_scv = match model.arrivals {
        ArrivalProcess::Poisson { .. } | ArrivalProcess::Deterministic { .. } | ArrivalProcess::Gamma { .. } => {
            model.arrivals.gap_scv()?
        }
        _ => return None,
    };
    let service_scv = model.service.cv().powi(2);
    if !model.is_plain() || !service_scv.is_finite() || shares.of_requests.len() != model.backend_count() {
        return None;
    }
    let work = model.arrivals.mean_rate() * model.service.mean();
    // (backend, share, load, relaxation) of every backend sent requests, each kind once (the
    // first backend of it): a fleet has few kinds, and the bisection below asks every queue
    // 60 times (10⁶ backends took 11 s to check).
    let mut queues = Vec::new();
    let mut kinds = std::collections::HashSet::new();
    for (backend, ((g, _), &share)) in model.each_backend().zip(&shares.of_requests).enumerate() {
        if !matches!(g.worker_class, WorkerClass::Sync) || g.needs_station(model.io_fraction) {
            return None;
        }
        let load = share * work / model.group_capacity(g);
        if load.is_nan() || load >= 1.0 {
            return None;
        }
        if share > 0.0 {
            // A backend's gaps are a number K of the cluster's: geometric when drawn
            // (scv 1 − p), about 1/p when dealt; so c_a² = p c² + scv(K).
            let spread = match shares.spacing {
                Spacing::Drawn => 1.0 - share,
                Spacing::Dealt => 0.0,
            };
            let gap_scv = share * cluster_gap_scv + spread;
            // A queue its backlog caps (the steady mean queue, by Kingman's approximation,
            // within a tenth of the admission limit) turns requests away instead of growing,
            // and fills faster than the uncapped queue this estimates.
            let queue = 0.5 * (gap_scv + service_scv) * load * load / (1.0 - load);
            let limit = f64::from(g.workers) + f64::from(g.backlog);
            if limit < CAP_MARGIN * (queue + load * f64::from(g.workers)) {
                return None;
            }
            let relaxation = relaxation_arrivals(load, gap_scv, service_scv);
            if kinds.insert([share.to_bits(), load.to_bits(), relaxation.to_bits()]) {
                queues.push((backend, share, load, relaxation));
            }
        }
    }
    // The largest bias over the backends after a warm-up of `warmup`, and where.
    let worst = |warmup: f64| {
        queues
            .iter()
            .map(|&(_, share, _, relaxation)| empty_start_bias(warmup * share, requests as f64 * share, relaxation))
            .enumerate()
            .fold((0.0, 0), |(most, at), (q, bias)| if bias > most { (bias, q) } else { (most, at) })
    };
    if queues.is_empty() {
        return None;
    }
    let (bias, q) = worst(warmup as f64);
    let (backend, share, load, relaxation) = queues[q];
    // The bias falls as the warm-up grows: the least warm-up that brings it under the
    // target, by bisection between the one given and one past every queue's 12 τ.
    let (mut lo, mut hi) = (warmup as f64, warmup as f64);
    if bias > BIAS_AFTER_SUGGESTED_WARMUP {
        hi = queues.iter().map(|&(_, share, _, relaxation)| 12.0 * relaxation / share).fold(hi, f64::max);
        for _ in 0..60 {
            let mid = 0.5 * (lo + hi);
            if worst(mid).0 <= BIAS_AFTER_SUGGESTED_WARMUP {
                hi = mid;
            } else {
                lo = mid;
            }
        }
    }
    Some(EmptyStart {
        bias,
        backend,
        load,
        relaxation,
        warmup_arrivals: warmup as f64 * share,
        warmup_needed: round_up_two_digits(hi.ceil() as u64),
    })
}

/// `n` rounded up to two significant digits (3 417 → 3 500).
fn round_up_two_digits(n: u64) -> u64 {
    let mut unit = 1u64;
    while n / unit >= 100 {
        unit *= 10;
    }
    n.div_ceil(unit) * unit
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deficit_falls_through_its_knots_and_beyond() {
        for &(k, d) in &DEFICIT {
            assert!((deficit(k) - d).abs() < 1e-12 * d.max(1.0), "{k}");
        }
        let mut before = f64::INFINITY;
        for step in 0..200 {
            let d = deficit(step as f64 * 0.05);
            assert!(d < before && d > 0.0, "step {step}: {d}");
            before = d;
        }
        assert_eq!(deficit(-1.0), DEFICIT[0].1);
    }

    #[test]
    fn an_mm1_queue_relaxes_over_its_spectral_gap() {
        // M/M/1 at load 0.9: 1 / (1 − √0.9)² service times, 0.9 of that in arrivals.
        let tau = relaxation_arrivals(0.9, 1.0, 1.0);
        assert!((tau - 341.8).abs() < 0.1, "{tau}");
        // The fleet of the README: 100 warm-up and 1 000 measured arrivals a backend read
        // 4.4 % low by the transient (measured: 96.0 ms [93.6, 98.5] against 100).
        let bias = empty_start_bias(100.0, 1000.0, tau);
        assert!((bias - 0.0438).abs() < 0.001, "{bias}");
        assert_eq!(empty_start_bias(100.0, 0.0, tau), 0.0);
    }

    #[test]
    fn rounds_up_to_two_significant_digits() {
        assert_eq!(round_up_two_digits(3417), 3500);
        assert_eq!(round_up_two_digits(3400), 3400);
        assert_eq!(round_up_two_digits(99), 99);
        assert_eq!(round_up_two_digits(0), 0);
        assert_eq!(round_up_two_digits(100_000_001), 110_000_000);
    }
}
