//! The results of a sweep as stored in `results.json`: the contract between the sweep (which
//! writes it), and the charts and reports (which read it, also long after, through
//! `lbsim report DIR`). Everything a chart or a report shows must be here, so that reports can
//! be regenerated without simulating again.

use serde::{Deserialize, Serialize};

use crate::runner::StrategyResult;
use crate::stats::f64_or_nan;

/// Everything a sweep produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepResults {
    /// `lbsim` version that produced the file.
    pub lbsim_version: String,
    pub experiment: String,
    pub description: Option<String>,
    pub seed: u64,
    /// The command line, for "how to reproduce".
    pub command: Vec<String>,
    /// The experiment file with every override applied (TOML text).
    pub config: String,
    /// What was simulated, in words, for report tables.
    pub summary: ModelSummary,
    /// The sweep's axes, in file order (dotted key paths, e.g. `arrivals.load`).
    pub axes: Vec<Axis>,
    /// One entry per grid point, in grid order (first axis slowest).
    pub points: Vec<PointResults>,
    /// Strategy labels in the order of `[balancer] strategies` (the colour order of charts).
    pub strategies: Vec<String>,
    /// Number in system over time at the report load, per strategy (chart 5).
    #[serde(default)]
    pub timeseries: Vec<TimeSeries>,
    /// The `[report]` options as given (metric names, load for per-load charts, SLO).
    #[serde(default)]
    pub report: ReportOptions,
}

/// A sweep axis: a key path and its values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Axis {
    pub path: String,
    pub values: Vec<f64>,
}

/// Plain-words description of the model (of the base file, before axes change it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelSummary {
    /// E.g. `poisson(120/s)`.
    pub arrivals: String,
    /// E.g. `bounded_pareto(α 1.3, 1ms–10s, mean 3.2ms)`.
    pub service: String,
    /// Mean request size (seconds at speed 1) and its coefficient of variation.
    #[serde(deserialize_with = "f64_or_nan")]
    pub service_mean: f64,
    /// Infinite for sizes without a finite variance (written as `null`).
    #[serde(deserialize_with = "f64_or_nan")]
    pub service_cv: f64,
    /// One line per backend group, e.g. `4 × web: 4 sync workers, speed 1`.
    pub backends: Vec<String>,
    /// Σ workers × speed.
    pub capacity: f64,
    pub requests: u64,
    pub warmup: String,
    pub replications: u32,
}

/// The results at one grid point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointResults {
    /// Index of the point in the grid (also its seed component).
    pub index: u64,
    /// The value of each axis, in the order of [`SweepResults::axes`].
    pub values: Vec<f64>,
    /// One per strategy, in the order of [`SweepResults::strategies`].
    pub results: Vec<StrategyResult>,
    /// Theory for each strategy where a closed form exists (same order; `None` otherwise).
    pub theory: Vec<Option<TheoryValue>>,
}

/// A closed-form mean response time, with the name of the model it comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TheoryValue {
    /// Infinite for an unstable system (written as `null`, read back as NaN).
    #[serde(deserialize_with = "f64_or_nan")]
    pub mean_response: f64,
    pub model: String,
}

/// Number in system of every backend, sampled every `interval` seconds, for one strategy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeSeries {
    pub strategy: String,
    /// The grid point it was taken at.
    pub point: u64,
    pub load: f64,
    pub interval: f64,
    /// Backend names and one series per backend: every backend of a cluster of at most
    /// [`crate::sweep::output::TIMESERIES_BACKENDS`], else the first that many.
    pub backends: Vec<String>,
    pub series: Vec<Vec<u32>>,
    /// The cluster's backends when `backends` holds only the first of them (absent when it
    /// holds them all, and in results written before series were limited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_backends: Option<u64>,
    /// With a ramp of users: when the first sample was taken (seconds since the run began,
    /// at the warm-up's end), so that charts place the samples along the ramp. Absent
    /// otherwise (the samples then start at the warm-up's end, whenever that was).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<f64>,
}

impl TimeSeries {
    /// The backends of the cluster the series were taken in (more than `backends` when only
    /// the first were recorded).
    pub fn cluster_size(&self) -> usize {
        self.cluster_backends.map_or(self.backends.len(), |n| n as usize)
    }
}

/// `[report]` options.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReportOptions {
    /// Metrics to chart against load (default: mean_response and p99).
    #[serde(default)]
    pub metrics: Vec<String>,
    /// The load for per-load charts (utilisation bars, CCDF, time series); default: the
    /// highest swept load below 1 (or the nearest to 0.9).
    pub load: Option<f64>,
    /// Service-level objective, e.g. `p99 <= 250ms`.
    pub slo: Option<String>,
    /// Heading of the reports (default: the experiment name).
    #[serde(default)]
    pub title: Option<String>,
}

impl SweepResults {
    /// The reports' heading: `[report] title`, or the experiment name.
    pub fn title(&self) -> &str {
        self.report.title.as_deref().unwrap_or(&self.experiment)
    }

    /// The index of the axis called `path` (`load` is accepted for `arrivals.load`).
    pub fn axis(&self, path: &str) -> Option<usize> {
        let path = if path == "load" { "arrivals.load" } else { path };
        self.axes.iter().position(|a| a.path == path)
    }
}

/// Checks that `load` (a `[report] load` or `lbsim report --load`) is one of the offered
/// `loads` of a sweep (to 6 significant digits): the per-load charts are drawn at a swept
/// point, never silently at another one.
pub fn check_swept_load(load: f64, loads: &[f64]) -> Result<(), String> {
    if !(load.is_finite() && load > 0.0) {
        return Err(format!("the report load must be a positive number (an offered load such as 0.9), found {load}"));
    }
    let close = |x: f64| (x - load).abs() <= 1e-6 * load.abs().max(x.abs());
    if loads.iter().any(|&x| close(x)) {
        return Ok(());
    }
    let mut swept: Vec<f64> = loads.iter().copied().filter(|x| x.is_finite()).collect();
    swept.sort_by(f64::total_cmp);
    swept.dedup_by(|a, b| (*a - *b).abs() <= 1e-9 * a.abs().max(b.abs()));
    let shown: Vec<String> = swept.iter().map(|x| crate::units::significant(*x, 4)).collect();
    Err(format!("load {load} was not swept; the swept loads are {}", shown.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_numbers_read_back_as_nan() {
        let theory = TheoryValue { mean_response: f64::INFINITY, model: "M/M/1".into() };
        let text = serde_json::to_string(&theory).unwrap();
        assert_eq!(text, r#"{"mean_response":null,"model":"M/M/1"}"#);
        let back: TheoryValue = serde_json::from_str(&text).unwrap();
        assert!(back.mean_response.is_nan());
    }
}
