//! `haproxy_first`: HAProxy `balance first`: fill the first server up to its maxconn, then
//! the next.

use super::weighted_random::require_backends;
use super::{Cluster, Needs, ParamSpec, Setup, Strategy, StrategyError};
use crate::model::Request;

/// HAProxy `balance first` (`fas_get_next_server`, lb_fas.c): servers are taken in order of
/// their id (here: their order in the file) and the first one holding fewer than its
/// `maxconn` requests gets the request. Servers beyond the first ones stay idle until the
/// load needs them, which is the point (they can be powered down).
///
/// `maxconn` is a parameter: one cap for every server, or by default each backend's
/// number of workers (the usual setting in front of gunicorn's sync workers). When every
/// server is full, HAProxy queues the request in the proxy; lbsim has no proxy queue for
/// this strategy, so the request goes to the server with the fewest requests per slot of
/// cap (the first such on ties), where it waits in the backend's accept queue.
#[derive(Debug)]
pub struct HaproxyFirst {
    maxconn: Vec<u32>,
}

impl Strategy for HaproxyFirst {
    const NAME: &'static str = "haproxy_first";
    const SUMMARY: &'static str =
        "HAProxy first: the first server (in file order) below its maxconn; all full → fewest per slot";
    const MODELS: &'static str = "HAProxy: balance first + server … maxconn N";
    const NEEDS: Needs = Needs::Counts;
    const PARAMS: &'static [ParamSpec] = &[ParamSpec {
        name: "maxconn",
        help: "requests a server takes before the next one is used, ≥ 1 (default: each backend's workers)",
    }];

    fn build(setup: &Setup<'_>) -> Result<Self, StrategyError> {
        require_backends(Self::NAME, setup.backends)?;
        let maxconn = match setup.params.values.get("maxconn") {
            None => setup.backends.iter().map(|b| b.workers.max(1)).collect(),
            Some(_) => vec![setup.params.count("maxconn", 1, 1)? as u32; setup.backends.len()],
        };
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
