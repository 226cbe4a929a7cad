//! `random`: each request to a backend chosen uniformly at random.

use rand_xoshiro::Xoshiro256PlusPlus;

use super::{Cluster, Needs, PickCost, Setup, Strategy, StrategyError};
use crate::model::Request;

/// Uniformly random dispatch: with n identical backends and Poisson arrivals each backend
/// sees Poisson traffic at rate λ/n, so the cluster is n independent M/G/1 (or M/G/c) queues.
///
/// Choices are drawn [`AHEAD`] requests ahead (the same draws in the same order), so that
/// the engine can fetch a chosen backend from memory before its request comes
/// ([`Strategy::upcoming`]).
#[derive(Debug)]
pub struct Random {
    rng: Xoshiro256PlusPlus,
    n: usize,
    /// The next `AHEAD` choices, the next one at `pos`.
    ahead: [u32; AHEAD],
    pos: usize,
}

/// How many choices are drawn in advance: enough requests' worth of work to cover a miss
/// to main memory.
const AHEAD: usize = 8;

impl Strategy for Random {
    const NAME: &'static str = "random";
    const SUMMARY: &'static str = "each request to a backend chosen uniformly at random";
    const MODELS: &'static str = "textbook: uniform random dispatch";
    const NEEDS: Needs = Needs::Nothing;
    const PICK_COST: PickCost = PickCost::Constant;

    fn build(setup: &Setup<'_>) -> Result<Self, StrategyError> {
        let mut rng = setup.rng.clone();
        let n = setup.backends.len();
        let ahead = std::array::from_fn(|_| super::uniform_index(&mut rng, n) as u32);
        Ok(Random { rng, n, ahead, pos: 0 })
    }

    #[inline]
    fn pick<C: Cluster + ?Sized>(&mut self, _request: &Request, _cluster: &mut C) -> usize {
        // (`% AHEAD`, a mask, spares the bounds checks.)
        let pos = self.pos % AHEAD;
        let chosen = self.ahead[pos];
        self.ahead[pos] = super::uniform_index(&mut self.rng, self.n) as u32;
        self.pos = (pos + 1) % AHEAD;
        chosen as usize
    }

    /// The choice drawn last: the one `AHEAD` picks from now.
    #[inline]
    fn upcoming(&mut self, mut note: impl FnMut(usize)) {
        note(self.ahead[(self.pos + AHEAD - 1) % AHEAD] as usize);
    }
}
