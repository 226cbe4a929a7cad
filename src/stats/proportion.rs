//! The fraction of responses above a threshold — P(response > the SLO's limit) — with its 95 %
//! confidence interval, from batches: the sections of one run, or the replications.
//!
//! The fraction P̂ = Σₖ eₖ / Σₖ nₖ (eₖ responses above the limit among the nₖ of batch k) is
//! a ratio of sums, exactly the exceedance fraction a quantile's interval rests on
//! (`quantile.rs`), and it gets the same treatment: the standard error from the batches'
//! linearised residuals eₖ − P̂·nₖ, Student t with the degrees of freedom of the batches
//! holding any exceedance (exceedances come in congestion episodes, so a batch without one
//! carries little information), and no interval — rather than a misleading one — with fewer
//! than [`MIN_EXCEEDANCES`] exceedances in all, fewer than [`MIN_SECTIONS_WITH_EXCEEDANCES`]
//! batches holding any, or a lower end at or below 0.

use super::quantile::{MIN_EXCEEDANCES, MIN_SECTIONS_WITH_EXCEEDANCES};
use super::{Estimate, student_t_quantile};

/// P̂ with its 95 % interval from `batches` of (exceedances, responses); NaN without any
/// response, and [`Estimate::without_interval`] when the batches cannot support one.
pub fn exceedance_fraction(batches: &[(u64, u64)]) -> Estimate {
    let k = batches.len();
    let exceedances: u64 = batches.iter().map(|b| b.0).sum();
    let n: u64 = batches.iter().map(|b| b.1).sum();
    if n == 0 {
        return Estimate::without_interval(f64::NAN);
    }
    let fraction = exceedances as f64 / n as f64;
    let hit = batches.iter().filter(|b| b.0 > 0).count();
    if k < 2 || exceedances < MIN_EXCEEDANCES || hit < MIN_SECTIONS_WITH_EXCEEDANCES.min(k) {
        return Estimate::without_interval(fraction);
    }
    let mean_n = n as f64 / k as f64;
    let var = batches.iter().map(|&(e, m)| (e as f64 - fraction * m as f64).powi(2)).sum::<f64>() / (k - 1) as f64;
    let se = (var / k as f64).sqrt() / mean_n;
    let half = student_t_quantile(0.975, (hit.max(2) - 1) as f64) * se;
    if fraction - half <= 0.0 {
        return Estimate::without_interval(fraction);
    }
    Estimate { value: fraction, ci_low: fraction - half, ci_high: (fraction + half).min(1.0) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Even batches (a low-discrepancy sequence thresholded at 0.9): P̂ ≈ 0.1 with an interval
    /// no wider than the binomial one (the sequence spreads exceedances more evenly than chance).
    #[test]
    fn independent_batches_get_an_interval_around_the_truth() {
        let golden = 0.618_033_988_749_895;
        let batches: Vec<(u64, u64)> = (0..20)
            .map(|k| {
                let above = (0..10_000).filter(|i| ((k * 10_000 + i) as f64 * golden).fract() > 0.9).count();
                (above as u64, 10_000)
            })
            .collect();
        let e = exceedance_fraction(&batches);
        assert!(e.has_interval() && (e.value - 0.1).abs() < 1e-3, "{e:?}");
        // Binomial half-width: 1.96 · √(0.1 · 0.9 / 200 000) ≈ 1.3e-3.
        assert!(e.half_width() < 1.4e-3, "{e:?}");
    }

    #[test]
    fn a_spread_between_batches_widens_the_interval() {
        // Half the batches at 5 %, half at 15 %: the same P̂ as above, a much wider interval.
        let batches: Vec<(u64, u64)> = (0..20).map(|k| (if k % 2 == 0 { 500 } else { 1500 }, 10_000)).collect();
        let e = exceedance_fraction(&batches);
        assert_eq!(e.value, 0.1);
        // s = 0.0513, se = s/√20, t(19) = 2.093: half-width ≈ 0.024.
        assert!((e.half_width() - 2.093 * (0.05f64 * 0.05 * 20.0 / 19.0).sqrt() / 20f64.sqrt()).abs() < 1e-4, "{e:?}");
    }

    #[test]
    fn too_few_exceedances_or_batches_give_no_interval() {
        // 40 exceedances in all.
        let few: Vec<(u64, u64)> = (0..20).map(|_| (2, 10_000)).collect();
        let e = exceedance_fraction(&few);
        assert_eq!(e.value, 40.0 / 200_000.0);
        assert!(!e.has_interval());
        // Plenty, but all in two batches (one congestion episode each).
        let clustered: Vec<(u64, u64)> = (0..20).map(|k| (if k < 2 { 300 } else { 0 }, 10_000)).collect();
        assert!(!exceedance_fraction(&clustered).has_interval());
        // None at all: P̂ = 0, no interval; no responses: NaN.
        assert_eq!(exceedance_fraction(&[(0, 100), (0, 100)]).value, 0.0);
        assert!(exceedance_fraction(&[]).value.is_nan());
    }
}
