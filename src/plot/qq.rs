//! Q–Q chart of fitted service-time distributions against the observed durations (`lbsim
//! fit`): each candidate's quantiles plotted against the sample's at the same
//! probabilities, on log-log axes so that the body and the tail both show. A candidate that
//! fits lies on the diagonal; one that bends away above it overstates the tail.

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::style;
use super::{Figure, Meta, figure};

/// What the chart shows: for each candidate, (observed quantile, fitted quantile) pairs in
/// seconds.
pub struct QqData {
    pub subject: String,
    pub series: Vec<(String, Vec<(f64, f64)>)>,
}

/// The Q–Q figure of `data`.
pub fn figure(data: &QqData) -> Figure<'_> {
    let meta = Meta {
        stem: "qq".into(),
        title: format!("Q–Q: fitted vs observed service time — {}", data.subject),
        caption: "Quantiles of each fitted distribution against the same quantiles of the log's durations \
                  (probabilities 1 % to 99.9 %), log-log axes. On the diagonal = a perfect fit."
            .into(),
        legend: data.series.iter().map(|s| s.0.clone()).collect(),
        size: style::SIZE,
    };
    figure!(meta, |area| draw(area, data))
}

fn draw<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, data: &QqData) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let points = data.series.iter().flat_map(|s| s.1.iter()).filter(|p| p.0 > 0.0 && p.1 > 0.0);
    let (unit, scale) = style::time_unit(data.series.iter().flat_map(|s| s.1.iter().map(|p| p.0)));
    let (lo, hi) = points.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
        (a.min(p.0.min(p.1) / scale), b.max(p.0.max(p.1) / scale))
    });
    let title = format!("Q–Q: fitted vs observed service time — {}", data.subject);
    if !lo.is_finite() {
        return style::empty(area, &title, "no positive durations to compare");
    }
    let range = lo * 0.8..hi * 1.25;
    let mut chart = style::builder(area, &title).build_cartesian_2d(range.clone().log_scale(), range.log_scale())?;
    style::mesh(&mut chart, &format!("observed quantile ({unit})"), &format!("fitted quantile ({unit})"))?;
    chart
        .draw_series(LineSeries::new([(lo * 0.8, lo * 0.8), (hi * 1.25, hi * 1.25)], style::THEORY.stroke_width(1)))?;
    for (s, (label, pairs)) in data.series.iter().enumerate() {
        let line: Vec<(f64, f64)> =
            pairs.iter().filter(|p| p.0 > 0.0 && p.1 > 0.0).map(|p| (p.0 / scale, p.1 / scale)).collect();
        style::strategy_line(&mut chart, s, label, line, false)?;
    }
    style::legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
    Ok(())
}
