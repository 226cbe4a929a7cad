//! `ip_hash`: nginx's `ip_hash` — the client's /24 network decides the backend.

use super::weighted_random::checked_weights;
use super::{Cluster, Needs, PickCost, Setup, Strategy, StrategyError};
use crate::model::{ClientAddresses, Request};

/// The modulus of nginx's address hash: hash values lie in `0..6271`.
const HASH_MODULUS: u32 = 6271;

/// nginx `ip_hash` (`ngx_http_upstream_get_ip_hash_peer`), for IPv4 clients.
///
/// - Each client sends from the IPv4 address a.b.c.d the model gives it
///   ([`ClientAddresses`]: scattered by default, or confined to `[clients] subnets` /24
///   networks).
/// - nginx hashes only the first three octets: `hash = 89`, then for each of a, b, c:
///   `hash = (hash × 113 + octet) mod 6271`. So **all clients of one /24 network go to the
///   same backend** (as with real nginx: a large NAT or office behind one /24 lands on one
///   backend).
/// - The backend is chosen by weight as nginx does: `w = hash mod Σ weights`, then walk the
///   backends in order subtracting each weight until `w` is smaller than the current one.
///
/// Simplifications (documented): nginx weights are integers, ours are reals (defaulting to
/// capacities), so they are turned into integers by [`integer_weights`] (ratios to the
/// smallest weight, scaled by the smallest factor 1…10 that makes them whole, else rounded
/// at factor 10, then divided by their gcd). nginx's rehash-on-failure loop is not modelled
/// (backends never fail). Since the hash has only 6271 values, the mapping hash → backend is
/// tabulated at build time and a pick is O(1). No ties arise.
#[derive(Debug)]
pub struct IpHash {
    /// Backend for each hash value in `0..6271`.
    table: Vec<u32>,
    addresses: ClientAddresses,
}

impl IpHash {
    pub(crate) fn new(weights: &[f64]) -> Self {
        let weights = integer_weights(weights);
        let total: u64 = weights.iter().fold(0u64, |a, &w| a.saturating_add(w));
        let table = (0..HASH_MODULUS)
            .map(|hash| {
                let mut w = u64::from(hash) % total;
                let mut peer = 0;
                while w >= weights[peer] {
                    w -= weights[peer];
                    peer += 1;
                }
                peer as u32
            })
            .collect();
        IpHash { table, addresses: ClientAddresses::scattered() }
    }
}

impl Strategy for IpHash {
    const NAME: &'static str = "ip_hash";
    const SUMMARY: &'static str = "nginx ip_hash: the client's /24 address prefix, hashed, picks a backend by weight";
    const MODELS: &'static str =
        "nginx `ip_hash;` with weights from capacities (nginx_ip_hash uses the file's weights)";
    const NEEDS: Needs = Needs::Nothing;
    // One look-up in a table of fixed size.
    const PICK_COST: PickCost = PickCost::Constant;
    const USES_CLIENT: bool = true;

    fn build(setup: &Setup<'_>) -> Result<Self, StrategyError> {
        Ok(IpHash { addresses: setup.addresses, ..IpHash::new(&checked_weights(Self::NAME, setup.backends)?) })
    }

    #[inline]
    fn pick<C: Cluster + ?Sized>(&mut self, request: &Request, _cluster: &mut C) -> usize {
        self.table[nginx_ip_hash(self.addresses.of(request.client)) as usize] as usize
    }
}

/// nginx's IPv4 hash of an address: over its first three octets only,
/// `hash = 89; hash = (hash × 113 + octet) mod 6271`. The result is in `0..6271`.
pub fn nginx_ip_hash(address: [u8; 4]) -> u32 {
    address[..3].iter().fold(89, |hash, &octet| (hash * 113 + u32::from(octet)) % HASH_MODULUS)
}

/// Integer weights with the same ratios as `weights` (finite, positive): each divided by
/// the smallest, multiplied by the smallest factor m in 1..=10 that makes every ratio whole
/// (else m = 10 and rounded, at least 1), then divided by their greatest common divisor.
/// E.g. [1.5, 1] → [3, 2]; [4, 4, 4] → [1, 1, 1]; [0.3, 0.7] → [3, 7].
pub fn integer_weights(weights: &[f64]) -> Vec<u64> {
    let smallest = weights.iter().copied().fold(f64::INFINITY, f64::min);
    let ratios: Vec<f64> = weights.iter().map(|w| w / smallest).collect();
    let whole = |m: f64| ratios.iter().all(|r| (r * m - (r * m).round()).abs() <= 1e-9 * r * m);
    let m = (1..=10).map(f64::from).find(|&m| whole(m)).unwrap_or(10.0);
    let ints: Vec<u64> = ratios.iter().map(|r| ((r * m).round() as u64).max(1)).collect();
    let divisor = ints.iter().copied().fold(0, gcd);
    ints.iter().map(|w| w / divisor).collect()
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

pub use crate::model::splitmix64;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testing::{MockCluster, request};

    #[test]
    fn nginx_hash_matches_hand_computation() {
        // 89·113 + 10 = 10067 → 3796; 3796·113 + 1 = 428949 → 2521; 2521·113 + 2 = 284875 → 2680.
        assert_eq!(nginx_ip_hash([10, 1, 2, 99]), 2680);
        // The last octet is ignored: one /24 network, one hash.
        assert_eq!(nginx_ip_hash([10, 1, 2, 0]), nginx_ip_hash([10, 1, 2, 255]));
    }

    #[test]
    fn deterministic_per_client() {
        let mut a = IpHash::new(&[1.0; 4]);
        let mut b = IpHash::new(&[1.0; 4]);
        let mut cluster = MockCluster::uniform(4);
        for client in 0..1000 {
            let first = a.pick(&request(client, 1.0), &mut cluster);
            assert_eq!(first, a.pick(&request(client, 2.0), &mut cluster));
            assert_eq!(first, b.pick(&request(client, 1.0), &mut cluster));
        }
        assert!(cluster.queried.is_empty());
    }

    #[test]
    fn spreads_clients_evenly() {
        let mut s = IpHash::new(&[2.0; 4]);
        let mut cluster = MockCluster::uniform(4);
        let mut counts = [0u32; 4];
        for client in 0..10_000 {
            counts[s.pick(&request(client, 1.0), &mut cluster)] += 1;
        }
        for c in counts {
            assert!((2125..=2875).contains(&c), "{counts:?} not within ±15 % of 2500");
        }
    }

    #[test]
    fn weights_shift_the_share() {
        let mut s = IpHash::new(&[1.0, 3.0]);
        let mut cluster = MockCluster::uniform(2);
        let mut counts = [0u32; 2];
        for client in 0..10_000 {
            counts[s.pick(&request(client, 1.0), &mut cluster)] += 1;
        }
        assert!((2125..=2875).contains(&counts[0]), "{counts:?}");
    }

    #[test]
    fn integer_weights_keep_ratios() {
        assert_eq!(integer_weights(&[1.5, 1.0]), [3, 2]);
        assert_eq!(integer_weights(&[4.0, 4.0, 4.0]), [1, 1, 1]);
        assert_eq!(integer_weights(&[0.3, 0.7]), [3, 7]);
        assert_eq!(integer_weights(&[2.0, 6.0, 4.0]), [1, 3, 2]);
        assert_eq!(integer_weights(&[1.0, std::f64::consts::PI]), [10, 31]);
    }
}
