//! Confidence intervals for quantiles of one long run, by batching the exceedance indicator.
//!
//! The obvious method — each section's own quantile, then a t interval over the sections —
//! fails for tail quantiles: the top 0.1 % of responses come from a few congestion episodes
//! per run, so most sections hold none of them, a section's p99.9 is a poor and skewed
//! estimate, and the spread of section quantiles understates the spread of the run's (on
//! M/M/1 at ρ = 0.9 with 10⁶ requests the reported p99.9 interval covered the truth 30 times
//! in 40).
//!
//! Instead (Seila's sectioning of the indicator; Chen & Kelton, "Quantile and tolerance-
//! interval estimation in simulation", 2006): let q̂ be the run's p-quantile. The fraction of
//! responses above q̂, P̂ = Σₖ eₖ / Σₖ nₖ (eₖ exceedances among the nₖ responses of section k),
//! is a *mean*, so batch means apply to it exactly as to the mean response: its standard
//! error comes from the sections' linearised ratio residuals eₖ − P̂·nₖ, and its 95 % interval
//! is P̂ ± t₀.₉₇₅,ₖ₋₁ · se. The quantile's interval is that interval mapped back through the
//! run's empirical distribution: [Q̂(p − δ), Q̂(p + δ)]. No density estimate is needed (the
//! histogram's own shape does the mapping), and the interval is asymmetric where the tail is.
//!
//! Exceedances come in clusters (a congestion episode puts many consecutive responses above
//! the quantile), so the sections' counts can be few and skewed. Two guards keep the interval
//! honest: the t quantile takes its degrees of freedom from the sections that hold any
//! exceedance (m − 1, not k − 1: with exceedances in 6 of 20 sections there are about 6
//! independent pieces of information, not 20), and no interval is given
//! ([`QuantileInterval::TooFew`]) when the run has fewer than [`MIN_EXCEEDANCES`]
//! exceedances, fewer than [`MIN_SECTIONS_WITH_EXCEEDANCES`] sections holding any, or when the
//! exceedance fraction's own interval reaches 0 (the run cannot rule out that the quantile
//! lies above every response it saw). Measured on M/M/1 at ρ = 0.9 (README, "Statistics"):
//! the p99.9 interval covers the truth at the nominal rate where it is given, and with 10⁶
//! requests it is refused for most seeds — rightly: that run's p99.9 rests on two or three
//! congestion episodes, and its spread across seeds is ±11 %.

use super::histogram::ResponseHistogram;
use super::student_t_quantile;

/// Fewest exceedances of the quantile over the whole run for an interval.
pub const MIN_EXCEEDANCES: u64 = 100;
/// Fewest sections that must hold at least one exceedance.
pub const MIN_SECTIONS_WITH_EXCEEDANCES: usize = 4;

/// The 95 % interval of a quantile from one sectioned run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum QuantileInterval {
    /// (low, high) in seconds.
    Interval(f64, f64),
    /// The run holds too few exceedances (or they sit in too few sections) for an honest
    /// interval.
    TooFew,
}

/// The 95 % interval of the `p`-quantile from the per-section histograms `sections` of one
/// run and their merge `whole`.
pub fn quantile_interval(sections: &[ResponseHistogram], whole: &ResponseHistogram, p: f64) -> QuantileInterval {
    let k = sections.len();
    if k < 2 || whole.is_empty() {
        return QuantileInterval::TooFew;
    }
    let q = whole.quantile(p);
    let counts: Vec<(f64, f64)> = sections.iter().map(|h| (h.count_above(q) as f64, h.len() as f64)).collect();
    let exceedances: f64 = counts.iter().map(|c| c.0).sum();
    let n: f64 = counts.iter().map(|c| c.1).sum();
    let sections_hit = counts.iter().filter(|c| c.0 > 0.0).count();
    if exceedances < MIN_EXCEEDANCES as f64 || sections_hit < MIN_SECTIONS_WITH_EXCEEDANCES.min(k) {
        return QuantileInterval::TooFew;
    }
    let fraction = exceedances / n;
    // Ratio estimator over sections: residuals eₖ − P̂ nₖ, scaled by the mean section size.
    let mean_n = n / k as f64;
    let var = counts.iter().map(|(e, m)| (e - fraction * m).powi(2)).sum::<f64>() / (k - 1) as f64;
    let se = (var / k as f64).sqrt() / mean_n;
    let delta = student_t_quantile(0.975, (sections_hit.max(2) - 1) as f64) * se;
    // The level whose exceedance fraction is P̂ ± δ: the run's fraction above q̂ differs from
    // 1 − p by the bucket width, so the interval is mapped around the level q̂ really has.
    if fraction - delta <= 0.0 {
        return QuantileInterval::TooFew;
    }
    let level = 1.0 - fraction;
    let low = whole.quantile((level - delta).max(0.0));
    let high = whole.quantile(level + delta);
    QuantileInterval::Interval(low.min(q), high.max(q))
}

/// The `p`-quantile of a mixture of distributions each given by points of its CCDF,
/// `(t, P(T > t))` with t increasing (a replication's `ccdf`), weighted by `weights` (their
/// responses): the t at which the weighted mean of P(T > t) is 1 − p. Between a CCDF's
/// points, log P is taken as linear in log t (a smooth tail's error over points ≈ 5 % apart is
/// a few hundredths of a per cent of t); before its first point P is 1, after its last 0.
/// NaN without points or weight.
///
/// It is the quantile of the replications' responses pooled, as if one histogram held them
/// all: unlike the mean of their own quantiles, whose bias from each replication's length
/// does not fall as replications are added (a sample p99 of 50 exceedances is a few per cent
/// low), its bias falls with their total.
pub fn quantile_of_mixture(ccdfs: &[&[[f64; 2]]], weights: &[f64], p: f64) -> f64 {
    let total: f64 = weights.iter().sum();
    let points = || ccdfs.iter().flat_map(|c| c.iter());
    let lowest = points().map(|x| x[0]).filter(|&t| t > 0.0).fold(f64::INFINITY, f64::min);
    let highest = points().map(|x| x[0]).fold(0.0, f64::max);
    if !(total > 0.0 && lowest.is_finite() && highest >= lowest) {
        return f64::NAN;
    }
    let above = |t: f64| -> f64 { ccdfs.iter().zip(weights).map(|(c, w)| w * ccdf_at(c, t)).sum::<f64>() / total };
    let target = 1.0 - p;
    // Bisection on log t: the mixture's CCDF falls with t.
    let (mut low, mut high) = (lowest.ln(), highest.ln());
    if above(lowest) <= target {
        return lowest;
    }
    for _ in 0..100 {
        let mid = 0.5 * (low + high);
        if above(mid.exp()) > target {
            low = mid;
        } else {
            high = mid;
        }
    }
    (0.5 * (low + high)).exp()
}

/// P(T > t) from CCDF points, log-log linear between them (see [`quantile_of_mixture`]).
fn ccdf_at(points: &[[f64; 2]], t: f64) -> f64 {
    let after = points.partition_point(|x| x[0] <= t);
    match (after.checked_sub(1).map(|i| points[i]), points.get(after)) {
        (None, _) => 1.0,
        (Some(_), None) => 0.0,
        (Some([t0, p0]), Some(&[t1, p1])) => {
            if t0 <= 0.0 || p0 <= 0.0 || p1 <= 0.0 || t1 <= t0 {
                return p0;
            }
            let share = (t / t0).ln() / (t1 / t0).ln();
            (p0.ln() + share * (p1 / p0).ln()).exp()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two exponential distributions (means 1 and 3, weights 1 and 2) given by CCDF points
    /// 5 % apart, as a replication keeps them: the mixture's quantiles within 0.05 % of the
    /// exact ones, from the median to p99.9.
    #[test]
    fn the_quantile_of_a_mixture_of_ccdfs_is_the_mixtures() {
        let points = |mean: f64| -> Vec<[f64; 2]> {
            (0..400)
                .map(|k| 1e-3 * 1.05f64.powi(k))
                .map(|t| [t, (-t / mean).exp()])
                .take_while(|x| x[1] > 1e-9)
                .collect()
        };
        let (a, b) = (points(1.0), points(3.0));
        let exact_above = |t: f64| ((-t).exp() + 2.0 * (-t / 3.0).exp()) / 3.0;
        for p in [0.5, 0.9, 0.99, 0.999] {
            let q = quantile_of_mixture(&[&a, &b], &[1.0, 2.0], p);
            // The exact quantile by bisection on the exact CCDF.
            let (mut lo, mut hi) = (0.0, 100.0);
            for _ in 0..200 {
                let mid = 0.5 * (lo + hi);
                if exact_above(mid) > 1.0 - p { lo = mid } else { hi = mid }
            }
            assert!((q / lo - 1.0).abs() < 5e-4, "p{p}: {q} against {lo}");
        }
        assert!(quantile_of_mixture(&[], &[], 0.5).is_nan());
    }

    /// Sections of i.i.d. uniform(0, 1) values (a deterministic low-discrepancy sequence):
    /// the p-quantile is p, and the interval must hold it and be about binomial in width.
    #[test]
    fn independent_values_get_a_binomial_width_interval() {
        let k = 20;
        let per = 50_000;
        let mut sections = vec![ResponseHistogram::new(1.0); k];
        let mut whole = ResponseHistogram::new(1.0);
        let golden = 0.618_033_988_749_895;
        for i in 0..k * per {
            let x = (i as f64 * golden).fract() + 1e-6;
            sections[i % k].record(x);
            whole.record(x);
        }
        let QuantileInterval::Interval(low, high) = quantile_interval(&sections, &whole, 0.99) else {
            panic!("enough exceedances for an interval")
        };
        assert!(low <= 0.99 && 0.99 <= high, "[{low}, {high}]");
        // A low-discrepancy sequence spreads exceedances evenly: the interval is narrower
        // than the binomial one (±1.96·√(p(1−p)/n) ≈ ±1.9e-4), never wider.
        assert!(high - low < 4e-3, "[{low}, {high}]");
    }

    #[test]
    fn too_few_exceedances_give_no_interval() {
        let mut sections = vec![ResponseHistogram::new(1.0); 20];
        let mut whole = ResponseHistogram::new(1.0);
        for i in 0..20_000 {
            let x = 1.0 + (i % 997) as f64;
            sections[i % 20].record(x);
            whole.record(x);
        }
        // p99.9 of 20 000 values: 20 exceedances.
        assert_eq!(quantile_interval(&sections, &whole, 0.999), QuantileInterval::TooFew);
        assert!(matches!(quantile_interval(&sections, &whole, 0.5), QuantileInterval::Interval(..)));
    }
}
