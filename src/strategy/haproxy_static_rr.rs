//! `haproxy_static_rr`: HAProxy `balance static-rr`: a fixed map of servers, walked in turn.

use super::haproxy_chash::BE_WEIGHT_SCALE;
use super::real_weights::real_weights;
use super::slow_start;
use super::swrr::Classes;
use super::{Cluster, Needs, PickCost, Setup, Shares, Strategy, StrategyError};
use crate::model::Request;

/// HAProxy `balance static-rr` (`recalc_server_map` and `map_get_server_rr`, lb_map.c):
/// a map of Σ eweight slots (eweight = 16 × weight) is filled once; slot o goes to the
/// server with the largest `v = (wscore + tot) / tot` (integer division) after every server
/// added its eweight to its `wscore` — the first such server in file order, as HAProxy keeps
/// the first maximum — and that server's `wscore` loses `tot`. Requests walk the map in
/// turn. Weights are HAProxy's (`weight`, default 1, at most 256); static means a weight
/// change (and slow start) does not apply until the map is rebuilt.
#[derive(Debug)]
pub struct HaproxyStaticRr {
    map: Vec<u32>,
    next: usize,
}

impl HaproxyStaticRr {
    pub(crate) fn new(weights: &[u32]) -> Self {
        let eweight = || weights.iter().map(|&w| u64::from(w * BE_WEIGHT_SCALE));
        let tot: u64 = eweight().sum();
        // Each slot goes to the server with the largest ⌊(wscore + tot) / tot⌋: smooth
        // weighted round robin's step on values in whole multiples of tot, so servers of
        // one weight take their turns in order and a slot costs a step per distinct weight
        // (`Classes`), where HAProxy's loop visits every server (O(tot × n): hours to build
        // the map of 65 536 servers).
        let mut classes = Classes::quantized(eweight(), tot);
        let map = (0..tot).map(|_| classes.pick() as u32).collect();
        HaproxyStaticRr { map, next: 0 }
    }

    /// The map as HAProxy's `recalc_server_map` fills it, visiting every server per slot.
    #[cfg(test)]
    fn walked_map(weights: &[u32]) -> Vec<u32> {
        let eweight: Vec<i64> = weights.iter().map(|&w| i64::from(w * BE_WEIGHT_SCALE)).collect();
        let tot: i64 = eweight.iter().sum();
        let mut wscore = vec![0i64; eweight.len()];
        (0..tot)
            .map(|_| {
                if eweight.len() == 1 {
                    return 0;
                }
                let mut best = 0;
                let mut max = i64::MIN;
                for (i, (score, &ew)) in wscore.iter_mut().zip(&eweight).enumerate() {
                    *score += ew;
                    let v = (*score + tot).div_euclid(tot);
                    if v > max {
                        max = v;
                        best = i;
                    }
                }
                wscore[best] -= tot;
                best as u32
            })
            .collect()
    }
}

impl Strategy for HaproxyStaticRr {
    const NAME: &'static str = "haproxy_static_rr";
    const SUMMARY: &'static str = "HAProxy static-rr: a fixed weighted map of servers, walked in turn";
    const MODELS: &'static str = "HAProxy: balance static-rr (server … weight N)";
    const NEEDS: Needs = Needs::Nothing;
    // One step through a precomputed map (filled at the start, a step per distinct weight
    // per slot).
    const PICK_COST: PickCost = PickCost::Constant;
    const REFUSED: &'static [(&'static str, &'static str)] = slow_start::HAPROXY_STATIC_REFUSES;

    fn build(setup: &Setup<'_>) -> Result<Self, StrategyError> {
        Ok(HaproxyStaticRr::new(&real_weights(Self::NAME, "HAProxy", 256, setup.backends)?))
    }

    /// In proportion to the weights (on backends that never fail, no slow start ramps).
    fn shares(setup: &Setup<'_>) -> Option<Shares> {
        let weights = real_weights(Self::NAME, "HAProxy", 256, setup.backends).ok()?;
        Some(Shares::dealt(weights.into_iter().map(f64::from)))
    }

    #[inline]
    fn pick<C: Cluster + ?Sized>(&mut self, _request: &Request, _cluster: &mut C) -> usize {
        let chosen = self.map[self.next];
        self.next = if self.next + 1 == self.map.len() { 0 } else { self.next + 1 };
        chosen as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testing::{MockCluster, request};

    #[test]
    fn the_map_is_the_one_haproxy_fills() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(15);
        let mut cases: Vec<Vec<u32>> = vec![vec![5, 1, 1], vec![1], vec![7], vec![2; 9], vec![256, 1, 3, 256]];
        cases.extend((0..200).map(|_| {
            let n = rng.random_range(1..40);
            let classes = rng.random_range(1..6u32);
            (0..n).map(|_| rng.random_range(0..classes) * 5 + 1).collect()
        }));
        for weights in cases {
            assert_eq!(HaproxyStaticRr::new(&weights).map, HaproxyStaticRr::walked_map(&weights), "{weights:?}");
        }
    }

    #[test]
    fn the_map_holds_each_server_in_proportion_and_starts_with_the_first() {
        let s = HaproxyStaticRr::new(&[5, 1, 1]);
        assert_eq!(s.map.len(), 7 * 16);
        for (server, weight) in [(0u32, 5usize), (1, 1), (2, 1)] {
            assert_eq!(s.map.iter().filter(|&&m| m == server).count(), weight * 16);
        }
        assert_eq!(s.map[0], 0, "the first declared server is called first");
        // Equal weights: plain turns in file order.
        let mut s = HaproxyStaticRr::new(&[2, 2, 2]);
        let mut cluster = MockCluster::uniform(3);
        let picks: Vec<usize> = (0..6).map(|_| s.pick(&request(0, 1.0), &mut cluster)).collect();
        assert_eq!(picks, [0, 1, 2, 0, 1, 2]);
        assert!(cluster.queried.is_empty());
    }
}
