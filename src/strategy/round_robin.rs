//! `round_robin`: backends in turn, ignoring their state (nginx's default without weights).

use super::{Cluster, Needs, PickCost, Setup, Shares, Strategy, StrategyError};
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
    const BLIND: bool = true;

    fn build(setup: &Setup<'_>) -> Result<Self, StrategyError> {
        Ok(RoundRobin { next: 0, n: setup.backends.len() })
    }

    /// Equal: request k goes to backend k mod n.
    fn shares(setup: &Setup<'_>) -> Option<Shares> {
        Some(Shares::dealt(setup.backends.iter().map(|_| 1.0)))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testing::{MockCluster, request};

    /// Choices taken a block at a time are the picks one at a time, across the wrap.
    #[test]
    fn choices_ahead_are_the_picks() {
        for n in [1, 3, 16] {
            let (mut one, mut blocks) = (RoundRobin { next: 0, n }, RoundRobin { next: 0, n });
            let mut cluster = MockCluster::uniform(n);
            let picks: Vec<u32> = (0..200).map(|_| one.pick(&request(0, 1.0), &mut cluster) as u32).collect();
            let mut taken = Vec::new();
            for k in [0, 1, 5, 16, 17, 64, 97] {
                let mut block = vec![u32::MAX; k];
                blocks.pick_ahead(&mut block);
                taken.extend(block);
            }
            assert_eq!(taken, picks, "n = {n}");
        }
    }
}
