//! `weighted_round_robin`: nginx's smooth weighted round robin.

use super::slow_start::{self, SlowStart};
use super::swrr::{RampedSwrr, Swrr};
use super::weighted_random::checked_weights;
use super::{Cluster, Needs, ParamSpec, PickCost, Setup, Shares, Strategy, StrategyError};
use crate::model::Request;

/// nginx's smooth weighted round robin ([`Swrr`]) on the model's weights wᵢ (which default
/// to capacities, so need not be integers; for integer weights the arithmetic is exact and
/// the sequence is nginx's: weights 5, 1, 1 give `a a b a c a a`). Over any Σw consecutive
/// picks backend i is chosen wᵢ times, interleaved rather than in bursts.
///
/// With `slow_start`, a backend that came back counts with its weight ramped linearly from
/// 1 % (nginx Plus's ramp) while the window lasts.
#[derive(Debug)]
pub struct WeightedRoundRobin {
    swrr: RampedSwrr,
}

impl WeightedRoundRobin {
    pub(crate) fn new(weights: Vec<f64>, slow_start: Option<SlowStart>) -> Self {
        WeightedRoundRobin { swrr: RampedSwrr::new(Swrr::new(weights), slow_start) }
    }
}

impl Strategy for WeightedRoundRobin {
    const NAME: &'static str = "weighted_round_robin";
    const SUMMARY: &'static str = "nginx smooth weighted round robin: backends in turn, in proportion to weight";
    const MODELS: &'static str = "nginx upstream default (smooth weighted round robin), weights default to capacity";
    const NEEDS: Needs = Needs::Nothing;
    // nginx's smooth weighted round robin adds to every peer's current_weight on each pick;
    // the same choices take a step per distinct whole-number weight (`Swrr`).
    const PICK_COST: PickCost = PickCost::WalksWeightClasses;
    const PARAMS: &'static [ParamSpec] = &[slow_start::LINEAR_PARAM];

    fn build(setup: &Setup<'_>) -> Result<Self, StrategyError> {
        Ok(WeightedRoundRobin::new(checked_weights(Self::NAME, setup.backends)?, SlowStart::linear(setup.params)?))
    }

    /// In proportion to the weights (on backends that never fail, no slow start ramps).
    fn shares(setup: &Setup<'_>) -> Option<Shares> {
        checked_weights(Self::NAME, setup.backends).ok().map(Shares::dealt)
    }

    #[inline]
    fn pick<C: Cluster + ?Sized>(&mut self, request: &Request, cluster: &mut C) -> usize {
        self.swrr.pick(request.arrival, cluster)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testing::{MockCluster, request};

    #[test]
    fn matches_nginx_sequence_for_5_1_1() {
        let mut s = WeightedRoundRobin::new(vec![5.0, 1.0, 1.0], None);
        let mut cluster = MockCluster::uniform(3);
        let seq: String = (0..14).map(|_| (b'a' + s.pick(&request(0, 1.0), &mut cluster) as u8) as char).collect();
        // nginx's documented example, twice (the state returns to zero after Σw picks).
        assert_eq!(seq, "aabacaaaabacaa");
        assert!(cluster.queried.is_empty());
    }

    #[test]
    fn non_integer_weights_keep_proportions() {
        let mut s = WeightedRoundRobin::new(vec![1.5, 0.5, 1.0], None);
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
    fn slow_start_ramps_a_backend_that_came_back_linearly() {
        use crate::strategy::{ParamValue, Params};
        let params = Params::new("weighted_round_robin").with("slow_start", ParamValue::Number(10.0));
        let mut s = WeightedRoundRobin::new(vec![1.0, 1.0], SlowStart::linear(&params).unwrap());
        let mut cluster = MockCluster::uniform(2);
        let at = |t: f64| crate::model::Request { arrival: t, ..request(0, 1.0) };
        // Up all along: no ramp.
        let picks: Vec<usize> = (0..4).map(|_| s.pick(&at(1.0), &mut cluster)).collect();
        assert_eq!(picks, [0, 1, 0, 1]);
        // b came back at t = 10 s: at 12.5 s it has a quarter of its weight, so SWRR gives
        // it exactly 1 pick in 5 (weights 1 and 0.25, exact in binary).
        cluster.up = vec![f64::NEG_INFINITY, 10.0];
        let b = (0..500).filter(|_| s.pick(&at(12.5), &mut cluster) == 1).count();
        assert!((99..=101).contains(&b), "{b}");
        // After the window: even again.
        let b = (0..100).filter(|_| s.pick(&at(20.0), &mut cluster) == 1).count();
        assert!((49..=51).contains(&b), "{b}");
    }

    #[test]
    fn equal_weights_are_plain_round_robin() {
        let mut s = WeightedRoundRobin::new(vec![2.0; 4], None);
        let mut cluster = MockCluster::uniform(4);
        let picks: Vec<usize> = (0..8).map(|_| s.pick(&request(0, 1.0), &mut cluster)).collect();
        assert_eq!(picks, [0, 1, 2, 3, 0, 1, 2, 3]);
    }
}
