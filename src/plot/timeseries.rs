//! Chart 5: number of requests in each backend over time at the report load, one panel per
//! strategy, on a shared y axis. The picture that explains herding and imbalance: under
//! random dispatch one backend's queue grows while another idles; under JSQ they move
//! together.

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::style::{self, FAMILY};
use super::{Context, Figure, Meta, figure};
use crate::results::TimeSeries;

/// More lines than this per panel become a tangle: the first ones are shown.
const MAX_BACKENDS: usize = 8;
const PANEL_HEIGHT: u32 = 300;

pub fn figures<'r>(ctx: &'r Context<'r>) -> Vec<Figure<'r>> {
    let series = &ctx.results.timeseries;
    if series.is_empty() || series.iter().all(|t| t.series.iter().all(Vec::is_empty)) {
        return vec![];
    }
    let load = series[0].load;
    let backends = series[0].backends.len();
    let mut caption = format!(
        "Requests in each backend (queued and in service) over {} of one run at load {}, sampled every {}; \
         one panel per strategy, same scale. Lines that drift apart show imbalance.",
        crate::units::format_duration(series[0].interval * series[0].series.first().map_or(0, Vec::len) as f64),
        style::tick(load),
        crate::units::format_duration(series[0].interval)
    );
    if backends > MAX_BACKENDS {
        caption += &format!(" Only the first {MAX_BACKENDS} of {backends} backends are drawn.");
    }
    let rows = series.len().div_ceil(2) as u32;
    let meta = Meta {
        stem: "in_system".into(),
        title: format!("Requests in each backend over time at load {} — {}", style::tick(load), ctx.subject()),
        caption,
        legend: series[0].backends.iter().take(MAX_BACKENDS).cloned().collect(),
        size: (style::SIZE.0, 70 + rows * PANEL_HEIGHT),
    };
    vec![figure!(meta, |area| draw(area, ctx))]
}

fn draw<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, ctx: &Context<'_>) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let series = &ctx.results.timeseries;
    let load = series[0].load;
    let title = format!("Requests in each backend over time at load {} — {}", style::tick(load), ctx.subject());
    let body = area.titled(&title, (FAMILY, style::TITLE))?;
    let cols = if series.len() > 1 { 2 } else { 1 };
    let panels = body.split_evenly((series.len().div_ceil(cols), cols));
    let top = series.iter().flat_map(|t| t.series.iter().flatten()).copied().max().unwrap_or(1).max(1);
    for (t, panel) in series.iter().zip(&panels) {
        draw_panel(panel, t, top, t == &series[0])?;
    }
    Ok(())
}

fn draw_panel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, t: &TimeSeries, top: u32, legend: bool) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let samples = t.series.first().map_or(0, Vec::len);
    let duration = t.interval * samples.max(1) as f64;
    if !style::drawable(0.0, duration, false) {
        return style::empty(area, &t.strategy, style::OUT_OF_RANGE);
    }
    let (unit, scale) = crate::units::unit_for(duration);
    let mut chart = ChartBuilder::on(area)
        .caption(&t.strategy, (FAMILY, style::LABEL))
        .margin(10)
        .x_label_area_size(42)
        .y_label_area_size(56)
        .build_cartesian_2d(0.0..duration / scale, 0.0..f64::from(top) * 1.1)?;
    style::mesh(&mut chart, &format!("time ({unit})"), "in system")?;
    for (b, (name, values)) in t.backends.iter().zip(&t.series).take(MAX_BACKENDS).enumerate() {
        let colour = style::colour(b);
        let line = values.iter().enumerate().map(|(k, v)| (k as f64 * t.interval / scale, f64::from(*v)));
        chart
            .draw_series(LineSeries::new(line, colour.stroke_width(2)))?
            .label(name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(3)));
    }
    if legend {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .margin(8)
            .background_style(WHITE.mix(0.92))
            .border_style(BLACK.mix(0.35))
            .label_font((FAMILY, style::TICK))
            .draw()?;
    }
    Ok(())
}
