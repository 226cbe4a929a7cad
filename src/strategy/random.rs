//! `random`: each request to a backend chosen uniformly at random.

use rand_xoshiro::Xoshiro256PlusPlus;

use super::{Cluster, Needs, PickCost, Setup, Shares, Strategy, StrategyError};
use crate::model::Request;

/// Uniformly random dispatch: with n identical backends and Poisson arrivals each backend
/// sees Poisson traffic at rate λ/n, so the cluster is n independent M/G/1 (or M/G/c) queues.
///
/// Choices are drawn ahead, [`BLOCK`] at a time in a loop of their own (the same draws in
/// the same order), at least [`LEAD`] requests ahead, so that the engine can fetch a chosen
/// backend from memory before its request comes ([`Strategy::upcoming`]).
#[derive(Debug)]
pub struct Random {
    rng: Xoshiro256PlusPlus,
    n: usize,
    /// The next choices, the next one at `pos`: always at least `LEAD` of them.
    ahead: [u32; BLOCK + LEAD],
    pos: usize,
}

/// How many choices are known before their request comes: enough requests' worth of work
/// to cover a miss to main memory.
const LEAD: usize = 8;
/// How many choices are drawn at once.
const BLOCK: usize = 64;

impl Random {
    /// Keeps the `LEAD` choices not yet made and draws the next `BLOCK` after them.
    #[inline(never)]
    fn draw_ahead(&mut self) {
        self.ahead.copy_within(BLOCK.., 0);
        let (mut rng, n) = (self.rng.clone(), self.n);
        for slot in &mut self.ahead[LEAD..] {
            *slot = super::uniform_index(&mut rng, n) as u32;
        }
        (self.rng, self.pos) = (rng, 0);
    }
}

impl Strategy for Random {
    const NAME: &'static str = "random";
    const SUMMARY: &'static str = "each request to a backend chosen uniformly at random";
    const MODELS: &'static str = "textbook: uniform random dispatch";
    const NEEDS: Needs = Needs::Nothing;
    const PICK_COST: PickCost = PickCost::Constant;
    const BLIND: bool = true;

    fn build(setup: &Setup<'_>) -> Result<Self, StrategyError> {
        let mut rng = setup.rng.clone();
        let n = setup.backends.len();
        let mut ahead = [0; BLOCK + LEAD];
        for slot in &mut ahead[BLOCK..] {
            *slot = super::uniform_index(&mut rng, n) as u32;
        }
        let mut random = Random { rng, n, ahead, pos: BLOCK };
        random.draw_ahead();
        Ok(random)
    }

    /// Equal: every backend is as likely.
    fn shares(setup: &Setup<'_>) -> Option<Shares> {
        Some(Shares::drawn(setup.backends.iter().map(|_| 1.0)))
    }

    #[inline]
    fn pick<C: Cluster + ?Sized>(&mut self, _request: &Request, _cluster: &mut C) -> usize {
        if self.pos == BLOCK {
            self.draw_ahead();
        }
        let chosen = self.ahead[self.pos];
        self.pos += 1;
        chosen as usize
    }

    /// The choice `LEAD` picks from now.
    #[inline]
    fn upcoming(&mut self, mut note: impl FnMut(usize)) {
        note(self.ahead[self.pos + LEAD - 1] as usize);
    }

    /// The choices drawn ahead, copied a block at a time (a few percent faster at 16
    /// backends than the default's pick after pick).
    #[inline]
    fn pick_ahead(&mut self, chosen: &mut [u32]) {
        let mut rest = chosen;
        while !rest.is_empty() {
            if self.pos == BLOCK {
                self.draw_ahead();
            }
            let k = rest.len().min(BLOCK - self.pos);
            let (now, later) = rest.split_at_mut(k);
            now.copy_from_slice(&self.ahead[self.pos..self.pos + k]);
            self.pos += k;
            rest = later;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testing::{MockCluster, request, rng};

    /// The choices drawn ahead are the draws one at a time from the same stream, across
    /// several blocks, and `upcoming` names the choice made `LEAD` picks later.
    #[test]
    fn choices_drawn_ahead_are_those_drawn_one_at_a_time() {
        for n in [1, 7, 65_536] {
            let mut random = Random::build(&Setup {
                backends: &vec![crate::strategy::testing::backend("b", 1, 1.0); n],
                service: &crate::model::ServiceDistribution::exponential(1.0).unwrap(),
                params: &crate::strategy::Params::new(Random::NAME),
                addresses: Default::default(),
                rng: rng(5),
            })
            .unwrap();
            let mut one_at_a_time = rng(5);
            let mut cluster = MockCluster::uniform(n.min(8));
            let (mut picks, mut noted) = (Vec::new(), Vec::new());
            for _ in 0..5 * BLOCK + 3 {
                picks.push(random.pick(&request(0, 1.0), &mut cluster));
                random.upcoming(|i| noted.push(i));
            }
            let expected: Vec<usize> =
                (0..picks.len()).map(|_| super::super::uniform_index(&mut one_at_a_time, n)).collect();
            assert_eq!(picks, expected, "n = {n}");
            // Choices taken a block at a time, in blocks of every length across the
            // draws' block edges, continue the same sequence.
            let mut taken = Vec::new();
            for k in (0..40).map(|k| k * 7 % 97) {
                let mut block = vec![u32::MAX; k];
                random.pick_ahead(&mut block);
                taken.extend(block.iter().map(|&c| c as usize));
            }
            let later: Vec<usize> =
                (0..taken.len()).map(|_| super::super::uniform_index(&mut one_at_a_time, n)).collect();
            assert_eq!(taken, later, "n = {n}: pick_ahead");
            for (k, &note) in noted.iter().enumerate().take(picks.len() - LEAD) {
                assert_eq!(note, picks[k + LEAD], "n = {n}, after pick {k}");
            }
        }
    }
}
