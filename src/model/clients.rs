//! The client population: who sends requests (what ip_hash and consistent hashing hash).

use rand::Rng;

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
        todo!("{count}")
    }

    /// Validates the parameters (count ≥ 1, s > 0 and finite).
    pub fn new_zipf(count: u32, s: f64) -> Result<Self, ModelError> {
        todo!("{count} {s}")
    }

    /// A sampler for client ids in `0..count` (rank 1 of Zipf is client 0).
    pub fn sampler(&self) -> ClientSampler {
        todo!()
    }
}

/// Draws client ids; built once per run, sampled once per request.
#[derive(Debug, Clone)]
pub struct ClientSampler {
    // filled in by the implementation
}

impl ClientSampler {
    /// The next request's client id.
    #[inline]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> u32 {
        let _ = rng;
        todo!()
    }
}
