//! Chart 4a: the fraction of requests rejected (backlog or connection limit full) against
//! load, one line per strategy. Drawn only when something was rejected.

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::style;
use super::{Context, Figure, Meta, figure};

pub fn figures<'r>(ctx: &'r Context<'r>) -> Vec<Figure<'r>> {
    let any = ctx.slice.iter().any(|&i| ctx.results.points[i].results.iter().any(|r| r.rejected_fraction > 0.0));
    if !any {
        return vec![];
    }
    if ctx.single() {
        let meta = Meta {
            stem: "rejected".into(),
            title: super::single::title(ctx, "Rejected requests"),
            caption: format!(
                "Percentage of arriving requests turned away {} because the chosen backend's backlog (or \
                 connection limit) was full, per strategy.",
                ctx.focus_label()
            ),
            legend: vec![],
            size: style::SIZE,
        };
        return vec![figure!(meta, |area| super::single::rejected(area, ctx))];
    }
    let meta = Meta {
        stem: "rejected".into(),
        title: format!("Rejected requests vs {} — {}", ctx.x_words(), ctx.subject()),
        caption: "Percentage of arriving requests turned away because the chosen backend's backlog (or \
                  connection limit) was full. A strategy that overloads one backend rejects long before \
                  the cluster is full."
            .into(),
        legend: ctx.strategies().to_vec(),
        size: style::SIZE,
    };
    vec![figure!(meta, |area| draw(area, ctx))]
}

fn draw<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, ctx: &Context<'_>) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let lines = ctx.all_series(|r| r.rejected_fraction * 100.0);
    let top = lines.iter().flatten().map(|p| p.1).fold(0.0f64, f64::max);
    let (x0, x1) = style::padded(ctx.slice.iter().map(|&i| ctx.x(i)));
    let title = format!("Rejected requests vs {} — {}", ctx.x_words(), ctx.subject());
    if !style::drawable(x0, x1, false) {
        return style::empty(area, &title, style::OUT_OF_RANGE);
    }
    let mut chart = style::builder(area, &title).build_cartesian_2d(x0..x1, 0.0..top.max(0.1) * 1.15)?;
    style::mesh(&mut chart, &ctx.x_label(), "rejected (% of arrivals)")?;
    for (s, line) in lines.into_iter().enumerate() {
        style::strategy_line(&mut chart, s, &ctx.strategies()[s], line, true)?;
    }
    style::legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
    Ok(())
}
