//! `shortest_expected_delay`: fewest requests per unit of capacity, counting the new one.

use super::weighted_random::require_backends;
use super::{Cluster, Needs, PickCost, Setup, Strategy, StrategyError, ratio_less, rotating_argmin};
use crate::model::Request;

/// Shortest expected delay (SED, as in LVS): send the request to the backend minimising
/// (nᵢ + 1) / cᵢ, where nᵢ is the number of requests there and cᵢ its capacity — the
/// expected time to clear the backend's requests plus the new one if each takes one mean
/// service time. Unlike least connections (nᵢ / wᵢ), the "+1" makes an idle fast backend
/// preferred to an idle slow one, and a fast backend with one request may still beat an
/// idle slow one.
///
/// Ratios are compared by cross-multiplication ((nᵢ+1)·cⱼ < (nⱼ+1)·cᵢ). Ties go to the
/// first backend in a scan starting just after the previous choice (rotating).
#[derive(Debug)]
pub struct ShortestExpectedDelay {
    capacities: Vec<f64>,
    last: usize,
}

impl ShortestExpectedDelay {
    pub(crate) fn new(capacities: Vec<f64>) -> Self {
        let last = capacities.len() - 1;
        ShortestExpectedDelay { capacities, last }
    }
}

impl Strategy for ShortestExpectedDelay {
    const NAME: &'static str = "shortest_expected_delay";
    const SUMMARY: &'static str = "fewest (requests + 1) per unit of capacity: fast backends preferred (ties rotate)";
    const MODELS: &'static str = "textbook oracle: shortest expected delay";
    const NEEDS: Needs = Needs::Counts;
    // Never stops early: an idle slow backend can lose to a busy fast one.
    const PICK_COST: PickCost = PickCost::AsksAll;

    fn build(setup: &Setup<'_>) -> Result<Self, StrategyError> {
        require_backends(Self::NAME, setup.backends)?;
        Ok(ShortestExpectedDelay::new(setup.backends.iter().map(|b| b.capacity).collect()))
    }

    #[inline]
    fn pick<C: Cluster + ?Sized>(&mut self, _request: &Request, cluster: &mut C) -> usize {
        let capacities = &self.capacities;
        let delay = |i| (f64::from(cluster.in_system(i)) + 1.0, capacities[i]);
        rotating_argmin(capacities.len(), &mut self.last, delay, ratio_less, |_| false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testing::{MockCluster, request};

    #[test]
    fn counts_the_new_request() {
        let mut s = ShortestExpectedDelay::new(vec![1.0, 4.0]);
        let mut cluster = MockCluster::uniform(2);
        // (0+1)/1 = 1 vs (2+1)/4 = 0.75: the busy fast backend wins over the idle slow one
        // (least connections would pick the idle one).
        cluster.counts = vec![0, 2];
        assert_eq!(s.pick(&request(0, 1.0), &mut cluster), 1);
        // 1 vs (4+1)/4 = 1.25.
        cluster.counts = vec![0, 4];
        assert_eq!(s.pick(&request(0, 1.0), &mut cluster), 0);
    }

    #[test]
    fn ties_rotate() {
        let mut s = ShortestExpectedDelay::new(vec![1.0, 2.0, 1.0]);
        let mut cluster = MockCluster::uniform(3);
        // (0+1)/1 = (1+1)/2 = (0+1)/1.
        cluster.counts = vec![0, 1, 0];
        let picks: Vec<usize> = (0..4).map(|_| s.pick(&request(0, 1.0), &mut cluster)).collect();
        assert_eq!(picks, [0, 1, 2, 0]);
    }
}
