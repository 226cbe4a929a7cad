//! `haproxy_first`: HAProxy `balance first`: fill the first server up to its maxconn, then
//! the next.

use super::count_index::CountIndex;
use super::slow_start;
use super::weighted_random::require_backends;
use super::{Cluster, Needs, PickCost, Setup, Strategy, StrategyError};
use crate::model::Request;

/// HAProxy `balance first` (`fas_get_next_server`, lb_fas.c): servers are taken in order of
/// their id (here: their order in the file) and the first one holding fewer than its
/// `maxconn` requests gets the request. Servers beyond the first ones stay idle until the
/// load needs them, which is the point (they can be powered down).
///
/// The strategy fills each server up to its number of workers (the usual `maxconn` in front
/// of gunicorn's sync workers). HAProxy's `maxconn` itself is the balancer tier's setting
/// (`maxconn` in the strategy's table or on `[[backends]]`): a server at that cap looks full
/// and is skipped, and when every server is full the request waits in the balancer's queue,
/// as in HAProxy. Without the tier's cap, when every server holds its workers' worth the
/// request goes to the server with the fewest requests per worker (the first such on ties),
/// where it waits in the backend's accept queue.
///
/// Cost: a scan in server order, which at a high load asks most servers before it finds
/// one below its cap. On a cluster of more than [`INDEX_ABOVE`] servers whose view tells
/// what changed (the fast path), an index of each server's requests minus its cap finds
/// the first below it in log n instead, with the same choice; when every server is at its
/// cap (an overloaded cluster) so does the fewest per worker if every cap is the same, and
/// a scan finds it otherwise.
#[derive(Debug)]
pub struct HaproxyFirst {
    maxconn: Vec<u32>,
    /// Requests minus cap of every server, once kept (see above).
    index: Option<CountIndex>,
    /// Whether it was decided if an index is kept (the view does not change within a run).
    decided: bool,
    /// The previous choice (the index looks at it again).
    last: usize,
    /// Whether every server has the same cap: then the fewest per worker are the fewest
    /// requests minus cap, which the index also knows.
    equal_caps: bool,
}

/// Servers above which the index is kept: below, a scan of them all costs about as much
/// as a pick through it.
pub(crate) const INDEX_ABOVE: usize = 64;

impl HaproxyFirst {
    pub(crate) fn new(maxconn: Vec<u32>) -> Self {
        let equal_caps = maxconn.iter().all(|&c| c == maxconn[0]);
        HaproxyFirst { maxconn, index: None, decided: false, last: 0, equal_caps }
    }

    /// The first server below its cap, in order, by asking each; else the one with the
    /// fewest requests per unit of cap (the first on ties).
    #[inline]
    fn scan<C: Cluster + ?Sized>(&self, cluster: &mut C) -> usize {
        let mut fullest = 0;
        let mut fullest_load = (u32::MAX, 1);
        for (i, &cap) in self.maxconn.iter().enumerate() {
            let held = cluster.in_system(i);
            if held < cap {
                return i;
            }
            // held / cap < best_held / best_cap, cross-multiplied.
            if u64::from(held) * u64::from(fullest_load.1) < u64::from(fullest_load.0) * u64::from(cap) {
                fullest = i;
                fullest_load = (held, cap);
            }
        }
        fullest
    }
}

impl Strategy for HaproxyFirst {
    const NAME: &'static str = "haproxy_first";
    const SUMMARY: &'static str =
        "HAProxy first: the first server (in file order) below its cap (its workers, or the tier's maxconn)";
    const MODELS: &'static str = "HAProxy: balance first + server … maxconn N";
    const NEEDS: Needs = Needs::Counts;
    // From the first server to the first below its cap: at load ρ the first ~ρ·n are full
    // (log n through the index on the fast path's large clusters).
    const PICK_COST: PickCost = PickCost::AsksAllOrIndexed;
    const REFUSED: &'static [(&'static str, &'static str)] = slow_start::HAPROXY_FIRST_REFUSES;

    fn build(setup: &Setup<'_>) -> Result<Self, StrategyError> {
        require_backends(Self::NAME, setup.backends)?;
        Ok(HaproxyFirst::new(setup.backends.iter().map(|b| b.workers.max(1)).collect()))
    }

    #[inline]
    fn pick<C: Cluster + ?Sized>(&mut self, request: &Request, cluster: &mut C) -> usize {
        if !self.decided {
            self.decided = true;
            if self.maxconn.len() > INDEX_ABOVE && CountIndex::can_serve(cluster) {
                self.index = Some(CountIndex::below(self.maxconn.iter().map(|&c| f64::from(c)).collect()));
            }
        }
        let chosen = match &mut self.index {
            Some(index) => {
                index.refresh(request.arrival, self.last, cluster);
                // held − cap ≤ −1: below the cap (whole numbers).
                match index.first_at_most(-1.0) {
                    Some(i) => i,
                    // Every server at its cap: the first with the fewest per worker.
                    None if self.equal_caps => index.first_at_most(index.min()).expect("a cluster has backends"),
                    None => self.scan(cluster),
                }
            }
            None => self.scan(cluster),
        };
        self.last = chosen;
        chosen
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testing::{MockCluster, request};

    #[test]
    fn fills_servers_in_order_up_to_maxconn() {
        let mut s = HaproxyFirst::new(vec![2, 3, 1]);
        let mut cluster = MockCluster::uniform(3);
        let mut picks = Vec::new();
        for _ in 0..6 {
            let chosen = s.pick(&request(0, 1.0), &mut cluster);
            cluster.counts[chosen] += 1;
            picks.push(chosen);
        }
        assert_eq!(picks, [0, 0, 1, 1, 1, 2]);
        // A slot frees on server 1: the next request goes there, not to a later server.
        cluster.counts[1] -= 1;
        assert_eq!(s.pick(&request(0, 1.0), &mut cluster), 1);
        // Server 0 frees a slot: back to the first server.
        cluster.counts[0] -= 1;
        assert_eq!(s.pick(&request(0, 1.0), &mut cluster), 0);
        // All full: fewest per slot of cap (2/2, 4/3, 1/1 → server 0 first on the tie
        // with server 2).
        cluster.counts = vec![2, 4, 1];
        assert_eq!(s.pick(&request(0, 1.0), &mut cluster), 0);
    }
}
