//! Bounded-memory statistics: response-time histograms, confidence intervals, warm-up detection.

mod estimate;
mod histogram;
mod mser;

pub use estimate::{Estimate, f64_or_nan, student_t_quantile};
pub use histogram::ResponseHistogram;
pub use mser::mser_truncation;
