//! `haproxy_random`: HAProxy `balance random(<draws>)`: random points on the consistent
//! hash ring, drawn with replacement, the least loaded per weight.

use rand::Rng;
use rand_xoshiro::Xoshiro256PlusPlus;

use super::haproxy_chash::{BE_WEIGHT_SCALE, ChashRing, HaproxyRamp};
use super::real_weights::real_weights;
use super::slow_start::{self, SlowStart};
use super::{Cluster, Needs, ParamSpec, PickCost, Setup, Strategy, StrategyError};
use crate::model::Request;

/// HAProxy `balance random(draws)` (`get_server_rnd`, backend.c):
///
/// - each draw is a random 32-bit key looked up on HAProxy's consistent-hash ring (so a
///   server's chance is its share of the ring, about proportional to its weight);
/// - draws are independent, **with replacement**: with 2 draws and 4 servers, one pick in
///   four compares a server with itself and is plain random;
/// - each new draw is compared with the best so far by requests served per effective
///   weight (cross-multiplied); the earlier one is kept only if strictly better, so ties go
///   to the newer draw;
/// - `draws` defaults to 2 (`balance random` = `random(2)` since HAProxy 2.0).
///
/// Weights are HAProxy's (`weight`, default 1, at most 256). With `slow_start`, a server
/// that came back has its effective weight ramped in sixteenths, which both shrinks its
/// share of the ring (`chash_queue_dequeue_srv` keeps `eweight` nodes) and raises its load
/// per weight in the comparison.
#[derive(Debug)]
pub struct HaproxyRandom {
    rng: Xoshiro256PlusPlus,
    ring: ChashRing,
    draws: usize,
    ramp: HaproxyRamp,
}

impl Strategy for HaproxyRandom {
    const NAME: &'static str = "haproxy_random";
    const SUMMARY: &'static str =
        "HAProxy balance random(draws): draws with replacement on the hash ring, fewest served per weight";
    const MODELS: &'static str = "HAProxy: balance random(2) (or random(N))";
    const NEEDS: Needs = Needs::Counts;
    // `draws` binary searches of the ring.
    const PICK_COST: PickCost = PickCost::Logarithmic;
    const PARAMS: &'static [ParamSpec] = &[
        ParamSpec { name: "draws", help: "random draws per request, ≥ 1, with replacement (default 2)" },
        slow_start::HAPROXY_PARAM,
    ];

    fn build(setup: &Setup<'_>) -> Result<Self, StrategyError> {
        let weights = real_weights(Self::NAME, "HAProxy", 256, setup.backends)?;
        let draws = setup.params.count("draws", 2, 1)?;
        // HAProxy caps the draws at the total effective weight (never binding in practice).
        let total: usize = weights.iter().map(|&w| (w * BE_WEIGHT_SCALE) as usize).sum();
        Ok(HaproxyRandom {
            rng: setup.rng.clone(),
            ring: ChashRing::new(&weights, 0),
            draws: draws.min(total),
            ramp: HaproxyRamp::new(SlowStart::haproxy(setup.params)?, &weights),
        })
    }

    #[inline]
    fn pick<C: Cluster + ?Sized>(&mut self, request: &Request, cluster: &mut C) -> usize {
        self.ramp.apply(&mut self.ring, request.arrival, cluster);
        let mut best = self.ring.server((self.rng.next_u64() >> 32) as u32, cluster);
        let mut best_served = f64::from(cluster.in_system(best));
        for _ in 1..self.draws {
            let current = self.ring.server((self.rng.next_u64() >> 32) as u32, cluster);
            if current == best {
                continue;
            }
            let served = f64::from(cluster.in_system(current));
            let (eweight_best, eweight_current) = (self.ring.eweight(best), self.ring.eweight(current));
            if served * f64::from(eweight_best) <= best_served * f64::from(eweight_current) {
                best = current;
                best_served = served;
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testing::{MockCluster, request, rng};

    fn random(n: usize, draws: usize) -> HaproxyRandom {
        HaproxyRandom {
            rng: rng(4),
            ring: ChashRing::new(&vec![1; n], 0),
            draws,
            ramp: HaproxyRamp::new(None, &vec![1; n]),
        }
    }

    #[test]
    fn draws_with_replacement_and_ties_go_to_the_newer_draw() {
        // 4 servers, 2 draws: the second draw repeats the first about 1 time in 4 (ring
        // shares are only about equal), and then the request goes to the one server drawn.
        let mut s = random(4, 2);
        let mut cluster = MockCluster::uniform(4);
        cluster.counts = vec![5; 4];
        let (mut single, trials) = (0, 20_000);
        for _ in 0..trials {
            cluster.queried.clear();
            let chosen = s.pick(&request(0, 1.0), &mut cluster);
            match cluster.queried.len() {
                1 => single += 1,
                2 => assert_eq!(chosen, cluster.queried[1], "a tie goes to the newer draw"),
                n => panic!("{n} queries"),
            }
        }
        let share = f64::from(single) / f64::from(trials);
        assert!((0.2..0.32).contains(&share), "repeat share {share}");
    }

    #[test]
    fn the_least_loaded_draw_wins() {
        let mut s = random(4, 2);
        let mut cluster = MockCluster::uniform(4);
        cluster.counts = vec![0, 9, 9, 9];
        for _ in 0..1000 {
            cluster.queried.clear();
            let chosen = s.pick(&request(0, 1.0), &mut cluster);
            let expected = if cluster.queried.contains(&0) { 0 } else { *cluster.queried.last().unwrap() };
            assert_eq!(chosen, expected);
        }
    }
}
