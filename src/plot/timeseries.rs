//! Chart 5: number of requests in each backend over time at the report load, one panel per
//! strategy, on a shared y axis. The picture that explains herding and imbalance: under
//! random dispatch one backend's queue grows while another idles; under JSQ they move
//! together.
//!
//! The shared scale is what makes panels comparable, but one runaway panel (a saturated
//! strategy whose queue climbs to hundreds) would flatten all the others: when the highest
//! panel reaches more than [`CLIP_RATIO`] times the next, the axis stops at 1.5 times the next
//! and the runaway panel says how high it went. The backends' legend sits in a strip under
//! the title, where it covers no line.

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::style::{self, FAMILY};
use super::{Context, Figure, Meta, figure};
use crate::results::TimeSeries;

/// More lines than this per panel become a tangle: the first ones are shown.
pub(crate) const MAX_BACKENDS: usize = 8;
const PANEL_HEIGHT: u32 = 300;
/// Height of the legend strip under the title.
const LEGEND_HEIGHT: u32 = 34;
/// A panel peaking at more than this many times the next highest one is clipped.
const CLIP_RATIO: u32 = 3;

/// The series to draw: those recorded at the per-load charts' point, else (results written
/// before `lbsim report --load` could move them) whatever was recorded.
pub(crate) fn chosen<'r>(ctx: &Context<'r>) -> Vec<&'r TimeSeries> {
    let all = &ctx.results.timeseries;
    let focus = ctx.results.points[ctx.focus].index;
    let at: Vec<&TimeSeries> = all.iter().filter(|t| t.point == focus).collect();
    if at.is_empty() { all.iter().collect() } else { at }
}

/// The largest number in system a panel draws.
fn peak(t: &TimeSeries) -> u32 {
    t.series.iter().take(MAX_BACKENDS).flatten().copied().max().unwrap_or(0)
}

/// The y axis top shared by the panels, and whether it clips the highest one.
fn scale(series: &[&TimeSeries]) -> (u32, bool) {
    let mut peaks: Vec<u32> = series.iter().map(|t| peak(t)).collect();
    peaks.sort_unstable_by(|a, b| b.cmp(a));
    match peaks.as_slice() {
        [first, second, ..] if *second > 0 && *first > CLIP_RATIO * second => ((second * 3).div_ceil(2).max(1), true),
        [first, ..] => ((*first).max(1), false),
        [] => (1, false),
    }
}

/// Whether the strategy of `t` is saturated at the point its series was taken.
fn saturated(ctx: &Context<'_>, t: &TimeSeries) -> bool {
    let Some(p) = ctx.results.points.iter().find(|p| p.index == t.point) else { return false };
    p.results.iter().any(|r| r.strategy == t.strategy && r.saturated)
}

/// `at load 0.9`, or for a ramp of users `with users ramped 0 → 200 over 2m, then held`
/// (the load of a ramped run is a mean over every population along it).
fn at(ctx: &Context<'_>, load: f64) -> String {
    match super::context::ramp_words(ctx.closed_loops(ctx.focus)) {
        Some(ramp) => format!("with {ramp}"),
        None => format!("at load {}", style::tick(load)),
    }
}

fn title(ctx: &Context<'_>, load: f64) -> String {
    format!("Requests in each backend over time {} — {}", at(ctx, load), ctx.subject())
}

pub fn figures<'r>(ctx: &'r Context<'r>) -> Vec<Figure<'r>> {
    let series = chosen(ctx);
    if series.is_empty() || series.iter().all(|t| t.series.iter().all(Vec::is_empty)) {
        return vec![];
    }
    let load = series[0].load;
    let backends = series[0].cluster_size();
    let (top, clipped) = scale(&series);
    let mut caption = format!(
        "Requests in each backend (queued and in service) over {} of one run {}, sampled every {}; \
         one panel per strategy, same scale. Lines that drift apart show imbalance.",
        crate::units::format_duration(series[0].interval * series[0].series.first().map_or(0, Vec::len) as f64),
        at(ctx, load),
        crate::units::format_duration(series[0].interval)
    );
    let ramped = ctx.result(ctx.focus, 0).and_then(|r| r.closed_loop.as_ref()).is_some_and(|c| c.ramped);
    match (ramped, series[0].start) {
        (true, Some(start)) => {
            caption += &format!(
                " The users follow the ramp: the samples span the whole measured run, from {} (where the \
                 measurement began) on, on the run's clock, so each stage of the ramp shows.",
                crate::units::format_duration(start)
            )
        }
        // Results written before the samples spanned a ramp.
        (true, None) => {
            caption += " The users change along the ramp: these are the first moments after the warm-up, not the \
                        whole run."
        }
        _ => {}
    }
    if clipped {
        let over: Vec<String> =
            series.iter().filter(|t| peak(t) > top).map(|t| format!("{} reaches {}", t.strategy, peak(t))).collect();
        caption += &format!(
            " The scale stops at {top} so that the other panels stay readable: {} (its lines run along the top \
             while off scale).",
            over.join(", ")
        );
    }
    let sat: Vec<&str> = series.iter().filter(|t| saturated(ctx, t)).map(|t| t.strategy.as_str()).collect();
    if !sat.is_empty() {
        caption += &format!(
            " Saturated at this load, so their queues grow with the run rather than settle: {}.",
            sat.join(", ")
        );
    }
    let focus_load = ctx.result(ctx.focus, 0).map_or(f64::NAN, |r| r.load);
    if series[0].point != ctx.results.points[ctx.focus].index && focus_load.is_finite() {
        caption += &format!(
            " The sweep recorded these series at load {}, not at the other per-load charts' load {} (redraw with \
             `lbsim report DIR --load {}` beside the sweep's journal to record them there).",
            style::tick(load),
            style::tick(focus_load),
            style::tick(focus_load)
        );
    }
    if backends > MAX_BACKENDS {
        caption += &format!(" Only the first {MAX_BACKENDS} of {backends} backends are drawn.");
    }
    let rows = series.len().div_ceil(2) as u32;
    let meta = Meta {
        stem: "in_system".into(),
        title: title(ctx, load),
        caption,
        legend: series[0].backends.iter().take(MAX_BACKENDS).cloned().collect(),
        size: (style::SIZE.0, 70 + LEGEND_HEIGHT + rows * PANEL_HEIGHT),
    };
    vec![figure!(meta, |area| draw(area, ctx))]
}

fn draw<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, ctx: &Context<'_>) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let series = chosen(ctx);
    let title = title(ctx, series[0].load);
    let body = area.titled(&title, (FAMILY, style::title_size(&title)))?;
    let (strip, body) = body.split_vertically(LEGEND_HEIGHT);
    legend_strip(&strip, &series[0].backends)?;
    let cols = if series.len() > 1 { 2 } else { 1 };
    let panels = body.split_evenly((series.len().div_ceil(cols), cols));
    let (top, _) = scale(&series);
    for (t, panel) in series.iter().zip(&panels) {
        let mut name = t.strategy.clone();
        if saturated(ctx, t) {
            name += " (saturated)";
        }
        if peak(t) > top {
            name += &format!(" — off scale, up to {}", peak(t));
        }
        draw_panel(panel, t, &name, top)?;
    }
    Ok(())
}

/// The backends' colours and names in one centred row.
fn legend_strip<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, names: &[String]) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let names: Vec<&String> = names.iter().take(MAX_BACKENDS).collect();
    let font = (FAMILY, style::LEGEND).into_text_style(area).pos(Pos::new(HPos::Left, VPos::Center));
    // Widths from the text's own extent, so that the row is centred whatever the names.
    let widths: Vec<i32> = names
        .iter()
        .map(|n| area.estimate_text_size(n, &font).map_or(n.chars().count() as i32 * 9, |(w, _)| w as i32) + 48)
        .collect();
    let (w, h) = area.dim_in_pixel();
    let mut x = (w as i32 - widths.iter().sum::<i32>()).max(0) / 2;
    let y = h as i32 / 2;
    for (b, (name, width)) in names.iter().zip(&widths).enumerate() {
        area.draw(&PathElement::new(vec![(x, y), (x + 26, y)], style::colour(b).stroke_width(3)))?;
        area.draw_text(name, &font, (x + 34, y))?;
        x += width;
    }
    Ok(())
}

fn draw_panel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, t: &TimeSeries, name: &str, top: u32) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let samples = t.series.first().map_or(0, Vec::len);
    // Along a ramp, the run's clock (the samples start at the warm-up's end); else from 0.
    let start = t.start.unwrap_or(0.0);
    let duration = t.interval * samples.max(1) as f64;
    if !style::drawable(start, start + duration, false) {
        return style::empty(area, name, style::OUT_OF_RANGE);
    }
    let (unit, scale) = crate::units::unit_for(start + duration);
    let ceiling = f64::from(top) * 1.1;
    let mut chart = ChartBuilder::on(area)
        .caption(name, (FAMILY, style::LABEL))
        .margin(10)
        .x_label_area_size(42)
        .y_label_area_size(56)
        .build_cartesian_2d(start / scale..(start + duration) / scale, 0.0..ceiling)?;
    style::mesh(&mut chart, &format!("time ({unit})"), "in system")?;
    for (b, values) in t.series.iter().take(MAX_BACKENDS).enumerate() {
        let colour = style::colour(b);
        // Values off scale run along the top edge rather than out of the panel.
        let line = values
            .iter()
            .enumerate()
            .map(|(k, v)| ((start + k as f64 * t.interval) / scale, f64::from(*v).min(ceiling)));
        chart.draw_series(LineSeries::new(line, colour.stroke_width(2)))?;
    }
    Ok(())
}
