//! MSER-5 warm-up detection (White, 1997; Franklin & White, 2008).
//!
//! Given batch means (of 5 or more consecutive observations) of an output series, choose the
//! truncation point d that minimises the marginal standard error of the rest,
//! MSER(d) = Σ_{i>d} (x_i − x̄_d)² / (n − d)². A minimum in the second half means the series
//! has not settled (a saturated or too-short run): the cut is then not trusted.

/// Where MSER-5 cuts a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Truncation {
    /// Leading batches to delete (the minimiser of MSER).
    pub batches: usize,
    /// False when the minimiser lies in the second half of the series: no steady state was
    /// reached within it, so no truncation point can be trusted.
    pub settled: bool,
}

/// The MSER-5 truncation of `batch_means`, or `None` when there are fewer than 10 batches.
pub fn mser_truncation(batch_means: &[f64]) -> Option<Truncation> {
    let n = batch_means.len();
    if n < 10 {
        return None;
    }
    // Suffix sums give every MSER(d) in one backward pass.
    let (mut sum, mut sum_sq) = (0.0, 0.0);
    let mut best = (f64::INFINITY, 0usize);
    let mut scores = vec![0.0; n];
    for d in (0..n).rev() {
        sum += batch_means[d];
        sum_sq += batch_means[d] * batch_means[d];
        let m = (n - d) as f64;
        let ss = (sum_sq - sum * sum / m).max(0.0);
        scores[d] = ss / (m * m);
    }
    // Ignore the last few points, where the score is meaningless (tiny m).
    for (d, &score) in scores.iter().enumerate().take(n - 5) {
        if score < best.0 {
            best = (score, d);
        }
    }
    Some(Truncation { batches: best.1, settled: best.1 <= n / 2 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_end_of_an_initial_transient() {
        // 100 batches: the first 20 decay from 10 to ~1, then noise around 1.
        let xs: Vec<f64> = (0..100)
            .map(|i| if i < 20 { 1.0 + 9.0 * (1.0 - i as f64 / 20.0) } else { 1.0 + 0.01 * ((i * 7919) % 13) as f64 })
            .collect();
        let t = mser_truncation(&xs).unwrap();
        assert!(t.settled && (15..=25).contains(&t.batches), "{t:?}");
    }

    #[test]
    fn a_stationary_series_keeps_almost_everything() {
        let xs: Vec<f64> = (0..200).map(|i| 1.0 + 0.1 * ((i * 7919) % 17) as f64).collect();
        assert!(mser_truncation(&xs).unwrap().batches < 20);
    }

    #[test]
    fn a_growing_series_has_no_steady_state() {
        let xs: Vec<f64> = (0..100).map(|i| i as f64).collect();
        assert!(!mser_truncation(&xs).unwrap().settled);
        assert_eq!(mser_truncation(&xs[..9]), None);
    }
}
