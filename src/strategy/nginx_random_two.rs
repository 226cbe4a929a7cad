//! `nginx_random_two`: nginx's `random two least_conn`, transcribed: two weighted draws of
//! distinct peers, the one with fewer connections per weight.

use rand_xoshiro::Xoshiro256PlusPlus;

use super::real_weights::real_weights;
use super::slow_start;
use super::swrr::Swrr;
use super::{Cluster, Needs, PickCost, Setup, Strategy, StrategyError, uniform_index};
use crate::model::Request;

/// How many draws nginx makes before giving up and using round robin (`rp->tries > 20`).
const MAX_TRIES: usize = 20;

/// nginx `random two least_conn` (`ngx_http_upstream_get_random2_peer`,
/// ngx_http_upstream_random_module.c):
///
/// 1. A draw picks peer i with probability wᵢ / Σw (`ngx_random() % total_weight`, then a
///    binary search of the cumulative weights). Weights are nginx's (`weight=`, default 1).
/// 2. The first draw is kept; further draws that return the same peer are discarded and
///    redrawn. The second distinct peer is compared with the first by connections per
///    weight (cross-multiplied); the first wins only if strictly better (`peer->conns *
///    prev->weight > prev->conns * peer->weight`), so **a tie goes to the second draw**.
/// 3. After 20 draws without a second distinct peer (a dominant weight), and always with
///    fewer than two peers, nginx falls back to its smooth weighted round robin
///    (`ngx_http_upstream_get_round_robin_peer`), whose state this strategy keeps.
///
/// nginx documents this method "for distributed environments where multiple load balancers
/// are passing requests to the same set of backends"; nginx Plus `slow_start` cannot be
/// used with it.
#[derive(Debug)]
pub struct NginxRandomTwo {
    rng: Xoshiro256PlusPlus,
    /// Start of each peer's range of draws (`ranges[i].range`).
    starts: Vec<u64>,
    weights: Vec<f64>,
    total: u64,
    fallback: Swrr,
}

impl NginxRandomTwo {
    pub(crate) fn new(weights: &[u32], rng: Xoshiro256PlusPlus) -> Self {
        let mut total = 0u64;
        let starts = weights
            .iter()
            .map(|&w| {
                let start = total;
                total += u64::from(w);
                start
            })
            .collect();
        NginxRandomTwo {
            rng,
            starts,
            weights: weights.iter().map(|&w| f64::from(w)).collect(),
            total,
            fallback: Swrr::whole(weights),
        }
    }

    /// One weighted draw (`ngx_http_upstream_peek_random_peer`).
    #[inline]
    fn peek(&mut self) -> usize {
        let x = uniform_index(&mut self.rng, self.total as usize) as u64;
        self.starts.partition_point(|&start| start <= x) - 1
    }
}

impl Strategy for NginxRandomTwo {
    const NAME: &'static str = "nginx_random_two";
    const SUMMARY: &'static str =
        "nginx random two least_conn: two weighted draws of distinct peers, fewer connections per weight (tie: second)";
    const MODELS: &'static str = "nginx: upstream { random two least_conn; server … weight=N; }";
    const NEEDS: Needs = Needs::Counts;
    // Two binary searches of the cumulative weights.
    const PICK_COST: PickCost = PickCost::Logarithmic;
    const REFUSED: &'static [(&'static str, &'static str)] = slow_start::NGINX_REFUSES;

    fn build(setup: &Setup<'_>) -> Result<Self, StrategyError> {
        let weights = real_weights(Self::NAME, "nginx", u32::MAX, setup.backends)?;
        Ok(NginxRandomTwo::new(&weights, setup.rng.clone()))
    }

    #[inline]
    fn pick<C: Cluster + ?Sized>(&mut self, _request: &Request, cluster: &mut C) -> usize {
        if self.starts.len() < 2 {
            return self.fallback.pick();
        }
        let first = self.peek();
        for _ in 0..MAX_TRIES {
            let second = self.peek();
            if second == first {
                continue;
            }
            let (first_conns, second_conns) =
                (f64::from(cluster.in_system(first)), f64::from(cluster.in_system(second)));
            return if second_conns * self.weights[first] > first_conns * self.weights[second] {
                first
            } else {
                second
            };
        }
        self.fallback.pick()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testing::{MockCluster, assert_proportional, request, rng};

    #[test]
    fn draws_are_weighted() {
        let mut s = NginxRandomTwo::new(&[4, 1, 2, 1], rng(5));
        let mut counts = [0u64; 4];
        for _ in 0..200_000 {
            counts[s.peek()] += 1;
        }
        assert_proportional(&counts, &[4.0, 1.0, 2.0, 1.0]);
    }

    #[test]
    fn compares_two_distinct_peers_and_ties_go_to_the_second() {
        let mut s = NginxRandomTwo::new(&[1; 5], rng(9));
        let mut cluster = MockCluster::uniform(5);
        cluster.counts = vec![3; 5];
        for _ in 0..1000 {
            cluster.queried.clear();
            let chosen = s.pick(&request(0, 1.0), &mut cluster);
            let q = cluster.queried.clone();
            assert_eq!(q.len(), 2);
            assert_ne!(q[0], q[1], "the second draw is redrawn until it differs");
            assert_eq!(chosen, q[1], "a tie goes to the second draw");
        }
        // Strictly fewer connections per weight wins, whichever draw it was.
        cluster.counts = vec![1, 5, 5, 5, 5];
        for _ in 0..1000 {
            cluster.queried.clear();
            let chosen = s.pick(&request(0, 1.0), &mut cluster);
            let expected = if cluster.queried.contains(&0) { 0 } else { cluster.queried[1] };
            assert_eq!(chosen, expected);
        }
    }

    #[test]
    fn falls_back_to_round_robin_when_draws_keep_repeating() {
        // Weight 10⁹ against 1: twenty redraws of the heavy peer are all but certain, so
        // nginx's fallback (smooth weighted round robin, heavy peer first) decides, without
        // looking at connections.
        let mut s = NginxRandomTwo::new(&[1_000_000_000, 1], rng(2));
        let mut cluster = MockCluster::uniform(2);
        cluster.counts = vec![100, 0];
        assert_eq!(s.pick(&request(0, 1.0), &mut cluster), 0);
        assert!(cluster.queried.is_empty());
        // One peer: always round robin.
        let mut single = NginxRandomTwo::new(&[3], rng(2));
        assert_eq!(single.pick(&request(0, 1.0), &mut MockCluster::uniform(1)), 0);
    }
}
