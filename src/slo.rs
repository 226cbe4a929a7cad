//! Service-level objectives: `METRIC <= DURATION`, e.g. `p99 <= 250ms`. Shared by the
//! reports (`[report] slo`, `lbsim report --slo`) and the capacity planner (`lbsim plan`).

use thiserror::Error;

use crate::units::{format_duration, parse_duration};

/// A service-level objective: `METRIC <= DURATION`, e.g. `p99 <= 250ms`.
#[derive(Debug, Clone, PartialEq)]
pub struct Slo {
    /// Canonical metric name: `mean_response`, `p50`, `p90`, `p95`, `p99` or `p999`.
    pub metric: &'static str,
    /// The limit in seconds (> 0).
    pub limit: f64,
}

/// The quantile level of a percentile metric (0.99 for `p99`), `None` for the means.
pub fn quantile_level(metric: &str) -> Option<f64> {
    match metric {
        "p50" => Some(0.5),
        "p90" => Some(0.9),
        "p95" => Some(0.95),
        "p99" => Some(0.99),
        "p999" => Some(0.999),
        _ => None,
    }
}

/// Why an SLO did not parse; the messages say what is expected.
#[derive(Debug, Error, PartialEq)]
pub enum SloError {
    #[error("SLO \"{0}\": expected \"METRIC <= DURATION\", e.g. \"p99 <= 250ms\" or \"mean <= 40ms\"")]
    Shape(String),
    #[error(
        "SLO \"{0}\": an SLO is an upper limit on response time, written with \"<=\" (e.g. \"p99 <= 250ms\"); \
         \">=\" would ask for slow responses"
    )]
    LowerBound(String),
    #[error("SLO \"{text}\": unknown metric \"{metric}\" (use mean, p50, p90, p95, p99 or p999)")]
    Metric { text: String, metric: String },
    #[error(
        "SLO \"{text}\": \"{metric}\" is not a percentile (they run from p0 to p100, and lbsim measures p50, p90, p95, p99 and p999)"
    )]
    Percentile { text: String, metric: String },
    #[error("SLO \"{text}\": {why}")]
    Duration { text: String, why: String },
    #[error("SLO \"{text}\": the limit must be a positive duration, e.g. \"250ms\", found \"{limit}\"")]
    NotPositive { text: String, limit: String },
    #[error(
        "SLO \"{0}\": one objective per SLO, like \"p99 <= 250ms\"; the findings judge every strategy against a \
         single limit (to check several, run `lbsim report DIR --slo …` once for each)"
    )]
    Compound(String),
}

impl Slo {
    /// Parses `p99 <= 250ms` (`≤` is accepted for `<=`).
    pub fn parse(text: &str) -> Result<Slo, SloError> {
        let objectives = text.matches("<=").count() + text.matches('≤').count();
        let joined =
            text.split_whitespace().any(|w| matches!(w.to_ascii_lowercase().as_str(), "and" | "or" | "&&" | "||"));
        if objectives > 1 || (objectives == 1 && (joined || text.contains([',', ';']))) {
            return Err(SloError::Compound(text.to_string()));
        }
        if objectives == 0 && (text.contains(">=") || text.contains('≥') || text.contains('>')) {
            return Err(SloError::LowerBound(text.to_string()));
        }
        let (metric, limit) =
            text.split_once("<=").or_else(|| text.split_once('≤')).ok_or_else(|| SloError::Shape(text.to_string()))?;
        let metric = match metric.trim() {
            "mean" | "mean_response" => "mean_response",
            "p50" => "p50",
            "p90" => "p90",
            "p95" => "p95",
            "p99" => "p99",
            "p999" | "p99.9" => "p999",
            "" => return Err(SloError::Shape(text.to_string())),
            other => {
                let percent = other.strip_prefix('p').and_then(|n| n.parse::<f64>().ok());
                return Err(match percent {
                    Some(p) if !(0.0..=100.0).contains(&p) => {
                        SloError::Percentile { text: text.to_string(), metric: other.to_string() }
                    }
                    _ => SloError::Metric { text: text.to_string(), metric: other.to_string() },
                });
            }
        };
        if limit.trim().is_empty() {
            return Err(SloError::Shape(text.to_string()));
        }
        if limit.trim().starts_with('-') {
            return Err(SloError::NotPositive { text: text.to_string(), limit: limit.trim().to_string() });
        }
        let seconds = parse_duration(limit).map_err(|why| SloError::Duration { text: text.to_string(), why })?;
        if seconds <= 0.0 {
            return Err(SloError::NotPositive { text: text.to_string(), limit: limit.trim().to_string() });
        }
        Ok(Slo { metric, limit: seconds })
    }

    /// `p99 ≤ 250ms`.
    pub fn describe(&self) -> String {
        format!("{} ≤ {}", self.metric_name(), format_duration(self.limit))
    }

    /// `p99 <= 250ms`: the form [`Slo::parse`] reads back (for JSON and command lines).
    pub fn text(&self) -> String {
        format!("{} <= {}", self.metric_name(), format_duration(self.limit))
    }

    /// The metric as users write it (`mean`, `p99`).
    pub fn metric_name(&self) -> &'static str {
        if self.metric == "mean_response" { "mean" } else { self.metric }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slo_parses_metric_and_duration() {
        assert_eq!(Slo::parse("p99 <= 250ms").unwrap(), Slo { metric: "p99", limit: 0.25 });
        assert_eq!(Slo::parse(" mean<=40ms ").unwrap(), Slo { metric: "mean_response", limit: 0.04 });
        assert_eq!(Slo::parse("p999 ≤ 1s").unwrap().metric, "p999");
        assert_eq!(Slo::parse("p99 <= 250ms").unwrap().text(), "p99 <= 250ms");
    }

    #[test]
    fn slo_errors_say_what_is_expected() {
        let shape = Slo::parse("p99 < 250ms").unwrap_err().to_string();
        assert!(shape.contains("expected \"METRIC <= DURATION\""), "{shape}");
        let metric = Slo::parse("p98 <= 250ms").unwrap_err().to_string();
        assert!(metric.contains("unknown metric \"p98\"") && metric.contains("p999"), "{metric}");
        let duration = Slo::parse("p99 <= fast").unwrap_err().to_string();
        assert!(duration.contains("expected a duration"), "{duration}");
        assert!(Slo::parse("p99 <= ").is_err());
        let over = Slo::parse("p101 <= 1s").unwrap_err().to_string();
        assert!(over.contains("\"p101\" is not a percentile"), "{over}");
        let negative = Slo::parse("p99 <= -1ms").unwrap_err().to_string();
        assert!(negative.contains("must be a positive duration") && negative.contains("-1ms"), "{negative}");
        let zero = Slo::parse("p99 <= 0ms").unwrap_err().to_string();
        assert!(zero.contains("must be a positive duration"), "{zero}");
        let lower = Slo::parse("mean >= 2s").unwrap_err().to_string();
        assert!(lower.contains("upper limit") && lower.contains("\">=\""), "{lower}");
    }
}
