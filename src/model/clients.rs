//! The client population: who sends requests (what ip_hash and consistent hashing hash),
//! and the IPv4 address each client sends from.

use rand::distr::Distribution;
use rand::{Rng, RngExt};
use rand_distr::Zipf;

use super::ModelError;

/// How popular each client is.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientPopulation {
    /// `count` clients, each equally likely to send the next request.
    Uniform { count: u32 },
    /// `count` clients; client of rank k sends a share ∝ 1/k^s (a few hot clients).
    Zipf { count: u32, s: f64 },
}

impl Default for ClientPopulation {
    fn default() -> Self {
        ClientPopulation::Uniform { count: 10_000 }
    }
}

impl ClientPopulation {
    /// Validates the parameters (count ≥ 1, s > 0 and finite).
    pub fn new_uniform(count: u32) -> Result<Self, ModelError> {
        check_count(count)?;
        Ok(ClientPopulation::Uniform { count })
    }

    /// Validates the parameters (count ≥ 1, s > 0 and finite).
    pub fn new_zipf(count: u32, s: f64) -> Result<Self, ModelError> {
        check_count(count)?;
        if !(s.is_finite() && s > 0.0) {
            return Err(ModelError::new(format!(
                "zipf clients: exponent s must be a finite number > 0 (got {s}); typical values are \
                 0.8–1.2, and uniform clients are the s → 0 limit"
            )));
        }
        Ok(ClientPopulation::Zipf { count, s })
    }

    /// Number of distinct clients.
    pub fn count(&self) -> u32 {
        match self {
            ClientPopulation::Uniform { count } | ClientPopulation::Zipf { count, .. } => *count,
        }
    }

    /// Short human description, e.g. `zipf(10000 clients, s 1.1)`.
    pub fn describe(&self) -> String {
        match self {
            ClientPopulation::Uniform { count } => format!("uniform({count} clients)"),
            ClientPopulation::Zipf { count, s } => {
                format!("zipf({count} clients, s {})", crate::units::significant(*s, 3))
            }
        }
    }

    /// A sampler for client ids in `0..count` (rank 1 of Zipf is client 0).
    ///
    /// Zipf uses rand_distr's rejection-inversion sampler (Hörmann & Derflinger): O(1)
    /// expected time per draw and no table, whatever the count.
    pub fn sampler(&self) -> ClientSampler {
        let inner = match self {
            ClientPopulation::Uniform { count } => Inner::Uniform { count: (*count).max(1) },
            ClientPopulation::Zipf { count, s } => {
                let count = (*count).max(1);
                // Parameters are validated by new_zipf; a hand-built invalid value degrades to
                // uniform rather than panicking.
                match Zipf::new(f64::from(count), *s) {
                    Ok(dist) => Inner::Zipf { dist, count },
                    Err(_) => Inner::Uniform { count },
                }
            }
        };
        ClientSampler { inner }
    }
}

/// How client ids map to IPv4 addresses: what nginx `ip_hash` and `hash $remote_addr` hash.
///
/// - Scattered (the default): client c sends from the address made of the top 32 bits of
///   [`splitmix64`]`(c)`. Two clients share a /24 network with probability 2⁻²⁴, so every
///   client is practically its own network.
/// - In `k` subnets (`[clients] subnets = k`): the clients live in k /24 networks (offices,
///   NATs, a mobile carrier's gateways). Client c is in network ⌊splitmix64(c) · k / 2⁶⁴⌋
///   (so hot Zipf clients land in networks at random, not all in the first), and its last
///   octet is the low byte of splitmix64(c); with more than 256 clients per network some
///   share an address, as clients behind one NAT do. The k networks have distinct prefixes
///   (a bijection of the network number over 24 bits). nginx `ip_hash` then sees only k
///   distinct keys: with few networks its spread over backends is lumpy.
///
/// The address depends only on the client id and k, never on the run's random streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClientAddresses {
    subnets: Option<u32>,
}

/// Largest number of /24 networks: all of IPv4's.
pub const MAX_SUBNETS: u32 = 1 << 24;

impl ClientAddresses {
    /// Every client its own (random-looking) address.
    pub fn scattered() -> Self {
        ClientAddresses { subnets: None }
    }

    /// Clients spread over `k` /24 networks (1 ≤ k ≤ 2²⁴).
    pub fn in_subnets(k: u32) -> Result<Self, ModelError> {
        if k == 0 || k > MAX_SUBNETS {
            return Err(ModelError::new(format!(
                "clients: subnets must be between 1 and {MAX_SUBNETS} (the number of /24 networks), got {k}"
            )));
        }
        Ok(ClientAddresses { subnets: Some(k) })
    }

    /// The number of /24 networks, if the clients are confined to some.
    pub fn subnets(&self) -> Option<u32> {
        self.subnets
    }

    /// The IPv4 address client `client` sends from, as four octets a.b.c.d.
    #[inline]
    pub fn of(&self, client: u32) -> [u8; 4] {
        let mixed = splitmix64(u64::from(client));
        match self.subnets {
            None => ((mixed >> 32) as u32).to_be_bytes(),
            Some(k) => {
                let network = ((u128::from(mixed) * u128::from(k)) >> 64) as u32;
                ((network_prefix(network) << 8) | (mixed & 0xFF) as u32).to_be_bytes()
            }
        }
    }
}

/// The 24-bit prefix of network number `network` (< 2²⁴): multiplying by an odd constant
/// and adding one is a bijection modulo 2²⁴, so distinct networks get distinct prefixes.
#[inline]
fn network_prefix(network: u32) -> u32 {
    network.wrapping_mul(0x9E37_79B1).wrapping_add(0x3C_6EF3) & 0xFF_FFFF
}

/// The dotted-decimal text of an IPv4 address ("10.1.2.3", what nginx's `$remote_addr`
/// holds), written into a stack buffer: (buffer, length). No allocation.
#[inline]
pub fn address_text(address: [u8; 4]) -> ([u8; 15], usize) {
    let mut text = [0u8; 15];
    let mut len = 0;
    for (k, &octet) in address.iter().enumerate() {
        if k > 0 {
            text[len] = b'.';
            len += 1;
        }
        if octet >= 100 {
            text[len] = b'0' + octet / 100;
            len += 1;
        }
        if octet >= 10 {
            text[len] = b'0' + (octet / 10) % 10;
            len += 1;
        }
        text[len] = b'0' + octet % 10;
        len += 1;
    }
    (text, len)
}

/// SplitMix64's output function (Steele, Lea & Flood 2014): a fixed, platform-independent
/// bijection of u64 with good avalanche, used to spread client ids.
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Draws client ids; built once per run, sampled once per request.
#[derive(Debug, Clone)]
pub struct ClientSampler {
    inner: Inner,
}

#[derive(Debug, Clone)]
enum Inner {
    Uniform { count: u32 },
    Zipf { dist: Zipf<f64>, count: u32 },
}

fn check_count(count: u32) -> Result<(), ModelError> {
    if count == 0 {
        return Err(ModelError::new("clients: count must be ≥ 1 (got 0)"));
    }
    Ok(())
}

impl ClientSampler {
    /// The next request's client id.
    #[inline]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> u32 {
        match &self.inner {
            Inner::Uniform { count } => rng.random_range(0..*count),
            Inner::Zipf { dist, count } => {
                // Rank r ∈ 1..=count (as a float) → client r − 1.
                let rank = dist.sample(rng) as u32;
                rank.clamp(1, *count) - 1
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_xoshiro::Xoshiro256PlusPlus;

    fn counts(population: &ClientPopulation, n: usize, seed: u64) -> Vec<u64> {
        let sampler = population.sampler();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let mut counts = vec![0u64; population.count() as usize];
        for _ in 0..n {
            counts[sampler.sample(&mut rng) as usize] += 1;
        }
        counts
    }

    #[test]
    fn zipf_rank_frequencies_match_theory() {
        // P(rank k) = k^(−s) / H(n, s); each count is binomial: check within 5 SE.
        for (i, &(count, s)) in [(1000u32, 1.1), (100_000, 0.8), (50, 2.0)].iter().enumerate() {
            let population = ClientPopulation::new_zipf(count, s).unwrap();
            let n = 200_000;
            let c = counts(&population, n, 7 + i as u64);
            let h: f64 = (1..=count).map(|k| f64::from(k).powf(-s)).sum();
            for rank in [1u32, 2, 10] {
                let p = f64::from(rank).powf(-s) / h;
                let expected = p * n as f64;
                let se = (n as f64 * p * (1.0 - p)).sqrt();
                let got = c[rank as usize - 1] as f64;
                assert!(
                    (got - expected).abs() <= 5.0 * se,
                    "zipf({count}, {s}) rank {rank}: {got} vs {expected} (SE {se})"
                );
            }
        }
    }

    #[test]
    fn uniform_covers_every_client_evenly() {
        // 100 clients × 2000 expected each; binomial SE ≈ 44.5; every bin within 5 SE.
        let population = ClientPopulation::new_uniform(100).unwrap();
        let n = 200_000;
        let c = counts(&population, n, 3);
        let expected = n as f64 / 100.0;
        let se = (expected * 0.99).sqrt();
        for (id, &k) in c.iter().enumerate() {
            assert!((k as f64 - expected).abs() <= 5.0 * se, "client {id}: {k}");
        }
    }

    #[test]
    fn a_single_client_is_always_zero() {
        for population in [ClientPopulation::new_uniform(1).unwrap(), ClientPopulation::new_zipf(1, 1.0).unwrap()] {
            assert!(counts(&population, 1000, 1)[0] == 1000);
        }
    }

    #[test]
    fn address_text_is_dotted_decimal() {
        for address in [[10, 1, 2, 3], [255, 255, 255, 255], [0, 0, 0, 0], [192, 168, 100, 9]] {
            let (text, len) = address_text(address);
            let expected = format!("{}.{}.{}.{}", address[0], address[1], address[2], address[3]);
            assert_eq!(std::str::from_utf8(&text[..len]).unwrap(), expected);
        }
    }

    #[test]
    fn scattered_addresses_are_the_mixed_id() {
        let a = ClientAddresses::scattered();
        assert_eq!(a.of(7), ((splitmix64(7) >> 32) as u32).to_be_bytes());
        assert_ne!(a.of(7), a.of(8));
    }

    #[test]
    fn subnets_confine_clients_to_k_networks() {
        let a = ClientAddresses::in_subnets(5).unwrap();
        let mut networks: Vec<[u8; 3]> = (0..10_000).map(|c| a.of(c)).map(|x| [x[0], x[1], x[2]]).collect();
        networks.sort_unstable();
        networks.dedup();
        assert_eq!(networks.len(), 5, "10000 clients fill exactly the 5 networks: {networks:?}");
        // Each network holds about a fifth of the clients (binomial, within 5 SE).
        let share = (0..10_000u32).filter(|&c| a.of(c)[..3] == networks[0]).count() as f64;
        assert!((share - 2000.0).abs() <= 5.0 * (10_000.0f64 * 0.2 * 0.8).sqrt(), "{share}");
        // Distinct prefixes for all 2²⁴ network numbers (the bijection).
        let mut seen = vec![false; MAX_SUBNETS as usize];
        for network in 0..MAX_SUBNETS {
            let prefix = network_prefix(network) as usize;
            assert!(!seen[prefix], "network {network} repeats prefix {prefix}");
            seen[prefix] = true;
        }
        assert!(ClientAddresses::in_subnets(0).unwrap_err().what.contains("between 1 and"));
        assert!(ClientAddresses::in_subnets(MAX_SUBNETS + 1).is_err());
    }

    #[test]
    fn invalid_populations_are_explained() {
        assert!(ClientPopulation::new_uniform(0).unwrap_err().what.contains("count must be ≥ 1"));
        assert!(ClientPopulation::new_zipf(0, 1.0).unwrap_err().what.contains("count must be ≥ 1"));
        assert!(ClientPopulation::new_zipf(10, 0.0).unwrap_err().what.contains("s must be"));
        assert!(ClientPopulation::new_zipf(10, f64::NAN).unwrap_err().what.contains("s must be"));
        assert_eq!(ClientPopulation::new_zipf(10, 1.2).unwrap().describe(), "zipf(10 clients, s 1.2)");
    }
}
