//! The client population: who sends requests (what ip_hash and consistent hashing hash).

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
                format!(
                    "zipf({count} clients, s {})",
                    crate::units::significant(*s, 3)
                )
            }
        }
    }

    /// A sampler for client ids in `0..count` (rank 1 of Zipf is client 0).
    ///
    /// Zipf uses rand_distr's rejection-inversion sampler (Hörmann & Derflinger): O(1)
    /// expected time per draw and no table, whatever the count.
    pub fn sampler(&self) -> ClientSampler {
        let inner = match self {
            ClientPopulation::Uniform { count } => Inner::Uniform {
                count: (*count).max(1),
            },
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
        for (i, &(count, s)) in [(1000u32, 1.1), (100_000, 0.8), (50, 2.0)]
            .iter()
            .enumerate()
        {
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
        for population in [
            ClientPopulation::new_uniform(1).unwrap(),
            ClientPopulation::new_zipf(1, 1.0).unwrap(),
        ] {
            assert!(counts(&population, 1000, 1)[0] == 1000);
        }
    }

    #[test]
    fn invalid_populations_are_explained() {
        assert!(
            ClientPopulation::new_uniform(0)
                .unwrap_err()
                .what
                .contains("count must be ≥ 1")
        );
        assert!(
            ClientPopulation::new_zipf(0, 1.0)
                .unwrap_err()
                .what
                .contains("count must be ≥ 1")
        );
        assert!(
            ClientPopulation::new_zipf(10, 0.0)
                .unwrap_err()
                .what
                .contains("s must be")
        );
        assert!(
            ClientPopulation::new_zipf(10, f64::NAN)
                .unwrap_err()
                .what
                .contains("s must be")
        );
        assert_eq!(
            ClientPopulation::new_zipf(10, 1.2).unwrap().describe(),
            "zipf(10 clients, s 1.2)"
        );
    }
}
