//! `round_robin`: backends in turn, ignoring their state (nginx's default without weights).

use super::{Cluster, Needs, PickCost, Setup, Strategy, StrategyError};
use crate::model::Request;

/// Cycles through the backends in order: request k goes to backend k mod n.
#[derive(Debug)]
pub struct RoundRobin {
    next: usize,
    n: usize,
}

impl Strategy for RoundRobin {
    const NAME: &'static str = "round_robin";
    const SUMMARY: &'static str = "backends in turn, ignoring their load and capacity";
    const MODELS: &'static str =
        "nginx upstream, HAProxy `balance roundrobin`, Envoy ROUND_ROBIN, all with equal weights";
    const NEEDS: Needs = Needs::Nothing;
    const PICK_COST: PickCost = PickCost::Constant;

    fn build(setup: &Setup<'_>) -> Result<Self, StrategyError> {
        Ok(RoundRobin { next: 0, n: setup.backends.len() })
    }

    #[inline]
    fn pick<C: Cluster + ?Sized>(&mut self, _request: &Request, _cluster: &mut C) -> usize {
        let chosen = self.next;
        self.next = if chosen + 1 == self.n { 0 } else { chosen + 1 };
        chosen
    }

    /// The choice eight picks from now (lets the engine fetch that backend early).
    #[inline]
    fn upcoming(&mut self, mut note: impl FnMut(usize)) {
        // (A subtraction, not `%`: a division a request cost more than the fetch saved.)
        let ahead = self.next + 7;
        note(if ahead < self.n { ahead } else { ahead % self.n });
    }
}
