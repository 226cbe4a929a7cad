//! `nginx_ip_hash`: nginx's `ip_hash` with nginx's weights.

use super::ip_hash::nginx_ip_hash;
use super::real_weights::real_weights;
use super::slow_start;
use super::{Cluster, Needs, PickCost, Setup, Strategy, StrategyError};
use crate::model::{ClientAddresses, Request};

/// nginx `ip_hash` (`ngx_http_upstream_get_ip_hash_peer`, ngx_http_upstream_ip_hash_module.c)
/// for IPv4 clients:
///
/// - `hash = 89`, then over the **first three octets** only of the client's address:
///   `hash = (hash × 113 + octet) mod 6271` — every client of a /24 network goes to the
///   same backend, which is what makes `ip_hash` lopsided when clients sit in few networks
///   (`[clients] subnets = k`);
/// - `w = hash mod Σ weights`, then walk the peers in order subtracting each weight until
///   `w` is smaller than the current peer's: weights are nginx's (`weight=`, default 1),
///   used as written (unlike `ip_hash`, which derives them from capacities);
/// - a peer that is down or failed is skipped by re-hashing the same three octets onto the
///   running hash, up to 20 times before falling back to round robin; backends never fail
///   in lbsim yet, so the first peer is always taken, and the mapping hash → peer is
///   tabulated (6271 entries) at build time.
#[derive(Debug)]
pub struct NginxIpHash {
    table: Vec<u32>,
    addresses: ClientAddresses,
}

impl NginxIpHash {
    pub(crate) fn new(weights: &[u32], addresses: ClientAddresses) -> Self {
        let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
        let table = (0..6271u64)
            .map(|hash| {
                let mut w = hash % total;
                let mut peer = 0;
                while w >= u64::from(weights[peer]) {
                    w -= u64::from(weights[peer]);
                    peer += 1;
                }
                peer as u32
            })
            .collect();
        NginxIpHash { table, addresses }
    }
}

impl Strategy for NginxIpHash {
    const NAME: &'static str = "nginx_ip_hash";
    const SUMMARY: &'static str =
        "nginx ip_hash: the first three octets of the client's IPv4 address pick a backend, by nginx's weights";
    const MODELS: &'static str = "nginx: upstream { ip_hash; server … weight=N; }";
    const NEEDS: Needs = Needs::Nothing;
    // One look-up in a table of fixed size.
    const PICK_COST: PickCost = PickCost::Constant;
    const REFUSED: &'static [(&'static str, &'static str)] = slow_start::NGINX_REFUSES;
    const USES_CLIENT: bool = true;

    fn build(setup: &Setup<'_>) -> Result<Self, StrategyError> {
        Ok(NginxIpHash::new(&real_weights(Self::NAME, "nginx", u32::MAX, setup.backends)?, setup.addresses))
    }

    #[inline]
    fn pick<C: Cluster + ?Sized>(&mut self, request: &Request, _cluster: &mut C) -> usize {
        self.table[nginx_ip_hash(self.addresses.of(request.client)) as usize] as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testing::{MockCluster, request};

    #[test]
    fn weights_are_used_as_written() {
        // Weights 2, 2, 4 (total 8): hash 2680 → 2680 mod 8 = 0 → peer 0; nginx does not
        // reduce them to 1, 1, 2 (total 4), which would map differently.
        let s = NginxIpHash::new(&[2, 2, 4], ClientAddresses::scattered());
        assert_eq!(s.table[2680], 0);
        assert_eq!(s.table[2683], 1, "2683 mod 8 = 3 → 3 − 2 = 1 < 2: peer 1");
        assert_eq!(s.table[2685], 2, "5 → 5 − 2 − 2 = 1 < 4: peer 2");
    }

    #[test]
    fn few_subnets_make_it_lopsided() {
        // 10000 clients in 3 networks over 4 backends: at most 3 backends get anything.
        let mut s = NginxIpHash::new(&[1; 4], ClientAddresses::in_subnets(3).unwrap());
        let mut cluster = MockCluster::uniform(4);
        let mut used = [0u32; 4];
        for client in 0..10_000 {
            used[s.pick(&request(client, 1.0), &mut cluster)] += 1;
        }
        assert!(used.iter().filter(|&&c| c > 0).count() <= 3, "{used:?}");
        // Scattered clients use all four about evenly.
        let mut s = NginxIpHash::new(&[1; 4], ClientAddresses::scattered());
        let mut used = [0u32; 4];
        for client in 0..10_000 {
            used[s.pick(&request(client, 1.0), &mut cluster)] += 1;
        }
        assert!(used.iter().all(|&c| (2200..2800).contains(&c)), "{used:?}");
    }
}
