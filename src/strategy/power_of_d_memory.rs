//! `power_of_d_memory`: power of d choices with one remembered backend (Shah & Prabhakar).

use rand_xoshiro::Xoshiro256PlusPlus;

use super::weighted_random::require_backends;
use super::{Cluster, Needs, ParamSpec, PickCost, Setup, Strategy, StrategyError, uniform_index};
use crate::model::Request;

/// Power of d choices with memory (Shah & Prabhakar, "The use of memory in randomized load
/// balancing", ISIT 2002; Mitzenmacher, Prabhakar & Shah, FOCS 2002): the (d, 1) scheme.
///
/// For each request, sample d distinct backends uniformly at random and add the backend
/// remembered from the previous request; send the request to the one with the fewest
/// requests (ties: the remembered one, then the first sampled). Then remember the least
/// loaded of these candidates *after* the request is placed (the chosen one counting one
/// more; on a tie, the chosen one). A lightly loaded backend found once keeps being
/// considered, which beats sampling d + 1 fresh backends for the same cost.
#[derive(Debug)]
pub struct PowerOfDMemory {
    rng: Xoshiro256PlusPlus,
    d: usize,
    order: Vec<u32>,
    memory: Option<usize>,
}

impl Strategy for PowerOfDMemory {
    const NAME: &'static str = "power_of_d_memory";
    const SUMMARY: &'static str =
        "power of d choices plus the best backend remembered from the previous request (Shah–Prabhakar)";
    const MODELS: &'static str = "textbook: power of d with memory, the (d, 1) scheme";
    const NEEDS: Needs = Needs::Counts;
    const PICK_COST: PickCost = PickCost::Constant;
    const PARAMS: &'static [ParamSpec] = &[ParamSpec {
        name: "d",
        help: "fresh backends sampled per request, 1 ≤ d ≤ backends (default 2, or 1 for a single backend)",
    }];

    fn build(setup: &Setup<'_>) -> Result<Self, StrategyError> {
        require_backends(Self::NAME, setup.backends)?;
        let n = setup.backends.len();
        let d = setup.params.count("d", 2.min(n), 1)?;
        if d > n {
            return Err(setup
                .params
                .error("d", format!("d = {d} is more than the {n} backends; d must be between 1 and {n}")));
        }
        Ok(PowerOfDMemory { rng: setup.rng.clone(), d, order: (0..n as u32).collect(), memory: None })
    }

    #[inline]
    fn pick<C: Cluster + ?Sized>(&mut self, _request: &Request, cluster: &mut C) -> usize {
        let n = self.order.len();
        // (backend, count) of the best and the runner-up among distinct candidates.
        let mut best = (usize::MAX, u32::MAX);
        let mut runner = (usize::MAX, u32::MAX);
        let mut consider = |i: usize, count: u32| {
            if i == best.0 {
                return;
            }
            if count < best.1 {
                runner = best;
                best = (i, count);
            } else if count < runner.1 {
                runner = (i, count);
            }
        };
        if let Some(m) = self.memory {
            consider(m, cluster.in_system(m));
        }
        for j in 0..self.d {
            let r = j + uniform_index(&mut self.rng, n - j);
            self.order.swap(j, r);
            let candidate = self.order[j] as usize;
            consider(candidate, cluster.in_system(candidate));
        }
        self.memory = Some(if runner.0 != usize::MAX && runner.1 < best.1 + 1 { runner.0 } else { best.0 });
        best.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testing::{MockCluster, request, rng};

    fn with_d(n: usize, d: usize) -> PowerOfDMemory {
        PowerOfDMemory { rng: rng(8), d, order: (0..n as u32).collect(), memory: None }
    }

    #[test]
    fn the_remembered_backend_is_always_a_candidate() {
        let mut s = with_d(50, 1);
        let mut cluster = MockCluster::uniform(50);
        cluster.counts = vec![10; 50];
        cluster.counts[17] = 0;
        // Once backend 17 (the only idle one) has been sampled, it stays remembered and
        // takes every request while it is the least loaded (its count is not updated here).
        let mut found = false;
        for _ in 0..2000 {
            cluster.queried.clear();
            let chosen = s.pick(&request(0, 1.0), &mut cluster);
            if found {
                assert_eq!(chosen, 17);
                assert_eq!(cluster.queried[0], 17, "the memory is looked at first");
            }
            found |= chosen == 17;
        }
        assert!(found);
    }

    #[test]
    fn remembers_the_least_loaded_after_placement() {
        let mut s = with_d(2, 2);
        let mut cluster = MockCluster::uniform(2);
        // Counts 3 and 4: the request goes to 0 (3 → 4), a tie after placement: keep 0.
        cluster.counts = vec![3, 4];
        assert_eq!(s.pick(&request(0, 1.0), &mut cluster), 0);
        assert_eq!(s.memory, Some(0));
        // Counts 3 and 3: the request goes to one of them, the other is remembered.
        cluster.counts = vec![3, 3];
        let chosen = s.pick(&request(0, 1.0), &mut cluster);
        assert_eq!(s.memory, Some(1 - chosen));
    }
}
