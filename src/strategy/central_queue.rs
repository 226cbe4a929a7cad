//! `central_queue`: one shared FCFS queue in front of all workers (the M/G/c reference; not a
//! lower bound: under heavy-tailed sizes, routing by size (sita) can beat it).

use super::start_index::{Scout, StartIndex};
use super::weighted_random::require_backends;
use super::{BackendInfo, Cluster, Needs, PickCost, Setup, Strategy, StrategyError, rotating_argmin};
use crate::model::Request;

/// One central FCFS queue feeding every worker, realised by dispatching each request to the
/// backend where it would start service first: minimise `earliest_start(i)` (an oracle
/// quantity, known exactly for FCFS workers). Ties go to the fastest backend (largest
/// worker speed), then to the first in a scan starting just after the previous choice
/// (rotating).
///
/// Since each request starts at the earliest moment any worker could take it, in arrival
/// order, the cluster serves requests exactly as a single FCFS queue with all the workers
/// would: with identical workers it is M/G/c with c = total workers — the benchmark no
/// dispatcher without a shared queue can beat on waiting time. (With unequal speeds a real
/// central queue hands the next request to whichever worker frees first; this rule does the
/// same, preferring the faster worker on ties.)
///
/// Only FCFS (sync) workers have a start time; async (processor-sharing) backends start
/// everything at once, so building fails with [`StrategyError::Unsupported`] if any
/// backend is async.
///
/// Cost: O(log n) per request when the cluster counts its changes (the engine's views do),
/// by an index of the earliest starts per speed class: a start changes only when the
/// backend is handed a request (or crashes), so only the backends changed since the
/// previous pick are looked at again — the previous choice alone on the fast path, the
/// other balancer instances' choices too behind several. Otherwise a scan of all n
/// backends.
#[derive(Debug)]
pub struct CentralQueue {
    speeds: Vec<f64>,
    last: usize,
    index: StartIndex,
    /// Arrival time of the last pick made with the index.
    picked_at: f64,
    /// The picks [`Strategy::upcoming`] foresees, moved on by it (the engine asks only on
    /// clusters too large for the caches, so small ones never pay for it). Never read by
    /// `pick`.
    scout: Scout,
}

impl CentralQueue {
    pub(crate) fn new(backends: &[BackendInfo]) -> Result<Self, StrategyError> {
        require_backends(Self::NAME, backends)?;
        if let Some(b) = backends.iter().find(|b| !b.fcfs) {
            return Err(StrategyError::Unsupported {
                strategy: Self::NAME.to_string(),
                what: format!(
                    "backend \"{}\" does not start requests at times known on arrival (async \
                     workers, or a gunicorn model with cores, I/O, gthread/gevent, accept or \
                     lifecycle settings); central_queue models a shared FCFS queue in front of \
                     plain sync workers only",
                    b.name
                ),
            });
        }
        let speeds: Vec<f64> = backends.iter().map(|b| b.speed).collect();
        Ok(CentralQueue {
            index: StartIndex::new(&speeds),
            speeds,
            last: backends.len() - 1,
            picked_at: f64::NAN,
            scout: Scout::default(),
        })
    }
}

impl Strategy for CentralQueue {
    const NAME: &'static str = "central_queue";
    const SUMMARY: &'static str =
        "single shared FCFS queue (M/G/c): backend where the request starts first (sync only)";
    const MODELS: &'static str = "one shared FCFS queue, the reference of FCFS dispatch (HAProxy maxconn = workers comes close); not a bound: sita can beat it under heavy tails";
    const NEEDS: Needs = Needs::Oracle;
    // An update per backend changed since the previous pick (one; k behind k balancer
    // instances) and one search of an 8-ary tree of earliest starts.
    const PICK_COST: PickCost = PickCost::Logarithmic;

    fn build(setup: &Setup<'_>) -> Result<Self, StrategyError> {
        CentralQueue::new(setup.backends)
    }

    #[inline]
    fn pick<C: Cluster + ?Sized>(&mut self, request: &Request, cluster: &mut C) -> usize {
        if let Some(changes) = cluster.changes() {
            self.index.refresh(changes, self.last, cluster);
            self.last = self.index.pick(request.arrival, self.last, self.speeds.len());
            self.picked_at = request.arrival;
            return self.last;
        }
        let speeds = &self.speeds;
        let start = |i| (cluster.earliest_start(i), speeds[i]);
        // Earlier start wins; at the same start the faster backend.
        let better = |a: &(f64, f64), b: &(f64, f64)| a.0 < b.0 || (a.0 == b.0 && a.1 > b.1);
        rotating_argmin(speeds.len(), &mut self.last, start, better, |_| false)
    }

    /// The backend of the pick `AHEAD` picks from now, as the index foresees it (one speed
    /// class only; see [`Scout`]).
    #[inline]
    fn upcoming(&mut self, mut note: impl FnMut(usize)) {
        if let Some(b) = self.index.foresee(&mut self.scout, self.last, self.picked_at) {
            note(b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::start_index::AHEAD;
    use crate::strategy::testing::{Counting, FreeWorkers, MockCluster, backend, backends, request};

    #[test]
    fn chooses_the_earliest_start() {
        let infos = backends(4);
        let mut s = CentralQueue::new(&infos).unwrap();
        let mut cluster = MockCluster::from_backends(&infos);
        cluster.starts = vec![3.0, 1.5, 2.0, 1.75];
        assert_eq!(s.pick(&request(0, 1.0), &mut cluster), 1);
        cluster.starts = vec![3.0, 1.5, 2.0, 1.25];
        assert_eq!(s.pick(&request(0, 1.0), &mut cluster), 3);
    }

    #[test]
    fn ties_prefer_speed_then_rotate() {
        let infos =
            vec![backend("slow", 1, 1.0), backend("fast", 1, 2.0), backend("slow2", 1, 1.0), backend("fast2", 1, 2.0)];
        let mut s = CentralQueue::new(&infos).unwrap();
        let mut cluster = MockCluster::from_backends(&infos);
        cluster.starts = vec![1.0; 4];
        let picks: Vec<usize> = (0..4).map(|_| s.pick(&request(0, 1.0), &mut cluster)).collect();
        assert_eq!(picks, [1, 3, 1, 3]);
        // Among slow ones only (fast ones start later): rotate.
        cluster.starts = vec![1.0, 2.0, 1.0, 2.0];
        let picks: Vec<usize> = (0..3).map(|_| s.pick(&request(0, 1.0), &mut cluster)).collect();
        assert_eq!(picks, [0, 2, 0]);
    }

    #[test]
    fn the_index_chooses_what_the_scan_chooses() {
        use rand::RngExt;
        let mut r = crate::strategy::testing::rng(5);
        for round in 0..40 {
            let n = 1 + round % 13;
            // Few distinct speeds and sizes, and arrivals often at the same instant: ties
            // in start and speed are common, so the tie-breaking is exercised.
            let infos: Vec<BackendInfo> =
                (0..n).map(|i| backend(&format!("b{i}"), 1, [1.0, 2.0, 0.5][r.random_range(0..3)])).collect();
            let mut indexed = CentralQueue::new(&infos).unwrap();
            let mut scanned = CentralQueue::new(&infos).unwrap();
            let mut cluster = FreeWorkers::new(n, Counting::Dispatches);
            for _ in 0..500 {
                cluster.now += [0.0, 0.25, 0.5, 1.0][r.random_range(0..4)];
                let chosen = indexed.pick(&Request { arrival: cluster.now, size: 1.0, client: 0 }, &mut cluster);
                cluster.counting = Counting::Not;
                let expected = scanned.pick(&Request { arrival: cluster.now, size: 1.0, client: 0 }, &mut cluster);
                cluster.counting = Counting::Dispatches;
                assert_eq!(chosen, expected, "round {round}");
                let size = [0.5, 1.0, 2.0][r.random_range(0..3)];
                cluster.dispatch(chosen, size / infos[chosen].speed);
            }
        }
    }

    /// Several balancer instances, each with its own copy of the strategy, send to the same
    /// backends, which sometimes crash (their workers free at once): each copy, keeping its
    /// index from the view's log of changes, chooses what its twin that scans every
    /// backend chooses, and looks only at the backends changed since its previous pick.
    #[test]
    fn behind_several_instances_the_index_follows_the_log_of_changes() {
        use rand::RngExt;
        let mut r = crate::strategy::testing::rng(6);
        for round in 0..30 {
            let n = 1 + (round * 7) % 40;
            let instances = 1 + round % 4;
            let infos: Vec<BackendInfo> =
                (0..n).map(|i| backend(&format!("b{i}"), 1, [1.0, 2.0][r.random_range(0..2)])).collect();
            let mut indexed: Vec<CentralQueue> = (0..instances).map(|_| CentralQueue::new(&infos).unwrap()).collect();
            let mut scanned: Vec<CentralQueue> = (0..instances).map(|_| CentralQueue::new(&infos).unwrap()).collect();
            let mut cluster = FreeWorkers::new(n, Counting::Log);
            let mut first_look = vec![true; instances];
            for _ in 0..600 {
                cluster.now += [0.0, 0.25, 0.5][r.random_range(0..3)];
                if r.random_range(0..20) == 0 {
                    cluster.crash(r.random_range(0..n));
                }
                let k = r.random_range(0..instances);
                let request = Request { arrival: cluster.now, size: 1.0, client: 0 };
                let (looks, changes) = (cluster.starts_asked, cluster.log.len() as u64);
                let since = indexed[k].index.seen().map_or(0, |seen| changes - seen);
                let chosen = indexed[k].pick(&request, &mut cluster);
                let looked = cluster.starts_asked - looks;
                if !std::mem::take(&mut first_look[k]) {
                    assert!(looked <= since + 1, "{looked} looks for {since} changes");
                }
                cluster.counting = Counting::Not;
                let expected = scanned[k].pick(&request, &mut cluster);
                cluster.counting = Counting::Log;
                assert_eq!(chosen, expected, "round {round}");
                cluster.dispatch(chosen, [0.5, 1.0, 2.0][r.random_range(0..3)] / infos[chosen].speed);
            }
        }
    }

    /// On a large cluster at load 0.9 (a tenth of the workers free, scattered), the backend
    /// `upcoming` names is the one chosen `AHEAD` picks later nearly every time: otherwise
    /// the engine would fetch the wrong backends from memory ahead of time. (It is wrong
    /// when a backend in the next ~`AHEAD` × 10 places frees up within `AHEAD` picks, about
    /// `AHEAD`² × 10 / n of the time: 1 % here, 15 % at n = 4096, where everything is in
    /// the caches anyway.) The hint never changes a choice: the picks are checked against
    /// a strategy never asked.
    #[test]
    fn foresees_the_pick_ahead() {
        use rand::RngExt;
        let n = 65_536;
        let mut r = crate::strategy::testing::rng(8);
        let infos = backends(n);
        let mut asked = CentralQueue::new(&infos).unwrap();
        let mut not_asked = CentralQueue::new(&infos).unwrap();
        let mut cluster = FreeWorkers::new(n, Counting::Dispatches);
        let (mut picks, mut noted) = (Vec::new(), Vec::new());
        for _ in 0..400_000 {
            // Poisson arrivals, exponential sizes of mean 1, load 0.9.
            cluster.now += -(1.0 - r.random::<f64>()).ln() / (0.9 * n as f64);
            let request = Request { arrival: cluster.now, size: 1.0, client: 0 };
            let chosen = asked.pick(&request, &mut cluster);
            assert_eq!(not_asked.pick(&request, &mut cluster), chosen);
            cluster.dispatch(chosen, -(1.0 - r.random::<f64>()).ln());
            let mut note = None;
            asked.upcoming(|b| note = Some(b));
            picks.push(chosen);
            noted.push(note);
        }
        // After the warm-up (every backend used a few times).
        let steady = 200_000..picks.len() - AHEAD;
        let right = steady.clone().filter(|&i| noted[i] == Some(picks[i + AHEAD])).count();
        assert!(right as f64 > 0.95 * steady.len() as f64, "{right} of {} right", steady.len());
    }

    #[test]
    fn rejects_async_backends() {
        let mut infos = backends(3);
        infos[1].fcfs = false;
        let err = CentralQueue::new(&infos).unwrap_err();
        assert!(matches!(err, StrategyError::Unsupported { .. }));
        assert!(err.to_string().contains("\"b1\""), "{err}");
    }
}
