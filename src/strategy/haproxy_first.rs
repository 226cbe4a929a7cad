//! `haproxy_first`: HAProxy `balance first`: fill the first server up to its maxconn, then
//! the next.

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
#[derive(Debug)]
pub struct HaproxyFirst {
    maxconn: Vec<u32>,
}

impl Strategy for HaproxyFirst {
    const NAME: &'static str = "haproxy_first";
    const SUMMARY: &'static str =
        "HAProxy first: the first server (in file order) below its cap (its workers, or the tier's maxconn)";
    const MODELS: &'static str = "HAProxy: balance first + server … maxconn N";
    const NEEDS: Needs = Needs::Counts;
    // From the first server to the first below its cap: at load ρ the first ~ρ·n are full.
    const PICK_COST: PickCost = PickCost::AsksAll;
    const REFUSED: &'static [(&'static str, &'static str)] = slow_start::HAPROXY_FIRST_REFUSES;
    fn build(setup: &Setup<'_>) -> Result<Self, StrategyError> {
        require_backends(Self::NAME, setup.backends)?;
        let maxconn = setup.backends.iter().map(|b| b.workers.max(1)).collect();
        Ok(HaproxyFirst { maxconn })
    }

    #[inline]
    fn pick<C: Cluster + ?Sized>(&mut self, _request: &Request, cluster: &mut C) -> usize {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testing::{MockCluster, request};

    #[test]
    fn fills_servers_in_order_up_to_maxconn() {
        let mut s = HaproxyFirst { maxconn: vec![2, 3, 1] };
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
