//! `nginx_round_robin`: nginx's default upstream method, smooth weighted round robin, with
//! nginx's weights and nginx Plus slow start.

use super::real_weights::real_weights;
use super::slow_start::{self, SlowStart};
use super::swrr::{RampedSwrr, Swrr};
use super::{Cluster, Needs, ParamSpec, PickCost, Setup, Shares, Strategy, StrategyError};
use crate::model::Request;

/// nginx's smooth weighted round robin (`ngx_http_upstream_get_peer` in
/// ngx_http_upstream_round_robin.c). For each request, over every peer:
///
/// 1. `current_weight += effective_weight`, and `total += effective_weight`;
/// 2. the peer with the largest `current_weight` is chosen (ties: the first in
///    configuration order, since nginx replaces its best only on a strictly larger value);
/// 3. `chosen.current_weight -= total`.
///
/// Weights are nginx's (`server … weight=N`, default 1, whole numbers; see
/// [`real_weights`]). Weights 5, 1, 1 give `a a b a c a a`. nginx lowers a failed peer's
/// `effective_weight` and raises it back by one per pick; lbsim's balancer leaves a peer
/// believed down out of the choice instead, so the effective weight is the weight — or,
/// with `slow_start`, the weight ramped since [`Cluster::up_since`].
#[derive(Debug)]
pub struct NginxRoundRobin {
    swrr: RampedSwrr,
}

impl Strategy for NginxRoundRobin {
    const NAME: &'static str = "nginx_round_robin";
    const SUMMARY: &'static str =
        "nginx smooth weighted round robin with nginx's weights (weight=, default 1): 5,1,1 → a a b a c a a";
    const MODELS: &'static str = "nginx: upstream { server … weight=N; } (the default method)";
    const NEEDS: Needs = Needs::Nothing;
    // nginx's smooth weighted round robin adds to every peer's current_weight on each pick;
    // the same choices take a step per distinct whole-number weight (`Swrr`).
    const PICK_COST: PickCost = PickCost::WalksWeightClasses;
    const PARAMS: &'static [ParamSpec] = &[slow_start::NGINX_PARAM];

    fn build(setup: &Setup<'_>) -> Result<Self, StrategyError> {
        let weights = real_weights(Self::NAME, "nginx", u32::MAX, setup.backends)?;
        Ok(NginxRoundRobin { swrr: RampedSwrr::new(Swrr::whole(&weights), SlowStart::nginx(setup.params)?) })
    }

    /// In proportion to the weights (on backends that never fail, no slow start ramps).
    fn shares(setup: &Setup<'_>) -> Option<Shares> {
        let weights = real_weights(Self::NAME, "nginx", u32::MAX, setup.backends).ok()?;
        Some(Shares::dealt(weights.into_iter().map(f64::from)))
    }

    #[inline]
    fn pick<C: Cluster + ?Sized>(&mut self, request: &Request, cluster: &mut C) -> usize {
        self.swrr.pick(request.arrival, cluster)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testing::{MockCluster, request};

    fn letters(s: &mut NginxRoundRobin, cluster: &mut MockCluster, n: usize, at: f64) -> String {
        (0..n)
            .map(|_| {
                let r = crate::model::Request { arrival: at, ..request(0, 1.0) };
                (b'a' + s.pick(&r, cluster) as u8) as char
            })
            .collect()
    }

    #[test]
    fn weights_5_1_1_give_nginx_documented_sequence() {
        let mut s = NginxRoundRobin { swrr: RampedSwrr::new(Swrr::whole(&[5, 1, 1]), None) };
        let mut cluster = MockCluster::uniform(3);
        // The sequence of the nginx source comment ("a a b a c a a"), twice: the state
        // returns to zero after Σw picks.
        assert_eq!(letters(&mut s, &mut cluster, 14, 0.0), "aabacaaaabacaa");
        assert!(cluster.queried.is_empty());
    }

    #[test]
    fn unset_weights_are_one_whatever_the_capacity() {
        use crate::strategy::testing::backend;
        let infos = [backend("big", 8, 2.0), backend("small", 1, 1.0)];
        let params = crate::strategy::Params::new("nginx_round_robin");
        let service = crate::model::ServiceDistribution::exponential(1.0).unwrap();
        let setup = Setup {
            backends: &infos,
            service: &service,
            params: &params,
            addresses: Default::default(),
            rng: crate::strategy::testing::rng(1),
        };
        let mut s = NginxRoundRobin::build(&setup).unwrap();
        let mut cluster = MockCluster::from_backends(&infos);
        assert_eq!(letters(&mut s, &mut cluster, 6, 0.0), "ababab");
    }

    #[test]
    fn slow_start_ramps_a_backend_that_came_back() {
        use crate::strategy::{ParamValue, Params};
        let params = Params::new("nginx_round_robin").with("slow_start", ParamValue::Number(5.0));
        let mut s = NginxRoundRobin { swrr: RampedSwrr::new(Swrr::whole(&[1, 1]), SlowStart::nginx(&params).unwrap()) };
        let mut cluster = MockCluster::uniform(2);
        // Backends up from the start never ramp (nginx Plus ramps a server that was down).
        assert_eq!(letters(&mut s, &mut cluster, 4, 0.5), "abab");
        // Backend b came back up at t = 7.75 s, a has been up all along: at t = 9 s b has a
        // quarter of its weight: 4 picks of a for each of b.
        cluster.up = vec![f64::NEG_INFINITY, 7.75];
        let seq = letters(&mut s, &mut cluster, 100, 9.0);
        assert_eq!(seq.matches('b').count(), 20, "{seq}");
        // Later, b's ramp is over too: plain alternation.
        assert_eq!(letters(&mut s, &mut cluster, 4, 18.0).matches('b').count(), 2);
    }
}
