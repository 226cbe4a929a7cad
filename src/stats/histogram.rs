//! Response-time histogram: `hdrhistogram` with 3 significant digits (≤ 0.1 % relative error)
//! in a fixed amount of memory, whatever the number of requests.

use hdrhistogram::Histogram;

/// Significant decimal digits kept: relative error ≤ 10⁻³, as the measurement contract asks.
const SIGNIFICANT_DIGITS: u8 = 3;
/// Resolution relative to the mean request size: values are counted in units of
/// `mean_size × 10⁻⁶`, so anything shorter than a millionth of a mean request is rounded up
/// to one unit.
const TICKS_PER_MEAN: f64 = 1e6;
/// Largest response recorded exactly, in mean request sizes (10⁶ means: far beyond any
/// bounded backlog at sane loads); larger values are clamped and reported as this bound.
const MAX_IN_MEANS: f64 = 1e6;

/// Largest value hdrhistogram can track (it needs `2 × highest` to fit an `i64`).
const MAX_TICKS: u64 = (i64::MAX / 4) as u64;

/// A histogram of durations (seconds) with a unit chosen from the typical request size.
#[derive(Debug, Clone)]
pub struct ResponseHistogram {
    counts: Histogram<u64>,
    /// Highest tick recorded exactly; larger values are clamped to it.
    ceiling: u64,
    /// Seconds per histogram tick.
    unit: f64,
    /// Ticks per second (a multiplication in the hot path instead of a division).
    ticks_per_second: f64,
}

impl ResponseHistogram {
    /// An empty histogram for a model whose mean request takes `mean_size` seconds on every
    /// backend.
    pub fn new(mean_size: f64) -> Self {
        Self::spanning(mean_size, mean_size)
    }

    /// An empty histogram for a model whose mean request takes `fastest` seconds on its
    /// fastest backend and `slowest` on its slowest: the resolution follows the fastest
    /// (10⁻⁶ of its mean), the range the slowest (10⁶ of its mean), so neither a very fast
    /// nor a very slow backend pins every percentile to a bound. With speeds 10⁶ apart or
    /// more the range is capped by what hdrhistogram can track; [`Self::reached_ceiling`]
    /// tells when a value was clamped.
    pub fn spanning(fastest: f64, slowest: f64) -> Self {
        let unit = fastest / TICKS_PER_MEAN;
        let span = (slowest / fastest).max(1.0);
        let ceiling = (TICKS_PER_MEAN * MAX_IN_MEANS * span).min(MAX_TICKS as f64) as u64;
        let counts = Histogram::new_with_bounds(1, ceiling, SIGNIFICANT_DIGITS)
            .expect("histogram bounds are at least 1 and within hdrhistogram's range");
        ResponseHistogram { counts, ceiling, unit, ticks_per_second: 1.0 / unit }
    }

    /// Whether some recorded value reached the histogram's ceiling (10⁶ mean requests on the
    /// slowest backend), where values are clamped: percentiles there are lower bounds.
    pub fn reached_ceiling(&self) -> bool {
        !self.counts.is_empty() && self.counts.max() >= self.counts.lowest_equivalent(self.ceiling)
    }

    /// Records one duration in seconds.
    #[inline]
    pub fn record(&mut self, seconds: f64) {
        // `as u64` saturates; +0.5 rounds to the nearest tick.
        let ticks = (seconds * self.ticks_per_second + 0.5) as u64;
        self.counts.saturating_record(ticks.max(1));
    }

    /// Number of recorded values.
    pub fn len(&self) -> u64 {
        self.counts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// The `q`-quantile (0 ≤ q ≤ 1) in seconds; NaN when empty.
    pub fn quantile(&self, q: f64) -> f64 {
        if self.counts.is_empty() {
            return f64::NAN;
        }
        // hdrhistogram reports the highest value equivalent to the bucket; its midpoint is
        // the unbiased representative.
        let v = self.counts.value_at_quantile(q);
        self.counts.median_equivalent(v) as f64 * self.unit
    }

    /// Number of recorded values above `seconds` (in buckets wholly above its bucket: the
    /// exceedances of a quantile this histogram reported).
    pub fn count_above(&self, seconds: f64) -> u64 {
        let ticks = ((seconds * self.ticks_per_second + 0.5) as u64).max(1);
        let top = self.counts.highest_equivalent(ticks);
        self.counts.len() - self.counts.count_between(0, top)
    }

    /// Adds all of `other`'s counts (same unit required).
    pub fn merge(&mut self, other: &ResponseHistogram) {
        debug_assert_eq!((self.unit, self.ceiling), (other.unit, other.ceiling));
        self.counts.add(&other.counts).expect("histograms with identical bounds add");
    }

    /// Empties the histogram, keeping its memory.
    pub fn clear(&mut self) {
        self.counts.reset();
    }

    /// Points of the complementary CDF, P(T > t), at bucket boundaries: `(t, fraction)`
    /// pairs, thinned to at most `max_points` (for CCDF charts).
    pub fn ccdf(&self, max_points: usize) -> Vec<(f64, f64)> {
        let total = self.counts.len() as f64;
        if total == 0.0 {
            return Vec::new();
        }
        let mut points = Vec::new();
        let mut seen = 0u64;
        // Log-spaced steps (×1.05) from the smallest recorded value: ≈ 50 points per decade.
        let start = self.counts.min_nz().max(1);
        for iv in self.counts.iter_log(start, 1.05) {
            seen += iv.count_since_last_iteration();
            let above = total - seen as f64;
            if above <= 0.0 {
                break;
            }
            points.push((iv.value_iterated_to() as f64 * self.unit, above / total));
        }
        if points.len() > max_points && max_points > 1 {
            let step = points.len() as f64 / max_points as f64;
            points = (0..max_points).map(|i| points[(i as f64 * step) as usize]).collect();
        }
        points
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_within_a_tenth_of_a_percent() {
        let mut h = ResponseHistogram::new(0.01);
        for i in 1..=100_000 {
            h.record(i as f64 * 1e-5);
        }
        for (q, exact) in [(0.5, 0.5), (0.9, 0.9), (0.99, 0.99), (0.999, 0.999)] {
            let got = h.quantile(q);
            assert!((got - exact).abs() / exact < 1e-3, "q{q}: {got} vs {exact}");
        }
    }

    #[test]
    fn merging_equals_recording_into_one() {
        let (mut a, mut b, mut all) =
            (ResponseHistogram::new(1.0), ResponseHistogram::new(1.0), ResponseHistogram::new(1.0));
        for i in 0..1000 {
            let x = 0.01 * (i as f64 + 1.0);
            if i % 2 == 0 {
                a.record(x)
            } else {
                b.record(x)
            }
            all.record(x);
        }
        a.merge(&b);
        assert_eq!(a.len(), 1000);
        assert_eq!(a.quantile(0.99), all.quantile(0.99));
    }

    #[test]
    fn counts_above_a_reported_quantile() {
        let mut h = ResponseHistogram::new(0.01);
        for i in 1..=10_000 {
            h.record(i as f64 * 1e-4);
        }
        let q = h.quantile(0.99);
        let above = h.count_above(q);
        // 1 % of the values, up to the values sharing q's bucket (3 significant digits).
        assert!((95..=100).contains(&above), "{above}");
        assert_eq!(h.count_above(0.0), 10_000);
        assert_eq!(h.count_above(10.0), 0);
    }

    #[test]
    fn huge_values_are_clamped_not_lost() {
        let mut h = ResponseHistogram::new(1.0);
        h.record(0.0);
        assert!(!h.reached_ceiling());
        h.record(1e30);
        assert_eq!(h.len(), 2);
        assert!(h.reached_ceiling(), "a clamped value is reported");
    }

    #[test]
    fn a_slow_backend_widens_the_range_and_a_fast_one_the_resolution() {
        // Mean 1 s on the slowest backend, 1 ms on the fastest: 10⁵ s (10⁵ slow means) and
        // 2 µs (a thousandth of a fast mean) are both recorded within 0.1 %.
        let mut h = ResponseHistogram::spanning(1e-3, 1.0);
        h.record(1e5);
        assert!(!h.reached_ceiling());
        assert!((h.quantile(1.0) - 1e5).abs() / 1e5 < 1e-3, "{}", h.quantile(1.0));
        let mut fine = ResponseHistogram::spanning(1e-3, 1.0);
        fine.record(2e-6);
        assert!((fine.quantile(0.5) - 2e-6).abs() / 2e-6 < 1e-3, "{}", fine.quantile(0.5));
        // Speeds 10¹² apart: the range is capped, not an error.
        let capped = ResponseHistogram::spanning(1e-9, 1e3);
        assert!(capped.is_empty());
    }
}
