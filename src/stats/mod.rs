//! Bounded-memory statistics: response-time histograms, confidence intervals, warm-up detection.

mod estimate;
mod histogram;
mod mser;
mod proportion;
mod quantile;

pub use estimate::{Estimate, f64_or_nan, student_t_quantile};
pub use histogram::{HistogramBuffer, ResponseHistogram};
pub use mser::{Truncation, mser_truncation};
pub use proportion::exceedance_fraction;
pub use quantile::{
    MIN_EXCEEDANCES, MIN_QUANTILE_EXCEEDANCES, MIN_SECTIONS_WITH_EXCEEDANCES, QuantileInterval, quantile_interval,
    quantile_intervals, quantile_of_mixture,
};
