//! `power_of_d`: the power of d choices — sample d backends, join the shortest of them.

use rand_xoshiro::Xoshiro256PlusPlus;

use super::weighted_random::require_backends;
use super::{BackendInfo, Cluster, Needs, ParamSpec, Params, PickCost, Setup, Strategy, StrategyError};
use crate::model::Request;

/// Power of d choices (Mitzenmacher; Vvedenskaya–Dobrushin–Karpelevich): sample d
/// *distinct* backends uniformly at random and send the request to the one with the fewest
/// requests in system; ties go to the first sampled. Only the d sampled backends are
/// queried, so a decision costs O(d) however large the cluster. d = 1 is random dispatch;
/// d = n is JSQ with random tie-breaking.
///
/// Sampling is a partial Fisher–Yates shuffle of a permutation of `0..n` kept between
/// picks (the shuffle leaves it a permutation, so each pick's sample is uniform over
/// ordered d-subsets), with no allocation.
///
/// Samples are drawn a few picks ahead (the same draws in the same order: they do not depend
/// on the cluster), so that the engine can fetch the sampled backends from memory before
/// their request comes ([`Strategy::upcoming`]).
#[derive(Debug)]
pub struct PowerOfD {
    rng: Xoshiro256PlusPlus,
    d: usize,
    order: Vec<u32>,
    /// The samples of the next picks, d each; the next pick's start at `pos × d`.
    ahead: Vec<u32>,
    pos: usize,
    /// Picks drawn ahead (`ahead.len() / d`, kept to spare a division per pick).
    depth: usize,
    /// The positions of `order` the next draw swaps into its first d: drawn one draw
    /// early (the same numbers from the same stream in the same order), so that on a large
    /// cluster their entries of `order` (random places in n × 4 bytes) are fetched while
    /// the request before is handled.
    swaps: Vec<u32>,
}

/// Smallest cluster whose `order` entries are fetched ahead (below, it stays in cache).
const PREFETCH_FROM: usize = 2048;

/// Picks whose samples are drawn ahead (one only when d is large: the lookahead is for
/// large clusters sampled sparsely).
const AHEAD: usize = 8;

impl PowerOfD {
    pub(crate) fn new(
        backends: &[BackendInfo],
        params: &Params,
        rng: Xoshiro256PlusPlus,
    ) -> Result<Self, StrategyError> {
        require_backends(Self::NAME, backends)?;
        let n = backends.len();
        let d = params.count("d", 2.min(n), 1)?;
        if d > n {
            return Err(StrategyError::BadParam {
                strategy: Self::NAME.to_string(),
                param: "d".to_string(),
                what: format!("d = {d} is more than the {n} backends; d must be between 1 and {n}"),
            });
        }
        let depth = if d <= 4 { AHEAD } else { 1 };
        let mut s = PowerOfD {
            rng,
            d,
            order: (0..n as u32).collect(),
            ahead: vec![0; depth * d],
            pos: 0,
            depth,
            swaps: vec![0; d],
        };
        s.draw_swaps();
        for slot in 0..depth {
            s.draw(slot);
        }
        Ok(s)
    }

    /// Draws the d samples of one pick into slot `slot` of `ahead`.
    /// Draws d distinct backends into `slot` of `ahead` (a partial Fisher–Yates shuffle of
    /// `order`, continued from the previous draw).
    #[inline(always)]
    fn draw(&mut self, slot: usize) {
        for j in 0..self.d {
            let r = self.swaps[j] as usize;
            self.order.swap(j, r);
            self.ahead[slot * self.d + j] = self.order[j];
        }
        self.draw_swaps();
    }

    /// Draws the positions the next [`PowerOfD::draw`] swaps from.
    #[inline(always)]
    fn draw_swaps(&mut self) {
        let n = self.order.len();
        for j in 0..self.d {
            let r = j + super::uniform_index(&mut self.rng, n - j);
            self.swaps[j] = r as u32;
            if n >= PREFETCH_FROM {
                crate::engine::prefetch(&self.order[r]);
            }
        }
    }
}

impl Strategy for PowerOfD {
    const NAME: &'static str = "power_of_d";
    const SUMMARY: &'static str =
        "sample d distinct backends at random, join the one with fewest requests (ties: first sampled)";
    const MODELS: &'static str = "textbook power of d choices (distinct samples)";
    const NEEDS: Needs = Needs::Counts;
    // d sampled backends (d is fixed, not a fraction of n).
    const PICK_COST: PickCost = PickCost::Constant;
    const PARAMS: &'static [ParamSpec] = &[ParamSpec {
        name: "d",
        help: "number of backends sampled per request, 1 ≤ d ≤ backends (default 2, or 1 for a single backend)",
    }];

    fn build(setup: &Setup<'_>) -> Result<Self, StrategyError> {
        PowerOfD::new(setup.backends, setup.params, setup.rng.clone())
    }

    #[inline(always)]
    fn pick<C: Cluster + ?Sized>(&mut self, _request: &Request, cluster: &mut C) -> usize {
        let mut best = 0;
        let mut best_count = u32::MAX;
        for &candidate in &self.ahead[self.pos * self.d..(self.pos + 1) * self.d] {
            let count = cluster.in_system(candidate as usize);
            if count < best_count {
                best = candidate as usize;
                best_count = count;
            }
        }
        self.draw(self.pos);
        self.pos = if self.pos + 1 == self.depth { 0 } else { self.pos + 1 };
        best
    }

    /// The samples of the pick furthest ahead.
    #[inline]
    fn upcoming(&mut self, mut note: impl FnMut(usize)) {
        let last = if self.pos == 0 { self.depth - 1 } else { self.pos - 1 };
        for &b in &self.ahead[last * self.d..(last + 1) * self.d] {
            note(b as usize);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::ParamValue;
    use crate::strategy::testing::{MockCluster, backends, request, rng};
    use rand::RngExt;

    fn with_d(n: usize, d: f64) -> Result<PowerOfD, StrategyError> {
        let params = Params::new("power_of_d").with("d", ParamValue::Number(d));
        PowerOfD::new(&backends(n), &params, rng(3))
    }

    #[test]
    fn picks_the_shortest_among_the_sampled_only() {
        let mut s = with_d(10, 3.0).unwrap();
        let mut cluster = MockCluster::uniform(10);
        cluster.counts = vec![5, 0, 7, 3, 9, 1, 4, 8, 2, 6];
        let mut seen_non_global_best = false;
        for _ in 0..1000 {
            cluster.queried.clear();
            let chosen = s.pick(&request(0, 1.0), &mut cluster);
            let q = cluster.queried.clone();
            assert_eq!(q.len(), 3, "queries exactly d backends");
            assert!(q[0] != q[1] && q[0] != q[2] && q[1] != q[2], "distinct: {q:?}");
            let min = q.iter().map(|&i| cluster.counts[i]).min().unwrap();
            assert!(q.contains(&chosen) && cluster.counts[chosen] == min);
            seen_non_global_best |= chosen != 1;
        }
        assert!(seen_non_global_best, "with d < n the global best is not always sampled");
    }

    #[test]
    fn ties_go_to_the_first_sampled() {
        let mut s = with_d(6, 4.0).unwrap();
        let mut cluster = MockCluster::uniform(6);
        cluster.counts = vec![2; 6];
        for _ in 0..100 {
            cluster.queried.clear();
            let chosen = s.pick(&request(0, 1.0), &mut cluster);
            assert_eq!(chosen, cluster.queried[0]);
        }
    }

    #[test]
    fn d_equal_n_matches_jsq() {
        let n = 7;
        let mut s = with_d(n, 7.0).unwrap();
        let mut cluster = MockCluster::uniform(n);
        let mut r = rng(11);
        for _ in 0..200 {
            // Distinct counts, so the minimum is unique and tie-breaking plays no part.
            let mut counts: Vec<u32> = (0..n as u32).map(|k| k * 3).collect();
            for k in (1..n).rev() {
                counts.swap(k, r.random_range(0..=k));
            }
            // JSQ's choice: the unique backend with the fewest requests.
            let jsq_choice = counts.iter().position(|&c| c == 0).unwrap();
            cluster.counts = counts;
            assert_eq!(s.pick(&request(0, 1.0), &mut cluster), jsq_choice);
        }
    }

    #[test]
    fn bad_d_is_rejected() {
        assert!(matches!(with_d(4, 5.0), Err(StrategyError::BadParam { ref param, .. }) if param == "d"));
        assert!(matches!(with_d(4, 0.0), Err(StrategyError::BadParam { .. })));
        assert!(matches!(with_d(4, 1.5), Err(StrategyError::BadParam { .. })));
        assert!(with_d(4, 4.0).is_ok());
        // The default d = 2 is lowered to 1 for a single backend rather than failing.
        let single = PowerOfD::new(&backends(1), &Params::new("power_of_d"), rng(1)).unwrap();
        assert_eq!(single.d, 1);
    }

    #[test]
    fn d_one_is_uniform() {
        let mut s = with_d(4, 1.0).unwrap();
        let mut cluster = MockCluster::uniform(4);
        let mut counts = [0u64; 4];
        for _ in 0..40_000 {
            counts[s.pick(&request(0, 1.0), &mut cluster)] += 1;
        }
        crate::strategy::testing::assert_proportional(&counts, &[1.0; 4]);
    }
}
