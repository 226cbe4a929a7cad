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
        self.counts.saturating_record(self.ticks(seconds));
    }

    /// The tick a duration in seconds is recorded at.
    #[inline(always)]
    fn ticks(&self, seconds: f64) -> u64 {
        // `as u64` saturates; +0.5 rounds to the nearest tick.
        ((seconds * self.ticks_per_second + 0.5) as u64).max(1)
    }

    /// An empty [`HistogramBuffer`] in this histogram's layout, to record into cheaply.
    pub fn buffer(&self) -> HistogramBuffer {
        let counters = self.counts.distinct_values();
        // The lowest tick past the last counter (an index is monotone in its value, so every
        // tick from there on has an index of `counters` or more, and every tick below it
        // less).
        let beyond = bucket_value(counters);
        debug_assert!((beyond as f64) < LARGEST_TICK && bucket_index(beyond) == counters);
        HistogramBuffer {
            counts: vec![0; counters + 1].into_boxed_slice(),
            low: u32::MAX,
            high: 0,
            pending: [0.0; PENDING],
            pending_len: 0,
            ticks_per_second: self.ticks_per_second,
            beyond: beyond as f64,
            // `saturating_record` records a value past the last bucket at the highest
            // trackable value, which is the ceiling.
            clamped: bucket_index(self.ceiling),
            unit: self.unit,
            ceiling: self.ceiling,
        }
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

    /// The buckets holding any value, ascending, each as its highest tick: the places where
    /// a count above a threshold can change (see [`Self::count_in`], [`Self::edge_above`]).
    pub(crate) fn occupied(&self) -> impl Iterator<Item = u64> + '_ {
        self.counts.iter_recorded().map(|v| v.value_iterated_to())
    }

    /// The values counted in the bucket of `tick`.
    pub(crate) fn count_in(&self, tick: u64) -> u64 {
        self.counts.count_at(tick)
    }

    /// The bucket that holds the `q`-quantile [`Self::quantile`] reports, as its highest tick.
    pub(crate) fn quantile_bucket(&self, q: f64) -> u64 {
        self.counts.highest_equivalent(self.counts.value_at_quantile(q))
    }

    /// The duration in seconds from which a value is counted in a bucket above that of
    /// `tick` (a value is counted at its nearest tick, so the edge is half a tick above the
    /// bucket's highest).
    pub(crate) fn edge_above(&self, tick: u64) -> f64 {
        (self.counts.highest_equivalent(tick) as f64 + 0.5) * self.unit
    }

    /// The duration in seconds from which a value is counted in the bucket of `tick` or above.
    pub(crate) fn edge_below(&self, tick: u64) -> f64 {
        (self.counts.lowest_equivalent(tick) as f64 - 0.5).max(0.0) * self.unit
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

/// hdrhistogram's bucket layout for our histograms (lowest discernible value 1, so unit
/// magnitude 0; 3 significant digits, so 2¹¹ sub-buckets per bucket, of which a bucket past
/// the first uses the upper half): a value's index is its bucket (how many times it must be
/// halved to fit under 2¹¹) followed by its top 11 bits. Checked against hdrhistogram by
/// `a_buffer_fills_the_histogram_exactly_as_recording_does`.
const HALF_MAGNITUDE: u32 = 10;
const SUB_BUCKET_MASK: u64 = (2 << HALF_MAGNITUDE) - 1;

/// 2⁶²: larger than every histogram's last bucket (their ceilings are at most 2⁶¹).
const LARGEST_TICK: f64 = (1u64 << 62) as f64;
const _: () = assert!(MAX_TICKS < 1 << 61);

/// hdrhistogram's index of the counter that counts `value`.
#[inline(always)]
fn bucket_index(value: u64) -> usize {
    let bucket = 64 - HALF_MAGNITUDE - 1 - (value | SUB_BUCKET_MASK).leading_zeros();
    (((bucket + 1) as usize) << HALF_MAGNITUDE) + (value >> bucket) as usize - (1 << HALF_MAGNITUDE)
}

/// [`bucket_index`] of the whole number of ticks in `x` (finite, in [1, 2⁶²]), read off
/// its floating-point representation. From 2¹⁰ ticks on, a value's bucket is its binary
/// exponent and its sub-bucket its top 10 mantissa bits (the bucket's width is a power of
/// two from 2⁰ up, so truncating to whole ticks first would not change them): together the
/// representation's top bits, shifted, minus a constant. Below, every tick has its own
/// counter. Without a branch and in 32 bits, so that a loop of them is vectorised (two at a
/// time: three instructions each where the integer route takes eleven); checked against
/// `bucket_index` by `the_index_of_a_tick_is_the_index_of_its_whole_ticks`.
#[inline(always)]
fn index_of_tick(x: f64) -> u32 {
    /// Exponent bias plus `HALF_MAGNITUDE − 1`, in units of a bucket's counters.
    const OFFSET: u64 = (1022 + HALF_MAGNITUDE as u64) << HALF_MAGNITUDE;
    const SMALL: f64 = (1u64 << HALF_MAGNITUDE) as f64;
    // SAFETY: min(x, 2¹⁰) is in [1, 2¹⁰], so it converts without overflow.
    let small = unsafe { x.min(SMALL).to_int_unchecked::<i32>() } as u32;
    let large = ((x.to_bits() >> (52 - HALF_MAGNITUDE)).wrapping_sub(OFFSET)) as u32;
    if x < SMALL { small } else { large }
}

/// The lowest value counted at `index` (hdrhistogram's `value_for`).
fn bucket_value(index: usize) -> u64 {
    let half = 1usize << HALF_MAGNITUDE;
    let bucket = (index >> HALF_MAGNITUDE).saturating_sub(1);
    let sub = if index < half { index } else { (index & (half - 1)) + half };
    (sub as u64) << bucket
}

/// Durations a [`HistogramBuffer`] holds before it counts them (2 KiB).
const PENDING: usize = 256;

/// Response times counted in a [`ResponseHistogram`]'s own buckets, for the per-request
/// path: recording a duration is a store, where hdrhistogram's `record` also finds the
/// bucket, checks bounds, and tracks the extremes and the total.
///
/// The durations are held back and counted `PENDING` at a time, in two loops: one finds
/// each one's counter (a multiplication, a clamp and the representation's top bits, with
/// nothing else in flight), the other counts them. Finding the counter where the request
/// is admitted took as many instructions again as the admission's own bookkeeping, beside
/// its cache misses; and the counters a run uses span tens of kilobytes, which a large
/// cluster's backends evict from the caches between two uses, so counting a batch in one
/// loop lets those misses overlap instead of stalling each request in turn.
/// [`HistogramBuffer::drain_into`] adds the counts to the histogram with one `record_n` per
/// touched bucket, at the bucket's lowest value: the histogram's counts, total, and every
/// value it reports (bucket-level minimum and maximum, quantiles, CCDF) are then exactly
/// those of recording each response into it one by one.
#[derive(Debug, Clone)]
pub struct HistogramBuffer {
    /// The histogram's counters, and one past them where every duration beyond its last
    /// bucket is counted until a drain moves them to `clamped`.
    counts: Box<[u64]>,
    /// Indices below `low` and above `high` are zero (what a drain must visit).
    low: u32,
    high: u32,
    /// Durations (seconds) recorded but not yet counted.
    pending: [f64; PENDING],
    pending_len: usize,
    ticks_per_second: f64,
    /// The lowest tick past the last counter, where ticks are clamped (so that the index
    /// needs no check against the counters' length).
    beyond: f64,
    /// Where values past the last bucket are counted: the ceiling's bucket.
    clamped: usize,
    /// The histogram's unit and ceiling, to check a drain goes to a histogram of this layout.
    unit: f64,
    ceiling: u64,
}

impl HistogramBuffer {
    /// Records one duration in seconds (as [`ResponseHistogram::record`] would).
    #[inline(always)]
    pub fn record(&mut self, seconds: f64) {
        self.pending[self.pending_len] = seconds;
        self.pending_len += 1;
        if self.pending_len == PENDING {
            // (`record` writes at `pending_len`: it must stay below.)
            self.count_pending();
        }
    }

    /// Records each of `seconds` in turn (as many [`HistogramBuffer::record`]s).
    #[inline]
    pub fn record_all(&mut self, seconds: &[f64]) {
        for chunk in seconds.chunks(PENDING) {
            self.reserve(chunk.len())[..chunk.len()].copy_from_slice(chunk);
            self.pushed(chunk.len());
        }
    }

    /// Room for `count` more durations (at most [`PENDING`]): the first `count` slots of
    /// the returned slice, to be written in order and then counted in with
    /// [`HistogramBuffer::pushed`] (a block's requests as they are admitted).
    #[inline]
    pub fn reserve(&mut self, count: usize) -> &mut [f64] {
        assert!(count <= PENDING);
        if self.pending_len + count > PENDING {
            self.count_pending();
        }
        &mut self.pending[self.pending_len..]
    }

    /// Takes in the first `count` durations written into [`HistogramBuffer::reserve`]'s room.
    #[inline]
    pub fn pushed(&mut self, count: usize) {
        self.pending_len += count;
        assert!(self.pending_len <= PENDING);
        if self.pending_len == PENDING {
            // (`record` writes at `pending_len`: it must stay below.)
            self.count_pending();
        }
    }

    /// Counts the held-back durations.
    #[inline(never)]
    fn count_pending(&mut self) {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: this processor has AVX2.
            unsafe { self.count_pending_avx2() };
            return;
        }
        self.count_pending_here();
    }

    /// [`HistogramBuffer::count_pending`] compiled for processors with AVX2, where the
    /// compiler finds the counters and the extremes four at a time (the same integer and
    /// IEEE operations in either build, so the same counts: no fused multiply-add).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn count_pending_avx2(&mut self) {
        self.count_pending_here();
    }

    #[inline(always)]
    fn count_pending_here(&mut self) {
        let len = self.pending_len;
        let (ticks_per_second, beyond) = (self.ticks_per_second, self.beyond);
        let mut indices = [0u32; PENDING];
        for (index, &seconds) in indices.iter_mut().zip(&self.pending[..len]) {
            // The tick of `ResponseHistogram::record`, `((x + 0.5) as u64).max(1)`, in one
            // instruction: the clamp to [1, beyond] sends NaN and anything below one tick to
            // 1 as `max(1)` does, and anything past the last counter (a saturated conversion
            // included) to the extra counter `counts[counters]`.
            // (Not `clamp`, which keeps NaN.)
            #[allow(clippy::manual_clamp)]
            let x = (seconds * ticks_per_second + 0.5).max(1.0).min(beyond);
            *index = index_of_tick(x);
        }
        let (mut low, mut high) = (self.low, self.high);
        for &i in &indices[..len] {
            low = low.min(i);
            high = high.max(i);
        }
        for &i in &indices[..len] {
            // SAFETY: every index is that of a tick in [1, beyond], so at most the index of
            // `beyond`, which is `counts.len() − 1` (`ResponseHistogram::buffer`).
            unsafe { *self.counts.get_unchecked_mut(i as usize) += 1 };
        }
        (self.low, self.high) = (low, high);
        self.pending_len = 0;
    }

    /// Adds the counts to `into` (a histogram this buffer was made for) and empties the buffer.
    pub fn drain_into(&mut self, into: &mut ResponseHistogram) {
        debug_assert_eq!((self.unit, self.ceiling), (into.unit, into.ceiling));
        self.count_pending();
        let past = self.counts.len() - 1;
        let (mut low, mut high) = (self.low as usize, self.high as usize);
        if self.counts[past] > 0 {
            self.counts[self.clamped] += std::mem::take(&mut self.counts[past]);
            (low, high) = (low.min(self.clamped), high.max(self.clamped));
        }
        if low > high {
            return;
        }
        for (i, count) in self.counts[low..=high.min(past - 1)].iter_mut().enumerate() {
            if *count != 0 {
                into.counts.saturating_record_n(bucket_value(low + i), *count);
                *count = 0;
            }
        }
        (self.low, self.high) = (u32::MAX, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_fills_the_histogram_exactly_as_recording_does() {
        // Values across every bucket, both ends, and past the ceiling (clamped).
        let spans = [(0.01, 0.01), (1e-3, 1.0), (1e-9, 1e3)];
        for (fast, slow) in spans {
            let (mut direct, mut buffered) =
                (ResponseHistogram::spanning(fast, slow), ResponseHistogram::spanning(fast, slow));
            let mut buffer = buffered.buffer();
            let mut x = 0x9e37_79b9_7f4a_7c15_u64;
            let mut values = vec![0.0, -1.0, f64::NAN, 1e300, f64::INFINITY, fast * 1e-7, fast * 1e12 * slow / fast];
            for _ in 0..200_000 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // Log-uniform over 10⁻⁸ … 10¹⁴ mean sizes.
                values.push(fast * 10f64.powf((x >> 11) as f64 / (1u64 << 53) as f64 * 22.0 - 8.0));
            }
            for (k, &v) in values.iter().enumerate() {
                direct.record(v);
                buffer.record(v);
                if k % 70_001 == 0 {
                    buffer.drain_into(&mut buffered);
                }
            }
            buffer.drain_into(&mut buffered);
            // Recorded in blocks of every length, from single values to several buffers'
            // worth, after single records.
            let mut in_blocks = ResponseHistogram::spanning(fast, slow);
            let mut blocks = in_blocks.buffer();
            let (mut at, mut k) = (0, 0);
            while at < values.len() {
                let len = [1, 63, 64, 0, 255, 256, 257, 1000][k % 8].min(values.len() - at);
                blocks.record(values[at]);
                blocks.record_all(&values[at + 1..at + len.max(1)]);
                (at, k) = (at + len.max(1), k + 1);
            }
            blocks.drain_into(&mut in_blocks);
            assert_eq!(direct.counts, in_blocks.counts, "span {fast}..{slow}, in blocks");
            assert_eq!(direct.counts, buffered.counts, "span {fast}..{slow}");
            assert_eq!(direct.len(), buffered.len());
            assert_eq!(direct.counts.max(), buffered.counts.max());
            assert_eq!(direct.counts.min_nz(), buffered.counts.min_nz());
            assert_eq!(direct.reached_ceiling(), buffered.reached_ceiling());
            for q in [0.0, 0.1, 0.5, 0.9, 0.99, 0.999, 1.0] {
                assert_eq!(direct.quantile(q).to_bits(), buffered.quantile(q).to_bits());
            }
            assert_eq!(direct.ccdf(300), buffered.ccdf(300));
            // Every index maps back to its own lowest value.
            for i in 0..direct.counts.distinct_values() {
                let v = bucket_value(i);
                assert_eq!(bucket_index(v), i);
                assert_eq!(direct.counts.lowest_equivalent(v), v);
            }
        }
    }

    #[test]
    fn the_avx2_build_and_the_portable_build_of_the_count_agree() {
        // The run takes the AVX2 build where the processor has it; the other machines take
        // the portable one, which this compares with whichever build this machine takes.
        let h = ResponseHistogram::spanning(1e-3, 1.0);
        let (mut here, mut dispatched) = (h.buffer(), h.buffer());
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        for round in 0..40 {
            let len = [PENDING, 1, 3, 255, 17][round % 5];
            for k in 0..len {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let v = match (k + round) % 97 {
                    0 => f64::NAN,
                    1 => -1.0,
                    2 => 1e300,
                    3 => 0.0,
                    // Log-uniform over 10⁻¹⁰ … 10⁸ s: every bucket, and past the ceiling.
                    _ => 10f64.powf((x >> 11) as f64 / (1u64 << 53) as f64 * 18.0 - 10.0),
                };
                here.pending[k] = v;
                dispatched.pending[k] = v;
            }
            (here.pending_len, dispatched.pending_len) = (len, len);
            here.count_pending_here();
            dispatched.count_pending();
            assert_eq!(here.counts, dispatched.counts, "round {round}");
            assert_eq!((here.low, here.high), (dispatched.low, dispatched.high));
        }
        assert!(here.counts.iter().filter(|&&c| c > 0).count() > 1000);
    }

    #[test]
    fn the_index_of_a_tick_is_the_index_of_its_whole_ticks() {
        let check = |x: f64| {
            // SAFETY (of the test's conversion): x is finite and in [1, 2⁶²].
            let whole = unsafe { x.to_int_unchecked::<u64>() };
            assert_eq!(index_of_tick(x) as usize, bucket_index(whole), "x = {x}");
        };
        // Every bucket's edges, the values either side of them, and the ticks in between.
        for e in 0..62 {
            let edge = (1u64 << e) as f64;
            for x in [edge, edge.next_up(), edge.next_down(), edge + 0.5, edge * 1.5, edge * 1.999] {
                if (1.0..=LARGEST_TICK).contains(&x) {
                    check(x);
                }
            }
        }
        for v in 1..100_000u64 {
            check(v as f64);
            check(v as f64 + 0.5);
            check((v as f64 + 1.0).next_down());
        }
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..1_000_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            check(2f64.powf((x >> 11) as f64 / (1u64 << 53) as f64 * 62.0).clamp(1.0, LARGEST_TICK));
        }
    }

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
