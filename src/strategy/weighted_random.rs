//! `weighted_random`: each request to a backend chosen at random with probability
//! proportional to its weight.

use rand::RngExt;
use rand_xoshiro::Xoshiro256PlusPlus;

use super::{BackendInfo, Cluster, Needs, Setup, Strategy, StrategyError};
use crate::model::Request;

/// Weighted random dispatch: backend i is chosen with probability wᵢ / Σⱼ wⱼ, independently
/// of everything else (weights default to capacities, so each backend sees Poisson traffic
/// in proportion to what it can do). No ties arise.
///
/// Sampling is O(1) with Walker's alias table (Vose's construction): draw a column k
/// uniformly, keep k with probability `keep[k]`, otherwise take `alias[k]`.
#[derive(Debug)]
pub struct WeightedRandom {
    rng: Xoshiro256PlusPlus,
    keep: Vec<f64>,
    alias: Vec<u32>,
}

impl WeightedRandom {
    /// Builds the alias table for `weights` (finite and positive, at least one).
    pub(crate) fn new(weights: &[f64], rng: Xoshiro256PlusPlus) -> Self {
        let (keep, alias) = alias_table(weights);
        WeightedRandom { rng, keep, alias }
    }
}

impl Strategy for WeightedRandom {
    const NAME: &'static str = "weighted_random";
    const SUMMARY: &'static str = "random backend with probability proportional to its weight (default: capacity)";
    const MODELS: &'static str = "nginx `random;` (one weighted draw)";
    const NEEDS: Needs = Needs::Nothing;

    fn build(setup: &Setup<'_>) -> Result<Self, StrategyError> {
        let weights = checked_weights(Self::NAME, setup.backends)?;
        Ok(WeightedRandom::new(&weights, setup.rng.clone()))
    }

    #[inline]
    fn pick<C: Cluster + ?Sized>(&mut self, _request: &Request, _cluster: &mut C) -> usize {
        let column = super::uniform_index(&mut self.rng, self.keep.len());
        if self.rng.random::<f64>() < self.keep[column] { column } else { self.alias[column] as usize }
    }
}

/// Vose's alias method: returns (keep probability, alias) per column such that choosing a
/// column uniformly and then keeping it with its probability (else taking its alias)
/// yields index i with probability wᵢ / Σ w.
fn alias_table(weights: &[f64]) -> (Vec<f64>, Vec<u32>) {
    let n = weights.len();
    let total: f64 = weights.iter().sum();
    let mut scaled: Vec<f64> = weights.iter().map(|w| w * n as f64 / total).collect();
    let mut keep = vec![1.0; n];
    let mut alias: Vec<u32> = (0..n as u32).collect();
    let mut small: Vec<usize> = (0..n).filter(|&i| scaled[i] < 1.0).collect();
    let mut large: Vec<usize> = (0..n).filter(|&i| scaled[i] >= 1.0).collect();
    while let (Some(&s), Some(&l)) = (small.last(), large.last()) {
        small.pop();
        keep[s] = scaled[s];
        alias[s] = l as u32;
        scaled[l] -= 1.0 - scaled[s];
        if scaled[l] < 1.0 {
            large.pop();
            small.push(l);
        }
    }
    // Whatever is left has probability 1 up to rounding: keep it (already 1.0).
    (keep, alias)
}

/// The backends' weights, checked to be usable by a weighted strategy: at least one
/// backend, every weight finite and positive.
pub(crate) fn checked_weights(strategy: &str, backends: &[BackendInfo]) -> Result<Vec<f64>, StrategyError> {
    require_backends(strategy, backends)?;
    if let Some(b) = backends.iter().find(|b| !(b.weight.is_finite() && b.weight > 0.0)) {
        return Err(StrategyError::Unsupported {
            strategy: strategy.to_string(),
            what: format!("backend \"{}\" has weight {}; weights must be positive numbers", b.name, b.weight),
        });
    }
    Ok(backends.iter().map(|b| b.weight).collect())
}

/// Fails unless there is at least one backend and the count fits the strategies' `u32`
/// indices.
pub(crate) fn require_backends(strategy: &str, backends: &[BackendInfo]) -> Result<(), StrategyError> {
    if backends.is_empty() || backends.len() > u32::MAX as usize {
        return Err(StrategyError::Unsupported {
            strategy: strategy.to_string(),
            what: format!("needs between 1 and {} backends, got {}", u32::MAX, backends.len()),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testing::{MockCluster, assert_proportional, request, rng, weighted};

    #[test]
    fn alias_table_is_exact() {
        let weights = [5.0, 1.0, 2.5, 0.5, 1.0];
        let (keep, alias) = alias_table(&weights);
        // Probability of index i = (keep[i] + Σ_{k: alias[k]=i} (1 − keep[k])) / n.
        let n = weights.len() as f64;
        let total: f64 = weights.iter().sum();
        for (i, w) in weights.iter().enumerate() {
            let mut p = keep[i];
            for k in 0..weights.len() {
                if alias[k] as usize == i && k != i {
                    p += 1.0 - keep[k];
                }
            }
            assert!((p / n - w / total).abs() < 1e-12, "index {i}: {} vs {}", p / n, w / total);
        }
    }

    #[test]
    fn frequencies_are_proportional_to_weights() {
        let weights = [4.0, 1.0, 2.0, 0.5];
        let infos: Vec<_> = weights.iter().enumerate().map(|(i, &w)| weighted(&format!("b{i}"), w)).collect();
        let mut s = WeightedRandom::new(&checked_weights("weighted_random", &infos).unwrap(), rng(7));
        let mut cluster = MockCluster::from_backends(&infos);
        let mut counts = [0u64; 4];
        for _ in 0..200_000 {
            counts[s.pick(&request(0, 1.0), &mut cluster)] += 1;
        }
        assert_proportional(&counts, &weights);
        assert!(cluster.queried.is_empty(), "weighted_random must not look at backend state");
    }

    #[test]
    fn rejects_bad_weights() {
        let infos = [weighted("a", 1.0), weighted("b", 0.0)];
        assert!(matches!(checked_weights("weighted_random", &infos), Err(StrategyError::Unsupported { .. })));
        assert!(checked_weights("weighted_random", &[]).is_err());
    }
}
