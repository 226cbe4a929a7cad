//! Request sizes: the work a request needs, in seconds on a speed-1.0 worker.

use std::sync::Arc;

use rand::distr::Distribution;
use rand::{Rng, RngExt};
use rand_distr::{Exp1, Gamma, LogNormal};
use statrs::function::gamma::ln_gamma;

use super::ModelError;
use crate::units::{format_duration, significant};

/// A distribution of request sizes (work in seconds at speed 1.0).
///
/// Constructors validate their parameters and return a [`ModelError`] that says which
/// parameter is wrong and why; an invalid distribution can never reach the simulation loop.
/// Build values through the constructors ([`ServiceDistribution::exponential`], …): the
/// variants hold precomputed constants that the constructors keep consistent.
///
/// Moments are exact (closed forms); a moment that diverges is `f64::INFINITY` (a Pareto
/// with α ≤ 1 has an infinite mean, with α ≤ 2 an infinite second moment).
#[derive(Debug, Clone)]
pub enum ServiceDistribution {
    /// Exponential with the given mean (sampled as mean × Exp(1), ziggurat).
    Exponential { mean: f64 },
    /// Always `value`.
    Deterministic { value: f64 },
    /// Uniform on [min, max].
    Uniform { min: f64, max: f64 },
    /// Gamma with shape k and scale θ.
    Gamma {
        dist: Gamma<f64>,
        shape: f64,
        scale: f64,
    },
    /// exp(N(μ, σ²)).
    Lognormal {
        dist: LogNormal<f64>,
        mu: f64,
        sigma: f64,
    },
    /// Weibull with shape k and scale λ, sampled as λ × Exp(1)^(1/k); `mean` and `cv` are
    /// precomputed from Γ.
    Weibull {
        shape: f64,
        scale: f64,
        inv_shape: f64,
        mean: f64,
        cv: f64,
    },
    /// Pareto with P(S > x) = (min/x)^α for x ≥ min, sampled as min × exp(Exp(1)/α).
    Pareto { alpha: f64, min: f64 },
    /// Pareto with tail index α truncated to [min, max], sampled by inverse CDF:
    /// x = min × (1 − u·(1 − (min/max)^α))^(−1/α).
    BoundedPareto {
        alpha: f64,
        min: f64,
        max: f64,
        /// 1 − (min/max)^α: the probability mass of the untruncated Pareto below `max`.
        mass: f64,
        mean: f64,
        second_moment: f64,
    },
    /// With probability `p` Exp(mean `mean1`), else Exp(mean `mean2`); balanced means
    /// (p·mean1 = (1 − p)·mean2).
    Hyperexponential { p: f64, mean1: f64, mean2: f64 },
    /// Component i is chosen with probability cumulative[i] − cumulative[i − 1]
    /// (`cumulative` is normalised, its last entry is exactly 1).
    Mixture {
        cumulative: Vec<f64>,
        components: Vec<ServiceDistribution>,
        mean: f64,
        second_moment: f64,
    },
    /// Uniform resampling, with replacement, of observed sizes.
    Empirical {
        samples: Arc<[f64]>,
        mean: f64,
        second_moment: f64,
    },
}

/// One weighted component of a [`ServiceDistribution::mixture`].
#[derive(Debug, Clone)]
pub struct MixtureComponent {
    /// Relative weight (> 0); weights need not sum to 1.
    pub weight: f64,
    pub distribution: ServiceDistribution,
}

/// `value` must be finite and > 0.
fn positive(dist: &str, name: &str, value: f64) -> Result<f64, ModelError> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(ModelError::new(format!(
            "{dist}: {name} must be a finite number > 0 (got {value})"
        )))
    }
}

/// `value` must be finite (any sign).
fn finite(dist: &str, name: &str, value: f64) -> Result<f64, ModelError> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(ModelError::new(format!(
            "{dist}: {name} must be a finite number (got {value})"
        )))
    }
}

/// Smallest and largest Weibull shape `weibull_mean_cv` searches: they bound the cv to about
/// [0.0013, 3.7e5], far beyond any sensible request-size distribution.
const WEIBULL_SHAPE_RANGE: (f64, f64) = (0.05, 1000.0);

/// Squared cv of a Weibull with shape k: Γ(1 + 2/k) / Γ(1 + 1/k)² − 1, computed as an
/// `exp_m1` of log-gammas so that it stays accurate when it is tiny (large k).
fn weibull_scv(shape: f64) -> f64 {
    (ln_gamma(1.0 + 2.0 / shape) - 2.0 * ln_gamma(1.0 + 1.0 / shape)).exp_m1()
}

/// E[X^j] of the bounded Pareto on [min, max] with tail α, `mass` = 1 − (min/max)^α.
/// Written in terms of the ratio R = max/min so that nothing overflows for small `min`:
/// E[X^j] = α/mass × min^j × ∫₁^R y^(j−α−1) dy.
fn bounded_pareto_moment(alpha: f64, min: f64, max: f64, mass: f64, j: f64) -> f64 {
    let ratio = max / min;
    let d = j - alpha;
    let integral = if d.abs() < 1e-12 {
        ratio.ln()
    } else {
        (ratio.powf(d) - 1.0) / d
    };
    alpha / mass * min.powf(j) * integral
}

impl ServiceDistribution {
    /// Exponential with the given mean.
    pub fn exponential(mean: f64) -> Result<Self, ModelError> {
        let mean = positive("exponential", "mean", mean)?;
        Ok(ServiceDistribution::Exponential { mean })
    }

    /// Every request has exactly this size.
    pub fn deterministic(value: f64) -> Result<Self, ModelError> {
        let value = positive("deterministic", "value", value)?;
        Ok(ServiceDistribution::Deterministic { value })
    }

    /// Uniform on [min, max] (0 ≤ min < max).
    pub fn uniform(min: f64, max: f64) -> Result<Self, ModelError> {
        let min = finite("uniform", "min", min)?;
        let max = positive("uniform", "max", max)?;
        if min < 0.0 {
            return Err(ModelError::new(format!(
                "uniform: min must be ≥ 0 (got {min}); sizes cannot be negative"
            )));
        }
        if min >= max {
            return Err(ModelError::new(format!(
                "uniform: min must be < max (got min {min}, max {max}); use deterministic for a constant size"
            )));
        }
        Ok(ServiceDistribution::Uniform { min, max })
    }

    /// Uniform with the given mean and coefficient of variation (0 < cv ≤ 1/√3): the interval
    /// is mean × (1 ∓ √3·cv), and 1/√3 ≈ 0.577 is the cv of uniform on [0, 2·mean].
    pub fn uniform_mean_cv(mean: f64, cv: f64) -> Result<Self, ModelError> {
        let mean = positive("uniform", "mean", mean)?;
        let max_cv = 1.0 / 3f64.sqrt();
        if !(cv.is_finite() && cv > 0.0 && cv <= max_cv * (1.0 + 1e-12)) {
            return Err(ModelError::new(format!(
                "uniform: cv must be in (0, 1/√3 ≈ 0.577] (got {cv}); use deterministic for cv 0, \
                 or gamma or lognormal for a larger cv"
            )));
        }
        let half = (mean * cv * 3f64.sqrt()).min(mean);
        Ok(ServiceDistribution::Uniform {
            min: mean - half,
            max: mean + half,
        })
    }

    /// Gamma with shape k and scale θ (mean kθ).
    pub fn gamma(shape: f64, scale: f64) -> Result<Self, ModelError> {
        let shape = positive("gamma", "shape", shape)?;
        let scale = positive("gamma", "scale", scale)?;
        let dist = Gamma::new(shape, scale).map_err(|e| {
            ModelError::new(format!("gamma: invalid shape {shape} / scale {scale}: {e}"))
        })?;
        Ok(ServiceDistribution::Gamma { dist, shape, scale })
    }

    /// Gamma with the given mean and cv (shape 1/cv², scale mean·cv²).
    pub fn gamma_mean_cv(mean: f64, cv: f64) -> Result<Self, ModelError> {
        let mean = positive("gamma", "mean", mean)?;
        let cv = positive("gamma", "cv", cv)?;
        let scv = cv * cv;
        Self::gamma(1.0 / scv, mean * scv)
    }

    /// Lognormal with parameters μ, σ (> 0) of the underlying normal.
    pub fn lognormal(mu: f64, sigma: f64) -> Result<Self, ModelError> {
        let mu = finite("lognormal", "mu", mu)?;
        let sigma = positive("lognormal", "sigma", sigma)?;
        let dist = LogNormal::new(mu, sigma).map_err(|e| {
            ModelError::new(format!("lognormal: invalid mu {mu} / sigma {sigma}: {e}"))
        })?;
        Ok(ServiceDistribution::Lognormal { dist, mu, sigma })
    }

    /// Lognormal with the given mean and cv: σ² = ln(1 + cv²), μ = ln(mean) − σ²/2.
    pub fn lognormal_mean_cv(mean: f64, cv: f64) -> Result<Self, ModelError> {
        let mean = positive("lognormal", "mean", mean)?;
        let cv = positive("lognormal", "cv", cv)?;
        let sigma2 = (cv * cv).ln_1p();
        Self::lognormal(mean.ln() - sigma2 / 2.0, sigma2.sqrt())
    }

    /// Weibull with shape k and scale λ (mean λΓ(1 + 1/k)).
    pub fn weibull(shape: f64, scale: f64) -> Result<Self, ModelError> {
        let shape = positive("weibull", "shape", shape)?;
        let scale = positive("weibull", "scale", scale)?;
        let mean = scale * ln_gamma(1.0 + 1.0 / shape).exp();
        let cv = weibull_scv(shape).max(0.0).sqrt();
        if !(mean.is_finite() && cv.is_finite()) {
            return Err(ModelError::new(format!(
                "weibull: shape {shape} is too small (its moments overflow); use a shape ≥ {}",
                WEIBULL_SHAPE_RANGE.0
            )));
        }
        Ok(ServiceDistribution::Weibull {
            shape,
            scale,
            inv_shape: 1.0 / shape,
            mean,
            cv,
        })
    }

    /// Weibull with the given mean and cv. The shape k solves cv(k) = cv by bisection on ln k
    /// (cv(k) is strictly decreasing); k = 1 is exponential, k < 1 heavier-tailed.
    pub fn weibull_mean_cv(mean: f64, cv: f64) -> Result<Self, ModelError> {
        let mean = positive("weibull", "mean", mean)?;
        let cv = positive("weibull", "cv", cv)?;
        let (k_lo, k_hi) = WEIBULL_SHAPE_RANGE;
        let target = cv * cv;
        let (scv_max, scv_min) = (weibull_scv(k_lo), weibull_scv(k_hi));
        if !(target >= scv_min && target <= scv_max) {
            return Err(ModelError::new(format!(
                "weibull: cv must be between {} and {} (got {cv}); use deterministic or uniform for \
                 a smaller cv, bounded_pareto or a mixture for a larger one",
                significant(scv_min.sqrt(), 3),
                significant(scv_max.sqrt(), 3)
            )));
        }
        let (mut lo, mut hi) = (k_lo.ln(), k_hi.ln());
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if weibull_scv(mid.exp()) > target {
                lo = mid;
            } else {
                hi = mid;
            }
            if hi - lo < 1e-15 {
                break;
            }
        }
        let shape = (0.5 * (lo + hi)).exp();
        let scale = mean / ln_gamma(1.0 + 1.0 / shape).exp();
        Self::weibull(shape, scale)
    }

    /// Pareto with tail index α and minimum (scale) x_m. The mean is infinite for α ≤ 1 and
    /// the variance for α ≤ 2: consider bounded_pareto for a heavy but finite tail.
    pub fn pareto(alpha: f64, min: f64) -> Result<Self, ModelError> {
        let alpha = positive("pareto", "alpha", alpha)?;
        let min = positive("pareto", "min", min)?;
        Ok(ServiceDistribution::Pareto { alpha, min })
    }

    /// Pareto with tail index α > 1 and the given mean (x_m = mean·(α − 1)/α).
    pub fn pareto_mean(alpha: f64, mean: f64) -> Result<Self, ModelError> {
        let alpha = positive("pareto", "alpha", alpha)?;
        let mean = positive("pareto", "mean", mean)?;
        if alpha <= 1.0 {
            return Err(ModelError::new(format!(
                "pareto: alpha must be > 1 for the mean to be finite (got {alpha}); give min instead \
                 of mean, or use bounded_pareto"
            )));
        }
        Self::pareto(alpha, mean * (alpha - 1.0) / alpha)
    }

    /// Bounded Pareto with tail index α on [min, max] (0 < min < max).
    pub fn bounded_pareto(alpha: f64, min: f64, max: f64) -> Result<Self, ModelError> {
        let alpha = positive("bounded_pareto", "alpha", alpha)?;
        let min = positive("bounded_pareto", "min", min)?;
        let max = positive("bounded_pareto", "max", max)?;
        if min >= max {
            return Err(ModelError::new(format!(
                "bounded_pareto: min must be < max (got min {min}, max {max})"
            )));
        }
        let mass = -(alpha * (min / max).ln()).exp_m1();
        if !(mass > 0.0 && mass.is_finite()) {
            return Err(ModelError::new(format!(
                "bounded_pareto: max/min = {} is too close to 1 for alpha {alpha}; widen the range \
                 or use uniform",
                max / min
            )));
        }
        let mean = bounded_pareto_moment(alpha, min, max, mass, 1.0);
        let second_moment = bounded_pareto_moment(alpha, min, max, mass, 2.0);
        Ok(ServiceDistribution::BoundedPareto {
            alpha,
            min,
            max,
            mass,
            mean,
            second_moment,
        })
    }

    /// Two-phase hyperexponential with balanced means, given mean and cv ≥ 1:
    /// p = (1 + √((cv² − 1)/(cv² + 1)))/2, mean1 = mean/(2p), mean2 = mean/(2(1 − p)).
    pub fn hyperexponential(mean: f64, cv: f64) -> Result<Self, ModelError> {
        let mean = positive("hyperexponential", "mean", mean)?;
        if !(cv.is_finite() && cv >= 1.0) {
            return Err(ModelError::new(format!(
                "hyperexponential needs a finite cv ≥ 1 (got {cv}); use gamma or lognormal for cv < 1"
            )));
        }
        let scv = cv * cv;
        let p = 0.5 * (1.0 + ((scv - 1.0) / (scv + 1.0)).sqrt());
        Ok(ServiceDistribution::Hyperexponential {
            p,
            mean1: mean / (2.0 * p),
            mean2: mean / (2.0 * (1.0 - p)),
        })
    }

    /// Weighted mixture of other distributions (e.g. 95 % fast + 5 % slow).
    pub fn mixture(components: Vec<MixtureComponent>) -> Result<Self, ModelError> {
        if components.is_empty() {
            return Err(ModelError::new("mixture: needs at least one component"));
        }
        for (i, c) in components.iter().enumerate() {
            if !(c.weight.is_finite() && c.weight > 0.0) {
                return Err(ModelError::new(format!(
                    "mixture: component {} weight must be a finite number > 0 (got {}); drop the \
                     component instead of giving it weight 0",
                    i + 1,
                    c.weight
                )));
            }
        }
        let total: f64 = components.iter().map(|c| c.weight).sum();
        let mut cumulative = Vec::with_capacity(components.len());
        let (mut acc, mut mean, mut second_moment) = (0.0, 0.0, 0.0);
        for c in &components {
            let w = c.weight / total;
            acc += w;
            cumulative.push(acc);
            mean += w * c.distribution.mean();
            second_moment += w * c.distribution.second_moment();
        }
        if let Some(last) = cumulative.last_mut() {
            *last = 1.0;
        }
        let components = components.into_iter().map(|c| c.distribution).collect();
        Ok(ServiceDistribution::Mixture {
            cumulative,
            components,
            mean,
            second_moment,
        })
    }

    /// Resampling (uniformly, with replacement) from observed sizes (all finite and > 0).
    pub fn empirical(samples: Arc<[f64]>) -> Result<Self, ModelError> {
        if samples.is_empty() {
            return Err(ModelError::new(
                "empirical: needs at least one observed size",
            ));
        }
        if let Some((i, v)) = samples
            .iter()
            .enumerate()
            .find(|(_, v)| !(v.is_finite() && **v > 0.0))
        {
            return Err(ModelError::new(format!(
                "empirical: size {} must be a finite number > 0 (got {v})",
                i + 1
            )));
        }
        let n = samples.len() as f64;
        let mean = samples.iter().sum::<f64>() / n;
        let second_moment = samples.iter().map(|v| v * v).sum::<f64>() / n;
        Ok(ServiceDistribution::Empirical {
            samples,
            mean,
            second_moment,
        })
    }

    /// Draws one request size. Never allocates.
    #[inline]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match self {
            ServiceDistribution::Exponential { mean } => {
                let e: f64 = Exp1.sample(rng);
                mean * e
            }
            ServiceDistribution::Deterministic { value } => *value,
            ServiceDistribution::Uniform { min, max } => min + (max - min) * rng.random::<f64>(),
            ServiceDistribution::Gamma { dist, .. } => dist.sample(rng),
            ServiceDistribution::Lognormal { dist, .. } => dist.sample(rng),
            ServiceDistribution::Weibull {
                scale, inv_shape, ..
            } => {
                let e: f64 = Exp1.sample(rng);
                scale * e.powf(*inv_shape)
            }
            ServiceDistribution::Pareto { alpha, min } => {
                let e: f64 = Exp1.sample(rng);
                min * (e / alpha).exp()
            }
            ServiceDistribution::BoundedPareto {
                alpha,
                min,
                max,
                mass,
                ..
            } => {
                let u: f64 = rng.random();
                (min * (1.0 - u * mass).powf(-1.0 / alpha)).min(*max)
            }
            ServiceDistribution::Hyperexponential { p, mean1, mean2 } => {
                let mean = if rng.random::<f64>() < *p {
                    mean1
                } else {
                    mean2
                };
                let e: f64 = Exp1.sample(rng);
                mean * e
            }
            ServiceDistribution::Mixture {
                cumulative,
                components,
                ..
            } => {
                let u: f64 = rng.random();
                let i = cumulative
                    .partition_point(|&c| c <= u)
                    .min(components.len() - 1);
                components[i].sample(rng)
            }
            ServiceDistribution::Empirical { samples, .. } => {
                samples[rng.random_range(0..samples.len())]
            }
        }
    }

    /// E[S] (infinite for a Pareto with α ≤ 1).
    pub fn mean(&self) -> f64 {
        match self {
            ServiceDistribution::Exponential { mean } => *mean,
            ServiceDistribution::Deterministic { value } => *value,
            ServiceDistribution::Uniform { min, max } => 0.5 * (min + max),
            ServiceDistribution::Gamma { shape, scale, .. } => shape * scale,
            ServiceDistribution::Lognormal { mu, sigma, .. } => (mu + 0.5 * sigma * sigma).exp(),
            ServiceDistribution::Weibull { mean, .. } => *mean,
            ServiceDistribution::Pareto { alpha, min } => {
                if *alpha > 1.0 {
                    alpha * min / (alpha - 1.0)
                } else {
                    f64::INFINITY
                }
            }
            ServiceDistribution::BoundedPareto { mean, .. } => *mean,
            ServiceDistribution::Hyperexponential { p, mean1, mean2 } => {
                p * mean1 + (1.0 - p) * mean2
            }
            ServiceDistribution::Mixture { mean, .. } => *mean,
            ServiceDistribution::Empirical { mean, .. } => *mean,
        }
    }

    /// E[S²] (infinite for a Pareto with α ≤ 2).
    pub fn second_moment(&self) -> f64 {
        match self {
            ServiceDistribution::Exponential { mean } => 2.0 * mean * mean,
            ServiceDistribution::Deterministic { value } => value * value,
            ServiceDistribution::Uniform { min, max } => (min * min + min * max + max * max) / 3.0,
            ServiceDistribution::Gamma { shape, scale, .. } => {
                shape * (shape + 1.0) * scale * scale
            }
            ServiceDistribution::Lognormal { mu, sigma, .. } => {
                (2.0 * mu + 2.0 * sigma * sigma).exp()
            }
            ServiceDistribution::Weibull { mean, cv, .. } => mean * mean * (1.0 + cv * cv),
            ServiceDistribution::Pareto { alpha, min } => {
                if *alpha > 2.0 {
                    alpha * min * min / (alpha - 2.0)
                } else {
                    f64::INFINITY
                }
            }
            ServiceDistribution::BoundedPareto { second_moment, .. } => *second_moment,
            ServiceDistribution::Hyperexponential { p, mean1, mean2 } => {
                2.0 * (p * mean1 * mean1 + (1.0 - p) * mean2 * mean2)
            }
            ServiceDistribution::Mixture { second_moment, .. } => *second_moment,
            ServiceDistribution::Empirical { second_moment, .. } => *second_moment,
        }
    }

    /// Coefficient of variation √Var[S] / E[S] (infinite when the second moment is).
    /// Closed forms where they avoid the cancellation in E[S²]/E[S]² − 1.
    pub fn cv(&self) -> f64 {
        match self {
            ServiceDistribution::Exponential { .. } => 1.0,
            ServiceDistribution::Deterministic { .. } => 0.0,
            ServiceDistribution::Uniform { min, max } => (max - min) / (3f64.sqrt() * (min + max)),
            ServiceDistribution::Gamma { shape, .. } => 1.0 / shape.sqrt(),
            ServiceDistribution::Lognormal { sigma, .. } => (sigma * sigma).exp_m1().sqrt(),
            ServiceDistribution::Weibull { cv, .. } => *cv,
            _ => {
                let (m, m2) = (self.mean(), self.second_moment());
                if !m2.is_finite() || !m.is_finite() {
                    f64::INFINITY
                } else {
                    (m2 / (m * m) - 1.0).max(0.0).sqrt()
                }
            }
        }
    }

    /// The p-quantile (0 ≤ p ≤ 1) where it has a closed form or a cheap numerical
    /// solution; `None` for gamma, mixtures and p outside [0, 1]. For an empirical
    /// distribution, the lower quantile of the samples (sorts a copy: not for hot paths).
    pub fn quantile(&self, p: f64) -> Option<f64> {
        if !(0.0..=1.0).contains(&p) {
            return None;
        }
        let tail = -(-p).ln_1p(); // −ln(1 − p): the Exp(1) quantile
        match self {
            ServiceDistribution::Exponential { mean } => Some(mean * tail),
            ServiceDistribution::Deterministic { value } => Some(*value),
            ServiceDistribution::Uniform { min, max } => Some(min + p * (max - min)),
            ServiceDistribution::Lognormal { mu, sigma, .. } => {
                let z = 2f64.sqrt() * statrs::function::erf::erf_inv(2.0 * p - 1.0);
                Some((mu + sigma * z).exp())
            }
            ServiceDistribution::Weibull {
                scale, inv_shape, ..
            } => Some(scale * tail.powf(*inv_shape)),
            ServiceDistribution::Pareto { alpha, min } => Some(min * (tail / alpha).exp()),
            ServiceDistribution::BoundedPareto {
                alpha,
                min,
                max,
                mass,
                ..
            } => Some((min * (1.0 - p * mass).powf(-1.0 / alpha)).min(*max)),
            ServiceDistribution::Hyperexponential {
                p: p1,
                mean1,
                mean2,
            } => {
                // CDF is increasing in x: bisect 1 − F(x) = p1 e^(−x/m1) + p2 e^(−x/m2) = 1 − p.
                if p >= 1.0 {
                    return Some(f64::INFINITY);
                }
                let survival = |x: f64| p1 * (-x / mean1).exp() + (1.0 - p1) * (-x / mean2).exp();
                let (mut lo, mut hi) = (0.0, mean1.max(*mean2) * (tail + 1.0) * 2.0);
                for _ in 0..200 {
                    let mid = 0.5 * (lo + hi);
                    if survival(mid) > 1.0 - p {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                }
                Some(0.5 * (lo + hi))
            }
            ServiceDistribution::Empirical { samples, .. } => {
                let mut sorted = samples.to_vec();
                sorted.sort_by(f64::total_cmp);
                let i = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
                Some(sorted[i])
            }
            ServiceDistribution::Gamma { .. } | ServiceDistribution::Mixture { .. } => None,
        }
    }

    /// Short human description, e.g. `lognormal(mean 10ms, cv 2)`.
    pub fn describe(&self) -> String {
        let d = format_duration;
        let cv = |c: f64| significant(c, 3);
        match self {
            ServiceDistribution::Exponential { mean } => format!("exponential(mean {})", d(*mean)),
            ServiceDistribution::Deterministic { value } => format!("deterministic({})", d(*value)),
            ServiceDistribution::Uniform { min, max } => {
                format!("uniform({}–{})", d(*min), d(*max))
            }
            ServiceDistribution::Gamma { .. }
            | ServiceDistribution::Lognormal { .. }
            | ServiceDistribution::Weibull { .. }
            | ServiceDistribution::Hyperexponential { .. } => {
                format!(
                    "{}(mean {}, cv {})",
                    self.kind(),
                    d(self.mean()),
                    cv(self.cv())
                )
            }
            ServiceDistribution::Pareto { alpha, min } => {
                format!(
                    "pareto(α {}, min {}, mean {})",
                    significant(*alpha, 3),
                    d(*min),
                    d(self.mean())
                )
            }
            ServiceDistribution::BoundedPareto {
                alpha,
                min,
                max,
                mean,
                ..
            } => {
                format!(
                    "bounded_pareto(α {}, {}–{}, mean {})",
                    significant(*alpha, 3),
                    d(*min),
                    d(*max),
                    d(*mean)
                )
            }
            ServiceDistribution::Mixture {
                cumulative,
                components,
                ..
            } => {
                let mut text = String::from("mixture(");
                let mut previous = 0.0;
                for (i, (c, comp)) in cumulative.iter().zip(components).enumerate() {
                    if i > 0 {
                        text.push_str(" + ");
                    }
                    text.push_str(&format!(
                        "{}% {}",
                        significant(100.0 * (c - previous), 3),
                        comp.describe()
                    ));
                    previous = *c;
                }
                text.push(')');
                text
            }
            ServiceDistribution::Empirical { samples, mean, .. } => {
                format!(
                    "empirical({} samples, mean {}, cv {})",
                    samples.len(),
                    d(*mean),
                    cv(self.cv())
                )
            }
        }
    }

    /// The distribution's name as written in experiment files (`"exponential"`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            ServiceDistribution::Exponential { .. } => "exponential",
            ServiceDistribution::Deterministic { .. } => "deterministic",
            ServiceDistribution::Uniform { .. } => "uniform",
            ServiceDistribution::Gamma { .. } => "gamma",
            ServiceDistribution::Lognormal { .. } => "lognormal",
            ServiceDistribution::Weibull { .. } => "weibull",
            ServiceDistribution::Pareto { .. } => "pareto",
            ServiceDistribution::BoundedPareto { .. } => "bounded_pareto",
            ServiceDistribution::Hyperexponential { .. } => "hyperexponential",
            ServiceDistribution::Mixture { .. } => "mixture",
            ServiceDistribution::Empirical { .. } => "empirical",
        }
    }
}

impl Distribution<f64> for ServiceDistribution {
    #[inline]
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        ServiceDistribution::sample(self, rng)
    }
}
