//! Service-time distributions fitted to observed durations by maximum likelihood, and the
//! choice among them by Akaike's information criterion (AIC = 2·parameters − 2·log L: the
//! likelihood, penalised for the extra freedom of the mixture).
//!
//! - lognormal: closed-form MLE (mean and standard deviation of ln x);
//! - gamma: the shape solves ln k − ψ(k) = ln(mean x) − mean(ln x) (bisection: the left side
//!   decreases strictly), scale = mean ÷ shape;
//! - mixture of two lognormals: EM on ln x (a two-component Gaussian mixture), started by
//!   splitting the sample at its median, run until the log-likelihood gains less than 1e-10
//!   per observation.
//!
//! Likelihoods are densities of x (not ln x) for all three, so their AICs compare.

use statrs::function::erf::{erf, erf_inv};
use statrs::function::gamma::{digamma, gamma_lr, ln_gamma};

const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;

/// A fitted parametric distribution.
#[derive(Debug, Clone, PartialEq)]
pub enum Fitted {
    Lognormal {
        mu: f64,
        sigma: f64,
    },
    Gamma {
        shape: f64,
        scale: f64,
    },
    /// Components (weight, μ, σ) of a lognormal mixture; weights sum to 1.
    LognormalMixture {
        components: Vec<(f64, f64, f64)>,
    },
}

/// One candidate's fit: the distribution, its log-likelihood and AIC.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub fitted: Fitted,
    pub log_likelihood: f64,
    pub aic: f64,
}

impl Fitted {
    pub fn name(&self) -> &'static str {
        match self {
            Fitted::Lognormal { .. } => "lognormal",
            Fitted::Gamma { .. } => "gamma",
            Fitted::LognormalMixture { .. } => "mixture",
        }
    }

    /// Free parameters (for AIC).
    pub fn parameters(&self) -> usize {
        match self {
            Fitted::Lognormal { .. } | Fitted::Gamma { .. } => 2,
            Fitted::LognormalMixture { components } => 3 * components.len() - 1,
        }
    }

    pub fn mean(&self) -> f64 {
        match self {
            Fitted::Lognormal { mu, sigma } => (mu + sigma * sigma / 2.0).exp(),
            Fitted::Gamma { shape, scale } => shape * scale,
            Fitted::LognormalMixture { components } => {
                components.iter().map(|&(w, mu, sigma)| w * (mu + sigma * sigma / 2.0).exp()).sum()
            }
        }
    }

    /// Coefficient of variation.
    pub fn cv(&self) -> f64 {
        match self {
            Fitted::Lognormal { sigma, .. } => (sigma * sigma).exp_m1().sqrt(),
            Fitted::Gamma { shape, .. } => 1.0 / shape.sqrt(),
            Fitted::LognormalMixture { components } => {
                let second: f64 =
                    components.iter().map(|&(w, mu, sigma)| w * (2.0 * mu + 2.0 * sigma * sigma).exp()).sum();
                let mean = self.mean();
                (second / (mean * mean) - 1.0).max(0.0).sqrt()
            }
        }
    }

    pub fn cdf(&self, x: f64) -> f64 {
        if x <= 0.0 {
            return 0.0;
        }
        let normal = |mu: f64, sigma: f64| 0.5 * (1.0 + erf((x.ln() - mu) / (sigma * std::f64::consts::SQRT_2)));
        match self {
            Fitted::Lognormal { mu, sigma } => normal(*mu, *sigma),
            Fitted::Gamma { shape, scale } => gamma_lr(*shape, x / scale),
            Fitted::LognormalMixture { components } => components.iter().map(|&(w, mu, s)| w * normal(mu, s)).sum(),
        }
    }

    /// The p-quantile (0 < p < 1): closed form for the lognormal, bisection on the CDF
    /// otherwise.
    pub fn quantile(&self, p: f64) -> f64 {
        if let Fitted::Lognormal { mu, sigma } = self {
            return (mu + sigma * std::f64::consts::SQRT_2 * erf_inv(2.0 * p - 1.0)).exp();
        }
        let mut hi = self.mean().max(f64::MIN_POSITIVE);
        while self.cdf(hi) < p {
            hi *= 2.0;
        }
        let mut lo = 0.0;
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if self.cdf(mid) < p {
                lo = mid;
            } else {
                hi = mid;
            }
            if hi - lo <= hi * 1e-13 {
                break;
            }
        }
        0.5 * (lo + hi)
    }

    /// ln f(x) of one observation.
    pub fn log_density(&self, x: f64) -> f64 {
        let ln_x = x.ln();
        let normal = |mu: f64, sigma: f64| {
            let z = (ln_x - mu) / sigma;
            -0.5 * z * z - sigma.ln() - LN_SQRT_2PI - ln_x
        };
        match self {
            Fitted::Lognormal { mu, sigma } => normal(*mu, *sigma),
            Fitted::Gamma { shape, scale } => (shape - 1.0) * ln_x - x / scale - shape * scale.ln() - ln_gamma(*shape),
            Fitted::LognormalMixture { components } => {
                log_sum_exp(components.iter().map(|&(w, mu, sigma)| w.ln() + normal(mu, sigma)))
            }
        }
    }

    /// This distribution as the `[service]` keys of an experiment file (TOML lines).
    pub fn service_toml(&self) -> String {
        match self {
            Fitted::Lognormal { mu, sigma } => {
                format!("distribution = \"lognormal\"\nmu = {mu}\nsigma = {sigma}\n")
            }
            Fitted::Gamma { shape, scale } => format!("distribution = \"gamma\"\nshape = {shape}\nscale = {scale}\n"),
            Fitted::LognormalMixture { components } => {
                let parts: Vec<String> = components
                    .iter()
                    .map(|(w, mu, sigma)| {
                        format!("  {{ weight = {w}, distribution = \"lognormal\", mu = {mu}, sigma = {sigma} }},")
                    })
                    .collect();
                format!("distribution = \"mixture\"\ncomponents = [\n{}\n]\n", parts.join("\n"))
            }
        }
    }
}

fn log_sum_exp(terms: impl Iterator<Item = f64> + Clone) -> f64 {
    let max = terms.clone().fold(f64::NEG_INFINITY, f64::max);
    if max == f64::NEG_INFINITY {
        return max;
    }
    max + terms.map(|t| (t - max).exp()).sum::<f64>().ln()
}

fn candidate(fitted: Fitted, samples: &[f64]) -> Candidate {
    let log_likelihood: f64 = samples.iter().map(|&x| fitted.log_density(x)).sum();
    let aic = 2.0 * fitted.parameters() as f64 - 2.0 * log_likelihood;
    Candidate { fitted, log_likelihood, aic }
}

/// Mean and (maximum-likelihood, 1/n) standard deviation.
fn mean_sd(values: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let n = values.clone().count() as f64;
    let mean = values.clone().sum::<f64>() / n;
    let var = values.map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    (mean, var.sqrt())
}

pub fn fit_lognormal(samples: &[f64]) -> Candidate {
    let (mu, sigma) = mean_sd(samples.iter().map(|x| x.ln()));
    candidate(Fitted::Lognormal { mu, sigma: sigma.max(1e-12) }, samples)
}

pub fn fit_gamma(samples: &[f64]) -> Candidate {
    let n = samples.len() as f64;
    let mean = samples.iter().sum::<f64>() / n;
    let mean_ln = samples.iter().map(|x| x.ln()).sum::<f64>() / n;
    // s ≥ 0 by Jensen; s = 0 only when all samples are equal (shape → ∞).
    let s = (mean.ln() - mean_ln).max(1e-12);
    let f = |k: f64| k.ln() - digamma(k) - s;
    let (mut lo, mut hi) = (1e-6, 1.0);
    while f(hi) > 0.0 && hi < 1e12 {
        hi *= 2.0;
    }
    for _ in 0..200 {
        let mid = (lo * hi).sqrt();
        if f(mid) > 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi / lo < 1.0 + 1e-13 {
            break;
        }
    }
    let shape = (lo * hi).sqrt();
    candidate(Fitted::Gamma { shape, scale: mean / shape }, samples)
}

/// A two-component lognormal mixture by EM on ln x.
pub fn fit_mixture(samples: &[f64]) -> Candidate {
    let mut logs: Vec<f64> = samples.iter().map(|x| x.ln()).collect();
    let n = logs.len();
    let mut sorted = logs.clone();
    sorted.sort_by(f64::total_cmp);
    let (low, high) = sorted.split_at(n / 2);
    let start = |half: &[f64]| {
        let (m, s) = mean_sd(half.iter().copied());
        (0.5, m, s.max(1e-3))
    };
    let mut components = [start(low), start(high)];
    let mut responsibility = vec![0.0; n];
    let mut previous = f64::NEG_INFINITY;
    for _ in 0..2000 {
        // E step: the posterior probability that each observation came from component 0.
        let mut log_likelihood = 0.0;
        for (r, &y) in responsibility.iter_mut().zip(&logs) {
            let density = |&(w, mu, sigma): &(f64, f64, f64)| {
                let z = (y - mu) / sigma;
                w.ln() - 0.5 * z * z - sigma.ln() - LN_SQRT_2PI
            };
            let (a, b) = (density(&components[0]), density(&components[1]));
            let total = log_sum_exp([a, b].into_iter());
            *r = (a - total).exp();
            log_likelihood += total;
        }
        // M step: weighted means and standard deviations.
        for (j, component) in components.iter_mut().enumerate() {
            let weight_of = |r: f64| if j == 0 { r } else { 1.0 - r };
            let total: f64 = responsibility.iter().map(|&r| weight_of(r)).sum();
            if total < 1e-9 * n as f64 {
                continue;
            }
            let mu = responsibility.iter().zip(&logs).map(|(&r, &y)| weight_of(r) * y).sum::<f64>() / total;
            let var = responsibility.iter().zip(&logs).map(|(&r, &y)| weight_of(r) * (y - mu) * (y - mu)).sum::<f64>()
                / total;
            // A floor on σ keeps a component from collapsing onto one repeated value (logs
            // round durations to the millisecond), where the likelihood is unbounded.
            *component = (total / n as f64, mu, var.sqrt().max(1e-3));
        }
        if log_likelihood - previous < 1e-10 * n as f64 {
            break;
        }
        previous = log_likelihood;
    }
    logs.clear();
    components.sort_by(|a, b| a.1.total_cmp(&b.1));
    let weights: f64 = components.iter().map(|c| c.0).sum();
    let components = components.iter().map(|&(w, mu, sigma)| (w / weights, mu, sigma)).collect();
    candidate(Fitted::LognormalMixture { components }, samples)
}

/// Every candidate, best (lowest AIC) first. `samples` must be positive and finite.
///
/// A gamma whose shape the model refuses (below 0.05, where its draws underflow to 0 s:
/// samples spread over many decades) is no candidate: the `[service]` section `fit` writes
/// must load.
pub fn fit_all(samples: &[f64]) -> Vec<Candidate> {
    let mut all = vec![fit_lognormal(samples), fit_gamma(samples), fit_mixture(samples)];
    all.retain(|c| match c.fitted {
        Fitted::Gamma { shape, scale } => crate::model::ServiceDistribution::gamma(shape, scale).is_ok(),
        _ => true,
    });
    all.sort_by(|a, b| a.aic.total_cmp(&b.aic));
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_distr::Distribution;

    fn draw(dist: impl Distribution<f64>, n: usize, seed: u64) -> Vec<f64> {
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
        (0..n).map(|_| dist.sample(&mut rng)).collect()
    }

    #[test]
    fn lognormal_parameters_are_recovered() {
        let x = draw(rand_distr::LogNormal::new(-3.5, 0.8).unwrap(), 20000, 1);
        let Fitted::Lognormal { mu, sigma } = fit_lognormal(&x).fitted else { unreachable!() };
        // Standard errors: σ/√n = 0.0057 for μ, σ/√(2n) = 0.004 for σ; allow 4 of them.
        assert!((mu + 3.5).abs() < 0.023 && (sigma - 0.8).abs() < 0.016, "{mu} {sigma}");
    }

    #[test]
    fn no_gamma_the_model_would_refuse_is_offered() {
        // Lognormal σ = 8: samples over some twenty-five decades, whose gamma fit has a
        // shape near 0.03 (ln k − ψ(k) = σ²/2), below what a [service] section may give.
        let x = draw(rand_distr::LogNormal::new(-10.0, 8.0).unwrap(), 20000, 3);
        assert!(matches!(fit_gamma(&x).fitted, Fitted::Gamma { shape, .. } if shape < 0.05));
        let all = fit_all(&x);
        assert!(all.iter().all(|c| c.fitted.name() != "gamma"), "{:?}", all.iter().map(|c| c.fitted.name()));
    }

    #[test]
    fn gamma_parameters_are_recovered_and_win_on_gamma_data() {
        let x = draw(rand_distr::Gamma::new(2.5, 0.01).unwrap(), 20000, 2);
        let all = fit_all(&x);
        let gamma = all.iter().find(|c| c.fitted.name() == "gamma").unwrap();
        let Fitted::Gamma { shape, .. } = gamma.fitted else { unreachable!() };
        // The MLE of the shape has a standard error of about k·√(2/n)·1.1 ≈ 0.03 here.
        assert!((shape - 2.5).abs() < 0.12, "{shape}");
        // On gamma data the gamma beats the lognormal clearly; the mixture (3 more
        // parameters' worth of freedom) may come close but pays its penalty.
        let lognormal = all.iter().find(|c| c.fitted.name() == "lognormal").unwrap();
        assert!(gamma.aic < lognormal.aic - 100.0);
    }

    #[test]
    fn a_bimodal_sample_is_fitted_by_the_mixture() {
        let mut x = draw(rand_distr::LogNormal::new(-5.0, 0.3).unwrap(), 8000, 3);
        x.extend(draw(rand_distr::LogNormal::new(-2.0, 0.5).unwrap(), 2000, 4));
        let all = fit_all(&x);
        assert_eq!(all[0].fitted.name(), "mixture");
        let Fitted::LognormalMixture { components } = &all[0].fitted else { unreachable!() };
        assert!((components[0].0 - 0.8).abs() < 0.02 && (components[1].1 + 2.0).abs() < 0.05, "{components:?}");
    }

    #[test]
    fn quantiles_invert_the_cdf() {
        for fitted in [
            Fitted::Lognormal { mu: -3.0, sigma: 1.2 },
            Fitted::Gamma { shape: 0.7, scale: 0.05 },
            Fitted::LognormalMixture { components: vec![(0.3, -5.0, 0.4), (0.7, -2.5, 0.9)] },
        ] {
            for p in [0.01, 0.5, 0.9, 0.99, 0.999] {
                let q = fitted.quantile(p);
                assert!((fitted.cdf(q) - p).abs() < 1e-9, "{fitted:?} p {p}: cdf(q) = {}", fitted.cdf(q));
            }
        }
    }
}
