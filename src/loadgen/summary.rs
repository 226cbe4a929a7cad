//! What a replay measured, in the terms `lbsim run --json` uses, so the two can be compared
//! line by line.

use serde::Serialize;

use super::Record;

/// One backend's part of the measured responses.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BackendShare {
    /// The `X-Backend` header.
    pub name: String,
    pub completed: u64,
    /// completed ÷ all successful measured responses.
    pub share: f64,
}

/// Summary of the measured requests (after the warm-up) of a replay. Times in seconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Measured requests (successful or not).
    pub requests: u64,
    /// Measured requests without a 2xx response.
    pub errors: u64,
    pub mean_response: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
    /// By backend name.
    pub backends: Vec<BackendShare>,
    /// Send time − scheduled time over every request (warm-up included): the generator's
    /// own timing error.
    pub send_lag_p50: f64,
    pub send_lag_p99: f64,
    pub send_lag_max: f64,
    /// Achieved send rate over the whole replay (requests per second).
    pub rate: f64,
}

/// Summarises `records`, discarding the first `warmup` from the response-time figures.
/// Percentiles are exact order statistics (nearest rank) of the measured responses.
pub fn summarise(records: &[Record], warmup: usize) -> Summary {
    let measured = records.get(warmup.min(records.len())..).unwrap_or_default();
    let ok = |r: &&Record| (200..300).contains(&r.status) && r.response.is_finite();
    let mut times: Vec<f64> = measured.iter().filter(ok).map(|r| r.response).collect();
    times.sort_by(f64::total_cmp);
    let mut lags: Vec<f64> = records.iter().map(|r| r.sent - r.scheduled).collect();
    lags.sort_by(f64::total_cmp);
    let mut backends: Vec<BackendShare> = Vec::new();
    for r in measured.iter().filter(ok) {
        match backends.iter_mut().find(|b| b.name == r.backend) {
            Some(b) => b.completed += 1,
            None => backends.push(BackendShare { name: r.backend.clone(), completed: 1, share: 0.0 }),
        }
    }
    backends.sort_by(|a, b| a.name.cmp(&b.name));
    for b in &mut backends {
        b.share = b.completed as f64 / times.len() as f64;
    }
    let span = match (records.first(), records.last()) {
        (Some(a), Some(b)) if b.scheduled > a.scheduled => b.scheduled - a.scheduled,
        _ => f64::NAN,
    };
    Summary {
        requests: measured.len() as u64,
        errors: (measured.len() - times.len()) as u64,
        mean_response: times.iter().sum::<f64>() / times.len() as f64,
        p50: quantile(&times, 0.50),
        p90: quantile(&times, 0.90),
        p99: quantile(&times, 0.99),
        max: times.last().copied().unwrap_or(f64::NAN),
        backends,
        send_lag_p50: quantile(&lags, 0.50),
        send_lag_p99: quantile(&lags, 0.99),
        send_lag_max: lags.last().copied().unwrap_or(f64::NAN),
        rate: (records.len().saturating_sub(1)) as f64 / span,
    }
}

/// Nearest-rank quantile of sorted values (NaN when empty).
pub(crate) fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(index: usize, response: f64, status: u16, backend: &str) -> Record {
        Record {
            index,
            scheduled: index as f64,
            sent: index as f64 + 0.001,
            response,
            status,
            backend: backend.into(),
            worker: String::new(),
            client: 0,
            size: 0.01,
            error: String::new(),
        }
    }

    #[test]
    fn warmup_and_failures_are_left_out_of_response_times() {
        let mut records: Vec<Record> =
            (0..101).map(|i| record(i, i as f64, 200, if i % 2 == 0 { "a" } else { "b" })).collect();
        records[50].status = 502;
        let s = summarise(&records, 1);
        assert_eq!((s.requests, s.errors), (100, 1));
        assert_eq!((s.p50, s.p99, s.max), (51.0, 100.0, 100.0));
        assert_eq!(s.backends.iter().map(|b| b.completed).collect::<Vec<_>>(), vec![49, 50]);
        assert!((s.send_lag_max - 0.001).abs() < 1e-9);
        assert!((s.rate - 1.0).abs() < 1e-12);
    }

    #[test]
    fn quantiles_are_nearest_rank() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!((quantile(&v, 0.5), quantile(&v, 0.9), quantile(&v, 0.99)), (5.0, 9.0, 10.0));
        assert!(quantile(&[], 0.5).is_nan());
    }
}
