//! Request sizes: the work a request needs, in seconds on a speed-1.0 worker.

use std::sync::Arc;

use rand::Rng;

use super::ModelError;

/// A distribution of request sizes (work in seconds at speed 1.0).
///
/// Constructors validate their parameters and return a [`ModelError`] that says which
/// parameter is wrong and why; an invalid distribution can never reach the simulation loop.
#[derive(Debug, Clone)]
pub enum ServiceDistribution {
    // Variants are the implementation's choice; keep them cheap to sample (precomputed
    // constants, no allocation per sample).
    #[doc(hidden)]
    Todo,
}

/// One weighted component of a [`ServiceDistribution::mixture`].
#[derive(Debug, Clone)]
pub struct MixtureComponent {
    /// Relative weight (> 0); weights need not sum to 1.
    pub weight: f64,
    pub distribution: ServiceDistribution,
}

impl ServiceDistribution {
    /// Exponential with the given mean.
    pub fn exponential(mean: f64) -> Result<Self, ModelError> { todo!("{mean}") }
    /// Every request has exactly this size.
    pub fn deterministic(value: f64) -> Result<Self, ModelError> { todo!("{value}") }
    /// Uniform on [min, max].
    pub fn uniform(min: f64, max: f64) -> Result<Self, ModelError> { todo!("{min}{max}") }
    /// Uniform with the given mean and coefficient of variation (cv ≤ 1/√3).
    pub fn uniform_mean_cv(mean: f64, cv: f64) -> Result<Self, ModelError> { todo!("{mean}{cv}") }
    /// Gamma with shape k and scale θ (mean kθ).
    pub fn gamma(shape: f64, scale: f64) -> Result<Self, ModelError> { todo!("{shape}{scale}") }
    /// Gamma with the given mean and cv (shape 1/cv²).
    pub fn gamma_mean_cv(mean: f64, cv: f64) -> Result<Self, ModelError> { todo!("{mean}{cv}") }
    /// Lognormal with parameters μ, σ of the underlying normal.
    pub fn lognormal(mu: f64, sigma: f64) -> Result<Self, ModelError> { todo!("{mu}{sigma}") }
    /// Lognormal with the given mean and cv.
    pub fn lognormal_mean_cv(mean: f64, cv: f64) -> Result<Self, ModelError> { todo!("{mean}{cv}") }
    /// Weibull with shape k and scale λ.
    pub fn weibull(shape: f64, scale: f64) -> Result<Self, ModelError> { todo!("{shape}{scale}") }
    /// Weibull with the given mean and cv (shape found numerically).
    pub fn weibull_mean_cv(mean: f64, cv: f64) -> Result<Self, ModelError> { todo!("{mean}{cv}") }
    /// Pareto with tail index α and minimum (scale) x_m.
    pub fn pareto(alpha: f64, min: f64) -> Result<Self, ModelError> { todo!("{alpha}{min}") }
    /// Pareto with tail index α > 1 and the given mean.
    pub fn pareto_mean(alpha: f64, mean: f64) -> Result<Self, ModelError> { todo!("{alpha}{mean}") }
    /// Bounded Pareto with tail index α on [min, max].
    pub fn bounded_pareto(alpha: f64, min: f64, max: f64) -> Result<Self, ModelError> { todo!("{alpha}{min}{max}") }
    /// Two-phase hyperexponential with balanced means, given mean and cv ≥ 1.
    pub fn hyperexponential(mean: f64, cv: f64) -> Result<Self, ModelError> { todo!("{mean}{cv}") }
    /// Weighted mixture of other distributions (e.g. 95 % fast + 5 % slow).
    pub fn mixture(components: Vec<MixtureComponent>) -> Result<Self, ModelError> { todo!("{}", components.len()) }
    /// Resampling (uniformly, with replacement) from observed sizes.
    pub fn empirical(samples: Arc<[f64]>) -> Result<Self, ModelError> { todo!("{}", samples.len()) }

    /// Draws one request size.
    #[inline]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 { let _ = rng; todo!() }
    /// E[S].
    pub fn mean(&self) -> f64 { todo!() }
    /// E[S²] (infinite for a Pareto with α ≤ 2).
    pub fn second_moment(&self) -> f64 { todo!() }
    /// Coefficient of variation √Var[S] / E[S].
    pub fn cv(&self) -> f64 { todo!() }
    /// Short human description, e.g. `lognormal(mean 10ms, cv 2)`.
    pub fn describe(&self) -> String { todo!() }
    /// The distribution's name as written in experiment files (`"exponential"`, …).
    pub fn kind(&self) -> &'static str { todo!() }
}
