//! Confidence intervals for quantiles of one long run, by inverting a test of the exceedance
//! fraction over the run's sections.
//!
//! The obvious method — each section's own quantile, then a t interval over the sections —
//! fails for tail quantiles: the top 0.1 % of responses come from a few congestion episodes
//! per run, so most sections hold none of them, a section's p99.9 is a poor and skewed
//! estimate, and the spread of section quantiles understates the spread of the run's (on
//! M/M/1 at ρ = 0.9 with 10⁶ requests the reported p99.9 interval covered the truth 30 times
//! in 40).
//!
//! Instead the interval rests on the exceedance indicator (Seila's sectioning; Chen &
//! Kelton, "Quantile and tolerance-interval estimation in simulation", 2006): for a threshold
//! x, the fraction of responses above it, P̂(x) = Σₖ eₖ / Σₖ nₖ (eₖ of the nₖ responses of
//! section k above x), is a *mean*, and the sections test whether P(T > x) = 1 − p — with the
//! bootstrap-t of `proportion.rs`, because the sections' counts are strongly skewed
//! (congestion episodes of very unequal sizes). The p-quantile's 95 % interval is the set of
//! thresholds that test does not reject: from the nearest threshold below the run's own
//! quantile q̂ rejected as below the quantile to the nearest above rejected as above it. No
//! density estimate is needed, and the interval is as asymmetric as the tail.
//!
//! Until 2026-11-27 it was Student's t on P̂ at q̂ alone (degrees of freedom from the sections
//! holding exceedances), mapped back through the run's distribution to [Q̂(p − δ), Q̂(p + δ)].
//! A run that saw fewer large congestion episodes than its expectation has both a low P̂ and
//! a low spread, so that interval was too narrow exactly when it was too low: on M/M/4 at
//! ρ = 0.85 (200 seeds) the p99.9 interval covered the truth in 76.7 % of the 2·10⁵-request
//! runs that gave one (45 %) and 93 % at 10⁶; on M/M/1 at ρ = 0.9 with 10⁶ requests it was
//! given in 40.5 % of runs and covered in 84 % of those. The bootstrap-t's studentised
//! resamples carry that dependence between P̂ and its spread (README, "Statistics", for the
//! figures now).
//!
//! The cost. The sections share one histogram layout, so `Inversion` builds, once per run,
//! each section's cumulative count over the buckets the run occupied: the count above any
//! bucket edge (the only thresholds the histogram can tell apart) is then one subtraction
//! per section. The bootstrap's resamples are drawn once from a fixed seed and used for every
//! threshold (common random numbers), so the verdicts change with the threshold as the counts
//! do — monotone in practice, which lets each end be found by doubling steps and bisection in
//! O(log m) tests of the m edges — and the interval is a function of the run. A test stops
//! resampling once its verdict is certain (about fifty resamples well inside the interval).
//!
//! No interval ([`QuantileInterval::TooFew`]) when the quantile expects fewer than
//! [`MIN_QUANTILE_EXCEEDANCES`] exceedances in the run or they lie in fewer than
//! [`MIN_SECTIONS_WITH_EXCEEDANCES`] sections: such a run is too short for that quantile,
//! whatever its sections say (see the constant for the measurements behind it).

use super::histogram::ResponseHistogram;
use super::proportion::{Resamples, ratio_and_se};
use std::cmp::Ordering;

/// Fewest exceedances over the whole run for an interval of an exceedance fraction
/// (`proportion.rs`), and in each replication for a quantile's interval over replications.
pub const MIN_EXCEEDANCES: u64 = 100;
/// Fewest exceedances a single run's p-quantile expects, (1 − p) × its responses, for an
/// interval of it: 500, the fewest at which the inversion's coverage was measured near the
/// nominal rate on both M/M/4 at ρ = 0.85 and M/M/1 at ρ = 0.9 (p99.9 of 200 runs of 5·10⁵
/// requests: 91.5 % and 94.3 %; of 10⁶: 96 % and 97.4 %; of 2·10⁵, 200 exceedances: 86 % and
/// 67 %). Below it the run is too short for that quantile: its exceedances come from a few
/// congestion episodes, and a run that happened to see no large one looks as regular as one
/// that did. A floor on the expected count, not on the run's own (which differs from it by
/// the responses sharing the quantile's bucket), so that it is a floor on the run's length.
pub const MIN_QUANTILE_EXCEEDANCES: u64 = 500;
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
    quantile_intervals(sections, whole, &[p])[0]
}

/// The 95 % intervals of the quantiles at `levels` from the per-section histograms
/// `sections` of one run and their merge `whole` (as [`quantile_interval`] for each, with the
/// table of counts built once).
pub fn quantile_intervals(
    sections: &[ResponseHistogram],
    whole: &ResponseHistogram,
    levels: &[f64],
) -> Vec<QuantileInterval> {
    let mut inversion = Inversion::new(sections, whole);
    levels.iter().map(|&p| inversion.interval(p)).collect()
}

/// What the bootstrap-t test of "P(T > x) = 1 − p" says of a threshold x.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Rejected: more than 1 − p of the responses lie above x, so the quantile is above x.
    Below,
    /// Not rejected: x may be the quantile.
    Accepted,
    /// Rejected: less than 1 − p lie above x, so the quantile is below x.
    Above,
}

/// A run's sections' counts above every bucket edge of its histogram, and what testing a
/// threshold needs: built once, then each test costs one subtraction per section and a
/// bootstrap over the sections.
struct Inversion<'a> {
    whole: &'a ResponseHistogram,
    k: usize,
    /// The buckets holding any response, ascending, as their highest ticks. Threshold `t`
    /// (0 ..= m) is the edge below the `t`-th of them: the responses above it are those in
    /// buckets `t..`. Thresholds between two occupied buckets count alike, so these are all
    /// the thresholds the histogram can tell apart.
    ticks: Vec<u64>,
    /// `below[t * k + s]`: section `s`'s responses in the buckets below threshold `t`.
    below: Vec<u64>,
    /// Each section's responses.
    sizes: Vec<u64>,
    resamples: Resamples,
    counts: Vec<(f64, f64)>,
    /// Bootstrap tests run (for the tests of the search's cost).
    #[cfg(test)]
    tests: usize,
}

impl<'a> Inversion<'a> {
    fn new(sections: &[ResponseHistogram], whole: &'a ResponseHistogram) -> Self {
        let k = sections.len();
        // (With fewer than two sections there is no interval: no table either.)
        let ticks: Vec<u64> = if k < 2 { Vec::new() } else { whole.occupied().collect() };
        let mut below = vec![0; (ticks.len() + 1) * k];
        for (t, &tick) in ticks.iter().enumerate() {
            let (done, next) = below[t * k..(t + 2) * k].split_at_mut(k);
            for ((next, done), section) in next.iter_mut().zip(done.iter()).zip(sections) {
                *next = done + section.count_in(tick);
            }
        }
        Inversion {
            whole,
            k,
            ticks,
            below,
            sizes: sections.iter().map(ResponseHistogram::len).collect(),
            resamples: Resamples::new(k.max(2)),
            counts: Vec::with_capacity(k),
            #[cfg(test)]
            tests: 0,
        }
    }

    /// Section `s`'s responses above threshold `t`.
    fn above(&self, t: usize, s: usize) -> u64 {
        self.sizes[s] - self.below[t * self.k + s]
    }

    /// The sections holding a response above threshold `t` (fewer as `t` rises).
    fn sections_hit(&self, t: usize) -> usize {
        (0..self.k).filter(|&s| self.above(t, s) > 0).count()
    }

    /// The 95 % interval of the `p`-quantile: the thresholds whose test is not rejected.
    fn interval(&mut self, p: f64) -> QuantileInterval {
        let k = self.k;
        if k < 2 || self.whole.is_empty() || self.ticks.is_empty() {
            return QuantileInterval::TooFew;
        }
        // The threshold just above the bucket of the run's own quantile q̂.
        let q = self.whole.quantile(p);
        let bucket = self.whole.quantile_bucket(p);
        let own = self.ticks.partition_point(|&t| t <= bucket);
        let expected = (1.0 - p) * self.whole.len() as f64;
        if expected < MIN_QUANTILE_EXCEEDANCES as f64 || self.sections_hit(own) < MIN_SECTIONS_WITH_EXCEEDANCES.min(k) {
            return QuantileInterval::TooFew;
        }
        let target = 1.0 - p;
        // The ends: the nearest thresholds either side that the test rejects. The run's own
        // threshold has at most 1 − p of the responses above it and the one below at least
        // 1 − p, so neither is rejected on the far side: the searches start from them.
        // Threshold 0 (every response above it: P̂ = 1, no spread) is rejected as below the
        // quantile, threshold m (none above it) as above it. Where the exceedances lie in a
        // few sections, too many resamples hold none of them for the bootstrap to reject any
        // fraction, so when the sections cannot bound the quantile from above, the first
        // threshold rejected is the one above every response: the interval reaches the
        // largest response the run saw. (Refusing an interval there instead was measured to
        // select the runs whose tails look light, which are those that saw too few congestion
        // episodes: over 200 seeds of M/M/1 at ρ = 0.9 with 10⁶ requests, p99.9 was given in
        // 12 % of runs and covered the truth in 74 % of those.)
        let (Some(below), Some(above)) = (
            self.nearest(own, 0, Verdict::Below, target),
            self.nearest(own - 1, self.ticks.len(), Verdict::Above, target),
        ) else {
            return QuantileInterval::TooFew;
        };
        // Within a bucket the histogram cannot tell thresholds apart: the interval reaches to
        // the edges of the buckets next to the rejected thresholds.
        let lower = self.whole.edge_below(self.ticks[below]);
        let upper = self.whole.edge_above(self.ticks[above - 1]);
        QuantileInterval::Interval(lower.min(q), upper.max(q))
    }

    /// The threshold nearest `from` (not rejected on `side`) on the way to `limit` whose
    /// verdict is `side`: steps of 1, 2, 4, … from `from` until one is, then bisection back
    /// over the last step, so O(log d) tests find an end d thresholds away. The fraction
    /// above a threshold falls as it rises and the resamples are the same for every threshold,
    /// so near the run's quantile the verdict turns once, and the threshold found is the
    /// nearest (checked against a scan of every threshold by
    /// `the_search_finds_what_a_scan_of_every_threshold_finds`). `None` when not even `limit`
    /// is rejected.
    fn nearest(&mut self, from: usize, limit: usize, side: Verdict, target: f64) -> Option<usize> {
        let toward =
            |step: usize| if limit < from { from.saturating_sub(step).max(limit) } else { (from + step).min(limit) };
        let (mut inside, mut step) = (from, 1);
        let mut outside = loop {
            if inside == limit {
                return None;
            }
            let t = toward(step);
            if self.verdict(t, target) == side {
                break t;
            }
            (inside, step) = (t, 2 * step);
        };
        while inside.abs_diff(outside) > 1 {
            let mid = inside.min(outside) + inside.abs_diff(outside) / 2;
            if self.verdict(mid, target) == side {
                outside = mid;
            } else {
                inside = mid;
            }
        }
        Some(outside)
    }

    /// The bootstrap-t test, over the sections, of P(T > x) = `target` at threshold `t`.
    fn verdict(&mut self, t: usize, target: f64) -> Verdict {
        #[cfg(test)]
        {
            self.tests += 1;
        }
        let mut counts = std::mem::take(&mut self.counts);
        counts.clear();
        counts.extend((0..self.k).map(|s| (self.above(t, s) as f64, self.sizes[s] as f64)));
        let (fraction, se) = ratio_and_se(&counts);
        // The hypothesised fraction's studentised distance; with no spread between the
        // sections (se = 0) every resample is alike too, and the test rejects any other
        // fraction (z = ±∞) and accepts its own (z = NaN).
        let z = (fraction - target) / se;
        let verdict = if z.is_nan() {
            Verdict::Accepted
        } else {
            match self.resamples.locate(&counts, fraction, z) {
                Ordering::Greater => Verdict::Below,
                Ordering::Less => Verdict::Above,
                Ordering::Equal => Verdict::Accepted,
            }
        };
        self.counts = counts;
        verdict
    }
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
        // p99.9 of 20 000 values: 20 exceedances; p99: 200, still under the floor of 500.
        let mut inversion = Inversion::new(&sections, &whole);
        assert_eq!(inversion.interval(0.999), QuantileInterval::TooFew);
        assert_eq!(inversion.interval(0.99), QuantileInterval::TooFew);
        // Refused before any bootstrap: a short run costs what counting its exceedances does.
        assert_eq!(inversion.tests, 0);
        assert!(matches!(inversion.interval(0.5), QuantileInterval::Interval(..)));
        assert!(inversion.tests > 0);
        // Fewer than two sections: no interval, and no table built.
        assert!(Inversion::new(&sections[..1], &whole).ticks.is_empty());
        assert_eq!(quantile_interval(&sections[..1], &whole, 0.5), QuantileInterval::TooFew);
    }

    /// 20 sections of 30 000 responses of an M/M/1 queue at ρ = 0.9 (Lindley's recursion,
    /// mean service 1 s, from a fixed xorshift stream): exceedances come in congestion
    /// episodes, as in a real run. Responses are rounded to a quarter of a second so the
    /// histogram holds a few hundred buckets, few enough to test every threshold.
    fn clustered_sections() -> (Vec<ResponseHistogram>, ResponseHistogram) {
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        let mut exponential = |mean: f64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            -mean * (1.0 - (x >> 11) as f64 / (1u64 << 53) as f64).ln()
        };
        let (k, per) = (20, 30_000);
        let mut sections = vec![ResponseHistogram::new(1.0); k];
        let mut whole = ResponseHistogram::new(1.0);
        let mut wait = 0.0;
        for i in 0..k * per {
            let service = exponential(1.0);
            let response = ((wait + service) * 4.0).round() / 4.0 + 0.25;
            sections[i / per].record(response);
            whole.record(response);
            wait = f64::max(0.0, wait + service - exponential(1.0 / 0.9));
        }
        (sections, whole)
    }

    const LEVELS: [f64; 5] = [0.5, 0.9, 0.95, 0.99, 0.999];

    /// The search's ends against a scan of every threshold. Below the run's own quantile the
    /// verdicts are monotone (every threshold under the lower end rejected) and the lower end
    /// is the scan's nearest rejected threshold. Above it the same holds near the quantile,
    /// but where few sections hold exceedances a lone threshold may be rejected among
    /// accepted ones: the doubling steps may pass over it, and the search then ends at a later
    /// turn from accepted to rejected — never nearer than the scan's, so the interval is only
    /// ever wider for it. At p50 … p99 the two agree.
    #[test]
    fn the_search_finds_what_a_scan_of_every_threshold_finds() {
        let (sections, whole) = clustered_sections();
        let mut inversion = Inversion::new(&sections, &whole);
        let m = inversion.ticks.len();
        assert!((100..2000).contains(&m), "{m} thresholds");
        for p in LEVELS {
            let QuantileInterval::Interval(low, high) = inversion.interval(p) else {
                panic!("p{p}: no interval from 6·10⁵ responses")
            };
            let target = 1.0 - p;
            let verdicts: Vec<Verdict> = (0..=m).map(|t| inversion.verdict(t, target)).collect();
            let bucket = whole.quantile_bucket(p);
            let own = inversion.ticks.partition_point(|&t| t <= bucket);
            let below = (0..own).rev().find(|&t| verdicts[t] == Verdict::Below).unwrap();
            let above = (own..=m).find(|&t| verdicts[t] == Verdict::Above).unwrap();
            assert_eq!(low, whole.edge_below(inversion.ticks[below]).min(whole.quantile(p)), "p{p}");
            let end = inversion.ticks.partition_point(|&t| whole.edge_above(t) < high) + 1;
            assert_eq!(high, whole.edge_above(inversion.ticks[end - 1]).max(whole.quantile(p)), "p{p}");
            assert!(end >= above && verdicts[end] == Verdict::Above && verdicts[end - 1] != Verdict::Above, "p{p}");
            if p <= 0.99 {
                assert_eq!(end, above, "p{p}");
            }
            assert!(verdicts[..=below].iter().all(|&v| v == Verdict::Below), "p{p}: {verdicts:?}");
            // M/M/1 at ρ = 0.9 with mean service 1: T is exponential with mean 10, and the
            // run's interval holds its quantile (rounded up by up to a quarter).
            let exact = -10.0 * target.ln();
            assert!(low < exact + 0.25 && exact < high + 0.25, "p{p}: [{low}, {high}] against {exact}");
        }
    }

    /// The ends are found in O(log m) tests of m thresholds: each end by doubling steps and
    /// bisection, ≤ 2·(⌈log₂ m⌉ + 1) tests, and one test of the run's own quantile.
    #[test]
    fn the_search_costs_logarithmically_many_tests() {
        let (sections, whole) = clustered_sections();
        let mut inversion = Inversion::new(&sections, &whole);
        let bound = 1 + 4 * ((inversion.ticks.len() + 1).ilog2() as usize + 2);
        for p in LEVELS {
            let before = inversion.tests;
            assert!(matches!(inversion.interval(p), QuantileInterval::Interval(..)));
            let tests = inversion.tests - before;
            assert!(tests <= bound, "p{p}: {tests} tests, bound {bound}");
        }
    }
}
