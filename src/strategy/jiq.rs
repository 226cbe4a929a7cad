//! `jiq`: join the idle queue — an idle backend if one is known, else a random one.

use rand_xoshiro::Xoshiro256PlusPlus;

use super::count_index::{CountIndex, ScanLength};
use super::weighted_random::require_backends;
use super::{BackendInfo, Cluster, Needs, PickCost, Setup, Strategy, StrategyError};
use crate::model::Request;

/// Join-Idle-Queue (Lu et al., 2011), idealised: send the request to an idle backend if
/// there is one, otherwise to a backend chosen uniformly at random.
///
/// A real JIQ balancer learns idleness from reports that backends send to an "I-queue"
/// when they become idle; here the balancer knows it instantly (no reporting delay, no
/// stale entries), which is JIQ's best case.
///
/// "Idle" means a free worker: `in_system(i) < workers(i)`. For single-worker sync
/// backends this is `in_system(i) == 0`; a multi-worker backend counts as idle while any of
/// its workers is free, since a request sent there starts at once. (For async backends the
/// same test means fewer requests than workers.)
///
/// The search scans the backends cyclically from a uniformly random start and takes the
/// first idle one (so ties among idle backends are broken by position after a random
/// start: uniform when idle backends are spread out, slightly favouring an idle backend
/// that follows a run of busy ones). If none is idle, a second uniform draw chooses.
///
/// Cost: a few asks when many backends are idle, all n when none is (backends with several
/// workers each, or a load near or above 1). When the scans grow long and the engine's
/// view tells what changed (the fast path), the strategy keeps an index of each backend's
/// requests minus its workers and finds the first idle one from the same start in log n,
/// the same choice with the same draws; it goes back to scanning when the scans would be
/// short again.
#[derive(Debug)]
pub struct Jiq {
    rng: Xoshiro256PlusPlus,
    workers: Vec<u32>,
    /// Requests minus workers of every backend, while the scans would be long (see above).
    index: Option<CountIndex>,
    length: ScanLength,
    /// The previous choice (the index looks at it again).
    last: usize,
}

impl Jiq {
    pub(crate) fn new(backends: &[BackendInfo], rng: Xoshiro256PlusPlus) -> Result<Self, StrategyError> {
        require_backends(Self::NAME, backends)?;
        let workers = backends.iter().map(|b| b.workers.max(1)).collect();
        Ok(Jiq { rng, workers, index: None, length: ScanLength::default(), last: 0 })
    }

    /// The first backend from `start` on (cyclically) with a free worker, by asking each,
    /// and how many were asked.
    #[inline]
    fn scan<C: Cluster + ?Sized>(&self, start: usize, cluster: &mut C) -> (Option<usize>, usize) {
        let n = self.workers.len();
        let mut i = start;
        for asked in 1..=n {
            if cluster.in_system(i) < self.workers[i] {
                return (Some(i), asked);
            }
            i = if i + 1 == n { 0 } else { i + 1 };
        }
        (None, n)
    }
}

impl Strategy for Jiq {
    const NAME: &'static str = "jiq";
    const SUMMARY: &'static str = "join the idle queue: a backend with a free worker if any (random scan), else random";
    const MODELS: &'static str = "textbook: join the idle queue (Lu et al. 2011)";
    const NEEDS: Needs = Needs::Counts;
    // From a random backend to the first with a free worker; an index when that is long.
    const PICK_COST: PickCost = PickCost::AsksUntilIdleOrIndexed;

    fn build(setup: &Setup<'_>) -> Result<Self, StrategyError> {
        Jiq::new(setup.backends, setup.rng.clone())
    }

    #[inline]
    fn pick<C: Cluster + ?Sized>(&mut self, request: &Request, cluster: &mut C) -> usize {
        let n = self.workers.len();
        let start = super::uniform_index(&mut self.rng, n);
        let idle = match &mut self.index {
            Some(index) => {
                index.refresh(request.arrival, self.last, cluster);
                // requests − workers ≤ −1: a free worker (whole numbers).
                let idle = index.first_at_most_cyclic(start, -1.0);
                let asks = idle.map_or(n, |i| (i + n - start) % n + 1);
                if self.length.indexed(asks as u64) {
                    self.index = None;
                }
                idle
            }
            None => {
                let (idle, asks) = self.scan(start, cluster);
                if self.length.scanned(asks as u64) && CountIndex::can_serve(cluster) {
                    let workers = self.workers.iter().map(|&w| f64::from(w)).collect();
                    self.index = Some(CountIndex::below(workers));
                }
                idle
            }
        };
        let chosen = idle.unwrap_or_else(|| super::uniform_index(&mut self.rng, n));
        self.last = chosen;
        chosen
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testing::{MockCluster, assert_proportional, backend, backends, request, rng};

    #[test]
    fn always_picks_an_idle_backend_when_there_is_one() {
        let infos = backends(8);
        let mut s = Jiq::new(&infos, rng(5)).unwrap();
        let mut cluster = MockCluster::from_backends(&infos);
        cluster.counts = vec![3, 1, 0, 2, 5, 0, 1, 4];
        let mut counts = [0u64; 8];
        for _ in 0..20_000 {
            counts[s.pick(&request(0, 1.0), &mut cluster)] += 1;
        }
        assert_eq!(counts.iter().sum::<u64>(), counts[2] + counts[5]);
        // Idle backends 2 and 5: scan starts 3..=5 reach 5 and 6,7,0,1,2 reach 2.
        assert_proportional(&[counts[2], counts[5]], &[5.0, 3.0]);
    }

    #[test]
    fn multi_worker_backend_is_idle_while_a_worker_is_free() {
        let infos = vec![backend("a", 4, 1.0), backend("b", 1, 1.0)];
        let mut s = Jiq::new(&infos, rng(5)).unwrap();
        let mut cluster = MockCluster::from_backends(&infos);
        cluster.counts = vec![3, 1];
        for _ in 0..100 {
            assert_eq!(s.pick(&request(0, 1.0), &mut cluster), 0);
        }
    }

    #[test]
    fn random_when_none_is_idle() {
        let infos = backends(4);
        let mut s = Jiq::new(&infos, rng(9)).unwrap();
        let mut cluster = MockCluster::from_backends(&infos);
        cluster.counts = vec![1, 7, 2, 3];
        let mut counts = [0u64; 4];
        for _ in 0..40_000 {
            counts[s.pick(&request(0, 1.0), &mut cluster)] += 1;
        }
        assert_proportional(&counts, &[1.0; 4]);
    }
}
