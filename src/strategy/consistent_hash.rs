//! `consistent_hash`: a ketama-style hash ring — clients stick to backends, and removing a
//! backend moves only its own clients.

use super::hash_ring::HashRing;
use super::ip_hash::splitmix64;
use super::weighted_random::checked_weights;
use super::{BackendInfo, Cluster, Needs, ParamSpec, Params, PickCost, Setup, Strategy, StrategyError};
use crate::model::Request;
use fnv::FnvHasher;
use std::hash::Hasher;

/// Consistent hashing on a ring (Karger et al. 1997), ketama-style (libketama, nginx
/// `hash … consistent`, HAProxy `hash-type consistent`).
///
/// - Backend i gets `max(1, round(vnodes × wᵢ / w_max))` points on a ring of u64 values
///   (`vnodes` defaults to 160, as in ketama), so its share of the ring is about
///   proportional to its weight.
/// - Point v of backend "name" is [`bytes_hash`] of `"name-v"`: 64-bit FNV-1a of the UTF-8
///   string followed by the SplitMix64 finaliser — fixed and platform-independent (never
///   std's randomly seeded hasher), so a ring depends only on backend names and weights.
///   Backend names should be unique (equal names give equal points).
/// - A request goes to the owner of the first point ≥ [`splitmix64`]`(client)`, wrapping
///   past the largest point to the smallest. Equal points are ordered by backend index
///   (the lower index owns the point): the only tie.
///
/// Each client always reaches the same backend; removing a backend reassigns only the
/// clients on its arcs (about 1/n of them) and leaves every other client where it was.
/// Most points on the ring: 2²⁴, ketama's 160 for each of 100 000 backends with room to
/// spare (16 bytes a point: 270 MB, and a bucket index of 16 MB).
const MAX_RING_POINTS: f64 = (1u64 << 24) as f64;

#[derive(Debug)]
pub struct ConsistentHash {
    ring: HashRing<u64>,
}

impl ConsistentHash {
    pub(crate) fn new(backends: &[BackendInfo], params: &Params) -> Result<Self, StrategyError> {
        let weights = checked_weights(Self::NAME, backends)?;
        let vnodes = params.count("vnodes", 160, 1)?;
        let max_weight = weights.iter().copied().fold(0.0, f64::max);
        // The ring is built for every run: bound its size (16 bytes a point) so that a typo
        // is an error rather than gigabytes. ketama uses 160 points per backend.
        let points: f64 = weights.iter().map(|w| (vnodes as f64 * w / max_weight).round().max(1.0)).sum();
        if points > MAX_RING_POINTS {
            return Err(params.bad(
                "vnodes",
                format!(
                    "vnodes = {vnodes} over {} backends makes {points:.0} ring points; at most {MAX_RING_POINTS:.0} \
                     (vnodes ≤ {:.0} here) — ketama uses 160",
                    backends.len(),
                    (MAX_RING_POINTS / backends.len().max(1) as f64).floor()
                ),
            ));
        }
        let mut ring = Vec::new();
        for (i, (backend, weight)) in backends.iter().zip(&weights).enumerate() {
            let points = ((vnodes as f64 * weight / max_weight).round() as usize).max(1);
            ring.extend(numbered_hashes(&format!("{}-", backend.name), 0..points).map(|point| (point, i as u32)));
        }
        Ok(ConsistentHash { ring: HashRing::new(ring) })
    }

    /// Number of points backend `i` holds on the ring.
    #[cfg(test)]
    fn points_of(&self, i: u32) -> usize {
        self.ring.points_of(i)
    }
}

impl Strategy for ConsistentHash {
    const NAME: &'static str = "consistent_hash";
    const SUMMARY: &'static str =
        "ketama-style hash ring on the client id: sticky, removing a backend moves ~1/n clients";
    const MODELS: &'static str =
        "ketama ring on the client id (nginx_hash_consistent hashes the address as nginx does)";
    const NEEDS: Needs = Needs::Nothing;
    // A binary search of a ring of ~160 points per backend.
    const PICK_COST: PickCost = PickCost::Logarithmic;
    const USES_CLIENT: bool = true;
    const PARAMS: &'static [ParamSpec] = &[ParamSpec {
        name: "vnodes",
        help: "ring points for the heaviest backend, others in proportion to weight (default 160)",
    }];

    fn build(setup: &Setup<'_>) -> Result<Self, StrategyError> {
        ConsistentHash::new(setup.backends, setup.params)
    }

    #[inline]
    fn pick<C: Cluster + ?Sized>(&mut self, request: &Request, _cluster: &mut C) -> usize {
        let key = splitmix64(u64::from(request.client));
        self.ring.owner(key)
    }
}

/// The ring's hash of a string's bytes: 64-bit FNV-1a (offset basis 0xcbf29ce484222325,
/// prime 0x100000001b3), passed through the SplitMix64 finaliser for avalanche (FNV-1a
/// alone maps strings differing in the last character to nearby values).
#[inline]
pub fn bytes_hash(bytes: &[u8]) -> u64 {
    let mut fnv = FnvHasher::default();
    fnv.write(bytes);
    splitmix64(fnv.finish())
}

/// [`bytes_hash`] of `format!("{prefix}{n}")` for each `n` of `numbers`, with the prefix
/// hashed once and no string made per point (FNV-1a goes byte by byte, so the prefix's state
/// carries over): a ring of ketama's 160 points for each of 100 000 backends spent most of
/// a second of every run's set-up formatting its points' names.
pub fn numbered_hashes<I: Iterator<Item = usize>>(prefix: &str, numbers: I) -> impl Iterator<Item = u64> + use<I> {
    let mut fnv = FnvHasher::default();
    fnv.write(prefix.as_bytes());
    let after_prefix = fnv.finish();
    let mut digits = itoa::Buffer::new();
    numbers.map(move |n| {
        let mut fnv = FnvHasher::with_key(after_prefix);
        fnv.write(digits.format(n).as_bytes());
        splitmix64(fnv.finish())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::ParamValue;
    use crate::strategy::testing::{MockCluster, backends, request, weighted};

    fn ring_hash(text: &str) -> u64 {
        bytes_hash(text.as_bytes())
    }

    fn ring(n: usize) -> ConsistentHash {
        ConsistentHash::new(&backends(n), &Params::new("consistent_hash")).unwrap()
    }

    #[test]
    fn numbered_hashes_are_the_hashes_of_the_formatted_names() {
        let hashes: Vec<u64> =
            numbered_hashes("web-17-", [0, 1, 9, 10, 159, 160, 12345, usize::MAX].into_iter()).collect();
        let names = ["web-17-0", "web-17-1", "web-17-9", "web-17-10", "web-17-159", "web-17-160", "web-17-12345"];
        let mut expected: Vec<u64> = names.iter().map(|s| ring_hash(s)).collect();
        expected.push(ring_hash(&format!("web-17-{}", usize::MAX)));
        assert_eq!(hashes, expected);
        assert_eq!(numbered_hashes("", [42].into_iter()).next(), Some(ring_hash("42")));
    }

    #[test]
    fn fnv1a_is_the_standard_one() {
        // Published FNV-1a 64 test vectors, before the finaliser.
        let fnv =
            |s: &str| s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
        assert_eq!(fnv(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(ring_hash("a"), splitmix64(0xaf63_dc4c_8601_ec8c));
    }

    #[test]
    fn spreads_clients_within_20_percent() {
        let mut s = ring(4);
        let mut cluster = MockCluster::uniform(4);
        let mut counts = [0u32; 4];
        for client in 0..10_000 {
            counts[s.pick(&request(client, 1.0), &mut cluster)] += 1;
        }
        for c in counts {
            assert!((2000..=3000).contains(&c), "{counts:?} not within ±20 % of 2500");
        }
        assert!(cluster.queried.is_empty());
    }

    #[test]
    fn removing_a_backend_moves_only_its_clients() {
        let mut four = ring(4);
        let mut three = ring(3);
        let mut cluster = MockCluster::uniform(4);
        let mut moved = 0;
        for client in 0..10_000 {
            let before = four.pick(&request(client, 1.0), &mut cluster);
            let after = three.pick(&request(client, 1.0), &mut cluster);
            if before == 3 {
                moved += 1;
            } else {
                assert_eq!(before, after, "client {client} moved though its backend stayed");
            }
        }
        // About 1/4 of the clients were on the removed backend.
        assert!((2000..=3000).contains(&moved), "{moved} clients moved");
    }

    #[test]
    fn points_follow_weights_and_vnodes() {
        let infos = [weighted("a", 1.0), weighted("b", 2.0), weighted("c", 0.001)];
        let s = ConsistentHash::new(&infos, &Params::new("consistent_hash")).unwrap();
        assert_eq!((s.points_of(0), s.points_of(1), s.points_of(2)), (80, 160, 1));
        let params = Params::new("consistent_hash").with("vnodes", ParamValue::Number(10.0));
        let s = ConsistentHash::new(&infos, &params).unwrap();
        assert_eq!((s.points_of(0), s.points_of(1), s.points_of(2)), (5, 10, 1));
        let params = Params::new("consistent_hash").with("vnodes", ParamValue::Number(0.0));
        assert!(matches!(ConsistentHash::new(&infos, &params), Err(StrategyError::BadParam { .. })));
    }

    #[test]
    fn sticky_and_wrapping() {
        let mut s = ring(5);
        let mut cluster = MockCluster::uniform(5);
        for client in 0..1000 {
            let a = s.pick(&request(client, 1.0), &mut cluster);
            assert_eq!(a, s.pick(&request(client, 3.0), &mut cluster));
        }
        // Keys beyond the last point belong to the first point's owner.
        let (last, _) = *s.ring.points().last().unwrap();
        let (_, first_owner) = s.ring.points()[0];
        let mut wrapped = 0;
        for client in 0..10_000 {
            if splitmix64(u64::from(client)) > last {
                wrapped += 1;
                assert_eq!(s.pick(&request(client, 1.0), &mut cluster), first_owner as usize);
            }
        }
        assert!(wrapped > 0, "no client key fell past the last point");
    }
}
