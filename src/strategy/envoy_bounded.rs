//! Envoy's bounded-load hashing (`hash_balance_factor` on RING_HASH and MAGLEV,
//! `ThreadAwareLoadBalancerBase::BoundedLoadHashingLoadBalancer`), shared by
//! `envoy_ring_hash` and `envoy_maglev`.

use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

use super::{Cluster, uniform_index};

/// Envoy's bounded load (Mirrokni, Thorup & Zadimoghaddam, arXiv 1608.01350):
///
/// - `total_slots = ⌈(active requests + 1) × factor / 100⌉`; host i has
///   `slots = max(⌈total_slots × wᵢ / Σw⌉, 1)` and is overloaded when it holds **more**
///   than its slots (`rq_active > slots`): a host may reach slots + 1 after the pick;
/// - if the hashed host is overloaded, hosts are probed in a random order seeded by the
///   request's hash (so a key always probes the same sequence; arXiv 1908.08762's random
///   jump avoids cascading overflow to the ring neighbour); the first host not overloaded
///   wins, else the least overloaded (Envoy shuffles with `std::mt19937`, lbsim with its
///   own seeded generator: the same law, not the same sequence).
#[derive(Debug, Clone)]
pub(crate) struct EnvoyBounded {
    /// `hash_balance_factor` as Envoy holds it, a percentage; 0 = off.
    factor: u32,
    /// Normalised weights wᵢ / Σw.
    weights: Vec<f64>,
    /// Scratch: each host's active requests, and the probe order.
    active: Vec<u32>,
    order: Vec<u32>,
}

impl EnvoyBounded {
    pub(crate) fn new(weights: &[u32], factor: u32) -> Self {
        let total: f64 = weights.iter().map(|&w| f64::from(w)).sum();
        let n = weights.len();
        EnvoyBounded {
            factor,
            weights: weights.iter().map(|&w| f64::from(w) / total).collect(),
            active: vec![0; n],
            order: (0..n as u32).collect(),
        }
    }

    /// The host for a request whose hash picked `home`.
    #[inline]
    pub(crate) fn choose<C: Cluster + ?Sized>(&mut self, hash: u64, home: usize, cluster: &mut C) -> usize {
        if self.factor == 0 {
            return home;
        }
        let mut total = 0u64;
        for (i, a) in self.active.iter_mut().enumerate() {
            *a = cluster.in_system(i);
            total += u64::from(*a);
        }
        let total_slots = ((total + 1) * u64::from(self.factor)).div_ceil(100) as f64;
        let overload = |i: usize| {
            let slots = (total_slots * self.weights[i]).ceil().max(1.0);
            f64::from(self.active[i]) / slots
        };
        let mut least = home;
        let mut least_overload = overload(home);
        if least_overload <= 1.0 {
            return home;
        }
        let n = self.order.len();
        for (k, slot) in self.order.iter_mut().enumerate() {
            *slot = k as u32;
        }
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(hash);
        for i in 0..n {
            let j = uniform_index(&mut rng, n - i);
            self.order.swap(i, i + j);
            let candidate = self.order[i] as usize;
            if candidate == home {
                continue;
            }
            let o = overload(candidate);
            if o <= 1.0 {
                return candidate;
            }
            if o < least_overload {
                least = candidate;
                least_overload = o;
            }
        }
        least
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testing::MockCluster;

    #[test]
    fn a_host_holds_at_most_its_slots_plus_one() {
        // Every request hashes to host 0; factor 1.25 over 8 hosts.
        let mut bounded = EnvoyBounded::new(&[1; 8], 125);
        let mut cluster = MockCluster::uniform(8);
        for k in 0..4000u64 {
            let chosen = bounded.choose(k % 7, 0, &mut cluster);
            let total: u32 = cluster.counts.iter().sum(); // before this request
            let slots = ((total + 1) * 125).div_ceil(100).div_ceil(8).max(1);
            assert!(cluster.counts[chosen] <= slots, "{:?}", cluster.counts);
            cluster.counts[chosen] += 1;
        }
        // The home host is the fullest, within one request of ⌈1.25 × average⌉ + 1.
        let max = *cluster.counts.iter().max().unwrap();
        assert_eq!(cluster.counts[0], max);
        assert!(max <= (1.25f64 * 4000.0 / 8.0).ceil() as u32 + 1, "{:?}", cluster.counts);
    }

    #[test]
    fn probes_depend_only_on_the_hash() {
        let mut a = EnvoyBounded::new(&[1; 6], 150);
        let mut cluster = MockCluster::uniform(6);
        // Host 0 holds 30 of 30: slots ⌈⌈31 × 1.5⌉ / 6⌉ = 8, overloaded; every other host
        // has room, so the first probed one wins, the same one for the same hash.
        cluster.counts = vec![30, 0, 0, 0, 0, 0];
        let first = a.choose(42, 0, &mut cluster);
        assert_ne!(first, 0);
        assert_eq!(a.choose(42, 0, &mut cluster), first);
        let others: std::collections::BTreeSet<usize> = (0..50).map(|h| a.choose(h, 0, &mut cluster)).collect();
        assert!(others.len() >= 4 && !others.contains(&0), "different hashes probe differently: {others:?}");
    }
}
