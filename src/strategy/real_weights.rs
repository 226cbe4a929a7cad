//! Weights as a real balancer reads them, shared by the strategies named after nginx,
//! HAProxy and Envoy.
//!
//! Textbook strategies weigh backends by `weight`, which defaults to capacity (workers ×
//! speed). A real balancer knows nothing of capacity: a server without `weight=` has weight
//! 1 (nginx `server … weight=`, HAProxy `server … weight`, Envoy
//! `load_balancing_weight`), and weights are whole numbers. The faithful strategies use the
//! weight the experiment file gives (`[[backends]] weight = 3`), or 1.

use super::weighted_random::require_backends;
use super::{BackendInfo, StrategyError};

/// The backends' weights as `system` reads them: the configured weight or 1, each a whole
/// number in `1..=max` (nginx and Envoy accept any positive integer, HAProxy 1–256 here:
/// its weight 0, "no new traffic", would never be picked).
pub(crate) fn real_weights(
    strategy: &str,
    system: &str,
    max: u32,
    backends: &[BackendInfo],
) -> Result<Vec<u32>, StrategyError> {
    require_backends(strategy, backends)?;
    backends
        .iter()
        .map(|b| match b.configured_weight {
            None => Ok(1),
            Some(w) if w.fract() == 0.0 && w >= 1.0 && w <= f64::from(max) => Ok(w as u32),
            Some(w) => Err(StrategyError::Unsupported {
                strategy: strategy.to_string(),
                what: format!(
                    "backend \"{}\" has weight {w}; {system} weights are whole numbers from 1 to {max} \
                     (a backend without weight has weight 1, as in {system})",
                    b.name
                ),
            }),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testing::{backend, weighted};

    #[test]
    fn unset_weights_are_one_and_set_ones_must_be_whole() {
        let infos = [backend("a", 4, 2.0), weighted("b", 3.0)];
        assert_eq!(real_weights("x", "nginx", u32::MAX, &infos).unwrap(), [1, 3]);
        let bad = [weighted("a", 1.5)];
        let e = real_weights("x", "nginx", u32::MAX, &bad).unwrap_err().to_string();
        assert!(e.contains("whole numbers from 1"), "{e}");
        assert!(real_weights("x", "HAProxy", 256, &[weighted("a", 257.0)]).is_err());
    }
}
