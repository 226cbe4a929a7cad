//! Time-resolved results: arrivals, successful completions, failures, retries and the p99
//! of the response time per window of simulated time (`[run] series = "1s"`).
//!
//! Averages over a run hide what faults do: a 30 s outage in a 10 min run moves the mean
//! little, yet goodput may collapse for minutes. The series counts every request, warm-up
//! included, by the time it happened (arrival, completion, failure), from time 0. Memory is
//! bounded: at most [`MAX_WINDOWS`] windows are kept, each with a log-bucketed histogram of
//! response times (buckets 7 % wide). A run that outlasts them has its windows merged in
//! pairs (the width doubles, as often as needed), so the series always covers the whole
//! run; [`RunSeries::width`] is the width it ended with.

use serde::{Deserialize, Serialize};

/// Most windows a run keeps.
pub const MAX_WINDOWS: usize = 10_000;

/// Response-time buckets: `FIRST × RATIO^k`, k = 0 … BUCKETS − 1 (1 µs to 10⁵ s).
const BUCKETS: usize = 375;
const FIRST: f64 = 1e-6;
const RATIO: f64 = 1.07;

#[derive(Debug, Clone, Default)]
struct Bin {
    arrivals: u32,
    completed: u32,
    failed: u32,
    retries: u32,
    responses: Vec<u32>,
}

/// What a run records over time.
#[derive(Debug, Clone)]
pub struct SeriesRecorder {
    width: f64,
    bins: Vec<Bin>,
}

/// One window of a series, as rates per second.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SeriesRow {
    /// Start of the window (seconds since the run began).
    pub t: f64,
    pub arrival_rate: f64,
    /// Requests completed successfully per second.
    pub goodput: f64,
    /// Requests that failed for good per second (after any retries).
    pub failure_rate: f64,
    /// Retries (balancer's and clients') per second.
    pub retry_rate: f64,
    /// 99th percentile of the response times of the requests completed in the window
    /// (NaN without any; resolution 7 %).
    #[serde(with = "nan_as_null")]
    pub p99: f64,
}

/// A run's series: its window width, its rows, and the intervals during which a scheduled
/// fault held (for shading charts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct RunSeries {
    pub width: f64,
    pub rows: Vec<SeriesRow>,
    pub faults: Vec<[f64; 2]>,
}

impl SeriesRecorder {
    pub fn new(width: f64) -> Self {
        SeriesRecorder { width, bins: Vec::new() }
    }

    /// The window of time `t` (None for a time before 0 or not finite).
    #[inline]
    fn bin(&mut self, t: f64) -> Option<&mut Bin> {
        if !(t >= 0.0 && t.is_finite()) {
            return None;
        }
        let mut k = (t / self.width).floor();
        while k >= MAX_WINDOWS as f64 {
            self.merge_pairs();
            k = (t / self.width).floor();
        }
        let k = k as usize;
        if k >= self.bins.len() {
            self.bins.resize_with(k + 1, Bin::default);
        }
        Some(&mut self.bins[k])
    }

    pub fn width(&self) -> f64 {
        self.width
    }

    /// Doubles the width: windows 2j and 2j + 1 become window j.
    #[cold]
    fn merge_pairs(&mut self) {
        let old = std::mem::take(&mut self.bins);
        for pair in old.chunks(2) {
            let mut merged = pair[0].clone();
            if let Some(b) = pair.get(1) {
                merged.arrivals += b.arrivals;
                merged.completed += b.completed;
                merged.failed += b.failed;
                merged.retries += b.retries;
                if merged.responses.is_empty() {
                    merged.responses = b.responses.clone();
                } else {
                    for (m, x) in merged.responses.iter_mut().zip(&b.responses) {
                        *m += x;
                    }
                }
            }
            self.bins.push(merged);
        }
        self.width *= 2.0;
    }

    #[inline]
    pub fn arrival(&mut self, t: f64) {
        if let Some(b) = self.bin(t) {
            b.arrivals += 1;
        }
    }

    #[inline]
    pub fn completed(&mut self, t: f64, response: f64) {
        if let Some(b) = self.bin(t) {
            b.completed += 1;
            if b.responses.is_empty() {
                b.responses = vec![0; BUCKETS];
            }
            let k = ((response / FIRST).ln() / RATIO.ln()).floor().clamp(0.0, (BUCKETS - 1) as f64) as usize;
            b.responses[k] += 1;
        }
    }

    #[inline]
    pub fn failed(&mut self, t: f64) {
        if let Some(b) = self.bin(t) {
            b.failed += 1;
        }
    }

    #[inline]
    pub fn retried(&mut self, t: f64) {
        if let Some(b) = self.bin(t) {
            b.retries += 1;
        }
    }

    /// The rows, up to the last window that saw anything.
    pub fn rows(&self) -> Vec<SeriesRow> {
        let w = self.width;
        self.bins
            .iter()
            .enumerate()
            .map(|(k, b)| SeriesRow {
                t: k as f64 * w,
                arrival_rate: f64::from(b.arrivals) / w,
                goodput: f64::from(b.completed) / w,
                failure_rate: f64::from(b.failed) / w,
                retry_rate: f64::from(b.retries) / w,
                p99: quantile(&b.responses, b.completed, 0.99),
            })
            .collect()
    }
}

/// The `q` quantile of a bucketed histogram of `n` values (the bucket's geometric middle).
fn quantile(buckets: &[u32], n: u32, q: f64) -> f64 {
    if n == 0 {
        return f64::NAN;
    }
    let rank = (q * f64::from(n)).ceil().max(1.0) as u64;
    let mut seen = 0u64;
    for (k, &c) in buckets.iter().enumerate() {
        seen += u64::from(c);
        if seen >= rank {
            return FIRST * RATIO.powf(k as f64 + 0.5);
        }
    }
    f64::NAN
}

/// NaN ↔ JSON null (JSON has no NaN).
mod nan_as_null {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
        if x.is_finite() { s.serialize_f64(*x) } else { s.serialize_none() }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_land_in_their_window_and_p99_is_within_the_bucket_width() {
        let mut s = SeriesRecorder::new(2.0);
        s.arrival(0.5);
        s.arrival(3.9);
        for k in 0..100 {
            s.completed(2.5, if k == 99 { 1.0 } else { 0.01 });
        }
        s.failed(4.0);
        let rows = s.rows();
        assert_eq!(rows.len(), 3);
        assert_eq!((rows[0].arrival_rate, rows[1].arrival_rate), (0.5, 0.5));
        assert_eq!(rows[1].goodput, 50.0);
        assert_eq!(rows[2].failure_rate, 0.5);
        assert!((rows[1].p99 / 0.01 - 1.0).abs() < 0.07, "{}", rows[1].p99);
        assert!(rows[0].p99.is_nan());
        s.arrival(-1.0);
        s.arrival(f64::NAN);
        assert_eq!(s.rows().len(), 3, "before time 0: not counted");
    }

    #[test]
    fn a_run_longer_than_the_windows_merges_them_in_pairs_and_counts_everything() {
        let mut s = SeriesRecorder::new(1.0);
        // One arrival and one completion a second for 3 × MAX_WINDOWS seconds, the
        // completions of the last second slow.
        let end = 3 * MAX_WINDOWS;
        for k in 0..end {
            let t = k as f64 + 0.5;
            s.arrival(t);
            s.completed(t, if k + 1 == end { 10.0 } else { 0.01 });
        }
        s.failed(end as f64 - 0.5);
        assert_eq!(s.width(), 4.0, "two merges: 10 000 windows of 4 s hold 30 000 s");
        let rows = s.rows();
        assert_eq!(rows.len(), end / 4);
        assert!(rows.len() <= MAX_WINDOWS);
        let total = |f: fn(&SeriesRow) -> f64| rows.iter().map(|r| f(r) * 4.0).sum::<f64>();
        assert_eq!(total(|r| r.arrival_rate), end as f64, "every arrival counted");
        assert_eq!(total(|r| r.goodput), end as f64);
        assert_eq!(total(|r| r.failure_rate), 1.0);
        assert!(rows.iter().all(|r| r.arrival_rate == 1.0), "one a second in every window");
        assert_eq!((rows[1].t, rows.last().unwrap().t), (4.0, (end - 4) as f64));
        // The last window's histogram holds its four responses, one of them 10 s: p99.
        assert!((rows.last().unwrap().p99 / 10.0 - 1.0).abs() < 0.07);
        assert!((rows[0].p99 / 0.01 - 1.0).abs() < 0.07);
    }
}
