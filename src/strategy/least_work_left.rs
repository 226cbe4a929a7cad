//! `least_work_left`: the backend that will finish its current work soonest (an oracle).

use super::weighted_random::require_backends;
use super::{Cluster, Needs, PickCost, Setup, Strategy, StrategyError, ratio_less, rotating_argmin};
use crate::model::Request;

/// Least work left: send the request to the backend minimising uᵢ / cᵢ, where uᵢ is the
/// unfinished work there (seconds at speed 1, including the remaining part of requests in
/// service) and cᵢ its capacity — the time the backend would need to clear what it holds.
/// This is an oracle: real balancers do not know request sizes. For identical single-worker
/// FCFS backends it sends each request where it will start soonest, which makes the cluster
/// behave like one central queue (M/G/c).
///
/// Ratios are compared by cross-multiplication (uᵢ·cⱼ < uⱼ·cᵢ). Ties go to the first
/// backend in a scan starting just after the previous choice (rotating); the scan stops
/// early at a backend with no work.
#[derive(Debug)]
pub struct LeastWorkLeft {
    capacities: Vec<f64>,
    last: usize,
}

impl LeastWorkLeft {
    pub(crate) fn new(capacities: Vec<f64>) -> Self {
        let last = capacities.len() - 1;
        LeastWorkLeft { capacities, last }
    }
}

impl Strategy for LeastWorkLeft {
    const NAME: &'static str = "least_work_left";
    const SUMMARY: &'static str = "oracle: least unfinished work per unit of capacity (ties rotate)";
    const MODELS: &'static str = "textbook oracle: least unfinished work";
    const NEEDS: Needs = Needs::Oracle;
    // Stops at the first backend with no work left.
    const PICK_COST: PickCost = PickCost::AsksUntilIdle;

    fn build(setup: &Setup<'_>) -> Result<Self, StrategyError> {
        require_backends(Self::NAME, setup.backends)?;
        Ok(LeastWorkLeft::new(setup.backends.iter().map(|b| b.capacity).collect()))
    }

    #[inline]
    fn pick<C: Cluster + ?Sized>(&mut self, _request: &Request, cluster: &mut C) -> usize {
        let capacities = &self.capacities;
        let clearing = |i| {
            cluster.scanning(i);
            (cluster.unfinished_work(i), capacities[i])
        };
        rotating_argmin(capacities.len(), &mut self.last, clearing, ratio_less, |&(work, _)| work <= 0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testing::{MockCluster, request};

    #[test]
    fn minimises_work_per_capacity() {
        let mut s = LeastWorkLeft::new(vec![1.0, 4.0, 2.0]);
        let mut cluster = MockCluster::uniform(3);
        // Clearing times 1.0, 0.75, 1.0.
        cluster.work = vec![1.0, 3.0, 2.0];
        assert_eq!(s.pick(&request(0, 1.0), &mut cluster), 1);
        cluster.work = vec![0.5, 3.0, 2.0];
        assert_eq!(s.pick(&request(0, 1.0), &mut cluster), 0);
    }

    #[test]
    fn ties_rotate() {
        let mut s = LeastWorkLeft::new(vec![1.0, 2.0, 1.0]);
        let mut cluster = MockCluster::uniform(3);
        cluster.work = vec![1.0, 2.0, 1.0];
        let picks: Vec<usize> = (0..4).map(|_| s.pick(&request(0, 1.0), &mut cluster)).collect();
        assert_eq!(picks, [0, 1, 2, 0]);
        cluster.work = vec![0.0; 3];
        let picks: Vec<usize> = (0..4).map(|_| s.pick(&request(0, 1.0), &mut cluster)).collect();
        assert_eq!(picks, [1, 2, 0, 1]);
    }
}
