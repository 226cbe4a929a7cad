//! Goodput and p99 over time at the focus point, one line per strategy, with the intervals
//! of scheduled faults shaded (runs with `[run] series`). Averages hide what a fault does;
//! this shows whether goodput comes back when the fault is over, and how fast.

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::style;
use super::{Context, Figure, Meta, figure};
use crate::engine::RunSeries;

/// Which quantity a figure draws.
#[derive(Clone, Copy)]
enum Quantity {
    Goodput,
    P99,
}

pub fn figures<'r>(ctx: &'r Context<'r>) -> Vec<Figure<'r>> {
    if series(ctx).iter().all(Option::is_none) {
        return vec![];
    }
    let windows = windows_text(series(ctx).iter().flatten().map(|s| s.width));
    let shading = " Grey bands: scheduled faults (outages, slow-downs, deploys).";
    let reference = reference_name(ctx);
    let beside = if ctx.closed_loop() {
        "the rate the users sent (dashed, the first strategy's: closed-loop users send as their responses come \
         back, so this rate is carried, not offered independently)"
    } else {
        "the offered rate (dashed)"
    };
    [
        (
            Quantity::Goodput,
            "goodput_over_time",
            "Goodput over time",
            format!(
                "Requests completed successfully per second in windows of {windows} over one run {}, beside \
                 {beside}. A line that stays low after a band has ended is a metastable failure: \
                 the retries keep the overload going without the trigger.{shading}",
                ctx.focus_label()
            ),
        ),
        (
            Quantity::P99,
            "p99_over_time",
            "p99 over time",
            format!(
                "99th percentile of the response times of the requests completed in each window of {windows} {} \
                 (log scale; resolution 7 %).{shading}",
                ctx.focus_label()
            ),
        ),
    ]
    .into_iter()
    .map(|(q, stem, what, caption)| {
        let mut legend = ctx.strategies().to_vec();
        if let Quantity::Goodput = q {
            legend.push(reference.into());
        }
        let meta = Meta {
            stem: stem.into(),
            title: format!("{what} — {}", ctx.subject()),
            caption,
            legend,
            size: style::SIZE,
        };
        figure!(meta, |area| draw(area, ctx, q, what))
    })
    .collect()
}

/// The windows' width for a caption: one width, or the range when a run outlasted
/// [`MAX_WINDOWS`](crate::engine::MAX_WINDOWS) windows and merged them (another strategy's
/// run, whose last completions came earlier, may not have).
fn windows_text(widths: impl Iterator<Item = f64>) -> String {
    let (low, high) = widths.fold((f64::INFINITY, 0.0f64), |(low, high), w| (low.min(w), high.max(w)));
    if low > high {
        // (No series.)
        return crate::units::format_duration(1.0);
    }
    if low == high {
        return crate::units::format_duration(low);
    }
    format!(
        "{} to {} (a run longer than {} windows merges them in pairs)",
        crate::units::format_duration(low),
        crate::units::format_duration(high),
        crate::engine::MAX_WINDOWS
    )
}

/// The dashed reference line's name: what the arrival rate per window is.
fn reference_name(ctx: &Context<'_>) -> &'static str {
    if ctx.closed_loop() { "sent by the users" } else { "offered" }
}

/// The series of each strategy at the focus point.
fn series<'r>(ctx: &Context<'r>) -> Vec<Option<&'r RunSeries>> {
    (0..ctx.strategies().len()).map(|s| ctx.result(ctx.focus, s).and_then(|r| r.series.as_ref())).collect()
}

fn draw<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, ctx: &Context<'_>, q: Quantity, what: &str) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let all = series(ctx);
    let title = format!("{what} — {}", ctx.subject());
    let value = |row: &crate::engine::SeriesRow| match q {
        Quantity::Goodput => row.goodput,
        Quantity::P99 => row.p99,
    };
    let end = all.iter().flatten().flat_map(|s| s.rows.last().map(|r| r.t + s.width)).fold(0.0f64, f64::max);
    let values = || all.iter().flatten().flat_map(|s| s.rows.iter().map(value)).filter(|v| v.is_finite() && *v > 0.0);
    let (unit, scale) = crate::units::unit_for(end.max(1e-9));
    let x1 = end / scale;
    match q {
        Quantity::Goodput => {
            let top = values()
                .chain(all.iter().flatten().flat_map(|s| s.rows.iter().map(|r| r.arrival_rate)))
                .fold(0.0f64, f64::max)
                * style::legend_headroom(ctx.strategies().len() + 1);
            if !style::drawable(0.0, top, false) || !style::drawable(0.0, x1, false) {
                return style::empty(area, &title, style::OUT_OF_RANGE);
            }
            let mut chart = style::builder(area, &title).build_cartesian_2d(0.0..x1, 0.0..top)?;
            style::mesh(&mut chart, &format!("time ({unit})"), "goodput (requests/s)")?;
            shade(&mut chart, &all, scale, (0.0, top))?;
            if let Some(first) = all.iter().flatten().next() {
                let offered = first.rows.iter().map(|r| (r.t / scale, r.arrival_rate)).collect::<Vec<_>>();
                style::dashed_line(&mut chart, offered, style::THEORY, reference_name(ctx).into())?;
            }
            lines(&mut chart, ctx, &all, scale, value)?;
            style::legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        }
        Quantity::P99 => {
            let (lo, hi) = values().fold((f64::INFINITY, 0.0f64), |(a, b), v| (a.min(v), b.max(v)));
            let (tunit, tscale) = style::time_unit(values());
            let (lo, hi) = (lo / tscale / 1.5, hi / tscale * 1.5 * style::legend_headroom(ctx.strategies().len()));
            if !style::drawable(lo, hi, true) || !style::drawable(0.0, x1, false) {
                return style::empty(area, &title, "no completed request to draw");
            }
            let mut chart = style::builder(area, &title).build_cartesian_2d(0.0..x1, (lo..hi).log_scale())?;
            style::mesh(&mut chart, &format!("time ({unit})"), &format!("p99 ({tunit})"))?;
            shade(&mut chart, &all, scale, (lo, hi))?;
            lines(&mut chart, ctx, &all, scale, |r| value(r) / tscale)?;
            style::legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        }
    }
    Ok(())
}

/// Grey bands over the scheduled faults' intervals.
fn shade<DB, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, Y>>,
    all: &[Option<&RunSeries>],
    scale: f64,
    (y0, y1): (f64, f64),
) -> Result<()>
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
    Y: Ranged<ValueType = f64>,
{
    if let Some(s) = all.iter().flatten().next() {
        let band = style::SATURATED.mix(0.35).filled();
        chart.draw_series(s.faults.iter().map(|[a, b]| Rectangle::new([(a / scale, y0), (b / scale, y1)], band)))?;
    }
    Ok(())
}

fn lines<'a, DB, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, Y>>,
    ctx: &Context<'_>,
    all: &[Option<&RunSeries>],
    scale: f64,
    value: impl Fn(&crate::engine::SeriesRow) -> f64,
) -> Result<()>
where
    DB: DrawingBackend + 'a,
    DB::ErrorType: 'static,
    Y: Ranged<ValueType = f64>,
{
    for (s, series) in all.iter().enumerate() {
        let Some(series) = series else { continue };
        // Mid-window points; windows without a value (no completion) break nothing: skipped.
        let points: Vec<(f64, f64)> = series
            .rows
            .iter()
            .map(|r| ((r.t + series.width / 2.0) / scale, value(r)))
            .filter(|p| p.1.is_finite())
            .collect();
        style::strategy_line(chart, s, &ctx.strategies()[s], points, false)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_caption_names_the_one_width_or_the_range() {
        assert_eq!(windows_text([2.0, 2.0].into_iter()), crate::units::format_duration(2.0));
        let both = windows_text([4.0, 2.0].into_iter());
        assert!(both.starts_with(&crate::units::format_duration(2.0)), "{both}");
        assert!(both.contains(&crate::units::format_duration(4.0)) && both.contains("merges them in pairs"), "{both}");
    }
}
