//! `central_queue`: the ideal of one shared FCFS queue in front of all workers.

use super::weighted_random::require_backends;
use super::{BackendInfo, Cluster, Needs, Setup, Strategy, StrategyError, rotating_argmin};
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
#[derive(Debug)]
pub struct CentralQueue {
    speeds: Vec<f64>,
    last: usize,
}

impl CentralQueue {
    pub(crate) fn new(backends: &[BackendInfo]) -> Result<Self, StrategyError> {
        require_backends(Self::NAME, backends)?;
        if let Some(b) = backends.iter().find(|b| !b.fcfs) {
            return Err(StrategyError::Unsupported {
                strategy: Self::NAME.to_string(),
                what: format!(
                    "backend \"{}\" has async (processor-sharing) workers; central_queue models \
                     a shared FCFS queue in front of sync workers only",
                    b.name
                ),
            });
        }
        Ok(CentralQueue { speeds: backends.iter().map(|b| b.speed).collect(), last: backends.len() - 1 })
    }
}

impl Strategy for CentralQueue {
    const NAME: &'static str = "central_queue";
    const SUMMARY: &'static str =
        "ideal single shared FCFS queue (M/G/c): backend where the request starts first (sync only)";
    const MODELS: &'static str = "the ideal shared queue: a bound (HAProxy maxconn = workers comes close)";
    const NEEDS: Needs = Needs::Oracle;

    fn build(setup: &Setup<'_>) -> Result<Self, StrategyError> {
        CentralQueue::new(setup.backends)
    }

    #[inline]
    fn pick<C: Cluster + ?Sized>(&mut self, _request: &Request, cluster: &mut C) -> usize {
        let speeds = &self.speeds;
        let start = |i| (cluster.earliest_start(i), speeds[i]);
        // Earlier start wins; at the same start the faster backend.
        let better = |a: &(f64, f64), b: &(f64, f64)| a.0 < b.0 || (a.0 == b.0 && a.1 > b.1);
        rotating_argmin(speeds.len(), &mut self.last, start, better, |_| false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testing::{MockCluster, backend, backends, request};

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
    fn rejects_async_backends() {
        let mut infos = backends(3);
        infos[1].fcfs = false;
        let err = CentralQueue::new(&infos).unwrap_err();
        assert!(matches!(err, StrategyError::Unsupported { .. }));
        assert!(err.to_string().contains("\"b1\""), "{err}");
    }
}
