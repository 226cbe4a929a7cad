//! Point estimates with 95 % confidence intervals.
//!
//! Two ways to get independent-ish observations of a metric: several replications (each
//! gives one value), or one long replication cut into sections (batch means). Either way the
//! interval is `centre ± t₀.₉₇₅,ₖ₋₁ · s / √k` over the k observations (Student t from `statrs`).

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

/// A measured value with its 95 % confidence interval. With a single observation, or a
/// quantity that does not vary, the interval collapses to the value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    #[serde(deserialize_with = "f64_or_nan")]
    pub value: f64,
    #[serde(deserialize_with = "f64_or_nan")]
    pub ci_low: f64,
    #[serde(deserialize_with = "f64_or_nan")]
    pub ci_high: f64,
}

impl Estimate {
    /// An exact value (no interval).
    pub fn exact(value: f64) -> Self {
        Estimate { value, ci_low: value, ci_high: value }
    }

    /// A value whose interval cannot be given honestly (e.g. a tail quantile of a run with
    /// too few exceedances): the bounds are NaN (`null` in JSON, empty in CSV).
    pub fn without_interval(value: f64) -> Self {
        Estimate { value, ci_low: f64::NAN, ci_high: f64::NAN }
    }

    /// True when the estimate carries an interval (bounds are numbers).
    pub fn has_interval(&self) -> bool {
        self.ci_low.is_finite() && self.ci_high.is_finite()
    }

    /// The estimate from `observations` (one per replication or per section), centred on
    /// `centre`: the overall estimate (for sections, the ratio estimator over the whole
    /// window, which is less biased than the mean of section ratios; for replications, their
    /// mean). Non-finite observations (e.g. an empty section) are ignored.
    pub fn from_observations(centre: f64, observations: &[f64]) -> Self {
        let xs: Vec<f64> = observations.iter().copied().filter(|x| x.is_finite()).collect();
        let k = xs.len();
        if k < 2 || !centre.is_finite() {
            return Estimate::exact(centre);
        }
        let mean = xs.iter().sum::<f64>() / k as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (k - 1) as f64;
        let half = student_t_quantile(0.975, (k - 1) as f64) * (var / k as f64).sqrt();
        Estimate { value: centre, ci_low: centre - half, ci_high: centre + half }
    }

    /// The mean of `observations` with its 95 % interval (replications).
    pub fn mean_of(observations: &[f64]) -> Self {
        let xs: Vec<f64> = observations.iter().copied().filter(|x| x.is_finite()).collect();
        if xs.is_empty() {
            return Estimate::exact(f64::NAN);
        }
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        Estimate::from_observations(mean, &xs)
    }

    /// Half-width of the interval.
    pub fn half_width(&self) -> f64 {
        (self.ci_high - self.ci_low) / 2.0
    }

    /// Half-width relative to the value.
    pub fn relative_half_width(&self) -> f64 {
        self.half_width() / self.value.abs()
    }

    /// True when `x` lies in the interval.
    pub fn contains(&self, x: f64) -> bool {
        self.ci_low <= x && x <= self.ci_high
    }
}

/// Reads a number, or `null` as NaN: JSON has no NaN, and serde_json writes NaN (a metric
/// with nothing to measure, e.g. the mean response of a section in which nothing finished)
/// as `null`. Without this, journals and `results.json` holding one could not be read back.
pub fn f64_or_nan<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(deserializer)?.unwrap_or(f64::NAN))
}

/// The `p`-quantile of Student's t with `df` degrees of freedom.
pub fn student_t_quantile(p: f64, df: f64) -> f64 {
    StudentsT::new(0.0, 1.0, df).map(|t| t.inverse_cdf(p)).unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_match_tables() {
        assert!((student_t_quantile(0.975, 19.0) - 2.093).abs() < 1e-3);
        assert!((student_t_quantile(0.975, 1.0) - 12.706).abs() < 1e-3);
    }

    #[test]
    fn interval_is_centred_and_scaled_by_t() {
        let e = Estimate::mean_of(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(e.value, 2.5);
        let s = (5.0f64 / 3.0).sqrt();
        let half = 3.182 * s / 2.0;
        assert!((e.half_width() - half).abs() < 1e-3, "{e:?}");
    }

    #[test]
    fn one_observation_has_no_interval() {
        assert_eq!(Estimate::mean_of(&[7.0]), Estimate::exact(7.0));
    }
}
