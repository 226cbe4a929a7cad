//! `envoy_least_request`: Envoy's LEAST_REQUEST load balancer: power of `choice_count`
//! choices for equal weights, earliest deadline first over weight / (active + 1)^bias
//! otherwise.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use rand_xoshiro::Xoshiro256PlusPlus;

use super::real_weights::real_weights;
use super::slow_start::{self, RampWatch, SlowStart};
use super::{Cluster, Needs, ParamSpec, PickCost, Setup, Strategy, StrategyError, uniform_index};
use crate::model::Request;

/// Envoy LEAST_REQUEST (`LeastRequestLoadBalancer`, load_balancer_impl.cc):
///
/// - **equal weights**: `choice_count` hosts (default 2) are sampled uniformly *with
///   replacement* (`random() % hosts`); the first sampled is the candidate and a later one
///   replaces it only with strictly fewer active requests (`unweightedHostPick`);
/// - **unequal weights** (or hosts in slow start): earliest deadline first (Envoy's
///   `EdfScheduler`): each host sits in a queue with deadline `now + 1 / weight`, ties by
///   insertion order; a pick takes the earliest, advances the scheduler's clock to its
///   deadline, and puts the host back with its weight recomputed at that moment as
///   `load_balancing_weight / (active requests + 1)^active_request_bias` (bias 1 by
///   default; 0 is plain weighted round robin). Other hosts keep the weight they had
///   when last put back, so the load only steers the picked host's next turn.
///
/// Weights are Envoy's (`load_balancing_weight`, default 1). With `slow_start` the weight
/// is also scaled by Envoy's ramp. Envoy starts each scheduler after a random number of
/// picks so that its worker threads do not move in lockstep; with one balancer lbsim starts
/// at the first host.
#[derive(Debug)]
pub struct EnvoyLeastRequest {
    rng: Xoshiro256PlusPlus,
    choice_count: usize,
    bias: f64,
    weights: Vec<f64>,
    equal_weights: bool,
    slow_start: Option<SlowStart>,
    watch: RampWatch,
    edf: BinaryHeap<Reverse<Deadline>>,
    clock: f64,
    inserted: u64,
}

/// An EDF entry: (deadline, insertion order, host), ordered by deadline then order.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Deadline {
    at: f64,
    order: u64,
    host: u32,
}

impl Eq for Deadline {}
impl PartialOrd for Deadline {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Deadline {
    fn cmp(&self, other: &Self) -> Ordering {
        self.at.total_cmp(&other.at).then(self.order.cmp(&other.order))
    }
}

impl EnvoyLeastRequest {
    pub(crate) fn new(
        weights: &[u32],
        choice_count: usize,
        bias: f64,
        slow_start: Option<SlowStart>,
        rng: Xoshiro256PlusPlus,
    ) -> Self {
        let weights: Vec<f64> = weights.iter().map(|&w| f64::from(w)).collect();
        let mut s = EnvoyLeastRequest {
            rng,
            choice_count,
            bias,
            equal_weights: weights.iter().all(|&w| w == weights[0]),
            edf: BinaryHeap::with_capacity(weights.len()),
            weights,
            slow_start,
            watch: RampWatch::default(),
            clock: 0.0,
            inserted: 0,
        };
        for host in 0..s.weights.len() {
            let w = s.weights[host];
            s.push(host, w);
        }
        s
    }

    #[inline]
    fn push(&mut self, host: usize, weight: f64) {
        self.edf.push(Reverse(Deadline { at: self.clock + 1.0 / weight, order: self.inserted, host: host as u32 }));
        self.inserted += 1;
    }

    /// Envoy's `hostWeight`: weight / (active + 1)^bias, then the slow-start ramp.
    #[inline]
    fn dynamic_weight(&self, host: usize, active: u32, now: f64, up_since: f64) -> f64 {
        let w = self.weights[host];
        let active = f64::from(active) + 1.0;
        let w = if self.bias == 1.0 {
            w / active
        } else if self.bias != 0.0 {
            w / active.powf(self.bias)
        } else {
            w
        };
        match &self.slow_start {
            Some(ramp) => ramp.weight(w, now, up_since),
            None => w,
        }
    }
}

impl Strategy for EnvoyLeastRequest {
    const NAME: &'static str = "envoy_least_request";
    const SUMMARY: &'static str = "Envoy LEAST_REQUEST: best of choice_count random hosts (with replacement); \
                                   unequal weights: EDF on weight/(active+1)^bias";
    const MODELS: &'static str = "Envoy: lb_policy: LEAST_REQUEST (least_request_lb_config choice_count, active_request_bias, slow_start_config)";
    const NEEDS: Needs = Needs::Counts;
    // choice_count samples with equal weights; with unequal weights a pop and a push on an
    // EDF heap of every host.
    const PICK_COST: PickCost = PickCost::Logarithmic;
    const PARAMS: &'static [ParamSpec] = &[
        ParamSpec {
            name: "choice_count",
            help: "hosts sampled per request, with replacement, ≥ 2 as Envoy requires (default 2)",
        },
        ParamSpec {
            name: "active_request_bias",
            help: "≥ 0: unequal weights count as weight / (active + 1)^bias (default 1; 0 = weighted round robin)",
        },
        slow_start::ENVOY_PARAMS[0],
        slow_start::ENVOY_PARAMS[1],
        slow_start::ENVOY_PARAMS[2],
    ];

    fn build(setup: &Setup<'_>) -> Result<Self, StrategyError> {
        let weights = real_weights(Self::NAME, "Envoy", u32::MAX, setup.backends)?;
        let choice_count = setup.params.count("choice_count", 2, 2)?;
        let bias = setup.params.real("active_request_bias", 1.0, "a number ≥ 0", |b| b >= 0.0)?;
        let slow_start = SlowStart::envoy(setup.params)?;
        Ok(EnvoyLeastRequest::new(&weights, choice_count, bias, slow_start, setup.rng.clone()))
    }

    #[inline]
    fn pick<C: Cluster + ?Sized>(&mut self, request: &Request, cluster: &mut C) -> usize {
        let now = request.arrival;
        let ramping = match &self.slow_start {
            None => false,
            Some(ramp) => self.watch.ramping(ramp, cluster, now),
        };
        if self.equal_weights && !ramping {
            let n = self.weights.len();
            let mut candidate = uniform_index(&mut self.rng, n);
            let mut candidate_active = cluster.in_system(candidate);
            for _ in 1..self.choice_count {
                let sampled = uniform_index(&mut self.rng, n);
                let active = cluster.in_system(sampled);
                if active < candidate_active {
                    candidate = sampled;
                    candidate_active = active;
                }
            }
            return candidate;
        }
        let Reverse(earliest) = self.edf.pop().expect("every host is in the scheduler");
        self.clock = earliest.at;
        let host = earliest.host as usize;
        let weight = self.dynamic_weight(host, cluster.in_system(host), now, cluster.up_since(host));
        self.push(host, weight);
        host
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testing::{MockCluster, request, rng};

    fn lr(weights: &[u32], choice_count: usize, bias: f64) -> EnvoyLeastRequest {
        EnvoyLeastRequest::new(weights, choice_count, bias, None, rng(6))
    }

    #[test]
    fn equal_weights_sample_with_replacement_and_keep_the_first_on_ties() {
        let mut s = lr(&[1; 4], 2, 1.0);
        let mut cluster = MockCluster::uniform(4);
        cluster.counts = vec![2; 4];
        let mut same = 0;
        for _ in 0..20_000 {
            cluster.queried.clear();
            let chosen = s.pick(&request(0, 1.0), &mut cluster);
            assert_eq!(chosen, cluster.queried[0], "ties keep the first sampled");
            same += usize::from(cluster.queried[0] == cluster.queried[1]);
        }
        // With replacement: the two samples coincide 1 time in 4 (binomial, 5 SE ≈ 0.015).
        assert!((same as f64 / 20_000.0 - 0.25).abs() < 0.015, "{same}");
        cluster.counts = vec![3, 3, 0, 3];
        let mut s = lr(&[1; 4], 4, 1.0);
        let hits = (0..1000).filter(|_| s.pick(&request(0, 1.0), &mut cluster) == 2).count();
        // Host 2 is chosen whenever one of 4 samples hits it: 1 − (3/4)⁴ ≈ 0.684.
        assert!((hits as f64 / 1000.0 - 0.684).abs() < 0.075, "{hits}");
    }

    #[test]
    fn unequal_weights_with_bias_zero_are_edf_weighted_round_robin() {
        // Weights 4, 1: host 0's deadlines 1/4, 1/2, 3/4, 1, …, host 1's 1, 2, …; at the
        // tie at 1 host 1's entry is older (inserted first), so it goes first.
        let mut s = lr(&[4, 1], 2, 0.0);
        let mut cluster = MockCluster::uniform(2);
        let picks: Vec<usize> = (0..10).map(|_| s.pick(&request(0, 1.0), &mut cluster)).collect();
        assert_eq!(picks, [0, 0, 0, 1, 0, 0, 0, 0, 1, 0]);
    }

    #[test]
    fn active_requests_slow_down_a_busy_host() {
        // Weights 2, 1 and bias 1: host 0 with 3 active counts 2/4 = 0.5 per unit, host 1
        // idle 1/1: over many picks with these counts, host 1 gets two picks for each of
        // host 0's.
        let mut s = lr(&[2, 1], 2, 1.0);
        let mut cluster = MockCluster::uniform(2);
        cluster.counts = vec![3, 0];
        let mut counts = [0u32; 2];
        for _ in 0..3000 {
            counts[s.pick(&request(0, 1.0), &mut cluster)] += 1;
        }
        assert!(counts[1].abs_diff(2000) <= 2, "{counts:?}");
    }
}
