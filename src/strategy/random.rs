//! `random`: each request to a backend chosen uniformly at random.

use rand_xoshiro::Xoshiro256PlusPlus;

use super::{Cluster, Needs, Setup, Strategy, StrategyError};
use crate::model::Request;

/// Uniformly random dispatch: with n identical backends and Poisson arrivals each backend
/// sees Poisson traffic at rate λ/n, so the cluster is n independent M/G/1 (or M/G/c) queues.
#[derive(Debug)]
pub struct Random {
    rng: Xoshiro256PlusPlus,
    n: usize,
}

impl Strategy for Random {
    const NAME: &'static str = "random";
    const SUMMARY: &'static str = "each request to a backend chosen uniformly at random";
    const MODELS: &'static str = "textbook: uniform random dispatch";
    const NEEDS: Needs = Needs::Nothing;

    fn build(setup: &Setup<'_>) -> Result<Self, StrategyError> {
        Ok(Random { rng: setup.rng.clone(), n: setup.backends.len() })
    }

    #[inline]
    fn pick<C: Cluster + ?Sized>(&mut self, _request: &Request, _cluster: &mut C) -> usize {
        super::uniform_index(&mut self.rng, self.n)
    }
}
