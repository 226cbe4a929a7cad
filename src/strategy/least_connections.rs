//! `least_connections`: nginx's `least_conn` — fewest requests per unit of weight.

use super::count_index::Fewest;
use super::weighted_random::checked_weights;
use super::{
    Cluster, IndexedWhen, Needs, PickCost, Setup, Strategy, StrategyError, ratio_less, rotating_argmin_asking,
};
use crate::model::Request;

/// nginx `least_conn`: send the request to the backend minimising nᵢ / wᵢ, where nᵢ is the
/// number of requests it holds (in service plus waiting: nginx's active connections) and wᵢ
/// its weight. Ratios are compared by cross-multiplication (nᵢ·wⱼ < nⱼ·wᵢ), never divided.
///
/// Ties go to the first backend in a scan that starts just after the previous choice
/// (rotating), so equally loaded backends share work evenly. (nginx breaks ties with its
/// weighted round robin; rotation is the same for equal weights and a documented
/// simplification otherwise.) Looks at every backend except when an idle one is found
/// first, which nothing can beat; with equal weights, when those scans grow long (no idle
/// backends: several workers each, a high load), at an index of the counts instead
/// (`count_index`), with the same choices.
#[derive(Debug)]
pub struct LeastConnections {
    weights: Vec<f64>,
    last: usize,
    /// With equal weights the fewest requests win: an index can find them (None otherwise).
    fewest: Option<Fewest>,
}

impl LeastConnections {
    pub(crate) fn new(weights: Vec<f64>) -> Self {
        let last = weights.len() - 1;
        let fewest = weights.iter().all(|&w| w == weights[0]).then(Fewest::default);
        LeastConnections { weights, last, fewest }
    }
}

impl Strategy for LeastConnections {
    const NAME: &'static str = "least_connections";
    const SUMMARY: &'static str = "nginx least_conn: fewest requests in system per unit of weight (ties rotate)";
    const MODELS: &'static str = "nginx `least_conn;` with ties rotating (nginx_least_conn is exact)";
    const NEEDS: Needs = Needs::Counts;
    const PICK_COST: PickCost = PickCost::AsksUntilIdleOrIndexed;
    const INDEXED_WHEN: IndexedWhen = IndexedWhen::EqualWeights;

    fn build(setup: &Setup<'_>) -> Result<Self, StrategyError> {
        Ok(LeastConnections::new(checked_weights(Self::NAME, setup.backends)?))
    }

    #[inline]
    fn pick<C: Cluster + ?Sized>(&mut self, request: &Request, cluster: &mut C) -> usize {
        if let Some(fewest) = &mut self.fewest {
            // Equal weights: nᵢ·w < nⱼ·w exactly when nᵢ < nⱼ.
            return fewest.choose(request.arrival, &mut self.last, cluster);
        }
        let weights = &self.weights;
        let load = |i| {
            cluster.scanning(i);
            (f64::from(cluster.in_system(i)), weights[i])
        };
        rotating_argmin_asking(weights.len(), &mut self.last, load, ratio_less, |&(count, _)| count == 0.0).0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testing::{MockCluster, request};

    #[test]
    fn minimises_connections_per_weight() {
        let mut s = LeastConnections::new(vec![1.0, 4.0, 2.0]);
        let mut cluster = MockCluster::uniform(3);
        // Ratios 2/1, 6/4 = 1.5, 4/2 = 2: backend 1 despite holding the most requests.
        cluster.counts = vec![2, 6, 4];
        assert_eq!(s.pick(&request(0, 1.0), &mut cluster), 1);
        // 3/1 vs 8/4 = 2 vs 3/2 = 1.5: backend 2.
        cluster.counts = vec![3, 8, 3];
        assert_eq!(s.pick(&request(0, 1.0), &mut cluster), 2);
    }

    #[test]
    fn ties_rotate() {
        let mut s = LeastConnections::new(vec![1.0, 2.0, 1.0, 2.0]);
        let mut cluster = MockCluster::uniform(4);
        // All ratios equal to 1: successive picks rotate through every backend.
        cluster.counts = vec![1, 2, 1, 2];
        let picks: Vec<usize> = (0..6).map(|_| s.pick(&request(0, 1.0), &mut cluster)).collect();
        assert_eq!(picks, [0, 1, 2, 3, 0, 1]);
        // Ties among the minimal subset {1, 3} rotate too, skipping worse backends.
        cluster.counts = vec![3, 2, 3, 2];
        let picks: Vec<usize> = (0..4).map(|_| s.pick(&request(0, 1.0), &mut cluster)).collect();
        assert_eq!(picks, [3, 1, 3, 1]);
    }

    #[test]
    fn idle_cluster_fills_in_order() {
        let mut s = LeastConnections::new(vec![1.0; 3]);
        let mut cluster = MockCluster::uniform(3);
        for expected in [0, 1, 2, 0] {
            let chosen = s.pick(&request(0, 1.0), &mut cluster);
            assert_eq!(chosen, expected);
            cluster.counts[chosen] += 1;
        }
    }
}
