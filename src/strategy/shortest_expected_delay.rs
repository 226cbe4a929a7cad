//! `shortest_expected_delay`: fewest requests per unit of capacity, counting the new one.

use super::count_index::Fewest;
use super::weighted_random::require_backends;
use super::{Cluster, IndexedWhen, Needs, PickCost, Setup, Strategy, StrategyError, ratio_less, rotating_argmin};
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
///
/// Cost: every backend is asked, since an idle slow backend can lose to a busy fast one.
/// When every backend has the same capacity the rule is the fewest requests, jsq's, with
/// the same rotation: the scan then stops at the first empty backend, and when the scans
/// grow long, the counts are kept in jsq's index (`count_index`), with the same choices.
#[derive(Debug)]
pub struct ShortestExpectedDelay {
    capacities: Vec<f64>,
    last: usize,
    /// With equal capacities the fewest requests win: an index can find them (None
    /// otherwise).
    fewest: Option<Fewest>,
}

impl ShortestExpectedDelay {
    pub(crate) fn new(capacities: Vec<f64>) -> Self {
        let last = capacities.len() - 1;
        let fewest = capacities.iter().all(|&c| c == capacities[0]).then(Fewest::default);
        ShortestExpectedDelay { capacities, last, fewest }
    }
}

impl Strategy for ShortestExpectedDelay {
    const NAME: &'static str = "shortest_expected_delay";
    const SUMMARY: &'static str = "fewest (requests + 1) per unit of capacity: fast backends preferred (ties rotate)";
    const MODELS: &'static str = "textbook oracle: shortest expected delay";
    const NEEDS: Needs = Needs::Counts;
    const PICK_COST: PickCost = PickCost::AsksUntilIdleOrIndexed;
    const INDEXED_WHEN: IndexedWhen = IndexedWhen::EqualCapacities;

    fn build(setup: &Setup<'_>) -> Result<Self, StrategyError> {
        require_backends(Self::NAME, setup.backends)?;
        Ok(ShortestExpectedDelay::new(setup.backends.iter().map(|b| b.capacity).collect()))
    }

    #[inline]
    fn pick<C: Cluster + ?Sized>(&mut self, request: &Request, cluster: &mut C) -> usize {
        if let Some(fewest) = &mut self.fewest {
            // Equal capacities: (nᵢ + 1)·c < (nⱼ + 1)·c exactly when nᵢ < nⱼ.
            return fewest.choose(request.arrival, &mut self.last, cluster);
        }
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

    /// With equal capacities the scan that stops at the first empty backend (and the
    /// index behind it) chooses what the rule's full scan of (nᵢ + 1) / c chooses.
    #[test]
    fn equal_capacities_choose_as_the_full_scan() {
        use crate::strategy::testing::rng;
        use crate::strategy::{ratio_less, rotating_argmin};
        use rand::RngExt;
        let mut r = rng(21);
        for round in 0..40 {
            let n = 1 + round % 13;
            let capacity = [1.0, 2.5, 0.3][round % 3];
            let mut s = ShortestExpectedDelay::new(vec![capacity; n]);
            assert!(s.fewest.is_some());
            let mut cluster = MockCluster::uniform(n);
            let mut last = n - 1;
            for k in 0..500 {
                cluster.counts = (0..n).map(|_| r.random_range(0..[2, 4, 30][k % 3])).collect();
                let counts = cluster.counts.clone();
                let delay = |i: usize| (f64::from(counts[i]) + 1.0, capacity);
                let expected = rotating_argmin(n, &mut last, delay, ratio_less, |_| false);
                assert_eq!(s.pick(&request(0, 1.0), &mut cluster), expected, "round {round}, pick {k}");
            }
        }
        assert!(ShortestExpectedDelay::new(vec![1.0, 2.0]).fewest.is_none());
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
