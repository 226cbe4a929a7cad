//! `haproxy_hash`: HAProxy `balance source` with `hash-type consistent`, and its
//! bounded-load option `hash-balance-factor`.

use super::haproxy_chash::{BALANCE_FACTOR, ChashRing, HaproxyRamp, balance_factor_percent};
use super::real_weights::real_weights;
use super::slow_start::{self, SlowStart};
use super::{Cluster, Needs, ParamSpec, PickCost, Setup, Strategy, StrategyError};
use crate::model::{ClientAddresses, Request};

/// HAProxy `balance source` + `hash-type consistent` (`get_server_sh`, backend.c, then
/// `chash_get_server_hash`, lb_chash.c): the client's IPv4 address, read as a 32-bit
/// number (`ntohl`), is looked up as is on HAProxy's consistent-hash ring (see
/// [`ChashRing`]: 16 nodes per unit of weight, the nearer node on either side).
/// Without the `avalanche` modifier HAProxy does not mix the address, so clients of one
/// /24 network land on neighbouring points, nearly always the same server.
///
/// With `hash_balance_factor` = f (HAProxy's `hash-balance-factor` 100·f; Mirrokni,
/// Thorup & Zadimoghaddam's bounded loads), a server may hold at most its weighted share of
/// ⌈f × (requests in flight + 1)⌉ — about f × the average — and a request whose server is
/// full walks the ring to the next server with room. Weights are HAProxy's (`weight`,
/// default 1, at most 256). `hash-type consistent` is dynamic, so `slow_start` applies: a
/// server that came back holds only its first `eweight` ring nodes while it ramps (its
/// clients return to it step by step) and its bounded-load slots follow its weight.
#[derive(Debug)]
pub struct HaproxyHash {
    ring: ChashRing,
    addresses: ClientAddresses,
    ramp: HaproxyRamp,
}

impl Strategy for HaproxyHash {
    const NAME: &'static str = "haproxy_hash";
    const SUMMARY: &'static str =
        "HAProxy balance source, hash-type consistent: the client address on HAProxy's ring; optional bounded load";
    const MODELS: &'static str = "HAProxy: balance source + hash-type consistent [+ hash-balance-factor 100·f]";
    const NEEDS: Needs = Needs::Counts;
    // A binary search of the ring; a bounded load counts every server's requests.
    const PICK_COST: PickCost = PickCost::Logarithmic;
    const PICK_COST_WITH: &'static [(&'static str, PickCost)] = &[(BALANCE_FACTOR, PickCost::AsksAll)];
    const USES_CLIENT: bool = true;
    const PARAMS: &'static [ParamSpec] = &[
        ParamSpec {
            name: BALANCE_FACTOR,
            help: "bounded load: a server holds at most ⌈f × average⌉ requests, f > 1 (HAProxy's \
                   hash-balance-factor 125 is f = 1.25; default: unbounded)",
        },
        slow_start::HAPROXY_PARAM,
    ];

    fn build(setup: &Setup<'_>) -> Result<Self, StrategyError> {
        let weights = real_weights(Self::NAME, "HAProxy", 256, setup.backends)?;
        let factor = balance_factor_percent(setup.params)?;
        Ok(HaproxyHash {
            ring: ChashRing::new(&weights, factor),
            addresses: setup.addresses,
            ramp: HaproxyRamp::new(SlowStart::haproxy(setup.params)?, &weights),
        })
    }

    #[inline]
    fn pick<C: Cluster + ?Sized>(&mut self, request: &Request, cluster: &mut C) -> usize {
        self.ramp.apply(&mut self.ring, request.arrival, cluster);
        let key = u32::from_be_bytes(self.addresses.of(request.client));
        self.ring.server(key, cluster)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Request;
    use crate::strategy::testing::{MockCluster, request};

    fn hash(n: usize, factor: u32) -> HaproxyHash {
        HaproxyHash {
            ring: ChashRing::new(&vec![1; n], factor),
            addresses: ClientAddresses::scattered(),
            ramp: HaproxyRamp::new(None, &vec![1; n]),
        }
    }

    #[test]
    fn sticky_without_a_bound() {
        let mut s = hash(5, 0);
        let mut cluster = MockCluster::uniform(5);
        for client in 0..500 {
            let a = s.pick(&request(client, 1.0), &mut cluster);
            cluster.counts[a] += 7; // load does not matter without a bound
            assert_eq!(a, s.pick(&request(client, 1.0), &mut cluster));
        }
        assert!(cluster.queried.is_empty());
    }

    #[test]
    fn bounded_load_never_exceeds_its_ceiling() {
        // A hot client sends two requests in three, 8 servers: requests pile up and never
        // leave. After each pick the chosen server holds at most ⌈f × average⌉ (the average
        // counting the new request), and at least 1.
        for factor in [125u32, 150, 200] {
            let mut s = hash(8, factor);
            let mut cluster = MockCluster::uniform(8);
            for k in 0..2000u32 {
                let client = if k % 3 == 0 { k } else { 0 };
                let chosen = s.pick(&Request { arrival: 0.0, size: 1.0, client }, &mut cluster);
                cluster.counts[chosen] += 1;
                let total: u32 = cluster.counts.iter().sum();
                let ceiling = (factor * total).div_ceil(100 * 8).max(1);
                assert!(cluster.counts[chosen] <= ceiling, "factor {factor}: {:?}", cluster.counts);
            }
        }
    }
}
