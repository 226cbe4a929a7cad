//! `weighted_round_robin`: nginx's smooth weighted round robin.

use super::weighted_random::checked_weights;
use super::{Cluster, Needs, Setup, Strategy, StrategyError};
use crate::model::Request;

/// nginx's smooth weighted round robin (`ngx_http_upstream_get_peer`), with no failures so
/// every backend's effective weight is its configured weight wᵢ. For each request:
///
/// 1. `current[i] += w[i]` for every backend;
/// 2. choose the backend with the largest `current` (ties: the lowest index, as nginx keeps
///    the first maximum it meets);
/// 3. `current[chosen] -= Σ w`.
///
/// Over any Σw consecutive picks (for integer weights) backend i is chosen exactly wᵢ times,
/// interleaved rather than in bursts: weights 5, 1, 1 give `a a b a c a a`.
///
/// Weights are `f64` (they default to capacities, which need not be integers); for integer
/// weights the arithmetic is exact, so the sequence matches nginx's exactly.
#[derive(Debug)]
pub struct WeightedRoundRobin {
    weights: Vec<f64>,
    current: Vec<f64>,
    total: f64,
}

impl WeightedRoundRobin {
    pub(crate) fn new(weights: Vec<f64>) -> Self {
        let total = weights.iter().sum();
        let current = vec![0.0; weights.len()];
        WeightedRoundRobin { weights, current, total }
    }
}

impl Strategy for WeightedRoundRobin {
    const NAME: &'static str = "weighted_round_robin";
    const SUMMARY: &'static str = "nginx smooth weighted round robin: backends in turn, in proportion to weight";
    const MODELS: &'static str = "nginx upstream default (smooth weighted round robin), weights default to capacity";
    const NEEDS: Needs = Needs::Nothing;

    fn build(setup: &Setup<'_>) -> Result<Self, StrategyError> {
        Ok(WeightedRoundRobin::new(checked_weights(Self::NAME, setup.backends)?))
    }

    #[inline]
    fn pick<C: Cluster + ?Sized>(&mut self, _request: &Request, _cluster: &mut C) -> usize {
        let mut best = 0;
        let mut best_current = f64::NEG_INFINITY;
        for (i, (current, weight)) in self.current.iter_mut().zip(&self.weights).enumerate() {
            *current += weight;
            if *current > best_current {
                best = i;
                best_current = *current;
            }
        }
        self.current[best] -= self.total;
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testing::{MockCluster, request};

    #[test]
    fn matches_nginx_sequence_for_5_1_1() {
        let mut s = WeightedRoundRobin::new(vec![5.0, 1.0, 1.0]);
        let mut cluster = MockCluster::uniform(3);
        let seq: String = (0..14).map(|_| (b'a' + s.pick(&request(0, 1.0), &mut cluster) as u8) as char).collect();
        // nginx's documented example, twice (the state returns to zero after Σw picks).
        assert_eq!(seq, "aabacaaaabacaa");
        assert!(cluster.queried.is_empty());
    }

    #[test]
    fn non_integer_weights_keep_proportions() {
        let mut s = WeightedRoundRobin::new(vec![1.5, 0.5, 1.0]);
        let mut cluster = MockCluster::uniform(3);
        let mut counts = [0u32; 3];
        for _ in 0..3000 {
            counts[s.pick(&request(0, 1.0), &mut cluster)] += 1;
        }
        // Smooth WRR is deterministic: off by at most one pick per backend from exact.
        for (c, expected) in counts.iter().zip([1500, 500, 1000]) {
            assert!((i64::from(*c) - expected).abs() <= 1, "{counts:?}");
        }
    }

    #[test]
    fn equal_weights_are_plain_round_robin() {
        let mut s = WeightedRoundRobin::new(vec![2.0; 4]);
        let mut cluster = MockCluster::uniform(4);
        let picks: Vec<usize> = (0..8).map(|_| s.pick(&request(0, 1.0), &mut cluster)).collect();
        assert_eq!(picks, [0, 1, 2, 3, 0, 1, 2, 3]);
    }
}
