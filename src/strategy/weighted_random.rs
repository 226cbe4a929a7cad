//! `weighted_random`: each request to a backend chosen at random with probability
//! proportional to its weight.

use rand::RngExt;
use rand_xoshiro::Xoshiro256PlusPlus;

use super::slow_start::{self, RampWatch, SlowStart};
use super::{BackendInfo, Cluster, Needs, ParamSpec, PickCost, Setup, Shares, Strategy, StrategyError};
use crate::model::Request;

/// Weighted random dispatch: backend i is chosen with probability wᵢ / Σⱼ wⱼ, independently
/// of everything else (weights default to capacities, so each backend sees Poisson traffic
/// in proportion to what it can do). No ties arise.
///
/// Sampling is O(1) with Walker's alias table (Vose's construction): draw a column k
/// uniformly, keep k with probability `keep[k]`, otherwise take `alias[k]`.
///
/// With `slow_start` (a textbook ramp: nginx itself refuses `slow_start` with `random`),
/// while a backend that came back ramps (linearly from 1 %, nginx Plus's ramp), the draw is
/// instead one uniform number over the ramped weights' cumulative sum, O(n) but only during
/// a ramp.
#[derive(Debug)]
pub struct WeightedRandom {
    rng: Xoshiro256PlusPlus,
    keep: Vec<f64>,
    alias: Vec<u32>,
    weights: Vec<f64>,
    slow_start: Option<SlowStart>,
    watch: RampWatch,
}

impl WeightedRandom {
    /// Builds the alias table for `weights` (finite and positive, at least one).
    pub(crate) fn new(weights: &[f64], rng: Xoshiro256PlusPlus) -> Self {
        let (keep, alias) = alias_table(weights);
        WeightedRandom { rng, keep, alias, weights: weights.to_vec(), slow_start: None, watch: RampWatch::default() }
    }

    /// A draw with probability proportional to each backend's ramped weight at `now`.
    fn pick_ramped<C: Cluster + ?Sized>(&mut self, ramp: &SlowStart, now: f64, cluster: &C) -> usize {
        let ramped = |i: usize, w: f64| ramp.weight(w, now, cluster.up_since(i));
        let total: f64 = self.weights.iter().enumerate().map(|(i, &w)| ramped(i, w)).sum();
        let mut u = self.rng.random::<f64>() * total;
        for (i, &w) in self.weights.iter().enumerate() {
            u -= ramped(i, w);
            if u < 0.0 {
                return i;
            }
        }
        self.weights.len() - 1
    }
}

impl Strategy for WeightedRandom {
    const NAME: &'static str = "weighted_random";
    const SUMMARY: &'static str = "random backend with probability proportional to its weight (default: capacity)";
    const MODELS: &'static str = "nginx `random;` (one weighted draw)";
    const NEEDS: Needs = Needs::Nothing;
    // An alias table: one draw and one comparison whatever n.
    const PICK_COST: PickCost = PickCost::Constant;
    const PARAMS: &'static [ParamSpec] = &[slow_start::LINEAR_PARAM];

    fn build(setup: &Setup<'_>) -> Result<Self, StrategyError> {
        let weights = checked_weights(Self::NAME, setup.backends)?;
        let mut s = WeightedRandom::new(&weights, setup.rng.clone());
        s.slow_start = SlowStart::linear(setup.params)?;
        Ok(s)
    }

    /// In proportion to the weights (on backends that never fail, no slow start ramps).
    fn shares(setup: &Setup<'_>) -> Option<Shares> {
        checked_weights(Self::NAME, setup.backends).ok().map(Shares::drawn)
    }

    #[inline]
    fn pick<C: Cluster + ?Sized>(&mut self, request: &Request, cluster: &mut C) -> usize {
        if let Some(ramp) = self.slow_start
            && self.watch.ramping(&ramp, cluster, request.arrival)
        {
            return self.pick_ramped(&ramp, request.arrival, cluster);
        }
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
    fn slow_start_draws_in_proportion_to_the_ramped_weights() {
        use crate::strategy::{ParamValue, Params};
        let weights = [2.0, 1.0, 1.0];
        let mut s = WeightedRandom::new(&weights, rng(9));
        s.slow_start = SlowStart::linear(&Params::new("s").with("slow_start", ParamValue::Number(10.0))).unwrap();
        let mut cluster = MockCluster::uniform(3);
        // Backend 2 came back at t = 4 s: at t = 6.5 s it counts for a quarter of its weight.
        cluster.up = vec![f64::NEG_INFINITY, f64::NEG_INFINITY, 4.0];
        let at = crate::model::Request { arrival: 6.5, ..request(0, 1.0) };
        let mut counts = [0u64; 3];
        for _ in 0..100_000 {
            counts[s.pick(&at, &mut cluster)] += 1;
        }
        assert_proportional(&counts, &[2.0, 1.0, 0.25]);
        // Once the window is over the alias table draws again, in proportion to the weights.
        let later = crate::model::Request { arrival: 20.0, ..at };
        let mut counts = [0u64; 3];
        for _ in 0..100_000 {
            counts[s.pick(&later, &mut cluster)] += 1;
        }
        assert_proportional(&counts, &weights);
    }

    #[test]
    fn rejects_bad_weights() {
        let infos = [weighted("a", 1.0), weighted("b", 0.0)];
        assert!(matches!(checked_weights("weighted_random", &infos), Err(StrategyError::Unsupported { .. })));
        assert!(checked_weights("weighted_random", &[]).is_err());
    }
}
