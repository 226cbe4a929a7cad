//! Request sizes: the work a request needs, in seconds on a speed-1.0 worker.

use std::sync::Arc;

use rand::distr::Distribution;
use rand::{Rng, RngExt};
use rand_distr::{Exp1, Gamma, LogNormal};
use statrs::function::erf::erfc;
use statrs::function::gamma::{gamma_lr, ln_gamma};

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
    Gamma { dist: Gamma<f64>, shape: f64, scale: f64 },
    /// exp(N(μ, σ²)).
    Lognormal { dist: LogNormal<f64>, mu: f64, sigma: f64 },
    /// Weibull with shape k and scale λ, sampled as λ × Exp(1)^(1/k); `mean` and `cv` are
    /// precomputed from Γ.
    Weibull { shape: f64, scale: f64, inv_shape: f64, mean: f64, cv: f64 },
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
    Mixture { cumulative: Vec<f64>, components: Vec<ServiceDistribution>, mean: f64, second_moment: f64 },
    /// Uniform resampling, with replacement, of observed sizes.
    Empirical { samples: Arc<[f64]>, mean: f64, second_moment: f64 },
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
        Err(ModelError::new(format!("{dist}: {name} must be a finite number > 0 (got {value})")))
    }
}

/// `value` must be finite (any sign).
fn finite(dist: &str, name: &str, value: f64) -> Result<f64, ModelError> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(ModelError::new(format!("{dist}: {name} must be a finite number (got {value})")))
    }
}

/// Smallest shape of a gamma or Weibull distribution. Both draw a size as a power 1/k of a
/// uniform or exponential variate, which is below 10⁻³⁰⁰ of the scale with probability about
/// 10^(−300·k): at k = 0.05 one draw in 10¹⁵, but at k = 10⁻³ (a gamma with cv ≈ 32) half of
/// them underflow to 0 s, and a request of no work has no slowdown (0/0 = NaN). Gamma
/// arrival gaps obey the same bound (see `ArrivalProcess::gamma`).
pub(crate) const MIN_SHAPE: f64 = 0.05;

/// Smallest and largest Weibull shape `weibull_mean_cv` searches: they bound the cv to about
/// [0.0013, 3.7e5], far beyond any sensible request-size distribution.
const WEIBULL_SHAPE_RANGE: (f64, f64) = (MIN_SHAPE, 1000.0);

/// Squared cv of a Weibull with shape k: Γ(1 + 2/k) / Γ(1 + 1/k)² − 1, computed as an
/// `exp_m1` of log-gammas so that it stays accurate when it is tiny (large k).
fn weibull_scv(shape: f64) -> f64 {
    (ln_gamma(1.0 + 2.0 / shape) - 2.0 * ln_gamma(1.0 + 1.0 / shape)).exp_m1()
}

/// `x` rounded to 3 significant digits towards the inside of a range: up for its lower
/// bound, down for its upper one.
fn round_inwards(x: f64, up: bool) -> f64 {
    let step = 10f64.powi(x.abs().log10().floor() as i32 - 2);
    if up { (x / step).ceil() * step } else { (x / step).floor() * step }
}

/// E[X^j] of the bounded Pareto on [min, max] with tail α, `mass` = 1 − (min/max)^α.
/// Written in terms of the ratio R = max/min so that nothing overflows for small `min`:
/// E[X^j] = α/mass × min^j × ∫₁^R y^(j−α−1) dy.
fn bounded_pareto_moment(alpha: f64, min: f64, max: f64, mass: f64, j: f64) -> f64 {
    let ratio = max / min;
    let d = j - alpha;
    let integral = if d.abs() < 1e-12 { ratio.ln() } else { (ratio.powf(d) - 1.0) / d };
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
            return Err(ModelError::new(format!("uniform: min must be ≥ 0 (got {min}); sizes cannot be negative")));
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
        Ok(ServiceDistribution::Uniform { min: mean - half, max: mean + half })
    }

    /// Gamma with shape k and scale θ (mean kθ).
    pub fn gamma(shape: f64, scale: f64) -> Result<Self, ModelError> {
        let shape = positive("gamma", "shape", shape)?;
        let scale = positive("gamma", "scale", scale)?;
        if shape < MIN_SHAPE {
            return Err(ModelError::new(format!(
                "gamma: shape must be at least {MIN_SHAPE} (got {shape}): below it draws underflow to 0 s; \
                 use lognormal, bounded_pareto or a mixture for a heavier tail"
            )));
        }
        let dist = Gamma::new(shape, scale)
            .map_err(|e| ModelError::new(format!("gamma: invalid shape {shape} / scale {scale}: {e}")))?;
        Ok(ServiceDistribution::Gamma { dist, shape, scale })
    }

    /// Gamma with the given mean and cv (shape 1/cv², scale mean·cv²).
    pub fn gamma_mean_cv(mean: f64, cv: f64) -> Result<Self, ModelError> {
        let mean = positive("gamma", "mean", mean)?;
        let cv = positive("gamma", "cv", cv)?;
        // The shape is 1/cv²: the same bound as `gamma`'s, stated as the cv the user wrote.
        let max_cv = MIN_SHAPE.sqrt().recip();
        if cv > max_cv {
            return Err(ModelError::new(format!(
                "gamma: cv must be at most {} (got {cv}): its shape 1/cv² would be below {MIN_SHAPE}, where draws \
                 underflow to 0 s; use lognormal, bounded_pareto or a mixture for a larger cv",
                significant(max_cv, 3)
            )));
        }
        let scv = cv * cv;
        // (At cv = max_cv, 1/cv² may round just below MIN_SHAPE.)
        Self::gamma((1.0 / scv).max(MIN_SHAPE), mean * scv)
    }

    /// Lognormal with parameters μ, σ (> 0) of the underlying normal.
    pub fn lognormal(mu: f64, sigma: f64) -> Result<Self, ModelError> {
        let mu = finite("lognormal", "mu", mu)?;
        let sigma = positive("lognormal", "sigma", sigma)?;
        let dist = LogNormal::new(mu, sigma)
            .map_err(|e| ModelError::new(format!("lognormal: invalid mu {mu} / sigma {sigma}: {e}")))?;
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
        let (k_lo, k_hi) = WEIBULL_SHAPE_RANGE;
        if !(k_lo..=k_hi).contains(&shape) {
            // Below 0.05 the cv exceeds 10⁵: no run of realistic length samples the tail
            // that carries the mean, so every figure would describe another distribution.
            return Err(ModelError::new(format!(
                "weibull: shape must be between {k_lo} and {k_hi} (got {shape}), a cv between {} and {}; use \
                 bounded_pareto or a mixture for a heavier tail, deterministic or uniform for a lighter one",
                significant(round_inwards(weibull_scv(k_hi).sqrt(), true), 3),
                significant(round_inwards(weibull_scv(k_lo).sqrt(), false), 3)
            )));
        }
        let mean = scale * ln_gamma(1.0 + 1.0 / shape).exp();
        let cv = weibull_scv(shape).max(0.0).sqrt();
        if !(mean.is_finite() && cv.is_finite()) {
            return Err(ModelError::new(format!(
                "weibull: shape {shape} is too small (its moments overflow); use a shape ≥ {}",
                WEIBULL_SHAPE_RANGE.0
            )));
        }
        Ok(ServiceDistribution::Weibull { shape, scale, inv_shape: 1.0 / shape, mean, cv })
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
            // The same bound as `weibull`'s on the shape, stated as the cv the user wrote
            // (rounded inwards, so that both figures shown are accepted).
            return Err(ModelError::new(format!(
                "weibull: cv must be between {} and {} (got {cv}), the cvs of shapes {k_hi} to {k_lo}; use \
                 deterministic or uniform for a smaller cv, bounded_pareto or a mixture for a larger one",
                significant(round_inwards(scv_min.sqrt(), true), 3),
                significant(round_inwards(scv_max.sqrt(), false), 3)
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
        // (Rounding may leave exp(ln k) a hair outside the range the cv was checked against:
        // the shape must not then be refused in terms of a shape the user never wrote.)
        let shape = (0.5 * (lo + hi)).exp().clamp(k_lo, k_hi);
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
            return Err(ModelError::new(format!("bounded_pareto: min must be < max (got min {min}, max {max})")));
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
        Ok(ServiceDistribution::BoundedPareto { alpha, min, max, mass, mean, second_moment })
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
        Ok(ServiceDistribution::Hyperexponential { p, mean1: mean / (2.0 * p), mean2: mean / (2.0 * (1.0 - p)) })
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
        Ok(ServiceDistribution::Mixture { cumulative, components, mean, second_moment })
    }

    /// Resampling (uniformly, with replacement) from observed sizes (all finite and > 0).
    pub fn empirical(samples: Arc<[f64]>) -> Result<Self, ModelError> {
        if samples.is_empty() {
            return Err(ModelError::new("empirical: needs at least one observed size"));
        }
        if let Some((i, v)) = samples.iter().enumerate().find(|(_, v)| !(v.is_finite() && **v > 0.0)) {
            return Err(ModelError::new(format!("empirical: size {} must be a finite number > 0 (got {v})", i + 1)));
        }
        let n = samples.len() as f64;
        let mean = samples.iter().sum::<f64>() / n;
        let second_moment = samples.iter().map(|v| v * v).sum::<f64>() / n;
        Ok(ServiceDistribution::Empirical { samples, mean, second_moment })
    }

    /// Draws one request size. Never allocates.
    ///
    /// The exponential draw is inlined into the caller (the run loop draws a size per
    /// request, and the call would cost as much as the draw); the others are a call away.
    #[inline(always)]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        if let ServiceDistribution::Exponential { mean } = self {
            let e: f64 = Exp1.sample(rng);
            mean * e
        } else {
            self.sample_other(rng)
        }
    }

    /// Fills `sizes` with the next draws, as as many calls of [`ServiceDistribution::sample`]
    /// would (the same draws in the same order), in a loop that keeps the generator's state
    /// in registers.
    pub fn fill<R: Rng + Clone>(&self, rng: &mut R, sizes: &mut [f64]) {
        let mut local = rng.clone();
        if let ServiceDistribution::Exponential { mean } = self {
            // (The draws first, then the products: see `ArrivalStream::fill_poisson`.)
            fill_unit_exponential(&mut local, sizes);
            for slot in sizes {
                *slot *= mean;
            }
        } else {
            for slot in sizes {
                *slot = self.sample_other(&mut local);
            }
        }
        *rng = local;
    }

    /// [`ServiceDistribution::sample`] for every distribution but the exponential.
    #[inline(never)]
    fn sample_other<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match self {
            // (Drawn by `sample`, which tries it first.)
            ServiceDistribution::Exponential { .. } => self.sample(rng),
            ServiceDistribution::Deterministic { value } => *value,
            ServiceDistribution::Uniform { min, max } => min + (max - min) * rng.random::<f64>(),
            ServiceDistribution::Gamma { dist, .. } => dist.sample(rng),
            ServiceDistribution::Lognormal { dist, .. } => dist.sample(rng),
            ServiceDistribution::Weibull { scale, inv_shape, .. } => {
                let e: f64 = Exp1.sample(rng);
                scale * e.powf(*inv_shape)
            }
            ServiceDistribution::Pareto { alpha, min } => {
                let e: f64 = Exp1.sample(rng);
                min * (e / alpha).exp()
            }
            ServiceDistribution::BoundedPareto { alpha, min, max, mass, .. } => {
                let u: f64 = rng.random();
                (min * (1.0 - u * mass).powf(-1.0 / alpha)).min(*max)
            }
            ServiceDistribution::Hyperexponential { p, mean1, mean2 } => {
                let mean = if rng.random::<f64>() < *p { mean1 } else { mean2 };
                let e: f64 = Exp1.sample(rng);
                mean * e
            }
            ServiceDistribution::Mixture { cumulative, components, .. } => {
                let u: f64 = rng.random();
                let i = cumulative.partition_point(|&c| c <= u).min(components.len() - 1);
                components[i].sample(rng)
            }
            ServiceDistribution::Empirical { samples, .. } => samples[rng.random_range(0..samples.len())],
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
            ServiceDistribution::Hyperexponential { p, mean1, mean2 } => p * mean1 + (1.0 - p) * mean2,
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
            ServiceDistribution::Gamma { shape, scale, .. } => shape * (shape + 1.0) * scale * scale,
            ServiceDistribution::Lognormal { mu, sigma, .. } => (2.0 * mu + 2.0 * sigma * sigma).exp(),
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
                if !m2.is_finite() || !m.is_finite() { f64::INFINITY } else { (m2 / (m * m) - 1.0).max(0.0).sqrt() }
            }
        }
    }

    /// The partial mean E[S · 1{S ≤ x}]: the work per request carried by requests of size at
    /// most `x` (so `partial_mean(∞) = mean()`). Exact for every distribution: closed forms
    /// through the regularised incomplete gamma function and the normal CDF where needed, a
    /// weighted sum for mixtures, a sum over the observed sizes for an empirical distribution.
    /// Non-decreasing in `x`; it jumps at atoms (deterministic sizes, empirical samples).
    pub fn partial_mean(&self, x: f64) -> f64 {
        if x.is_nan() || x <= 0.0 {
            return 0.0;
        }
        if x == f64::INFINITY {
            return self.mean();
        }
        let exponential = |m: f64| m * (1.0 - (-x / m).exp() * (1.0 + x / m));
        match self {
            ServiceDistribution::Exponential { mean } => exponential(*mean),
            ServiceDistribution::Deterministic { value } => {
                if x >= *value {
                    *value
                } else {
                    0.0
                }
            }
            ServiceDistribution::Uniform { min, max } => {
                let x = x.clamp(*min, *max);
                if max > min { (x * x - min * min) / (2.0 * (max - min)) } else { *min }
            }
            ServiceDistribution::Gamma { shape, scale, .. } => shape * scale * gamma_lr(shape + 1.0, x / scale),
            ServiceDistribution::Lognormal { mu, sigma, .. } => {
                // E[S; S ≤ x] = e^(μ + σ²/2) Φ((ln x − μ − σ²)/σ), Φ(z) = erfc(−z/√2)/2.
                let z = (x.ln() - mu - sigma * sigma) / sigma;
                (mu + 0.5 * sigma * sigma).exp() * 0.5 * erfc(-z / std::f64::consts::SQRT_2)
            }
            ServiceDistribution::Weibull { shape, scale, mean, .. } => {
                mean * gamma_lr(1.0 + 1.0 / shape, (x / scale).powf(*shape))
            }
            ServiceDistribution::Pareto { alpha, min } => {
                if x <= *min {
                    return 0.0;
                }
                // α min^α ∫_min^x y^(−α) dy.
                let d = 1.0 - alpha;
                if d.abs() < 1e-12 { min * (x / min).ln() } else { alpha * min * ((x / min).powf(d) - 1.0) / d }
            }
            ServiceDistribution::BoundedPareto { alpha, min, max, mass, .. } => {
                if x <= *min {
                    return 0.0;
                }
                bounded_pareto_moment(*alpha, *min, x.min(*max), *mass, 1.0)
            }
            ServiceDistribution::Hyperexponential { p, mean1, mean2 } => {
                p * exponential(*mean1) + (1.0 - p) * exponential(*mean2)
            }
            ServiceDistribution::Mixture { cumulative, components, .. } => {
                let mut previous = 0.0;
                let mut sum = 0.0;
                for (c, component) in cumulative.iter().zip(components) {
                    sum += (c - previous) * component.partial_mean(x);
                    previous = *c;
                }
                sum
            }
            ServiceDistribution::Empirical { samples, .. } => {
                samples.iter().filter(|&&s| s <= x).sum::<f64>() / samples.len() as f64
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
            ServiceDistribution::Weibull { scale, inv_shape, .. } => Some(scale * tail.powf(*inv_shape)),
            ServiceDistribution::Pareto { alpha, min } => Some(min * (tail / alpha).exp()),
            ServiceDistribution::BoundedPareto { alpha, min, max, mass, .. } => {
                Some((min * (1.0 - p * mass).powf(-1.0 / alpha)).min(*max))
            }
            ServiceDistribution::Hyperexponential { p: p1, mean1, mean2 } => {
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
                format!("{}(mean {}, cv {})", self.kind(), d(self.mean()), cv(self.cv()))
            }
            ServiceDistribution::Pareto { alpha, min } => {
                format!(
                    "pareto(α {}, min {}, mean {})",
                    significant(*alpha, 3),
                    d(*min),
                    if self.mean().is_finite() { d(self.mean()) } else { "∞".to_string() }
                )
            }
            ServiceDistribution::BoundedPareto { alpha, min, max, mean, .. } => {
                format!("bounded_pareto(α {}, {}–{}, mean {})", significant(*alpha, 3), d(*min), d(*max), d(*mean))
            }
            ServiceDistribution::Mixture { cumulative, components, .. } => {
                let mut text = String::from("mixture(");
                let mut previous = 0.0;
                for (i, (c, comp)) in cumulative.iter().zip(components).enumerate() {
                    if i > 0 {
                        text.push_str(" + ");
                    }
                    text.push_str(&format!("{}% {}", significant(100.0 * (c - previous), 3), comp.describe()));
                    previous = *c;
                }
                text.push(')');
                text
            }
            ServiceDistribution::Empirical { samples, mean, .. } => {
                format!("empirical({} samples, mean {}, cv {})", samples.len(), d(*mean), cv(self.cv()))
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

/// Fills `slots` with unit exponential draws, in order (the draws of `Exp1.sample` one at a
/// time): four to a turn of the loop, so that the loop's own count and test are paid once
/// for four draws (the ziggurat's rare tail is a call, which keeps the compiler from
/// unrolling the loop itself).
#[inline(always)]
pub(crate) fn fill_unit_exponential<R: Rng>(rng: &mut R, slots: &mut [f64]) {
    let mut fours = slots.chunks_exact_mut(4);
    for four in &mut fours {
        for slot in four {
            *slot = Exp1.sample(rng);
        }
    }
    for slot in fours.into_remainder() {
        *slot = Exp1.sample(rng);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_xoshiro::Xoshiro256PlusPlus;

    const N: usize = 200_000;

    #[test]
    fn unit_exponentials_four_to_a_turn_are_the_draws_one_at_a_time() {
        for len in 0..=13 {
            let (mut four, mut one) = (Xoshiro256PlusPlus::seed_from_u64(9), Xoshiro256PlusPlus::seed_from_u64(9));
            let mut slots = vec![f64::NAN; len];
            fill_unit_exponential(&mut four, &mut slots);
            let each: Vec<f64> = (0..len).map(|_| Exp1.sample(&mut one)).collect();
            assert_eq!(
                slots.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                each.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
            );
            assert_eq!(four.random::<u64>(), one.random::<u64>(), "the same draws taken, {len}");
        }
    }

    fn rng(seed: u64) -> Xoshiro256PlusPlus {
        Xoshiro256PlusPlus::seed_from_u64(seed)
    }

    /// Samples N values and checks the sample mean within 5 standard errors of `mean()`
    /// (SE = mean·cv/√N from the closed-form cv). With `check_second`, also checks the sample
    /// second moment within 5 standard errors, computed from the theoretical 4th moment when
    /// given (`fourth`), else estimated from the sample itself (only meaningful for light
    /// tails: with a heavy tail the sample rarely sees the values that make E[S⁴]).
    fn check_moments(dist: &ServiceDistribution, seed: u64, check_second: bool, fourth: Option<f64>) {
        let mut rng = rng(seed);
        let (mut s1, mut s2, mut s4) = (0.0, 0.0, 0.0);
        for _ in 0..N {
            let x = dist.sample(&mut rng);
            assert!(x.is_finite() && x >= 0.0, "{}: sample {x}", dist.describe());
            s1 += x;
            s2 += x * x;
            s4 += x * x * x * x;
        }
        let n = N as f64;
        let (m1, m2) = (s1 / n, s2 / n);
        let se = dist.mean() * dist.cv() / n.sqrt();
        assert!(
            (m1 - dist.mean()).abs() <= 5.0 * se + 1e-9 * dist.mean(),
            "{}: sample mean {m1} vs {} (SE {se})",
            dist.describe(),
            dist.mean()
        );
        if check_second {
            let m4 = fourth.unwrap_or(s4 / n);
            let se2 = ((m4 - dist.second_moment().powi(2)).max(0.0) / n).sqrt();
            assert!(
                (m2 - dist.second_moment()).abs() <= 5.0 * se2 + 1e-9 * dist.second_moment(),
                "{}: sample E[S²] {m2} vs {} (SE {se2})",
                dist.describe(),
                dist.second_moment()
            );
        }
    }

    #[test]
    fn every_distribution_samples_its_moments() {
        let cases: Vec<(ServiceDistribution, bool)> = vec![
            (ServiceDistribution::exponential(0.01).unwrap(), true),
            (ServiceDistribution::deterministic(0.01).unwrap(), true),
            (ServiceDistribution::uniform(0.001, 0.003).unwrap(), true),
            (ServiceDistribution::uniform_mean_cv(0.01, 0.5).unwrap(), true),
            (ServiceDistribution::gamma_mean_cv(0.01, 0.5).unwrap(), true),
            (ServiceDistribution::gamma_mean_cv(0.01, 2.0).unwrap(), true),
            (ServiceDistribution::gamma(3.0, 0.002).unwrap(), true),
            (ServiceDistribution::lognormal_mean_cv(0.01, 0.5).unwrap(), true),
            (ServiceDistribution::lognormal_mean_cv(0.01, 2.0).unwrap(), false),
            (ServiceDistribution::weibull_mean_cv(0.01, 0.5).unwrap(), true),
            (ServiceDistribution::weibull_mean_cv(0.01, 2.0).unwrap(), true),
            (ServiceDistribution::pareto_mean(2.5, 0.01).unwrap(), false),
            (ServiceDistribution::pareto(5.0, 0.001).unwrap(), true),
            (ServiceDistribution::bounded_pareto(1.3, 0.001, 10.0).unwrap(), true),
            (ServiceDistribution::bounded_pareto(2.0, 0.001, 1.0).unwrap(), true),
            (ServiceDistribution::hyperexponential(0.01, 3.0).unwrap(), true),
            (ServiceDistribution::hyperexponential(0.01, 1.0).unwrap(), true),
            (
                ServiceDistribution::mixture(vec![
                    MixtureComponent { weight: 95.0, distribution: ServiceDistribution::exponential(0.001).unwrap() },
                    MixtureComponent { weight: 5.0, distribution: ServiceDistribution::deterministic(0.1).unwrap() },
                ])
                .unwrap(),
                true,
            ),
            (ServiceDistribution::empirical(Arc::from(vec![0.001, 0.002, 0.003, 0.01])).unwrap(), true),
        ];
        for (i, (dist, second)) in cases.iter().enumerate() {
            let fourth = match dist {
                ServiceDistribution::BoundedPareto { alpha, min, max, mass, .. } => {
                    Some(bounded_pareto_moment(*alpha, *min, *max, *mass, 4.0))
                }
                _ => None,
            };
            check_moments(dist, 1000 + i as u64, *second, fourth);
        }
    }

    #[test]
    fn mean_cv_constructors_hit_their_targets() {
        let close = |a: f64, b: f64, tol: f64| (a - b).abs() <= tol * b.abs().max(1e-300);
        let ln = ServiceDistribution::lognormal_mean_cv(0.01, 2.0).unwrap();
        assert!(close(ln.mean(), 0.01, 1e-12) && close(ln.cv(), 2.0, 1e-12), "{ln:?}");
        let g = ServiceDistribution::gamma_mean_cv(0.01, 0.25).unwrap();
        assert!(close(g.mean(), 0.01, 1e-12) && close(g.cv(), 0.25, 1e-12));
        let u = ServiceDistribution::uniform_mean_cv(0.01, 0.3).unwrap();
        assert!(close(u.mean(), 0.01, 1e-12) && close(u.cv(), 0.3, 1e-12));
        let full = ServiceDistribution::uniform_mean_cv(1.0, 1.0 / 3f64.sqrt()).unwrap();
        assert!(
            matches!(full, ServiceDistribution::Uniform { min, max } if min.abs() < 1e-12 && close(max, 2.0, 1e-12))
        );
        let h = ServiceDistribution::hyperexponential(0.01, 3.0).unwrap();
        assert!(close(h.mean(), 0.01, 1e-12) && close(h.cv(), 3.0, 1e-12));
        if let ServiceDistribution::Hyperexponential { p, mean1, mean2 } = h {
            assert!(close(p * mean1, (1.0 - p) * mean2, 1e-12), "means must be balanced");
        }
        let p = ServiceDistribution::pareto_mean(2.5, 0.01).unwrap();
        assert!(close(p.mean(), 0.01, 1e-12));
        assert!(close(p.cv(), (1.0 / (2.5 * 0.5f64)).sqrt(), 1e-12)); // cv² = 1/(α(α−2))
        assert_eq!(ServiceDistribution::pareto(2.0, 1.0).unwrap().second_moment(), f64::INFINITY);
        assert_eq!(ServiceDistribution::pareto(2.0, 1.0).unwrap().cv(), f64::INFINITY);
        assert_eq!(ServiceDistribution::pareto(1.0, 1.0).unwrap().mean(), f64::INFINITY);
    }

    #[test]
    fn weibull_mean_cv_round_trips() {
        for &cv in &[0.05, 0.2, 0.5, 1.0, 1.5, 2.0, 5.0, 20.0] {
            let w = ServiceDistribution::weibull_mean_cv(0.01, cv).unwrap();
            assert!((w.cv() - cv).abs() <= 1e-6 * cv, "cv {cv}: got {}", w.cv());
            assert!((w.mean() - 0.01).abs() <= 1e-12, "cv {cv}: mean {}", w.mean());
        }
        // cv 1 is the exponential: shape 1, scale = mean.
        if let ServiceDistribution::Weibull { shape, scale, .. } =
            ServiceDistribution::weibull_mean_cv(2.0, 1.0).unwrap()
        {
            assert!((shape - 1.0).abs() < 1e-9 && (scale - 2.0).abs() < 1e-9);
        } else {
            panic!("not a weibull");
        }
    }

    #[test]
    fn bounded_pareto_moments_match_numerical_integration() {
        for &(alpha, min, max) in &[(1.3, 0.001, 10.0), (1.0, 0.5, 50.0), (2.0, 1.0, 1e4), (0.7, 1e-6, 1.0)] {
            let d = ServiceDistribution::bounded_pareto(alpha, min, max).unwrap();
            // E[X^j] = ∫ x^j f(x) dx with f(x) = α min^α x^(−α−1) / (1 − (min/max)^α); substitute
            // x = e^y and integrate by Simpson's rule on a fine grid.
            let mass = 1.0 - (min / max).powf(alpha);
            let moment = |j: f64| {
                let (a, b) = (min.ln(), max.ln());
                let n = 20_000;
                let h = (b - a) / n as f64;
                let g = |y: f64| {
                    let x = y.exp();
                    x.powf(j) * alpha * (min / x).powf(alpha) / mass
                };
                let mut sum = g(a) + g(b);
                for i in 1..n {
                    sum += g(a + i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 };
                }
                sum * h / 3.0
            };
            assert!((d.mean() / moment(1.0) - 1.0).abs() < 1e-8, "α {alpha}: {} vs {}", d.mean(), moment(1.0));
            assert!((d.second_moment() / moment(2.0) - 1.0).abs() < 1e-8);
        }
    }

    #[test]
    fn partial_means_match_sampling_and_reach_the_mean() {
        use std::sync::Arc;
        let cases = [
            ServiceDistribution::exponential(2.0).unwrap(),
            ServiceDistribution::uniform(1.0, 3.0).unwrap(),
            ServiceDistribution::gamma_mean_cv(1.0, 0.5).unwrap(),
            ServiceDistribution::lognormal_mean_cv(1.0, 3.0).unwrap(),
            ServiceDistribution::weibull_mean_cv(1.0, 2.0).unwrap(),
            ServiceDistribution::pareto(2.5, 0.5).unwrap(),
            ServiceDistribution::bounded_pareto(1.1, 0.001, 10.0).unwrap(),
            ServiceDistribution::hyperexponential(1.0, 4.0).unwrap(),
            ServiceDistribution::mixture(vec![
                MixtureComponent { weight: 0.9, distribution: ServiceDistribution::exponential(0.1).unwrap() },
                MixtureComponent {
                    weight: 0.1,
                    distribution: ServiceDistribution::lognormal_mean_cv(2.0, 1.0).unwrap(),
                },
            ])
            .unwrap(),
            ServiceDistribution::empirical(Arc::from(vec![1.0, 2.0, 2.0, 7.0])).unwrap(),
        ];
        let mut rng = rng(17);
        for dist in &cases {
            let mean = dist.mean();
            assert!((dist.partial_mean(f64::INFINITY) / mean - 1.0).abs() < 1e-12, "{dist:?}");
            assert_eq!(dist.partial_mean(0.0), 0.0);
            // At the median: E[S; S ≤ x] from 400 000 draws, within 5 standard errors.
            let x = dist.quantile(0.5).unwrap_or(mean);
            let n = 400_000;
            let draws: Vec<f64> = (0..n).map(|_| dist.sample(&mut rng)).map(|s| if s <= x { s } else { 0.0 }).collect();
            let m = draws.iter().sum::<f64>() / n as f64;
            let sd = (draws.iter().map(|d| (d - m).powi(2)).sum::<f64>() / n as f64).sqrt();
            let exact = dist.partial_mean(x);
            assert!(
                (m - exact).abs() <= 5.0 * sd / (n as f64).sqrt() + 1e-12,
                "{}: sampled {m}, exact {exact}",
                dist.kind()
            );
        }
        let det = ServiceDistribution::deterministic(3.0).unwrap();
        assert_eq!((det.partial_mean(2.9), det.partial_mean(3.0)), (0.0, 3.0));
    }

    #[test]
    fn quantiles_invert_the_cdf() {
        let e = ServiceDistribution::exponential(2.0).unwrap();
        assert!((e.quantile(0.5).unwrap() - 2.0 * 2f64.ln()).abs() < 1e-12);
        let ln = ServiceDistribution::lognormal(0.3, 1.2).unwrap();
        assert!((ln.quantile(0.5).unwrap() - 0.3f64.exp()).abs() < 1e-9);
        let bp = ServiceDistribution::bounded_pareto(1.5, 1.0, 100.0).unwrap();
        assert_eq!(bp.quantile(0.0), Some(1.0));
        assert!((bp.quantile(1.0).unwrap() - 100.0).abs() < 1e-9);
        let h = ServiceDistribution::hyperexponential(1.0, 2.0).unwrap();
        let q = h.quantile(0.9).unwrap();
        if let ServiceDistribution::Hyperexponential { p, mean1, mean2 } = h {
            let survival = p * (-q / mean1).exp() + (1.0 - p) * (-q / mean2).exp();
            assert!((survival - 0.1).abs() < 1e-9);
        }
        let emp = ServiceDistribution::empirical(Arc::from(vec![4.0, 1.0, 3.0, 2.0])).unwrap();
        assert_eq!(emp.quantile(0.5), Some(2.0));
        assert_eq!(emp.quantile(1.0), Some(4.0));
        assert_eq!(e.quantile(1.5), None);
        assert_eq!(ServiceDistribution::gamma(2.0, 1.0).unwrap().quantile(0.5), None);
    }

    #[test]
    fn descriptions_and_kinds_read_well() {
        assert_eq!(ServiceDistribution::lognormal_mean_cv(0.01, 2.0).unwrap().describe(), "lognormal(mean 10ms, cv 2)");
        assert_eq!(ServiceDistribution::exponential(0.0125).unwrap().describe(), "exponential(mean 12.5ms)");
        let bp = ServiceDistribution::bounded_pareto(1.3, 0.001, 10.0).unwrap();
        assert!(bp.describe().starts_with("bounded_pareto(α 1.3, 1ms–10s, mean "), "{}", bp.describe());
        assert_eq!(bp.kind(), "bounded_pareto");
        let mix = ServiceDistribution::mixture(vec![
            MixtureComponent { weight: 19.0, distribution: ServiceDistribution::exponential(0.001).unwrap() },
            MixtureComponent { weight: 1.0, distribution: ServiceDistribution::deterministic(1.0).unwrap() },
        ])
        .unwrap();
        assert_eq!(mix.describe(), "mixture(95% exponential(mean 1ms) + 5% deterministic(1s))");
        assert_eq!(mix.kind(), "mixture");
        assert_eq!(ServiceDistribution::pareto(1.0, 0.001).unwrap().describe(), "pareto(α 1, min 1ms, mean ∞)");
    }

    #[test]
    fn implements_rand_distribution() {
        let d = ServiceDistribution::deterministic(0.5).unwrap();
        let mut r = rng(1);
        let v: f64 = rand::RngExt::sample(&mut r, &d);
        assert_eq!(v, 0.5);
    }

    #[test]
    fn invalid_parameters_are_explained() {
        let err = |r: Result<ServiceDistribution, ModelError>| r.unwrap_err().what;
        assert!(err(ServiceDistribution::exponential(0.0)).contains("mean must be a finite number > 0 (got 0)"));
        assert!(err(ServiceDistribution::exponential(f64::NAN)).contains("mean"));
        assert!(err(ServiceDistribution::deterministic(-1.0)).contains("value"));
        assert!(err(ServiceDistribution::uniform(2.0, 1.0)).contains("min must be < max"));
        assert!(err(ServiceDistribution::uniform(-1.0, 1.0)).contains("min must be ≥ 0"));
        assert!(err(ServiceDistribution::uniform_mean_cv(1.0, 0.7)).contains("1/√3"));
        assert!(err(ServiceDistribution::gamma(0.0, 1.0)).contains("shape"));
        assert!(err(ServiceDistribution::gamma(1.0, f64::INFINITY)).contains("scale"));
        assert!(err(ServiceDistribution::gamma_mean_cv(1.0, 0.0)).contains("cv"));
        assert!(err(ServiceDistribution::lognormal(f64::NAN, 1.0)).contains("mu"));
        assert!(err(ServiceDistribution::lognormal(0.0, 0.0)).contains("sigma"));
        assert!(err(ServiceDistribution::lognormal_mean_cv(1.0, -1.0)).contains("cv"));
        assert!(err(ServiceDistribution::weibull(-1.0, 1.0)).contains("shape"));
        assert!(err(ServiceDistribution::weibull_mean_cv(1.0, 1e9)).contains("cv must be between"));
        assert!(err(ServiceDistribution::pareto(1.5, 0.0)).contains("min"));
        assert!(err(ServiceDistribution::pareto_mean(1.0, 1.0)).contains("alpha must be > 1"));
        assert!(err(ServiceDistribution::bounded_pareto(1.5, 2.0, 1.0)).contains("min must be < max"));
        assert!(err(ServiceDistribution::bounded_pareto(0.0, 1.0, 2.0)).contains("alpha"));
        let h = err(ServiceDistribution::hyperexponential(1.0, 0.5));
        assert!(h.contains("cv ≥ 1 (got 0.5)") && h.contains("gamma or lognormal"), "{h}");
        assert!(err(ServiceDistribution::mixture(vec![])).contains("at least one"));
        let bad_weight =
            vec![MixtureComponent { weight: 0.0, distribution: ServiceDistribution::exponential(1.0).unwrap() }];
        assert!(err(ServiceDistribution::mixture(bad_weight)).contains("component 1 weight"));
        assert!(err(ServiceDistribution::empirical(Arc::from(Vec::<f64>::new()))).contains("at least one"));
        assert!(err(ServiceDistribution::empirical(Arc::from(vec![1.0, 0.0]))).contains("size 2"));
    }
}
