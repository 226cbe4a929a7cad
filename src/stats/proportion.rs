//! The fraction of responses above a threshold — P(response > the SLO's limit) — with its 95 %
//! confidence interval, from batches: the sections of one run, or the replications.
//!
//! The fraction P̂ = Σₖ eₖ / Σₖ nₖ (eₖ responses above the limit among the nₖ of batch k) is
//! a ratio of sums, the exceedance fraction a quantile's interval also rests on
//! (`quantile.rs`, which tests it at many thresholds with the same `Resamples`): its
//! standard error comes from the batches' linearised residuals
//! eₖ − P̂·nₖ, and its interval from the bootstrap-t ([`bootstrap_t_interval`]), not
//! Student's t, because the batches' counts are strongly skewed (exceedances come in
//! congestion episodes of very unequal sizes). No interval — rather than a misleading one —
//! with fewer than [`MIN_EXCEEDANCES`] exceedances in all, fewer than
//! [`MIN_SECTIONS_WITH_EXCEEDANCES`] batches holding any, or an unbounded upper end.

use super::quantile::{MIN_EXCEEDANCES, MIN_SECTIONS_WITH_EXCEEDANCES};
use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use super::Estimate;

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
    match bootstrap_t_interval(batches, fraction) {
        Some((low, high)) => Estimate { value: fraction, ci_low: low, ci_high: high.min(1.0) },
        None => Estimate::without_interval(fraction),
    }
}

/// Resamples of the batches for [`bootstrap_t_interval`]: 999, so that the 2.5 % and 97.5 %
/// points are the 25th and 975th of them.
const RESAMPLES: usize = 999;

/// The 95 % interval of an exceedance fraction P̂ = Σ eₖ / Σ nₖ from its batches, by the
/// bootstrap-t (Efron; Hall, "The Bootstrap and Edgeworth Expansion", 1992): the batches are
/// resampled with replacement, and the spread of the resamples' studentised fraction
/// (P̂* − P̂)/se* takes the place of Student's t. `None` when more than 2.5 % of the
/// resamples have no spread at all (most batches without an exceedance): the upper end is
/// then unbounded.
///
/// Student's t assumes the batches' fractions are near normal. Exceedances come in
/// congestion episodes of very unequal sizes, so they are strongly skewed: a run that saw
/// fewer large episodes than its expectation has both a low P̂ and a low spread, and the t
/// interval is too narrow exactly when it is too low. An audit measured P(response >
/// 100 ms) on M/M/4 at ρ = 0.85 over 200 seeds: with 2·10⁵ requests the t interval covered
/// the truth 82.5 % of the time (every miss below it), the bootstrap-t 91 %; with 10⁶,
/// 91.5 % and 94 %. The standard error is the ratio estimator's, from the linearised
/// residuals eₖ − P̂·nₖ. The resampling draws from a fixed seed, so the interval is a
/// function of the batches: the same run gives the same interval.
pub(crate) fn bootstrap_t_interval(batches: &[(u64, u64)], fraction: f64) -> Option<(f64, f64)> {
    let k = batches.len();
    if k < 2 {
        return None;
    }
    let counts: Vec<(f64, f64)> = batches.iter().map(|&(e, n)| (e as f64, n as f64)).collect();
    let (_, se) = ratio_and_se(&counts);
    let (low_t, high_t) = Resamples::new(k).studentised_points(&counts, fraction, &mut Scratch::default());
    let (low, high) = (fraction - high_t * se, fraction - low_t * se);
    (low.is_finite() && high.is_finite()).then_some((low.max(0.0), high))
}

/// The [`RESAMPLES`] resamples (with replacement) of `k` batches the bootstrap-t uses, drawn
/// once from the fixed seed: the batches' indices, resample after resample.
///
/// Drawn apart from the counts so that one set serves many thresholds (common random
/// numbers): a quantile's interval tests the fraction above many thresholds of one run
/// (`quantile.rs`), and with the same resamples for each, the counts change smoothly from
/// one threshold to the next and so do the test's verdicts (its acceptance region is an
/// interval in practice, which bisection needs), and the result does not depend on the
/// order in which thresholds were tried.
pub(crate) struct Resamples {
    batches: usize,
    picks: Vec<u32>,
}

/// Buffers [`Resamples::studentised_points`] reuses from one call to the next.
#[derive(Default)]
pub(crate) struct Scratch {
    studentised: Vec<f64>,
}

/// Resamples computed side by side: each one's sums are a chain of dependent additions, so
/// one at a time waits on the adder's latency; several interleaved keep it busy. Each still
/// adds its own batches in its own order, so every value is exactly what [`ratio_and_se`]
/// gives for that resample alone (checked by `interleaved_resamples_are_computed_exactly`).
const LANES: usize = 4;

impl Resamples {
    pub(crate) fn new(batches: usize) -> Self {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(RESAMPLING_SEED);
        let picks = (0..RESAMPLES * batches).map(|_| rng.random_range(0..batches) as u32).collect();
        Resamples { batches, picks }
    }

    /// The 2.5 % and 97.5 % points of the studentised fraction (P̂* − P̂)/se* over the
    /// resamples of `counts` (one `(eₖ, nₖ)` per batch), `fraction` being their P̂. A
    /// resample without spread (its batches all alike) deviates without bound, by the side
    /// it fell on, so either point may be infinite.
    pub(crate) fn studentised_points(&self, counts: &[(f64, f64)], fraction: f64, scratch: &mut Scratch) -> (f64, f64) {
        let studentised = &mut scratch.studentised;
        studentised.clear();
        self.studentise(counts, fraction, |t| {
            studentised.push(t);
            true
        });
        // The 25th and 975th of the 999 in order (selected, not sorted: the same values).
        let (below, &mut high_t, _) = studentised.select_nth_unstable_by(HIGH_POINT, f64::total_cmp);
        let (_, &mut low_t, _) = below.select_nth_unstable_by(LOW_POINT, f64::total_cmp);
        (low_t, high_t)
    }

    /// Whether `z`, a studentised distance (P̂ − P₀)/se of a hypothesised fraction P₀, lies
    /// below, within or above the 2.5 % and 97.5 % points of the resamples' studentised
    /// fractions (see [`Self::studentised_points`]): the bootstrap-t test of P₀ at the 5 %
    /// level. The same answer as comparing `z` with those points, found by counting, and
    /// without computing the resamples left once the answer is certain (a value well inside
    /// needs about fifty of them).
    pub(crate) fn locate(&self, counts: &[(f64, f64)], fraction: f64, z: f64) -> std::cmp::Ordering {
        use std::cmp::Ordering;
        // z above the 975th value ⟺ at least 975 values below z; z below the 25th ⟺ at
        // least 975 values above z; either is impossible once 25 values lie on the other
        // side or at z.
        let need = RESAMPLES - LOW_POINT;
        let (mut below, mut above, mut at) = (0, 0, 0);
        let mut answer = Ordering::Equal;
        self.studentise(counts, fraction, |t| {
            match t.partial_cmp(&z) {
                Some(Ordering::Less) => below += 1,
                Some(Ordering::Greater) => above += 1,
                _ => at += 1,
            }
            if below >= need {
                answer = Ordering::Greater;
                false
            } else if above >= need {
                answer = Ordering::Less;
                false
            } else {
                // Both sides still possible?
                above + at <= LOW_POINT || below + at <= LOW_POINT
            }
        });
        answer
    }

    /// Each resample's studentised fraction, in the resamples' order, to `visit` until it
    /// returns false.
    fn studentise(&self, counts: &[(f64, f64)], fraction: f64, mut visit: impl FnMut(f64) -> bool) {
        let k = self.batches;
        debug_assert_eq!(counts.len(), k);
        let kf = k as f64;
        let mut groups = self.picks.chunks_exact(LANES * k);
        for group in &mut groups {
            let picks: [&[u32]; LANES] = std::array::from_fn(|l| &group[l * k..(l + 1) * k]);
            let (mut e, mut n) = ([0.0; LANES], [0.0; LANES]);
            for i in 0..k {
                for l in 0..LANES {
                    let c = counts[picks[l][i] as usize];
                    e[l] += c.0;
                    n[l] += c.1;
                }
            }
            let p: [f64; LANES] = std::array::from_fn(|l| e[l] / n[l]);
            let mut squares = [0.0; LANES];
            for i in 0..k {
                for l in 0..LANES {
                    let c = counts[picks[l][i] as usize];
                    squares[l] += (c.0 - p[l] * c.1).powi(2);
                }
            }
            for l in 0..LANES {
                if !visit(studentised(p[l], standard_error(squares[l], n[l], kf), fraction)) {
                    return;
                }
            }
        }
        let mut resample = Vec::with_capacity(k);
        for picks in groups.remainder().chunks_exact(k) {
            resample.clear();
            resample.extend(picks.iter().map(|&i| counts[i as usize]));
            let (p, s) = ratio_and_se(&resample);
            if !visit(studentised(p, s, fraction)) {
                return;
            }
        }
    }
}

/// Indices of the 2.5 % and 97.5 % points among the [`RESAMPLES`] in order (the 25th and
/// 975th of 999).
const LOW_POINT: usize = (RESAMPLES + 1) / 40 - 1;
const HIGH_POINT: usize = (RESAMPLES + 1) * 39 / 40 - 1;

/// A resample's studentised fraction (P̂* − P̂)/se*. A resample without spread (its batches
/// all alike) deviates without bound, by the side it fell on.
fn studentised(p: f64, s: f64, fraction: f64) -> f64 {
    if s > 0.0 {
        (p - fraction) / s
    } else if p < fraction {
        f64::NEG_INFINITY
    } else if p > fraction {
        f64::INFINITY
    } else {
        0.0
    }
}

/// The resampling's seed (any fixed number: the interval must be a function of the batches).
const RESAMPLING_SEED: u64 = 0x6c62_7369_6d5f_6274;

/// The ratio Σ eₖ / Σ nₖ of `(eₖ, nₖ)` batches and its standard error, from the linearised
/// residuals eₖ − P̂·nₖ scaled by the mean batch size.
pub(crate) fn ratio_and_se(batches: &[(f64, f64)]) -> (f64, f64) {
    let k = batches.len() as f64;
    let (e, n) = batches.iter().fold((0.0, 0.0), |(e, n), b| (e + b.0, n + b.1));
    let p = e / n;
    let squares = batches.iter().fold(0.0, |sum, &(e, m)| sum + (e - p * m).powi(2));
    (p, standard_error(squares, n, k))
}

/// The ratio's standard error from the sum of its `k` batches' squared residuals and their
/// `n` responses in all.
fn standard_error(squares: f64, n: f64, k: f64) -> f64 {
    (squares / (k - 1.0) / k).sqrt() / (n / k)
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
        // s = 0.0513, se = s/√20: Student's t(19) = 2.093 would give a half-width of 0.024;
        // these batches are symmetric, so the bootstrap-t's comes close (its resampled t
        // quantiles are those of 20 two-valued batches, a little wider than Student's).
        let student = 2.093 * (0.05f64 * 0.05 * 20.0 / 19.0).sqrt() / 20f64.sqrt();
        assert!((e.half_width() / student - 1.0).abs() < 0.25, "{e:?} against ±{student}");
        assert!(e.ci_low < 0.1 && 0.1 < e.ci_high);
    }

    /// Skewed batches — most with a few exceedances, a few with a congestion episode's
    /// hundreds — get an interval that reaches further above P̂ than below it, as the
    /// bootstrap-t gives and Student's t (symmetric) does not.
    #[test]
    fn skewed_batches_get_an_interval_reaching_further_up() {
        let batches: Vec<(u64, u64)> = (0..20).map(|k| (if k % 7 == 0 { 300 } else { 5 + k % 3 }, 10_000)).collect();
        let e = exceedance_fraction(&batches);
        assert!(e.has_interval(), "{e:?}");
        assert!(e.ci_high - e.value > 1.3 * (e.value - e.ci_low), "{e:?}");
    }

    /// Counts of `k` batches from a fixed xorshift stream, a third of them without
    /// exceedances.
    fn batches(k: usize, seed: u64) -> Vec<(f64, f64)> {
        let mut x = seed;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        (0..k)
            .map(|_| {
                let n = 1000 + next() % 50_000;
                let e = if next() % 3 == 0 { 0 } else { next() % (n / 10 + 1) };
                (e as f64, n as f64)
            })
            .collect()
    }

    /// Each resample's studentised fraction, computed side by side with others, is bit for bit
    /// what `ratio_and_se` gives for that resample gathered on its own (so the P(> SLO)
    /// intervals are those of resampling one resample at a time).
    #[test]
    fn interleaved_resamples_are_computed_exactly() {
        for (k, seed) in [(2, 1), (3, 2), (7, 3), (20, 4), (33, 5)] {
            let counts = batches(k, seed * 0x9e37_79b9_7f4a_7c15);
            let fraction = ratio_and_se(&counts).0;
            let resamples = Resamples::new(k);
            let mut interleaved = Vec::new();
            resamples.studentise(&counts, fraction, |t| {
                interleaved.push(t);
                true
            });
            let alone: Vec<f64> = resamples
                .picks
                .chunks_exact(k)
                .map(|picks| {
                    let resample: Vec<(f64, f64)> = picks.iter().map(|&i| counts[i as usize]).collect();
                    let (p, s) = ratio_and_se(&resample);
                    studentised(p, s, fraction)
                })
                .collect();
            assert_eq!(interleaved.len(), RESAMPLES);
            assert!(interleaved.iter().zip(&alone).all(|(a, b)| a.to_bits() == b.to_bits()), "k = {k}");
        }
    }

    /// `locate`, which stops counting once the answer is certain, answers as a comparison
    /// with the 2.5 % and 97.5 % points does, at and either side of each point.
    #[test]
    fn locating_a_distance_agrees_with_the_points() {
        for (k, seed) in [(4, 11), (20, 12), (20, 13)] {
            let counts = batches(k, seed * 0x9e37_79b9_7f4a_7c15);
            let fraction = ratio_and_se(&counts).0;
            let resamples = Resamples::new(k);
            let (low, high) = resamples.studentised_points(&counts, fraction, &mut Scratch::default());
            assert!(low.is_finite() && high.is_finite(), "{low}, {high}");
            // Just below and above each point (not f64::next_up: the MSRV is 1.85).
            let (down, up) = (|x: f64| x - 1e-12 * (1.0 + x.abs()), |x: f64| x + 1e-12 * (1.0 + x.abs()));
            for z in [low - 1.0, down(low), low, up(low), 0.0, down(high), high, up(high), high + 1.0] {
                let expected = if z > high {
                    std::cmp::Ordering::Greater
                } else if z < low {
                    std::cmp::Ordering::Less
                } else {
                    std::cmp::Ordering::Equal
                };
                assert_eq!(resamples.locate(&counts, fraction, z), expected, "k = {k}, z = {z} in [{low}, {high}]");
            }
        }
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
