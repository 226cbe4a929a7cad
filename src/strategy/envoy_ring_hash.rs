//! `envoy_ring_hash`: Envoy's RING_HASH load balancer, with its optional bounded load.

use super::consistent_hash::{bytes_hash, numbered_hashes};
use super::envoy_bounded::EnvoyBounded;
use super::haproxy_chash::{BALANCE_FACTOR, balance_factor_percent};
use super::hash_ring::HashRing;
use super::real_weights::real_weights;
use super::slow_start;
use super::{Cluster, Needs, ParamSpec, PickCost, Setup, Strategy, StrategyError};
use crate::model::{ClientAddresses, Request, address_text};

/// Envoy RING_HASH (`RingHashLoadBalancer::Ring`, ring_hash_lb.cc):
///
/// - with normalised weights wᵢ / Σw and the smallest of them m, the ring has
///   `scale = min(⌈m × minimum_ring_size⌉ / m, maximum_ring_size)` entries, host i taking
///   entries until the running total reaches `scale × wᵢ` (1024 and 8 388 608 by default,
///   so 4 equal hosts get 256 entries each);
/// - entry j of host "name" is hashed from `"name_j"` (Envoy hashes the host's address
///   with xxHash64; lbsim its backend name with its ring hash), the ring is sorted, and a
///   request goes to the first entry ≥ its hash, wrapping;
/// - the request's hash is that of the client's address text (`hash_policy:
///   connection_properties: source_ip`).
///
/// `hash_balance_factor` adds Envoy's bounded load (see [`EnvoyBounded`]). Weights are
/// Envoy's (`load_balancing_weight`, default 1).
#[derive(Debug)]
pub struct EnvoyRingHash {
    ring: HashRing<u64>,
    addresses: ClientAddresses,
    bounded: EnvoyBounded,
}

impl EnvoyRingHash {
    pub(crate) fn new(names: &[&str], weights: &[u32], min_size: u64, max_size: u64, factor: u32) -> Self {
        let total: f64 = weights.iter().map(|&w| f64::from(w)).sum();
        let normalized: Vec<f64> = weights.iter().map(|&w| f64::from(w) / total).collect();
        let min_weight = normalized.iter().copied().fold(f64::INFINITY, f64::min);
        let scale = ((min_weight * min_size as f64).ceil() / min_weight).min(max_size as f64);
        let mut ring = Vec::with_capacity(scale.ceil() as usize);
        let (mut current, mut target) = (0.0, 0.0);
        for (host, (name, w)) in names.iter().zip(&normalized).enumerate() {
            target += scale * w;
            // Entry j of a host hashes "{name}_{j}".
            let mut hashes = numbered_hashes(&format!("{name}_"), 0..);
            while current < target {
                ring.push((hashes.next().expect("endless"), host as u32));
                current += 1.0;
            }
        }
        EnvoyRingHash {
            ring: HashRing::new(ring),
            addresses: ClientAddresses::scattered(),
            bounded: EnvoyBounded::new(weights, factor),
        }
    }

    #[cfg(test)]
    fn entries_of(&self, host: u32) -> usize {
        self.ring.points_of(host)
    }

    #[cfg(test)]
    fn host_of(&self, hash: u64) -> usize {
        self.ring.owner(hash)
    }
}

impl Strategy for EnvoyRingHash {
    const NAME: &'static str = "envoy_ring_hash";
    const SUMMARY: &'static str = "Envoy RING_HASH on the client address; optional bounded load (hash_balance_factor)";
    const MODELS: &'static str =
        "Envoy: lb_policy: RING_HASH, hash_policy source_ip [+ common_lb_config hash_balance_factor 100·f]";
    const NEEDS: Needs = Needs::Counts;
    // A binary search of the ring; a bounded load counts every host's requests.
    const PICK_COST: PickCost = PickCost::Logarithmic;
    const PICK_COST_WITH: &'static [(&'static str, PickCost)] = &[(BALANCE_FACTOR, PickCost::AsksAll)];
    const REFUSED: &'static [(&'static str, &'static str)] = slow_start::ENVOY_REFUSES;
    const USES_CLIENT: bool = true;
    const PARAMS: &'static [ParamSpec] = &[
        ParamSpec { name: "minimum_ring_size", help: "ring_hash_lb_config.minimum_ring_size, ≥ 1 (default 1024)" },
        ParamSpec {
            name: "maximum_ring_size",
            help: "ring_hash_lb_config.maximum_ring_size, ≥ minimum (default 8388608)",
        },
        ParamSpec {
            name: BALANCE_FACTOR,
            help: "bounded load, f > 1: a host over its share of ⌈f × (active + 1)⌉ sends the request \
                   on (Envoy's hash_balance_factor 125 is f = 1.25; default: unbounded)",
        },
    ];

    fn build(setup: &Setup<'_>) -> Result<Self, StrategyError> {
        let weights = real_weights(Self::NAME, "Envoy", u32::MAX, setup.backends)?;
        let min_size = setup.params.count("minimum_ring_size", 1024, 1)? as u64;
        let max_size = setup.params.count("maximum_ring_size", 8 * 1024 * 1024, 1)? as u64;
        if max_size < min_size {
            return Err(setup
                .params
                .error("maximum_ring_size", format!("{max_size} is smaller than minimum_ring_size {min_size}")));
        }
        let factor = balance_factor_percent(setup.params)?;
        let names: Vec<&str> = setup.backends.iter().map(|b| b.name.as_str()).collect();
        Ok(EnvoyRingHash {
            addresses: setup.addresses,
            ..EnvoyRingHash::new(&names, &weights, min_size, max_size, factor)
        })
    }

    #[inline]
    fn pick<C: Cluster + ?Sized>(&mut self, request: &Request, cluster: &mut C) -> usize {
        let (text, len) = address_text(self.addresses.of(request.client));
        let hash = bytes_hash(&text[..len]);
        let home = self.ring.owner(hash);
        self.bounded.choose(hash, home, cluster)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("web-{}", i + 1)).collect()
    }

    #[test]
    fn ring_size_follows_envoy_scale() {
        let n = names(4);
        let names: Vec<&str> = n.iter().map(String::as_str).collect();
        let ring = EnvoyRingHash::new(&names, &[1; 4], 1024, 8 << 20, 0);
        assert_eq!(ring.ring.points().len(), 1024);
        assert!((0..4).all(|h| ring.entries_of(h) == 256));
        // Weights 1 and 3: m = 1/4, scale = ⌈256⌉ / (1/4) = 1024 → 256 and 768 entries.
        let ring = EnvoyRingHash::new(&names[..2], &[1, 3], 1024, 8 << 20, 0);
        assert_eq!((ring.entries_of(0), ring.entries_of(1)), (256, 768));
        // The maximum caps the scale.
        let ring = EnvoyRingHash::new(&names[..2], &[1, 3], 1024, 100, 0);
        assert_eq!(ring.ring.points().len(), 100);
    }

    #[test]
    fn removing_a_host_moves_its_keys_and_few_others() {
        // Envoy sizes the ring from the smallest weight, so with one host fewer every
        // remaining host gets more entries (205 → 256 each here): besides the removed
        // host's keys, the new entries take over a few arcs of the others.
        let n = names(5);
        let all: Vec<&str> = n.iter().map(String::as_str).collect();
        let five = EnvoyRingHash::new(&all, &[1; 5], 1024, 8 << 20, 0);
        let four = EnvoyRingHash::new(&all[..4], &[1; 4], 1024, 8 << 20, 0);
        let (mut on_removed, mut others_moved) = (0, 0);
        for k in 0..20_000u64 {
            let key = crate::model::splitmix64(k);
            let (before, after) = (five.host_of(key), four.host_of(key));
            if before == 4 {
                on_removed += 1;
            } else if before != after {
                others_moved += 1;
            }
        }
        assert!((3000..5000).contains(&on_removed), "{on_removed} of 20000 keys were on the removed host (≈ 1/5)");
        eprintln!("ring hash: {others_moved} of {} keys of remaining hosts moved", 20_000 - on_removed);
        assert!(others_moved < (20_000 - on_removed) / 5, "{others_moved}");
    }
}
